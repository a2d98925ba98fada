"""Capture time and GPS position from a photo's EXIF.

Everything here is optional: photos without EXIF (screenshots, messaging apps) give
``taken_at=None`` and ``gps=None`` and still go through the rest of the pipeline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from PIL import Image

EXIF_IFD = 0x8769
GPS_IFD = 0x8825
TAG_DATETIME = 0x0132
TAG_DATETIME_ORIGINAL = 0x9003
TAG_OFFSET_TIME_ORIGINAL = 0x9011
TAG_SUBSEC_ORIGINAL = 0x9291

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class PhotoMeta:
    """taken_at: POSIX seconds (UTC when the offset is known, else local time read as UTC).
    gps: (latitude deg, longitude deg, altitude m or None), WGS84."""

    taken_at: float | None = None
    gps: tuple[float, float, float | None] | None = None
    camera: str | None = None


def _parse_exif_time(text, offset=None, subsec=None) -> float | None:
    if not text:
        return None
    text = str(text).strip().rstrip("\x00")
    for fmt in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y:%m:%d %H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            dt = datetime.strptime(text[:19] if "S" in fmt else text[:16], fmt)
            break
        except ValueError:
            continue
    else:
        return None
    if dt.year < 1990:  # camera clock never set
        return None
    tz = timezone.utc
    if offset:
        try:
            sign = -1 if str(offset).strip().startswith("-") else 1
            hh, mm = str(offset).strip().lstrip("+-").split(":")[:2]
            tz = timezone(sign * timedelta(hours=int(hh), minutes=int(mm)))
        except (ValueError, TypeError):
            tz = timezone.utc
    t = dt.replace(tzinfo=tz).timestamp()
    if subsec:
        try:
            t += float("0." + str(subsec).strip().rstrip("\x00"))
        except ValueError:
            pass
    return t


def _rational(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError, ZeroDivisionError):
        num, den = x
        return float(num) / float(den)


def _dms(v) -> float:
    d, m, s = (_rational(c) for c in v)
    return d + m / 60.0 + s / 3600.0


def _parse_gps(g) -> tuple[float, float, float | None] | None:
    try:
        lat, lon = _dms(g[2]), _dms(g[4])
        if str(g.get(1, "N")).upper().startswith("S"):
            lat = -lat
        if str(g.get(3, "E")).upper().startswith("W"):
            lon = -lon
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180:
        return None
    if lat == 0.0 and lon == 0.0:  # "null island": no fix
        return None
    alt = None
    try:
        if 6 in g:
            alt = _rational(g[6])
            if g.get(5) in (1, b"\x01"):
                alt = -alt
    except (TypeError, ValueError, ZeroDivisionError):
        alt = None
    return (lat, lon, alt)


def read_meta(exif: Image.Exif) -> PhotoMeta:
    """Capture time and GPS from an already-read EXIF block (see :func:`edge_app.decode.decode_image`)."""
    try:
        sub = exif.get_ifd(EXIF_IFD)
    except Exception:  # noqa: BLE001 - malformed IFD pointers are common
        sub = {}
    taken = _parse_exif_time(
        sub.get(TAG_DATETIME_ORIGINAL), sub.get(TAG_OFFSET_TIME_ORIGINAL), sub.get(TAG_SUBSEC_ORIGINAL)
    )
    if taken is None:
        taken = _parse_exif_time(exif.get(TAG_DATETIME))
    try:
        gps = _parse_gps(exif.get_ifd(GPS_IFD))
    except Exception:  # noqa: BLE001
        gps = None
    make, model = exif.get(0x010F), exif.get(0x0110)
    camera = " ".join(str(x).strip().rstrip("\x00") for x in (make, model) if x) or None
    return PhotoMeta(taken_at=taken, gps=gps, camera=camera)


def haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres between two (lat, lon) points in degrees."""
    la1, lo1, la2, lo2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
