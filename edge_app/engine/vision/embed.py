"""Global image embeddings for same-spot retrieval, with transient objects masked out.

The embedding model (``role: "embedding"`` in ``models/manifest.json``) is a CNN cut at
a late layer: it maps one photo to a *spatial feature map* ``[1, C, h, w]`` instead of a
class vector. This module turns that map into one vector per photo by **masked GeM
pooling**: every feature cell is weighted by how much of its image area is *not* a
transient object (person, vehicle, ...), so a crowd in front of a facade does not pull
two shots of the same facade apart.

Pipeline for one photo (all parameters come from the manifest entry)::

    uint8 RGB [H, W, 3] --resize policy--> [Hi, Wi, 3]     (Hi, Wi = model input size)
    normalise (x - mean) / std, then  x *= (1 - mask)      masked pixels become neutral 0
    model --> feature map [C, h, w]                        (h = Hi / stride, w = Wi / stride)
    weights [h, w] = area-mean of (1 - mask) (0 in letterbox padding)
    masked_gem(features, weights, p) --> [C] --> L2 normalise --> embedding [C]

Blanking masked pixels *and* weighting the pooling makes the embedding independent of
what is painted under a binary mask (cells whose whole footprint is masked get weight
0; the network never sees the masked pixels).

No torch here: only numpy, OpenCV and onnxruntime (through :mod:`edge_app.engine.vision.models`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .models import LoadedModel, ModelError, load_model

#: Resize policies understood by :func:`preprocess` (``input.resize`` in the manifest).
RESIZE_POLICIES = ("squash", "center_crop", "letterbox")


# --------------------------------------------------------------------------- pure maths


def masked_gem(features: np.ndarray, weights: np.ndarray | None = None, p: float = 3.0, eps: float = 1e-6) -> np.ndarray:
    """Generalised-mean (GeM) pooling of a feature map over the weighted area only.

    Args:
        features: float array ``[C, h, w]`` (one photo's feature map). Values below
            ``eps`` are clamped to ``eps`` (GeM is defined for non-negative inputs).
        weights: float array ``[h, w]`` in ``[0, 1]``: how much each cell counts
            (1 = fully visible static scene, 0 = masked / padding). ``None`` = all 1.
            When the weights sum to (almost) 0, every cell counts equally instead.
        p: GeM exponent; 1 = average pooling, large p tends to max pooling.
        eps: clamp floor.

    Returns:
        float32 ``[C]``: ``(sum_ij w_ij x_cij^p / sum_ij w_ij) ** (1/p)``, not normalised.
    """
    f = np.asarray(features, dtype=np.float32)
    if f.ndim != 3:
        raise ValueError(f"features must be [C, h, w], got shape {f.shape}")
    c, h, w = f.shape
    if weights is None:
        wts = np.ones((h, w), np.float32)
    else:
        wts = np.asarray(weights, dtype=np.float32)
        if wts.shape != (h, w):
            raise ValueError(f"weights must be [h, w] = {(h, w)}, got {wts.shape}")
        wts = np.clip(wts, 0.0, 1.0)
    total = float(wts.sum())
    if total < 1e-3:
        wts = np.ones((h, w), np.float32)
        total = float(h * w)
    x = np.maximum(f.reshape(c, h * w), eps)
    if p == 1.0:
        pooled = x @ wts.reshape(-1) / total
    else:
        pooled = (np.power(x, p) @ wts.reshape(-1) / total) ** (1.0 / p)
    return pooled.astype(np.float32)


def l2_normalize(v: np.ndarray, axis: int = -1, eps: float = 1e-12) -> np.ndarray:
    """``v / ||v||_2`` along ``axis`` (zero vectors stay zero)."""
    v = np.asarray(v, dtype=np.float32)
    n = np.linalg.norm(v, axis=axis, keepdims=True)
    return v / np.maximum(n, eps)


def power_normalize(v: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Signed power normalisation ``sign(v) * |v|**alpha`` (alpha = 1: identity)."""
    if alpha == 1.0:
        return np.asarray(v, dtype=np.float32)
    return (np.sign(v) * np.power(np.abs(v), alpha)).astype(np.float32)


@dataclass(frozen=True)
class InputSpec:
    """Preprocessing read from a manifest entry's ``input`` block.

    ``height``/``width`` are the model input size in pixels; ``mean``/``std`` are per
    RGB channel in uint8 pixel units (0..255); ``resize`` is one of
    :data:`RESIZE_POLICIES`; ``stride`` is input pixels per feature cell.
    """

    height: int
    width: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resize: str = "squash"
    stride: int = 32

    @classmethod
    def from_entry(cls, entry: dict) -> "InputSpec":
        inp = entry["input"]
        shape = inp["shape"]
        resize = inp.get("resize", "squash")
        if resize not in RESIZE_POLICIES:
            raise ModelError(f"unknown resize policy {resize!r} in manifest entry {entry.get('name')!r}")
        out_shape = entry.get("output", {}).get("shape")
        stride = int(inp.get("stride") or (int(shape[2]) // int(out_shape[2]) if out_shape else 32))
        return cls(
            height=int(shape[2]),
            width=int(shape[3]),
            mean=tuple(float(m) for m in inp["mean"]),
            std=tuple(float(s) for s in inp["std"]),
            resize=resize,
            stride=stride,
        )


def _resize(img: np.ndarray, w: int, h: int) -> np.ndarray:
    """Resize to ``w`` x ``h``: area averaging along shrinking axes, bilinear along growing ones."""
    import cv2

    H, W = img.shape[:2]
    if (W, H) == (w, h):
        return img
    img = np.ascontiguousarray(img)
    area, lin = cv2.INTER_AREA, cv2.INTER_LINEAR
    if w <= W and h <= H:
        k = int(min(W / w, H / h))
        if k >= 2:
            # integer box reduction first (OpenCV's fast INTER_AREA path; 3x faster than
            # one fractional INTER_AREA pass for a 6 MP photo); the < k leftover pixels
            # are trimmed evenly from both sides
            Wk, Hk = W // k, H // k
            x0, y0 = (W - Wk * k) // 2, (H - Hk * k) // 2
            img = cv2.resize(img[y0 : y0 + Hk * k, x0 : x0 + Wk * k], (Wk, Hk), interpolation=area)
            if (Wk, Hk) == (w, h):
                return img
        return cv2.resize(img, (w, h), interpolation=area)
    if w >= W and h >= H:
        return cv2.resize(img, (w, h), interpolation=lin)
    img = cv2.resize(img, (w, H), interpolation=area if w < W else lin)  # e.g. a panorama strip
    return cv2.resize(img, (w, h), interpolation=area if h < H else lin)


def preprocess(image: np.ndarray, spec: InputSpec, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Resize, normalise and blank one photo for the model.

    Args:
        image: uint8 ``[H, W, 3]`` RGB, any size.
        spec: the model's :class:`InputSpec`.
        mask: optional float ``[h', w']`` in ``[0, 1]``, any resolution covering the same
            field of view as ``image``: probability that a pixel is a transient object.

    Returns:
        ``(x, visible)``: float32 ``[3, Hi, Wi]`` normalised network input (masked and
        padded pixels are 0), and float32 ``[Hi, Wi]`` in ``[0, 1]``, the share of each
        input pixel that is visible static scene (0 in letterbox padding).
    """
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"image must be [H, W, 3] RGB, got shape {img.shape}")
    if img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    H, W = img.shape[:2]
    Hi, Wi = spec.height, spec.width
    vis = None
    if mask is not None:
        m = np.asarray(mask, dtype=np.float32)
        if m.ndim != 2:
            raise ValueError(f"mask must be [h, w], got shape {m.shape}")
        # the mask covers the photo's whole field of view at any resolution: it is
        # resized straight to the resized photo's size below (never to full resolution)
        vis = 1.0 - np.clip(m, 0.0, 1.0)

    if spec.resize == "squash":
        box = (0, 0, Wi, Hi)
        rw, rh = Wi, Hi
        crop = None
    elif spec.resize == "center_crop":
        s = max(Wi / W, Hi / H)
        rw, rh = max(Wi, round(W * s)), max(Hi, round(H * s))
        x0, y0 = (rw - Wi) // 2, (rh - Hi) // 2
        crop = (x0, y0)
        box = (0, 0, Wi, Hi)
    else:  # letterbox
        s = min(Wi / W, Hi / H)
        rw, rh = max(1, min(Wi, round(W * s))), max(1, min(Hi, round(H * s)))
        x0, y0 = (Wi - rw) // 2, (Hi - rh) // 2
        box = (x0, y0, x0 + rw, y0 + rh)
        crop = None

    r = _resize(img, rw, rh)
    v = _resize(vis, rw, rh) if vis is not None else None
    if crop is not None:
        x0, y0 = crop
        r = r[y0 : y0 + Hi, x0 : x0 + Wi]
        v = v[y0 : y0 + Hi, x0 : x0 + Wi] if v is not None else None

    # normalise straight into a [3, Hi, Wi] buffer (one pass per channel, no HWC temp)
    x = np.zeros((3, Hi, Wi), np.float32)
    visible = np.zeros((Hi, Wi), np.float32)
    xs, ys = slice(box[0], box[2]), slice(box[1], box[3])
    for ch in range(3):
        dst = x[ch, ys, xs]
        np.subtract(r[:, :, ch], np.float32(spec.mean[ch]), out=dst, dtype=np.float32)
        dst *= np.float32(1.0 / spec.std[ch])
    if v is None:
        visible[ys, xs] = 1.0
    else:
        visible[ys, xs] = np.clip(v, 0.0, 1.0)
        x[:, ys, xs] *= visible[ys, xs]
    return x, visible


def cell_weights(visible: np.ndarray, h: int, w: int) -> np.ndarray:
    """Area-average ``visible`` ``[Hi, Wi]`` down to the feature grid ``[h, w]``."""
    Hi, Wi = visible.shape
    if Hi % h == 0 and Wi % w == 0:
        return visible.reshape(h, Hi // h, w, Wi // w).mean(axis=(1, 3)).astype(np.float32)
    return _resize(visible.astype(np.float32), w, h)


# --------------------------------------------------------------------------- model wrapper


class Embedder:
    """One L2-normalised vector per photo from the manifest's default embedding model.

    Args:
        model: an already loaded model (``load_model(role="embedding")``); ``None`` loads
            the default one from ``models/``.
        threads: onnxruntime intra-op threads when this class loads the model
            (``None`` = onnxruntime's default, all cores).

    Attributes:
        dim: embedding length ``D`` (the feature map's channel count ``C``).
        spec: the :class:`InputSpec` read from the manifest entry.
        p: GeM exponent, from the entry's ``pooling.p`` (default 3).
    """

    def __init__(self, model: LoadedModel | None = None, threads: int | None = None) -> None:
        self.model = model if model is not None else load_model(role="embedding", threads=threads)
        entry = self.model.entry
        self.spec = InputSpec.from_entry(entry)
        pooling = entry.get("pooling", {})
        self.p = float(pooling.get("p", 3.0))
        self.power = float(pooling.get("power", 1.0))
        out_shape = entry.get("output", {}).get("shape")
        self.dim = int(out_shape[1]) if out_shape else int(self.model.session.get_outputs()[0].shape[1])
        batch = self.model.input_shape[0]
        self._batchable = not (isinstance(batch, int) and batch == 1)

    def features(self, x: np.ndarray) -> np.ndarray:
        """Run the network on ``x`` float32 ``[N, 3, Hi, Wi]``; returns ``[N, C, h, w]``."""
        if self._batchable or x.shape[0] == 1:
            return self.model.run(x)[0]
        return np.concatenate([self.model.run(x[i : i + 1])[0] for i in range(x.shape[0])], axis=0)

    def pool(self, fmap: np.ndarray, visible: np.ndarray) -> np.ndarray:
        """Feature map ``[C, h, w]`` + visible-pixel map ``[Hi, Wi]`` -> embedding ``[C]`` (unit L2)."""
        _, h, w = fmap.shape
        g = masked_gem(fmap, cell_weights(visible, h, w), p=self.p)
        return l2_normalize(power_normalize(g, self.power))

    def embed(self, image: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Embed one photo.

        Args:
            image: uint8 ``[H, W, 3]`` RGB, any size (resized as the manifest says).
            mask: optional float32 ``[h', w']`` in ``[0, 1]``, any resolution covering the
                whole photo: probability that a pixel belongs to a transient object
                (person, vehicle). Those pixels are blanked and left out of the pooling.

        Returns:
            float32 ``[D]`` with ``||v||_2 = 1``; cosine similarity = dot product.
        """
        x, visible = preprocess(image, self.spec, mask)
        fmap = self.features(x[None])[0]
        return self.pool(fmap, visible)

    def embed_batch(
        self, images: Sequence[np.ndarray], masks: Sequence[np.ndarray | None] | None = None
    ) -> np.ndarray:
        """Embed several photos; returns float32 ``[N, D]``, one unit row per photo.

        The bundled model has a fixed batch size of 1 (the export keeps shapes static for
        int8 kernels and TensorRT), so this is a loop over :meth:`embed`; ``masks`` is
        ``None`` or one mask (or ``None``) per image.
        """
        masks = list(masks) if masks is not None else [None] * len(images)
        if len(masks) != len(images):
            raise ValueError("masks must be None or one per image")
        out = np.zeros((len(images), self.dim), np.float32)
        for i, (im, m) in enumerate(zip(images, masks)):
            out[i] = self.embed(im, m)
        return out
