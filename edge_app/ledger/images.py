"""Photos at print resolution: one original at a time, upright, sized for its box.

Each photo is decoded from its original through the app's one guarded decode path
(:func:`edge_app.engine.decode.decode_image`: EXIF orientation applied, JPEGs DCT-scaled so a
12 MP photo is never decoded whole) straight to the pixels its box needs at ``dpi``, and
re-encoded as a baseline JPEG. Only that small JPEG (tens of KB) is kept, never the
original's pixels, so a site of any size needs memory for one original at a time.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from PIL import Image

from ..engine.decode import ImageError, decode_image
from .model import LedgerPhoto

#: Print resolution of the photos in the ledger (dots per inch at their printed size).
PRINT_DPI = 200
#: JPEG quality of the re-encoded photos.
JPEG_QUALITY = 85

MM_PER_INCH = 25.4


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


def print_image(photo: LedgerPhoto, box_w_mm: float, box_h_mm: float, dpi: int = PRINT_DPI,
                quality: int = JPEG_QUALITY) -> PrintImage:
    """The photo fitted into a box of ``box_w_mm`` x ``box_h_mm``, at ``dpi`` (never upscaled).
    Raises ImageError when the original cannot be read."""
    w, h = photo.width, photo.height
    if not w or not h:  # size unknown (head-office records without it): decode to learn it
        probe = decode_image(photo.path, 64, min_side=1)
        w, h = probe.full_size
    fw, fh = fit(w, h, box_w_mm, box_h_mm)
    side = max(16, math.ceil(max(fw, fh) / MM_PER_INCH * dpi))
    dec = decode_image(photo.path, side, min_side=1)
    rgb = dec.rgb
    ih, iw = rgb.shape[:2]
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality, dpi=(dpi, dpi))
    del dec, rgb
    fw, fh = fit(iw, ih, box_w_mm, box_h_mm)  # the decoded aspect ratio is the truth
    return PrintImage(buf.getvalue(), (iw, ih), (fw, fh))


__all__ = ["PrintImage", "print_image", "fit", "PRINT_DPI", "JPEG_QUALITY", "ImageError"]
