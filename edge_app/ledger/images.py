"""Photos at print resolution: one original at a time, upright, sized for its box.

Each photo is decoded from its original through the app's one guarded decode path
(:func:`edge_app.engine.decode.decode_image`: EXIF orientation applied, JPEGs DCT-scaled so a
12 MP photo is never decoded whole) straight to the pixels its box needs at ``dpi``, and
re-encoded as a baseline JPEG. Only that small JPEG (tens of KB) is kept, never the
original's pixels, so a site of any size needs memory for one original at a time (two with
:class:`PrintImages`).

Decoding the originals is most of an export's time (a 12 MP JPEG: about 30 ms even DCT-scaled;
libjpeg-turbo releases the GIL while it decodes). :class:`PrintImages` makes the print images
of the photos a document is about to draw on ``PRINT_WORKERS`` threads, up to ``PRINT_AHEAD``
photos ahead of the page that draws them: the same bytes :func:`print_image` gives, in less
time. The PDF and the XLSX both use it.

A photo whose source keeps **print previews** (the device's store keeps a camera original's
1/8 and 1/4 scales from ingest, :func:`edge_app.store.photos.print_preview`) is printed from
the smallest that is at least as large as the box needs: as it is when it is exactly the
print size (a 12 MP photo in a 4-up box at 1/8, on the PDF's cover at 1/4), else shrunk from
it (a row box from the 1/8, a 2-up box from the 1/4). The original is decoded only for a box
no preview can fill, for a photo without previews, or when the preview cannot be read. A
200-spot ledger of 12 MP originals then decodes none of them, in any layout.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import math
import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterable

import numpy as np
from PIL import Image

from ..engine.decode import ImageError, decode_image, read_jpeg_header
from .model import LedgerPhoto

#: Print resolution of the photos in the ledger (dots per inch at their printed size).
PRINT_DPI = 200
#: The least print resolution: an original whose 1/8 scale (libjpeg-turbo's cheapest decode,
#: the DC coefficients only: 26 ms for a 12 MP JPEG, 32 ms at 1/4), else its 1/4 scale, gives
#: between this and :data:`PRINT_DPI` in its box is printed at that scale as decoded
#: (:func:`print_side`): a 12 MP photo in a 4-up box is 500 px, not 1/4 scale resampled to
#: 713 px: 140 dpi in the PDF's box (90.6 mm), 138 dpi in the XLSX's cell (92.3 mm); on the
#: PDF's cover (140 mm) it is its 1/4 scale, 1000 px (181 dpi). Those are also the sizes of
#: the store's print previews, so neither decodes the original.
MIN_PRINT_DPI = 135
#: The scales (1/n) a photo may print at as decoded (:func:`print_side`), the smallest first:
#: those of the store's print previews, and libjpeg-turbo's cheapest decodes.
DCT_SCALES = (8, 4)
#: JPEG quality of the re-encoded photos.
JPEG_QUALITY = 85

MM_PER_INCH = 25.4
#: Threads making print images ahead of the page (at most the CPUs): two originals decoded at once.
PRINT_WORKERS = 2
#: Print images made or waiting at once: small JPEGs once made (20 to 40 KB), so the threads
#: may run half a second ahead (while the PDF loads its fonts and draws its cover and map).
PRINT_AHEAD = 32
#: Print images handed out between two returns of freed heap memory to the system
#: (:func:`trim_heap`).
TRIM_EVERY = 32


@dataclass
class PrintImage:
    """A photo ready to place: ``jpeg`` bytes of ``px`` (w, h) pixels, to be drawn at ``size``
    (w, h) in the caller's unit, centred in its box."""

    jpeg: bytes
    px: tuple[int, int]
    size: tuple[float, float]


def fit(src_w: float, src_h: float, box_w: float, box_h: float) -> tuple[float, float]:
    """The largest (w, h) with the source's aspect ratio inside the box."""
    s = min(box_w / src_w, box_h / src_h)
    return src_w * s, src_h * s


