"""One session grouped: the fast path, then (when asked) the thorough pass over it.

This is the one module that knows both :mod:`edge_app.engine.pairs` (the fast path's
pairs, probabilities and linkage) and :mod:`edge_app.engine.thorough` (more pairs, the
stronger matcher, machines discounted), which is built from the fast path's parts.

* :func:`group_pairs`: one session from its photos and a way to verify pairs.
* :func:`group_analyses`: one session of analysed photos, as a :class:`GroupResult`.
"""

from __future__ import annotations

import time
from typing import Callable, Hashable, Sequence

from . import grouping
from .analyze import PhotoAnalysis
from .config import Settings
from .pairs import KnownPairs, PairCache, Pairs, SessionPhotos, link_session, scan, verify_candidates
from .result import GroupResult, pair_matrix
from .thorough import refine_session
from .vision.verify import PairScore


def group_pairs(
    photos: SessionPhotos,
    verify: Callable[[Pairs], dict[tuple[int, int], PairScore]],
    settings: Settings,
    locked: Sequence[Hashable | None] | None = None,
    thorough=None,
    cannot: grouping.CannotLink | None = None,
) -> tuple[list[int | None], KnownPairs, dict[tuple[int, int], PairScore], dict[str, float]]:
    """Group one session from its photos and a way to verify pairs (``verify(pairs)``:
    PairScore per pair (i < j)). Returns (labels numbered by first photo, the pairs with a
    probability, every PairScore, timings).

    1. :func:`scan`: candidates (each photo's ``knn`` nearest by look) are verified;
    2. :func:`pair_probabilities`; inside each set of photos linked by likely pairs with
       at most ``dense_up_to`` photos, every pair is verified (a walk around one spot is
       judged on real evidence between its far ends), and the probabilities recomputed;
    3. :func:`edge_app.engine.grouping.agglomerate_pairs`: average linkage over the pairs with a
       probability; before two larger groups merge, at least ``link_evidence`` of their
       cross pairs must be verified (random ones are, where fewer are).
    Sessions of up to ``dense_up_to`` photos are grouped exactly as with every probability
    of the full matrix.

    thorough: optional :class:`edge_app.engine.thorough.SessionChecks`: after the fast grouping, the
    thorough pass (:func:`edge_app.engine.thorough.refine_session`: more pairs checked, the undecided
    ones by a stronger matcher, machines discounted) regroups; its verdicts and costs are in
    the timings and in ``thorough.outcome``. cannot: optional (int [C], int [C]) cannot-link
    pairs, photos a person separated: never one group (:func:`edge_app.engine.grouping.agglomerate_pairs`).
    """
    s = settings
    t0 = time.perf_counter()
    candidates, top = scan(photos, s)
    t1 = time.perf_counter()
    scores = dict(verify(candidates))
    labels, known, asked = link_session(photos, scores, top, verify, s, locked, cannot=cannot)
    t2 = time.perf_counter()
    timings = {"pairs_s": t1 - t0, "verify_s": t2 - t1, "verified_pairs": len(scores), "linkage_pairs": asked}
    if thorough is not None:
        labels, known = refine_session(photos, labels, known, scores, top, verify, s, locked, thorough, cannot)
        timings |= {f"thorough_{k}": v for k, v in thorough.outcome.timings.items()}
        timings["thorough_s"] = time.perf_counter() - t2
    return labels, known, scores, timings


def group_analyses(
    analyses: Sequence[PhotoAnalysis],
    settings: Settings | None = None,
    locked: Sequence[Hashable | None] | None = None,
    pair_cache: PairCache | None = None,
    workers: int = 1,
    thorough=None,
    cannot: grouping.CannotLink | None = None,
) -> GroupResult:
    """Group analysed photos of one session (:func:`group_pairs`); ``locked`` per photo:
    label of a group a person fixed, or None. thorough: an :class:`edge_app.engine.thorough.Thorough`
    to run the thorough pass after the fast grouping (its outcome is in the result); cannot:
    cannot-link pairs (:func:`group_pairs`)."""
    s = settings or Settings()
    if locked is not None and len(locked) != len(analyses):
        raise ValueError(f"locked has {len(locked)} labels for {len(analyses)} photos")
    photos = SessionPhotos.of(analyses, s.centre_embeddings)
    checks = thorough.for_session(analyses) if thorough is not None else None
    labels, known, scores, timings = group_pairs(
        photos, lambda pairs: verify_candidates(analyses, pairs, s, pair_cache, workers), s, locked, checks, cannot)
    labels = grouping.relabel_by_time(labels, [a.meta.taken_at for a in analyses])
    n = len(analyses)
    res = GroupResult(labels, pair_matrix(n, known.i, known.j, known.p),
                      pair_matrix(n, known.i, known.j, photos.cos(known.i, known.j)), scores, timings)
    if checks is not None:
        out = checks.outcome
        res.cascade_links, res.review, res.discounted = list(out.links), list(out.review), list(out.discounted)
        if out.skipped:
            res.timings["thorough_skipped"] = out.skipped
    return res
