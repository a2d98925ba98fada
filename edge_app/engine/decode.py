"""Decode a photo file into a reduced-size RGB work image, within a resource budget.

This is the one decode path of the app: the folder command, the report's thumbnails and
the site app's uploads all come through :func:`read_photo_bytes` and :func:`decode_image`,
so a file gets the same guards and the same reason wherever it arrives.

* JPEGs are decoded at reduced size through libjpeg's DCT scaling (simplejpeg, or Pillow
  ``draft``), 4-8x faster than a full decode and a resize; other formats are decoded whole
  and shrunk at once. The EXIF orientation is applied so the work image is upright; small
  photos are never upscaled.
* Only the decoders of :data:`ALLOWED_FORMATS` are ever tried (set once, here): nothing is
  handed to Ghostscript or any other outside program, whatever the file's name or bytes.
* Every photo gets a budget decided before its pixels are decoded: the file's size
  (:data:`MAX_FILE_BYTES`, checked before reading), the pixel count from the header
  (:data:`MAX_PIXELS`, and the memory the decode of that format and colour mode will need,
  at most :data:`DECODE_MEMORY_BUDGET`), the number of scans of a progressive JPEG
  (:data:`MAX_JPEG_SCANS`) and of chunks of a PNG (:data:`MAX_PNG_CHUNKS`), and a time
  limit where a decoder runs in steps (:data:`DECODE_TIME_LIMIT_S`). The memory budget
  holds for the whole process: decodes on several threads wait until their sum fits
  (:class:`MemoryBudget`).
* Library warnings are caught per photo and kept as that photo's notes
  (:attr:`Decoded.notes`), never printed.
* :func:`scan_folder` says which entries of a folder are photos to decode, and why the
  others are not (the same reasons).

Every failure raises :class:`ImageError` whose ``reason`` is one of the short, stable,
user-facing keys of :data:`REASONS` (which also gives the Korean text), so a caller can
list unreadable files and go on with the others.
"""

from __future__ import annotations

import errno
import io
import math
import os
import re
import stat
import threading
import time
import warnings
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .config import Settings

try:  # optional: libjpeg-turbo with DCT scaling, ~12 % faster than Pillow's JPEG path
    import simplejpeg
except Exception:  # pragma: no cover - platform without a wheel
    simplejpeg = None

#: Optional decoders this platform lacks (never in ALLOWED_FORMATS).
_MISSING_DECODERS: set[str] = set()
try:  # optional: HEIC/HEIF from phones
    import pillow_heif

    pillow_heif.register_heif_opener()
except Exception:  # pragma: no cover - depends on the platform wheel
    _MISSING_DECODERS.add("HEIF")

try:
    from PIL import features as _features

    if not _features.check_module("avif"):
        _MISSING_DECODERS.add("AVIF")
except Exception:  # pragma: no cover - Pillow without the AVIF plugin
    _MISSING_DECODERS.add("AVIF")

# --------------------------------------------------------------------------- policy

#: The Pillow decoders that may ever open a file, tried in this order (MPO, a JPEG with
#: extra frames, opens through "JPEG"). Everything else (EPS/PostScript through
#: Ghostscript, PDF, PSD, ICO, the scientific formats, ...) is never tried.
ALLOWED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "HEIF", "TIFF", "BMP", "GIF", "AVIF")
ALLOWED_FORMATS = tuple(f for f in ALLOWED_FORMATS if f not in _MISSING_DECODERS)

#: File name extensions treated as photos when scanning a folder (what ALLOWED_FORMATS reads).
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".hif",
     ".gif", ".avif"}
)
#: Extensions of image files the app cannot read (camera raw, JPEG 2000 / XL, layered or
#: vector formats): a folder scan lists them as "unsupported format" instead of ignoring them.
UNSUPPORTED_IMAGE_EXTENSIONS = frozenset(
    {".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".raf", ".orf", ".rw2", ".pef",
     ".srw", ".x3f", ".3fr", ".iiq", ".raw", ".rwl", ".jp2", ".j2k", ".jpx", ".jxl", ".psd", ".psb", ".svg",
     ".eps", ".ico", ".tga", ".heics", ".avifs", ".jxr", ".wdp", ".hdp", ".exr", ".hdr", ".qoi", ".dds"}
)

#: Refuse files larger than this before reading them (phone photos are 2-30 MB; a 200 MP
#: JPEG is about 60 MB).
MAX_FILE_BYTES = 96 * 1024 * 1024

#: Refuse images above this many pixels whatever their format (a decompression bomb, or a
#: panorama no phone takes). Formats that decode whole are refused far earlier by
#: DECODE_MEMORY_BUDGET.
MAX_PIXELS = 250_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

