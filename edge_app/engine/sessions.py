"""Split a folder that spans several sites or visits into sessions ("GPS filtering").

A session is a set of photos taken close together in space (GPS) and time; grouping runs
inside each session only, so photos of two sites are never compared and each session stays
small (10-30 photos in the field).

* Photos with GPS: single-linkage over the haversine distance: two photos are in one
  session when a chain of photos links them with steps of at most ``radius_m``. GPS is the
  one hard cut: photos farther apart than the radius are never grouped.
* Photos without GPS but with a capture time join the GPS session of the photo nearest in
  time, if within ``gap_s`` (shot in the same hour as a located photo: most likely there).
* Capture time never separates photos (issue 11): before and after of one spot are often
  days or weeks apart. Every other photo (no GPS, and no located photo near it in time; or
  no metadata at all) cannot be placed by metadata: :func:`split_sessions` returns them
  apart, and :func:`place_by_similarity` puts each into the session of the photo it looks
  most like, placed or not (a copy sent through a messenger loses its EXIF but not its
  content; an "after" shot two weeks later follows its "before" shot). A folder without
  GPS is one session, as a person would expect.

:func:`group_sessions` groups each session on its own (:func:`edge_app.engine.group.group_analyses`)
and numbers the groups across sessions.

New photos among known ones (the site app, photo by photo): :func:`link_to_known` splits the
new photos into sessions as above and says which known photos each session reaches by GPS
(the same link: within ``radius_m``), else by capture time; photos with neither go by look
(:func:`place_by_similarity`, one photo at a time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Sequence

import numpy as np

from . import grouping
from .analyze import PhotoAnalysis
from .config import Settings
from .metadata import EARTH_RADIUS_M, PhotoMeta, haversine_m_arrays
from .pairs import PairCache, PairScore
from .blas import matmul
from .group import group_analyses
from .result import GroupResult, pair_matrix

#: Rows of one block of similarities in :func:`place_by_similarity` (x all placed photos).
PLACE_BLOCK = 256


#: Up to this many located photos, :func:`_gps_components` finds close pairs by comparing all
#: of them (blocks of rows, NumPy); above, with a k-d tree (SciPy, imported then only).
ALL_PAIRS_UP_TO = 4096

#: Rows of one block of :func:`_close_pairs_all` (x all points: 4 MB at 4096 points).
CLOSE_BLOCK = 128


def _close_pairs_all(xyz: np.ndarray, r: float) -> tuple[np.ndarray, np.ndarray]:
    """(i, j), intp [E] each, i < j: the pairs of points (float64 [G, 3]) at most ``r`` apart
    (Euclidean), by comparing every pair in blocks of :data:`CLOSE_BLOCK` rows. O(G^2)."""
    found_i, found_j = [np.zeros(0, np.intp)], [np.zeros(0, np.intp)]
    for lo in range(0, len(xyz), CLOSE_BLOCK):
        block = xyz[lo:lo + CLOSE_BLOCK]
        d2 = sum((block[:, None, c] - xyz[None, :, c]) ** 2 for c in range(3))  # [B, G]
        bi, j = np.nonzero(np.sqrt(d2) <= r)
        i = bi + lo
        keep = i < j
        found_i.append(i[keep].astype(np.intp))
        found_j.append(j[keep].astype(np.intp))
    return np.concatenate(found_i), np.concatenate(found_j)


def _close_pairs_tree(xyz: np.ndarray, r: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_close_pairs_all` by a k-d tree (SciPy): O(G log G + pairs), for many points."""
    from scipy.spatial import cKDTree

    pairs = cKDTree(xyz).query_pairs(r, output_type="ndarray")
    return pairs[:, 0].astype(np.intp), pairs[:, 1].astype(np.intp)


