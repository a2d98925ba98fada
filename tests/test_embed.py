"""edge_app.engine.vision.embed with the committed int8 model and real onnxruntime (no mocks)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge_app.engine.vision.embed import (
    Embedder,
    InputSpec,
    cell_weights,
    l2_normalize,
    masked_gem,
    preprocess,
)
from edge_app.engine.vision.models import load_model

REPO = Path(__file__).resolve().parents[1]
EVAL = REPO.parent / "shared" / "eval"
needs_eval = pytest.mark.skipif(not EVAL.is_dir(), reason="../shared/eval is absent")


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(load_model(role="embedding", threads=1))


def scene(h: int = 480, w: int = 640, seed: int = 0) -> np.ndarray:
    """A deterministic structured uint8 RGB 'photo': gradients, bars, blobs and noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.zeros((h, w, 3), np.float32)
    img[..., 0] = 128 + 100 * np.sin(xx / (17 + 5 * seed)) * np.cos(yy / 23)
    img[..., 1] = 255 * yy / h
    img[..., 2] = 255 * ((xx // (40 + 3 * seed) + yy // 60) % 2)
    for _ in range(6):
        cy, cx, r = rng.integers(0, h), rng.integers(0, w), rng.integers(15, 60)
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.integers(0, 256, 3)
    img += rng.normal(0, 8, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- masked_gem (pure)


def test_masked_gem_p1_is_weighted_mean():
    rng = np.random.default_rng(1)
    f = rng.random((5, 4, 6)).astype(np.float32)
    w = rng.random((4, 6)).astype(np.float32)
    want = (f * w).sum((1, 2)) / w.sum()
    np.testing.assert_allclose(masked_gem(f, w, p=1.0), want, rtol=1e-5)
    np.testing.assert_allclose(masked_gem(f, None, p=1.0), f.mean((1, 2)), rtol=1e-5)


def test_masked_gem_p3_formula_and_shape():
    rng = np.random.default_rng(2)
    f = rng.random((7, 3, 3)).astype(np.float32) + 0.1
    g = masked_gem(f, None, p=3.0)
    assert g.shape == (7,) and g.dtype == np.float32
    np.testing.assert_allclose(g, np.cbrt((f**3).mean((1, 2))), rtol=1e-5)


def test_masked_gem_ignores_zero_weight_cells():
    rng = np.random.default_rng(3)
    f = rng.random((8, 4, 4)).astype(np.float32)
    w = np.ones((4, 4), np.float32)
    w[:2, :2] = 0.0
    a = masked_gem(f, w)
    f2 = f.copy()
    f2[:, :2, :2] = 1000.0 * rng.random((8, 2, 2))
    np.testing.assert_array_equal(a, masked_gem(f2, w))
    assert not np.allclose(a, masked_gem(f2, None))


def test_masked_gem_all_masked_falls_back_to_uniform_and_clamps_negatives():
    f = np.full((2, 2, 2), -1.0, np.float32)
    f[0] = 2.0
    g = masked_gem(f, np.zeros((2, 2), np.float32))
    assert np.isfinite(g).all()
    np.testing.assert_allclose(g[0], 2.0, rtol=1e-5)
    assert 0 < g[1] < 1e-5  # negatives clamped to eps


def test_masked_gem_rejects_bad_shapes():
    with pytest.raises(ValueError):
        masked_gem(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError):
        masked_gem(np.zeros((2, 4, 4), np.float32), np.ones((3, 3), np.float32))


def test_cell_weights_area_mean():
    v = np.zeros((64, 64), np.float32)
    v[:32] = 1.0
    w = cell_weights(v, 2, 2)
    np.testing.assert_allclose(w, [[1, 1], [0, 0]])


# --------------------------------------------------------------------------- preprocessing


@pytest.mark.parametrize("policy", ["squash", "center_crop", "letterbox"])
@pytest.mark.parametrize("hw", [(480, 640), (640, 480), (37, 301)])
def test_preprocess_policies_shapes(policy, hw):
    spec = InputSpec(256, 256, (127.0,) * 3, (128.0,) * 3, policy, 32)
    x, vis = preprocess(scene(*hw), spec)
    assert x.shape == (3, 256, 256) and x.dtype == np.float32
    assert vis.shape == (256, 256) and vis.min() >= 0 and vis.max() <= 1
    if policy == "letterbox":
        assert vis.min() == 0.0  # padding is not visible
        assert np.all(x[:, vis == 0] == 0)
    else:
        assert vis.min() == 1.0


def test_preprocess_mask_blanks_pixels():
    spec = InputSpec(64, 64, (127.0,) * 3, (128.0,) * 3, "squash", 32)
    mask = np.zeros((10, 10), np.float32)
    mask[:, :5] = 1.0  # left half at a coarse resolution
    x, vis = preprocess(scene(), spec, mask)
    assert np.all(x[:, :, :28] == 0) and np.all(vis[:, :28] == 0)
    assert np.all(vis[:, 36:] == 1)


def test_preprocess_rejects_bad_input():
    spec = InputSpec(64, 64, (127.0,) * 3, (128.0,) * 3, "squash", 32)
    with pytest.raises(ValueError):
        preprocess(np.zeros((10, 10), np.uint8), spec)
    with pytest.raises(ValueError):
        preprocess(scene(), spec, np.zeros((2, 2, 2), np.float32))


# --------------------------------------------------------------------------- Embedder on the real model


def test_embed_shape_dtype_norm(embedder):
    v = embedder.embed(scene())
    assert v.shape == (embedder.dim,) and v.dtype == np.float32
    assert abs(float(np.linalg.norm(v)) - 1.0) < 1e-5
    assert np.isfinite(v).all()
    assert embedder.dim == embedder.model.entry["output"]["shape"][1]


def test_embed_any_size_and_deterministic(embedder):
    for hw in [(3000, 4000), (640, 480), (50, 90), (205, 2469), (1500, 100)]:
        v = embedder.embed(scene(*hw))
        assert abs(float(np.linalg.norm(v)) - 1.0) < 1e-5
    np.testing.assert_array_equal(embedder.embed(scene()), embedder.embed(scene()))


def test_embed_distinguishes_images(embedder):
    a, b = embedder.embed(scene(seed=0)), embedder.embed(scene(seed=5))
    a2 = embedder.embed(np.clip(scene(seed=0).astype(np.int16) + 20, 0, 255).astype(np.uint8))
    assert float(a @ a2) > float(a @ b)


def _painted(color) -> np.ndarray:
    img = scene()
    img[100:300, 200:420] = color
    img[150:200, 250:300] = 255 - np.asarray(color)
    return img


def test_masked_region_does_not_matter(embedder):
    # a transient object painted two different ways, masked by a low-res mask (1/8 scale)
    mask = np.zeros((60, 80), np.float32)
    mask[10:40, 22:56] = 1.0  # covers rows 80..320, cols 176..448 of the 480x640 photo
    red, blue = _painted((220, 30, 30)), _painted((20, 40, 230))
    a, b = embedder.embed(red, mask), embedder.embed(blue, mask)
    np.testing.assert_allclose(a, b, atol=1e-6)
    # without the mask the paint does change the embedding (the test is not vacuous)
    assert float(embedder.embed(red) @ embedder.embed(blue)) < 0.999
    # and the mask itself changes the embedding compared with no mask
    assert float(a @ embedder.embed(red)) < 0.9999


def test_soft_mask_and_full_mask(embedder):
    img = scene()
    soft = np.full((480, 640), 0.3, np.float32)
    v = embedder.embed(img, soft)
    assert abs(float(np.linalg.norm(v)) - 1.0) < 1e-5
    full = embedder.embed(img, np.ones((12, 16), np.float32))  # everything masked
    assert np.isfinite(full).all() and abs(float(np.linalg.norm(full)) - 1.0) < 1e-5


def test_embed_batch_matches_embed(embedder):
    imgs = [scene(seed=s) for s in range(3)]
    masks = [None, np.zeros((10, 10), np.float32), np.eye(10, dtype=np.float32)]
    batch = embedder.embed_batch(imgs, masks)
    assert batch.shape == (3, embedder.dim)
    for i in range(3):
        np.testing.assert_allclose(batch[i], embedder.embed(imgs[i], masks[i]), atol=1e-6)
    with pytest.raises(ValueError):
        embedder.embed_batch(imgs, masks[:2])


def test_embedder_default_loads_from_manifest():
    e = Embedder(threads=1)
    assert e.model.entry["role"] == "embedding"
    assert e.spec.resize == e.model.entry["input"]["resize"]
    assert e.spec.mean == tuple(e.model.entry["input"]["mean"])


def test_runtime_does_not_import_torch():
    code = (
        "import sys, numpy as np\n"
        "from edge_app.engine.vision.embed import Embedder\n"
        "v = Embedder(threads=1).embed(np.zeros((100, 120, 3), np.uint8))\n"
        "assert v.shape[0] > 0\n"
        "bad = [m for m in sys.modules if m == 'torch' or m.startswith('torch.')]\n"
        "assert not bad, bad\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, env=env, timeout=120)


# --------------------------------------------------------------------------- real photos


def _read(set_name: str):
    import csv

    from PIL import Image, ImageOps

    with open(EVAL / set_name / "groundtruth.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    imgs = []
    for r in rows:
        with Image.open(EVAL / set_name / "images" / r["filename"]) as im:
            im = ImageOps.exif_transpose(im).convert("RGB")
            im.thumbnail((1024, 1024))
            imgs.append(np.asarray(im))
    return imgs, [r["group"] for r in rows]


@needs_eval
def test_same_spot_retrieval_on_strecha(embedder):
    imgs, groups = _read("strecha")
    e = embedder.embed_batch(imgs)
    s = e @ e.T
    np.fill_diagonal(s, -np.inf)
    top1 = np.argmax(s, axis=1)
    r1 = np.mean([groups[i] == groups[j] for i, j in enumerate(top1)])
    assert r1 >= 0.95


@needs_eval
def test_int8_matches_fp32_on_real_photos(embedder):
    fp32 = REPO / embedder.model.entry.get("build", {}).get("fp32_file", "export/_work/none")
    if not fp32.is_file():
        pytest.skip("fp32 twin not built (python export/embedding.py)")
    from edge_app.engine.vision.models import LoadedModel, open_session

    sess, prov = open_session(fp32, threads=1)
    ref = Embedder(LoadedModel(entry=embedder.model.entry, session=sess, provider=prov, path=fp32))
    imgs, _ = _read("triplets")
    a, b = embedder.embed_batch(imgs), ref.embed_batch(imgs)
    cos = (l2_normalize(a) * l2_normalize(b)).sum(1)
    assert cos.mean() >= 0.98
