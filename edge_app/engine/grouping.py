"""Turn pairwise evidence into groups of photos of the same spot (pure maths, no I/O).

Stages:

1. :func:`pair_features` / :func:`pair_logits`: per pair of photos, the log-odds that they
   show the same spot, from a small logistic model over the embedding cosine, the
   geometric verification (inlier counts, how much of *each* frame the inliers cover)
   and, when both photos have them, GPS distance (capture time does not enter: before and
   after of one spot are often days or weeks apart, issue 11).
   :func:`mutual_best_bonus` then raises pairs that are each other's clear best match in
   the batch (a photo of a spot usually has its partner shot in the same visit) and have
   some geometric evidence of their own, and
   :func:`sigmoid` turns log-odds into probabilities. :func:`same_spot_probability` does
   all of it: every caller turns evidence into probabilities through it.
2. :func:`agglomerate`: average-linkage agglomerative clustering on that probability
   matrix: two groups merge while the *mean* probability over all their cross pairs stays
   above a threshold. A chain through one "during" shot survives (the during shot links
   well to both), but one ambiguous photo cannot glue two spots together (the mean over
   all cross pairs stays low). Groups fixed by a person are kept as they are: photos can
   join them, but two locked groups never merge and a locked photo never leaves.
3. :func:`assign_photo`: online assignment of one new photo to the existing groups.

:func:`connected_components`: which photos a chain of links joins (GPS sessions, the
likely-pair graph), numbered as SciPy's csgraph numbers them, without importing SciPy.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Callable, Hashable, Mapping, Sequence

import numpy as np

#: Cannot-link pairs (photos a person separated: never one group): int [C], int [C].
CannotLink = tuple[np.ndarray, np.ndarray]

#: Names of the pair features, in the order of :func:`pair_features` columns.
FEATURE_NAMES = ("bias", "cos", "log_excess_h", "log_excess_f", "coverage")

#: Inliers that chance alone gives a RANSAC fit among ``m`` tentative matches of two
#: unrelated photos: ``a + b * m`` (about the 50-90th percentile measured on unrelated
#: pairs of the dev sets; a homography is a tighter constraint than epipolar geometry).
CHANCE_H = (4.0, 0.1)
CHANCE_F = (7.0, 0.2)


@dataclass(frozen=True)
class PairModel:
    """Logistic model: p(same spot) = sigmoid(weights . features).

    weights: one per name in FEATURE_NAMES (fit on the dev eval sets by
                 ``scripts/fit_pair_model.py``; see docs/quality.md).
    gps_scale_m: metres over which GPS distance lowers the logit by ``gps_weight``
                 (only when both photos have a GPS fix).
    gps_weight: logit penalty per ``gps_scale_m`` of distance.
    context_weight, context_margin, context_floor: see :func:`mutual_best_bonus`. The
                 floor is a floor of real evidence: the pair's own log-odds must reach it
                 (-1.5: p 0.18; it was -6, p 0.0025, when the bonus joined two sites whose
                 own evidence was p 0.17 on unseen photos, issue 11).
    context_min_excess: the bonus raises only pairs whose own homography or epipolar
                 inliers exceed chance by at least this many (:func:`geometric_excess`):
                 being each other's best says nothing when neither photo has a real
                 partner in the batch.
    ambiguous_weight: what an inlier whose match is ambiguous (one of a repeated pattern)
                 is worth beside a distinct one (:func:`pair_features`, the look-alike
                 guard of issue 20); 1 turns the guard off.

    Capture time is not a term: a before/after pair of one spot shot days apart must
    group as if shot minutes apart (the penalty it replaced had no bound: two weeks took
    a p 0.95 pair to 0.01).
    """

    weights: tuple[float, ...] = (-8.85, 7.55, 0.92, 0.19, 3.22)
    context_weight: float = 2.43
    context_margin: float = 0.68
    context_floor: float = -1.5
    context_min_excess: float = 1.0
    ambiguous_weight: float = 1.0
    gps_scale_m: float = 50.0
    gps_weight: float = 1.0


def geometric_excess(matches, inliers_h, inliers_f) -> np.ndarray:
    """float64 [*S]: the larger of the homography and the epipolar inliers beyond what
    chance gives among that many matches (CHANCE_H, CHANCE_F); 0 without evidence."""
    m = np.asarray(matches, np.float64)
    ex_h = np.asarray(inliers_h, np.float64) - CHANCE_H[0] - CHANCE_H[1] * m
    ex_f = np.asarray(inliers_f, np.float64) - CHANCE_F[0] - CHANCE_F[1] * m
    return np.maximum(0.0, np.maximum(ex_h, ex_f))


def pair_features(
    cos: np.ndarray, matches: np.ndarray, inliers_h: np.ndarray, inliers_f: np.ndarray, coverage: np.ndarray,
    distinct: np.ndarray | None = None, ambiguous_weight: float = 1.0,
) -> np.ndarray:
    """Stack per-pair evidence into the feature matrix of :class:`PairModel`.

    All inputs are float arrays of one shape S (e.g. [N, N] or [M]); returns [*S, F]
    with the columns of FEATURE_NAMES.
    cos: embedding cosine in [-1, 1]; matches: tentative matches; inliers_h / inliers_f:
    inliers of the homography / fundamental matrix; coverage: min over the two frames of
    the inlier grid coverage, 0..1. Inlier counts enter as log(1 + inliers beyond what
    chance gives among that many matches), so many random matches earn nothing.

    The look-alike guard: ``distinct`` [*S] counts the inliers whose match is unambiguous
    (:attr:`edge_app.engine.vision.verify.PairScore.distinct`; negative where it was not
    measured: every inlier counts); each other inlier counts ``ambiguous_weight`` of one
    (:func:`ambiguity_scale`). Two different facades with the same rows of windows agree
    with one homography through dozens of matches, but hardly one of them is distinct.
    """
    cos = np.asarray(cos, np.float64)
    m = np.asarray(matches, np.float64)
    h, f = np.asarray(inliers_h, np.float64), np.asarray(inliers_f, np.float64)
    if distinct is not None and ambiguous_weight != 1.0:
        r = ambiguity_scale(h, f, distinct, ambiguous_weight)
        h, f = h * r, f * r
    ex_h = np.maximum(0.0, h - CHANCE_H[0] - CHANCE_H[1] * m)
    ex_f = np.maximum(0.0, f - CHANCE_F[0] - CHANCE_F[1] * m)
    return np.stack([np.ones_like(cos), cos, np.log1p(ex_h), np.log1p(ex_f), np.asarray(coverage, np.float64)], axis=-1)


def ambiguity_scale(inliers_h, inliers_f, distinct, ambiguous_weight: float) -> np.ndarray:
    """float64 [*S] in [ambiguous_weight, 1]: what an inlier is worth on average when the
    ``distinct`` ones (of the larger inlier set) count 1 and the others ``ambiguous_weight``;
    1 where ``distinct`` is negative (not measured) or there are no inliers."""
    inl = np.maximum(np.asarray(inliers_h, np.float64), np.asarray(inliers_f, np.float64))
    d = np.asarray(distinct, np.float64)
    d = np.where(d < 0, inl, np.minimum(d, inl))
    return np.where(inl > 0, (d + ambiguous_weight * (inl - d)) / np.maximum(inl, 1.0), 1.0)


def centre_cosine(G: np.ndarray) -> np.ndarray:
    """Cosine after subtracting the batch's mean embedding, from the Gram matrix alone.

    G: float [N, N], G[i, j] = e_i . e_j of unit embeddings. Returns the cosine of
    (e_i - m) and (e_j - m), m = mean of the e's: what all photos of the batch share (the
    look of the site, the light of the day) no longer counts as similarity. Batches of
    fewer than 3 photos are returned unchanged.
    """
    G = np.asarray(G, np.float64)
    n = G.shape[0]
    if n < 3:
        return G.copy()
    r = G.mean(1)
    C = G - r[:, None] - r[None, :] + G.mean()
    d = np.sqrt(np.maximum(np.diag(C), 1e-12))
    return C / np.outer(d, d)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


def pair_logits(
    features: np.ndarray,
    model: PairModel = PairModel(),
    gps_dist_m: np.ndarray | None = None,
) -> np.ndarray:
    """Log-odds of "same spot" for each pair, from the pair alone.

    features: [*S, F] (see :func:`pair_features`); gps_dist_m: [*S] metres, NaN where
    unknown (no penalty then). Returns float64 [*S].
    """
    logit = features @ np.asarray(model.weights, np.float64)
    if gps_dist_m is not None:
        d = np.nan_to_num(np.asarray(gps_dist_m, np.float64), nan=0.0)
        logit = logit - model.gps_weight * d / model.gps_scale_m
    return logit


def mutual_best_bonus(Z: np.ndarray, weight: float, margin: float, floor: float = -6.0, cap: float = 3.0,
                      eligible: np.ndarray | None = None) -> np.ndarray:
    """Extra log-odds for pairs that are each other's clear best match within a batch.

    Z: float [N, N] pair log-odds (diagonal ignored). For a pair (i, j) where j is i's
    highest-scoring photo and i is j's, and Z[i, j] exceeds both photos' second-best
    score by more than ``margin`` (and is above ``floor``), the bonus is
    ``weight * min(excess - margin, cap)``; all other entries are 0. This is Lowe's ratio
    test lifted from keypoints to photos: a shot whose partner is clearly better than
    everything else in the batch is likely its partner, even when day/night or season
    change leave little evidence. A photo without a finite second-best score (fewer than 3
    photos, or the others ruled out with -inf) gets no bonus: with one candidate, being the
    best says nothing. eligible: optional bool [N, N], the pairs that may get a bonus (those
    with geometric evidence of their own); every pair still counts for the best and
    second-best scores. Returns float64 [N, N], symmetric. (:func:`sparse_mutual_best_bonus`
    on every entry.)
    """
    Z = np.asarray(Z, np.float64)
    n = Z.shape[0]
    B = np.zeros((n, n))
    rows, cols = np.nonzero(~np.eye(n, dtype=bool))
    i, j, b = sparse_mutual_best_bonus(n, rows, cols, Z[rows, cols], weight, margin, floor, cap,
                                       None if eligible is None else np.asarray(eligible, bool)[rows, cols])
    B[i, j] = B[j, i] = b
    return B


def sparse_mutual_best_bonus(
    n: int, rows: np.ndarray, cols: np.ndarray, z: np.ndarray, weight: float, margin: float,
    floor: float = -6.0, cap: float = 3.0, eligible: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`mutual_best_bonus` from some entries of a symmetric [n, n] log-odds matrix.

    rows, cols, z: int / int / float [E], entries (row, col, log-odds), no diagonal; a pair
    may appear in both directions. The result is the dense rule's as long as each row's
    entries include its two largest values (and every value tied with the largest): the
    rest cannot change a row's best photo or second-best score. eligible: optional bool
    [E], whether the entry's pair may get a bonus (the same value in both directions).
    Returns (i, j, bonus): int, int, float64 [K], the pairs i < j that get a bonus.
    """
    none = (np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0))
    rows = np.asarray(rows, np.intp)
    cols = np.asarray(cols, np.intp)
    z = np.asarray(z, np.float64)
    if n < 3 or weight == 0.0 or len(z) == 0:
        return none
    order = np.lexsort((cols, -z, rows))  # by row, then largest first, then lowest column
    r, c, v = rows[order], cols[order], z[order]
    first = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
    best = np.full(n, -1, np.intp)
    best_z = np.full(n, -np.inf)
    second = np.full(n, -np.inf)
    best[r[first]] = c[first]
    best_z[r[first]] = v[first]
    best_ok = np.ones(n, bool)
    if eligible is not None:
        best_ok[r[first]] = np.asarray(eligible, bool)[order][first]
    has_second = (first + 1 < len(r)) & (r[np.minimum(first + 1, len(r) - 1)] == r[first])
    second[r[first[has_second]]] = v[first[has_second] + 1]
    i = np.arange(n)
    j = best
    mutual = (j > i) & (best[np.maximum(j, 0)] == i)
    i, j, zij = i[mutual], j[mutual], best_z[mutual]
    with np.errstate(invalid="ignore"):  # -inf - -inf: a row of ruled-out photos, no bonus
        excess = np.minimum(zij - second[i], zij - second[j])
        ok = (zij > floor) & (margin < excess) & (excess < np.inf) & best_ok[i]
    return i[ok], j[ok], weight * np.minimum(excess[ok] - margin, cap)


