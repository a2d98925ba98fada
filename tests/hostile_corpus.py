"""A folder of hostile, broken and awkward files around a few good photos, written
deterministically (issue 7: "hostile and broken files never cost the good photos").

    expect = write_corpus(folder, full=True)   # ~360 entries; full=False: the CI subset (~100)

Good photos are synthetic views of three spots (:func:`scenes.views_of`), so nothing here
needs the eval photo sets. Around them, in classes: empty and tiny files, truncated and
corrupt ones, random bytes, files that are not images (PostScript named .jpg among them),
polyglots, formats the app cannot read, decompression and scan bombs, a 1.5 GB (sparse)
file, extreme sizes, odd colour modes and encodings, broken EXIF, odd names (newlines,
terminal escapes, right-to-left overrides, bytes that are not UTF-8), links and special
files (FIFO, socket, device, folder, loops), hidden files, duplicates, and pictures of
nothing (noise, flat fields, test patterns).

``expect`` maps every entry name to an :class:`Expect`: what a correct run does with it.
"""

from __future__ import annotations

import io
import os
import socket
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

try:  # the app decodes HEIC through pillow-heif; the corpus encodes with it
    import pillow_heif

    pillow_heif.register_heif_opener()
except Exception:  # pragma: no cover - platform without a wheel
    pass

from filewriters import jpeg_blocks, png_chunk, png_chunks, png_flat, png_ihdr, progressive_bomb_script
from scenes import views_of

#: The three spots of the good photos (scene seeds) and how many good views each has.
SPOTS = {"A": (11, 7), "B": (22, 7), "C": (33, 6)}

#: Reasons a damaged file may get when the damage is random.
DAMAGED = frozenset({"truncated or corrupt", "unsupported format", "not an image", "too large", "too small",
                     "too complex"})


@dataclass(frozen=True)
class Expect:
    """What a correct run does with one entry of the folder.

    kind: "good"       one of the good photos: grouped with the others of ``spot``;
          "spot"       another photo of ``spot`` (odd encoding, broken tags, odd name): must
                       join that spot's group;
          "view"       a photo of ``spot`` in a harder encoding: in that spot's group or
                       unassigned, never elsewhere;
          "junk"       readable, but no spot (noise, a flat field, a test pattern, a tiny
                       image): unassigned;
          "unreadable" listed as unreadable with one of ``reasons``;
          "either"     a damaged photo of ``spot``: unreadable with one of ``reasons``, or
                       read and then in that spot's group or unassigned;
          "skipped"    not taken as a photo, listed with one of ``reasons``.
    """

    kind: str
    spot: str | None = None
    reasons: frozenset[str] = frozenset()

    @property
    def photo(self) -> bool:
        """Taken as a photo (a key of the --json output)."""
        return self.kind != "skipped"


def good(spot):
    return Expect("good", spot)


def spot(s):
    return Expect("spot", s)


def view(s):
    return Expect("view", s)


JUNK = Expect("junk")


def unreadable(*reasons):
    return Expect("unreadable", reasons=frozenset(reasons))


def either(s, reasons=DAMAGED):
    return Expect("either", s, frozenset(reasons))


def skipped(*reasons):
    return Expect("skipped", reasons=frozenset(reasons))


# --------------------------------------------------------------------------- encoders


def enc(img, fmt: str = "JPEG", **kw) -> bytes:
    im = img if isinstance(img, Image.Image) else Image.fromarray(img)
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def rng_for(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode("utf-8", "surrogateescape")))


def jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of the header segments of a JPEG, up to the first scan."""
    out, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        m = data[pos + 1]
        n = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        out.append((m, pos, pos + 2 + n))
        if m == 0xDA:
            break
        pos += 2 + n
    return out


def drop_segment(data: bytes, marker: int) -> bytes:
    for m, a, b in jpeg_segments(data):
        if m == marker:
            return data[:a] + data[b:]
    raise ValueError(f"no marker {marker:#x}")


def patch_sof(data: bytes, width: int | None = None, height: int | None = None, bits: int | None = None) -> bytes:
    for m, a, _ in jpeg_segments(data):
        if m in (0xC0, 0xC1, 0xC2):
            b = bytearray(data)
            if bits is not None:
                b[a + 4] = bits
            if height is not None:
                b[a + 5:a + 7] = struct.pack(">H", height)
            if width is not None:
                b[a + 7:a + 9] = struct.pack(">H", width)
            return bytes(b)
    raise ValueError("no SOF")


def overwrite(data: bytes, rng: np.random.Generator, n: int, lo: float = 0.2, hi: float = 0.95) -> bytes:
    b = bytearray(data)
    for p in rng.integers(int(len(b) * lo), int(len(b) * hi), n):
        b[p] = int(rng.integers(0, 256))
    return bytes(b)


def bitflips(data: bytes, rng: np.random.Generator, n: int) -> bytes:
    b = bytearray(data)
    for p in rng.integers(0, len(b), n):
        b[p] ^= 1 << int(rng.integers(0, 8))
    return bytes(b)


def raw_exif(entries: list[tuple[int, int, int, bytes]], next_ifd: int = 0,
             gps: list[tuple[int, int, int, bytes]] | None = None) -> bytes:
    """An EXIF APP1 payload (b"Exif\\0\\0" + little-endian TIFF) written as given, with no
    check: IFD0 of (tag, type, count, data) entries (data over 4 bytes goes after the IFD,
    the entry pointing at it), ``next_ifd`` as its next-IFD offset, and an optional GPS
    IFD of such entries."""

    def ifd(items, at: int) -> bytes:
        head = 2 + 12 * len(items) + 4
        extra = b""
        out = struct.pack("<H", len(items))
        for tag, typ, count, data in items:
            if len(data) > 4:
                val = struct.pack("<I", at + head + len(extra))
                extra += data + b"\0" * (len(data) % 2)
            else:
                val = data.ljust(4, b"\0")
            out += struct.pack("<HHI", tag, typ, count) + val
        return out + struct.pack("<I", next_ifd if at == 8 else 0) + extra

    items = list(entries)
    if gps is not None:
        items.append((0x8825, 4, 1, b"\0\0\0\0"))  # patched below
    first = ifd(items, 8)
    if gps is not None:
        at = 8 + len(first)
        items[-1] = (0x8825, 4, 1, struct.pack("<I", at))
        first = ifd(items, 8)
        first += ifd(gps, at)
    return b"Exif\0\0" + b"II*\0" + struct.pack("<I", 8) + first


def rechunk_png(png: bytes, size: int) -> bytes:
    """The same PNG with its image data split into chunks of ``size`` bytes."""
    pos, head, data, tail = 8, b"", b"", b""
    while pos < len(png):
        n = struct.unpack(">I", png[pos:pos + 4])[0]
        kind, body = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + n]
        if kind == b"IDAT":
            data += body
        elif data:
            tail += png[pos:pos + 12 + n]
        else:
            head += png[pos:pos + 12 + n]
        pos += 12 + n
    return png[:8] + head + b"".join(png_chunk(b"IDAT", data[i:i + size]) for i in range(0, len(data), size)) + tail


def png_adam7(rgb: np.ndarray) -> bytes:
    """An interlaced (Adam7) 8-bit RGB PNG, which Pillow cannot write."""
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    h, w = rgb.shape[:2]
    raw = bytearray()
    for x0, y0, dx, dy in passes:  # (column start, row start, column step, row step)
        sub = rgb[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        for row in sub:
            raw += b"\0" + row.tobytes()
    return png_chunks(png_ihdr(w, h, 8, 2, interlace=1), png_chunk(b"IDAT", zlib.compress(bytes(raw), 9)),
                      png_chunk(b"IEND", b""))


def png_rgb16(rgb16: np.ndarray) -> bytes:
    """A 16-bit-per-channel RGB PNG (48-bit), which Pillow cannot write."""
    h, w = rgb16.shape[:2]
    rows = b"".join(b"\0" + r.astype(">u2").tobytes() for r in rgb16)
    return png_chunks(png_ihdr(w, h, 16, 2), png_chunk(b"IDAT", zlib.compress(rows, 6)), png_chunk(b"IEND", b""))


# --------------------------------------------------------------------------- the builder


class Corpus:
    """Writes entries into ``folder``: all of them (``full``) or those marked ``ci``."""

    def __init__(self, folder: Path, full: bool, good_size: tuple[int, int] | None = None,
                 refused_only: Path | None = None, dry: bool = False):
        self.dry = dry
        self.folder = folder
        self.full = full
        self.good_size = good_size
        self.refused_only = refused_only
        self.expect: dict[str, Expect] = {}
        self._views: dict[str, list[np.ndarray]] = {}
        self._next: dict[str, int] = {}

    def wants(self, ci: bool) -> bool:
        return self.full or ci

    def path(self, name: str, folder: Path | None = None) -> Path:
        return Path(os.fsdecode(os.fsencode(str(folder or self.folder)) + b"/" + os.fsencode(name)))

    def _twin(self, expect: Expect) -> bool:
        return self.refused_only is not None and expect.kind in ("good", "unreadable", "skipped")

    def add(self, name: str, make: Callable[[], bytes], expect: Expect, ci: bool = False) -> None:
        if not self.wants(ci):
            return
        assert name not in self.expect, name
        self.expect[name] = expect
        if self.dry:
            return
        p = self.path(name)
        p.write_bytes(make())
        if self._twin(expect):
            os.link(p, self.path(name, self.refused_only))

    def special(self, name: str, make: Callable[[Path], None], expect: Expect, ci: bool = False) -> None:
        """An entry made by ``make(path)`` (a link, a FIFO, a folder, ...)."""
        if not self.wants(ci):
            return
        assert name not in self.expect, name
        self.expect[name] = expect
        if self.dry:
            return
        make(self.path(name))
        if self._twin(expect):
            twin = self.folder
            self.folder = self.refused_only  # links made by ``make`` point into the twin
            try:
                make(self.path(name))
            finally:
                self.folder = twin

    def views(self, s: str) -> list[np.ndarray]:
        if s not in self._views:
            seed, n = SPOTS[s]
            self._views[s] = views_of(seed, n + (90 if self.full else 45))
        return self._views[s]

    def new_view(self, s: str) -> np.ndarray:
        """A view of spot ``s`` not used before (after its good views)."""
        k = self._next.get(s, SPOTS[s][1])
        self._next[s] = k + 1
        return self.views(s)[k]


# --------------------------------------------------------------------------- classes


def good_photos(c: Corpus) -> None:
    for s, (_, n) in SPOTS.items():
        for i in range(n):
            c.add(f"good_{s}{i}.jpg", lambda s=s, i=i: enc(camera_size(c.views(s)[i], c.good_size), quality=92),
                  good(s), ci=True)


def camera_size(rgb: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """The view enlarged to a camera's size (the good photos of the issue's folder were
    phone photos), with a little sensor noise so the JPEG is as large as a camera's."""
    if size is None:
        return rgb
    import cv2

    big = cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC)
    noise = rng_for(f"cam{size}{int(rgb[0, 0, 0])}").normal(0, 2.0, big.shape)
    return np.clip(big + noise, 0, 255).astype(np.uint8)


def empty_and_tiny(c: Corpus) -> None:
    c.add("empty.jpg", lambda: b"", unreadable("empty file"), ci=True)
    c.add("one_byte.jpg", lambda: b"\xff", unreadable("not an image"))
    c.add("soi_only.jpg", lambda: b"\xff\xd8\xff", unreadable("truncated or corrupt"), ci=True)
    c.add("soi_app0_only.jpg", lambda: b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00",
          unreadable("truncated or corrupt"))
    c.add("png_signature_only.png", lambda: b"\x89PNG\r\n\x1a\n", unreadable("truncated or corrupt"), ci=True)
    c.add("png_ihdr_only.png", lambda: png_chunks(png_ihdr(640, 480)), unreadable("truncated or corrupt"))
    c.add("gif_header_only.gif", lambda: b"GIF89a", unreadable("truncated or corrupt"))
    c.add("webp_riff_only.webp", lambda: b"RIFF\x04\x00\x00\x00WEBP", unreadable("truncated or corrupt"))
    c.add("tiff_header_only.tif", lambda: b"II*\x00\x08\x00\x00\x00", unreadable("truncated or corrupt"))
    c.add("zeros_4k.jpg", lambda: bytes(4096), unreadable("not an image"))
    c.add("spaces.png", lambda: b" " * 100, unreadable("not an image"))


def truncated(c: Corpus) -> None:
    jpg = enc(c.new_view("A"), quality=90)
    for f in (0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.995):
        c.add(f"cut_{int(f * 1000):03d}.jpg", lambda f=f: jpg[:int(len(jpg) * f)],
              unreadable("truncated or corrupt"), ci=f in (0.1, 0.5, 0.9))
    c.add("complete_but_no_end_marker.jpg", lambda: jpg[:-2], spot("A"), ci=True)
    prog = enc(c.new_view("A"), quality=90, progressive=True)
    for f in (0.15, 0.35, 0.55, 0.75, 0.95):
        c.add(f"cut_progressive_{int(f * 100):02d}.jpg", lambda f=f: prog[:int(len(prog) * f)],
              either("A", {"truncated or corrupt"}), ci=f == 0.55)
    png = enc(c.new_view("B"), "PNG")
    for f in (0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 0.99):
        c.add(f"cut_{int(f * 100):02d}.png", lambda f=f: png[:int(len(png) * f)],
              unreadable("truncated or corrupt"), ci=f == 0.6)
    c.add("png_without_iend.png", lambda: png[:-12], spot("B"), ci=True)
    for fmt, ext, kw in (("WEBP", "webp", {"quality": 85}), ("TIFF", "tif", {"compression": "tiff_lzw"}),
                         ("BMP", "bmp", {}), ("GIF", "gif", {}), ("HEIF", "heic", {"quality": 80}),
                         ("AVIF", "avif", {"quality": 70})):
        data = enc(c.new_view("C"), fmt, **kw)
        for f in (0.3, 0.7, 0.97):
            c.add(f"cut_{ext}_{int(f * 100):02d}.{ext}", lambda d=data, f=f: d[:int(len(d) * f)], either("C"),
                  ci=(f == 0.7 and ext in ("webp", "heic")))


