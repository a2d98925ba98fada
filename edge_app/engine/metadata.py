"""Capture time and GPS position from a photo's EXIF, and a capture time from its file name.

Everything here is optional: photos without EXIF (screenshots, messaging apps) give
``taken_at=None`` and ``gps=None`` and still go through the rest of the pipeline. A tag
that cannot be read, or reads as something impossible (year 9999, infinite sub-seconds, a
latitude of 1000, a zero denominator), counts as absent: a :class:`PhotoMeta` only ever
holds values every later stage can use.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
from PIL import Image

EXIF_IFD = 0x8769
GPS_IFD = 0x8825
TAG_DATETIME = 0x0132
TAG_DATETIME_ORIGINAL = 0x9003
TAG_OFFSET_TIME_ORIGINAL = 0x9011
TAG_SUBSEC_ORIGINAL = 0x9291

EARTH_RADIUS_M = 6_371_008.8

#: EXIF capture times outside [1990, 2100) UTC are no capture time (a camera clock never
#: set, or a tag that reads as year 9999).
EXIF_MIN_TIME = 631_152_000.0  # 1990-01-01T00:00:00Z
EXIF_MAX_TIME = 4_102_444_800.0  # 2100-01-01T00:00:00Z
#: Any PhotoMeta time lies in the years 1-9999 (what a datetime can show).
MIN_TAKEN_AT = -62_135_596_800.0  # 0001-01-01T00:00:00Z
MAX_TAKEN_AT = 253_402_300_800.0  # 10000-01-01T00:00:00Z
#: Altitudes beyond this many metres are no altitude.
MAX_ALTITUDE_M = 100_000.0
#: A camera name is kept to this many characters (printable ones only).
MAX_CAMERA_CHARS = 64


def clean_time(t) -> float | None:
    """``t`` as float POSIX seconds when it is a finite number in the years 1-9999, else None."""
    if t is None or isinstance(t, (bool, str, bytes)):
        return None
    try:
        t = float(t)
    except (TypeError, ValueError, OverflowError):
        return None
    return t if math.isfinite(t) and MIN_TAKEN_AT <= t < MAX_TAKEN_AT else None


def clean_gps(g) -> tuple[float, float, float | None] | None:
    """(lat, lon, alt or None) when ``g`` holds a usable WGS84 position, else None
    (non-numbers, NaN or infinity, out of range, and 0,0 "no fix" are no position)."""
    if g is None or isinstance(g, (str, bytes)):
        return None
    try:
        if len(g) not in (2, 3) or any(isinstance(v, (bool, str, bytes)) for v in g):
            return None
        lat, lon = float(g[0]), float(g[1])
        alt = float(g[2]) if len(g) == 3 and g[2] is not None else None
    except (TypeError, ValueError, OverflowError, ZeroDivisionError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180:
        return None
    if lat == 0.0 and lon == 0.0:  # "null island": no fix
        return None
    if alt is not None and not (math.isfinite(alt) and abs(alt) <= MAX_ALTITUDE_M):
        alt = None
    return (lat, lon, alt)


def clean_camera(c) -> str | None:
    """A camera name that prints safely: control, format and separator characters become
    spaces, runs of spaces one, at most MAX_CAMERA_CHARS characters; None when empty."""
    if isinstance(c, (bytes, bytearray)):
        c = bytes(c).decode("utf-8", "replace")
    if not isinstance(c, str):
        return None
    c = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in c[:4 * MAX_CAMERA_CHARS])
    c = " ".join(c.split())[:MAX_CAMERA_CHARS].strip()
    return c or None


@dataclass(frozen=True)
class PhotoMeta:
    """taken_at: POSIX seconds (UTC when the offset is known, else local time read as UTC).
    gps: (latitude deg, longitude deg, altitude m or None), WGS84.
    camera: make and model, printable.

    Whatever it is given, a PhotoMeta holds only usable values (:func:`clean_time`,
    :func:`clean_gps`, :func:`clean_camera`); anything else becomes None."""

    taken_at: float | None = None
    gps: tuple[float, float, float | None] | None = None
    camera: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "taken_at", clean_time(self.taken_at))
        object.__setattr__(self, "gps", clean_gps(self.gps))
        object.__setattr__(self, "camera", clean_camera(self.camera))


_OFFSET = re.compile(r"([+-])(\d{1,2}):?(\d{2})")


def _text(v) -> str:
    if isinstance(v, (bytes, bytearray)):
        v = bytes(v).decode("ascii", "replace")
    return str(v).strip().rstrip("\x00").strip()


def _parse_exif_time(text, offset=None, subsec=None) -> float | None:
    if not text:
        return None
    try:
        text = _text(text)
    except Exception:  # noqa: BLE001 - a tag of any type
        return None
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
            m = _OFFSET.fullmatch(_text(offset))
        except Exception:  # noqa: BLE001
            m = None
        if m and int(m.group(2)) < 24 and int(m.group(3)) < 60:
            sign = -1 if m.group(1) == "-" else 1
            tz = timezone(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3))))
    try:
        t = dt.replace(tzinfo=tz).timestamp()
    except (OverflowError, ValueError, OSError):
        return None
    if subsec:
        try:
            digits = _text(subsec)
        except Exception:  # noqa: BLE001
            digits = ""
        if digits.isascii() and digits.isdigit():
            digits = digits[:9]
            t += int(digits) / 10 ** len(digits)
    return t if EXIF_MIN_TIME <= t < EXIF_MAX_TIME else None


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
        if _text(g.get(1, "N")).upper().startswith("S"):
            lat = -lat
        if _text(g.get(3, "E")).upper().startswith("W"):
            lon = -lon
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError, OverflowError, AttributeError):
        return None
    alt = None
    try:
        if 6 in g:
            alt = _rational(g[6])
            if g.get(5) in (1, b"\x01"):
                alt = -alt
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, IndexError):
        alt = None
    return clean_gps((lat, lon, alt))


def read_meta(exif: Image.Exif) -> PhotoMeta:
    """Capture time and GPS from an already-read EXIF block (see :func:`edge_app.engine.decode.decode_image`).

    Never raises and never prints: a tag that cannot be read, or reads as something
    impossible, is absent, and what the EXIF parser warns about is dropped."""
    from .decode import capture_warnings

    with capture_warnings([]):
        return _read_meta(exif)


def _read_meta(exif: Image.Exif) -> PhotoMeta:
    try:
        sub = exif.get_ifd(EXIF_IFD)
    except Exception:  # noqa: BLE001 - malformed IFD pointers are common
        sub = {}
    try:
        taken = _parse_exif_time(
            sub.get(TAG_DATETIME_ORIGINAL), sub.get(TAG_OFFSET_TIME_ORIGINAL), sub.get(TAG_SUBSEC_ORIGINAL)
        )
    except Exception:  # noqa: BLE001
        taken = None
    if taken is None:
        try:
            taken = _parse_exif_time(exif.get(TAG_DATETIME))
        except Exception:  # noqa: BLE001
            taken = None
    try:
        gps = _parse_gps(exif.get_ifd(GPS_IFD))
    except Exception:  # noqa: BLE001
        gps = None
    try:
        make, model = exif.get(0x010F), exif.get(0x0110)
        camera = " ".join(_text(x) for x in (make, model) if x) or None
    except Exception:  # noqa: BLE001
        camera = None
    return PhotoMeta(taken_at=taken, gps=gps, camera=camera)


# --------------------------------------------------------------------------- time from a file name

#: Names phones, messengers and screenshot tools give their files, with the time in them
#: (tried in this order; the first that gives a possible time wins):
#:
#: - ``IMG_20231110_084214.jpg``, ``IMG_20231110_084214_975.jpg``, ``20231110_084214.jpg``
#:   (Samsung), ``PXL_20231110_084214123.jpg`` (Pixel), ``KakaoTalk_20240305_101522123.jpg``,
#:   ``Screenshot_20240305-101522.png``, ``VID_`` / ``MVIMG_`` / ``PANO_`` alike;
#: - ``Screenshot_2024-03-05-10-15-22-123_com.app.png``, ``KakaoTalk_Photo_2024-03-05-10-15-22.jpeg``,
#:   ``photo_2024-03-05_10-15-22.jpg`` (Telegram), ``2024-03-05 10.15.22.jpg``,
#:   ``Screenshot 2024-03-05 at 3.15.22 PM.png``, ``스크린샷 2024-03-05 오후 3.15.22.png`` (macOS);
#: - ``IMG-20231110-WA0009.jpg`` (WhatsApp): the day only.
_NAME_COMPACT = re.compile(r"(?<![0-9])(\d{4})(\d{2})(\d{2})[_-](\d{2})(\d{2})(\d{2})\d{0,3}(?![0-9])")
_NAME_DASHED = re.compile(
    r"(?<![0-9])(\d{4})-(\d{2})-(\d{2})(?:[-_T]|\s+(?:at\s+)?)(?:(오전|오후)\s*)?"
    r"(\d{1,2})[-.:_]?(\d{2})[-.:_]?(\d{2})(?![0-9])(?:\s*([AaPp][Mm])(?![A-Za-z]))?")
_NAME_DAY = re.compile(r"(?<![0-9A-Za-z])(?:IMG|VID|AUD|PTT|DOC|STK)-(\d{4})(\d{2})(\d{2})-WA\d+", re.IGNORECASE)
#: A time read from a name is taken only in [NAME_MIN_YEAR, now + NAME_FUTURE_S].
NAME_MIN_YEAR = 2000
NAME_FUTURE_S = 86_400.0


def _name_datetime(y, mo, d, h=0, mi=0, s=0, half=None) -> datetime | None:
    y, mo, d, h, mi, s = (int(v) for v in (y, mo, d, h, mi, s))
    if half:  # 12-hour clock: AM / PM, 오전 / 오후
        if not 1 <= h <= 12:
            return None
        h = h % 12 + (12 if half.lower() in ("pm", "오후") else 0)
    try:
        return datetime(y, mo, d, h, mi, s)
    except ValueError:  # month 13, 30 February, hour 25, second 60
        return None


def name_time(name, now: datetime | None = None) -> tuple[datetime, bool] | None:
    """(capture time, whether the time of day is known) read from a photo's file name, or
    None when the name holds no possible time (see the patterns above). The time is the
    phone's local clock, as the name writes it. A date before :data:`NAME_MIN_YEAR` or more
    than a day after ``now`` (default: this computer's clock) is no time: a counter that
    looks like a date is not taken."""
    if not isinstance(name, str) or not name:
        return None
    base = re.split(r"[/\\]", unicodedata.normalize("NFC", name))[-1][:255]
    limit = (now or datetime.now()) + timedelta(seconds=NAME_FUTURE_S)
    found: list[tuple[datetime | None, bool]] = []
    for m in _NAME_COMPACT.finditer(base):
        found.append((_name_datetime(*m.groups()), True))
    for m in _NAME_DASHED.finditer(base):
        y, mo, d, ko_half, h, mi, s, en_half = m.groups()
        if len(h) == 1 and not (ko_half or en_half) and base[m.end(5)] not in "-.:_":
            continue  # "2024-03-05-91522": not a clock
        found.append((_name_datetime(y, mo, d, h, mi, s, ko_half or en_half), True))
    for m in _NAME_DAY.finditer(base):
        found.append((_name_datetime(*m.groups()), False))
    for dt, timed in found:
        if dt is not None and dt.year >= NAME_MIN_YEAR and dt <= limit:
            return dt, timed
    return None


def time_from_name(name, now: datetime | None = None) -> datetime | None:
    """The capture time a file name carries (:func:`name_time`), or None; a name that holds
    only the day (WhatsApp's ``IMG-20231110-WA0009.jpg``) gives that day at 00:00."""
    found = name_time(name, now)
    return found[0] if found else None


def haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres between two (lat, lon) points in degrees."""
    la1, lo1, la2, lo2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def haversine_m_arrays(lat1, lon1, lat2, lon2) -> np.ndarray:
    """:func:`haversine_m` over arrays of degrees (broadcast): float64 metres, NaN where
    a coordinate is NaN (no GPS fix)."""
    la1, lo1, la2, lo2 = (np.radians(np.asarray(x, np.float64)) for x in (lat1, lon1, lat2, lon2))
    h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h)))


def _finite_time(x) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def capture_time(meta_taken_at, taken_local: str | None, name: str,
                 now: datetime | None = None) -> tuple[float | None, str | None, str | None]:
    """(taken_at, taken_local, taken_from) of a photo: its EXIF time ('exif'), else the time
    its file name carries ('file name'; 'file name date' when the name holds the day only),
    else (None, None, None). A name's time is the phone's clock, kept like an EXIF time
    without offset (local time read as UTC). ``now``: the clock a name's date must not be
    after (default: this computer's)."""
    taken_at = _finite_time(meta_taken_at)
    if taken_at is not None:
        return taken_at, taken_local, "exif"
    found = name_time(name, now)
    if found is None:
        return None, None, None
    dt, timed = found
    return (dt.replace(tzinfo=timezone.utc).timestamp(), dt.strftime("%Y-%m-%d %H:%M:%S"),
            "file name" if timed else "file name date")
