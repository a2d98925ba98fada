"""Milliseconds per photo of every model in models/manifest.json, int8 vs fp32.

    python benchmarks/models.py                 # 1 and 2 threads, table on stdout
    python benchmarks/models.py --threads 2 --runs 60 --json out.json

For each manifest entry (embedding, segmentation, ... whatever is listed) it times one
inference of the committed file ("int8" when its file name says so) and of its fp32 twin,
which the export scripts keep in the git-ignored ``export/_work/``
(``entry["build"]["fp32_file"]``, else ``export/_work/[<dir>/]<name>.fp32.onnx``);
rebuild it with the model's export script if absent.
Both run with the app's session settings (CPU provider, ORT_ENABLE_ALL) on the entry's
input shape, interleaved in rounds so background load affects them alike. Median and
minimum are reported: on a shared machine the minimum is the better estimate of the
unloaded cost.

For the embedding model it also times the whole ``Embedder.embed`` (resize of a
1024x768 photo, network, masked GeM), the per-photo cost the app pays.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from edge_app.engine.vision.models import LoadedModel, load_manifest  # noqa: E402


def session(path: Path, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])


def feed(sess, entry: dict) -> dict:
    """Random input of the model's shape; dynamic axes take the manifest's size, else 1 (batch) / 256."""
    inp = sess.get_inputs()[0]
    declared = entry.get("input", {}).get("shape") or []
    shape = []
    for i, d in enumerate(inp.shape):
        if isinstance(d, int) and d > 0:
            shape.append(d)
        elif i < len(declared) and isinstance(declared[i], int) and declared[i] > 0:
            shape.append(declared[i])
        else:
            shape.append(1 if i == 0 else 256)
    rng = np.random.default_rng(0)
    if "uint8" in inp.type:
        x = rng.integers(0, 256, shape, dtype=np.uint8)
    elif "float16" in inp.type:
        x = rng.standard_normal(shape).astype(np.float16)
    else:
        x = rng.standard_normal(shape).astype(np.float32)
    feeds = {inp.name: x}
    for extra in sess.get_inputs()[1:]:  # e.g. a second input: zeros of its shape
        eshape = [d if isinstance(d, int) and d > 0 else 1 for d in extra.shape]
        feeds[extra.name] = np.zeros(eshape, np.float32)
    return feeds


def time_interleaved(fns: dict, runs: int, rounds: int = 5, warmup: int = 5) -> dict:
    for f in fns.values():
        for _ in range(warmup):
            f()
    ts: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            for _ in range(max(1, runs // rounds)):
                t0 = time.perf_counter()
                f()
                ts[k].append((time.perf_counter() - t0) * 1e3)
    return {k: {"median_ms": round(statistics.median(v), 2), "min_ms": round(min(v), 2)} for k, v in ts.items()}


def fp32_path(entry: dict) -> Path:
    """The fp32 twin: ``build.fp32_file``, else ``export/_work/[<dir>/]<name>.fp32.onnx``."""
    rel = entry.get("build", {}).get("fp32_file")
    if rel:
        return REPO / rel
    work = REPO / "export" / "_work"
    default = work / f"{entry['name']}.fp32.onnx"
    if default.is_file():
        return default
    found = sorted(p for p in work.glob(f"*/{entry['name']}.fp32.onnx") if p.is_file())
    return found[0] if found else default


def bench_entry(entry: dict, models_dir: Path, threads: int, runs: int) -> dict:
    # the committed file is "int8" when quantized; otherwise it is just "committed"
    main = "int8" if "int8" in entry["file"].lower() else "committed"
    paths = {main: models_dir / entry["file"]}
    fp = fp32_path(entry)
    if fp.is_file():
        paths["fp32"] = fp
    sessions = {k: session(p, threads) for k, p in paths.items()}
    feeds = {k: feed(s, entry) for k, s in sessions.items()}
    fns = {k: (lambda s=s, f=feeds[k]: s.run(None, f)) for k, s in sessions.items()}
    if entry.get("role") == "embedding":
        from edge_app.engine.vision.embed import Embedder

        sess = sessions[main]
        emb = Embedder(LoadedModel(entry=entry, session=sess, provider="CPUExecutionProvider", path=paths[main]))
        photo = np.random.default_rng(1).integers(0, 256, (768, 1024, 3), dtype=np.uint8)
        fns[f"{main}_embed_1024px"] = lambda: emb.embed(photo)
    res = time_interleaved(fns, runs)
    out = {"name": entry["name"], "role": entry.get("role"), "threads": threads, **res}
    if "fp32" not in paths:
        out["fp32"] = f"not built ({fp.relative_to(REPO)}); run the model's export script"
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="ms per photo, int8 vs fp32, for each manifest model")
    ap.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--models-dir", type=Path, default=REPO / "models")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    manifest = load_manifest(args.models_dir)
    rows = []
    for entry in manifest["models"]:
        for t in args.threads:
            r = bench_entry(entry, args.models_dir, t, args.runs)
            rows.append(r)
            cols = []
            for k in ("fp32", "int8", "committed", "int8_embed_1024px", "committed_embed_1024px"):
                v = r.get(k)
                if isinstance(v, dict):
                    cols.append(f"{k} {v['median_ms']:7.2f} ms (min {v['min_ms']:.2f})")
                elif v:
                    cols.append(f"{k}: {v}")
            print(f"{r['name']:32s} {t} thr | " + " | ".join(cols), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
