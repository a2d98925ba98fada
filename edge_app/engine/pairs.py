"""Pairs of photos in one session: which get verified, their probabilities, and the
groups they make, at a cost that grows with the photos, not with their square.

* :class:`SessionPhotos`: what a pair's probability needs besides its verification, per
  photo (embedding, GPS, capture time, whether the photo can be a spot at all).
* :func:`scan`: the session in blocks of rows: each photo's candidate partners (all of a
  small session, else its ``knn`` nearest by embedding, never farther apart than the site
  radius) and its best partners by look alone (for the mutual-best bonus).
* :func:`verify_candidates`: matching + RANSAC per pair (:mod:`edge_app.engine.vision.verify`),
  with an optional pair cache keyed by both photos' content hashes.
* :func:`pair_probabilities`: p(same spot) of the pairs with evidence
  (:func:`edge_app.engine.grouping.same_spot_probability`); every other pair has only its look.
* :func:`link_session`: the probabilities, every pair verified inside a linked set of at
  most ``dense_up_to`` photos, then :func:`edge_app.engine.grouping.agglomerate_pairs`,
  which verifies more pairs where a merge of larger groups rests on too few.

:mod:`edge_app.engine.group` runs one session through it, then the thorough pass.
"""

from __future__ import annotations

import dataclasses
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Hashable, MutableMapping, Sequence

import numpy as np

from . import grouping
from .analyze import PhotoAnalysis
from .blas import matmul, one_blas_thread
from .config import Settings
from .metadata import haversine_m_arrays
from .vision.verify import PairScore, verify_two_step

PairCache = MutableMapping[tuple[str, str], PairScore]
Pairs = list[tuple[int, int]]

#: A photo with fewer keypoints can never reach the 8 matches :func:`verify_pair` needs
#: (a blank wall, a black pocket shot): nothing can show that it is of any spot.
MIN_KEYPOINTS = 8
#: Each photo's best partners by look alone kept from :func:`scan` (for the mutual-best
#: bonus, which needs each photo's two best partners among all pairs).
TOP_BY_LOOK = 64
#: Entries (rows x photos) of one block of :func:`scan` (2 MB per float64 array; a session
#: of up to 512 photos is one block).
SCAN_BLOCK = 1 << 18


def no_spot(a: PhotoAnalysis) -> bool:
    """True for a photo that can never be part of a spot: too few keypoints, or almost no
    structure (noise, a flat field, a test pattern: :func:`edge_app.engine.analyze.structure_score`).
    Such photos look alike to the embedding (two noise frames, two black frames), but
    nothing in them can show that they show one place."""
    return len(a.features) < MIN_KEYPOINTS or a.structure < 1.0


