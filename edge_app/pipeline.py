"""Run the grouping stages over analysed photos (library API used by the CLI and the app).

    from edge_app.pipeline import Pipeline
    pipe = Pipeline()                                   # Settings() defaults, models from models/
    result = pipe.group_folder("photos/site-12")        # analyse + group
    result.labels                                       # one group index or None per photo

Stages after :mod:`edge_app.analyze`:

* :func:`candidate_pairs`: which pairs get geometric verification (all pairs of a small
  site; otherwise each photo's nearest photos by embedding), never pairs farther apart
  than the site radius when both have GPS.
* :func:`verify_candidates`: matching + RANSAC per pair (:mod:`edge_app.vision.verify`),
  with an optional pair cache keyed by both photos' content hashes.
* :func:`probability_matrix`: p(same spot) for every pair (:mod:`edge_app.grouping`).
* :func:`edge_app.grouping.agglomerate`: groups, respecting groups fixed by a person.
"""

from __future__ import annotations

import os
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Hashable, MutableMapping, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from . import grouping
from .analyze import AnalysisError, Analyzer, FeatureCache, PhotoAnalysis
from .config import Settings
from .decode import UNSUPPORTED_IMAGE_EXTENSIONS, is_image_name
from .metadata import haversine_m
from .sites import place_by_similarity, split_sessions
from .vision.verify import PairScore, verify_pair

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
    s = settings
    out: dict[tuple[int, int], PairScore] = {}
    todo = []
    for i, j in pairs:
        hit = cache.get(_pair_key(analyses[i], analyses[j])) if cache is not None else None
        if hit is not None:
            out[(i, j)] = hit
        else:
            todo.append((i, j))

    def verify(fa, fb, strong_h=s.skip_f_above_h, undecided=None):
        return verify_pair(fa, fb, ratio=s.match_ratio, min_similarity=s.min_descriptor_similarity,
                           f_threshold=s.f_threshold, h_threshold=s.h_threshold, cells=s.coverage_cells,
                           strong_h=strong_h, undecided=undecided, h_max_iters=s.h_max_iters,
                           f_max_iters=s.f_max_iters)

    def undecided(matches: int, inliers_h: int) -> bool:
        return not (inliers_h >= s.coarse_accept_inliers or matches < s.coarse_reject_matches)

    def work(ij):
        i, j = ij
        a, b = analyses[i], analyses[j]
        if a.key > b.key:  # same orientation as the cache key, so results are symmetric
            a, b = b, a
        k = s.coarse_keypoints
        sc = None
        if k and (len(a.features) > k or len(b.features) > k):
            sc = verify(a.features.head(k), b.features.head(k), s.coarse_accept_inliers, undecided)
        if sc is None:
            sc = verify(a.features, b.features)
        if analyses[i].key > analyses[j].key:
            sc = PairScore(sc.matches, sc.inliers, sc.inliers_h, sc.inlier_ratio, sc.coverage_b, sc.coverage_a)
        return ij, sc

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
        ev[:, i, j] = ev[:, j, i] = (sc.matches, sc.inliers_h, sc.inliers, sc.coverage)
    m = settings.pair_model
    X = grouping.pair_features(cos, *ev)
    Z = grouping.pair_logits(X, m, gps_dist, time_gap)
    if featureless is not None and featureless.any():
        Z[featureless, :] = Z[:, featureless] = -np.inf
    Z = Z + grouping.mutual_best_bonus(Z, m.context_weight, m.context_margin, m.context_floor)
    P = grouping.sigmoid(Z)
    if gps_dist is not None:
        P[np.nan_to_num(gps_dist, nan=0.0) > settings.site_radius_m] = 0.0
    P[~np.isfinite(Z)] = 0.0
    np.fill_diagonal(P, 1.0)
    return P


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

    @property
    def groups(self) -> dict[int, list[int]]:
        return dict(grouping.group_members(self.labels))


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


def group_sessions(
    analyses: Sequence[PhotoAnalysis],
    settings: Settings | None = None,
    locked: Sequence[Hashable | None] | None = None,
    pair_cache: PairCache | None = None,
    workers: int = 1,
) -> GroupResult:
    """Split photos into site sessions (:func:`edge_app.sites.split_sessions`), group each
    session on its own, and number the groups across sessions (session order, then capture
    order). Photos of different sessions are never compared (P = 0 between them), except
    that sessions holding photos of one locked group are joined (a person's group stays one)."""
    s = settings or Settings()
    n = len(analyses)
    if locked is not None and len(locked) != n:
        raise ValueError(f"locked has {len(locked)} labels for {n} photos")
    sessions, unplaced = split_sessions([a.meta for a in analyses], s.site_radius_m, s.session_gap_s)
    if unplaced and sessions:
        sessions = place_by_similarity(sessions, unplaced, cosine_matrix(analyses))
    elif unplaced:
        sessions = [sorted(unplaced)]
    if locked is not None:
        sessions = join_locked_sessions(sessions, locked)
    if len(sessions) <= 1:
        res = group_analyses(analyses, s, locked, pair_cache, workers)
        res.sessions = sessions
        return res
    labels: list[int | None] = [None] * n
    P = np.zeros((n, n))
    cos = np.zeros((n, n))
    scores: dict[tuple[int, int], PairScore] = {}
    timings: dict[str, float] = {}
    offset = 0
    for members in sessions:
        sub = group_analyses([analyses[i] for i in members], s,
                             [locked[i] for i in members] if locked is not None else None, pair_cache, workers)
        ix = np.ix_(members, members)
        P[ix] = sub.P
        cos[ix] = sub.cos
        for (a, b), sc in sub.scores.items():
            scores[(members[a], members[b])] = sc
        for k, lab in enumerate(sub.labels):
            labels[members[k]] = None if lab is None else lab + offset
        offset += len({lab for lab in sub.labels if lab is not None})
        for k, v in sub.timings.items():
            timings[k] = timings.get(k, 0) + v
    return GroupResult(labels, P, cos, scores, timings, sessions)


