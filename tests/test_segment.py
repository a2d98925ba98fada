"""Transient-object mask (role "segmentation"): real onnxruntime, real model files.

Photo-based checks read ``../shared/eval`` and skip when it is absent; the converter
rebuild check skips unless the MediaPipe .tflite is cached in ``export/_work``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
cv2 = pytest.importorskip("cv2")

from edge_app.engine.vision.models import load_manifest, load_model  # noqa: E402
from edge_app.engine.vision.segment import Segmenter, tile_rects  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
BOXES = ROOT / "export" / "segmentation_boxes.json"
EVAL = Path(os.environ["EDGE_APP_EVAL"]) if os.environ.get("EDGE_APP_EVAL") else ROOT.parent / "shared" / "eval"
CHECK_IMAGE = "wxbs/images/EVD_dum_1.jpg"
SELFIE = "segmentation-selfie-landscape"
SSD = "segmentation-ssdlite-person-int8"
TFLITE_CACHE = ROOT / "export" / "_work" / "segmentation" / "selfie_landscape.tflite"


def seg_entries() -> dict[str, dict]:
    return {e["name"]: e for e in load_manifest(MODELS)["models"] if e.get("role") == "segmentation"}


def entry(name: str) -> dict:
    e = seg_entries().get(name)
    if e is None:
        pytest.skip(f"{name} not in the manifest")
    return e


@pytest.fixture(scope="module")
def models() -> dict:
    out = {}
    for name in seg_entries():
        out[name] = load_model(name=name, models_dir=MODELS, threads=2)
    if not out:
        pytest.skip("no segmentation model in the manifest")
    return out


@pytest.fixture(scope="module")
def default_seg() -> Segmenter:
    return Segmenter(load_model(role="segmentation", models_dir=MODELS, threads=2))


def synthetic(h: int = 480, w: int = 640, seed: int = 3) -> np.ndarray:
    """Smooth colour field with some blocks: nothing person-like."""
    rng = np.random.default_rng(seed)
    im = cv2.resize(rng.integers(0, 256, (5, 7, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
    for _ in range(5):
        x0, y0 = int(rng.integers(0, w - 80)), int(rng.integers(0, h - 80))
        cv2.rectangle(im, (x0, y0), (x0 + 70, y0 + 50), tuple(int(v) for v in rng.integers(0, 256, 3)), -1)
    return im


def load_rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def need_eval(rel: str) -> Path:
    p = EVAL / rel
    if not p.is_file():
        pytest.skip(f"eval photo {p} not available")
    return p


# --------------------------------------------------------------------------- manifest


def test_manifest_entries_complete():
    ents = seg_entries()
    assert ents, "no segmentation entry"
    assert sum(bool(e.get("default")) for e in ents.values()) == 1
    for e in ents.values():
        for key in ("name", "file", "sha256", "source", "licence", "input", "output", "parity", "tiling"):
            assert key in e, (e["name"], key)
        for key in ("package", "version", "file", "sha256"):
            assert key in e["source"], (e["name"], key)
        assert e["output"]["kind"] in ("mask", "boxes")
        assert "transient" in e["output"]["meaning"]
        assert (MODELS / e["file"]).is_file()
        assert hashlib.sha256((MODELS / e["file"]).read_bytes()).hexdigest() == e["sha256"]


# --------------------------------------------------------------------------- mask basics


@pytest.mark.parametrize("shape", [(480, 640), (640, 480), (300, 300), (1200, 1600)])
def test_mask_shape_and_range(models, shape):
    im = synthetic(*shape)
    for name, lm in models.items():
        seg = Segmenter(lm)
        m = seg.mask(im)
        assert m.dtype == np.float32
        assert m.shape == seg.mask_size(*shape)
        assert max(m.shape) == min(512, max(shape))
        assert abs(m.shape[0] / m.shape[1] - shape[0] / shape[1]) < 0.01
        assert float(m.min()) >= 0.0 and float(m.max()) <= 1.0, name


def test_no_people_low_mask(models):
    for name, lm in models.items():
        for seed in (1, 2, 3):
            m = Segmenter(lm).mask(synthetic(seed=seed))
            assert float(m.mean()) < 0.03, (name, seed, float(m.mean()))
    blank = np.full((480, 640, 3), 128, np.uint8)
    assert float(Segmenter(next(iter(models.values()))).mask(blank).mean()) < 0.03


@pytest.mark.parametrize("tiles", [(2, 2), (3, 2), 3])
def test_tiled_shape_equals_untiled(models, tiles):
    for shape in ((480, 640), (640, 480)):
        im = synthetic(*shape)
        for lm in models.values():
            full = Segmenter(lm, tiles=1).mask(im)
            tiled = Segmenter(lm, tiles=tiles).mask(im)
            assert tiled.shape == full.shape
            assert tiled.dtype == np.float32 and 0.0 <= tiled.min() and tiled.max() <= 1.0


def test_tile_rects_cover_the_image():
    for w, h, c, r, ov in [(640, 480, 2, 2, 0.15), (1000, 729, 3, 2, 0.2), (101, 77, 3, 3, 0.0), (50, 40, 1, 1, 0.3)]:
        rects = tile_rects(w, h, c, r, ov)
        assert len(rects) == c * r
        cover = np.zeros((h, w), int)
        for x0, y0, x1, y1 in rects:
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
            cover[y0:y1, x0:x1] += 1
        assert cover.min() >= 1
        assert max(x1 for *_, x1, _ in rects) == w and max(y1 for *_, y1 in rects) == h
        if ov > 0 and c > 1:
            assert cover.max() >= 2


def test_network_input_is_scaled_as_the_manifest_says(models):
    """Every model's input: resized photo * scale + shift per channel (the manifest's
    normalisation), whether all channels share one scale (fast scalar path) or not."""
    im = synthetic(360, 500)
    segs = [Segmenter(model) for model in models.values()]
    per_channel = Segmenter(next(iter(models.values())))  # a model normalised per channel
    per_channel._scale = np.array([0.01, 0.02, 0.03], np.float32)
    per_channel._shift = np.array([-1.0, 0.0, 1.0], np.float32)
    for seg in segs + [per_channel]:
        mh, mw = seg.in_h, seg.in_w
        x = seg._prepare([im], mh, mw)
        ref = cv2.resize(im, (mw, mh), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        if seg.bgr:
            ref = ref[..., ::-1]
        ref = ref * seg._scale + seg._shift
        if seg.layout == "NCHW":
            ref = ref.transpose(2, 0, 1)
        np.testing.assert_allclose(x[0], ref, rtol=1e-6, atol=1e-5)


def test_rejects_non_rgb(default_seg):
    with pytest.raises(ValueError):
        default_seg.mask(np.zeros((10, 10), np.uint8))


# --------------------------------------------------------------------------- real photo


def test_person_photo_mask_covers_people(models):
    path = need_eval(CHECK_IMAGE)
    im = load_rgb(path)
    frame = [f for f in json.loads(BOXES.read_text())["frames"] if f"{f['set']}/images/{f['file']}" == CHECK_IMAGE][0]
    people = [b["box"] for b in frame["boxes"] if b["cls"] == "person" and not b.get("uncertain")]
    near = [b for b in people if b[3] - b[1] > 0.12 * im.shape[0]]  # the people closest to the camera
    assert near
    for name, lm in models.items():
        e = lm.entry
        m = Segmenter(lm).mask(im)
        m = cv2.resize(m, (im.shape[1], im.shape[0]), interpolation=cv2.INTER_LINEAR)
        inside = np.zeros(m.shape, bool)
        for x0, y0, x1, y1 in people:
            inside[y0:y1, x0:x1] = True
        in_near = np.mean([m[y0:y1, x0:x1].mean() for x0, y0, x1, y1 in near])
        bg = float(m[~inside].mean())
        assert in_near > 0.2, (name, in_near)
        assert in_near > 5 * bg, (name, in_near, bg)
        if e.get("default"):
            # the default model also finds most of the labelled people at full frame
            found = sum(m[y0:y1, x0:x1].__ge__(0.5).mean() >= 0.2 for x0, y0, x1, y1 in people)
            assert found >= len(people) // 2, (found, len(people))


# --------------------------------------------------------------------------- parity


def fingerprint(name: str) -> tuple[dict, dict, np.ndarray]:
    """The manifest entry of the model ``name``, the parity fingerprint recorded for it and
    that fingerprint's photo (RGB); skips where none was recorded or the photo is absent."""
    e = entry(name)
    fp = e["parity"].get("fingerprint")
    if not fp:
        pytest.skip("no fingerprint recorded")
    return e, fp, load_rgb(need_eval(fp["image"]))


