"""Helpers shared by the export scripts in ``export/`` (never imported by the app).

Generic pieces every model export needs:

* :func:`eval_root`, :func:`read_groundtruth`, :func:`load_rgb`, :func:`eval_photos`:
  read the real photos in ``../shared/eval`` (relative to the repository root) at export
  time; they are never copied into the repository.
* :class:`ImageCalibrationReader`: an ``onnxruntime.quantization.CalibrationDataReader``
  fed by any ``photo -> input array`` function.
* :func:`ort_session`, :func:`measure_latency`: ms per inference with the app's session
  settings, fp32 and int8 measured interleaved so a busy machine hurts both alike.
* :func:`cosine_stats`: parity of two sets of vectors (int8 vs fp32).
* :func:`update_manifest`: read-modify-write of ``models/manifest.json`` that replaces
  only the entries a script owns (matched by ``name``), keeping everyone else's.
* :func:`fp32_work_path`: where an export keeps its fp32 model (``export/_work/``, git
  ignored), so ``benchmarks/models.py`` can compare it against the committed int8 file.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MODELS_DIR = REPO / "models"
WORK_DIR = REPO / "export" / "_work"
MANIFEST_VERSION = 1

if str(REPO) not in sys.path:  # allow `python export/xxx.py` from anywhere
    sys.path.insert(0, str(REPO))


# --------------------------------------------------------------------------- files


def sha256_file(path: Path | str, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def fp32_work_path(name: str) -> Path:
    """``export/_work/<name>.fp32.onnx``: the fp32 twin of the manifest entry ``name``."""
    return WORK_DIR / f"{name}.fp32.onnx"


def package_file(package: str, relpath: str) -> Path:
    """Absolute path of ``relpath`` inside the installed top-level package ``package``."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"package {package!r} is not installed (pip install -e '.[export]')")
    return Path(list(spec.submodule_search_locations)[0]) / relpath


def dist_version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def tool_versions() -> dict:
    """Versions of the tools whose output bytes the export depends on."""
    out = {"python": platform.python_version(), "numpy": np.__version__}
    for mod in ("torch", "onnx", "onnxruntime", "cv2", "PIL"):
        try:
            m = __import__(mod)
            out[mod] = getattr(m, "__version__", "?")
        except ImportError:
            pass
    return out


# --------------------------------------------------------------------------- eval photos


def eval_root() -> Path:
    """``<repo>/../shared/eval`` (``$EDGE_APP_EVAL`` overrides)."""
    env = os.environ.get("EDGE_APP_EVAL")
    return Path(env) if env else REPO.parent / "shared" / "eval"


def have_eval() -> bool:
    return eval_root().is_dir()