def join_locked_sessions(sessions: list[list[int]], locked: Sequence[Hashable | None]) -> list[list[int]]:
    """Sessions (lists of photo indices) with the sessions that share a locked label joined
    into one, in the place of the first of them (indices sorted)."""
    parent = list(range(len(sessions)))

    def root(k: int) -> int:
        while parent[k] != k:
            k = parent[k]
        return k

    first: dict[Hashable, int] = {}  # locked label -> first session holding it
    for k, members in enumerate(sessions):
        for i in members:
            if locked[i] is None:
                continue
            a, b = root(first.setdefault(locked[i], k)), root(k)
            parent[max(a, b)] = min(a, b)
    joined: dict[int, list[int]] = {}
    for k, members in enumerate(sessions):
        joined.setdefault(root(k), []).extend(members)
    return [sorted(joined[k]) for k in sorted(joined)]


@dataclass
class FolderScan:
    """The entries directly in a folder, sorted by name.

    photos:  files to analyse: regular files (or links to one) with a photo extension, and
             links with a photo name that lead nowhere (so they are reported as unreadable).
    skipped: (path, reason) of every other entry, reason a key of
             :data:`edge_app.decode.REASONS`: "hidden", "is a folder", "not a regular
             file" (FIFO, socket, device, or a link to one), "unsupported format" (camera
             raw, JPEG XL, ... by extension), "not a photo (file type)", "broken link".
    """

    photos: list[Path]
    skipped: list[tuple[Path, str]]


def _skip_reason(entry: os.DirEntry) -> str | None:
    """Why a folder entry is not taken as a photo, or None when it is. Nothing is opened
    (a FIFO would block); links are followed with stat."""
    name = entry.name
    if name.startswith("."):
        return "hidden"
    photo_name = is_image_name(name)
    try:
        st = os.stat(entry.path)
    except OSError:  # a link that leads nowhere (or in a loop), or a permission problem
        if photo_name:
            return None
        return "broken link" if entry.is_symlink() else "not a photo (file type)"
    if stat.S_ISDIR(st.st_mode):
        return "is a folder"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    if photo_name:
        return None
    if os.path.splitext(name)[1].lower() in UNSUPPORTED_IMAGE_EXTENSIONS:
        return "unsupported format"
    return "not a photo (file type)"


def scan_folder(folder: str | Path) -> FolderScan:
    """Sort every entry directly in ``folder`` into photos and skipped-with-a-reason
    (sub-folders are not searched). Raises OSError when the folder cannot be listed."""
    folder = Path(folder)
    with os.scandir(folder) as it:
        entries = sorted(it, key=lambda e: e.name)
    photos: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for e in entries:
        why = _skip_reason(e)
        if why is None:
            photos.append(folder / e.name)
        else:
            skipped.append((folder / e.name, why))
    return FolderScan(photos, skipped)


def list_images(folder: str | Path) -> list[Path]:
    """Photo files directly in ``folder`` (by extension; hidden files, folders and special
    files skipped), sorted by name. A broken link with a photo name is listed too, so the
    caller reports it as unreadable. :func:`scan_folder` also says why the rest is skipped."""
    return scan_folder(folder).photos


@dataclass
class FolderResult:
    """Result of :meth:`Pipeline.group_folder`: ``paths[i]`` has ``labels[i]``; files that
    could not be read are in ``errors`` (and not in ``paths``); entries of the folder that
    were not taken as photos are in ``skipped`` with their reason."""

    paths: list[Path]
    analyses: list[PhotoAnalysis]
    result: GroupResult
    errors: list[AnalysisError]
    timings: dict[str, float]
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def labels(self) -> list[int | None]:
        return self.result.labels

    @property
    def duplicates(self) -> list[tuple[int, int]]:
        """(i, first): photo i has exactly the same bytes as the earlier photo ``first``."""
        seen: dict[str, int] = {}
        out = []
        for i, a in enumerate(self.analyses):
            if a.key in seen:
                out.append((i, seen[a.key]))
            else:
                seen[a.key] = i
        return out


