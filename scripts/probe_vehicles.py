"""Probe: machines as well as people, by consistency across the photos of a spot (issue 11).

    .venv/bin/python scripts/probe_vehicles.py [--eval ../shared/eval] [--json out.json]

No registry package ships a vehicle detector with weights under a usable licence (docs/cascade.md
lists what was checked), so this measures the other route: a keypoint of photo A is *supported*
when it is an epipolar inlier in other photos of A's spot; an excavator or truck standing there in
one visit only is not (:func:`edge_app.engine.vision.cascade.keypoint_support`).

1. **Real vehicles.** The hand-drawn vehicle boxes of ``export/segmentation_boxes.json`` (vans and
   cars on the Courbevoie market-square webcam, cars on the Maidan, one car in EVD ``dum``): for
   each labelled photo, the support of its keypoints among the other photos of its spot, inside vs
   outside the vehicle boxes, and for each pair with a spot-mate how many of its inliers land on
   vehicles before and after dropping unsupported keypoints (support counted without the pair's
   other photo).
2. **The same machine in two spots.** The white van of ``courbevoie_20131016_075706`` pasted
   (enlarged) into one photo of each of two different spots; the pasted photos are grouped with
   two more photos of each spot by the app's own ``group_analyses``: are the two spots linked, and
   what is the pair evidence before and after :func:`supported_inliers` with each photo's mates?
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from edge_app.engine.evaluate import EvalSet  # noqa: E402

VAN = ("webcam_a", "courbevoie_20131016_075706.jpg", (191, 352, 277, 444))
#: spot pairs for the pasted-van test: (set, group X, group Y)
SPOT_PAIRS = [("strecha", "fountain", "herz-jesus"), ("strecha", "entry", "herz-jesus"),
              ("triplets", "p0", "p1"), ("triplets", "p2", "p3"), ("triplets", "p8", "p9"),
              ("triplets", "p4", "p5"), ("webcam_a", "chamonix", "frankfurt"), ("strecha", "fountain", "entry")]


def in_boxes(xy: np.ndarray, boxes: list, sx: float, sy: float) -> np.ndarray:
    out = np.zeros(len(xy), bool)
    for x0, y0, x1, y1 in boxes:
        out |= (xy[:, 0] >= x0 * sx) & (xy[:, 0] < x1 * sx) & (xy[:, 1] >= y0 * sy) & (xy[:, 1] < y1 * sy)
    return out


def real_vehicles(pipe, root: Path) -> dict:
    from edge_app.engine.vision.cascade import inlier_pairs, keypoint_support

    labels = json.loads((REPO / "export" / "segmentation_boxes.json").read_text())
    out = {"photos": [], "pairs": {"vehicle_inliers": 0, "static_inliers": 0, "pairs": 0,
                                   "pairs_with_vehicle_inliers": 0}}
    for fr in labels["frames"]:
        boxes = [b["box"] for b in fr["boxes"] if b["cls"] != "person"]
        if not boxes:
            continue
        es = EvalSet.load(root / fr["set"])
        g = dict(zip(es.files, es.groups))
        mates = [f for f in es.files if g[f] == g[fr["file"]] and f != fr["file"]]
        a = pipe.analyzer.analyze_path(es.path(fr["file"]))
        ms = [pipe.analyzer.analyze_path(es.path(f)) for f in mates]
        sx, sy = a.features.size[0] / a.size[0], a.features.size[1] / a.size[1]
        veh = in_boxes(a.features.xy, boxes, sx, sy)
        sup = keypoint_support(a.features, [m.features for m in ms])
        row = {"set": fr["set"], "file": fr["file"], "mates": len(ms), "vehicle_boxes": len(boxes),
               "keypoints": len(a.features), "vehicle_keypoints": int(veh.sum()),
               "vehicle_support_median": float(np.median(sup[veh])) if veh.any() else None,
               "vehicle_support0_share": float((sup[veh] == 0).mean()) if veh.any() else None,
               "static_support_median": float(np.median(sup[~veh])),
               "static_support0_share": float((sup[~veh] == 0).mean()),
               "matched_static_support_median": float(np.median(sup[~veh & (sup > 0)])) if (~veh & (sup > 0)).any() else None,
               "matched_vehicle_support_median": float(np.median(sup[veh & (sup > 0)])) if (veh & (sup > 0)).any() else None}
        # per pair: inliers on vehicles, kept when supported by another mate than the partner
        pv = out["pairs"]
        for m in ms:
            ij = inlier_pairs(a.features, m.features)
            if not len(ij):
                continue
            i = ij[:, 0]
            own = sup[i] - 1  # support without this partner (the inlier itself counted once)
            v = veh[i]
            pv["pairs"] += 1
            pv["pairs_with_vehicle_inliers"] += int(v.any())
            pv["vehicle_inliers"] += int(v.sum())
            pv["static_inliers"] += int((~v).sum())
            for t in (1, 2, 3, 5):
                pv[f"vehicle_kept@{t}"] = pv.get(f"vehicle_kept@{t}", 0) + int((v & (own >= t)).sum())
                pv[f"static_kept@{t}"] = pv.get(f"static_kept@{t}", 0) + int((~v & (own >= t)).sum())
        out["photos"].append(row)
        print(json.dumps(row), file=sys.stderr)
    return out


def paste_van(img: np.ndarray, van: np.ndarray, where: tuple[float, float], height: float) -> np.ndarray:
    """Paste ``van`` (RGB crop) into ``img`` scaled to ``height`` x image height, centred at
    ``where`` (fractions of width, height)."""
    h, w = img.shape[:2]
    vh = int(height * h)
    vw = int(van.shape[1] * vh / van.shape[0])
    v = cv2.resize(van, (vw, vh), interpolation=cv2.INTER_CUBIC)
    cx, cy = int(where[0] * w), int(where[1] * h)
    x0, y0 = max(0, cx - vw // 2), max(0, cy - vh // 2)
    x1, y1 = min(w, x0 + vw), min(h, y0 + vh)
    out = img.copy()
    out[y0:y1, x0:x1] = v[: y1 - y0, : x1 - x0]
    return out


def pasted(pipe, root: Path) -> list[dict]:
    from edge_app.engine.decode import decode_image
    from edge_app.engine.group import group_analyses
    from edge_app.engine.vision.cascade import keypoint_support, supported_inliers

    van_img = decode_image(root / VAN[0] / "images" / VAN[1], 10000).rgb
    x0, y0, x1, y1 = VAN[2]
    van = van_img[y0:y1, x0:x1]
    rows = []
    for set_name, gx, gy in SPOT_PAIRS:
        es = EvalSet.load(root / set_name)
        fx = [f for f, g in zip(es.files, es.groups) if g == gx][:3]
        fy = [f for f, g in zip(es.files, es.groups) if g == gy][:3]
        an = []
        for k, f in enumerate(fx + fy):
            if k in (0, 3):  # the first photo of each spot gets the van
                rgb = decode_image(es.path(f), pipe.settings.work_max_side).rgb
                rgb = paste_van(rgb, van, (0.35, 0.7) if k == 0 else (0.65, 0.65), 0.35)
                ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
                an.append(pipe.analyzer.analyze_bytes(buf.tobytes(), f"van-{f}"))
            else:
                an.append(pipe.analyzer.analyze_path(es.path(f)))
        plain = [pipe.analyzer.analyze_path(es.path(f)) for f in (fx[0], fy[0])]
        res = group_analyses(an, pipe.settings)
        sc = res.scores.get((0, 3))
        ref = group_analyses([plain[0], an[1], an[2], plain[1], an[4], an[5]], pipe.settings)  # without the vans
        a, b = an[0].features, an[3].features
        sa = keypoint_support(a, [an[1].features, an[2].features])
        sb = keypoint_support(b, [an[4].features, an[5].features])
        s = supported_inliers(a, b, [], [], 1, sa, sb)
        small = group_analyses([an[0], an[1], an[3], an[4]], pipe.settings)  # two photos per spot
        row = {"set": set_name, "x": gx, "y": gy, "p_with_van": round(float(res.P[0, 3]), 3),
               "labels_2x2_with_van": small.labels,
               "p_without_van": round(float(ref.P[0, 3]), 3),
               "linked_with_van": res.labels[0] is not None and res.labels[0] == res.labels[3],
               "spots_merged_with_van": len({res.labels[i] for i in range(6)} - {None}) < 2,
               "labels_with_van": res.labels, "labels_without_van": ref.labels,
               "inliers_f": sc.inliers_f if sc else None, "inliers_h": sc.inliers_h if sc else None,
               "supported_inliers": s.supported, "inliers_cascade_rule": s.inliers,
               "unsupported_a": s.unsupported_a, "unsupported_b": s.unsupported_b}
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    return rows


def main(argv=None) -> int:
    from edge_app.engine.pipeline import Pipeline

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--eval", default=str(REPO.parent / "shared" / "eval"))
    ap.add_argument("--json", default=str(REPO / ".cache" / "probe_cascade" / "vehicles.json"))
    args = ap.parse_args(argv)
    root = Path(args.eval)
    pipe = Pipeline(cache_dir=REPO / ".cache" / "probe_cascade" / "features")
    out = {"real": real_vehicles(pipe, root), "pasted": pasted(pipe, root)}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=1))
    print(json.dumps(out["real"]["pairs"], indent=1))
    for r in out["pasted"]:
        print(f"{r['set']:9s} {r['x']:>10s} vs {r['y']:<10s} p {r['p_without_van']:.2f} -> {r['p_with_van']:.2f} "
              f"linked {r['linked_with_van']!s:5s} merged {r['spots_merged_with_van']!s:5s} "
              f"F {r['inliers_f']} H {r['inliers_h']} -> supported {r['supported_inliers']}/{r['inliers_cascade_rule']} "
              f"labels {r['labels_without_van']} -> {r['labels_with_van']}; 2+2 {r['labels_2x2_with_van']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