@dataclass
class SessionPhotos:
    """The per-photo inputs of pair probabilities besides verification.

    E: float64 [N, D], unit embeddings (their dot product is the cosine; centred on the
       session's mean first when ``Settings.centre_embeddings``).
    lat, lon: float64 [N], degrees, NaN without a GPS fix.
    t: float64 [N], capture time in seconds, NaN when unknown.
    ruled_out: bool [N], photos that can never form a spot (:func:`no_spot`).
    """

    E: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    t: np.ndarray
    ruled_out: np.ndarray

    @classmethod
    def of(cls, analyses: Sequence[PhotoAnalysis], centred: bool = False) -> "SessionPhotos":
        n = len(analyses)
        E = np.array([a.embedding for a in analyses], np.float64) if n else np.zeros((0, 0))
        gps = np.array([a.meta.gps[:2] if a.meta.gps else (np.nan, np.nan) for a in analyses], np.float64)
        t = np.array([np.nan if a.meta.taken_at is None else a.meta.taken_at for a in analyses], np.float64)
        photos = cls(E, gps[:, 0].copy() if n else np.zeros(0), gps[:, 1].copy() if n else np.zeros(0), t,
                     np.array([no_spot(a) for a in analyses], bool))
        return photos.centred() if centred else photos

    def centred(self) -> "SessionPhotos":
        """The same photos with embeddings centred on their mean and renormalised (what all
        photos of the session share no longer counts as similarity; the cosine of
        :func:`edge_app.engine.grouping.centre_cosine`). Fewer than 3 photos stay as they are."""
        if len(self) < 3:
            return self
        E = self.E - self.E.mean(0)
        E /= np.maximum(np.linalg.norm(E, axis=1, keepdims=True), 1e-6)
        return dataclasses.replace(self, E=E)

    def __len__(self) -> int:
        return len(self.t)

    def cos(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """float64 [M] cosine of pairs (i[k], j[k]), in chunks of rows (a gather of every
        pair's embeddings at once would hold 2 M D floats)."""
        out = np.empty(len(i))
        step = max(1, SCAN_BLOCK // max(1, self.E.shape[1]))
        for k in range(0, len(i), step):
            out[k:k + step] = np.einsum("md,md->m", self.E[i[k:k + step]], self.E[j[k:k + step]])
        return out

    def gps_m(self, i, j) -> np.ndarray:
        """float64 metres between photos i and j (broadcast), NaN where either has no fix."""
        if np.isnan(self.lat).all():  # a session without GPS: nothing to compute
            return np.full(np.broadcast_shapes(np.shape(i), np.shape(j)), np.nan)
        return haversine_m_arrays(self.lat[i], self.lon[i], self.lat[j], self.lon[j])

    def rows(self, r: np.ndarray, model: grouping.PairModel):
        """For photos ``r`` [B] against all N: cosine, metres (float64 [B, N]) and the
        log-odds of "same spot" by look and GPS alone (no verification), with -inf on the
        diagonal and for photos that can never be a spot."""
        cos = matmul(self.E[r], self.E.T)
        gps = self.gps_m(r[:, None], np.arange(len(self))[None, :])
        zero = np.zeros_like(cos)
        z = grouping.pair_logits(grouping.pair_features(cos, zero, zero, zero, zero), model, gps)
        z[np.arange(len(r)), r] = -np.inf
        z[self.ruled_out[r]] = -np.inf
        z[:, self.ruled_out] = -np.inf
        return cos, gps, z


@dataclass
class LookTop:
    """Each photo's best partners by look and metadata alone (see :meth:`SessionPhotos.rows`).

    idx: int [N, T] partner indices; z: float64 [N, T] their log-odds; complete: whether
    T = N - 1 (every partner is listed)."""

    idx: np.ndarray
    z: np.ndarray
    complete: bool


def scan(photos: SessionPhotos, settings: Settings) -> tuple[Pairs, LookTop]:
    """Candidate pairs (i < j) to verify, and each photo's best partners by look, from one
    pass over the session in blocks of SCAN_BLOCK entries (time O(N^2 D), in matrix
    products; memory O(N T) besides the blocks).

    Candidates: all pairs when N <= ``all_pairs_up_to``; otherwise the union of each photo's
    ``knn`` nearest photos by cosine. Pairs farther apart than ``site_radius_m`` (both with
    GPS) are never candidates.
    """
    s = settings
    n = len(photos)
    T = min(max(n - 1, 0), TOP_BY_LOOK)
    top_idx = np.zeros((n, T), np.intp)
    top_z = np.zeros((n, T))
    pairs: set[tuple[int, int]] = set()
    every = n <= s.all_pairs_up_to or s.knn >= n - 1
    block = max(1, SCAN_BLOCK // max(n, 1))
    for start in range(0, n, block):
        r = np.arange(start, min(n, start + block))
        cos, gps, z = photos.rows(r, s.pair_model)
        far = np.nan_to_num(gps, nan=0.0) > s.site_radius_m
        if every:
            for k, i in enumerate(r.tolist()):
                pairs.update((i, j) for j in np.flatnonzero(~far[k]).tolist() if j > i)
        else:
            c = cos.copy()
            c[np.arange(len(r)), r] = -np.inf
            c[far] = -np.inf
            nn = np.argsort(-c, axis=1)[:, : s.knn]
            for k, i in enumerate(r.tolist()):
                for j in nn[k].tolist():
                    if np.isfinite(c[k, j]):
                        pairs.add((min(i, j), max(i, j)))
        if T == n - 1:  # every partner (any order)
            part = np.argsort(np.arange(n)[None, :] == r[:, None], axis=1, kind="stable")[:, :T]
        elif T:
            key = np.where(np.isneginf(z), np.finfo(np.float64).max, -z)
            key[np.arange(len(r)), r] = np.inf  # the photo itself: never its own partner
            part = np.argpartition(key, T - 1, axis=1)[:, :T]
        if T:
            top_idx[r] = part
            top_z[r] = np.take_along_axis(z, part, 1)
    return sorted(pairs), LookTop(top_idx, top_z, T == n - 1)


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

    with one_blas_thread():
        if workers > 1 and len(todo) > 1:
            with ThreadPoolExecutor(workers) as ex:
                results = list(ex.map(work, todo))
        else:
            results = [work(ij) for ij in todo]
    for (i, j), sc in results:
        out[(i, j)] = sc
        if cache is not None:
            cache[_pair_key(analyses[i], analyses[j])] = sc
    return out


@dataclass
class KnownPairs:
    """Pairs with a probability: pairs i[k] < j[k] with p(same spot) p[k] (float64 [M]).
    verified[k] says whether the pair's geometry was checked; the others are raised by the
    mutual-best bonus (or reach the threshold by look alone) without verification."""

    i: np.ndarray
    j: np.ndarray
    p: np.ndarray
    verified: np.ndarray


def evidence_rows(scores: dict[tuple[int, int], PairScore], pairs: Sequence) -> np.ndarray:
    """float64 [5, M]: matches, inliers_h, inliers_f, coverage, distinct of each pair (0 if
    unverified; distinct -1 where it was not measured), the arguments of
    :func:`edge_app.engine.grouping.pair_features` in its order."""
    ev = np.zeros((5, len(pairs)))
    for k, ij in enumerate(pairs):
        sc = scores.get(ij)
        if sc is not None:
            ev[:, k] = evidence_of(sc)
    return ev


def evidence_of(sc: PairScore) -> tuple[float, float, float, float, float]:
    """One pair's column of :func:`evidence_rows`."""
    return sc.matches, sc.inliers_h, sc.inliers_f, sc.coverage, sc.distinct


def probabilities_alone(photos: SessionPhotos, pairs: Pairs, scores: dict, settings: Settings,
                        bonus: np.ndarray | None = None) -> np.ndarray:
    """float64 [M] p(same spot) of ``pairs`` from their own evidence (``bonus``: extra
    log-odds per pair), through :func:`edge_app.engine.grouping.same_spot_probability`."""
    if not pairs:
        return np.zeros(0)
    i, j = (np.array(x, np.intp) for x in zip(*pairs))
    ev = evidence_rows(scores, pairs)
    return grouping.same_spot_probability(
        photos.cos(i, j), *ev[:4], settings.pair_model, photos.gps_m(i, j),
        photos.ruled_out[i] | photos.ruled_out[j], settings.site_radius_m, bonus=bonus, distinct=ev[4])


def pair_probabilities(photos: SessionPhotos, scores: dict[tuple[int, int], PairScore], top: LookTop,
                       settings: Settings) -> KnownPairs:
    """p(same spot) of every verified pair, and of the unverified pairs that the mutual-best
    bonus (or their look alone) lifts to the grouping threshold; all other pairs have
    only their look (p below 0.04 with the fitted models) and are left out. (With
    ``context_min_excess`` > 0 an unverified pair has no geometry of its own and gets no
    bonus.)

    The bonus needs each photo's best and second-best log-odds over all its pairs: those
    are among its verified pairs and its best partners by look (``top``, from :func:`scan`);
    a photo whose listed partners are nearly all verified gets its whole row recomputed.
    The result equals :func:`edge_app.engine.grouping.same_spot_probability` on the full matrix
    (``batch=True``) at every pair it lists.
    """
    s, m = settings, settings.pair_model
    n = len(photos)
    ver = sorted(scores)
    vi, vj = (np.array(x, np.intp) for x in zip(*ver)) if ver else (np.zeros(0, np.intp),) * 2
    ev = evidence_rows(scores, ver)
    zv = grouping.pair_logits(grouping.pair_features(photos.cos(vi, vj), *ev, m.ambiguous_weight), m,
                              photos.gps_m(vi, vj))
    zv[photos.ruled_out[vi] | photos.ruled_out[vj]] = -np.inf
    ok_v = grouping.geometric_excess(*ev[:3]) >= m.context_min_excess  # may get the bonus
    # Each row's candidates for its two best: verified pairs (both ways), best by look.
    T = top.idx.shape[1]
    key_v = set((vi * n + vj).tolist()) | set((vj * n + vi).tolist())
    br = np.repeat(np.arange(n), T)
    bc = top.idx.ravel()
    bz = top.z.ravel()
    unver = ~np.isin(br * n + bc, np.fromiter(key_v, np.int64, len(key_v)))
    br, bc, bz = br[unver], bc[unver], bz[unver]
    if not top.complete and n:
        # A row's two best are right when two of its entries reach the lowest listed
        # partner (every unlisted one is below it); other rows are recomputed whole.
        floor = top.z.min(1) if T else np.full(n, np.inf)
        reach = (np.bincount(br, minlength=n) + np.bincount(vi, zv >= floor[vi], minlength=n)
                 + np.bincount(vj, zv >= floor[vj], minlength=n))
        redo = np.flatnonzero(reach < 2)
        if len(redo):
            keys_v = np.fromiter(key_v, np.int64, len(key_v))
            keep = ~np.isin(br, redo)
            br, bc, bz = [br[keep]], [bc[keep]], [bz[keep]]
            step = max(1, SCAN_BLOCK // n)
            for start in range(0, len(redo), step):
                r = redo[start:start + step]
                *_, z = photos.rows(r, m)
                rr, cc = np.nonzero(np.ones(z.shape, bool))
                ok = (cc != r[rr]) & ~np.isin(r[rr] * n + cc, keys_v)
                br.append(r[rr[ok]])
                bc.append(cc[ok])
                bz.append(z[rr[ok], cc[ok]])
            br, bc, bz = np.concatenate(br), np.concatenate(bc), np.concatenate(bz)
    bi, bj, b = grouping.sparse_mutual_best_bonus(
        n, np.r_[vi, vj, br], np.r_[vj, vi, bc], np.r_[zv, zv, bz], m.context_weight, m.context_margin,
        m.context_floor, eligible=np.r_[ok_v, ok_v, np.full(len(br), m.context_min_excess <= 0)])
    bonus = dict(zip((bi * n + bj).tolist(), b.tolist()))
    # Unverified pairs that reach the threshold: raised by the bonus, or by look alone.
    lift = math.log(s.group_threshold / (1 - s.group_threshold)) if 0 < s.group_threshold < 1 else math.inf
    lo, hi = np.minimum(br, bc), np.maximum(br, bc)
    strong = (bz + np.array([bonus.get(k, 0.0) for k in (lo * n + hi).tolist()])) >= lift
    extra = set(zip(lo[strong].tolist(), hi[strong].tolist())) | {
        (int(a), int(c)) for a, c in zip(bi, bj) if int(a) * n + int(c) not in key_v}
    pairs = ver + sorted(extra - set(ver))
    B = np.array([bonus.get(a * n + c, 0.0) for a, c in pairs])
    p = probabilities_alone(photos, pairs, scores, s, B)
    verified = np.zeros(len(pairs), bool)
    verified[: len(ver)] = True
    ii, jj = (np.array(x, np.intp) for x in zip(*pairs)) if pairs else (np.zeros(0, np.intp),) * 2
    return KnownPairs(ii, jj, p, verified)


def linked_unverified_pairs(n: int, known: KnownPairs, threshold: float, up_to: int | None = None) -> Pairs:
    """Pairs (i < j) not yet verified whose photos are connected by a chain of pairs with
    p >= threshold (one connected component of the likely-pair graph), in components of
    at most ``up_to`` photos (all components when None)."""
    strong = known.p >= threshold
    if not strong.any():
        return []
    comp = grouping.connected_components(n, known.i[strong], known.j[strong])
    done = set(zip(known.i[known.verified].tolist(), known.j[known.verified].tolist()))
    sizes = np.bincount(comp)
    out = []
    order = np.argsort(comp, kind="stable")
    bounds = np.r_[0, np.cumsum(sizes)]
    for c in np.flatnonzero(sizes > 1):
        if up_to is not None and sizes[c] > up_to:
            continue
        members = order[bounds[c]:bounds[c + 1]].tolist()
        for k, i in enumerate(members):
            out += [(i, j) for j in members[k + 1:] if (i, j) not in done]
    return sorted(out)


Adjust = dict[tuple[int, int], float]


def _adjusted(known: KnownPairs, raise_to: Adjust | None, lower_to: Adjust | None) -> KnownPairs:
    """``known`` with p of listed pairs raised to at least ``raise_to[pair]`` and lowered to
    at most ``lower_to[pair]`` (the thorough pass's verdicts, :mod:`edge_app.engine.thorough`)."""
    if not raise_to and not lower_to:
        return known
    p = known.p.copy()
    for k, ij in enumerate(zip(known.i.tolist(), known.j.tolist())):
        if raise_to and ij in raise_to:
            p[k] = max(p[k], raise_to[ij])
        if lower_to and ij in lower_to:
            p[k] = min(p[k], lower_to[ij])
    return dataclasses.replace(known, p=p)


def link_session(
    photos: SessionPhotos,
    scores: dict[tuple[int, int], PairScore],
    top: LookTop,
    verify: Callable[[Pairs], dict[tuple[int, int], PairScore]],
    settings: Settings,
    locked: Sequence[Hashable | None] | None = None,
    raise_to: Adjust | None = None,
    lower_to: Adjust | None = None,
    cannot: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[list[int | None], KnownPairs, int]:
    """Steps 2 and 3 of :func:`group_pairs` from the pairs verified so far (``scores``, which
    it extends): probabilities, dense verification inside small linked sets, average linkage.
    ``raise_to`` / ``lower_to``: per pair (i < j), a p it is raised to / lowered to whatever
    its evidence says. ``cannot``: cannot-link pairs of the linkage (photos a person
    separated, :func:`edge_app.engine.grouping.agglomerate_pairs`). Returns (labels numbered
    by first photo, the pairs with a probability, how many pairs the linkage asked to verify)."""
    s = settings
    n = len(photos)
    known = _adjusted(pair_probabilities(photos, scores, top, s), raise_to, lower_to)
    extra = linked_unverified_pairs(n, known, s.group_threshold, s.dense_up_to)
    extra = [ij for ij in extra if ij not in scores]
    if extra:
        scores.update(verify(extra))
        known = _adjusted(pair_probabilities(photos, scores, top, s), raise_to, lower_to)
    linked: dict[tuple[int, int], float] = {}

    def more(pairs: Pairs) -> np.ndarray:
        scores.update(verify([ij for ij in pairs if ij not in scores]))
        p = probabilities_alone(photos, pairs, scores, s)
        for k, ij in enumerate(pairs):
            if raise_to and ij in raise_to:
                p[k] = max(p[k], raise_to[ij])
            if lower_to and ij in lower_to:
                p[k] = min(p[k], lower_to[ij])
        linked.update(zip(pairs, p.tolist()))
        return p

    labels = grouping.agglomerate_pairs(n, known.i, known.j, known.p, s.group_threshold, locked, s.min_group_size,
                                        more, s.link_evidence, cannot=cannot)
    if linked:
        li, lj = (np.array(x, np.intp) for x in zip(*linked))
        known = KnownPairs(np.r_[known.i, li], np.r_[known.j, lj], np.r_[known.p, list(linked.values())],
                           np.r_[known.verified, np.ones(len(li), bool)])
    return labels, known, len(linked)