def same_spot_probability(
    cos: np.ndarray,
    matches: np.ndarray,
    inliers_h: np.ndarray,
    inliers_f: np.ndarray,
    coverage: np.ndarray,
    model: PairModel = PairModel(),
    gps_dist_m: np.ndarray | None = None,
    ruled_out: np.ndarray | None = None,
    radius_m: float = math.inf,
    batch: bool = False,
    bonus: np.ndarray | None = None,
    *,
    distinct: np.ndarray | None = None,
) -> np.ndarray:
    """p(same spot) from pair evidence: the one place where evidence becomes probability
    (the batch grouping, the online assignment and the pair model's fit all come here).

    cos, matches, inliers_h, inliers_f, coverage: float arrays of one shape S, see
    :func:`pair_features` (0 geometry for pairs that were not verified).
    gps_dist_m: [*S] metres between the photos, NaN where unknown; it lowers the log-odds
    (:func:`pair_logits`). Capture time never enters.
    ruled_out: bool [*S], pairs that can never be one spot (a photo without structure or
    keypoints: its look alone proves nothing): p = 0, and no part in the mutual-best bonus.
    radius_m: pairs farther apart than this by GPS get p = 0 (after the bonus).
    batch: S is [N, N], every pair of one batch (symmetric): pairs that are each other's
    clear best and have ``model.context_min_excess`` inliers beyond chance get
    :func:`mutual_best_bonus`, and the diagonal is 1.
    bonus: [*S] extra log-odds per pair instead (the mutual-best bonus of a batch whose
    pairs are given sparsely, :func:`sparse_mutual_best_bonus`).
    distinct: [*S] distinct inliers (negative: not measured), for the look-alike guard
    (``model.ambiguous_weight``, :func:`pair_features`).
    Returns float64 [*S].
    """
    X = pair_features(cos, matches, inliers_h, inliers_f, coverage, distinct, model.ambiguous_weight)
    Z = np.array(pair_logits(X, model, gps_dist_m), np.float64)  # an array even for one pair
    if ruled_out is not None:
        Z[np.asarray(ruled_out, bool)] = -np.inf
    if batch:
        Z = Z + mutual_best_bonus(Z, model.context_weight, model.context_margin, model.context_floor,
                                  eligible=geometric_excess(matches, inliers_h, inliers_f) >= model.context_min_excess)
    elif bonus is not None:
        Z = Z + bonus
    P = np.asarray(sigmoid(Z))
    if gps_dist_m is not None:
        P[np.nan_to_num(np.asarray(gps_dist_m, np.float64), nan=0.0) > radius_m] = 0.0
    P[~np.isfinite(Z)] = 0.0
    if batch:
        np.fill_diagonal(P, 1.0)
    return P