def corrupt(c: Corpus) -> None:
    jpg = enc(c.new_view("B"), quality=90)
    c.add("sof_zero_size.jpg", lambda: patch_sof(jpg, width=0, height=0), unreadable("truncated or corrupt"),
          ci=True)
    c.add("sof_taller_than_data.jpg", lambda: patch_sof(jpg, height=30000), unreadable("truncated or corrupt"))
    # libjpeg supplies the standard tables (motion-JPEG frames omit them): still the photo
    c.add("no_huffman_tables.jpg", lambda: drop_segment(jpg, 0xC4), spot("B"), ci=True)
    c.add("no_quant_tables.jpg", lambda: drop_segment(jpg, 0xDB), unreadable("truncated or corrupt"))
    c.add("no_frame_header.jpg", lambda: drop_segment(jpg, 0xC0), unreadable("truncated or corrupt"))
    c.add("marker_zeroed.jpg", lambda: jpg[:2] + b"\x00" + jpg[3:], unreadable("not an image", "truncated or corrupt"))
    # each damaged copy from its own view: copies of one photo damaged alike would be one
    # photo's look-alikes, grouped together like any copies
    for k in range(12):
        s = "ABC"[k % 3]
        src = c.new_view(s)
        c.add(f"overwritten_{k:02d}.jpg", lambda src=src, k=k: overwrite(enc(src, quality=90), rng_for(f"ow{k}"),
                                                                          4 + 4 * k), either(s), ci=k in (0, 7))
    for k in range(8):
        s = "ABC"[k % 3]
        src = c.new_view(s)
        c.add(f"bitflips_{k:02d}.jpg",
              lambda src=src, k=k: bitflips(enc(src, quality=90), rng_for(f"bf{k}"), 1 + 3 * k), either(s))
    png = enc(c.new_view("B"), "PNG")
    c.add("png_bad_ihdr_crc.png", lambda: png[:29] + bytes(4) + png[33:], unreadable("truncated or corrupt"),
          ci=True)
    c.add("png_idat_garbage.png", lambda: overwrite(png, rng_for("idat"), 64, 0.3, 0.7),
          unreadable("truncated or corrupt"))
    c.add("png_bad_bit_depth.png", lambda: png_chunks(png_ihdr(64, 48, 7, 2), png_chunk(b"IEND", b"")),
          unreadable("truncated or corrupt", "unsupported format"))
    c.add("png_bad_colour_type.png", lambda: png_chunks(png_ihdr(64, 48, 8, 5), png_chunk(b"IEND", b"")),
          unreadable("truncated or corrupt", "unsupported format"))
    for k in range(6):
        s = "ABC"[k % 3]
        src = c.new_view(s)
        c.add(f"png_bitflips_{k}.png", lambda src=src, k=k: bitflips(enc(src, "PNG"), rng_for(f"pbf{k}"), 2 + 5 * k),
              either(s))
    for fmt, ext, kw in (("WEBP", "webp", {"quality": 85}), ("TIFF", "tif", {}), ("BMP", "bmp", {}),
                         ("GIF", "gif", {}), ("HEIF", "heic", {"quality": 80}), ("AVIF", "avif", {"quality": 70})):
        for k in range(3):
            s = "ABC"[k % 3]
            src = c.new_view(s)
            c.add(f"overwritten_{ext}_{k}.{ext}",
                  lambda src=src, k=k, fmt=fmt, ext=ext, kw=kw: overwrite(enc(src, fmt, **kw), rng_for(f"{ext}{k}"),
                                                                          8 + 40 * k, 0.02, 0.9),
                  either(s), ci=(k == 1 and ext in ("tif", "bmp")))


def random_bytes(c: Corpus) -> None:
    for n in (1, 7, 64, 512, 4096, 65536, 1 << 20):
        for ext in ("jpg", "png", "heic"):
            c.add(f"random_{n}.{ext}", lambda n=n, ext=ext: rng_for(f"r{n}{ext}").bytes(n), unreadable("not an image"),
                  ci=(n == 4096 and ext == "jpg"))
    magic = {"jpg": b"\xff\xd8\xff\xe0", "png": b"\x89PNG\r\n\x1a\n", "gif": b"GIF89a", "webp": b"RIFF\0\0\1\0WEBP",
             "tif": b"II*\0", "heic": b"\0\0\0\x18ftypheic\0\0\0\0mif1heic",
             "bmp": b"BM\0\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0",
             "avif": b"\0\0\0\x18ftypavif\0\0\0\0mif1avif"}
    for ext, head in magic.items():
        for n in (100, 30000):
            c.add(f"magic_then_random_{n}.{ext}", lambda h=head, n=n, ext=ext: h + rng_for(f"m{ext}{n}").bytes(n),
                  unreadable(*DAMAGED), ci=(n == 30000 and ext in ("jpg", "png", "gif")))


def not_images(c: Corpus) -> None:
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("photo.jpg", enc(c.views("A")[0], quality=80))
    docs = {
        "notes.jpg": "메모: 3층 배관 점검\n".encode(),
        "page.jpg": b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>",
        "data.png": b'{"photo": "not really"}',
        "drawing.jpg": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="640" height="480">'
                       b'<rect width="640" height="480" fill="red"/></svg>',
        "scan.jpg": b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n",
        "postscript.jpg": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 640 480\n"
                          b"newpath 0 0 moveto 640 480 lineto stroke showpage\n",
        "postscript_plain.png": b"%!PS\n/Helvetica findfont 12 scalefont setfont 72 72 moveto (hi) show showpage\n",
        "eps_binary.jpg": b"\xc5\xd0\xd3\xc6" + struct.pack("<6I", 30, 60, 0, 0, 0, 0xFFFF) + b"%!PS-Adobe-3.0\n" * 4,
        "archive.jpg": zbuf.getvalue(),
        "compressed.jpg": zlib.compress(b"x" * 10000),
        "program.jpg": b"\x7fELF\x02\x01\x01" + bytes(57),
        "setup.jpg": b"MZ\x90\x00" + bytes(60),
        "script.jpg": b"#!/bin/sh\nrm -rf ~\n",
        "clip.heic": b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2" + bytes(64),
        "clip.jpg": b"\0\0\0\x14ftypqt  \0\0\0\0qt  " + bytes(64),
        "song.jpg": b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(100),
        "db.png": b"SQLite format 3\x00" + bytes(84),
        "table.jpg": b"name,group\na.jpg,1\n",
        "whitespace.jpg": b"\n\n\t  \r\n",
        "utf16.jpg": "사진".encode("utf-16"),
    }
    ci = {"notes.jpg", "postscript.jpg", "scan.jpg", "archive.jpg", "drawing.jpg", "clip.heic"}
    for name, data in docs.items():
        c.add(name, lambda d=data: d, unreadable("not an image"), ci=name in ci)


