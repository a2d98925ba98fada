"""Pairs of photos in one session: which get verified, their scores, their probabilities,
and the groups they make.

* :func:`candidate_pairs`: which pairs get geometric verification (all pairs of a small
  site; otherwise each photo's nearest photos by embedding), never pairs farther apart
  than the site radius when both have GPS.
* :func:`verify_candidates`: matching + RANSAC per pair (:mod:`edge_app.vision.verify`),
  with an optional pair cache keyed by both photos' content hashes.
* :func:`probability_matrix`: p(same spot) for every pair
  (:func:`edge_app.grouping.same_spot_probability`).
* :func:`group_analyses`: the above, densified inside linked sets, then
  :func:`edge_app.grouping.agglomerate` (groups, respecting groups fixed by a person).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Hashable, MutableMapping, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from . import grouping
from .analyze import PhotoAnalysis
from .config import Settings
from .metadata import haversine_m
from .vision.verify import PairScore, verify_two_step

PairCache = MutableMapping[tuple[str, str], PairScore]

#: A photo with fewer keypoints can never reach the 8 matches :func:`verify_pair` needs
#: (a blank wall, a black pocket shot): nothing can show that it is of any spot.
MIN_KEYPOINTS = 8


def no_spot(a: PhotoAnalysis) -> bool:
    """True for a photo that can never be part of a spot: too few keypoints, or almost no
    structure (noise, a flat field, a test pattern: :func:`edge_app.analyze.structure_score`).
    Such photos look alike to the embedding (two noise frames, two black frames), but
    nothing in them can show that they show one place."""
    return len(a.features) < MIN_KEYPOINTS or a.structure < 1.0


def cosine_matrix(analyses: Sequence[PhotoAnalysis], centred: bool = False) -> np.ndarray:
    """float64 [N, N] embedding cosine; ``centred``: after removing the batch mean
    (:func:`edge_app.grouping.centre_cosine`)."""
    if not analyses:
        return np.zeros((0, 0))
    E = np.stack([a.embedding for a in analyses]).astype(np.float64)
    G = E @ E.T
    return grouping.centre_cosine(G) if centred else G


def gps_distance_matrix(analyses: Sequence[PhotoAnalysis]) -> np.ndarray:
    """float64 [N, N] metres between photos; NaN where either has no GPS fix."""
    n = len(analyses)
    D = np.full((n, n), np.nan)
    for i in range(n):
        gi = analyses[i].meta.gps
        if gi is None:
            continue
        for j in range(i, n):
            gj = analyses[j].meta.gps
            if gj is not None:
                D[i, j] = D[j, i] = haversine_m(gi[:2], gj[:2])
    return D


def time_gap_matrix(analyses: Sequence[PhotoAnalysis]) -> np.ndarray:
    """float64 [N, N] seconds between capture times; NaN where either is unknown."""
    t = np.array([np.nan if a.meta.taken_at is None else a.meta.taken_at for a in analyses], np.float64)
    return np.abs(t[:, None] - t[None, :])


def candidate_pairs(cos: np.ndarray, settings: Settings, gps_dist: np.ndarray | None = None) -> list[tuple[int, int]]:
    """Pairs (i < j) to verify geometrically.

    All pairs when N <= settings.all_pairs_up_to; otherwise the union of each photo's
    ``settings.knn`` nearest photos by cosine. Pairs farther apart than
    ``settings.site_radius_m`` (both with GPS) are dropped.
    """
    n = cos.shape[0]
    far = np.zeros((n, n), bool)
    if gps_dist is not None:
        far = np.nan_to_num(gps_dist, nan=0.0) > settings.site_radius_m
    if n <= settings.all_pairs_up_to or settings.knn >= n - 1:
        return [(i, j) for i in range(n) for j in range(i + 1, n) if not far[i, j]]
    c = cos.copy()
    np.fill_diagonal(c, -np.inf)
    c[far] = -np.inf
    nn = np.argsort(-c, axis=1)[:, : settings.knn]
    pairs = set()
    for i in range(n):
        for j in nn[i]:
            if np.isfinite(c[i, j]):
                pairs.add((min(i, int(j)), max(i, int(j))))
    return sorted(pairs)


def _pair_key(a: PhotoAnalysis, b: PhotoAnalysis) -> tuple[str, str]:
    return (a.key, b.key) if a.key <= b.key else (b.key, a.key)


def verify_candidates(
    analyses: Sequence[PhotoAnalysis],
    pairs: Sequence[tuple[int, int]],
    settings: Settings,
    cache: PairCache | None = None,
    workers: int = 1,
) -> dict[tuple[int, int], PairScore]:
    """PairScore for each pair (i, j), from ``cache`` when present there."""
    out: dict[tuple[int, int], PairScore] = {}
    todo = []
    for i, j in pairs:
        hit = cache.get(_pair_key(analyses[i], analyses[j])) if cache is not None else None
        if hit is not None:
            out[(i, j)] = hit
        else:
            todo.append((i, j))

    def work(ij):
        i, j = ij
        a, b = analyses[i], analyses[j]
        if a.key > b.key:  # same orientation as the cache key, so results are symmetric
            return ij, verify_two_step(b.features, a.features, settings.verify).swapped()
        return ij, verify_two_step(a.features, b.features, settings.verify)

    with threadpool_limits(1):  # parallel over pairs, not inside each matrix product
        if workers > 1 and len(todo) > 8:
            with ThreadPoolExecutor(workers) as ex:
                results = list(ex.map(work, todo))
        else:
            results = [work(ij) for ij in todo]
    for (i, j), sc in results:
        out[(i, j)] = sc
        if cache is not None:
            cache[_pair_key(analyses[i], analyses[j])] = sc
    return out


def probability_matrix(
    cos: np.ndarray,
    scores: dict[tuple[int, int], PairScore],
    settings: Settings,
    gps_dist: np.ndarray | None = None,
    time_gap: np.ndarray | None = None,
    featureless: np.ndarray | None = None,
) -> np.ndarray:
    """float64 [N, N] p(same spot); pairs without verification count as 0 inliers.

    featureless: optional bool [N], photos that can never form a spot (:func:`no_spot`:
    fewer than MIN_KEYPOINTS keypoints, or almost no structure): their look alone (two
    black frames, two noise frames embed alike) never makes them a pair, so they get p = 0
    and take no part in the mutual-best bonus."""
    n = cos.shape[0]
    ev = np.zeros((4, n, n))  # matches, inliers_h, inliers_f, coverage
    for (i, j), sc in scores.items():
        ev[:, i, j] = ev[:, j, i] = (sc.matches, sc.inliers_h, sc.inliers_f, sc.coverage)
    ruled_out = None if featureless is None else featureless[:, None] | featureless[None, :]
    return grouping.same_spot_probability(cos, *ev, settings.pair_model, gps_dist, time_gap, ruled_out,
                                          settings.site_radius_m, batch=True)


@dataclass
class GroupResult:
    """Grouping of N analysed photos.

    labels: group index (0..K-1, in capture order) or None (unassigned), per photo.
    P:      float64 [N, N] pairwise same-spot probability.
    cos:    float64 [N, N] embedding cosine.
    scores: PairScore of each verified pair (i < j).
    """

    labels: list[int | None]
    P: np.ndarray
    cos: np.ndarray
    scores: dict[tuple[int, int], PairScore]
    timings: dict[str, float] = field(default_factory=dict)
    #: Site sessions (lists of photo indices) the photos were split into before grouping.
    sessions: list[list[int]] = field(default_factory=list)


def group_analyses(
    analyses: Sequence[PhotoAnalysis],
    settings: Settings | None = None,
    locked: Sequence[Hashable | None] | None = None,
    pair_cache: PairCache | None = None,
    workers: int = 1,
) -> GroupResult:
    """Group analysed photos; ``locked`` per photo: label of a group a person fixed, or None."""
    s = settings or Settings()
    t0 = time.perf_counter()
    cos = cosine_matrix(analyses, centred=s.centre_embeddings)
    gps = gps_distance_matrix(analyses)
    gap = time_gap_matrix(analyses)
    pairs = candidate_pairs(cos, s, gps)
    featureless = np.array([no_spot(a) for a in analyses], bool)
    t1 = time.perf_counter()
    scores = verify_candidates(analyses, pairs, s, pair_cache, workers)
    P = probability_matrix(cos, scores, s, gps, gap, featureless)
    # Densify: inside each set of photos linked by likely pairs, verify the pairs the
    # nearest-neighbour pruning skipped, so a large group (a walk around one spot) is
    # judged on real evidence between its far ends, not on "not verified".
    extra = linked_unverified_pairs(P, scores, s.group_threshold)
    if extra:
        scores.update(verify_candidates(analyses, extra, s, pair_cache, workers))
        P = probability_matrix(cos, scores, s, gps, gap, featureless)
    t2 = time.perf_counter()
    labels = grouping.agglomerate(P, s.group_threshold, locked, s.min_group_size)
    labels = grouping.relabel_by_time(labels, [a.meta.taken_at for a in analyses])
    t3 = time.perf_counter()
    return GroupResult(labels, P, cos, scores, {"pairs_s": t1 - t0, "verify_s": t2 - t1, "cluster_s": t3 - t2,
                                                "verified_pairs": len(scores)})


def linked_unverified_pairs(P: np.ndarray, scores: dict, threshold: float) -> list[tuple[int, int]]:
    """Pairs (i < j) not yet verified whose photos are connected by a chain of pairs with
    P >= threshold (same connected component of the likely-pair graph)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    strong = np.triu(P >= threshold, 1)
    if not strong.any():
        return []
    _, comp = connected_components(csr_matrix(strong), directed=False)
    out = []
    for c in np.unique(comp):
        members = np.flatnonzero(comp == c)
        for k, i in enumerate(members):
            for j in members[k + 1:]:
                if (int(i), int(j)) not in scores:
                    out.append((int(i), int(j)))
    return out