def agglomerate(
    P: np.ndarray,
    threshold: float = 0.5,
    locked: Sequence[Hashable | None] | None = None,
    min_size: int = 2,
    cannot: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[int | None]:
    """Average-linkage clustering of a probability matrix.

    P: float [N, N], symmetric, P[i, j] = p(photo i and j show the same spot); the
       diagonal is ignored; NaN (unknown) counts as 0.
    threshold: two clusters merge while the mean of P over their cross pairs >= threshold.
    locked: optional per-photo label of a group fixed by a person (None = free). Photos
       with the same locked label start as one cluster; two locked clusters never merge.
    min_size: clusters smaller than this become unassigned (None).
    cannot: optional (int [C], int [C]) cannot-link pairs: photos a person separated; two
       clusters holding the two photos of such a pair never merge (a pair inside one locked
       group is the person's own grouping and is kept).
    Returns one label per photo: cluster index (0..K-1, numbered by first photo) or None.
    (:func:`agglomerate_pairs` with every pair known.)
    """
    P = np.nan_to_num(np.asarray(P, np.float64), nan=0.0)
    i, j = np.triu_indices(P.shape[0], 1)
    return agglomerate_pairs(P.shape[0], i, j, P[i, j], threshold, locked, min_size, cannot=cannot)


def agglomerate_pairs(
    n: int,
    pairs_i: np.ndarray,
    pairs_j: np.ndarray,
    p: np.ndarray,
    threshold: float = 0.5,
    locked: Sequence[Hashable | None] | None = None,
    min_size: int = 2,
    more: Callable[[list[tuple[int, int]]], np.ndarray] | None = None,
    evidence: int = 0,
    seed: int = 0,
    cannot: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[int | None]:
    """Average-linkage clustering over the pairs that have a probability (sparse).

    n: photos; pairs_i, pairs_j, p: int, int, float [M], the known pairs (i != j, each
    unordered pair once) and p(same spot) of each; a pair that is not given is unknown.
    Clusters merge highest mean first while the mean p over their *known* cross pairs is
    >= threshold; clusters without a known cross pair never merge. ``locked`` and
    ``min_size`` as in :func:`agglomerate`, which this is when every pair is known (same
    merges in the same order: ties go to the lowest cluster indices).

    more, evidence: densify where it can change the answer. Before two clusters A and B
    merge, at least min(|A| |B|, evidence) of their cross pairs must be known; when fewer
    are, ``more(pairs)`` is asked for p of random unknown cross pairs (float [len(pairs)])
    and the merge is judged again. Two 100-photo clusters joined by one strong pair then cost
    ``evidence`` checks, not 10,000; a small cluster pair needs all its pairs, as the dense
    rule does. seed: of those random draws. Cost: O(M log M) plus the checks asked for.
    cannot: optional (int [C], int [C]), cannot-link pairs (a person's "these are not one
    spot"): clusters holding the two photos of one never merge, whatever their mean p (as
    two locked clusters). None or empty: the answer is exactly the one without.
    Returns one label per photo: cluster index (0..K-1, numbered by first photo) or None.
    """
    if locked is not None and len(locked) != n:
        raise ValueError(f"locked has {len(locked)} labels for {n} photos")
    # Initial clusters: one per locked label, one per free photo.
    members: list[list[int]] = []
    lock: list[bool] = []
    index: dict[Hashable, int] = {}
    cid = np.empty(n, np.intp)
    for i in range(n):
        lab = None if locked is None else locked[i]
        if lab is not None and lab in index:
            cid[i] = index[lab]
            members[cid[i]].append(i)
            continue
        cid[i] = len(members)
        if lab is not None:
            index[lab] = cid[i]
        members.append([i])
        lock.append(lab is not None)
    # Per cluster pair (a < b): [sum of p over known cross pairs, how many]; nbr[a][b] is nbr[b][a].
    nbr: list[dict[int, list] | None] = [{} for _ in members]
    known: set[tuple[int, int]] = set()
    for i, j, pij in zip(np.asarray(pairs_i).tolist(), np.asarray(pairs_j).tolist(), np.asarray(p, np.float64).tolist()):
        known.add((min(i, j), max(i, j)))
        a, b = int(cid[i]), int(cid[j])
        if a == b:
            continue
        st = nbr[a].get(b)
        if st is None:
            st = nbr[a][b] = nbr[b][a] = [0.0, 0]
        st[0] += pij
        st[1] += 1
    # Cluster pairs that may never merge (cannot-link), kept for the surviving clusters.
    apart: list[set[int]] | None = None
    if cannot is not None and len(cannot[0]):
        apart = [set() for _ in members]
        for x, y in zip(np.asarray(cannot[0]).tolist(), np.asarray(cannot[1]).tolist()):
            a, b = int(cid[x]), int(cid[y])
            if a != b:
                apart[a].add(b)
                apart[b].add(a)
    heap = [(-(st[0] / st[1]), a, b, st[1]) for a, d in enumerate(nbr) for b, st in d.items() if a < b]
    heapq.heapify(heap)
    rng = np.random.default_rng(seed)

    def unknown_cross_pairs(a: int, b: int, k: int) -> list[tuple[int, int]]:
        """Up to k random cross pairs of clusters a and b that are not known yet."""
        A, B = members[a], members[b]
        if len(A) * len(B) <= 4 * k + 64:
            pool = [(min(x, y), max(x, y)) for x in A for y in B]
            pool = [q for q in pool if q not in known]
            return [pool[t] for t in rng.permutation(len(pool))[:k]]
        out: set[tuple[int, int]] = set()
        for _ in range(50 * k):
            x, y = A[rng.integers(len(A))], B[rng.integers(len(B))]
            q = (min(x, y), max(x, y))
            if q not in known:
                out.add(q)
                if len(out) == k:
                    break
        return sorted(out)

    while heap:
        neg, a, b, cnt = heapq.heappop(heap)
        st = nbr[a].get(b) if nbr[a] is not None and nbr[b] is not None else None
        if st is None or st[1] != cnt or -(st[0] / st[1]) != neg:
            continue  # stale: the pair changed since this entry was pushed
        if lock[a] and lock[b]:
            continue
        if apart is not None and b in apart[a]:
            continue
        if -neg < threshold:
            break
        need = min(len(members[a]) * len(members[b]), evidence) if more is not None else 0
        if cnt < need:
            ask = unknown_cross_pairs(a, b, need - cnt)
            if ask:
                for q, pq in zip(ask, np.asarray(more(ask), np.float64).tolist()):
                    known.add(q)
                    st[0] += pq
                    st[1] += 1
                heapq.heappush(heap, (-(st[0] / st[1]), a, b, st[1]))
                continue
        # merge b into a (a < b: the lower index survives, as in the dense rule)
        for c, sc in nbr[b].items():
            if c == a:
                continue
            del nbr[c][b]
            sa = nbr[a].get(c)
            if sa is None:
                sa = nbr[a][c] = nbr[c][a] = [0.0, 0]
            sa[0] += sc[0]
            sa[1] += sc[1]
            x, y = min(a, c), max(a, c)
            heapq.heappush(heap, (-(sa[0] / sa[1]), x, y, sa[1]))
        del nbr[a][b]
        nbr[b] = None
        if apart is not None:
            for c in apart[b]:
                apart[c].discard(b)
                apart[c].add(a)
                apart[a].add(c)
            apart[b] = set()
        for i in members[b]:
            cid[i] = a
        members[a] += members[b]
        lock[a] = lock[a] or lock[b]
    labels: list[int | None] = [None] * n
    order = sorted((min(members[c]), c) for c in range(len(members)) if nbr[c] is not None)
    next_label = 0
    for _, c in order:
        if len(members[c]) < min_size and not lock[c]:
            continue
        for i in members[c]:
            labels[i] = next_label
        next_label += 1
    return labels


def assign_photo(
    p_new: np.ndarray,
    labels: Sequence[Hashable | None],
    threshold: float = 0.5,
    known: np.ndarray | None = None,
) -> tuple[Hashable | None, int | None, float]:
    """Online assignment of one new photo.

    p_new: float [N], p(same spot) between the new photo and each existing photo.
    labels: the existing photos' group labels (None = unassigned).
    known: optional bool [N], the photos whose p has evidence (verified); a group is then
    judged by the mean over its known photos only (a group with none is not a candidate).
    Returns (group, partner, score): ``group`` is the label of the existing group whose
    mean probability to the new photo is highest and >= threshold; else None. When no group
    takes it but an unassigned photo does (p >= threshold), ``partner`` is that photo's
    index, so the caller can open a new group of the two; else None. ``score`` is the
    winning mean probability (or partner probability, or the best seen).
    """
    p_new = np.asarray(p_new, np.float64)
    use = np.ones(len(p_new), bool) if known is None else np.asarray(known, bool)
    sums: dict[Hashable, list[float]] = {}
    for p, lab, u in zip(p_new.tolist(), labels, use.tolist()):
        if lab is not None and u:
            sums.setdefault(lab, []).append(p)
    best_lab, best = None, -1.0
    for lab, ps in sums.items():
        m = float(np.mean(ps))
        if m > best:
            best_lab, best = lab, m
    if best_lab is not None and best >= threshold:
        return best_lab, None, best
    free = [i for i, lab in enumerate(labels) if lab is None]
    if free:
        j = max(free, key=lambda i: p_new[i])
        if p_new[j] >= threshold:
            return None, j, float(p_new[j])
        best = max(best, float(p_new[j]))
    return None, None, max(best, 0.0)


def relabel_by_time(labels: Sequence[int | None], times: Sequence[float | None]) -> list[int | None]:
    """Renumber groups 0..K-1 by the earliest capture time of their photos (unknown last)."""
    first: dict[int, float] = {}
    for lab, t in zip(labels, times):
        if lab is None:
            continue
        tt = math.inf if t is None else float(t)
        first[lab] = min(first.get(lab, math.inf), tt)
    order = sorted(first, key=lambda lab: (first[lab], lab))
    remap = {lab: i for i, lab in enumerate(order)}
    return [None if lab is None else remap[lab] for lab in labels]


def group_members(labels: Sequence[Hashable | None]) -> Mapping[Hashable, list[int]]:
    out: dict[Hashable, list[int]] = {}
    for i, lab in enumerate(labels):
        if lab is not None:
            out.setdefault(lab, []).append(i)
    return out


def _component_roots_jump(parent: np.ndarray) -> np.ndarray:
    """``parent`` (intp [N], parent[x] <= x) with every node pointed at its root (a node that
    is its own parent), by pointer jumping. O(N log depth)."""
    while True:
        up = parent[parent]
        if np.array_equal(up, parent):
            return parent
        parent = up


def component_roots(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """intp [n]: the lowest node of each node's component in the undirected graph on nodes
    0..n-1 with edges (i[k], j[k]) (int [E] each; repeats and self-loops allowed).

    Hooking and shortcutting: each round points the higher root of every edge whose ends
    have different roots at the lower one (parents only ever point lower, so the lowest
    node of a component is always a root and ends up the root of all of it)."""
    parent = np.arange(n, dtype=np.intp)
    i, j = np.asarray(i, np.intp), np.asarray(j, np.intp)
    while True:
        ri, rj = parent[i], parent[j]
        apart = ri != rj
        if not apart.any():
            return parent
        lo, hi = np.minimum(ri[apart], rj[apart]), np.maximum(ri[apart], rj[apart])
        np.minimum.at(parent, hi, lo)
        parent = _component_roots_jump(parent)


def connected_components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """intp [n]: component label of each node of the undirected graph on nodes 0..n-1 with
    edges (i[k], j[k]) (int [E] each). Labels are 0..C-1, components numbered in the order
    of their lowest node (as SciPy's ``connected_components(directed=False)`` numbers them)."""
    roots = component_roots(n, i, j)
    return np.unique(roots, return_inverse=True)[1].astype(np.intp, copy=False).reshape(n)
