"""The 위치도 (location map) of a photo ledger: each spot a numbered marker placed by its
photos' GPS, drawn offline (no map tiles, no network) with a north arrow and a scale bar.

    from edge_app.ledger.sitemap import layout_map
    m = layout_map(ledger, box=(10, 30, 190, 150))   # None when no spot has GPS
    m.markers[0].number, m.markers[0].anchor, m.markers[0].label   # mm on the page
    m.scale_bar.metres, m.scale_bar.length                           # e.g. 50 m, 37.5 mm

Only geometry is computed here (millimetres on the page, y down); :mod:`.pdf` draws it with
fpdf2 and :func:`render_png` with Pillow (the XLSX's sheet), so both show the same map.

- A spot's place is the median latitude and longitude of its photos that carry GPS
  (a stray fix of one photo does not move it); a spot without any is listed as
  "위치 정보 없음".
- Projection: local equirectangular around the middle of the spots (x = R·Δλ·cos φ0,
  y = R·Δφ), north up; over a site (a few km at most) its error is far below a GPS fix's.
  Scaled to fit the map box with margins, at least :data:`MIN_EXTENT_M` across, so one spot
  or spots a few metres apart are not blown up.
- The scale bar is a round length (1, 2 or 5 × 10^k m) of at most a quarter of the box.
- Markers close together are pushed apart (:func:`spread_labels`) until no two overlap;
  a marker moved off its place keeps a dot there and a leader line to it.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .model import Ledger, LedgerSpot

EARTH_R = 6371008.8          # mean Earth radius, m
MIN_EXTENT_M = 40.0          # the least width / height the map shows, m
MARKER_R = 3.2               # a numbered marker's radius, mm
MARKER_GAP = 0.6             # the least gap between two markers, mm
EDGE = 8.0                   # markers' least distance from the box's edge, mm
NORTH_W = 16.0               # the top-right corner kept for the north arrow, mm
BAR_H = 14.0                 # the bottom strip kept for the scale bar, mm


@dataclass(frozen=True)
class Located:
    """A spot and its place: the median of its photos' GPS (``gps_photos`` of them)."""

    spot: LedgerSpot
    lat: float
    lon: float
    gps_photos: int


@dataclass
class Marker:
    """A spot on the map: ``anchor`` its place, ``label`` the centre of its numbered circle
    (mm); ``moved``: the circle was pushed off its place (a dot and a leader line show it)."""

    number: int
    spot_id: int
    anchor: tuple[float, float]
    label: tuple[float, float]

    @property
    def moved(self) -> bool:
        return math.dist(self.anchor, self.label) > 0.3


@dataclass(frozen=True)
class ScaleBar:
    x: float          # left end, mm
    y: float          # the bar's top, mm
    length: float     # mm on the page
    metres: float     # what that length is on the ground

    @property
    def text(self) -> str:
        m = self.metres
        return f"{m / 1000:g} km" if m >= 1000 else f"{m:g} m"


@dataclass(frozen=True)
class NorthArrow:
    x: float          # the arrow's axis, mm
    top: float        # its tip
    height: float


@dataclass
class SiteMap:
    box: tuple[float, float, float, float]       # x, y, w, h (mm)
    lat0: float
    lon0: float
    mm_per_m: float
    centre_m: tuple[float, float]                # the local metres at the box's fit centre
    fit_centre: tuple[float, float]              # that point on the page (mm)
    markers: list[Marker]
    located: list[Located]
    without: list[LedgerSpot]                    # spots without GPS
    scale_bar: ScaleBar
    north: NorthArrow
    grid_m: float                                # the light grid's step, m
    spots: list[LedgerSpot] = field(default_factory=list)  # every spot, in ledger order

    def metres(self, lat: float, lon: float) -> tuple[float, float]:
        """Local metres east and north of (lat0, lon0)."""
        return local_metres(lat, lon, self.lat0, self.lon0)

    def project(self, lat: float, lon: float) -> tuple[float, float]:
        """A GPS point on the page (mm, y down)."""
        e, n = self.metres(lat, lon)
        return (self.fit_centre[0] + (e - self.centre_m[0]) * self.mm_per_m,
                self.fit_centre[1] - (n - self.centre_m[1]) * self.mm_per_m)

    def grid_lines(self) -> tuple[list[float], list[float]]:
        """The light grid's x and y positions (mm) inside the box, every :attr:`grid_m`."""
        x, y, w, h = self.box
        step = self.grid_m * self.mm_per_m
        xs = [self.fit_centre[0] + k * step for k in range(-int(w / step) - 1, int(w / step) + 2)]
        ys = [self.fit_centre[1] + k * step for k in range(-int(h / step) - 1, int(h / step) + 2)]
        return [v for v in xs if x < v < x + w], [v for v in ys if y < v < y + h]


