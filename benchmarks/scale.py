"""Grouping cost as one session grows: folders of 120 to 3000 photos without metadata.

    python benchmarks/scale.py [--eval ../shared/eval] [--sizes 120,480,1000,3000] [--json OUT] [--work DIR]

Builds one pool of photos in a temporary folder (``--work``: there, kept): the photos of
the four dev sets (strecha, webcam_a, wxbs, triplets; linked, never copied into the
repository) first, in a fixed shuffled order, then crops of them (a random 55-90 % window
of the upright photo, a light gain, long side 560-1024 px, JPEG without metadata), taken
round-robin over the photos, so every spot grows with the folder (at 3000 photos about 11
per original photo, webcam_a's largest spot about 500). A folder of N photos is the first
N of the pool, so each folder holds the smaller ones. No photo has GPS or a capture time:
each folder is one session, the case of a card of photos uploaded at once.

For each size a fresh process groups the folder as ``edge-app cluster --no-cache`` does
(models loaded, no feature cache). The table gives its wall time (process start to
grouped), the analyse and group seconds, the peak resident memory of that process
(VmHWM), the pairs verified (all, and per photo), ARI / pairwise precision / recall of
the whole folder against the sets' ground truth (a crop belongs to its photo's spot), and
the 1-minute load average before and after (the machine may be shared). The largest
folder's process then assigns ASSIGN_PHOTOS new photos (crops that are not in the folder)
one at a time into the grouped site with the online assignment, and reports the
milliseconds per photo, with and without the photo's analysis, and how many landed with
their spot.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from batch import run_watching_memory  # noqa: E402
from edge_app.engine.evaluate import EvalSet, score_grouping  # noqa: E402

DEV_SETS = ("strecha", "webcam_a", "wxbs", "triplets")
#: New photos the largest folder's process assigns one at a time.
ASSIGN_PHOTOS = 30


def crop(rgb: np.ndarray, rng: random.Random) -> Image.Image:
    """A random 55-90 % window of ``rgb`` (uint8 [H, W, 3]), gain 0.8-1.2, long side
    560-1024 px (never upscaled past the source's pixels by more than the window)."""
    h, w = rgb.shape[:2]
    s = rng.uniform(0.55, 0.9)
    cw = max(32, int(w * s * rng.uniform(0.92, 1.08)))
    ch = max(32, int(h * s * rng.uniform(0.92, 1.08)))
    cw, ch = min(cw, w), min(ch, h)
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    win = rgb[y:y + ch, x:x + cw].astype(np.float32) * rng.uniform(0.8, 1.2)
    img = Image.fromarray(np.clip(win, 0, 255).astype(np.uint8))
    side = rng.randint(560, 1024)
    k = min(1.0, side / max(cw, ch))
    return img.resize((max(1, round(cw * k)), max(1, round(ch * k))), Image.BILINEAR) if k < 1 else img


def build_pool(eval_root: Path, out: Path, n_total: int, seed: int = 12) -> list[tuple[Path, str]]:
    """(path, true spot) of at least ``n_total`` pool photos under ``out``, in pool order:
    every dev photo (a link), then crops round-robin over them (crop k is the same file
    whatever else is built)."""
    from edge_app.engine.decode import decode_image

    photos = []
    for name in DEV_SETS:
        es = EvalSet.load(eval_root / name)
        photos += [(es.path(f), f"{name}:{g}") for f, g in zip(es.files, es.groups)]
    random.Random(seed).shuffle(photos)
    out.mkdir(parents=True, exist_ok=True)
    pool: list[tuple[Path, str]] = []
    for k, (src, spot) in enumerate(photos):
        link = out / f"p{k:05d}{src.suffix.lower()}"
        if not link.exists():
            link.symlink_to(src.resolve())
        pool.append((link, spot))
    crops = range(len(photos), max(n_total, len(photos)))
    for s, (src, spot) in enumerate(photos):  # one decode per source photo
        mine = [k for k in crops if (k - len(photos)) % len(photos) == s]
        todo = [k for k in mine if not (out / f"c{k:05d}.jpg").exists()]
        rgb = decode_image(src, 1024).rgb if todo else None
        for k in todo:
            crop(rgb, random.Random(seed * 1_000_003 + k)).save(out / f"c{k:05d}.jpg", quality=90)
    pool += [(out / f"c{k:05d}.jpg", photos[(k - len(photos)) % len(photos)][1]) for k in crops]
    return pool


def child(folder: str, out: str, assign_dir: str | None) -> int:
    """Group ``folder`` as the CLI does (no feature cache); write timings, pairs and labels."""
    from edge_app.engine.assign import assign_new
    from edge_app.engine.decode import list_images
    from edge_app.engine.pipeline import Pipeline

    pipe = Pipeline()
    pipe.analyzer.load_models()
    res = pipe.group_folder(folder)
    r = {"timings": res.timings, "engine": res.result.timings, "labels": {p.name: lab for p, lab in
                                                                             zip(res.paths, res.labels)}}
    if assign_dir:
        rows = []
        t_assign = time.perf_counter()
        for p in list_images(assign_dir):
            t0 = time.perf_counter()
            a = pipe.analyzer.analyze_path(p)
            t1 = time.perf_counter()
            asg = assign_new(a, res.analyses, res.labels, pipe.settings, pipe.pair_cache, pipe.analyzer.workers())
            t2 = time.perf_counter()
            rows.append({"name": p.name, "analyse_ms": 1000 * (t1 - t0), "assign_ms": 1000 * (t2 - t1),
                         "group": asg.group, "partner": None if asg.partner is None else res.paths[asg.partner].name})
        r["assign"] = rows
        r["assign_total_s"] = time.perf_counter() - t_assign
    Path(out).write_text(json.dumps(r))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--eval", default=str(REPO.parent / "shared" / "eval"))
    ap.add_argument("--sizes", default="120,480,1000,3000")
    ap.add_argument("--json", help="also write the figures as JSON")
    ap.add_argument("--work", help="build the pool here (kept) instead of a temporary folder")
    ap.add_argument("--child", nargs=2, metavar=("FOLDER", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--assign", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(*args.child, args.assign)
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="edge-scale-") as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        t0 = time.perf_counter()
        pool = build_pool(Path(args.eval), work / "pool", max(sizes) + ASSIGN_PHOTOS)
        print(f"pool of {len(pool)} photos built in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        truth = {p.name: spot for p, spot in pool}
        rows = []
        for n in sizes:
            folder = work / f"n{n}"
            folder.mkdir(exist_ok=True)
            for p, _ in pool[:n]:
                if not (folder / p.name).exists():
                    (folder / p.name).symlink_to(p)
            assign_dir = None
            if n == max(sizes):
                assign_dir = work / f"new{n}"
                assign_dir.mkdir(exist_ok=True)
                for p, _ in pool[n:n + ASSIGN_PHOTOS]:
                    if not (assign_dir / p.name).exists():
                        (assign_dir / p.name).symlink_to(p)
            out = work / f"n{n}.json"
            cmd = [sys.executable, __file__, "--child", str(folder), str(out)]
            if assign_dir:
                cmd += ["--assign", str(assign_dir)]
            load = os.getloadavg()[0]
            t1 = time.perf_counter()
            rss = run_watching_memory(cmd)
            r = json.loads(out.read_text())
            wall = time.perf_counter() - t1 - r.get("assign_total_s", 0.0)  # process start to grouped
            names = sorted(r["labels"])
            m = score_grouping([r["labels"][k] for k in names], [truth[k] for k in names])
            row = {"photos": n, "wall_s": wall, "analyse_s": r["timings"]["analyze_s"],
                   "group_s": r["timings"]["group_s"], "peak_rss_mb": rss, "pairs": r["engine"]["verified_pairs"],
                   "linkage_pairs": r["engine"].get("linkage_pairs", 0), "ari": m["ari"], "precision": m["precision"],
                   "recall": m["recall"], "groups": len({v for v in r["labels"].values() if v is not None}),
                   "unassigned": sum(v is None for v in r["labels"].values()), "load_before": load,
                   "load_after": os.getloadavg()[0]}
            if "assign" in r:
                a = r["assign"]
                members: dict = {}
                for k in names:
                    members.setdefault(r["labels"][k], []).append(k)
                right = 0
                for x in a:
                    mates = members.get(x["group"], []) if x["group"] is not None else [x["partner"]] * bool(
                        x["partner"])
                    right += bool(mates) and statistics.mode(truth[k] for k in mates) == truth[x["name"]]
                row |= {"assign_ms_median": statistics.median(x["assign_ms"] for x in a),
                        "assign_ms_max": max(x["assign_ms"] for x in a),
                        "analyse_assign_ms_median": statistics.median(x["analyse_ms"] + x["assign_ms"] for x in a),
                        "assigned_right": right, "assigned_of": len(a)}
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    print(f"{'photos':>6s} {'wall s':>7s} {'analyse':>7s} {'group':>7s} {'RSS MB':>7s} {'pairs':>7s} {'/photo':>6s} "
          f"{'ARI':>6s} {'prec':>6s} {'recall':>6s} {'load':>9s}")
    for r in rows:
        print(f"{r['photos']:6d} {r['wall_s']:7.1f} {r['analyse_s']:7.1f} {r['group_s']:7.1f} {r['peak_rss_mb']:7.0f} "
              f"{r['pairs']:7d} {r['pairs'] / r['photos']:6.1f} {r['ari']:6.3f} {r['precision']:6.3f} "
              f"{r['recall']:6.3f} {r['load_before']:4.1f}-{r['load_after']:<4.1f}")
    for r in rows:
        if "assign_ms_median" in r:
            print(f"online assignment into the {r['photos']}-photo site: {r['assign_ms_median']:.0f} ms median "
                  f"(max {r['assign_ms_max']:.0f}), with the photo's analysis {r['analyse_assign_ms_median']:.0f} ms; "
                  f"{r['assigned_right']} of {r['assigned_of']} placed with their spot")
    if len(rows) >= 2:
        a, b = next((r for r in rows if r["photos"] == 480), rows[0]), rows[-1]
        exp = np.log(b["wall_s"] / a["wall_s"]) / np.log(b["photos"] / a["photos"])
        print(f"time grows as N^{exp:.2f} from {a['photos']} to {b['photos']} photos")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