#: Memory that decodes may use at once, all threads of the process together (bytes,
#: estimated from the header before decoding: see :func:`decode_cost`). One photo whose
#: decode needs more is refused as "too large"; photos that fit wait for each other. This
#: sets the pixel cap per format: a baseline JPEG decodes at 1/8 scale (the 250 Mpx cap
#: applies), an RGB PNG needs 4 bytes per pixel (134 Mpx), a 4:4:4 progressive JPEG 6.
DECODE_MEMORY_BUDGET = 512 * 1024 * 1024

#: Scans a progressive JPEG may have (camera and web encoders write 3-12, mozjpeg up to
#: about 20); each scan walks every block of the image, so thousands of legal scans turn
#: a 0.5 MB file into a minute of decoding.
MAX_JPEG_SCANS = 64

#: Chunks a PNG may have: 4096, plus one per 2 KB of file (libpng writes 8 KB data
#: chunks). Pillow reads each chunk in Python, so a flood of tiny chunks costs seconds.
MAX_PNG_CHUNKS = 4096
PNG_BYTES_PER_EXTRA_CHUNK = 2048

#: Seconds a decoder that runs in steps (Pillow: PNG, TIFF, BMP, GIF, and JPEGs Pillow
#: decodes) may take; past it the photo is refused as "took too long". Single-call
#: decoders (libjpeg-turbo via simplejpeg, WebP, HEIF, AVIF) are bounded by the pixel and
#: scan budgets instead.
DECODE_TIME_LIMIT_S = 10.0

#: EXIF blocks larger than this are ignored (a JPEG's is at most 64 KB).
MAX_EXIF_BYTES = 1024 * 1024

#: Refuse work images with a shorter side (an icon, or a strip so thin that shrinking its
#: long side to the work size leaves a few pixel rows).
MIN_SIDE = 8

#: Every reason an unusable file is given, with its Korean text (shown on the tablet).
#: Decode path (:func:`read_photo_bytes`, :func:`decode_image`), per-photo analysis
#: (:mod:`edge_app.engine.analyze`) and folder scan (:func:`scan_folder`).
REASONS: dict[str, str] = {
    # reading the file
    "file not found": "파일 없음",
    "broken link": "끊어진 링크",
    "is a folder": "폴더임",
    "not a regular file": "일반 파일이 아님",
    "permission denied": "권한 없음",
    "unreadable": "읽을 수 없음",
    "empty file": "빈 파일",
    # what the bytes are
    "not an image": "사진 파일이 아님",
    "unsupported format": "지원하지 않는 형식",
    "truncated or corrupt": "잘렸거나 손상됨",
    # the budget
    "too large": "너무 큼",
    "too small": "너무 작음",
    "too complex": "너무 복잡함",
    "took too long": "시간 초과",
    # analysis after decoding
    "too large to process": "처리하기에 너무 큼",
    "could not be analysed": "분석할 수 없음",
    # folder scan: entries that are not taken as photos
    "hidden": "숨김 항목",
    "not a photo (file type)": "사진 형식이 아닌 파일",
}


def reason_ko(reason: str) -> str:
    """The Korean text of a reason of :data:`REASONS` (the reason itself if unknown)."""
    return REASONS.get(reason, reason)


class ImageError(ValueError):
    """A file that cannot be used as a photo. ``reason`` is a key of :data:`REASONS`."""

    def __init__(self, path: str | Path, reason: str, detail: str = ""):
        self.path = str(path)
        self.reason = reason
        self.detail = detail
        msg = f"{self.path}: {reason}" + (f" ({detail})" if detail else "")
        super().__init__(msg)


@dataclass
class Decoded:
    """A decoded photo.

    rgb:       uint8 [H, W, 3], upright (EXIF orientation applied), long side <= max_side.
    full_size: (width, height) of the upright original in pixels.
    exif:      the PIL Exif object of the original (empty when absent or unreadable).
    format:    the decoder's format name: "JPEG" (also for MPO), "PNG", "WEBP", "HEIF",
               "TIFF", "BMP", "GIF" or "AVIF".
    notes:     what the decoders warned about or what was ignored (a bad orientation tag,
               unreadable EXIF), one short line each; the photo was used.
    """

    rgb: np.ndarray
    full_size: tuple[int, int]
    exif: Image.Exif
    format: str = ""
    notes: list[str] = field(default_factory=list)


