"""Byte-level writers for test files that Pillow cannot make, or cannot make cheaply.

* :func:`jpeg_blocks`: a legal JPEG whose 8x8 blocks are flat (DC coefficients only),
  baseline or progressive, with any scan script: a progressive file of thousands of
  legal scans, a 225 Mpx file of a few hundred kilobytes, a 12-bit file.
* :func:`png_flat`: a legal PNG of any size whose pixels are all one value, written in
  milliseconds (the deflate stream of one block of rows, repeated after full flushes).
* :func:`png_chunks`: a PNG from raw chunks (flooding, missing IEND, bad CRC, ...).

Everything is deterministic: the same arguments give the same bytes.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

# --------------------------------------------------------------------------- JPEG


def _bits(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """uint8 0/1 array of the bit fields, MSB first."""
    total = int(lengths.sum())
    owner = np.repeat(np.arange(len(values), dtype=np.int32), lengths)
    offset = np.arange(total, dtype=np.int32) - np.repeat((np.cumsum(lengths) - lengths).astype(np.int32), lengths)
    return ((values[owner] >> (lengths[owner] - 1 - offset)) & 1).astype(np.uint8)


def _pack(values, lengths, chunk: int = 1 << 19) -> bytes:
    """Entropy-coded bytes of the bit fields ``values`` (``lengths`` bits each, MSB
    first), padded with ones and with JPEG byte stuffing (0xFF -> 0xFF 0x00). Works in
    chunks, so millions of fields need little memory."""
    values = np.asarray(values, np.int64)
    lengths = np.asarray(lengths, np.int64)
    keep = lengths > 0
    values, lengths = values[keep], lengths[keep]
    parts, carry = [], np.zeros(0, np.uint8)
    for i in range(0, len(values), chunk):
        bits = np.concatenate([carry, _bits(values[i:i + chunk], lengths[i:i + chunk])])
        whole = len(bits) // 8 * 8
        parts.append(np.packbits(bits[:whole]))
        carry = bits[whole:]
    if len(carry):
        parts.append(np.packbits(np.concatenate([carry, np.ones(8 - len(carry), np.uint8)])))
    if not parts:
        return b""
    out = np.concatenate(parts)
    ff = np.flatnonzero(out == 0xFF)
    return np.insert(out, ff + 1, 0).tobytes()


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


# DC table: category 0 has the 1-bit code "0", categories 1..15 the 5-bit codes
# 10000..11110. AC table: EOB (0x00) and the EOB runs 0x10..0xE0, 4-bit codes 0000..1110.
_DHT_DC = bytes([0x00]) + bytes([1, 0, 0, 0, 15] + [0] * 11) + bytes(range(16))
_DHT_AC = bytes([0x10]) + bytes([0, 0, 0, 15] + [0] * 12) + bytes(r << 4 for r in range(15))


_CATEGORY = np.array([int(v).bit_length() for v in range(1 << 16)], np.int64)


def _dc_fields(diffs: np.ndarray, eob: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(values, lengths) of the DC difference codes: Huffman code then magnitude bits,
    and with ``eob`` an end-of-block code after each (a block with no AC coefficient)."""
    d = np.asarray(diffs, np.int64).ravel()
    cat = _CATEGORY[np.abs(d)]
    k = 3 if eob else 2
    vals = np.zeros(k * len(d), np.int64)
    lens = np.zeros(k * len(d), np.int64)
    vals[0::k] = np.where(cat == 0, 0, 15 + cat)  # codes 10000..11110 for categories 1..15
    lens[0::k] = np.where(cat == 0, 1, 5)
    vals[1::k] = np.where(d >= 0, d, d + (1 << cat) - 1)
    lens[1::k] = cat
    if eob:
        lens[2::k] = 4  # EOB is code 0000
    return vals, lens


def _eob_fields(blocks: int) -> tuple[list[int], list[int]]:
    """(values, lengths) of EOB runs covering ``blocks`` blocks (each run <= 32767)."""
    vals, lens = [], []
    while blocks > 0:
        run = min(blocks, 32767)
        r = run.bit_length() - 1
        vals += [r, run - (1 << r)]
        lens += [4, r]
        blocks -= run
    return vals, lens


Scan = tuple[tuple[int, ...], int, int, int, int]  # (components, Ss, Se, Ah, Al)


def progressive_bomb_script(ncomp: int, al: int = 13) -> list[Scan]:
    """The longest legal progressive scan script of a DC-only image: the DC coefficients
    at once, then every AC coefficient of every component sent at point transform ``al``
    and refined one bit per scan down to 0: 1 + ncomp * 63 * (al + 1) scans (2,647 for a
    colour image)."""
    scans: list[Scan] = [(tuple(range(ncomp)), 0, 0, 0, 0)]
    for c in range(ncomp):
        for k in range(1, 64):
            scans.append(((c,), k, k, 0, al))
            scans += [((c,), k, k, ah, ah - 1) for ah in range(al, 0, -1)]
    return scans


def progressive_plain_script(ncomp: int) -> list[Scan]:
    """A short progressive script: the DC coefficients at a point transform of 1, each
    component's AC band, then the DC refinement."""
    return ([(tuple(range(ncomp)), 0, 0, 0, 1)] + [((c,), 1, 63, 0, 0) for c in range(ncomp)]
            + [(tuple(range(ncomp)), 0, 0, 1, 0)])


