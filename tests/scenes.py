"""Synthetic test photos: textured planar scenes seen under known homographies.

Every scene is drawn from its own seed (rectangles, ellipses, lines, text-like strokes
in random colours), so different scenes share no structure, while views of one scene
are exact perspective warps of it, optionally with a light change and an occluder.
Drawn by :mod:`raster` in numpy alone: the photos do not change with the OpenCV release
the engine runs on.
"""

from __future__ import annotations

import numpy as np

import raster


def scene(seed: int, size: tuple[int, int] = (960, 720)) -> np.ndarray:
    """uint8 [H, W, 3] RGB texture, larger than a view so warps stay inside it."""
    w, h = size
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), rng.integers(60, 200, 3), np.uint8)
    for _ in range(260):
        c = tuple(int(v) for v in rng.integers(0, 256, 3))
        kind = rng.integers(0, 4)
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        if kind == 0:
            raster.fill_rect(img, x, y, x + int(rng.integers(8, 90)), y + int(rng.integers(8, 90)), c)
        elif kind == 1:
            raster.fill_ellipse(img, x, y, int(rng.integers(4, 50)), int(rng.integers(4, 50)),
                                float(rng.uniform(0, 180)), c)
        elif kind == 2:
            raster.thick_line(img, (x, y), (x + int(rng.integers(-120, 120)), y + int(rng.integers(-120, 120))), c,
                              int(rng.integers(1, 5)))
        else:
            raster.text_strokes(img, rng.integers(0, 26, 4), x, y, float(rng.uniform(0.6, 2.0)), c)
    return raster.blur3(img)


def random_homography(rng: np.random.Generator, size: tuple[int, int], strength: float = 0.08) -> np.ndarray:
    """A mild viewpoint change: 3x3 homography moving the image corners by <= strength * size."""
    w, h = size
    src = np.float64([[0, 0], [w, 0], [w, h], [0, h]])
    dst = src + rng.uniform(-strength, strength, (4, 2)) * np.float64([w, h])
    return raster.perspective_transform(src, dst)


def view(
    img: np.ndarray,
    H: np.ndarray,
    out_size: tuple[int, int] = (640, 480),
    gain: float = 1.0,
    occluder: tuple[int, int, int, int] | None = None,
) -> np.ndarray:
    """Warp ``img`` by ``H`` into an ``out_size`` frame (centre crop), scale brightness by
    ``gain`` and paint a flat grey box ``occluder`` = (x0, y0, x1, y1) on top."""
    w, h = out_size
    ih, iw = img.shape[:2]
    shift = np.array([[1, 0, -(iw - w) / 2], [0, 1, -(ih - h) / 2], [0, 0, 1]], np.float64)
    out = raster.warp_perspective(img, shift @ H, (w, h))
    out = np.clip(out.astype(np.float32) * gain, 0, 255).astype(np.uint8)
    if occluder is not None:
        x0, y0, x1, y1 = occluder
        out[y0:y1, x0:x1] = (128, 120, 110)
    return out


def views_of(seed: int, n: int, out_size=(640, 480), strength: float = 0.06) -> list[np.ndarray]:
    """``n`` views of scene ``seed`` under random mild homographies and light changes."""
    rng = np.random.default_rng(1000 + seed)
    base = scene(seed)
    return [view(base, random_homography(rng, (base.shape[1], base.shape[0]), strength), out_size,
                 gain=float(rng.uniform(0.7, 1.2))) for _ in range(n)]


def machine_in_two_spots() -> dict[str, np.ndarray]:
    """{name: RGB}: spot A (a0, a1), spot B (b0 alone) and spot C (c0-c2); the same "machine"
    (a textured patch of a third scene) stands in a0 and in b0, so that pair matches on the
    machine alone."""
    machine = scene(99)[200:380, 300:540]

    def paste(img, x, y):
        img = img.copy()
        img[y:y + machine.shape[0], x:x + machine.shape[1]] = machine
        return img

    a, b, c = views_of(11, 2), views_of(22, 1), views_of(33, 3)
    return {"a0.jpg": paste(a[0], 200, 260), "a1.jpg": a[1], "b0.jpg": paste(b[0], 120, 240),
            "c0.jpg": c[0], "c1.jpg": c[1], "c2.jpg": c[2]}