def is_image_name(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


# --------------------------------------------------------------------------- no outside programs


def _close_outside_programs() -> None:
    """Make sure no Pillow decoder can start an outside program in this process, whoever
    calls ``Image.open``: the EPS plugin (the only one that runs one, Ghostscript) is
    unregistered and told that Ghostscript does not exist. decode_image never tries it
    anyway (``formats=ALLOWED_FORMATS``)."""
    try:
        from PIL import EpsImagePlugin
    except Exception:  # pragma: no cover - a Pillow without it
        return
    EpsImagePlugin.gs_binary = False
    EpsImagePlugin.gs_windows_binary = False
    Image.OPEN.pop("EPS", None)
    while "EPS" in Image.ID:
        Image.ID.remove("EPS")


_close_outside_programs()


def _load_allowed_plugins() -> None:
    """Import the allowed plugins now, so that ``Image.open(formats=ALLOWED_FORMATS)`` never
    has to run Pillow's lazy ``init()`` (once per process, from whichever thread is first)."""
    import importlib

    for module in ("JpegImagePlugin", "PngImagePlugin", "WebPImagePlugin", "TiffImagePlugin", "BmpImagePlugin",
                   "GifImagePlugin", "AvifImagePlugin"):
        try:
            importlib.import_module(f"PIL.{module}")
        except Exception:  # pragma: no cover - a Pillow without it: that format is not allowed
            pass


_load_allowed_plugins()
ALLOWED_FORMATS = tuple(f for f in ALLOWED_FORMATS if f in Image.OPEN)


# --------------------------------------------------------------------------- reading


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    return "special file"


def _refuse_stat(path, st: os.stat_result, max_bytes: int) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise ImageError(path, "is a folder")
    if not stat.S_ISREG(st.st_mode):
        raise ImageError(path, "not a regular file", _kind(st.st_mode))
    if st.st_size > max_bytes:
        raise ImageError(path, "too large", f"{st.st_size} bytes, limit {max_bytes}")


def read_photo_bytes(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a photo file; raises ImageError with a user-facing reason.

    Nothing is read from what is not a regular file (a FIFO would block, a device never
    ends, a folder is no photo; links are followed, a link to one of those is refused the
    same way) nor from a file over ``max_bytes`` ("too large")."""
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise ImageError(path, "broken link" if p.is_symlink() else "file not found") from None
    except NotADirectoryError:
        raise ImageError(path, "file not found") from None
    except PermissionError:
        raise ImageError(path, "permission denied") from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise ImageError(path, "broken link", "link loop") from None
        raise ImageError(path, "unreadable", e.strerror or str(e)) from None
    _refuse_stat(path, st, max_bytes)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(p, flags)
    except FileNotFoundError:
        raise ImageError(path, "file not found") from None
    except IsADirectoryError:
        raise ImageError(path, "is a folder") from None
    except PermissionError:
        raise ImageError(path, "permission denied") from None
    except OSError as e:
        raise ImageError(path, "unreadable", e.strerror or str(e)) from None
    try:
        st = os.fstat(fd)  # what was opened: it may have been swapped since the stat
        _refuse_stat(path, st, max_bytes)
        chunks, got = [], 0
        while True:
            b = os.read(fd, min(max_bytes + 1 - got, 1 << 24))
            if not b:
                break
            chunks.append(b)
            got += len(b)
            if got > max_bytes:
                raise ImageError(path, "too large", f"more than {max_bytes} bytes")
    except OSError as e:
        raise ImageError(path, "unreadable", e.strerror or str(e)) from None
    finally:
        os.close(fd)
    data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    if not data:
        raise ImageError(path, "empty file")
    return data


# --------------------------------------------------------------------------- the process-wide budget


class MemoryBudget:
    """A process-wide budget of bytes shared by concurrent decodes.

    ``with budget.reserve(n):`` waits until ``n`` more bytes fit (first come, first
    served, so a large decode is not starved by small ones), then holds them. A request
    larger than the whole budget runs alone."""

    def __init__(self, capacity: int):
        self.capacity = int(capacity)
        self.used = 0
        self.peak = 0
        self._cond = threading.Condition()
        self._queue: deque = deque()

    @contextmanager
    def reserve(self, n: int):
        n = max(0, min(int(n), self.capacity))
        me = object()
        with self._cond:
            self._queue.append(me)
            while self._queue[0] is not me or (self.used and self.used + n > self.capacity):
                self._cond.wait()
            self._queue.popleft()
            self.used += n
            self.peak = max(self.peak, self.used)
            self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self.used -= n
                self._cond.notify_all()


#: The budget every decode_image call reserves from.
BUDGET = MemoryBudget(DECODE_MEMORY_BUDGET)


# --------------------------------------------------------------------------- warnings -> notes

_warn_lock = threading.Lock()
_warn_users = 0
_warn_saved: tuple | None = None
_warn_local = threading.local()


def _show_or_keep(message, category, filename, lineno, file=None, line=None):
    sink = getattr(_warn_local, "sink", None)
    if sink is not None:
        sink.append(str(message))
        return
    saved = _warn_saved
    if saved is not None:  # another thread's warning while a decode is capturing
        saved[0](message, category, filename, lineno, file, line)


@contextmanager
def capture_warnings(sink: list[str]):
    """Warnings raised on this thread go into ``sink`` (every one, not once per place).

    Thread-safe where ``warnings.catch_warnings`` is not: the process-wide hook is
    installed by the first capturing thread and removed by the last, and each thread
    collects into its own list."""
    global _warn_users, _warn_saved
    with _warn_lock:
        if _warn_users == 0:
            _warn_saved = (warnings.showwarning, warnings.filters)
            warnings.filters = [("always", None, Warning, None, 0)] + list(warnings.filters)
            warnings._filters_mutated()
            warnings.showwarning = _show_or_keep
        _warn_users += 1
    outer = getattr(_warn_local, "sink", None)
    _warn_local.sink = sink
    try:
        yield sink
    finally:
        _warn_local.sink = outer
        with _warn_lock:
            _warn_users -= 1
            if _warn_users == 0 and _warn_saved is not None:
                warnings.showwarning, warnings.filters = _warn_saved
                warnings._filters_mutated()
                _warn_saved = None


# --------------------------------------------------------------------------- what the bytes are

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1",
                b"mif2", b"miaf"}


def sniff_format(data: bytes) -> str | None:
    """The image format the first bytes announce (None: no image format known here).
    Used to tell "not an image" from "unsupported format" and "truncated or corrupt"."""
    head = bytes(data[:32])
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head.startswith(b"BM") and len(head) >= 18 and int.from_bytes(head[14:18], "little") in (
            12, 16, 40, 52, 56, 64, 108, 124):
        return "BMP"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "AVIF"
        if brand in _HEIF_BRANDS:
            return "HEIF"
        return None  # MP4 / MOV video
    if head.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n") or head.startswith(b"\xff\x4f\xff\x51"):
        return "JPEG2000"
    if head.startswith(b"\xff\x0a") or head.startswith(b"\x00\x00\x00\x0cJXL \r\n\x87\n"):
        return "JPEG XL"
    if head.startswith(b"8BPS"):
        return "PSD"
    return None


_SOF = {0xC0: "baseline", 0xC1: "extended", 0xC2: "progressive", 0xC3: "lossless", 0xC5: "hierarchical",
        0xC6: "hierarchical", 0xC7: "hierarchical", 0xC9: "arithmetic", 0xCA: "progressive",
        0xCB: "lossless", 0xCD: "hierarchical", 0xCE: "hierarchical", 0xCF: "lossless"}
_MARKER_AFTER_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


@dataclass
class JpegHeader:
    """What the markers of a JPEG say before any decoding.

    kind: "baseline", "extended", "progressive", "arithmetic", "lossless" or "hierarchical".
    bits: sample precision; size: (w, h); sampling: (h, v) factors per component;
    scans: start-of-scan markers counted (progressive files only; stops past the limit)."""

    kind: str = ""
    bits: int = 0
    size: tuple[int, int] = (0, 0)
    sampling: tuple[tuple[int, int], ...] = ()
    scans: int = 0

    @property
    def progressive(self) -> bool:
        return self.kind == "progressive"

    def coefficient_bytes(self) -> int:
        """Bytes libjpeg keeps for the whole image's DCT coefficients (progressive files)."""
        w, h = self.size
        if not self.sampling:
            return 0
        hmax = max(s[0] for s in self.sampling) or 1
        vmax = max(s[1] for s in self.sampling) or 1
        mcu_w, mcu_h = math.ceil(w / (8 * hmax)), math.ceil(h / (8 * vmax))
        blocks = sum(mcu_w * hs * mcu_h * vs for hs, vs in self.sampling)
        return blocks * 64 * 2


def read_jpeg_header(data: bytes, max_scans: int = MAX_JPEG_SCANS) -> JpegHeader:
    """Walk a JPEG's markers: frame header, and for a progressive file the number of
    scans (entropy-coded data is skipped by searching for the next marker; counting stops
    at ``max_scans + 1``). Tolerates anything: what cannot be read is left at its default."""
    h = JpegHeader()
    n, pos = len(data), 2
    while pos < n:
        if data[pos] != 0xFF:
            pos = data.find(b"\xff", pos)
            if pos < 0:
                break
        while pos < n and data[pos] == 0xFF:
            pos += 1
        if pos >= n:
            break
        m = data[pos]
        pos += 1
        if m == 0xD9:
            break
        if m in (0x00, 0x01, 0xD8) or 0xD0 <= m <= 0xD7:
            continue
        if pos + 2 > n:
            break
        seg_len = int.from_bytes(data[pos:pos + 2], "big")
        if seg_len < 2:
            break
        seg = data[pos + 2:pos + seg_len]
        pos += seg_len
        if m in _SOF and not h.kind and len(seg) >= 6:
            h.kind, h.bits = _SOF[m], seg[0]
            h.size = (int.from_bytes(seg[3:5], "big"), int.from_bytes(seg[1:3], "big"))
            ncomp = seg[5]
            h.sampling = tuple((seg[6 + 3 * c + 1] >> 4, seg[6 + 3 * c + 1] & 15) for c in range(ncomp)
                               if 6 + 3 * c + 1 < len(seg))
        elif m == 0xDA:
            h.scans += 1
            if not h.progressive or h.scans > max_scans:
                break
            hit = _MARKER_AFTER_SCAN.search(data, pos)
            if hit is None:
                break
            pos = hit.start()
    return h


def count_png_chunks(data: bytes, limit: int) -> int:
    """Chunks of a PNG up to IEND or the end of the data, counting stops past ``limit``."""
    n, pos, end = 0, 8, len(data)
    while pos + 8 <= end and n <= limit:
        length = int.from_bytes(data[pos:pos + 4], "big")
        n += 1
        if data[pos + 4:pos + 8] == b"IEND":
            break
        pos += 12 + length
    return n


# --------------------------------------------------------------------------- the budget of one photo

#: Bytes per pixel of Pillow's image memory for a mode (3-band modes are stored in 4).
_STORE_BPP = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
#: Bytes per pixel of a full-size copy made before shrinking: palette images become RGB(A),
#: other colour spaces RGB, and images with alpha are premultiplied for the filter.
_CONVERT_BPP = {"1": 1, "P": 4, "PA": 4, "LA": 4, "La": 4, "RGBA": 4, "RGBa": 4, "CMYK": 4, "YCbCr": 4,
                "LAB": 4, "HSV": 4, "RGBX": 4}
#: Bytes per pixel the format's own decoder holds besides Pillow's image (a buffer it
#: decodes into and hands over, colour planes before conversion).
_DECODER_BPP = {"WEBP": 13, "AVIF": 6, "HEIF": 4, "TIFF": 1, "GIF": 1, "BMP": 1, "PNG": 0.5}


def decode_cost(fmt: str, mode: str, size: tuple[int, int], max_side: int, data_len: int = 0,
                jpeg: JpegHeader | None = None) -> int:
    """Estimated peak bytes of decoding one image (measured per format in
    ``docs/quality.md``), from its header alone: JPEGs decode DCT-scaled (a progressive
    one also keeps every coefficient), the others whole in Pillow's memory plus their
    decoder's buffer and any full-size conversion."""
    w, h = size
    px = w * h
    if fmt == "JPEG":
        s = min(1.0, max_side / max(w, h, 1))
        f = min(1.0, max(1 / 8, math.ceil(8 * s) / 8))
        out = math.ceil(w * f) * math.ceil(h * f)
        cost = out * (4 + 4 + 3) + 64 * w  # scaled image, a conversion, the RGB array, row buffers
        if jpeg is not None and jpeg.progressive:
            cost += jpeg.coefficient_bytes()
        return cost + 2 * data_len
    bpp = _STORE_BPP.get(mode, 4) + _CONVERT_BPP.get(mode, 0) + _DECODER_BPP.get(fmt, 0)
    return int(px * bpp) + 2 * data_len


# --------------------------------------------------------------------------- decoding


class _TooSlow(Exception):
    pass


class _TimedReader(io.BytesIO):
    """The file's bytes for Pillow, refusing to go on past a deadline. Pillow decoders
    that run in steps (PNG chunks, TIFF strips, GIF blocks, JPEG through Pillow) read
    between steps, so a runaway decode stops here."""

    def __init__(self, data: bytes, limit_s: float):
        super().__init__(data)
        self.deadline = time.monotonic() + limit_s

    def restart(self, limit_s: float) -> None:
        self.deadline = time.monotonic() + limit_s

    def _check(self):
        if time.monotonic() > self.deadline:
            raise _TooSlow()

    def read(self, n=-1):
        self._check()
        return super().read(n)

    def readline(self, n=-1):
        self._check()
        return super().readline(n)

    def readinto(self, b):
        self._check()
        return super().readinto(b)


def _unsupported_message(msg: str) -> bool:
    m = msg.lower()
    return any(k in m for k in ("unsupported", "not supported", "cannot handle", "unknown raw mode",
                                "unknown pixel mode", "not implemented", "conversion from"))


def decode_image(source: str | Path | bytes, max_side: int = Settings.work_max_side,
                 min_side: int = MIN_SIDE) -> Decoded:
    """Decode ``source`` (a path or the file's bytes) into an upright RGB work image.

    max_side: the long side of the returned image in pixels (default: the settings' work
    image); smaller photos keep their size.
    min_side: refuse ("too small") a returned image with a shorter side (1 for thumbnails).
    Raises ImageError (reasons: :data:`REASONS`) for anything that is not a readable photo
    or does not fit the budget. Safe to call from several threads at once.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        name = "<bytes>"
        data = bytes(source)
        if len(data) > MAX_FILE_BYTES:
            raise ImageError(name, "too large", f"{len(data)} bytes, limit {MAX_FILE_BYTES}")
    else:
        name = source
        data = read_photo_bytes(source)
    if not data:
        raise ImageError(name, "empty file")
    notes: list[str] = []
    try:
        with capture_warnings(notes):
            dec = _decode(name, data, max_side, notes)
    except ImageError:
        raise
    except _TooSlow:
        raise ImageError(name, "took too long", f"over {DECODE_TIME_LIMIT_S:g} s") from None
    except MemoryError:
        raise ImageError(name, "too large", "out of memory") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(name, "too large", str(e)[:200]) from None
    except UnidentifiedImageError:
        raise _unidentified(name, data) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, ZeroDivisionError,
            OverflowError, RuntimeError, AssertionError, __import__("struct").error) as e:
        text = f"{e}" or type(e).__name__
        reason = "unsupported format" if _unsupported_message(text) else "truncated or corrupt"
        raise ImageError(name, reason, text[:200]) from None
    dec.notes = _tidy(notes)
    if min(dec.rgb.shape[:2]) < min_side:
        raise ImageError(name, "too small", f"{dec.full_size[0]}x{dec.full_size[1]} pixels")
    return dec


def _tidy(notes: list[str]) -> list[str]:
    out: list[str] = []
    for n in notes:
        n = " ".join(str(n).split())[:200]
        if n and n not in out:
            out.append(n)
    return out[:20]


def _unidentified(name, data: bytes) -> ImageError:
    fmt = sniff_format(data)
    if fmt is None:
        return ImageError(name, "not an image", "unrecognised file format")
    if fmt in ALLOWED_FORMATS:
        return ImageError(name, "truncated or corrupt", f"{fmt} header unreadable")
    return ImageError(name, "unsupported format", fmt)


def _decode(name, data: bytes, max_side: int, notes: list[str]) -> Decoded:
    jpeg = None
    kind = sniff_format(data)
    if kind == "PNG":
        limit = MAX_PNG_CHUNKS + len(data) // PNG_BYTES_PER_EXTRA_CHUNK
        if count_png_chunks(data, limit) > limit:
            raise ImageError(name, "too complex", f"PNG with more than {limit} chunks")
    if kind == "JPEG":
        jpeg = read_jpeg_header(data)
        if jpeg.kind in ("lossless", "hierarchical"):
            raise ImageError(name, "unsupported format", f"{jpeg.kind} JPEG")
        if jpeg.bits and jpeg.bits != 8:
            raise ImageError(name, "unsupported format", f"{jpeg.bits}-bit JPEG")
        if jpeg.scans > MAX_JPEG_SCANS:
            raise ImageError(name, "too complex", f"progressive JPEG with more than {MAX_JPEG_SCANS} scans")
    fh = _TimedReader(data, DECODE_TIME_LIMIT_S)
    img = Image.open(fh, formats=ALLOWED_FORMATS)
    fmt = "JPEG" if img.format == "MPO" else (img.format or "")
    if fmt not in ALLOWED_FORMATS:  # pragma: no cover - Image.open only tries those
        raise ImageError(name, "unsupported format", fmt)
    w, h = img.size
    if w <= 0 or h <= 0:
        raise ImageError(name, "truncated or corrupt", f"{w}x{h} pixels")
    if w * h > MAX_PIXELS:
        raise ImageError(name, "too large", f"{w}x{h} pixels, limit {MAX_PIXELS // 1_000_000} Mpx")
    if fmt != "JPEG":
        jpeg = None
    cost = decode_cost(fmt, img.mode, img.size, max_side, len(data), jpeg)
    if cost > DECODE_MEMORY_BUDGET:
        raise ImageError(name, "too large", f"{w}x{h} pixels {fmt} {img.mode}: needs about {cost >> 20} MB "
                                            f"to decode, limit {DECODE_MEMORY_BUDGET >> 20} MB")
    with BUDGET.reserve(cost):
        fh.restart(DECODE_TIME_LIMIT_S)
        arr = _decode_jpeg(data, img, max_side) if fmt == "JPEG" else None
        if arr is None:
            arr = _decode_pillow(img, max_side, data)
        exif = _read_exif(img, notes)
        orientation = _orientation(exif, notes)
        full = (h, w) if orientation in (5, 6, 7, 8) else (w, h)
        rgb = _fit(_orient(arr, orientation), max_side)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:  # pragma: no cover - defensive
        raise ImageError(name, "unsupported format", f"unusable shape {rgb.shape}")
    return Decoded(rgb=rgb, full_size=full, exif=exif, format=fmt)


def _read_exif(img: Image.Image, notes: list[str]) -> Image.Exif:
    raw = img.info.get("exif")
    if isinstance(raw, (bytes, bytearray)) and len(raw) > MAX_EXIF_BYTES:
        notes.append(f"EXIF ignored: {len(raw)} bytes")
        return Image.Exif()
    try:
        exif = img.getexif()
    except Exception as e:  # noqa: BLE001 - a broken EXIF block never costs the photo
        notes.append(f"EXIF ignored: {type(e).__name__}: {e}")
        return Image.Exif()
    for ifd in (0x8769, 0x8825):  # parsed now, while warnings are caught; kept in the Exif object
        try:
            exif.get_ifd(ifd)
        except Exception as e:  # noqa: BLE001
            notes.append(f"EXIF {'GPS' if ifd == 0x8825 else 'sub'}-IFD ignored: {type(e).__name__}: {e}")
    return exif


def _orientation(exif: Image.Exif, notes: list[str]) -> int:
    """The EXIF orientation 1-8; anything else (text, out of range) is ignored (1)."""
    try:
        v = exif.get(0x0112)
    except Exception:  # noqa: BLE001
        v = None
    if v is None or v == 0:
        return 1
    o = None
    if isinstance(v, (tuple, list)) and len(v) == 1:
        v = v[0]
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        o = int(v)
    elif isinstance(v, (str, bytes)) and v.strip().isdigit() and len(v.strip()) < 3:
        o = int(v.strip())
    if o is not None and 1 <= o <= 8:
        return o
    notes.append(f"orientation tag ignored: {v!r:.40}")
    return 1


def _decode_jpeg(data: bytes, img: Image.Image, max_side: int) -> np.ndarray | None:
    """uint8 [h, w, 3] RGB straight from libjpeg-turbo at the smallest DCT scale that keeps
    the long side >= max_side (stored orientation); None when simplejpeg is missing or the
    file uses something it does not decode (CMYK), so Pillow takes over. A corrupt or
    truncated stream raises ValueError (strict mode); a stream that is complete but for
    its end marker is decoded."""
    if simplejpeg is None or img.mode not in ("RGB", "L"):
        return None
    w, h = img.size
    s = min(1.0, max_side / max(w, h))
    kw = dict(min_width=math.ceil(w * s), min_height=math.ceil(h * s))
    try:
        return simplejpeg.decode_jpeg(data, "RGB", **kw)
    except ValueError:
        if data.rstrip(b"\x00")[-2:] == b"\xff\xd9":
            raise
        return simplejpeg.decode_jpeg(data + b"\xff\xd9", "RGB", **kw)  # the end marker only was missing
    except Exception:  # noqa: BLE001 - unsupported variant: let Pillow try
        return None


def _decode_pillow(img: Image.Image, max_side: int, data: bytes) -> np.ndarray:
    """Any allowed format through Pillow, stored orientation, uint8 RGB, long side <=
    max_side. A JPEG decodes DCT-scaled (``draft``); anything else decodes whole and is
    shrunk before any other full-size copy is made."""
    if img.format in ("JPEG", "MPO") and max(img.size) > max_side:
        s = max_side / max(img.size)
        img.draft(img.mode if img.mode in ("RGB", "L", "CMYK") else "RGB",
                  (math.ceil(img.size[0] * s), math.ceil(img.size[1] * s)))
    try:
        img.load()
    except OSError as e:
        if img.format not in ("JPEG", "MPO") or "truncated" not in str(e):
            raise
        img = _reopen_with_end_marker(img, data)
    img = _shrink(img, max_side)
    return np.asarray(_to_rgb(img), dtype=np.uint8)


def _reopen_with_end_marker(img: Image.Image, data: bytes) -> Image.Image:
    """A JPEG that Pillow found truncated, given its end marker: decoded when libjpeg-turbo
    finds the stream complete with it (strict mode, at 1/8 scale: only the end marker was
    lost), else refused as truncated (Pillow alone would fill the missing rows with grey)."""
    if data.rstrip(b"\x00")[-2:] == b"\xff\xd9" or simplejpeg is None:
        raise OSError("image file is truncated")
    fixed = data + b"\xff\xd9"
    try:
        simplejpeg.decode_jpeg(fixed, "CMYK" if img.mode == "CMYK" else "RGB", min_width=1, min_height=1)
    except Exception as e:  # noqa: BLE001 - any complaint: the data itself is cut
        raise OSError(f"image file is truncated ({e})") from None
    again = Image.open(_TimedReader(fixed, DECODE_TIME_LIMIT_S), formats=("JPEG",))
    if img.size != again.size:
        again.draft(img.mode, img.size)
    again.load()
    return again


def _shrink(img: Image.Image, max_side: int) -> Image.Image:
    """Long side <= max_side with an area-like filter, converting first only what the
    filters cannot take (1-bit, palette, other colour spaces)."""
    mode = img.mode
    if mode == "1":
        img = img.convert("L")
    elif mode in ("P", "PA"):
        img = img.convert("RGBA" if mode == "PA" or "transparency" in img.info else "RGB")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        img = img.convert("RGB")
    elif mode in ("La", "RGBa"):
        img = img.convert(mode[:-1] + "A")
    w, h = img.size
    if max(w, h) <= max_side:
        return img
    s = max_side / max(w, h)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    if img.mode.startswith("I;16") or img.mode in ("I", "F"):
        return img.resize(size, Image.Resampling.BILINEAR)
    return img.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def _orient(a: np.ndarray, orientation: int) -> np.ndarray:
    """Apply the EXIF orientation (1-8) to an [H, W, C] array, as ImageOps.exif_transpose does."""
    if orientation == 2:
        a = a[:, ::-1]
    elif orientation == 3:
        a = a[::-1, ::-1]
    elif orientation == 4:
        a = a[::-1]
    elif orientation == 5:
        a = a.transpose(1, 0, 2)
    elif orientation == 6:
        a = np.rot90(a, -1)
    elif orientation == 7:
        a = np.rot90(a.transpose(1, 0, 2), 2)
    elif orientation == 8:
        a = np.rot90(a, 1)
    return np.ascontiguousarray(a)


def _fit(rgb: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink (never enlarge) so the long side is at most max_side.

    Area averaging, except for a mild last step after DCT scaling (to at least 2/3 of
    the size, e.g. 816 -> 768 px), where bilinear aliases negligibly and costs a sixth
    (0.7 vs 4.1 ms: OpenCV's area filter is slow for non-integer ratios)."""
    h, w = rgb.shape[:2]
    if max(h, w) <= max_side:
        return rgb
    s = max_side / max(h, w)
    import cv2

    interp = cv2.INTER_LINEAR if s >= 2 / 3 else cv2.INTER_AREA
    return cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))), interpolation=interp)


