"""Probe: stronger checks for the undecided band (issue 11), measured on the dev sets.

    .venv/bin/python scripts/probe_cascade.py [--eval ../shared/eval] [--batches 20] [--seed 7]
        [--stage all|engine|pairs|report] [--matchers xfeat1,xfeat-ms,aliked-lg] [--vehicles]

1. **engine**: analyses every photo of strecha, wxbs, triplets and webcam_a with the app's own
   Pipeline, groups batches sampled exactly like ``edge_app.engine.evaluate`` (``--batches`` per set,
   ``--seed``) with ``group_analyses``, and collects three pair populations:

   (a) ``missed``: true pairs the engine left apart in a batch (p < 0.5 or not linked);
   (b) ``shared``: "same structure, different spot" pairs: strecha fountain vs entry (the
       fountain stands in front of the entry building), plus the two wxbs pairs whose labels
       differ but which show the same building (kyiv, ministry; reported, not tuned on);
   (c) ``unrelated``: other pairs of different spots: every one that fell in the undecided
       band in some batch, plus a random sample of the rest.

   A pair is in the *undecided band* when it was not linked and p >= 0.1, or its embedding
   cosine is in the top 10 % of the batch's different-spot pairs while p < 0.9 (strong cosine,
   weak geometry), or it is linked with p < 0.9.
2. **pairs**: for each candidate check, matches each pair and measures the evidence
   (:mod:`edge_app.engine.vision.cascade`): F inliers beyond chance, coverage, centre cover, hull
   areas, inliers left after masking the largest structure, relative rotation; CPU ms per pair
   and per photo.
3. **report**: distributions (median / p90 / p99) per population and the separation: recall of
   (a) at thresholds that admit <= 1 % / 2 % of (b) + (c), for single evidence and for the
   combined rule. Written to ``.cache/probe_cascade/report.md`` (and printed).

Candidates: ``xfeat1`` (the app's XFeat at 640 px on the whole frame, mutual NN: the baseline
"more keypoints"), ``xfeat-ms`` (whole frame + centre crop at 2x, every view against every
view), ``aliked-lg`` (ALIKED + LightGlue ONNX from ``export/lightglue.py``, when present).
Caches go to ``.cache/probe_cascade/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import os
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from edge_app.engine.evaluate import EvalSet, sample_batches  # noqa: E402

CACHE = Path(os.environ.get("PROBE_CACHE", REPO / ".cache" / "probe_cascade"))
SETS = ("strecha", "wxbs", "triplets", "webcam_a")
#: wxbs groups whose labels differ but which show one building (PROVENANCE: unverified).
SAME_BUILDING = ({"wxbs_WGABS_kyiv", "wxbs_WLABS_kyiv"}, {"wxbs_WGLBS_ministry", "wxbs_WLABS_ministry"})
DECODE_SIDE = 1280


def pair_kind(es_name: str, ga: str, gb: str) -> str:
    if ga == gb:
        return "true"
    if es_name == "strecha" and {ga, gb} == {"fountain", "entry"}:
        return "shared"
    if es_name == "wxbs" and any({ga, gb} == s for s in SAME_BUILDING):
        return "shared_wxbs"
    return "unrelated"


# ----------------------------------------------------------------------------- stage 1: engine

def dense_p_cos(res, analyses) -> tuple[np.ndarray, np.ndarray]:
    """Dense P (the engine's GroupResult.P, dense or sparse) and the embedding cosine of
    every pair (not only the stored ones)."""
    P = res.P.toarray() if hasattr(res.P, "toarray") else np.asarray(res.P)
    E = np.stack([a.embedding for a in analyses]).astype(np.float64)
    return P, E @ E.T


def in_band(p: float, linked: bool, cos: float, cos_hi: float) -> bool:
    """The undecided band: not linked with p >= 0.1, linked with p < 0.9, or a strong look
    (cosine in the batch's top 10 % of different-spot pairs) with p < 0.9."""
    return (not linked and p >= 0.1) or (linked and p < 0.9) or (cos >= cos_hi and p < 0.9)


def stage_engine(eval_root: Path, n_batches: int, seed: int, n_random: int) -> dict:
    from edge_app.engine.group import group_analyses
    from edge_app.engine.pipeline import Pipeline

    sets = [EvalSet.load(eval_root / s) for s in SETS]
    pipe = Pipeline(cache_dir=CACHE / "features")
    analyses = {}
    t0 = time.perf_counter()
    for es in sets:
        res, errors = pipe.analyzer.analyze_many([es.path(f) for f in es.files])
        if errors:
            raise SystemExit(f"unreadable: {errors}")
        for f, a in zip(es.files, res):
            analyses[(es.name, f)] = a
    print(f"analysed {len(analyses)} photos in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    rows: dict[tuple, dict] = {}
    for b in sample_batches(sets, n_batches, seed):
        es = next(s for s in sets if s.name == b.set_name)
        group = dict(zip(es.files, es.groups))
        an = [analyses[(es.name, f)] for f in b.files]
        res = group_analyses(an, pipe.settings, pair_cache=pipe.pair_cache, workers=2)
        P, cos = dense_p_cos(res, an)
        n = len(b.files)
        diff = [(i, j) for i in range(n) for j in range(i + 1, n) if group[b.files[i]] != group[b.files[j]]]
        cos_hi = np.quantile([cos[i, j] for i, j in diff], 0.9) if diff else 1.0
        for i in range(n):
            for j in range(i + 1, n):
                fa, fb = sorted((b.files[i], b.files[j]))
                kind = pair_kind(es.name, group[fa], group[fb])
                p = float(P[i, j])
                linked = res.labels[i] is not None and res.labels[i] == res.labels[j]
                band = in_band(p, linked, cos[i, j], cos_hi)
                key = (es.name, fa, fb)
                r = rows.setdefault(key, {"set": es.name, "a": fa, "b": fb, "kind": kind, "cos": float(cos[i, j]),
                                          "p": [], "linked": [], "band": []})
                r["p"].append(p)
                r["linked"].append(bool(linked))
                r["band"].append(bool(band))
    pops = {"missed": [], "found": [], "shared": [], "shared_wxbs": [], "unrelated_band": [], "unrelated_rand": []}
    rest = []
    for r in rows.values():
        r["p_max"] = max(r["p"])
        r["ever_linked"] = any(r["linked"])
        r["ever_band"] = any(r["band"])
        if r["kind"] == "true":
            missed = any((not lk) or p < 0.5 for lk, p in zip(r["linked"], r["p"]))
            pops["missed" if missed else "found"].append(r)
        elif r["kind"] in ("shared", "shared_wxbs"):
            pops[r["kind"]].append(r)
        elif r["ever_band"]:
            pops["unrelated_band"].append(r)
        else:
            rest.append(r)
    random.Random(seed).shuffle(rest)
    pops["unrelated_rand"] = rest[:n_random]
    # all strecha fountain/entry pairs, not only those drawn together in a batch
    have = {(r["a"], r["b"]) for r in pops["shared"]}
    st = next(s for s in sets if s.name == "strecha")
    g = dict(zip(st.files, st.groups))
    for fa in st.files:
        for fb in st.files:
            if fa < fb and pair_kind("strecha", g[fa], g[fb]) == "shared" and (fa, fb) not in have:
                pops["shared"].append({"set": "strecha", "a": fa, "b": fb, "kind": "shared", "cos": None, "p": [],
                                       "linked": [], "band": [], "p_max": None, "ever_linked": False,
                                       "ever_band": False, "not_in_batch": True})
    summary = {k: len(v) for k, v in pops.items()}
    summary["missed_in_band"] = sum(r["ever_band"] for r in pops["missed"])
    summary["missed_by_set"] = {s: sum(r["set"] == s for r in pops["missed"]) for s in SETS}
    summary["true_pairs_seen"] = len(pops["missed"]) + len(pops["found"])
    summary["shared_linked_by_engine"] = sum(r["ever_linked"] for r in pops["shared"])
    out = {"summary": summary, "pops": pops, "seed": seed, "batches": n_batches}
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "engine.json").write_text(json.dumps(out, indent=0))
    print(json.dumps(summary, indent=1), file=sys.stderr)
    return out


# ----------------------------------------------------------------------------- stage 2: pairs

class Photos:
    """Decoded photos (long side DECODE_SIDE) and per-matcher features, cached in memory."""

    def __init__(self, eval_root: Path):
        self.root = eval_root
        self.rgb: dict = {}
        self.feats: dict = {}
        self.feat_s: dict = {}

    def image(self, set_name: str, f: str) -> np.ndarray:
        from edge_app.engine.decode import decode_image

        k = (set_name, f)
        if k not in self.rgb:
            self.rgb[k] = decode_image(self.root / set_name / "images" / f, DECODE_SIDE).rgb
        return self.rgb[k]

    def features(self, name: str, matcher, set_name: str, f: str):
        """Per-photo features, cached in memory and (pickled) on disk."""
        import pickle

        name = name.removesuffix("-int8")  # the int8 matcher reads the same ALIKED features
        k = (name, set_name, f)
        if k not in self.feats:
            path = CACHE / "photo_features" / name / set_name / (f + ".pkl")
            if path.is_file():
                self.feats[k] = pickle.loads(path.read_bytes())
            else:
                img = self.image(set_name, f)
                t0 = time.perf_counter()
                self.feats[k] = matcher.features(img)
                self.feat_s.setdefault(name, []).append(time.perf_counter() - t0)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(pickle.dumps(self.feats[k]))
        return self.feats[k]


def make_matchers(names: list[str]) -> dict:
    from edge_app.engine.vision.cascade import AlikedLightGlue, MultiScaleXFeat, lightglue_available

    out = {}
    for n in names:
        if n == "xfeat1":
            m = MultiScaleXFeat(zooms=(1.0,), max_side=640, keypoints=2000, threads=2)
            m.kind = "xfeat1"
            out[n] = m
        elif n == "xfeat-ms":
            out[n] = MultiScaleXFeat(zooms=(1.0, 2.0), max_side=640, keypoints=1000, threads=2)
        elif n == "xfeat-ms3":
            m = MultiScaleXFeat(zooms=(1.0, 2.0, 3.0), max_side=640, keypoints=1000, threads=2)
            m.kind = "xfeat-ms3"
            out[n] = m
        elif n.startswith("aliked512-lg"):  # ALIKED at 512x384 (export/lightglue.py --sizes 512x384,384x512)
            d = REPO / "export" / "_work" / "lightglue_512"
            if not lightglue_available(d):
                print(f"{n}: ONNX files absent in {d}; skipped", file=sys.stderr)
                continue
            parts = n.split("-")
            out[n] = AlikedLightGlue(d, keypoints=int(parts[2]) if len(parts) > 2 else 512, int8=False, threads=2)
        elif n.startswith("aliked-lg"):
            if not lightglue_available():
                print("aliked-lg: ONNX files absent (run export/lightglue.py); skipped", file=sys.stderr)
                continue
            parts = n.split("-")  # aliked-lg-<keypoints>[-int8]
            k = int(parts[2]) if len(parts) > 2 else 512
            out[n] = AlikedLightGlue(keypoints=k, int8=n.endswith("-int8"), threads=2)
        else:
            raise SystemExit(f"unknown matcher {n}")
    return out


def stage_pairs(eval_root: Path, names: list[str], limit: int | None, pops: list[str] | None = None) -> dict:
    """Match every pair of the populations with each matcher; the matched points go to
    ``matches-<name>.npz`` (so evidence can be recomputed without matching again) and the
    timings to ``pairs-<name>.json``."""
    eng = json.loads((CACHE / "engine.json").read_text())
    photos = Photos(eval_root)
    matchers = make_matchers(names)
    done = {}
    for name, m in matchers.items():
        out_path = CACHE / f"pairs-{name}.json"
        npz = CACHE / f"matches-{name}.npz"
        res = json.loads(out_path.read_text()) if out_path.is_file() else {"rows": {}, "pair_ms": [], "photo_ms": []}
        store = dict(np.load(npz)) if npz.is_file() else {}
        for pop, rows in eng["pops"].items():
            if pops and pop not in pops:
                continue
            if pop == "found":  # a sample is enough: the engine links these already
                rows = random.Random(0).sample(rows, min(60, len(rows)))
            for r in rows[:limit] if limit else rows:
                key = f"{r['set']}|{r['a']}|{r['b']}"
                if key in res["rows"]:
                    continue
                fa = photos.features(name, m, r["set"], r["a"])
                fb = photos.features(name, m, r["set"], r["b"])
                t0 = time.perf_counter()
                pa, pb = m.match(fa, fb)
                res["pair_ms"].append(1000 * (time.perf_counter() - t0))
                res["rows"][key] = {"pop": pop, "size_a": list(fa.size), "size_b": list(fb.size)}
                store[key] = np.concatenate([pa, pb], 1).astype(np.float32)
            print(f"{name} {pop}: {len(rows)} pairs", file=sys.stderr, flush=True)
            np.savez(npz, **store)
            out_path.write_text(json.dumps(res | {"photo_ms": res["photo_ms"] + [
                1000 * s for s in photos.feat_s.get(name, [])]}))
        res["photo_ms"] += [1000 * s for s in photos.feat_s.get(name, [])]
        done[name] = res
        out_path.write_text(json.dumps(res))
    return done


def evidence_rows(name: str, res: dict) -> dict:
    """Geometry evidence of every stored pair of one matcher (cached in evidence-<name>.json)."""
    from edge_app.engine.vision.cascade import geometry_evidence

    npz = CACHE / f"matches-{name}.npz"
    cache = CACHE / f"evidence-{name}.json"
    stamp = npz.stat().st_mtime if npz.is_file() else 0
    if cache.is_file():
        c = json.loads(cache.read_text())
        if c.get("stamp") == stamp and c.get("code") == EVIDENCE_VERSION:
            return c["rows"]
    if not npz.is_file():
        return {k: r for k, r in res["rows"].items() if "inliers" in r}
    store = np.load(npz)
    rows = {}
    for k, r in res["rows"].items():
        pm = store[k].astype(np.float64)
        g = geometry_evidence(pm[:, :2], pm[:, 2:], tuple(r["size_a"]), tuple(r["size_b"]))
        rows[k] = {"pop": r["pop"], **g.as_dict()}
    cache.write_text(json.dumps({"stamp": stamp, "code": EVIDENCE_VERSION, "rows": rows}))
    return rows


#: Bump when geometry_evidence changes, so stored evidence is recomputed.
EVIDENCE_VERSION = 4


def load_pairs() -> dict:
    """Every matcher's rows: ``pairs-<name>.json`` files (and an older combined pairs.json)."""
    done = json.loads((CACHE / "pairs.json").read_text()) if (CACHE / "pairs.json").is_file() else {}
    for p in sorted(CACHE.glob("pairs-*.json")):
        done[p.stem[len("pairs-"):]] = json.loads(p.read_text())
    return done


# ----------------------------------------------------------------------------- stage 3: report

def q(v, p):
    v = [x for x in v if x == x]
    return float(np.quantile(v, p)) if v else float("nan")


def chance_fit(rows: list[dict]) -> tuple[float, float]:
    """a + b * matches at the 95th percentile of unrelated pairs (rough, two-parameter)."""
    m = np.array([r["matches"] for r in rows], float)
    i = np.array([r["inliers"] for r in rows], float)
    if len(m) < 10:
        return 12.0, 0.1
    b = 0.1
    a = float(np.quantile(i - b * m, 0.95))
    return max(a, 8.0), b


def separation(pos: list[float], neg: list[float], rates=(0.0, 0.01, 0.02)) -> dict:
    """Recall of pos at the smallest threshold admitting <= rate of neg (score >= thr)."""
    out = {}
    neg = np.sort(np.asarray(neg, float))
    pos = np.asarray(pos, float)
    for r in rates:
        k = int(np.floor(r * len(neg)))  # negatives allowed above the threshold
        thr = neg[len(neg) - k - 1] + 1e-9 if len(neg) > k else -np.inf
        out[f"recall@{int(r * 100)}%"] = float((pos > thr).mean()) if len(pos) else float("nan")
        out[f"thr@{int(r * 100)}%"] = float(thr)
    return out


def stage_report(names: list[str] | None = None) -> str:
    eng = json.loads((CACHE / "engine.json").read_text())
    done = load_pairs()
    lines = ["# probe_cascade report", "", "Engine populations: " + json.dumps(eng["summary"]), ""]
    band_keys = {f"{r['set']}|{r['a']}|{r['b']}" for rows in eng["pops"].values() for r in rows if r.get("ever_band")}
    for name, res in done.items():
        if names and name not in names:
            continue
        rows = evidence_rows(name, res)
        a, b = chance_fit([r for r in rows.values() if r["pop"].startswith("unrelated")])
        ua = [r for r in rows.values() if r["pop"].startswith("unrelated")]
        ca = max(8.0, q([r["consistent"] for r in ua], 0.95))
        by = {}
        for k, r in rows.items():
            r["excess"] = max(0.0, r["inliers"] - a - b * r["matches"])
            r["excess_c"] = max(0.0, r["consistent"] - ca)
            by.setdefault(r["pop"], []).append(r | {"key": k})
        unrel = by.get("unrelated_band", []) + by.get("unrelated_rand", [])
        lines += [f"## {name}", "",
                  f"CPU ms: per photo median {q(res['photo_ms'], 0.5):.0f} (min {min(res['photo_ms'] or [0]):.0f}), "
                  f"per pair median {q(res['pair_ms'], 0.5):.0f} (min {min(res['pair_ms'] or [0]):.0f}); "
                  f"chance inliers ~ {a:.1f} + {b:.2f} x matches", "",
                  "| population | n | F inliers med / p90 / p99 | excess med / p90 / p99 | coverage med | centre med | "
                  "centre_dist med | area_min med | rest_inliers med / p90 | axis deg med | consistent med / p90 / p99 | consistency med | centre2 / centre3 med | centre_dist_c med |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for pop in ("missed", "found", "shared", "shared_wxbs", "unrelated_band", "unrelated_rand"):
            rs = by.get(pop, [])
            if not rs:
                continue
            col = lambda k: [r[k] for r in rs]  # noqa: E731
            lines.append(
                f"| {pop} | {len(rs)} | {q(col('inliers'), .5):.0f} / {q(col('inliers'), .9):.0f} / {q(col('inliers'), .99):.0f} "
                f"| {q(col('excess'), .5):.0f} / {q(col('excess'), .9):.0f} / {q(col('excess'), .99):.0f} "
                f"| {q(col('coverage'), .5):.2f} | {q(col('centre'), .5):.2f} | {q(col('centre_dist'), .5):.3f} "
                f"| {q(col('area_min'), .5):.3f} | {q(col('rest_inliers'), .5):.0f} / {q(col('rest_inliers'), .9):.0f} "
                f"| {q(col('axis_deg'), .5):.0f} | {q(col('consistent'), .5):.0f} / {q(col('consistent'), .9):.0f} / "
                f"{q(col('consistent'), .99):.0f} | {q(col('consistency'), .5):.2f} | "
                f"{q(col('centre2'), .5):.2f} / {q(col('centre3'), .5):.2f} | {q(col('centre_dist_c'), .5):.3f} |")
        pos = by.get("missed", [])
        pos_band = [r for r in pos if r["key"] in band_keys]
        neg = by.get("shared", []) + unrel
        lines += ["", f"Separation: positives = missed true pairs ({len(pos)}; {len(pos_band)} in the band), "
                  f"negatives = shared ({len(by.get('shared', []))}) + unrelated ({len(unrel)}).", "",
                  "| score | recall@0% | recall@1% | recall@2% | recall in band @2% | thr@2% | shared admitted @2% |",
                  "|---|---|---|---|---|---|---|"]

        def score_fns():
            yield "excess inliers", lambda r: r["excess"]
            yield "excess x coverage", lambda r: r["excess"] * r["coverage"]
            yield "excess x centre", lambda r: r["excess"] * r["centre"]
            yield "excess if centre >= 0.25", lambda r: r["excess"] if r["centre"] >= 0.25 else 0.0
            yield "excess if centre >= 0.375", lambda r: r["excess"] if r["centre"] >= 0.375 else 0.0
            yield "excess if centre_dist == 0", lambda r: r["excess"] if r["centre_dist"] <= 0.0 else 0.0
            yield "rest inliers", lambda r: r["rest_inliers"]
            yield "excess if axis < 30 deg", lambda r: r["excess"] if r["axis_deg"] == r["axis_deg"] and r["axis_deg"] < 30 else 0.0
            yield "min(excess, 4 x rest)", lambda r: min(r["excess"], 4 * r["rest_inliers"])
            yield "consistent inliers", lambda r: r["consistent"]
            for c in ("centre2", "centre3"):
                for t in (0.25, 0.5):
                    yield f"excess if {c} >= {t}", lambda r, c=c, t=t: r["excess"] if r[c] >= t else 0.0
            yield "excess if centre_dist_c == 0", lambda r: r["excess"] if r["centre_dist_c"] <= 0.0 else 0.0
            yield "excess if centre_dist_c <= 0.05", lambda r: r["excess"] if r["centre_dist_c"] <= 0.05 else 0.0
            yield "consistent if centre >= 0.25", lambda r: r["consistent"] if r["centre"] >= 0.25 else 0.0
            yield "consistent if centre >= 0.375", lambda r: r["consistent"] if r["centre"] >= 0.375 else 0.0
            yield "consistent x centre", lambda r: r["consistent"] * r["centre"]
            yield "excess x consistency", lambda r: r["excess"] * r["consistency"]
            yield "excess x consistency if centre >= 0.25", lambda r: (r["excess"] * r["consistency"]
                                                                      if r["centre"] >= 0.25 else 0.0)

        shared = by.get("shared", [])
        for label, fn in score_fns():
            s = separation([fn(r) for r in pos], [fn(r) for r in neg])
            sb = separation([fn(r) for r in pos_band], [fn(r) for r in neg])
            adm = sum(fn(r) > s["thr@2%"] for r in shared)
            lines.append(f"| {label} | {s['recall@0%']:.2f} | {s['recall@1%']:.2f} | {s['recall@2%']:.2f} | {sb['recall@2%']:.2f} | "
                         f"{s['thr@2%']:.1f} | {adm}/{len(shared)} |")
        # the recommended rule: recall against the number of false links it admits
        rule = lambda r: r["excess"] if r["centre"] >= 0.375 else 0.0  # noqa: E731
        negs = sorted((rule(r) for r in neg), reverse=True)
        lines += ["", "Rule `excess if centre >= 0.375`: false links admitted (of "
                  f"{len(neg)}) -> threshold, recall of missed (in band), shared admitted", ""]
        for k in (0, 1, 2, 5, 10, 20):
            thr = negs[k] if k < len(negs) else 0.0
            rec = np.mean([rule(r) > thr for r in pos]) if pos else float("nan")
            recb = np.mean([rule(r) > thr for r in pos_band]) if pos_band else float("nan")
            sh = sum(rule(r) > thr for r in shared)
            lines.append(f"- {k} false: excess > {thr:.1f}: recall {rec:.2f} ({recb:.2f} in band), shared {sh}/{len(shared)}")
        lines.append("")
    text = "\n".join(lines)
    (CACHE / "report.md").write_text(text)
    return text


def stage_simulate(eval_root: Path, name: str, n_batches: int, seed: int, min_excess: float, min_centre: float,
                   p_link: float = 0.95) -> str:
    """Group batches as the app does, then let the cascade add links: every pair of the
    undecided band (decided without the truth: not linked with p >= 0.1, linked with p < 0.9,
    or a cosine in the batch's top 10 % with p < 0.9) is matched by ``name``; when its
    evidence passes the rule (excess >= min_excess and centre >= min_centre) its p is raised
    to ``p_link``; then average linkage (grouping.agglomerate) runs again. Reports ARI,
    precision, recall before / after per set, and the cascade's pairs and seconds per batch."""
    from edge_app.engine import grouping
    from edge_app.engine.evaluate import score_grouping
    from edge_app.engine.group import group_analyses
    from edge_app.engine.pipeline import Pipeline
    from edge_app.engine.vision.cascade import geometry_evidence

    sets = [EvalSet.load(eval_root / s) for s in SETS]
    pipe = Pipeline(cache_dir=CACHE / "features")
    matcher = make_matchers([name])[name]
    photos = Photos(eval_root)
    known = dict(evidence_rows(name, load_pairs()[name])) if (CACHE / f"pairs-{name}.json").is_file() else {}
    ua = [r for r in known.values() if r["pop"].startswith("unrelated")]
    ca, cb = chance_fit(ua) if ua else (CHANCE_DEFAULT.get(name, (25.0, 0.1)))
    extra_path = CACHE / f"simulate-{name}.json"
    extra = json.loads(extra_path.read_text()) if extra_path.is_file() else {}
    rows, t_match = [], []
    for b in sample_batches(sets, n_batches, seed):
        es = next(x for x in sets if x.name == b.set_name)
        an, errs = pipe.analyzer.analyze_many([es.path(f) for f in b.files])
        res = group_analyses(an, pipe.settings, pair_cache=pipe.pair_cache, workers=2)
        P, cos = dense_p_cos(res, an)
        n = len(an)
        iu = np.triu_indices(n, 1)
        cos_hi = float(np.quantile(cos[iu], 0.9)) if n > 1 else 1.0
        P2 = P.copy()
        band = added = wrong = 0
        t_batch = 0.0
        for i, j in zip(*iu):
            linked = res.labels[i] is not None and res.labels[i] == res.labels[j]
            if not in_band(float(P[i, j]), linked, float(cos[i, j]), cos_hi):
                continue
            band += 1
            fa_, fb_ = sorted((b.files[i], b.files[j]))
            key = f"{es.name}|{fa_}|{fb_}"
            r = known.get(key) or extra.get(key)
            if r is None:
                t0 = time.perf_counter()
                fa = photos.features(name, matcher, es.name, fa_)
                fb = photos.features(name, matcher, es.name, fb_)
                pa, pb = matcher.match(fa, fb)
                r = geometry_evidence(pa, pb, fa.size, fb.size, pose=False).as_dict()
                dt = time.perf_counter() - t0
                r["ms"] = 1000 * dt
                extra[key] = r
            t_batch += r.get("ms", 0.0) / 1000
            excess = max(0.0, r["inliers"] - ca - cb * r["matches"])
            if not linked and excess >= min_excess and r["centre"] >= min_centre:
                P2[i, j] = P2[j, i] = max(P2[i, j], p_link)
                added += 1
                wrong += b.truth[i] != b.truth[j]
                if b.truth[i] != b.truth[j]:
                    print(f"wrong link: {key} ({pair_kind(es.name, b.truth[i], b.truth[j])})", file=sys.stderr)
        before = grouping.agglomerate(P, pipe.settings.group_threshold, None, pipe.settings.min_group_size)
        after = grouping.agglomerate(P2, pipe.settings.group_threshold, None, pipe.settings.min_group_size)
        row = {"set": es.name, "n": n, "band": band, "added": added, "wrong": wrong}
        for tag, lab in (("engine", res.labels), ("before", before), ("after", after)):
            sc = score_grouping(lab, b.truth)
            row.update({f"{tag}_{k}": sc[k] for k in ("ari", "precision", "recall", "moves")})
        rows.append(row)
        t_match.append(t_batch)
    extra_path.write_text(json.dumps(extra))
    lines = [f"## cascade simulation: {name}, rule excess >= {min_excess} and centre >= {min_centre}, "
             f"p -> {p_link}; {n_batches} batches per set, seed {seed}", "",
             "| set | band pairs / batch | links added / batch (of them wrong) | ARI engine / before / after | "
             "precision before / after | recall before / after | moves before / after |", "|---|---|---|---|---|---|---|"]
    for sname in SETS + ("overall",):
        rs = [r for r in rows if sname == "overall" or r["set"] == sname]
        m = {k: float(np.mean([r[k] for r in rs])) for k in rs[0] if k not in ("set",)}
        lines.append(f"| {sname} | {m['band']:.1f} | {m['added']:.2f} ({m['wrong']:.2f}) | {m['engine_ari']:.3f} / {m['before_ari']:.3f} / "
                     f"{m['after_ari']:.3f} | {m['before_precision']:.3f} / {m['after_precision']:.3f} | "
                     f"{m['before_recall']:.3f} / {m['after_recall']:.3f} | {m['before_moves']:.2f} / {m['after_moves']:.2f} |")
    lines += ["", f"Cascade CPU per batch (matching the band pairs, features cached per photo): median "
              f"{np.median(t_match):.1f} s, max {np.max(t_match):.1f} s; ALIKED per photo median "
              f"{q([1000 * x for x in photos.feat_s.get(name, [])], .5):.0f} ms (new photos only)", ""]
    text = "\n".join(lines)
    with open(CACHE / "simulate.md", "a") as f:
        f.write(text + "\n")
    return text


def stage_latency(eval_root: Path, names: list[str], threads: int = 2) -> str:
    """CPU ms per photo (features) and per pair (match + geometry), min and median of 3 runs
    over 4 real photo pairs, with ``threads`` onnxruntime threads."""
    import os as _os

    from edge_app.engine.decode import decode_image
    from edge_app.engine.vision.cascade import geometry_evidence

    pairs = [("strecha", "fountain-P11_0000.jpg", "fountain-P11_0009.jpg"), ("wxbs", "EVD_adam_1.jpg", "EVD_adam_2.jpg"),
             ("triplets", "p7_i0.jpg", "p7_i2.jpg"), ("strecha", "entry-P10_0000.jpg", "fountain-P11_0010.jpg")]
    imgs = {(s_, f): decode_image(eval_root / s_ / "images" / f, DECODE_SIDE).rgb for s_, a_, b_ in pairs for f in (a_, b_)}
    lines = ["| matcher | threads | per photo ms min / median | per pair ms min / median |", "|---|---|---|---|"]
    for name in names:
        m = make_matchers([name]).get(name)
        if m is None:
            continue
        if hasattr(m, "xfeat"):
            m.xfeat = type(m.xfeat)(max_side=m.xfeat.max_side, threads=threads)
        elif hasattr(m, "aliked"):
            m.__init__(m.models_dir, keypoints=m.keypoints, int8=name.endswith("-int8"), threads=threads)
        tf, tp = [], []
        for rep in range(3):
            feats = {}
            for k, img in imgs.items():
                t0 = time.perf_counter()
                feats[k] = m.features(img)
                tf.append(time.perf_counter() - t0)
            for s_, a_, b_ in pairs:
                fa, fb = feats[(s_, a_)], feats[(s_, b_)]
                t0 = time.perf_counter()
                pa, pb = m.match(fa, fb)
                geometry_evidence(pa, pb, fa.size, fb.size, pose=False)
                tp.append(time.perf_counter() - t0)
        lines.append(f"| {name} | {threads} | {1000 * min(tf):.0f} / {1000 * np.median(tf):.0f} | "
                     f"{1000 * min(tp):.0f} / {1000 * np.median(tp):.0f} |")
    lines.append(f"\nload average while measuring: {_os.getloadavg()[0]:.1f}")
    return "\n".join(lines)


CHANCE_DEFAULT = {"aliked-lg-512": (25.3, 0.1), "xfeat-ms": (44.8, 0.1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--eval", default=str(REPO.parent / "shared" / "eval"))
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--random", type=int, default=300, help="random unrelated pairs outside the band")
    ap.add_argument("--stage", default="all", choices=("all", "engine", "pairs", "report", "simulate",
                                                                "latency"))
    ap.add_argument("--sim-matcher", default="aliked-lg-512")
    ap.add_argument("--min-excess", type=float, default=20.0)
    ap.add_argument("--min-centre", type=float, default=0.375)
    ap.add_argument("--matchers", default="xfeat1,xfeat-ms,aliked-lg")
    ap.add_argument("--limit", type=int, default=None, help="pairs per population (quick runs)")
    ap.add_argument("--pops", default=None, help="populations to match (comma separated; default all)")
    args = ap.parse_args(argv)
    root = Path(args.eval)
    if not root.is_dir():
        raise SystemExit(f"eval sets not found at {root}")
    names = args.matchers.split(",")
    if args.stage in ("all", "engine"):
        stage_engine(root, args.batches, args.seed, args.random)
    if args.stage in ("all", "pairs"):
        stage_pairs(root, names, args.limit, args.pops.split(",") if args.pops else None)
    if args.stage in ("all", "report"):
        print(stage_report())
    if args.stage == "latency":
        for th in (1, 2):
            print(stage_latency(root, names, th))
    if args.stage == "simulate":
        print(stage_simulate(root, args.sim_matcher, args.batches, args.seed, args.min_excess, args.min_centre))
    return 0


if __name__ == "__main__":
    sys.exit(main())