def local_metres(lat: float, lon: float, lat0: float, lon0: float) -> tuple[float, float]:
    """Equirectangular projection around (lat0, lon0): metres east and north."""
    return (EARTH_R * math.radians(lon - lon0) * math.cos(math.radians(lat0)), EARTH_R * math.radians(lat - lat0))


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The ground distance (m) between two GPS points, on the sphere."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_R * math.asin(math.sqrt(a))


def _valid(lat, lon) -> bool:
    return (lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180
            and not (lat == 0 and lon == 0))  # (0, 0): a camera's empty fix


def locate(spot: LedgerSpot) -> Located | None:
    """The spot's place: the median of its photos' GPS; None when none has any."""
    pts = [(p.lat, p.lon) for p in spot.photos if _valid(p.lat, p.lon)]
    if not pts:
        return None
    return Located(spot, statistics.median(a for a, _ in pts), statistics.median(b for _, b in pts), len(pts))


def has_gps(ledger: Ledger) -> bool:
    """Whether any spot of the ledger can be placed (the 위치도 is made only then)."""
    return any(locate(s) is not None for s in ledger.spots)


def marker_pt(number: int) -> float:
    """The size (pt) of a marker's number: three digits smaller, to stay inside its circle."""
    return 8.5 if number < 100 else 6.5


def round_length(limit: float) -> float:
    """The largest 1, 2 or 5 × 10^k not above ``limit`` (> 0)."""
    k = math.floor(math.log10(limit))
    for m in (5, 2, 1):
        if m * 10 ** k <= limit + 1e-9:
            return float(m * 10 ** k)
    return float(10 ** (k - 1) * 5)


def spread_labels(anchors: np.ndarray, r: float, bounds: tuple[float, float, float, float],
                  gap: float = MARKER_GAP, rounds: int = 1500, obstacles: np.ndarray | None = None,
                  movable: np.ndarray | None = None, start: np.ndarray | None = None) -> np.ndarray:
    """Centres for circles of radius ``r`` near ``anchors`` (n x 2, mm) so that no two overlap
    (distance >= 2r + gap) and each stays inside ``bounds`` (x0, y0, x1, y1): overlapping
    pairs are pushed apart along the line between them, each by half of what they overlap,
    so circles move no further than they must (circles on one place start as a sunflower
    around it). ``obstacles`` (m x 2): points the ``movable`` circles (a boolean mask; all by
    default) must also keep clear of by r + 1 mm (the dots of the places themselves);
    ``start``: where the circles start (their anchors by default). Deterministic."""
    n = len(anchors)
    pos = (anchors if start is None else start).astype(float).copy()
    lo, hi = np.array([bounds[0], bounds[1]]), np.array([bounds[2], bounds[3]])
    if n == 0:
        return pos
    need = 2 * r + gap
    clear = r + 1.0
    golden = math.pi * (3 - math.sqrt(5))
    spiral = np.array([[math.cos(k * golden), math.sin(k * golden)] for k in range(n)])
    movable = np.ones(n, bool) if movable is None else np.asarray(movable, bool)
    obstacles = np.zeros((0, 2)) if obstacles is None else np.unique(np.asarray(obstacles, float).round(3), axis=0)
    if start is None:  # circles on one place start as a sunflower around it, clear of it and of
        # each other (its nearest neighbours are 1.6 c apart), so a crowd is settled at once
        keys = [(round(float(a[0]), 2), round(float(a[1]), 2)) for a in anchors]
        size = {key: keys.count(key) for key in set(keys)}
        seen: dict[tuple, int] = {}
        c = max(need / 1.55, r + 1.2)
        for i, key in enumerate(keys):
            if size[key] > 1:
                k = seen[key] = seen.get(key, 0) + 1
                pos[i] += c * math.sqrt(k) * np.array([math.cos(k * golden), math.sin(k * golden)])
    pos = np.clip(pos, lo, hi)
    for k in range(rounds):
        d = pos[:, None, :] - pos[None, :, :]
        dist = np.hypot(d[..., 0], d[..., 1])
        np.fill_diagonal(dist, np.inf)
        over = dist < need - 1e-6
        od = pos[:, None, :] - obstacles[None, :, :]
        odist = np.hypot(od[..., 0], od[..., 1]) if len(obstacles) else np.zeros((n, 0))
        oover = (odist < clear - 1e-6) & movable[:, None]
        if not over.any() and not oover.any():
            break
        # coincident centres: push along each one's own spiral direction
        unit = np.where((dist < 1e-6)[..., None], (spiral[:, None, :] - spiral[None, :, :]) / 2,
                        d / np.where(dist < 1e-6, 1, dist)[..., None])
        push = np.where(over, (need - np.where(np.isinf(dist), need, dist)) / 2 + 0.05, 0.0)
        step = (unit * push[..., None]).sum(axis=1) * 0.6
        if len(obstacles):
            ounit = np.where((odist < 1e-6)[..., None], spiral[:, None, :],
                             od / np.where(odist < 1e-6, 1, odist)[..., None])
            step += (ounit * np.where(oover, clear - odist + 0.05, 0.0)[..., None]).sum(axis=1) * 0.6
        step[~movable] = 0.0
        pos = pos + step
        pos = np.clip(pos, lo, hi)
    return pos


