"""Hard-case subsets of issue 11, built from the dev photos in a temporary folder, and scored.

    .venv/bin/python scripts/hard_cases.py build OUT [--eval ../shared/eval] [--batches 10] [--seed 5]
    .venv/bin/python scripts/hard_cases.py eval OUT [--thorough] [--json RESULT]

``build`` writes, for each subset, ``OUT/<subset>/<batch>/`` (JPEG photos) and ``truth.json``
({file: spot, or null for a lone photo}). The photos are made from ``../shared/eval`` at
build time and never belong in the repository. Five subsets, each batch a folder of 8-20
photos of several spots, plus lone photos of spots not in the batch:

* ``zoom``: per spot two whole views and a close-up: a window of 1/3 to 1/4 of the side of a
  third view (not in the batch), at a random place in its central 60 %, enlarged to 1024 px;
* ``oblique``: the two ends of each strecha walk-around (the first and last two shots, 45-90
  degrees apart) and the wxbs pairs that change the viewpoint (WGABS, WGALBS, EVD);
* ``daynight``: webcam frames by day and by night (the darkest frames of a camera against its
  brightest), the triplets places with their night shot, the wxbs pairs that change the light
  (WLABS, WGLBS);
* ``days``: ordinary spots (strecha, webcam_a, triplets) whose photos carry EXIF capture times
  split into a "before" visit and an "after" visit 7-30 days later; half the batches also carry
  one GPS position per site (within 40 m);
* ``machines``: the white van of a Courbevoie webcam frame pasted (30-40 % of the frame height)
  into one photo of a spot of 2-3 photos and into the only photo of another spot (or into one
  photo of each of two 2-photo spots), with two ordinary spots around them. Nothing may join
  them.

Two more subsets are drawn from this project's own harder dev sets (``devsets/``, rebuilt by
``scripts/build_devsets.py``; ``--devsets`` says where), issue 20; a subset whose set is not
built is skipped with a line saying so:

* ``lookalike``: 3-5 spots of ``devsets/lookalike`` (facades of one street style, identical
  corridor doors by day and night) with all their photos, plus 3-6 lone photos of other
  facades of the same streets: nothing may join two different facades or doors;
* ``changed``: 3-5 spots of ``devsets/changed`` (one place before, during and after building
  or renovation work) with all their photos, plus 0-2 lone photos of other spots.

``eval`` groups every batch as a fresh folder with the app's :class:`edge_app.engine.pipeline.Pipeline`
(models loaded once, no feature cache): the fast path, and (``--thorough``) the thorough pass
without the cascade ("checks": every pair checked, the machine check) and with the shipped
cascade ("thorough"); prints ARI / precision / recall per subset, as ``edge-app eval`` scores
them, and the thorough pass's extra seconds.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from edge_app.engine.decode import decode_image  # noqa: E402
from edge_app.engine.evaluate import EvalSet, score_grouping, summarise  # noqa: E402
from photo_files import exif  # noqa: E402  (tests/photo_files.py: EXIF capture time and GPS)

SUBSETS = ("zoom", "oblique", "daynight", "days", "machines", "lookalike", "changed")
#: The subsets drawn from ``devsets/`` (issue 20), and how many lone photos each batch gets.
DEVSET_SUBSETS = {"lookalike": (3, 6), "changed": (0, 2)}
SIDE = 1024
VAN = ("webcam_a", "courbevoie_20131016_075706.jpg", (191, 352, 277, 444))
SITE = (37.5665, 126.9780)


def load(root: Path, name: str) -> tuple[EvalSet, dict[str, list[str]]]:
    es = EvalSet.load(root / name)
    by: dict[str, list[str]] = defaultdict(list)
    for f, g in zip(es.files, es.groups):
        by[g].append(f)
    return es, by


def rgb_of(es: EvalSet, f: str) -> np.ndarray:
    return decode_image(es.path(f), SIDE).rgb


def write_jpeg(path: Path, rgb: np.ndarray, when: datetime | None = None, gps=None) -> None:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=90, exif=exif(when, gps))
    path.write_bytes(buf.getvalue())


def close_up(rgb: np.ndarray, rng: random.Random) -> np.ndarray:
    """A window of 1/3-1/4 of each side at a random place in the central 60 % (a close-up of
    part of the structure), enlarged to SIDE px."""
    h, w = rgb.shape[:2]
    z = rng.uniform(3.0, 4.0)
    cw, ch = int(w / z), int(h / z)
    cx = rng.uniform(0.2 * w + cw / 2, 0.8 * w - cw / 2) if 0.6 * w > cw else w / 2
    cy = rng.uniform(0.2 * h + ch / 2, 0.8 * h - ch / 2) if 0.6 * h > ch else h / 2
    x0, y0 = int(cx - cw / 2), int(cy - ch / 2)
    crop = rgb[y0:y0 + ch, x0:x0 + cw]
    s = SIDE / max(cw, ch)
    return cv2.resize(crop, (round(cw * s), round(ch * s)), interpolation=cv2.INTER_CUBIC)


def paste(img: np.ndarray, van: np.ndarray, rng: random.Random) -> np.ndarray:
    h, w = img.shape[:2]
    vh = int(rng.uniform(0.3, 0.4) * h)
    vw = int(van.shape[1] * vh / van.shape[0])
    v = cv2.resize(van, (vw, vh), interpolation=cv2.INTER_CUBIC)
    cx, cy = int(rng.uniform(0.3, 0.7) * w), int(rng.uniform(0.55, 0.75) * h)
    x0, y0 = max(0, cx - vw // 2), max(0, cy - vh // 2)
    x1, y1 = min(w, x0 + vw), min(h, y0 + vh)
    out = img.copy()
    out[y0:y1, x0:x1] = v[: y1 - y0, : x1 - x0]
    return out


def brightness(es: EvalSet, f: str) -> float:
    return float(decode_image(es.path(f), 128).rgb.mean())


class Batch:
    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.truth: dict[str, str | None] = {}

    def add(self, name: str, rgb: np.ndarray, spot: str | None, when=None, gps=None) -> None:
        write_jpeg(self.folder / name, rgb, when, gps)
        self.truth[name] = spot

    def close(self) -> None:
        (self.folder / "truth.json").write_text(json.dumps(self.truth, indent=1))


def spots_pool(root: Path) -> list[tuple[EvalSet, str, list[str]]]:
    """Ordinary spots (strecha buildings, webcams, triplets places) with their photos."""
    out = []
    for name in ("strecha", "webcam_a", "triplets"):
        es, by = load(root, name)
        out += [(es, g, fs) for g, fs in by.items()]
    return out


def lone_photos(pool, used: set, rng: random.Random, k: int) -> list[tuple[EvalSet, str, str]]:
    rest = [(es, g, fs) for es, g, fs in pool if (es.name, g) not in used]
    return [(es, g, rng.choice(fs)) for es, g, fs in rng.sample(rest, min(k, len(rest)))]


def build_zoom(root, out, n, rng):
    pool = [p for p in spots_pool(root) if len(p[2]) >= 3]
    for b in range(n):
        bt = Batch(out / f"b{b:02d}")
        chosen = rng.sample(pool, rng.randint(3, 5))
        for es, g, fs in chosen:
            pick = rng.sample(fs, 3)
            for k, f in enumerate(pick[:2]):
                bt.add(f"{g}_{k}.jpg", rgb_of(es, f), f"{es.name}:{g}")
            bt.add(f"{g}_closeup.jpg", close_up(rgb_of(es, pick[2]), rng), f"{es.name}:{g}")
        for es, g, f in lone_photos(pool, {(e.name, g) for e, g, _ in chosen}, rng, rng.randint(0, 2)):
            bt.add(f"lone_{g}.jpg", rgb_of(es, f), None)
        bt.close()


def build_oblique(root, out, n, rng):
    st, by_st = load(root, "strecha")
    wx, by_wx = load(root, "wxbs")
    geo = [g for g in by_wx if any(t in g for t in ("WGABS", "WGALBS", "evd_"))]
    for b in range(n):
        bt = Batch(out / f"b{b:02d}")
        for g, fs in by_st.items():
            fs = sorted(fs)
            ends = fs[:2] + fs[-2:] if rng.random() < 0.5 else [fs[0], fs[-1]]
            for f in ends:
                bt.add(f"{g}_{f}", rgb_of(st, f), f"strecha:{g}")
        chosen = rng.sample(geo, rng.randint(3, 6))
        for g in chosen:
            for f in by_wx[g][:2]:
                bt.add(f"{g}_{f}", rgb_of(wx, f), f"wxbs:{g}")
        for g in rng.sample([x for x in by_wx if x not in chosen], rng.randint(0, 2)):
            f = by_wx[g][0]
            bt.add(f"lone_{g}_{f}", rgb_of(wx, f), None)
        bt.close()


def build_daynight(root, out, n, rng):
    web, by_web = load(root, "webcam_a")
    dark: dict[str, list[str]] = {}
    light: dict[str, list[str]] = {}
    for g, fs in by_web.items():
        lum = sorted((brightness(web, f), f) for f in fs)
        top = lum[-1][0]
        dark[g] = [f for v, f in lum if v < 0.5 * top][:6]
        light[g] = [f for _, f in lum[-10:]]
    tr, by_tr = load(root, "triplets")
    night_tr = [g for g in by_tr if g in ("p0", "p1", "p2", "p3", "p8", "p9")]
    wx, by_wx = load(root, "wxbs")
    light_wx = [g for g in by_wx if any(t in g for t in ("WLABS", "WGLBS")) and len(by_wx[g]) >= 2]
    for b in range(n):
        bt = Batch(out / f"b{b:02d}")
        for g in by_web:
            if dark[g]:
                for f in rng.sample(light[g], 2) + rng.sample(dark[g], 1):
                    bt.add(f"{g}_{f}", rgb_of(web, f), f"webcam_a:{g}")
        for g in rng.sample(night_tr, rng.randint(2, 3)):
            for f in by_tr[g]:
                bt.add(f"{g}_{f}", rgb_of(tr, f), f"triplets:{g}")
        chosen = rng.sample(light_wx, rng.randint(3, 5))
        for g in chosen:
            for f in by_wx[g][:2]:
                bt.add(f"{g}_{f}", rgb_of(wx, f), f"wxbs:{g}")
        bt.close()


def build_days(root, out, n, rng):
    pool = [p for p in spots_pool(root) if len(p[2]) >= 3]
    for b in range(n):
        bt = Batch(out / f"b{b:02d}")
        with_gps = b % 2 == 0
        day0 = datetime(2026, 3, 2, 8, 0) + timedelta(days=rng.randint(0, 200))
        chosen = rng.sample(pool, rng.randint(3, 5))
        later = timedelta(days=rng.randint(7, 30), hours=rng.randint(0, 8))
        for k, (es, g, fs) in enumerate(chosen):
            pick = rng.sample(fs, min(len(fs), rng.randint(3, 5)))
            for i, f in enumerate(pick):
                t = day0 + timedelta(minutes=5 * k + i) + (later if i >= len(pick) // 2 else timedelta())
                gps = (SITE[0] + rng.uniform(-2e-4, 2e-4), SITE[1] + rng.uniform(-2e-4, 2e-4)) if with_gps else None
                bt.add(f"{g}_{i}.jpg", rgb_of(es, f), f"{es.name}:{g}", t, gps)
        bt.close()


def build_machines(root, out, n, rng):
    web = EvalSet.load(root / VAN[0])
    x0, y0, x1, y1 = VAN[2]
    van = decode_image(web.path(VAN[1]), 10000).rgb[y0:y1, x0:x1]
    pool = [p for p in spots_pool(root) if len(p[2]) >= 3 and p[1] != "courbevoie"]
    for b in range(n):
        bt = Batch(out / f"b{b:02d}")
        x, y, *others = rng.sample(pool, 4)
        (ex, gx, fx), (ey, gy, fy) = x, y
        two_and_one = b % 2 == 0
        px = rng.sample(fx, 3 if two_and_one else 2)
        py = rng.sample(fy, 1 if two_and_one else 2)
        for k, f in enumerate(px):
            img = rgb_of(ex, f)
            bt.add(f"{gx}_{k}.jpg", paste(img, van, rng) if k == 0 else img, f"{ex.name}:{gx}")
        for k, f in enumerate(py):
            img = rgb_of(ey, f)
            bt.add(f"{gy}_{k}.jpg", paste(img, van, rng) if k == 0 else img,
                   f"{ey.name}:{gy}" if len(py) > 1 else None)
        for es, g, fs in others:
            for k, f in enumerate(rng.sample(fs, 3)):
                bt.add(f"{g}_{k}.jpg", rgb_of(es, f), f"{es.name}:{g}")
        bt.close()


def build_from_devset(devsets: Path, name: str, out: Path, n: int, rng: random.Random) -> bool:
    """Batches of whole spots of ``devsets/<name>`` (3-5 spots of two photos or more) and
    lone photos of its other spots (:data:`DEVSET_SUBSETS`); False when the set's images are
    not built."""
    es = EvalSet.load(devsets / name)
    if not all(es.path(f).is_file() for f in es.files):
        return False
    by: dict[str, list[str]] = defaultdict(list)
    for f, g in zip(es.files, es.groups):
        by[g].append(f)
    spots = sorted(g for g, fs in by.items() if len(fs) >= 2)
    lo, hi = DEVSET_SUBSETS[name]
    for b in range(n):
        bt = Batch(out / f"b{b:02d}")
        chosen = rng.sample(spots, min(len(spots), rng.randint(3, 5)))
        for g in chosen:
            for f in by[g]:
                bt.add(f, rgb_of(es, f), f"{name}:{g}")
        rest = sorted(set(by) - set(chosen))
        for g in rng.sample(rest, min(len(rest), rng.randint(lo, hi))):
            f = rng.choice(by[g])
            bt.add(f, rgb_of(es, f), None)
        bt.close()
    return True


def build(root: Path, out: Path, n: int, seed: int, subsets, devsets: Path = REPO / "devsets") -> None:
    makers = {"zoom": build_zoom, "oblique": build_oblique, "daynight": build_daynight, "days": build_days,
              "machines": build_machines}
    for name in subsets:
        rng = random.Random(f"{seed}-{name}")
        if name in DEVSET_SUBSETS:
            if not build_from_devset(devsets, name, out / name, n, rng):
                print(f"{name}: skipped, devsets/{name}/images is not built (scripts/build_devsets.py)",
                      file=sys.stderr)
                continue
        else:
            makers[name](root, out / name, n, rng)
        print(f"{name}: {n} batches in {out / name}", file=sys.stderr)


def evaluate(out: Path, thorough: bool, subsets, json_out: str | None) -> dict:
    from edge_app.engine.pipeline import Pipeline
    from edge_app.engine.thorough import Thorough

    pipe = Pipeline()
    pipe.analyzer.load_models()
    # the thorough pass without the cascade (more pairs checked, machines) and with it
    modes = [("fast", "off"), ("checks", Thorough(None)), ("thorough", "on")] if thorough else [("fast", "off")]
    result: dict = {}
    for name in subsets:
        if not (out / name).is_dir():
            print(f"{name}: not built in {out}, skipped", file=sys.stderr)
            continue
        folders = sorted(p for p in (out / name).iterdir() if (p / "truth.json").is_file())
        rows: dict[str, list] = {m: [] for m, _ in modes}
        for folder in folders:
            truth = json.loads((folder / "truth.json").read_text())
            files = sorted(truth)
            analyses, errors = pipe.analyzer.analyze_many([folder / f for f in files])
            if errors:
                raise SystemExit(f"unreadable: {errors}")
            for mode, arg in modes:
                pipe.pair_cache.clear()
                t0 = time.perf_counter()
                res = pipe.group_analysed([folder / f for f in files], analyses, thorough=arg)
                dt = time.perf_counter() - t0
                by = {p.name: lab for p, lab in zip(res.paths, res.labels)}
                lone = {f: f"lone:{f}" for f in files if truth[f] is None}
                r = score_grouping([by.get(f) for f in files], [truth[f] or lone[f] for f in files])
                r |= {"seconds": dt, "thorough_s": res.result.timings.get("thorough_s", 0.0),
                      "links": res.result.timings.get("thorough_cascade_links", 0),
                      "band": res.result.timings.get("thorough_band_pairs", 0)}
                rows[mode].append(r)
        result[name] = {m: summarise(v, ("ari", "precision", "recall", "moves", "exact", "seconds", "thorough_s",
                                         "links", "band")) for m, v in rows.items()}
        for m, s in result[name].items():
            print(f"{name:9s} {m:9s} ARI {s['ari']:.3f}  precision {s['precision']:.3f}  recall {s['recall']:.3f}  "
                  f"moves {s['moves']:.2f}  exact {s['exact']:.2f}  s/batch {s['seconds']:.2f}"
                  + (f"  thorough {s['thorough_s']:.2f} s, band {s['band']:.1f}, links {s['links']:.2f}"
                     if m != "fast" else ""), flush=True)
    if json_out:
        Path(json_out).write_text(json.dumps(result, indent=1))
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("out")
    b.add_argument("--eval", default=str(REPO.parent / "shared" / "eval"))
    b.add_argument("--batches", type=int, default=10)
    b.add_argument("--seed", type=int, default=5)
    b.add_argument("--subsets", default=",".join(SUBSETS))
    b.add_argument("--devsets", default=str(REPO / "devsets"), help="where scripts/build_devsets.py built its sets")
    e = sub.add_parser("eval")
    e.add_argument("out")
    e.add_argument("--thorough", action="store_true", help="also with the thorough pass (cascade on)")
    e.add_argument("--subsets", default=",".join(SUBSETS))
    e.add_argument("--json")
    args = ap.parse_args(argv)
    subsets = args.subsets.split(",")
    if args.cmd == "build":
        build(Path(args.eval), Path(args.out), args.batches, args.seed, subsets, Path(args.devsets))
    else:
        evaluate(Path(args.out), args.thorough, subsets, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