def print_side(src_side: int, printed_mm: float, dpi: int = PRINT_DPI, min_dpi: int = MIN_PRINT_DPI) -> int:
    """The long side (pixels) of a photo printed ``printed_mm`` long from an original whose
    long side is ``src_side`` pixels: the original's 1/8, else 1/4 scale
    (:data:`DCT_SCALES`) when that gives between ``min_dpi`` and ``dpi`` (decoded at that
    scale, not resampled), else ``dpi``'s."""
    most = max(16, math.ceil(printed_mm / MM_PER_INCH * dpi))
    least = math.ceil(printed_mm / MM_PER_INCH * min_dpi)
    for n in DCT_SCALES:
        if least <= math.ceil(src_side / n) < most:
            return math.ceil(src_side / n)
    return most


def _side_in_box(w: int, h: int, box_w_mm: float, box_h_mm: float, dpi: int) -> int:
    """The long side (pixels) of the print image of a ``w`` x ``h`` original fitted in the box."""
    fw, fh = fit(w, h, box_w_mm, box_h_mm)
    return print_side(max(w, h), max(fw, fh), dpi)


def read_preview(photo: LedgerPhoto, box_w_mm: float, box_h_mm: float, dpi: int = PRINT_DPI) -> bytes | None:
    """The bytes of the smallest print preview of the photo that fills its box at ``dpi``, read
    from its source (on the calling thread), or None (no preview that large, or the original's
    size is unknown)."""
    if photo.preview is None or not photo.width or not photo.height:
        return None
    return photo.load_preview(_side_in_box(photo.width, photo.height, box_w_mm, box_h_mm, dpi))


def print_image(photo: LedgerPhoto, box_w_mm: float, box_h_mm: float, dpi: int = PRINT_DPI,
                quality: int = JPEG_QUALITY) -> PrintImage:
    """The photo fitted into a box of ``box_w_mm`` x ``box_h_mm``, at ``dpi`` or at the
    original's 1/8 or 1/4 scale when that gives at least :data:`MIN_PRINT_DPI`
    (:func:`print_side`; never upscaled): from a print preview when one is large enough, else
    from the original. Raises ImageError when the original is needed and cannot be read."""
    return make_print_image(photo, box_w_mm, box_h_mm, read_preview(photo, box_w_mm, box_h_mm, dpi), dpi, quality)


def make_print_image(photo: LedgerPhoto, box_w_mm: float, box_h_mm: float, preview: bytes | None,
                     dpi: int = PRINT_DPI, quality: int = JPEG_QUALITY) -> PrintImage:
    """:func:`print_image` with the photo's print preview already read (``preview``: JPEG bytes,
    :func:`read_preview`'s, or None), so that threads need no handle on the photo's source."""
    w, h = photo.width, photo.height
    if not w or not h:  # size unknown (head-office records without it): decode to learn it
        probe = decode_image(photo.path, 64, min_side=1)
        w, h = probe.full_size
    side = _side_in_box(w, h, box_w_mm, box_h_mm, dpi)
    if preview is not None:
        made = _from_preview(preview, side, box_w_mm, box_h_mm, dpi, quality)
        if made is not None:
            return made
    dec = decode_image(photo.path, side, min_side=1)
    return _encoded(dec.rgb, box_w_mm, box_h_mm, dpi, quality)


def _encoded(rgb: np.ndarray, box_w_mm: float, box_h_mm: float, dpi: int, quality: int) -> PrintImage:
    """uint8 [h, w, 3] as a baseline JPEG placed in the box (its own aspect ratio is the truth)."""
    ih, iw = rgb.shape[:2]
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality, dpi=(dpi, dpi))
    return PrintImage(buf.getvalue(), (iw, ih), fit(iw, ih, box_w_mm, box_h_mm))


def _from_preview(jpeg: bytes, side: int, box_w_mm: float, box_h_mm: float, dpi: int,
                  quality: int) -> PrintImage | None:
    """The print image made from a print preview: its own bytes when its long side is exactly
    ``side``, else shrunk to ``side`` through the app's one decode path; None when it is
    smaller (the original is needed) or unreadable."""
    iw, ih = read_jpeg_header(jpeg).size
    if max(iw, ih) < side:
        return None
    if max(iw, ih) == side:
        return PrintImage(jpeg, (iw, ih), fit(iw, ih, box_w_mm, box_h_mm))
    try:
        rgb = decode_image(jpeg, side, min_side=1).rgb
    except ImageError:
        return None
    return _encoded(rgb, box_w_mm, box_h_mm, dpi, quality)


