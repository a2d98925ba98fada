"""Drawing for the synthetic test photos, in numpy alone.

The scenes of :mod:`scenes` used to be drawn with OpenCV. OpenCV 5.1 changed how
``putText`` draws its strokes, so every scene (a quarter of their shapes are text) was a
different picture under 5.0 and 5.1, and tests that mean "the engine does X on these photos"
measured the drawing instead (issue 21: on the same bytes the engine's answer was
identical under both). Drawn here, the test photos are the same whatever OpenCV, Pillow or
onnxruntime is installed; only numpy's seeded generator is relied on.

Images are uint8 [H, W, 3] RGB arrays; coordinates are pixels, x right, y down, pixel
centres at integer coordinates. Shapes are drawn in place, without anti-aliasing.
"""

from __future__ import annotations

import numpy as np


def _box(img: np.ndarray, x0: float, y0: float, x1: float, y1: float):
    """Integer bounds of the pixels of ``img`` inside [x0, x1] x [y0, y1], and their grids."""
    h, w = img.shape[:2]
    ix0, iy0 = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
    ix1, iy1 = min(w - 1, int(np.ceil(x1))), min(h - 1, int(np.ceil(y1)))
    if ix0 > ix1 or iy0 > iy1:
        return None
    ys, xs = np.mgrid[iy0:iy1 + 1, ix0:ix1 + 1]
    return (slice(iy0, iy1 + 1), slice(ix0, ix1 + 1)), xs.astype(np.float64), ys.astype(np.float64)


def fill_rect(img: np.ndarray, x0: int, y0: int, x1: int, y1: int, colour) -> None:
    """Axis-aligned rectangle with corners (x0, y0) and (x1, y1), both included."""
    xa, xb = sorted((x0, x1))
    ya, yb = sorted((y0, y1))
    h, w = img.shape[:2]
    img[max(0, ya):min(h, yb + 1), max(0, xa):min(w, xb + 1)] = colour


def fill_ellipse(img: np.ndarray, cx: float, cy: float, ax: float, ay: float, angle_deg: float, colour) -> None:
    """Filled ellipse centred at (cx, cy) with half-axes ``ax`` (along the rotated x axis)
    and ``ay``, rotated by ``angle_deg`` degrees (clockwise on screen, as y points down)."""
    r = max(ax, ay)
    got = _box(img, cx - r, cy - r, cx + r, cy + r)
    if got is None:
        return
    win, xs, ys = got
    t = np.deg2rad(angle_deg)
    dx, dy = xs - cx, ys - cy
    u = dx * np.cos(t) + dy * np.sin(t)
    v = -dx * np.sin(t) + dy * np.cos(t)
    inside = (u / max(ax, 0.5)) ** 2 + (v / max(ay, 0.5)) ** 2 <= 1.0
    img[win][inside] = colour


def thick_line(img: np.ndarray, p0: tuple[float, float], p1: tuple[float, float], colour, thickness: float) -> None:
    """Segment p0-p1 with round ends: every pixel within ``thickness`` / 2 of it (at least
    half a pixel, so a 1 px line is unbroken)."""
    r = max(thickness / 2.0, 0.5)
    (x0, y0), (x1, y1) = p0, p1
    got = _box(img, min(x0, x1) - r, min(y0, y1) - r, max(x0, x1) + r, max(y0, y1) + r)
    if got is None:
        return
    win, xs, ys = got
    dx, dy = x1 - x0, y1 - y0
    n2 = dx * dx + dy * dy
    t = np.zeros_like(xs) if n2 == 0 else np.clip(((xs - x0) * dx + (ys - y0) * dy) / n2, 0.0, 1.0)
    d2 = (xs - x0 - t * dx) ** 2 + (ys - y0 - t * dy) ** 2
    img[win][d2 <= r * r] = colour


def _make_font(letters: int = 26, strokes: tuple[int, int] = (2, 5)) -> list[np.ndarray]:
    """A fixed stroke "font": per letter, float [S, 4] segments (x0, y0, x1, y1) on a glyph
    box 0..1 wide and -1..0 high (the baseline at y = 0, as text is drawn)."""
    rng = np.random.default_rng(2026)
    grid = np.array([(gx / 3, -gy / 4) for gx in range(4) for gy in range(5)])
    font = []
    for _ in range(letters):
        n = int(rng.integers(strokes[0], strokes[1] + 1))
        a, b = rng.integers(0, len(grid), n), rng.integers(0, len(grid), n)
        b = np.where(a == b, (b + 7) % len(grid), b)
        font.append(np.hstack([grid[a], grid[b]]))
    return font


FONT = _make_font()
#: Glyph box at scale 1 (pixels): about the size of OpenCV's Hershey simplex letters.
GLYPH_W, GLYPH_H = 20.0, 22.0


def text_strokes(img: np.ndarray, codes, x: float, y: float, scale: float, colour, thickness: int = 2) -> None:
    """Letters ``codes`` (ints 0..25) from baseline origin (x, y), each GLYPH_W * scale wide."""
    w, h = GLYPH_W * scale, GLYPH_H * scale
    for k, code in enumerate(codes):
        ox = x + k * w * 1.1
        for sx0, sy0, sx1, sy1 in FONT[int(code) % len(FONT)]:
            thick_line(img, (ox + sx0 * w, y + sy0 * h), (ox + sx1 * w, y + sy1 * h), colour, thickness)


def blur3(img: np.ndarray) -> np.ndarray:
    """3x3 binomial blur ([1, 2, 1] / 4 each way, mirrored border), uint8 in and out."""
    f = img.astype(np.float64)
    p = np.pad(f, ((1, 1), (0, 0), (0, 0)), mode="reflect")
    f = 0.25 * p[:-2] + 0.5 * p[1:-1] + 0.25 * p[2:]
    p = np.pad(f, ((0, 0), (1, 1), (0, 0)), mode="reflect")
    f = 0.25 * p[:, :-2] + 0.5 * p[:, 1:-1] + 0.25 * p[:, 2:]
    return np.clip(np.rint(f), 0, 255).astype(np.uint8)


def perspective_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """float64 [3, 3] homography H with H @ (src, 1) ~ (dst, 1) for four point pairs
    (float [4, 2] each)."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(np.asarray(src, np.float64), np.asarray(dst, np.float64)):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    h = np.linalg.solve(np.array(rows), np.array(rhs))
    return np.append(h, 1.0).reshape(3, 3)


def warp_perspective(img: np.ndarray, H: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 [h, w, C]: ``img`` seen through H (source -> output), bilinear, mirrored border
    (the edge pixel repeated); ``size`` = (w, h) of the output."""
    w, h = size
    ih, iw = img.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    q = np.linalg.inv(H) @ np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
    sx, sy = q[0] / q[2], q[1] / q[2]
    x0, y0 = np.floor(sx), np.floor(sy)
    fx, fy = (sx - x0)[:, None], (sy - y0)[:, None]

    def mirror(i: np.ndarray, n: int) -> np.ndarray:
        i = np.mod(i.astype(np.int64), 2 * n)
        return np.where(i >= n, 2 * n - 1 - i, i)

    src = img.astype(np.float64)
    xa, xb = mirror(x0, iw), mirror(x0 + 1, iw)
    ya, yb = mirror(y0, ih), mirror(y0 + 1, ih)
    out = ((1 - fy) * ((1 - fx) * src[ya, xa] + fx * src[ya, xb])
           + fy * ((1 - fx) * src[yb, xa] + fx * src[yb, xb]))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8).reshape(h, w, -1)