class Pipeline:
    """Analyzer + grouping with one Settings object; the entry point of the library."""

    def __init__(self, settings: Settings | None = None, cache_dir: str | Path | None = None, models_dir=None):
        self.settings = settings or Settings()
        from .vision.models import models_fingerprint

        version = f"{self.settings.feature_version()}-{models_fingerprint(models_dir)}"
        cache = FeatureCache(cache_dir, version) if cache_dir else None
        self.analyzer = Analyzer(self.settings, cache, models_dir)
        self.pair_cache: dict[tuple[str, str], PairScore] = {}

    def group_paths(
        self, paths: Sequence[str | Path], locked=None, progress: Callable[[int, int], None] | None = None
    ) -> FolderResult:
        if locked is not None and len(locked) != len(paths):
            raise ValueError(f"locked has {len(locked)} labels for {len(paths)} paths")
        t0 = time.perf_counter()
        analyses, errors = self.analyzer.analyze_many(list(paths), progress)
        t1 = time.perf_counter()
        ok = [i for i, a in enumerate(analyses) if a is not None]
        good = [analyses[i] for i in ok]
        lock = [locked[i] for i in ok] if locked is not None else None
        res = group_sessions(good, self.settings, lock, self.pair_cache, self.analyzer.workers())
        t2 = time.perf_counter()
        return FolderResult([Path(paths[i]) for i in ok], good, res, errors,
                            {"analyze_s": t1 - t0, "group_s": t2 - t1, "total_s": t2 - t0})

    def group_folder(self, folder: str | Path, progress=None) -> FolderResult:
        scan = scan_folder(folder)
        res = self.group_paths(scan.photos, progress=progress)
        res.skipped = scan.skipped
        return res

    def assign_path(self, path: str | Path, analyses: Sequence[PhotoAnalysis],
                    labels: Sequence[Hashable | None]) -> tuple[PhotoAnalysis, Assignment]:
        """Analyse one new photo and assign it to the existing groups (see :func:`assign_new`)."""
        a = self.analyzer.analyze_path(path)
        return a, assign_new(a, analyses, labels, self.settings, self.pair_cache)


@dataclass
class Assignment:
    """Where one new photo goes (online assignment, the users' "version C").

    group:   label of the existing group it joins, or None.
    partner: when it joins no group, index of an unassigned photo it matches (the caller
             may open a new group of the two), else None. Both None = "new".
    score:   the winning mean probability (or the best one seen).
    p:       float64 [N], p(same spot) between the new photo and each existing photo.
    """

    group: Hashable | None
    partner: int | None
    score: float
    p: np.ndarray

    @property
    def is_new(self) -> bool:
        return self.group is None


def assign_new(
    new: PhotoAnalysis,
    analyses: Sequence[PhotoAnalysis],
    labels: Sequence[Hashable | None],
    settings: Settings | None = None,
    pair_cache: PairCache | None = None,
) -> Assignment:
    """Assign one analysed photo to the existing groups using cached features only.

    Candidates are every existing photo of a small site, else the ``knn`` nearest by
    embedding plus the two nearest photos of every group (its representatives for this
    photo), so a group is never judged on embedding alone. Only new-vs-candidate pairs
    are verified. Groups are compared by the mean probability over their photos.
    """
    s = settings or Settings()
    n = len(analyses)
    if n == 0:
        return Assignment(None, None, 0.0, np.zeros(0))
    cos = cosine_matrix([*analyses, new], centred=s.centre_embeddings)[:n, n]
    gps = np.array([haversine_m(new.meta.gps[:2], a.meta.gps[:2]) if (new.meta.gps and a.meta.gps) else np.nan
                    for a in analyses])
    gap = np.array([abs(new.meta.taken_at - a.meta.taken_at) if (new.meta.taken_at is not None and
                    a.meta.taken_at is not None) else np.nan for a in analyses])
    if n <= s.all_pairs_up_to:
        cand = set(range(n))
    else:
        cand = set(int(j) for j in np.argsort(-cos)[: s.knn])
        for members in grouping.group_members(labels).values():
            cand.update(sorted(members, key=lambda j: -cos[j])[:2])
    cand = [j for j in sorted(cand) if not (np.isfinite(gps[j]) and gps[j] > s.site_radius_m)]
    both = list(analyses) + [new]
    scores = verify_candidates(both, [(j, n) for j in cand], s, pair_cache)
    ev = np.zeros((4, n))  # matches, inliers_h, inliers_f, coverage
    for (j, _), sc in scores.items():
        ev[:, j] = (sc.matches, sc.inliers_h, sc.inliers, sc.coverage)
    X = grouping.pair_features(cos, *ev)
    p = grouping.pair_probability(X, s.pair_model, gps, gap)
    p[np.nan_to_num(gps, nan=0.0) > s.site_radius_m] = 0.0
    if no_spot(new):
        p[:] = 0.0
    p[[no_spot(a) for a in analyses]] = 0.0
    group, partner, score = grouping.assign_photo(p, labels, s.assign_threshold)
    return Assignment(group, partner, score, p)
