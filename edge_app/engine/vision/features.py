"""Local features: keypoints and binary (ORB) or float (RootSIFT) descriptors.

Keypoints that fall on transient objects (the mask from :mod:`edge_app.engine.vision.segment`)
are dropped, so that the same excavator in two different spots cannot make them match.
Grey images are contrast-normalised with CLAHE first, which helps under light change.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..config import Settings


@dataclass
class LocalFeatures:
    """Keypoints of one work image.

    Keypoints are sorted by detector score, best first, so ``head(k)`` keeps the k best.

    xy:    float32 [N, 2], pixel coordinates (x right, y down) in the work image.
    desc:  uint8 [N, 32] for ORB, float32 [N, 128] for RootSIFT, float32 [N, 64] for XFeat
           (float descriptors are L2-normalised).
    size:  (width, height) of the work image in pixels.
    kind:  "orb", "sift" or "xfeat".
    """

    xy: np.ndarray
    desc: np.ndarray
    size: tuple[int, int]
    kind: str

    def __len__(self) -> int:
        return int(self.xy.shape[0])

    def head(self, k: int) -> "LocalFeatures":
        """The ``k`` best keypoints (a view, no copy)."""
        if k >= len(self):
            return self
        return LocalFeatures(self.xy[:k], self.desc[:k], self.size, self.kind)


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3] RGB -> uint8 [H, W] luma."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def normalise_contrast(gray: np.ndarray, clip: float = 2.0, tiles: int = 8) -> np.ndarray:
    """CLAHE on a uint8 [H, W] image (local histogram equalisation, light-change robust).

    A new CLAHE object per call: they hold buffers and must not be shared by threads."""
    return cv2.createCLAHE(clipLimit=clip, tileGridSize=(tiles, tiles)).apply(gray)


def _keep_static(xy: np.ndarray, mask: np.ndarray | None, size: tuple[int, int], thr: float) -> np.ndarray:
    """Boolean [N]: keypoints whose transient probability (mask resized to the image) is < thr."""
    if mask is None or len(xy) == 0:
        return np.ones(len(xy), bool)
    w, h = size
    mh, mw = mask.shape[:2]
    u = np.clip((xy[:, 0] * (mw / w)).astype(int), 0, mw - 1)
    v = np.clip((xy[:, 1] * (mh / h)).astype(int), 0, mh - 1)
    return mask[v, u] < thr


def extract_features(
    gray: np.ndarray,
    mask: np.ndarray | None = None,
    method: str = "orb",
    max_keypoints: int = 1000,
    clahe: bool = True,
    mask_threshold: float = 0.5,
) -> LocalFeatures:
    """Detect and describe keypoints on a grey work image.

    gray:  uint8 [H, W].
    mask:  float32 [h, w] in [0, 1], probability of a transient object (any resolution), or None.
    method: "orb" (fast, binary) or "sift" (RootSIFT, slower, more robust).
    """
    h, w = gray.shape[:2]
    img = normalise_contrast(gray) if clahe else gray
    if method == "orb":
        det = cv2.ORB_create(nfeatures=max_keypoints, scaleFactor=1.2, nlevels=8, edgeThreshold=19,
                             patchSize=19, fastThreshold=10)
        kps, desc = det.detectAndCompute(img, None)
        dim, dtype = 32, np.uint8
    elif method == "sift":
        det = cv2.SIFT_create(nfeatures=max_keypoints)
        kps, desc = det.detectAndCompute(img, None)
        dim, dtype = 128, np.float32
        if desc is not None and len(desc):
            desc = desc / (np.abs(desc).sum(axis=1, keepdims=True) + 1e-7)
            desc = np.sqrt(desc).astype(np.float32)
    else:
        raise ValueError(f"unknown local feature method {method!r} (use 'orb' or 'sift')")
    if desc is None or not kps:
        return LocalFeatures(np.zeros((0, 2), np.float32), np.zeros((0, dim), dtype), (w, h), method)
    order = np.argsort([-k.response for k in kps], kind="stable")
    kps = [kps[i] for i in order]
    desc = desc[order]
    xy = np.array([k.pt for k in kps], np.float32)
    keep = _keep_static(xy, mask, (w, h), mask_threshold)
    return LocalFeatures(xy[keep], np.ascontiguousarray(desc[keep]), (w, h), method)


def xfeat_input(gray: np.ndarray, max_side: int = 640) -> tuple[np.ndarray, float, float]:
    """Network input for XFeat: float32 [1, 1, H', W'] grey 0..255, each side a multiple
    of 32 and the long side <= max_side. Returns (x, sx, sy), the factors that map
    network pixels back to ``gray`` pixels (x_gray = x_net * sx)."""
    h, w = gray.shape[:2]
    s = min(1.0, max_side / max(h, w))
    W = max(32, int(w * s) // 32 * 32)
    H = max(32, int(h * s) // 32 * 32)
    img = gray if (W, H) == (w, h) else cv2.resize(gray, (W, H), interpolation=cv2.INTER_AREA)
    return img.astype(np.float32)[None, None], w / W, h / H


def _bilinear(maps: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Sample maps [C, h, w] at float positions (u, v) [N] (cell units). Returns [N, C]."""
    c, h, w = maps.shape
    u = np.clip(u, 0, w - 1)
    v = np.clip(v, 0, h - 1)
    u0 = np.minimum(np.floor(u).astype(np.intp), max(w - 2, 0))
    v0 = np.minimum(np.floor(v).astype(np.intp), max(h - 2, 0))
    du = (u - u0).astype(np.float32)[:, None]
    dv = (v - v0).astype(np.float32)[:, None]
    u1 = np.minimum(u0 + 1, w - 1)
    v1 = np.minimum(v0 + 1, h - 1)
    rows = np.ascontiguousarray(maps.reshape(c, h * w).T)  # [h*w, C]: one gather per corner
    return ((rows[v0 * w + u0] * (1 - du) + rows[v0 * w + u1] * du) * (1 - dv)
            + (rows[v1 * w + u0] * (1 - du) + rows[v1 * w + u1] * du) * dv)


