"""Decode a photo file into a reduced-size RGB work image.

JPEGs are decoded at reduced size through libjpeg's DCT scaling (Pillow ``draft``), which
is 4-8x faster than a full decode followed by a resize; the EXIF orientation is applied so
that the work image is upright; HEIC/HEIF decodes through ``pillow-heif`` when installed.
Small photos are never upscaled.

Every failure raises :class:`ImageError` whose ``reason`` is short and user-facing
("not an image", "truncated or corrupt", "too large", "too small", "empty file", "broken
link", ...), so a caller can list unreadable files and go on with the others.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

try:  # optional: libjpeg-turbo with DCT scaling, ~12 % faster than Pillow's JPEG path
    import simplejpeg
except Exception:  # pragma: no cover - platform without a wheel
    simplejpeg = None

try:  # optional: HEIC/HEIF from phones
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_SUPPORTED = True
except Exception:  # pragma: no cover - depends on the platform wheel
    HEIF_SUPPORTED = False

#: File name extensions treated as photos when scanning a folder.
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".heif"}
)

#: Refuse images above this many pixels (a decompression bomb, or a panorama no phone takes).
MAX_PIXELS = 250_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

#: Refuse work images with a shorter side (an icon, or a strip so thin that shrinking its
#: long side to the work size leaves a few pixel rows).
MIN_SIDE = 8


class ImageError(ValueError):
    """A file that cannot be used as a photo. ``reason`` is short and user-facing."""

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
    exif:      the PIL Exif object of the original (may be empty).
    """

    rgb: np.ndarray
    full_size: tuple[int, int]
    exif: Image.Exif

    @property
    def scale(self) -> float:
        """Work-image pixels per original pixel (<= 1)."""
        return self.rgb.shape[1] / self.full_size[0]


def is_image_name(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def read_photo_bytes(path: str | Path) -> bytes:
    """The bytes of a photo file; raises ImageError with a user-facing reason."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ImageError(path, "broken link" if Path(path).is_symlink() else "file not found") from None
    except IsADirectoryError:
        raise ImageError(path, "is a folder") from None
    except PermissionError:
        raise ImageError(path, "permission denied") from None
    except OSError as e:
        raise ImageError(path, "unreadable", str(e)) from None
    if not data:
        raise ImageError(path, "empty file")
    return data


def _oriented_size(img: Image.Image, orientation: int) -> tuple[int, int]:
    w, h = img.size
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def decode_image(source: str | Path | bytes, max_side: int = 1024, min_side: int = MIN_SIDE) -> Decoded:
    """Decode ``source`` (a path or the file's bytes) into an upright RGB work image.

    max_side: the long side of the returned image in pixels; smaller photos keep their size.
    min_side: refuse ("too small") a returned image with a shorter side (1 for thumbnails).
    Raises ImageError for anything that is not a readable photo.
    """
    name = source if not isinstance(source, (bytes, bytearray)) else "<bytes>"
    data = source if isinstance(source, (bytes, bytearray)) else read_photo_bytes(source)
    if not data:
        raise ImageError(name, "empty file")
    try:
        with io.BytesIO(data) as fh:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img = Image.open(fh)
                exif = img.getexif()
                orientation = int(exif.get(0x0112, 1) or 1)
                full = _oriented_size(img, orientation)
                if full[0] * full[1] > MAX_PIXELS:
                    raise ImageError(name, "too large", f"{full[0]}x{full[1]} pixels")
                fast = _decode_jpeg(data, img, max_side) if img.format == "JPEG" else None
                if fast is None:
                    rgb = _decode_pillow(img, max_side)
                else:
                    rgb = _fit(_orient(fast, orientation), max_side)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(name, "not an image", "unrecognised file format") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(name, "too large", str(e)) from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(name, "truncated or corrupt", str(e)) from None
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ImageError(name, "not an image", f"unusable shape {rgb.shape}")
    if min(rgb.shape[:2]) < min_side:
        raise ImageError(name, "too small", f"{full[0]}x{full[1]} pixels")
    return Decoded(rgb=rgb, full_size=full, exif=exif)


def _decode_pillow(img: Image.Image, max_side: int) -> np.ndarray:
    """Any format Pillow reads: DCT-scaled for JPEG, upright, RGB, long side <= max_side."""
    if img.format == "JPEG" and max(img.size) > max_side:
        # DCT scaling (1/2, 1/4, 1/8): decode straight to >= the target size.
        s = max_side / max(img.size)
        img.draft("RGB", (math.ceil(img.size[0] * s), math.ceil(img.size[1] * s)))
    img.load()
    img = ImageOps.exif_transpose(img)
    if img.mode != "RGB":
        img = _to_rgb(img)
    if max(img.size) > max_side:
        s = max_side / max(img.size)
        size = (max(1, round(img.size[0] * s)), max(1, round(img.size[1] * s)))
        img = img.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(img, dtype=np.uint8)


def _decode_jpeg(data: bytes, img: Image.Image, max_side: int) -> np.ndarray | None:
    """uint8 [h, w, 3] RGB straight from libjpeg-turbo at the smallest DCT scale that keeps
    the long side >= max_side (stored orientation); None when simplejpeg is missing or the
    file uses something it does not decode (CMYK, 12-bit), so Pillow takes over. A corrupt
    or truncated stream raises ValueError (strict mode)."""
    if simplejpeg is None or img.mode not in ("RGB", "L"):
        return None
    w, h = img.size
    s = min(1.0, max_side / max(w, h))
    try:
        return simplejpeg.decode_jpeg(data, "RGB", min_width=math.ceil(w * s), min_height=math.ceil(h * s))
    except ValueError:
        raise
    except Exception:  # noqa: BLE001 - unsupported variant: let Pillow try
        return None


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
    """Convert any mode to RGB, compositing transparency onto white and scaling 16-bit data."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(img, dtype=np.float32)
        hi = float(a.max()) or 1.0
        img = Image.fromarray((a * (255.0 / hi)).clip(0, 255).astype(np.uint8))
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        bg = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, img)
    return img.convert("RGB")