def _to_rgb(img: Image.Image) -> Image.Image:
    """Convert any mode to RGB, compositing transparency onto white and scaling 16-bit and
    32-bit data by their maximum."""
    if img.mode.startswith("I;16") or img.mode in ("I", "F"):
        a = np.asarray(img, dtype=np.float32)
        a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
        lo = min(0.0, float(a.min())) if a.size else 0.0
        hi = float(a.max()) - lo if a.size else 0.0
        img = Image.fromarray(((a - lo) * (255.0 / (hi or 1.0))).clip(0, 255).astype(np.uint8))
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        bg = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, img)
    return img.convert("RGB")


# --------------------------------------------------------------------------- folders


@dataclass
class FolderScan:
    """The entries directly in a folder, sorted by name.

    photos:  files to analyse: regular files (or links to one) with a photo extension, and
             links with a photo name that lead nowhere (so they are reported as unreadable).
    skipped: (path, reason) of every other entry, reason a key of
             :data:`REASONS`: "hidden", "is a folder", "not a regular
             file" (FIFO, socket, device, or a link to one), "unsupported format" (camera
             raw, JPEG XL, ... by extension), "not a photo (file type)", "broken link".
    """

    photos: list[Path]
    skipped: list[tuple[Path, str]]


def _skip_reason(entry: os.DirEntry) -> str | None:
    """Why a folder entry is not taken as a photo, or None when it is. Nothing is opened
    (a FIFO would block); links are followed with stat."""
    name = entry.name
    if name.startswith("."):
        return "hidden"
    photo_name = is_image_name(name)
    try:
        st = os.stat(entry.path)
    except OSError:  # a link that leads nowhere (or in a loop), or a permission problem
        if photo_name:
            return None
        return "broken link" if entry.is_symlink() else "not a photo (file type)"
    if stat.S_ISDIR(st.st_mode):
        return "is a folder"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    if photo_name:
        return None
    if os.path.splitext(name)[1].lower() in UNSUPPORTED_IMAGE_EXTENSIONS:
        return "unsupported format"
    return "not a photo (file type)"


def scan_folder(folder: str | Path) -> FolderScan:
    """Sort every entry directly in ``folder`` into photos and skipped-with-a-reason
    (sub-folders are not searched). Raises OSError when the folder cannot be listed."""
    folder = Path(folder)
    with os.scandir(folder) as it:
        entries = sorted(it, key=lambda e: e.name)
    photos: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for e in entries:
        why = _skip_reason(e)
        if why is None:
            photos.append(folder / e.name)
        else:
            skipped.append((folder / e.name, why))
    return FolderScan(photos, skipped)


def list_images(folder: str | Path) -> list[Path]:
    """Photo files directly in ``folder`` (by extension; hidden files, folders and special
    files skipped), sorted by name. A broken link with a photo name is listed too, so the
    caller reports it as unreadable. :func:`scan_folder` also says why the rest is skipped."""
    return scan_folder(folder).photos