def layout_map(ledger: Ledger, box: tuple[float, float, float, float], marker_r: float = MARKER_R) -> SiteMap | None:
    """The 위치도's geometry in ``box`` (x, y, w, h mm); None when no spot has GPS."""
    located, without = [], []
    for s in ledger.spots:
        loc = locate(s)
        (located if loc is not None else without).append(loc if loc is not None else s)
    if not located:
        return None
    x, y, w, h = box
    lats, lons = [p.lat for p in located], [p.lon for p in located]
    lat0, lon0 = (min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2
    pts = [local_metres(p.lat, p.lon, lat0, lon0) for p in located]
    ext_e = max(MIN_EXTENT_M, max(e for e, _ in pts) - min(e for e, _ in pts))
    ext_n = max(MIN_EXTENT_M, max(n for _, n in pts) - min(n for _, n in pts))
    # the area markers are fitted into: the box less its edge, the north arrow's column, the scale bar's strip
    fx0, fy0, fx1, fy1 = x + EDGE, y + EDGE, x + w - max(EDGE, NORTH_W), y + h - max(EDGE, BAR_H)
    mm_per_m = min((fx1 - fx0) / ext_e, (fy1 - fy0) / ext_n)
    centre_m = ((max(e for e, _ in pts) + min(e for e, _ in pts)) / 2, (max(n for _, n in pts) + min(n for _, n in pts)) / 2)
    fit_centre = ((fx0 + fx1) / 2, (fy0 + fy1) / 2)
    anchors = np.array([(fit_centre[0] + (e - centre_m[0]) * mm_per_m, fit_centre[1] - (n - centre_m[1]) * mm_per_m)
                        for e, n in pts])
    bounds = (x + marker_r + 1, y + marker_r + 1, x + w - marker_r - 1, y + h - marker_r - 1)
    labels = spread_labels(anchors, marker_r, bounds)
    moved = np.hypot(*(labels - anchors).T) > 0.3
    if moved.any():  # markers pushed off their places: keep those places' dots in sight as well
        labels = spread_labels(anchors, marker_r, bounds, obstacles=anchors[moved], movable=moved, start=labels)
    markers = [Marker(p.spot.number, p.spot.id, (float(a[0]), float(a[1])), (float(b[0]), float(b[1])))
               for p, a, b in zip(located, anchors, labels)]
    metres = round_length(w / 4 / mm_per_m)
    bar = ScaleBar(x + 6.0, y + h - 9.0, metres * mm_per_m, metres)
    north = NorthArrow(x + w - NORTH_W / 2, y + 8.0, 12.0)
    return SiteMap(box=box, lat0=lat0, lon0=lon0, mm_per_m=mm_per_m, centre_m=centre_m, fit_centre=fit_centre,
                   markers=markers, located=located, without=without, scale_bar=bar, north=north,
                   grid_m=metres / 2 if metres / 2 * mm_per_m >= 8 else metres, spots=list(ledger.spots))


def legend(ledger: Ledger) -> list[tuple[int, str, str, str, bool]]:
    """The legend under the map, one line per spot in ledger order: (번호, 위치, 좌표 "37.56650,
    126.97800" or "위치 정보 없음", 사진 수 "3장" / "3장 (GPS 2장)", whether it has GPS)."""
    out = []
    for sp in ledger.spots:
        p, n = locate(sp), len(sp.photos)
        if p is None:
            out.append((sp.number, sp.location, ledger.label("map_none"), ledger.label("map_photos_value", n=n), False))
            continue
        count = (ledger.label("map_photos_value", n=n) if p.gps_photos == n
                 else ledger.label("map_photos_some", n=n, g=p.gps_photos))
        out.append((sp.number, sp.location, f"{p.lat:.5f}, {p.lon:.5f}", count, True))
    return out


# --------------------------------------------------------------------------- Pillow (the XLSX's image)

MAP_INK = (164, 22, 26)       # markers' ring and leader lines
GRID_INK = (225, 228, 222)
FRAME_INK = (90, 90, 90)


def render_png(m: SiteMap, path: str | Path, font_path: str | Path, bold_path: str | Path, dpi: int = 150) -> tuple[int, int]:
    """Draw the map (its box only: frame, grid, markers, north arrow, scale bar) as a PNG
    at ``dpi``; returns its size in pixels. The same drawing as the PDF's."""
    from PIL import Image, ImageDraw, ImageFont

    bx, by, bw, bh = m.box
    s = dpi / 25.4
    size = (round(bw * s), round(bh * s))
    img = Image.new("RGB", size, "white")
    dr = ImageDraw.Draw(img)

    def px(p):
        return ((p[0] - bx) * s, (p[1] - by) * s)

    def font(pt, bold=False):
        return ImageFont.truetype(str(bold_path if bold else font_path), max(6, round(pt / 72 * dpi)))

    xs, ys = m.grid_lines()
    for gx in xs:
        dr.line([px((gx, by)), px((gx, by + bh))], fill=GRID_INK, width=1)
    for gy in ys:
        dr.line([px((bx, gy)), px((bx + bw, gy))], fill=GRID_INK, width=1)
    dr.rectangle([0, 0, size[0] - 1, size[1] - 1], outline=FRAME_INK, width=2)
    r = MARKER_R * s
    for mk in m.markers:
        if mk.moved:
            a, b = px(mk.anchor), px(mk.label)
            dr.line([a, b], fill=MAP_INK, width=max(1, round(0.3 * s)))
            dr.ellipse([a[0] - 0.8 * s, a[1] - 0.8 * s, a[0] + 0.8 * s, a[1] + 0.8 * s], fill=MAP_INK)
    for mk in m.markers:
        c = px(mk.label)
        dr.ellipse([c[0] - r, c[1] - r, c[0] + r, c[1] + r], fill="white", outline=MAP_INK, width=max(2, round(0.45 * s)))
        dr.text(c, str(mk.number), fill="black", font=font(marker_pt(mk.number), bold=True), anchor="mm")
    n = m.north
    tip, base = px((n.x, n.top)), px((n.x, n.top + n.height))
    half = 2.6 * s
    dr.polygon([tip, (base[0] - half, base[1]), (base[0], base[1] - 0.3 * n.height * s)], fill="black")
    dr.polygon([tip, (base[0] + half, base[1]), (base[0], base[1] - 0.3 * n.height * s)], fill="white", outline="black")
    dr.text((tip[0], tip[1] - 1.0 * s), "N", fill="black", font=font(9, True), anchor="mb")
    sb = m.scale_bar
    x0, y0 = px((sb.x, sb.y))
    seg = sb.length * s / 4
    for k in range(4):
        dr.rectangle([x0 + k * seg, y0, x0 + (k + 1) * seg, y0 + 1.6 * s], fill="black" if k % 2 == 0 else "white",
                     outline="black")
    dr.text((x0, y0 + 2.2 * s), "0", fill="black", font=font(7), anchor="mt")
    dr.text((x0 + sb.length * s, y0 + 2.2 * s), sb.text, fill="black", font=font(7), anchor="mt")
    img.save(str(path), "PNG")
    return size