def _load_trim():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None


_MALLOC_TRIM = _load_trim()


def trim_heap() -> bool:
    """Give the heap memory freed since the last call back to the system (glibc's
    ``malloc_trim``, every thread's arena); False where there is no such call.

    The originals and previews decoded for print images (a few MB each, on two threads)
    are freed at once, but glibc keeps the freed blocks in each thread's arena, scattered
    between the small objects the document keeps: a 200-spot 2-up PDF then held about
    30 MB more at its peak than it used."""
    if _MALLOC_TRIM is None:
        return False
    _MALLOC_TRIM(0)
    return True


def _key(photo: LedgerPhoto, box_w_mm: float, box_h_mm: float) -> tuple:
    return photo.sha256, str(photo.path), round(box_w_mm, 6), round(box_h_mm, 6)


class PrintImages:
    """:func:`print_image` of the photos a writer will ask for, made ahead on threads.

    ``plan``: (photo, box w, box h) in the order the writer will ask (:meth:`get`); up to
    ``ahead`` of them (:data:`PRINT_AHEAD`) are made or waiting at once (memory: ``workers``
    originals being decoded, the rest small JPEGs). :meth:`get` of a planned photo takes the
    one made ahead (raising what :func:`print_image` raised); any other, or a photo whose box
    turned out different (a card that gave its photo less room), is made there and then; photos
    of the plan passed over are dropped. The bytes are :func:`print_image`'s in every case.
    ``workers``: :data:`PRINT_WORKERS` by default; 0: nothing ahead. Use as a context
    manager (the threads end with it)."""

    def __init__(self, plan: Iterable[tuple[LedgerPhoto, float, float]], workers: int | None = None,
                 ahead: int | None = None, dpi: int = PRINT_DPI, quality: int = JPEG_QUALITY):
        self.dpi, self.quality = dpi, quality
        workers = PRINT_WORKERS if workers is None else workers
        self.workers = max(0, min(workers, os.cpu_count() or 1))
        self.ahead = ahead if ahead is not None else PRINT_AHEAD
        self._plan = deque((_key(p, w, h), p, w, h) for p, w, h in plan) if self.workers else deque()
        self._made: deque[tuple[tuple, Future]] = deque()  # in the plan's order
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="print-image") if self.workers else None
        self.hits = self.misses = 0
        self._top_up()

    def _top_up(self) -> None:
        while self._pool is not None and self._plan and len(self._made) < self.ahead:
            key, p, w, h = self._plan.popleft()
            preview = read_preview(p, w, h, self.dpi)  # read here, not on a thread
            self._made.append((key, self._pool.submit(make_print_image, p, w, h, preview, self.dpi, self.quality)))

    def get(self, photo: LedgerPhoto, box_w_mm: float, box_h_mm: float) -> PrintImage:
        if (self.hits + self.misses + 1) % TRIM_EVERY == 0:
            trim_heap()
        key = _key(photo, box_w_mm, box_h_mm)
        if any(k == key for k, _ in self._made):
            while True:  # photos of the plan before this one were passed over
                k, fut = self._made.popleft()
                if k == key:
                    break
                fut.cancel()
            self._top_up()
            self.hits += 1
            return fut.result()
        self.misses += 1
        return print_image(photo, box_w_mm, box_h_mm, self.dpi, self.quality)

    def close(self) -> None:
        self._plan.clear()
        for _, fut in self._made:
            fut.cancel()
        self._made.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> "PrintImages":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = ["PrintImage", "PrintImages", "print_image", "make_print_image", "print_side", "fit", "PRINT_DPI", "MIN_PRINT_DPI",
           "PRINT_WORKERS", "PRINT_AHEAD", "JPEG_QUALITY", "ImageError"]