def polyglots(c: Corpus) -> None:
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("payload.txt", "hello")
    a = enc(c.new_view("A"), quality=90)
    c.add("jpeg_with_zip_after.jpg", lambda: a + zbuf.getvalue(), spot("A"), ci=True)
    b = enc(c.new_view("B"), "PNG")
    c.add("png_with_html_after.png", lambda: b + b"<html><script>alert(1)</script></html>", spot("B"))
    jc = enc(c.new_view("C"), quality=90)
    script = b"<script>alert(document.domain)</script>"
    com = b"\xff\xfe" + struct.pack(">H", 2 + len(script)) + script
    c.add("jpeg_with_script_comment.jpg", lambda: jc[:2] + com + jc[2:], spot("C"), ci=True)
    ja = enc(c.new_view("A"), quality=90)
    c.add("jpeg_then_pdf.jpg", lambda: ja + b"%PDF-1.4\n%%EOF\n", spot("A"))
    c.add("gif_js.gif", lambda: b"GIF89a/*\x00\x00\x00\x00*/=1;alert(1);//" + bytes(20), unreadable(*DAMAGED))
    c.add("html_with_jpeg_magic.jpg", lambda: b"\xff\xd8\xff\xe0<html><body>hi</body></html>" * 3,
          unreadable("truncated or corrupt"))
    c.add("postscript_with_jpeg_inside.jpg", lambda: b"%!PS-Adobe-3.0\n%%BeginData\n" + ja, unreadable("not an image"),
          ci=True)
    c.add("zip_with_jpeg_stored.jpg", lambda: _stored_zip(ja), unreadable("not an image"))