def jpeg_blocks(
    dc: np.ndarray,
    width: int | None = None,
    height: int | None = None,
    progressive: bool = False,
    scans: list[Scan] | None = None,
    bits: int = 8,
    sof: int | None = None,
    restart: int = 0,
) -> bytes:
    """A legal JPEG whose 8x8 blocks are flat: ``dc`` int [C, BH, BW] holds each block's
    level (0..255 for 8 bits; 1 component, or 3 as YCbCr, all sampled 1x1).

    width, height: the frame size (default 8 * blocks); progressive: SOF2 with ``scans``
    (default :func:`progressive_plain_script`); bits: sample precision (12 makes a legal
    extended-sequential 12-bit file); sof: force the frame marker (e.g. 0xC3, lossless,
    to test refusing it; the scan data then means nothing); restart: DRI interval in MCUs
    (baseline only).
    """
    dc = np.asarray(dc, np.int64)
    ncomp, bh, bw = dc.shape
    width = width or bw * 8
    height = height or bh * 8
    assert bw == -(-width // 8) and bh == -(-height // 8), "one DC value per 8x8 block"
    q = 8  # DC quantiser: a block's quantised DC is its level minus the level shift
    coef = dc - (1 << (bits - 1))
    out = bytearray(b"\xff\xd8")
    out += _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    if bits == 8:
        out += _segment(0xDB, bytes([0]) + bytes([q] * 64))
    else:
        out += _segment(0xDB, bytes([0x10]) + struct.pack(">64H", *([q] * 64)))
    marker = sof if sof is not None else (0xC2 if progressive else (0xC0 if bits == 8 else 0xC1))
    comps = b"".join(bytes([c + 1, 0x11, 0]) for c in range(ncomp))
    out += _segment(marker, struct.pack(">BHHB", bits, height, width, ncomp) + comps)
    out += _segment(0xC4, _DHT_DC + _DHT_AC)
    if restart and not progressive:
        out += _segment(0xDD, struct.pack(">H", restart))

    def sos(cs, ss, se, ah, al):
        return _segment(0xDA, bytes([len(cs)]) + b"".join(bytes([c + 1, 0x00]) for c in cs)
                        + bytes([ss, se, (ah << 4) | al]))

    def dc_diffs(levels: np.ndarray) -> np.ndarray:
        """[n_mcu, C] levels in scan order -> differences to the previous block of each component."""
        prev = np.vstack([np.zeros((1, levels.shape[1]), np.int64), levels[:-1]])
        return levels - prev

    if not progressive:
        out += sos(tuple(range(ncomp)), 0, 63, 0, 0)
        levels = coef.reshape(ncomp, -1).T  # [mcu, comp]
        mcus = levels.shape[0]
        step = restart or mcus
        for k, start in enumerate(range(0, mcus, step)):
            if k:
                out += bytes((0xFF, 0xD0 + (k - 1) % 8))
            out += _pack(*_dc_fields(dc_diffs(levels[start:start + step]), eob=True))
    else:
        for cs, ss, se, ah, al in scans if scans is not None else progressive_plain_script(ncomp):
            out += sos(cs, ss, se, ah, al)
            levels = coef[list(cs)].reshape(len(cs), -1).T
            if ss == 0 and ah == 0:  # DC first: differences of the shifted levels
                out += _pack(*_dc_fields(dc_diffs(levels >> al).ravel()))
            elif ss == 0:  # DC refinement: one raw bit per block
                b = ((levels >> al) & 1).ravel()
                out += _pack(b, np.ones_like(b))
            else:  # AC first or refinement: every coefficient is zero, so EOB runs
                out += _pack(*_eob_fields(bh * bw))
    return bytes(out) + b"\xff\xd9"


# --------------------------------------------------------------------------- PNG


def png_chunk(kind: bytes, data: bytes, crc: int | None = None) -> bytes:
    c = zlib.crc32(kind + data) & 0xFFFFFFFF if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", c)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_ihdr(width: int, height: int, bit_depth: int = 8, colour: int = 2, interlace: int = 0) -> bytes:
    return png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, interlace))


def png_chunks(*chunks: bytes) -> bytes:
    return PNG_SIGNATURE + b"".join(chunks)


_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def png_flat_idat(width: int, height: int, bit_depth: int = 8, colour: int = 2, value: int = 0) -> bytes:
    """The zlib stream of ``height`` rows of filter 0 and bytes ``value``, made by
    compressing one block of rows once and repeating it (a full flush makes each
    compressed block independent of the ones before), so a 240 Mpx image takes
    milliseconds."""
    row = b"\x00" + bytes([value]) * (-(-width * _CHANNELS[colour] * bit_depth // 8))
    rows_per_block = max(1, min(height, (1 << 22) // len(row)))
    block = row * rows_per_block
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    again = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    assert first == again
    full, rest = divmod(height, rows_per_block)
    adler = 1
    for _ in range(full):
        adler = zlib.adler32(block, adler)
    tail = row * rest
    adler = zlib.adler32(tail, adler)
    end = zlib.compressobj(9, zlib.DEFLATED, -15)
    return (b"\x78\xda" + first * full + end.compress(tail) + end.flush(zlib.Z_FINISH)
            + struct.pack(">I", adler & 0xFFFFFFFF))


def png_flat(width: int, height: int, bit_depth: int = 8, colour: int = 2, value: int = 0,
             end: bool = True) -> bytes:
    """A legal PNG of one flat value (colour type 0 grey, 2 RGB, 4 grey+alpha, 6 RGBA)."""
    chunks = [png_ihdr(width, height, bit_depth, colour),
              png_chunk(b"IDAT", png_flat_idat(width, height, bit_depth, colour, value))]
    if end:
        chunks.append(png_chunk(b"IEND", b""))
    return png_chunks(*chunks)
