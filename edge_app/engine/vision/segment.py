"""Transient-object mask: image in, per-pixel probability of "person / moving object" out.

"During" shots of a site show workers (and vehicles, cranes) whose keypoints and appearance
must not be matched against the "before" / "after" shots of the same spot. :class:`Segmenter`
turns an RGB image into a float mask in ``[0, 1]`` that the feature and embedding stages use
to drop keypoints or down-weight regions.

The model comes from ``models/manifest.json`` (role ``"segmentation"``) through
:func:`edge_app.engine.vision.models.load_model`; everything model-specific is read from its manifest
entry, so a better model can be dropped in by adding an entry and making it the default:

``input``
    ``layout`` (``NCHW`` / ``NHWC``), ``color`` (``RGB`` / ``BGR``), ``size`` ``[H, W]`` (the
    native input size), ``dynamic_size`` (height/width may differ from ``size``; used to feed
    portrait tiles as ``[W, H]``), and the value mapping of 8-bit pixels: ``range`` ``[lo, hi]``
    (``x / 255 * (hi - lo) + lo``) or ``mean`` / ``std`` (``(x / 255 - mean) / std``).
``output``
    ``kind`` ``"mask"`` (one dense probability map per input, ``[N, 1, h, w]`` or ``[N, h, w, 1]``)
    or ``"boxes"`` (a detector: outputs ``boxes`` ``[N, A, 4]`` as normalised
    ``ymin, xmin, ymax, xmax`` and ``scores`` ``[N, A]``; every box with a score of at least
    ``postprocess.min_score`` is painted into the mask with its score, max-merged).
``tiling``
    ``grid`` ``[cols, rows]`` for a landscape image (swapped for portrait ones) and ``overlap``
    (fraction of a tile shared with its neighbour). ``[1, 1]`` runs the whole frame once.

Tiling: the image is cut into ``cols x rows`` overlapping tiles, each tile is stretched to the
model's input size (as MediaPipe does for the full frame), all tiles run as one batch, and the
per-tile results are max-merged. Smaller figures become larger relative to the model input,
which helps models trained on people near the camera, at ``cols * rows`` times the cost.

Resolution policy: :meth:`Segmenter.mask` returns the mask for the whole image (mask corners
are image corners) at the image's aspect ratio, scaled down so that its long side is at most
``max_side`` pixels (default 512; never scaled up). The consumer resizes it to whatever grid it
needs, e.g. ``cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)``, or samples it at
keypoint positions scaled by ``mask.shape[1] / w``.

Threads: ``threads`` is passed to onnxruntime (intra-op threads); ``None`` lets it decide.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .models import LoadedModel, ModelError, load_model

__all__ = ["Segmenter", "tile_rects"]


def tile_rects(width: int, height: int, cols: int, rows: int, overlap: float) -> list[tuple[int, int, int, int]]:
    """Rectangles ``(x0, y0, x1, y1)`` of a ``cols x rows`` grid of equal tiles covering the image.

    Neighbouring tiles share ``overlap`` (fraction of a tile's width / height); the last tile of
    a row / column ends exactly at the image border.
    """
    cols, rows = max(1, int(cols)), max(1, int(rows))
    overlap = min(max(float(overlap), 0.0), 0.9)
    tw = width / (cols - (cols - 1) * overlap)
    th = height / (rows - (rows - 1) * overlap)
    rects = []
    for r in range(rows):
        for c in range(cols):
            x0 = 0 if c == 0 else round(c * tw * (1 - overlap))
            y0 = 0 if r == 0 else round(r * th * (1 - overlap))
            x1 = width if c == cols - 1 else min(width, round(x0 + tw))
            y1 = height if r == rows - 1 else min(height, round(y0 + th))
            x0, y0 = min(x0, x1 - 1), min(y0, y1 - 1)
            rects.append((x0, y0, x1, y1))
    return rects


class Segmenter:
    """Transient-object probability mask from the default (or given) segmentation model.

    ``tiles``: ``None`` uses the manifest entry's ``tiling.grid``; an int ``n`` means ``n x n``;
    a pair means ``(cols, rows)`` for landscape images (swapped for portrait ones).
    ``overlap`` likewise defaults to the manifest's ``tiling.overlap``.
    ``min_score`` (detector models only) defaults to the manifest's ``postprocess.min_score``.
    """

    def __init__(
        self,
        model: LoadedModel | None = None,
        tiles: int | Sequence[int] | None = None,
        threads: int | None = None,
        *,
        overlap: float | None = None,
        max_side: int = 512,
        min_score: float | None = None,
        models_dir=None,
    ):
        if model is None:
            model = load_model(role="segmentation", threads=threads, models_dir=models_dir)
        self.model = model
        entry = model.entry
        inp = entry.get("input", {})
        out = entry.get("output", {})
        self.layout = str(inp.get("layout", "NCHW")).upper()
        if self.layout not in ("NCHW", "NHWC"):
            raise ModelError(f"segmentation model {entry.get('name')}: unsupported layout {self.layout}")
        self.bgr = str(inp.get("color", "RGB")).upper() == "BGR"
        size = inp.get("size")
        if not size:
            shape = inp.get("shape") or model.input_shape
            size = shape[2:4] if self.layout == "NCHW" else shape[1:3]
        if not all(isinstance(v, int) and v > 0 for v in size):
            raise ModelError(f"segmentation model {entry.get('name')}: no fixed input size in the manifest")
        self.in_h, self.in_w = int(size[0]), int(size[1])
        self.dynamic_size = bool(inp.get("dynamic_size", False))
        if "mean" in inp or "std" in inp:
            mean = np.asarray(inp.get("mean", [0.0, 0.0, 0.0]), np.float32)
            std = np.asarray(inp.get("std", [1.0, 1.0, 1.0]), np.float32)
            self._scale = (1.0 / (255.0 * std)).astype(np.float32)
            self._shift = (-mean / std).astype(np.float32)
        else:
            lo, hi = inp.get("range", [0.0, 1.0])
            self._scale = np.full(3, (hi - lo) / 255.0, np.float32)
            self._shift = np.full(3, lo, np.float32)
        self.kind = out.get("kind", "mask")
        if self.kind not in ("mask", "boxes"):
            raise ModelError(f"segmentation model {entry.get('name')}: unknown output kind {self.kind!r}")
        post = entry.get("postprocess", {})
        self.min_score = float(min_score if min_score is not None else post.get("min_score", 0.5))
        tiling = entry.get("tiling", {})
        if tiles is None:
            tiles = tiling.get("grid", [1, 1])
        if isinstance(tiles, (int, np.integer)):
            tiles = (int(tiles), int(tiles))
        self.grid = (max(1, int(tiles[0])), max(1, int(tiles[1])))
        self.overlap = float(overlap if overlap is not None else tiling.get("overlap", 0.15))
        self.max_side = int(max_side)
        if self.kind == "boxes":
            names = model.output_names
            self._i_boxes = names.index(out.get("boxes", "boxes")) if out.get("boxes", "boxes") in names else 0
            self._i_scores = names.index(out.get("scores", "scores")) if out.get("scores", "scores") in names else 1

    # ------------------------------------------------------------------
    def mask_size(self, height: int, width: int) -> tuple[int, int]:
        """``(h, w)`` of the mask returned for an image of ``height x width``."""
        s = min(1.0, self.max_side / max(height, width))
        return max(1, round(height * s)), max(1, round(width * s))

    def _grid_for(self, height: int, width: int) -> tuple[int, int]:
        cols, rows = self.grid
        return (rows, cols) if height > width else (cols, rows)

    def _model_hw(self, tile_h: int, tile_w: int) -> tuple[int, int]:
        """Input size for a tile: the native size, transposed for portrait tiles if allowed."""
        h, w = self.in_h, self.in_w
        if self.dynamic_size and (tile_h > tile_w) != (h > w) and h != w:
            return w, h
        return h, w

    def _prepare(self, tiles: list[np.ndarray], mh: int, mw: int) -> np.ndarray:
        import cv2

        batch = np.empty((len(tiles), mh, mw, 3), np.uint8)
        for i, t in enumerate(tiles):
            # area filter only for strong shrinking (it is ~10x slower than bilinear)
            interp = cv2.INTER_AREA if (t.shape[0] >= 3 * mh or t.shape[1] >= 3 * mw) else cv2.INTER_LINEAR
            batch[i] = cv2.resize(t, (mw, mh), interpolation=interp)
        if self.bgr:
            batch = batch[..., ::-1]
        if self.layout == "NCHW":
            batch = batch.transpose(0, 3, 1, 2)
            scale, shift = self._scale[:, None, None], self._shift[:, None, None]
        else:
            scale, shift = self._scale, self._shift
        x = np.ascontiguousarray(batch, dtype=np.float32)  # one copy, in the model's layout
        if np.all(self._scale == self._scale[0]) and np.all(self._shift == self._shift[0]):
            # one scale for all channels: scalar maths (broadcasting over a last axis of 3
            # runs numpy's inner loop 3 elements at a time, 4x slower)
            x *= np.float32(self._scale[0])
            x += np.float32(self._shift[0])
        else:
            x *= scale
            x += shift
        return x

    def mask(self, image: np.ndarray) -> np.ndarray:
        """Probability mask (float32, ``[0, 1]``) for an RGB ``uint8`` image ``[H, W, 3]``.

        The mask has the image's aspect ratio at :meth:`mask_size` (long side <= ``max_side``).
        """
        import cv2

        if image.ndim != 3 or image.shape[2] < 3:
            raise ValueError(f"expected an RGB image [H, W, 3], got shape {image.shape}")
        image = image[..., :3]
        if image.dtype != np.uint8:
            image = np.clip(image, 0, 255).astype(np.uint8)
        H, W = image.shape[:2]
        cols, rows = self._grid_for(H, W)
        # Shrink very large photos once (to twice the pixels the tiles need), so per-tile
        # resizing stays cheap; photos of a few hundred pixels go straight to the tiles.
        work_side = 2 * max(self.in_h, self.in_w) * max(cols, rows)
        if max(H, W) > 2 * work_side:
            k = max(H, W) // (2 * work_side)
            if k > 1:  # camera-size photo: cheap subsampling first, the area filter then
                image = np.ascontiguousarray(image[::k, ::k])  # works on >= 2x the target size
            s = work_side / max(image.shape[:2])
            H2, W2 = image.shape[:2]
            image = cv2.resize(image, (max(1, round(W2 * s)), max(1, round(H2 * s))), interpolation=cv2.INTER_AREA)
        h, w = image.shape[:2]
        rects = tile_rects(w, h, cols, rows, self.overlap)
        th, tw = rects[0][3] - rects[0][1], rects[0][2] - rects[0][0]
        mh, mw = self._model_hw(th, tw)
        x = self._prepare([image[y0:y1, x0:x1] for x0, y0, x1, y1 in rects], mh, mw)
        outs = self.model.run(x)
        oh, ow = self.mask_size(H, W)
        sx, sy = ow / w, oh / h
        canvas = np.zeros((oh, ow), np.float32)
        if self.kind == "mask":
            prob = outs[0]
            if prob.ndim == 4:  # [N, 1, h, w] or [N, h, w, 1]
                prob = prob[:, 0] if prob.shape[1] == 1 else prob[..., 0]
            for (x0, y0, x1, y1), p in zip(rects, prob):
                cx0, cy0 = round(x0 * sx), round(y0 * sy)
                cx1, cy1 = max(cx0 + 1, round(x1 * sx)), max(cy0 + 1, round(y1 * sy))
                r = cv2.resize(np.asarray(p, np.float32), (cx1 - cx0, cy1 - cy0), interpolation=cv2.INTER_LINEAR)
                np.maximum(canvas[cy0:cy1, cx0:cx1], r, out=canvas[cy0:cy1, cx0:cx1])
        else:
            boxes, scores = outs[self._i_boxes], outs[self._i_scores]
            for (x0, y0, x1, y1), b, s in zip(rects, boxes, scores):
                keep = s >= self.min_score
                for (by0, bx0, by1, bx1), sc in zip(np.clip(b[keep], 0.0, 1.0), s[keep]):
                    cx0 = int(math.floor((x0 + bx0 * (x1 - x0)) * sx))
                    cx1 = int(math.ceil((x0 + bx1 * (x1 - x0)) * sx))
                    cy0 = int(math.floor((y0 + by0 * (y1 - y0)) * sy))
                    cy1 = int(math.ceil((y0 + by1 * (y1 - y0)) * sy))
                    if cx1 > cx0 and cy1 > cy0:
                        region = canvas[cy0:cy1, cx0:cx1]
                        np.maximum(region, np.float32(sc), out=region)
        np.clip(canvas, 0.0, 1.0, out=canvas)
        return canvas