def read_groundtruth(set_name: str) -> list[tuple[Path, str]]:
    """``[(image path, group), ...]`` of one eval set, in ``groundtruth.csv`` order."""
    base = eval_root() / set_name
    with open(base / "groundtruth.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return [(base / "images" / r["filename"], r["group"]) for r in rows]


def load_rgb(path: Path | str, max_side: int | None = None) -> np.ndarray:
    """Decode a photo to uint8 ``[H, W, 3]`` RGB, EXIF orientation applied.

    ``max_side`` shrinks (never enlarges) so the longer side is at most that many pixels
    (PIL reducing decode + area filter; deterministic for a given Pillow version).
    """
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        if max_side and max(im.size) > 2 * max_side:
            im.draft("RGB", (max_side, max_side))
        im = ImageOps.exif_transpose(im).convert("RGB")
        if max_side and max(im.size) > max_side:
            s = max_side / max(im.size)
            im = im.resize((max(1, round(im.size[0] * s)), max(1, round(im.size[1] * s))), Image.BOX)
        return np.asarray(im)


def eval_photos(sets: Sequence[str], max_side: int | None = 1024) -> dict[str, tuple[list[np.ndarray], list[str], list[str]]]:
    """``{set: (images, groups, filenames)}`` for the named eval sets."""
    out = {}
    for s in sets:
        rows = read_groundtruth(s)
        out[s] = ([load_rgb(p, max_side) for p, _ in rows], [g for _, g in rows], [p.name for p, _ in rows])
    return out


def every_nth(items: Sequence, n: int, offset: int = 0) -> list:
    return [x for i, x in enumerate(items) if i % n == offset]


# --------------------------------------------------------------------------- quantization


class ImageCalibrationReader:
    """``CalibrationDataReader`` yielding ``{input_name: make_input(image)}`` per photo.

    Args:
        images: uint8 RGB photos (or anything ``make_input`` accepts), used in order.
        make_input: ``image -> float32 [1, ...]`` network input (the app's preprocessing).
        input_name: the ONNX graph input name.
    """

    def __init__(self, images: Iterable, make_input: Callable[[object], np.ndarray], input_name: str) -> None:
        self._images = list(images)
        self._make = make_input
        self._name = input_name
        self._it = iter(self._images)

    def get_next(self):
        try:
            img = next(self._it)
        except StopIteration:
            return None
        return {self._name: self._make(img)}

    def rewind(self) -> None:
        self._it = iter(self._images)

    def __len__(self) -> int:
        return len(self._images)


# --------------------------------------------------------------------------- sessions, latency


def ort_session(path: Path | str, threads: int | None = None, level: str = "all"):
    """CPU ``InferenceSession`` with the app's settings (ORT_ENABLE_ALL, ``threads`` intra-op)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = {
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    }[level]
    so.log_severity_level = 3
    if threads:
        so.intra_op_num_threads = int(threads)
        so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])


def _feed(sess, x: np.ndarray | None = None, seed: int = 0) -> dict:
    inp = sess.get_inputs()[0]
    if x is None:
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in inp.shape]
        x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return {inp.name: x}


def measure_latency(
    paths: dict[str, Path | str],
    threads: int = 1,
    runs: int = 30,
    warmup: int = 5,
    x: np.ndarray | None = None,
    rounds: int = 5,
) -> dict[str, dict]:
    """Milliseconds per inference for several models, measured interleaved.

    ``runs`` timed inferences per model are split into ``rounds`` rounds that alternate
    between the models, so background load hits all of them alike. Returns
    ``{key: {"median_ms", "min_ms", "p90_ms", "threads", "runs"}}``.
    """
    sessions = {k: ort_session(p, threads=threads) for k, p in paths.items()}
    feeds = {k: _feed(s, x) for k, s in sessions.items()}
    for k, s in sessions.items():
        for _ in range(warmup):
            s.run(None, feeds[k])
    times: dict[str, list[float]] = {k: [] for k in sessions}
    per_round = max(1, runs // rounds)
    for _ in range(rounds):
        for k, s in sessions.items():
            for _ in range(per_round):
                t0 = time.perf_counter()
                s.run(None, feeds[k])
                times[k].append((time.perf_counter() - t0) * 1000.0)
    out = {}
    for k, ts in times.items():
        ts = sorted(ts)
        out[k] = {
            "median_ms": round(statistics.median(ts), 2),
            "min_ms": round(ts[0], 2),
            "p90_ms": round(ts[int(0.9 * (len(ts) - 1))], 2),
            "threads": threads,
            "runs": len(ts),
        }
    return out


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# --------------------------------------------------------------------------- parity


def cosine_stats(a: np.ndarray, b: np.ndarray) -> dict:
    """Row-wise cosine between ``a`` and ``b`` (both ``[N, D]``): mean, min, p5."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)
    return {
        "mean_cosine": round(float(cos.mean()), 5),
        "min_cosine": round(float(cos.min()), 5),
        "p5_cosine": round(float(np.percentile(cos, 5)), 5),
        "n": int(len(cos)),
    }


# --------------------------------------------------------------------------- retrieval


def retrieval_metrics(emb: np.ndarray, groups: Sequence[str]) -> dict:
    """Leave-one-out same-group retrieval by cosine within one set.

    Every photo that has at least one other photo of its group is a query against all
    other photos of the set. Returns ``{"recall@1", "mAP", "queries"}``.
    """
    e = np.asarray(emb, np.float64)
    e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    g = np.asarray(groups)
    sim = e @ e.T
    np.fill_diagonal(sim, -np.inf)
    r1, aps = [], []
    for i in range(len(e)):
        pos = g == g[i]
        pos[i] = False
        if not pos.any():
            continue
        order = np.argsort(-sim[i], kind="stable")[:-1]
        rel = pos[order]
        r1.append(float(rel[0]))
        hits = np.cumsum(rel)
        ranks = np.nonzero(rel)[0] + 1
        aps.append(float(np.mean(hits[rel] / ranks)))
    return {"recall@1": round(float(np.mean(r1)), 3), "mAP": round(float(np.mean(aps)), 3), "queries": len(r1)}


# --------------------------------------------------------------------------- manifest


def load_manifest(models_dir: Path = MODELS_DIR) -> dict:
    path = Path(models_dir) / "manifest.json"
    if path.is_file():
        data = json.loads(path.read_text())
        data.setdefault("version", MANIFEST_VERSION)
        data.setdefault("models", [])
        return data
    return {"version": MANIFEST_VERSION, "models": []}


def update_manifest(entries: Sequence[dict], models_dir: Path = MODELS_DIR, remove_names: Iterable[str] = ()) -> Path:
    """Replace (or add) ``entries`` by ``name`` in ``manifest.json``; drop ``remove_names``.

    Entries of other models are kept as they are, in their order; the file is written
    atomically (temp file + rename) with sorted-free, 2-space JSON and a final newline.
    """
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    data = load_manifest(models_dir)
    drop = set(remove_names)
    new = {e["name"]: e for e in entries}
    models = []
    for e in data["models"]:
        if e.get("name") in drop:
            continue
        if e.get("name") in new:
            models.append(new.pop(e["name"]))
        else:
            models.append(e)
    models.extend(new.values())
    data["models"] = models
    path = models_dir / "manifest.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------- exact int8 on every CPU


def unsigned_weights(path: Path | str) -> int:
    """Store the signed int8 weights of ``path`` (an ONNX file, rewritten in place) as
    uint8 with their zero points shifted by 128: the same numbers, (w + 128) - (zp + 128).

    Why: onnxruntime multiplies uint8 activations by int8 weights on x86 with an
    instruction that adds pairs of products in 16 bits; without VNNI (AVX2 laptops, older
    servers) the sum saturates, so the same photo gives other outputs than on a VNNI CPU or
    an ARM board (issue 21). uint8 x uint8 has no such step: exact everywhere. For QDQ
    models TensorRT needs signed weights, so those keep them and the app asks onnxruntime
    for the same shift at load time (``edge_app.engine.vision.models.EXACT_INT8``); this is for the
    CPU-only dynamic-quantized models (MatMulInteger), whose weights onnxruntime's own
    shift cannot handle when one weight serves two MatMuls. Returns the tensors rewritten."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    inits = {t.name: t for t in model.graph.initializer}
    # (op, index of the weight, index of its zero point)
    slots = {"MatMulInteger": (1, 3), "DequantizeLinear": (0, 2), "ConvInteger": (1, 3)}
    done: set[str] = set()
    for node in model.graph.node:
        if node.op_type not in slots:
            continue
        w_at, zp_at = slots[node.op_type]
        w = inits.get(node.input[w_at]) if len(node.input) > w_at else None
        if w is None or w.data_type != onnx.TensorProto.INT8:
            continue
        zp = node.input[zp_at] if len(node.input) > zp_at and node.input[zp_at] else None
        if zp is None or zp not in inits:
            raise ValueError(f"{node.name}: int8 weight {w.name} without a zero-point initializer")
        for name in (w.name, zp):
            if name in done:
                continue
            shifted = numpy_helper.to_array(inits[name]).astype(np.int16) + 128
            inits[name].CopyFrom(numpy_helper.from_array(shifted.astype(np.uint8), name))
            done.add(name)
    onnx.save(model, str(path))
    return len(done)