def xfeat_keypoints(
    descriptors: np.ndarray,
    keypoints: np.ndarray,
    reliability: np.ndarray,
    max_keypoints: int = 1000,
    threshold: float = 0.05,
    nms: int = 5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Select keypoints from XFeat's dense maps (one image).

    descriptors: float32 [64, h, w]; keypoints: float32 [H, W] (H = 8h); reliability: [h, w].
    Returns (xy float32 [N, 2] network pixels, desc float32 [N, 64] L2-normalised, score [N]),
    sorted by score (keypoint probability x reliability), N <= max_keypoints.
    """
    heat = keypoints
    ys, xs = np.nonzero(heat > threshold)  # few candidates; local maxima among them
    if len(xs):
        local_max = cv2.dilate(heat, np.ones((nms, nms), np.uint8))
        keep = heat[ys, xs] == local_max[ys, xs]
        ys, xs = ys[keep], xs[keep]
    if len(xs) == 0:
        return np.zeros((0, 2), np.float32), np.zeros((0, descriptors.shape[0]), np.float32), np.zeros(0, np.float32)
    u = (xs + 0.5) / 8.0 - 0.5
    v = (ys + 0.5) / 8.0 - 0.5
    rel = _bilinear(reliability[None], u, v)[:, 0]
    score = heat[ys, xs] * rel
    order = np.argsort(-score, kind="stable")[:max_keypoints]
    xs, ys, u, v, score = xs[order], ys[order], u[order], v[order], score[order]
    desc = _bilinear(descriptors, u, v)
    desc /= np.linalg.norm(desc, axis=1, keepdims=True) + 1e-12
    xy = np.stack([xs, ys], 1).astype(np.float32)
    return xy, desc.astype(np.float32), score.astype(np.float32)


class XFeatExtractor:
    """Learned local features (XFeat) through onnxruntime.

    model: a LoadedModel with role "local_features" (see :mod:`edge_app.engine.vision.models`).
    max_side: the long side of the network input in pixels (rounded to multiples of 32;
    default: the settings' ``xfeat_max_side``).
    """

    def __init__(self, model=None, max_side: int = Settings.xfeat_max_side, threads: int | None = None):
        if model is None:
            from .models import load_model

            model = load_model("local_features", threads=threads)
        self.model = model
        self.max_side = max_side

    def __call__(
        self, gray: np.ndarray, mask: np.ndarray | None = None, max_keypoints: int = 1000,
        mask_threshold: float = 0.5,
    ) -> LocalFeatures:
        """gray: uint8 [H, W] work image. Keypoints are returned in its pixel coordinates."""
        h, w = gray.shape[:2]
        x, sx, sy = xfeat_input(gray, self.max_side)
        desc_map, heat, rel = self.model.run(x)
        xy, desc, _ = xfeat_keypoints(desc_map[0], heat[0, 0], rel[0, 0], max_keypoints)
        xy = xy * np.array([sx, sy], np.float32)
        keep = _keep_static(xy, mask, (w, h), mask_threshold)
        return LocalFeatures(xy[keep], np.ascontiguousarray(desc[keep]), (w, h), "xfeat")