def _gps_components(lat: np.ndarray, lon: np.ndarray, radius_m: float) -> np.ndarray:
    """Component per point (float64 [G] degrees) of the graph linking points at most
    ``radius_m`` apart, numbered by their lowest point: candidate neighbours by the chord
    distance of unit vectors (with a margin, so that no pair within the radius is missed),
    each link confirmed by the haversine distance. The candidates differ between the
    all-pairs search and the k-d tree only within that margin, where the haversine check
    drops them: both give the same links."""
    n = len(lat)
    la, lo = np.radians(lat), np.radians(lon)
    xyz = np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], 1)
    chord = 2 * np.sin(min(radius_m / EARTH_RADIUS_M, np.pi) / 2)
    search = _close_pairs_all if n <= ALL_PAIRS_UP_TO else _close_pairs_tree
    i, j = search(xyz, chord * (1 + 1e-6) + 1e-12)
    near = haversine_m_arrays(lat[i], lon[i], lat[j], lon[j]) <= radius_m
    return grouping.connected_components(n, i[near], j[near])


def _nearest_in_time(t: np.ndarray, times: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each time in ``t`` [Q]: (gap, index) of the nearest of ``times`` [G] (their
    photo indices ``idx`` [G]); ties go to the lowest index. O((Q + G) log G)."""
    order = np.lexsort((idx, times))
    u, first = np.unique(times[order], return_index=True)  # one time each, its lowest index
    uj = idx[order][first]
    pos = np.searchsorted(u, t)
    lo, hi = np.maximum(pos - 1, 0), np.minimum(pos, len(u) - 1)
    d_lo = np.where(pos > 0, t - u[lo], np.inf)
    d_hi = np.where(pos < len(u), u[hi] - t, np.inf)
    take_hi = (d_hi < d_lo) | ((d_hi == d_lo) & (uj[hi] < uj[lo]))
    return np.where(take_hi, d_hi, d_lo), np.where(take_hi, uj[hi], uj[lo])


def split_sessions(
    metas: Sequence[PhotoMeta], radius_m: float = 300.0, gap_s: float = 4 * 3600.0
) -> tuple[list[list[int]], list[int]]:
    """(sessions, unplaced): GPS sessions as lists of photo indices ordered by their first
    capture time; unplaced: the photos without GPS that no located photo was taken within
    ``gap_s`` of (with or without a capture time of their own). Capture time only ever
    joins a photo to a session, it never starts one: time alone never keeps two photos
    apart (they are placed by look, :func:`place_by_similarity`).

    metas: one PhotoMeta per photo; radius_m: GPS linkage distance in metres;
    gap_s: seconds within which a photo without GPS joins the session of the located photo
    nearest in time.
    """
    n = len(metas)
    session = np.full(n, -1)
    gps_idx = [i for i in range(n) if metas[i].gps is not None]
    if gps_idx:
        pts = np.array([metas[i].gps[:2] for i in gps_idx], np.float64)
        session[gps_idx] = _gps_components(pts[:, 0], pts[:, 1], radius_m)
    timed_gps = [(metas[i].taken_at, i) for i in gps_idx if metas[i].taken_at is not None]
    waiting = [i for i in range(n) if session[i] < 0 and metas[i].taken_at is not None]
    if waiting and timed_gps:
        t = np.array([metas[i].taken_at for i in waiting], np.float64)
        dt, j = _nearest_in_time(t, np.array([tj for tj, _ in timed_gps], np.float64),
                                 np.array([j for _, j in timed_gps], np.intp))
        for i, d, jj in zip(waiting, dt.tolist(), j.tolist()):
            if d <= gap_s:
                session[i] = session[jj]
    unplaced = [i for i in range(n) if session[i] < 0]
    groups: dict[int, list[int]] = {}
    for i in range(n):
        if session[i] >= 0:
            groups.setdefault(int(session[i]), []).append(i)

    def first_time(members):
        ts = [metas[i].taken_at for i in members if metas[i].taken_at is not None]
        return (0, min(ts)) if ts else (1, members[0])

    return sorted(groups.values(), key=first_time), unplaced


def place_by_similarity(sessions: list[list[int]], unplaced: Sequence[int], embeddings: np.ndarray) -> list[list[int]]:
    """Put the unplaced photos into sessions by look, most similar first.

    Repeatedly the unplaced photo most similar to any placed photo joins that photo's
    session and counts as placed from then on (a maximum spanning forest grown from the
    sessions), so photos of one spot without metadata follow each other instead of being
    spread over the sessions by their individual best match.
    embeddings: float [N, D]; the similarity of two photos is their dot product (the
    cosine of unit embeddings). Ties go to the unplaced photo listed first, then to the
    lowest placed index. With no sessions at all, the unplaced photos form one session.
    Returns new session lists (indices sorted). O(U (P + U) D) time, O(U + P) memory
    besides the embeddings (U unplaced, P placed photos).
    """
    if not unplaced:
        return [list(s) for s in sessions]
    if not sessions:
        return [sorted(unplaced)]
    E = np.asarray(embeddings, np.float64)
    out = [list(s) for s in sessions]
    owner = {i: k for k, s in enumerate(sessions) for i in s}
    todo = np.array(unplaced, np.intp)
    placed = np.array(sorted(owner), np.intp)
    best = np.empty(len(todo))  # best similarity of each unplaced photo to a placed one ...
    near = np.empty(len(todo), np.intp)  # ... and that placed photo (lowest index on ties)
    for start in range(0, len(todo), PLACE_BLOCK):
        sim = matmul(E[todo[start:start + PLACE_BLOCK]], E[placed].T)
        k = sim.argmax(1)
        best[start:start + PLACE_BLOCK] = sim[np.arange(len(k)), k]
        near[start:start + PLACE_BLOCK] = placed[k]
    alive = np.ones(len(todo), bool)
    E_todo = E[todo]
    for _ in range(len(todo)):
        a = int(np.argmax(np.where(alive, best, -np.inf)))
        i, j = int(todo[a]), int(near[a])
        alive[a] = False
        owner[i] = owner[j]
        out[owner[j]].append(i)
        sim = matmul(E_todo, E[i])  # the newly placed photo may be the best one for the others
        better = alive & ((sim > best) | ((sim == best) & (i < near)))
        best[better], near[better] = sim[better], i
    return [sorted(s) for s in out]


@dataclass
class KnownPhotos:
    """Photos placed before (the site app's photos in sites), for :func:`link_to_known`:
    their GPS position and capture time as float64 arrays [K] (NaN where unknown; a photo
    whose ``lat`` is NaN counts as one without GPS) and each one's label (e.g. its site)."""

    lat: np.ndarray
    lon: np.ndarray
    taken_at: np.ndarray
    labels: list

    @classmethod
    def of(cls, lat: Sequence[float | None], lon: Sequence[float | None], taken_at: Sequence[float | None],
           labels: Sequence[Hashable]) -> "KnownPhotos":
        """From sequences with None where a value is unknown."""
        def arr(xs):
            return np.array([np.nan if x is None else x for x in xs], np.float64)

        return cls(arr(lat), arr(lon), arr(taken_at), list(labels))

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class NewPhotoLinks:
    """What :func:`link_to_known` found: groups of new photos (indices) that go to one place
    together, each with its votes {label: how many links to known photos of that label}.

    sessions:    the GPS sessions of the new photos (:func:`split_sessions`, with the photos
                 joined to them by time); votes by GPS, or by time when no known photo is
                 within reach by GPS.
    runs:        the other new photos that have a capture time, in runs of photos each
                 taken within ``gap_s`` of the one before; votes by time (empty: nothing
                 known was taken near in time: place the run by look).
    no_metadata: the new photos with neither GPS nor a capture time (placed by look).
    """

    sessions: list[tuple[list[int], dict]]
    runs: list[tuple[list[int], dict]]
    no_metadata: list[int]


def link_to_known(new: Sequence[PhotoMeta], known: KnownPhotos, radius_m: float = 300.0,
                  gap_s: float = 4 * 3600.0) -> NewPhotoLinks:
    """Which known photos the new ones link to by metadata, for placing new photos among
    known places one batch at a time (the site app's sites).

    The new photos are split by :func:`split_sessions`. A new photo with GPS links to every
    known photo within ``radius_m`` (the GPS link of :func:`split_sessions`); a new photo
    with a capture time links to every known photo taken within ``gap_s`` of it (one with
    GPS only to known photos without GPS). A session votes by GPS, else by time; time never
    separates, so a run of photos far in time from everything known has no votes (the
    caller places it by look). O(N K) for N new and K known photos.
    """
    sessions, unplaced = split_sessions(new, radius_m, gap_s)
    timed = sorted((new[i].taken_at, i) for i in unplaced if new[i].taken_at is not None)
    runs: list[list[int]] = []
    for k, (t, i) in enumerate(timed):
        if k == 0 or t - timed[k - 1][0] > gap_s:
            runs.append([])
        runs[-1].append(i)

    def count(votes: dict, hits) -> None:
        for k in np.flatnonzero(hits):
            votes[known.labels[k]] = votes.get(known.labels[k], 0) + 1

    def by_time(members) -> dict:
        votes: dict = {}
        for i in members:
            m = new[i]
            if m.taken_at is None or not len(known):
                continue
            near = np.abs(known.taken_at - m.taken_at) <= gap_s
            if m.gps is not None:  # a GPS photo links in time only to photos without GPS
                near &= np.isnan(known.lat)
            count(votes, near)
        return votes

    def by_gps(members) -> dict:
        votes: dict = {}
        for i in members:
            m = new[i]
            if m.gps is not None and len(known):
                count(votes, haversine_m_arrays(m.gps[0], m.gps[1], known.lat, known.lon) <= radius_m)
        return votes

    return NewPhotoLinks([(members, by_gps(members) or by_time(members)) for members in sessions],
                         [(members, by_time(members)) for members in runs],
                         [i for i in unplaced if new[i].taken_at is None])


def group_sessions(
    analyses: Sequence[PhotoAnalysis],
    settings: Settings | None = None,
    locked: Sequence[Hashable | None] | None = None,
    pair_cache: PairCache | None = None,
    workers: int = 1,
    thorough=None,
) -> GroupResult:
    """Split photos into site sessions (:func:`split_sessions`), group each
    session on its own, and number the groups across sessions (session order, then capture
    order). Photos of different sessions are never compared (no pair between them), except
    that sessions holding photos of one locked group are joined (a person's group stays one).
    thorough: an :class:`edge_app.engine.thorough.Thorough`: the thorough pass in each session."""
    s = settings or Settings()
    n = len(analyses)
    if locked is not None and len(locked) != n:
        raise ValueError(f"locked has {len(locked)} labels for {n} photos")
    sessions, unplaced = split_sessions([a.meta for a in analyses], s.site_radius_m, s.session_gap_s)
    if unplaced and sessions:
        sessions = place_by_similarity(sessions, unplaced, np.stack([a.embedding for a in analyses]))
    elif unplaced:
        sessions = [sorted(unplaced)]
    if locked is not None:
        sessions = join_locked_sessions(sessions, locked)
    if len(sessions) <= 1:
        res = group_analyses(analyses, s, locked, pair_cache, workers, thorough)
        res.sessions = sessions
        return res
    labels: list[int | None] = [None] * n
    pairs: list[tuple[np.ndarray, ...]] = []  # (i, j, p, cos) of each session, photo indices of the folder
    scores: dict[tuple[int, int], PairScore] = {}
    timings: dict[str, float] = {}
    offset = 0
    links, review, discounted = [], [], []
    for members in sessions:
        sub = group_analyses([analyses[i] for i in members], s,
                             [locked[i] for i in members] if locked is not None else None, pair_cache, workers,
                             thorough)
        ix = np.asarray(members, np.intp)
        links += [tuple(sorted((members[a], members[b]))) for a, b in sub.cascade_links]
        review += [tuple(sorted((members[a], members[b]))) for a, b in sub.review]
        discounted += [(*sorted((members[a], members[b])), p0, p1) for a, b, p0, p1 in sub.discounted]
        P, C = sub.P.tocoo(), sub.cos.tocoo()  # both hold every stored pair in both triangles
        up = P.row < P.col
        pairs.append((ix[P.row[up]], ix[P.col[up]], P.data[up], C.data[C.row < C.col]))
        for (a, b), sc in sub.scores.items():
            scores[(members[a], members[b])] = sc
        for k, lab in enumerate(sub.labels):
            labels[members[k]] = None if lab is None else lab + offset
        offset += len({lab for lab in sub.labels if lab is not None})
        for k, v in sub.timings.items():
            timings[k] = timings[k] + "; " + v if isinstance(v, str) and k in timings else \
                v if isinstance(v, str) else timings.get(k, 0) + v
    i, j, p, c = (np.concatenate(x) for x in zip(*pairs))
    return GroupResult(labels, pair_matrix(n, i, j, p), pair_matrix(n, i, j, c), scores, timings, sessions,
                       links, review, discounted)


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