def test_selfie_matches_litert_fingerprint():
    e, fp, im = fingerprint(SELFIE)
    x0, y0, x1, y1 = fp["crop"]
    h, w = e["input"]["size"]
    x = (cv2.resize(im[y0:y1, x0:x1], (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0)
    lm = load_model(name=SELFIE, models_dir=MODELS)
    y = lm.run(np.ascontiguousarray(x.transpose(2, 0, 1)[None]))[0][0, 0]
    gh, gw = fp["pool"]
    pooled = cv2.resize(y, (gw, gh), interpolation=cv2.INTER_AREA)
    ref = np.asarray(fp["values"], np.float32).reshape(gh, gw)
    assert float(np.abs(pooled - ref).max()) < 2e-3
    assert float(ref.max()) > 0.9  # the fingerprint really shows people


def _iou(a, b):
    y0, x0, y1, x1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, y1 - y0) * max(0.0, x1 - x0)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_ssd_int8_matches_tensorflow_fingerprint():
    _, fp, im = fingerprint(SSD)
    x = cv2.resize(im, (300, 300), interpolation=cv2.INTER_AREA).astype(np.float32) * (2 / 255) - 1
    lm = load_model(name=SSD, models_dir=MODELS)
    outs = dict(zip(lm.output_names, lm.run(x[None])))
    boxes, scores = outs["boxes"][0], outs["scores"][0]
    assert len(fp["detections"]) >= 3
    for sc, *box in fp["detections"]:
        best = max(range(len(scores)), key=lambda i: _iou(box, boxes[i]) if scores[i] >= 0.3 else -1)
        assert _iou(box, boxes[best]) >= 0.5
        assert abs(float(scores[best]) - sc) <= 0.15


def test_converter_rebuilds_committed_selfie_model():
    """tflite2onnx_mini on the cached .tflite gives the committed bytes, and agrees with its numpy reference."""
    e = entry(SELFIE)
    if not TFLITE_CACHE.is_file():
        pytest.skip("MediaPipe .tflite not cached (run python export/segmentation.py)")
    tfl = TFLITE_CACHE.read_bytes()
    if hashlib.sha256(tfl).hexdigest() != e["source"]["sha256"]:
        pytest.skip("cached .tflite is not the manifest's source")
    sys.path.insert(0, str(ROOT / "export"))
    try:
        from tflite2onnx_mini import convert, read_tflite, reference_run
    finally:
        sys.path.pop(0)
    onnx = pytest.importorskip("onnx")
    tm = read_tflite(tfl)
    assert tm.op_counts.get("Convolution2DTransposeBias") == 1 and tm.op_counts.get("HARD_SWISH", 0) > 0
    committed = onnx.load(str(MODELS / e["file"]))
    model = convert(tm, graph_name=committed.graph.name, input_name="image", output_name="mask",
                    dynamic_batch=True, dynamic_spatial=True, opset=17, doc=committed.doc_string)
    assert hashlib.sha256(model.SerializeToString()).hexdigest() == e["sha256"]
    # independent numpy implementation of the TFLite graph vs the committed ONNX
    rng = np.random.default_rng(0)
    x = cv2.resize(rng.random((9, 16, 3)).astype(np.float32), (256, 144), interpolation=cv2.INTER_CUBIC).clip(0, 1)[None]
    ref = reference_run(tm, x)[0][0, :, :, 0]
    y = load_model(name=SELFIE, models_dir=MODELS).run(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))[0][0, 0]
    assert float(np.abs(y - ref).max()) < 1e-4


# --------------------------------------------------------------------------- run-time deps


def test_runtime_imports_no_heavy_frameworks():
    code = (
        "import sys, numpy as np\n"
        "from edge_app.engine.vision.segment import Segmenter\n"
        "s = Segmenter(threads=1)\n"
        "s.mask(np.zeros((120, 160, 3), np.uint8))\n"
        "bad = [m for m in ('torch', 'tensorflow', 'mediapipe', 'tf2onnx', 'ai_edge_litert') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "EDGE_APP_MODELS": str(MODELS)})
    assert r.returncode == 0, r.stderr[-2000:]
