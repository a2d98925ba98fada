"""Real JPEG files of synthetic spots for the site-app tests (no eval data needed)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image

from scenes import views_of


def exif(when: datetime | None = None, gps: tuple[float, float] | None = None) -> bytes:
    ex = Image.Exif()
    if when is not None:
        s = when.strftime("%Y:%m:%d %H:%M:%S")
        ex[0x0132] = s
        ex.get_ifd(0x8769)[0x9003] = s
    if gps is not None:
        g = ex.get_ifd(0x8825)
        g[1], g[2] = "N", _dms(abs(gps[0]))
        g[3], g[4] = "E", _dms(abs(gps[1]))
    return ex.tobytes()


def _dms(deg: float) -> tuple[float, float, float]:
    """Degrees as EXIF (degrees, minutes, seconds)."""
    d = int(deg)
    m = int((deg - d) * 60)
    return float(d), float(m), round((deg - d - m / 60) * 3600, 4)


def jpeg(img, when=None, gps=None, quality=90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality, exif=exif(when, gps))
    return buf.getvalue()


def spot_photos(seed: int, n: int, start: datetime | None = None, step=timedelta(minutes=1), gps=None,
                prefix: str | None = None) -> list[tuple[str, bytes]]:
    """``n`` JPEG shots of one spot (scene ``seed``), one ``step`` apart from ``start``."""
    prefix = prefix or f"spot{seed}"
    out = []
    for k, img in enumerate(views_of(seed, n)):
        when = start + k * step if start is not None else None
        out.append((f"{prefix}_{k}.jpg", jpeg(img, when, gps)))
    return out


def write(folder: Path, files: list[tuple[str, bytes]]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in files:
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    return paths
