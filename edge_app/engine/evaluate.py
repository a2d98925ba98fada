"""Scoring a grouping against ground truth, and the batch protocol of the eval sets.

The protocol (``../shared/eval/README.md``) imitates site visits: each batch has 10-30
photos, several spots with 3-6 shots each (pairs where a set only has pairs) and 0-2 lone
photos. Unassigned photos count as singletons. Metrics per batch:

* ARI: adjusted Rand index,
* pairwise precision / recall / F1 over same-group pairs,
* moves: photos a person must move to fix the batch (N minus the best one-to-one overlap
  of predicted and true groups, Hungarian assignment),
* exact: 1 when no move is needed.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Hashable, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score

from ..versions import describe, engine_versions


def _as_partition(labels: Sequence[Hashable | None]) -> list:
    """Replace None (unassigned) by a unique singleton label."""
    return [("__single__", i) if lab is None else ("g", lab) for i, lab in enumerate(labels)]


def score_grouping(pred: Sequence[Hashable | None], truth: Sequence[Hashable | None]) -> dict:
    """Metrics of one batch. ``pred`` and ``truth`` are per-photo labels; None = alone.

    Returns dict with ari, precision, recall, f1, moves, exact, n.
    """
    if len(pred) != len(truth):
        raise ValueError("pred and truth must have the same length")
    n = len(pred)
    p = _as_partition(pred)
    t = _as_partition(truth)
    codes_p = {k: i for i, k in enumerate(dict.fromkeys(p))}
    codes_t = {k: i for i, k in enumerate(dict.fromkeys(t))}
    ip = np.array([codes_p[k] for k in p])
    it = np.array([codes_t[k] for k in t])
    ari = float(adjusted_rand_score(it, ip)) if n > 1 else 1.0
    same_p = ip[:, None] == ip[None, :]
    same_t = it[:, None] == it[None, :]
    iu = np.triu_indices(n, 1)
    sp, st = same_p[iu], same_t[iu]
    tp = int(np.sum(sp & st))
    precision = tp / max(1, int(sp.sum())) if sp.sum() else 1.0
    recall = tp / max(1, int(st.sum())) if st.sum() else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    cont = np.zeros((ip.max() + 1, it.max() + 1), np.int64)
    np.add.at(cont, (ip, it), 1)
    r, c = linear_sum_assignment(-cont)
    moves = int(n - cont[r, c].sum())
    return {"ari": ari, "precision": precision, "recall": recall, "f1": f1,
            "moves": moves, "exact": float(moves == 0), "n": n}


@dataclass
class EvalSet:
    """One eval set: ``root/images/*`` and ``root/groundtruth.csv`` (filename,group)."""

    root: Path
    files: list[str]
    groups: list[str]

    @property
    def name(self) -> str:
        return self.root.name

    @classmethod
    def load(cls, root: str | Path) -> "EvalSet":
        root = Path(root)
        with open(root / "groundtruth.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        files = [r["filename"] for r in rows]
        groups = [r["group"] for r in rows]
        return cls(root=root, files=files, groups=groups)

    def path(self, filename: str) -> Path:
        return self.root / "images" / filename


@dataclass
class Batch:
    """A sampled batch: file names and their true groups (lone photos keep their group name,
    which is unique in the batch, so they score as singletons)."""

    set_name: str
    files: list[str]
    truth: list[str]
    lone: list[str] = field(default_factory=list)


def sample_batch(es: EvalSet, rng: random.Random, size_range=(10, 30), shots=(3, 6), lone=(0, 2)) -> Batch:
    """Draw one batch following the protocol of ``../shared/eval/README.md``."""
    by_group: dict[str, list[str]] = defaultdict(list)
    for f, g in zip(es.files, es.groups):
        by_group[g].append(f)
    target = rng.randint(*size_range)
    order = list(by_group)
    rng.shuffle(order)
    files: list[str] = []
    truth: list[str] = []
    used: set[str] = set()
    for g in order:
        if len(files) >= target - 2:
            break
        members = by_group[g]
        if len(members) < 2:
            continue
        k = min(len(members), rng.randint(*shots))
        pick = rng.sample(members, k)
        files += pick
        truth += [g] * k
        used.add(g)
    rest = [g for g in order if g not in used]
    n_lone = min(rng.randint(*lone), len(rest))
    lone_files = []
    for g in rng.sample(rest, n_lone):
        f = rng.choice(by_group[g])
        files.append(f)
        truth.append(g)
        lone_files.append(f)
    return Batch(set_name=es.name, files=files, truth=truth, lone=lone_files)


def sample_batches(sets: Sequence[EvalSet], n_batches: int = 10, seed: int = 7) -> list[Batch]:
    """``n_batches`` per set, one random stream seeded once, sets in the order given."""
    rng = random.Random(seed)
    return [sample_batch(es, rng) for es in sets for _ in range(n_batches)]


def summarise(rows: list[dict], keys=("ari", "precision", "recall", "f1", "moves", "exact", "seconds")) -> dict:
    """Mean of each metric over rows (batches)."""
    out = {}
    for k in keys:
        vals = [r[k] for r in rows if k in r]
        if vals:
            out[k] = float(np.mean(vals))
    if rows and "seconds" in rows[0]:
        out["median_seconds"] = float(np.median([r["seconds"] for r in rows]))
    out["batches"] = len(rows)
    return out


def run_eval(set_dirs, batches: int = 10, seed: int = 7, settings=None, progress=None, thorough: str = "off") -> dict:
    """The ``edge-app eval`` command: sample batches, group each as a fresh folder (models
    loaded once, no feature cache), score. thorough: the thorough pass's mode
    (:data:`edge_app.engine.pipeline.THOROUGH_MODES`). Returns {"rows", "summary", "text"}."""
    import time

    from .pipeline import Pipeline

    sets = [EvalSet.load(d) for d in set_dirs]
    pipe = Pipeline(settings)
    pipe.analyzer.load_models()
    rows = []
    for k, b in enumerate(sample_batches(sets, batches, seed)):
        es = next(s for s in sets if s.name == b.set_name)
        pipe.pair_cache.clear()
        t0 = time.perf_counter()
        res = pipe.group_paths([es.path(f) for f in b.files], thorough=thorough)
        dt = time.perf_counter() - t0
        by_name = {p.name: lab for p, lab in zip(res.paths, res.labels)}
        pred = [by_name.get(f) for f in b.files]
        r = score_grouping(pred, b.truth) | {"set": b.set_name, "seconds": dt,
                                              "thorough_s": res.timings.get("thorough_s", 0.0)}
        rows.append(r)
        if progress:
            print(f"batch {k + 1}/{len(sets) * batches} {b.set_name}: n={r['n']} ARI {r['ari']:.3f} "
                  f"moves {r['moves']} {dt:.2f} s", file=progress, flush=True)
    keys = ("ari", "precision", "recall", "f1", "moves", "exact", "seconds", "thorough_s")
    per = {s.name: summarise([r for r in rows if r["set"] == s.name], keys) for s in sets}
    overall = summarise(rows, keys)
    head = f"{'set':12s} {'ARI':>6s} {'prec':>6s} {'recall':>6s} {'F1':>6s} {'moves':>6s} {'exact':>6s} {'s/batch':>8s}"
    lines = [head]
    for name, m in list(per.items()) + [("overall", overall)]:
        lines.append(f"{name:12s} {m['ari']:6.3f} {m['precision']:6.3f} {m['recall']:6.3f} {m['f1']:6.3f} "
                     f"{m['moves']:6.2f} {m['exact']:6.2f} {m['median_seconds']:8.2f}")
    if thorough != "off":
        lines.append(f"thorough pass ({thorough}): {overall['thorough_s']:.2f} s per batch on average, "
                     f"included in s/batch")
    lines.append(f"measured with {describe()}")
    return {"rows": rows, "summary": {"sets": per, "overall": overall, "batches": batches, "seed": seed,
                                      "thorough": thorough, "versions": engine_versions()},
            "text": "\n".join(lines)}