def _stored_zip(data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("a.jpg", data)
    return buf.getvalue()


def unsupported(c: Corpus) -> None:
    dc = np.stack([rng_for("12bit").integers(1500, 2600, (60, 80)), np.full((60, 80), 2048), np.full((60, 80), 2048)])
    c.add("twelve_bit.jpg", lambda: jpeg_blocks(dc, bits=12), unreadable("unsupported format"), ci=True)
    dc8 = rng_for("lossless").integers(60, 200, (1, 60, 80))
    c.add("lossless.jpg", lambda: jpeg_blocks(dc8, sof=0xC3), unreadable("unsupported format"))
    c.add("hierarchical.jpg", lambda: jpeg_blocks(dc8, sof=0xC5), unreadable("unsupported format"))
    c.add("jpeg2000.jpg", lambda: enc(c.new_view("A"), "JPEG2000"), unreadable("unsupported format"), ci=True)
    c.add("jpeg2000_codestream.jpg", lambda: enc(c.new_view("A"), "JPEG2000", no_jp2=True),
          unreadable("unsupported format"))
    c.add("jpegxl.jpg", lambda: b"\xff\x0a" + rng_for("jxl").bytes(2000), unreadable("unsupported format"))
    c.add("layers.png", lambda: b"8BPS\x00\x01" + bytes(6) + rng_for("psd").bytes(2000),
          unreadable("unsupported format"))
    c.add("icon.png", lambda: enc(Image.fromarray(c.new_view("B")).resize((64, 48)), "ICO"), unreadable("not an image"))
    c.add("targa.jpg", lambda: enc(Image.fromarray(c.new_view("B")), "TGA"), unreadable("not an image"))
    c.add("netpbm.jpg", lambda: enc(Image.fromarray(c.new_view("B")), "PPM"), unreadable("not an image"))
    for name, data in (("IMG_0001.DNG", b"II*\x00" + bytes(200)), ("IMG_0002.CR2", b"II*\x00\x10\x00CR" + bytes(200)),
                       ("photo.jxl", b"\xff\x0a" + bytes(100)), ("layers.psd", b"8BPS" + bytes(100)),
                       ("logo.svg", b"<svg/>"), ("scan.eps", b"%!PS-Adobe-3.0 EPSF-3.0\n")):
        c.add(name, lambda d=data: d, skipped("unsupported format"), ci=name in ("IMG_0001.DNG", "scan.eps"))


def _jpeg_dc_flat(w: int, h: int, level: int = 120, ncomp: int = 3) -> np.ndarray:
    bh, bw = -(-h // 8), -(-w // 8)
    dc = np.full((ncomp, bh, bw), 128, np.int64)
    dc[0] = level
    return dc


def bombs(c: Corpus) -> None:
    c.add("bomb_png_225mpx.png", lambda: png_flat(15000, 15000, value=90), unreadable("too large"), ci=True)
    c.add("bomb_png_grey_240mpx.png", lambda: png_flat(15500, 15500, colour=0, value=200), JUNK, ci=True)
    c.add("bomb_png_rgba_80mpx.png", lambda: png_flat(10000, 8000, colour=6, value=255), unreadable("too large"))
    c.add("bomb_png_over_cap.png", lambda: png_chunks(png_ihdr(40000, 40000),
                                                      png_chunk(b"IDAT", zlib.compress(b"\0" * 64)),
                                                      png_chunk(b"IEND", b"")), unreadable("too large"), ci=True)
    c.add("bomb_png_1bit_240mpx.png", lambda: png_flat(15500, 15500, bit_depth=1, colour=0, value=0),
          unreadable("too large"))
    c.add("png_1bit_150mpx.png", lambda: png_flat(12500, 12000, bit_depth=1, colour=0, value=255), JUNK)

    def prog225():  # all DC coefficients, then each component's AC band: 4 scans
        return jpeg_blocks(_jpeg_dc_flat(15000, 15000), progressive=True,
                           scans=[((0, 1, 2), 0, 0, 0, 0)] + [((k,), 1, 63, 0, 0) for k in range(3)])

    c.add("bomb_jpeg_progressive_225mpx.jpg", prog225, unreadable("too large"), ci=True)
    c.add("big_jpeg_baseline_225mpx.jpg", lambda: jpeg_blocks(_jpeg_dc_flat(15000, 15000, ncomp=1)), JUNK, ci=True)
    c.add("bomb_jpeg_over_cap.jpg", lambda: patch_sof(enc(c.views("A")[0]), width=65500, height=65500),
          unreadable("too large"), ci=True)

    def scan_bomb(w, h):
        bh, bw = -(-h // 8), -(-w // 8)
        y, x = np.mgrid[0:bh, 0:bw]
        dc = np.stack([100 + 40 * ((x // 32 + y // 32) % 2), np.full((bh, bw), 128), np.full((bh, bw), 128)])
        return jpeg_blocks(dc, width=w, height=h, progressive=True, scans=progressive_bomb_script(3))

    c.add("bomb_jpeg_2647_scans.jpg", lambda: scan_bomb(6000, 4000), unreadable("too complex"), ci=True)
    c.add("bomb_jpeg_2647_scans_small.jpg", lambda: scan_bomb(1024, 768), unreadable("too complex"))
    script = progressive_bomb_script(1, al=1)  # 127 legal scans; the first n are legal too
    c.add("jpeg_60_scans.jpg", lambda: jpeg_blocks(_jpeg_dc_flat(640, 480, ncomp=1)[:1], progressive=True,
                                                   scans=script[:60]), JUNK)
    c.add("jpeg_65_scans.jpg", lambda: jpeg_blocks(_jpeg_dc_flat(640, 480, ncomp=1)[:1], progressive=True,
                                                   scans=script[:65]), unreadable("too complex"))
    c.add("bomb_gif_screen.gif", lambda: b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0)
          + b",\0\0\0\0" + struct.pack("<HH", 65535, 65535) + b"\0\x02\x02\x4c\x01\0;", unreadable("too large"),
          ci=True)
    c.add("bomb_bmp_header.bmp", lambda: b"BM" + struct.pack("<IHHI", 0, 0, 0, 54)
          + struct.pack("<IiiHHIIiiII", 40, 50000, 50000, 1, 24, 0, 0, 0, 0, 0, 0) + bytes(64),
          unreadable("too large"))
    c.add("bomb_tiff_header.tif", lambda: _tiff_header(100000, 100000), unreadable("too large"))
    c.add("bomb_webp_canvas.webp", lambda: _webp_vp8x(16383, 16383), unreadable("too large", "truncated or corrupt"))
    c.add("bomb_gif_400mpx.gif", lambda: b"GIF89a" + struct.pack("<HHBBB", 20000, 20000, 0, 0, 0)
          + b",\0\0\0\0" + struct.pack("<HH", 20000, 20000) + b"\0\x02\x02\x4c\x01\0;", unreadable("too large"))
    # text chunks that inflate a lot, and a flood of small chunks before the pixels
    zt = zlib.compress(b"\0" * (50 << 20), 9)
    flat = png_flat(640, 480, value=128)
    c.add("bomb_png_ztxt.png", lambda: flat[:33] + png_chunk(b"zTXt", b"Comment\0\0" + zt) + flat[33:],
          Expect("either", None, frozenset({"truncated or corrupt"})), ci=True)
    c.add("bomb_png_iccp.png", lambda: flat[:33] + png_chunk(b"iCCP", b"icc\0\0" + zt) + flat[33:],
          Expect("either", None, frozenset({"truncated or corrupt"})))
    flood = b"".join(png_chunk(b"tEXt", b"k\0v") for _ in range(200_000))
    c.add("bomb_png_chunk_flood.png", lambda: flat[:33] + flood + flat[33:], unreadable("too complex"), ci=True)
    rechunk_src = enc(c.new_view("A"), "PNG")
    c.add("png_1k_data_chunks.png", lambda: rechunk_png(rechunk_src, 1024), spot("A"))
    c.add("png_4_byte_data_chunks.png", lambda: rechunk_png(rechunk_src, 4), unreadable("too complex"))

    def sparse(path: Path, size: int, head: bytes = b"\xff\xd8\xff\xe0") -> None:
        with open(path, "wb") as f:
            f.write(head)
            f.truncate(size)

    c.special("huge_1500MB.jpg", lambda p: sparse(p, 1_500_000_000), unreadable("too large"), ci=True)
    c.special("just_over_limit.png", lambda p: sparse(p, 96 * 1024 * 1024 + 1, b"\x89PNG\r\n\x1a\n"),
              unreadable("too large"))


def _tiff_header(w: int, h: int) -> bytes:
    entries = [(256, 4, 1, struct.pack("<I", w)), (257, 4, 1, struct.pack("<I", h)), (258, 3, 1, struct.pack("<H", 8)),
               (259, 3, 1, struct.pack("<H", 1)), (262, 3, 1, struct.pack("<H", 1)),
               (273, 4, 1, struct.pack("<I", 200)),
               (277, 3, 1, struct.pack("<H", 1)), (278, 4, 1, struct.pack("<I", h)), (279, 4, 1, struct.pack("<I", 64))]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHI", t, ty, n) + v.ljust(4, b"\0")
                                                     for t, ty, n, v in entries) + b"\0\0\0\0"
    return (b"II*\0" + struct.pack("<I", 8) + ifd).ljust(264, b"\0")


def _webp_vp8x(w: int, h: int) -> bytes:
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\0\0\0\0" + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
    small = enc(np.zeros((8, 8, 3), np.uint8), "WEBP", lossless=True)[12:]
    body = b"WEBP" + vp8x + small
    return b"RIFF" + struct.pack("<I", len(body)) + body


def extreme_sizes(c: Corpus) -> None:
    grey = (128, 128, 128)
    for (w, h), ci in (((1, 1), True), ((1, 10000), False), ((10000, 1), True), ((7, 7), False), ((5, 3000), False),
                       ((40000, 12), False)):
        c.add(f"size_{w}x{h}.png", lambda w=w, h=h: enc(Image.new("RGB", (w, h), grey), "PNG"), unreadable("too small"),
              ci=ci)
    c.add("size_30000x20.jpg", lambda: enc(Image.new("RGB", (30000, 20), grey)), unreadable("too small"))
    c.add("size_8x8.png", lambda: enc(Image.new("RGB", (8, 8), grey), "PNG"), JUNK, ci=True)
    v = c.new_view("A")
    c.add("thumb_16x12.jpg", lambda: enc(Image.fromarray(v).resize((16, 12))), view("A"))
    c.add("thumb_64x48.jpg", lambda: enc(Image.fromarray(v).resize((64, 48))), view("A"), ci=True)
    strip = np.tile(c.new_view("B")[100:300], (1, 19, 1))[:, :12000]
    c.add("panorama_12000x200.jpg", lambda: enc(strip, quality=40), JUNK, ci=True)
    c.add("big_view_6000x4500.jpg", lambda: enc(Image.fromarray(c.new_view("C")).resize((6000, 4500),
                                                                                      Image.Resampling.BILINEAR),
                                                quality=85), spot("C"), ci=True)


def odd_encodings(c: Corpus) -> None:
    def v(s):
        return Image.fromarray(c.new_view(s))

    items = [
        # (name, make, expect, ci)
        ("enc_grey.jpg", lambda: enc(v("A").convert("L"), quality=90), spot("A"), True),
        ("enc_cmyk.jpg", lambda: enc(v("A").convert("CMYK"), quality=90), spot("A"), True),
        ("enc_444.jpg", lambda: enc(v("A"), quality=92, subsampling=0), spot("A"), False),
        ("enc_progressive.jpg", lambda: enc(v("A"), quality=90, progressive=True), spot("A"), True),
        ("enc_optimized.jpg", lambda: enc(v("A"), quality=90, optimize=True), spot("A"), False),
        ("enc_quality_8.jpg", lambda: enc(v("A"), quality=8), view("A"), False),
        ("enc_icc.jpg", lambda: enc(v("A"), quality=90, icc_profile=b"\0" * 128 + rng_for("icc").bytes(300)),
         spot("A"), False),
        ("enc_mpo.jpg", lambda: enc(v("A"), "MPO", save_all=True, append_images=[v("A")]), spot("A"), True),
        ("enc_l.png", lambda: enc(v("B").convert("L"), "PNG"), spot("B"), False),
        ("enc_la.png", lambda: enc(v("B").convert("LA"), "PNG"), spot("B"), False),
        ("enc_rgba.png", lambda: enc(v("B").convert("RGBA"), "PNG"), spot("B"), True),
        ("enc_palette.png", lambda: enc(v("B").convert("P", palette=Image.Palette.ADAPTIVE), "PNG"), spot("B"), False),
        ("enc_palette_trns.png", lambda: enc(v("B").convert("P", palette=Image.Palette.ADAPTIVE), "PNG",
                                             transparency=0), view("B"), True),
        ("enc_1bit.png", lambda: enc(v("B").convert("1"), "PNG"), view("B"), True),
        ("enc_grey16.png", lambda: enc(Image.fromarray(np.asarray(v("B").convert("L")).astype(np.uint16) * 257),
                                       "PNG"), spot("B"), False),
        ("enc_rgb48.png", lambda: png_rgb16(np.asarray(v("B")).astype(np.uint16) * 257), spot("B"), True),
        ("enc_interlaced.png", lambda: png_adam7(np.asarray(v("B"))), spot("B"), True),
        ("enc_apng.png", lambda: enc(v("B"), "PNG", save_all=True, append_images=[v("C")]), spot("B"), False),
        ("enc_lzw.tif", lambda: enc(v("C"), "TIFF", compression="tiff_lzw"), spot("C"), True),
        ("enc_deflate.tif", lambda: enc(v("C"), "TIFF", compression="tiff_adobe_deflate"), spot("C"), False),
        ("enc_packbits.tif", lambda: enc(v("C"), "TIFF", compression="packbits"), spot("C"), False),
        ("enc_jpeg.tif", lambda: enc(v("C"), "TIFF", compression="jpeg"), spot("C"), False),
        ("enc_cmyk.tif", lambda: enc(v("C").convert("CMYK"), "TIFF"), spot("C"), False),
        ("enc_grey16.tif", lambda: enc(Image.fromarray(np.asarray(v("C").convert("L")).astype(np.uint16) * 257),
                                       "TIFF"), spot("C"), False),
        ("enc_float.tif", lambda: enc(Image.fromarray(np.asarray(v("C").convert("L")).astype(np.float32) / 255),
                                      "TIFF"), view("C"), True),
        ("enc_int32.tif", lambda: enc(Image.fromarray(np.asarray(v("C").convert("L")).astype(np.int32) * 1000),
                                      "TIFF"), view("C"), False),
        ("enc_fax.tif", lambda: enc(v("C").convert("1"), "TIFF", compression="group4"), view("C"), False),
        ("enc_multipage.tif", lambda: enc(v("C"), "TIFF", save_all=True, append_images=[v("A")] * 3), spot("C"), False),
        ("enc_24bit.bmp", lambda: enc(v("A"), "BMP"), spot("A"), True),
        ("enc_8bit.bmp", lambda: enc(v("A").convert("P", palette=Image.Palette.ADAPTIVE), "BMP"), spot("A"), False),
        ("enc_1bit.bmp", lambda: enc(v("A").convert("1"), "BMP"), view("A"), False),
        ("enc_rgba.bmp", lambda: enc(v("A").convert("RGBA"), "BMP"), spot("A"), False),
        ("enc.gif", lambda: enc(v("B"), "GIF"), view("B"), True),
        ("enc_animated.gif", lambda: enc(v("B"), "GIF", save_all=True, append_images=[v("C"), v("A")], duration=100),
         view("B"), False),
        ("enc_lossy.webp", lambda: enc(v("C"), "WEBP", quality=80), spot("C"), True),
        ("enc_lossless.webp", lambda: enc(v("C"), "WEBP", lossless=True), spot("C"), False),
        ("enc_alpha.webp", lambda: enc(v("C").convert("RGBA"), "WEBP", quality=80), spot("C"), False),
        ("enc_animated.webp", lambda: enc(v("C"), "WEBP", save_all=True, append_images=[v("A")], quality=80),
         spot("C"), False),
        ("enc.heic", lambda: enc(v("A"), "HEIF", quality=85), spot("A"), True),
        ("enc_444.heic", lambda: enc(v("A"), "HEIF", quality=85, chroma=444), spot("A"), False),
        ("enc.avif", lambda: enc(v("B"), "AVIF", quality=75), spot("B"), True),
        # the content decides, not the name
        ("really_a_png.jpg", lambda: enc(v("C"), "PNG"), spot("C"), True),
        ("really_a_jpeg.png", lambda: enc(v("C"), quality=90), spot("C"), False),
        ("really_a_heic.jpg", lambda: enc(v("C"), "HEIF", quality=85), spot("C"), True),
        ("really_a_webp.tif", lambda: enc(v("C"), "WEBP", quality=85), spot("C"), False),
    ]
    for name, make, expect, ci in items:
        c.add(name, make, expect, ci=ci)


def broken_exif(c: Corpus) -> None:
    def with_exif(s: str, ex) -> Callable[[], bytes]:
        img = c.new_view(s)
        return lambda: enc(img, quality=90, exif=ex)

    def ex(**tags):
        e = Image.Exif()
        for k, val in tags.get("base", {}).items():
            e[k] = val
        sub = e.get_ifd(0x8769)
        for k, val in tags.get("sub", {}).items():
            sub[k] = val
        gps = e.get_ifd(0x8825)
        for k, val in tags.get("gps", {}).items():
            gps[k] = val
        return e

    from PIL.TiffImagePlugin import IFDRational

    def rational(num, den):
        return struct.pack("<II", num, den)

    cases = [
        ("exif_orientation_text.jpg", raw_exif([(0x0112, 2, 5, b"left\0")]), True),
        ("exif_orientation_99.jpg", ex(base={0x0112: 99}), True),
        ("exif_orientation_0.jpg", ex(base={0x0112: 0}), False),
        ("exif_orientation_rational.jpg", raw_exif([(0x0112, 5, 1, rational(13, 2))]), False),
        ("exif_year_9999.jpg", ex(sub={0x9003: "9999:12:31 23:59:59", 0x9011: "-23:59"}), True),
        ("exif_subsec_inf.jpg", ex(sub={0x9003: "2099:12:31 23:59:59", 0x9291: "1e400", 0x9011: "-23:59"}), True),
        ("exif_subsec_long.jpg", ex(sub={0x9003: "1985:01:01 00:00:00", 0x9291: "9" * 1000}), False),
        ("exif_date_zero.jpg", ex(base={0x0132: "0000:00:00 00:00:00"}), False),
        ("exif_date_garbage.jpg", ex(base={0x0132: "\x00\x01\x02 not a date"}), False),
        ("exif_date_impossible.jpg", ex(sub={0x9003: "2024:13:45 99:99:99", 0x9011: "+99:99"}), False),
        ("exif_gps_zero_denominators.jpg",
         ex(gps={1: "N", 2: (IFDRational(37, 0), IFDRational(1, 0), IFDRational(0, 0)), 3: "E",
                 4: (IFDRational(127, 0), 0.0, 0.0)}), True),
        ("exif_gps_out_of_range.jpg", ex(gps={1: "N", 2: (1000.0, 0.0, 0.0), 3: "E", 4: (500.0, 0.0, 0.0),
                                              6: 1e30}), False),
        ("exif_gps_text.jpg", raw_exif([], gps=[(1, 2, 6, b"North\0"), (2, 2, 13, b"thirty seven\0"),
                                                (3, 2, 2, b"E\0"), (4, 2, 2, b"x\0")]), False),
        ("exif_gps_nan.jpg", raw_exif([], gps=[(1, 2, 2, b"N\0"), (2, 5, 3, rational(0, 0) * 3), (3, 2, 2, b"E\0"),
                                               (4, 5, 3, rational(0, 0) * 3), (6, 5, 1, rational(1, 0))]), True),
        ("exif_camera_escape.jpg", ex(base={0x010F: "\x1b[31mEvil\x1b[0m\u202eCam\n", 0x0110: "Z" * 5000}), True),
    ]
    for k, (name, exif, ci) in enumerate(cases):
        s = "ABC"[k % 3]
        c.add(name, with_exif(s, exif), spot(s), ci=ci)
    # raw EXIF blocks: a loop of IFD pointers, pointers past the end, counts far too large
    loop = raw_exif([(0x8769, 4, 1, struct.pack("<I", 8)), (0x0112, 3, 1, struct.pack("<H", 1))], next_ifd=8)
    past = raw_exif([(0x8825, 4, 1, struct.pack("<I", 0x7FFFFFF0)), (0x010F, 2, 100000, struct.pack("<I", 900000))])
    huge = raw_exif([(0x0132, 2, 0xFFFFFFFF, struct.pack("<I", 20)), (0x0112, 3, 0x7FFFFFFF, b"\x06\0\0\0")])
    cut = raw_exif([(0x0112, 3, 1, b"\x06\0\0\0")])[:14]
    for k, (name, raw, ci) in enumerate((("exif_ifd_loop.jpg", loop, True), ("exif_pointer_past_end.jpg", past, False),
                                         ("exif_huge_counts.jpg", huge, False), ("exif_cut_short.jpg", cut, True))):
        s = "ABC"[k % 3]
        c.add(name, with_exif(s, raw), spot(s), ci=ci)
    big = c.new_view("B")
    c.add("exif_2MB_in_png.png", lambda: enc(big, "PNG", exif=b"Exif\0\0II*\0\x08\0\0\0" + bytes(2 << 20)),
          spot("B"), ci=True)


def odd_names(c: Corpus) -> None:
    names = [
        ("line\nbreak.jpg", True), ("esc\x1b[31mred\x1b[0m.jpg", True), ("invoice\u202egnp.jpg", True),
        ("tab\there.jpg", False), ("bell\x07.jpg", False), ("carriage\rreturn.jpg", False), ("-rf.jpg", True),
        ("  spaces  .jpg", False), ("x" * 240 + ".jpg", False), ("emoji 📷.jpg", False),
        ("\u1112\u1167\u11ab\u110c\u1161\u11bc NFD.jpg", False), ("zero\u200bwidth.jpg", False),
        ("<script>alert(1)<\\script>.jpg", True), ("amp &amp; \"quotes\" 'x'.jpg", False),
        ("back\\slash.jpg", False), ("photo.png.jpg", False), ("UPPER.JPEG", False), ("한글 사진 (1).JPG", True),
        (os.fsdecode(b"latin1_\xe9t\xe9.jpg"), True), (os.fsdecode(b"\xff\xfe.jpg"), False),
    ]
    for k, (name, ci) in enumerate(names):
        s = "ABC"[k % 3]
        img = c.new_view(s)
        c.add(name, lambda img=img: enc(img, quality=90), spot(s), ci=ci)
    jpg = enc(c.views("A")[1], quality=90)
    c.add("no_extension", lambda: jpg, skipped("not a photo (file type)"), ci=True)
    c.add("photo.jpg.txt", lambda: jpg, skipped("not a photo (file type)"))
    c.add("trailing_dot.jpg.", lambda: jpg, skipped("not a photo (file type)"))
    c.add("trailing_space.jpg ", lambda: jpg, skipped("not a photo (file type)"), ci=True)


def links_and_special(c: Corpus, outside: Path) -> None:
    c.special("link_to_good.jpg", lambda p: os.symlink(c.path("good_A0.jpg"), p), good("A"), ci=True)
    c.special("hardlink_to_good.jpg", lambda p: os.link(c.path("good_B0.jpg"), p), good("B"))
    out_photo = outside / "elsewhere.jpg"
    elsewhere = c.new_view("C")

    def link_outside(p: Path) -> None:
        outside.mkdir(parents=True, exist_ok=True)
        if not out_photo.exists():
            out_photo.write_bytes(enc(elsewhere, quality=90))
        os.symlink(out_photo, p)

    c.special("link_outside.jpg", link_outside, spot("C"))
    c.special("broken_link.jpg", lambda p: os.symlink(c.folder / "deleted.jpg", p), unreadable("broken link"), ci=True)
    c.special("loop_a.jpg", lambda p: os.symlink(c.path("loop_b.jpg"), p), unreadable("broken link"), ci=True)
    c.special("loop_b.jpg", lambda p: os.symlink(c.path("loop_a.jpg"), p), unreadable("broken link"), ci=True)
    c.special("self_loop.jpg", lambda p: os.symlink(p, p), unreadable("broken link"))
    c.special("broken_link.txt", lambda p: os.symlink(c.folder / "gone.txt", p), skipped("broken link"))
    c.special("album.jpg", lambda p: p.mkdir(), skipped("is a folder"), ci=True)
    c.special("sub", lambda p: (p.mkdir(), (p / "inner.jpg").write_bytes(enc(c.views("A")[0]))), skipped("is a folder"))
    c.special("link_to_folder.jpg", lambda p: (outside.mkdir(parents=True, exist_ok=True), os.symlink(outside, p)),
              skipped("is a folder"), ci=True)
    c.special("fifo.jpg", lambda p: os.mkfifo(p), skipped("not a regular file"), ci=True)
    c.special("link_to_fifo.jpg", lambda p: os.symlink(c.path("fifo.jpg"), p), skipped("not a regular file"),
              ci=True)
    c.special("socket.jpg", _make_socket, skipped("not a regular file"), ci=True)
    c.special("dev_zero.jpg", lambda p: os.symlink("/dev/zero", p), skipped("not a regular file"), ci=True)
    c.special("dev_null.png", lambda p: os.symlink("/dev/null", p), skipped("not a regular file"))
    c.special("dev_urandom.heic", lambda p: os.symlink("/dev/urandom", p), skipped("not a regular file"))
    c.add(".hidden.jpg", lambda: enc(c.views("A")[2], quality=90), skipped("hidden"), ci=True)
    c.add("._good_A0.jpg", lambda: b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(60), skipped("hidden"),
          ci=True)
    c.add(".DS_Store", lambda: b"\0\0\0\1Bud1" + bytes(100), skipped("hidden"))
    c.special(".thumbnails", lambda p: p.mkdir(), skipped("hidden"))
    c.add("readme.txt", lambda: b"site 12, level 3\n", skipped("not a photo (file type)"), ci=True)
    for name in ("Thumbs.db", "clip.mp4", "IMG_0003.MOV", "IMG_0003.AAE", "IMG_0004.xmp", "report.docx"):
        c.add(name, lambda: rng_for("other").bytes(100), skipped("not a photo (file type)"))
    # a file the app may not read (root reads it anyway)
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    locked = c.new_view("A")

    def make_locked(p: Path) -> None:
        p.write_bytes(enc(locked, quality=90))
        p.chmod(0)

    c.special("no_permission.jpg", make_locked, spot("A") if root else unreadable("permission denied"), ci=True)


def _make_socket(path: Path) -> None:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    cwd = os.getcwd()
    try:
        os.chdir(path.parent)  # socket paths are limited to ~100 bytes
        s.bind(path.name)
    finally:
        os.chdir(cwd)
        s.close()


def duplicates(c: Corpus) -> None:
    for k, (s, i) in enumerate((("A", 3), ("B", 4), ("C", 5))):
        c.add(f"copy_of_good_{s}{i}.jpg", lambda s=s, i=i: c.path(f"good_{s}{i}.jpg").read_bytes(), good(s), ci=k == 0)
    noise = enc(rng_for("dupnoise").integers(0, 256, (480, 640, 3), dtype=np.uint8), quality=90)
    for k in range(3):
        c.add(f"noise_copy_{k}.jpg", lambda: noise, JUNK, ci=True)
    black = enc(Image.new("RGB", (640, 480)), "PNG")
    for k in range(2):
        c.add(f"black_copy_{k}.png", lambda: black, JUNK)


def nothing_to_see(c: Corpus) -> None:
    """Pictures of nothing: noise, flat fields, test patterns (never a spot)."""
    W, H = 640, 480
    y, x = np.mgrid[0:H, 0:W]

    def grey(a):
        return np.repeat(np.clip(a, 0, 255).astype(np.uint8)[:, :, None], 3, 2)

    items: list[tuple[str, Callable[[], np.ndarray], bool]] = []
    for k in range(6):
        items.append((f"noise_rgb_{k}.jpg", lambda k=k: rng_for(f"n{k}").integers(0, 256, (H, W, 3), dtype=np.uint8),
                      k < 3))
    items += [
        ("noise_grey.png", lambda: grey(rng_for("ng").integers(0, 256, (H, W))), True),
        ("noise_faint.jpg", lambda: grey(128 + rng_for("nf").normal(0, 6, (H, W))), False),
        ("noise_big_1600x1200.jpg", lambda: rng_for("nb").integers(0, 256, (1200, 1600, 3), dtype=np.uint8), False),
        ("noise_small_200x150.png", lambda: rng_for("ns").integers(0, 256, (150, 200, 3), dtype=np.uint8), False),
        ("static_scanlines.jpg", lambda: grey(rng_for("st").integers(0, 256, (H, W)) * ((y % 4) > 0)), False),
        ("flat_black.jpg", lambda: np.zeros((H, W, 3), np.uint8), True),
        ("flat_white.png", lambda: np.full((H, W, 3), 255, np.uint8), False),
        ("flat_grey_noisy.jpg", lambda: grey(128 + rng_for("fg").normal(0, 2, (H, W))), True),
        ("flat_red.png", lambda: np.tile(np.array([200, 30, 30], np.uint8), (H, W, 1)), False),
        ("flat_vignette.jpg", lambda: grey(180 - np.hypot(x - W / 2, y - H / 2) / 4), True),
        ("ramp.png", lambda: grey(x * 255 / W), False),
        ("ramp_diagonal.jpg", lambda: grey((x + y) * 255 / (W + H)), False),
        ("colour_bars.png", lambda: np.array([[192, 192, 192], [192, 192, 0], [0, 192, 192], [0, 192, 0],
                                              [192, 0, 192], [192, 0, 0], [0, 0, 192]], np.uint8)[x * 7 // W], True),
        ("zone_plate.png", lambda: grey(127 + 127 * np.cos(((x - W / 2) ** 2 + (y - H / 2) ** 2) * np.pi / 800)),
         False),
        ("grid_20.png", lambda: grey(255 - 255 * ((x % 20 == 0) | (y % 20 == 0))), True),
    ]
    for p in (2, 4, 16, 40, 100):
        ci = p in (4, 16, 40)
        items += [
            (f"stripes_v{p}.png", lambda p=p: grey((x // p) % 2 * 255), ci),
            (f"stripes_h{p}.jpg", lambda p=p: grey((y // p) % 2 * 255), False),
            (f"stripes_diag{p}.png", lambda p=p: grey(((x + y) // p) % 2 * 255), ci),
            (f"checker{p}.png", lambda p=p: grey(((x // p) + (y // p)) % 2 * 255), ci),
            (f"sine{p}.jpg", lambda p=p: grey(127 + 120 * np.sin((x * 0.8 + y * 0.6) * np.pi / p)), False),
        ]
    for name, make, ci in items:
        fmt = "PNG" if name.endswith(".png") else "JPEG"
        c.add(name, lambda make=make, fmt=fmt: enc(make(), fmt, **({"quality": 92} if fmt == "JPEG" else {})), JUNK,
              ci=ci)


CLASSES = (good_photos, empty_and_tiny, truncated, corrupt, random_bytes, not_images, polyglots, unsupported, bombs,
           extreme_sizes, odd_encodings, broken_exif, odd_names, duplicates, nothing_to_see)


def write_corpus(folder: Path, full: bool = True, outside: Path | None = None,
                 good_size: tuple[int, int] | None = None, refused_only: Path | None = None) -> dict[str, Expect]:
    """Write the corpus into ``folder`` (created; must not exist); ``outside``: a folder
    for link targets (default: a sibling of ``folder``); ``good_size``: (w, h) of the good
    photos (default 640x480, like every other view; (4000, 3000) makes them camera-sized);
    ``refused_only``: a second folder (created) that gets the good photos and only the
    entries that must be refused or skipped (what the hostile files alone cost).
    Returns the expectation for every entry (names as os.listdir gives them)."""
    folder.mkdir(parents=True)
    if refused_only is not None:
        refused_only.mkdir(parents=True)
    c = Corpus(folder, full, good_size, refused_only)
    for cls in CLASSES:
        cls(c)
    links_and_special(c, outside or folder.parent / f"{folder.name}-outside")
    return c.expect


def list_corpus(full: bool = True) -> dict[str, Expect]:
    """The entries :func:`write_corpus` would write, without writing anything."""
    c = Corpus(Path("/nonexistent"), full, dry=True)
    for cls in CLASSES:
        cls(c)
    links_and_special(c, Path("/nonexistent-outside"))
    return c.expect


def write_good_only(folder: Path, good_size: tuple[int, int] | None = None) -> dict[str, Expect]:
    """The good photos alone (the reference run)."""
    folder.mkdir(parents=True)
    c = Corpus(folder, full=False, good_size=good_size)
    good_photos(c)
    return c.expect
