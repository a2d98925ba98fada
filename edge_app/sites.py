"""Split a folder that spans several sites or visits into sessions ("GPS filtering").

A session is a set of photos taken close together in space (GPS) and time; grouping runs
inside each session only, so photos of two sites are never compared and each session stays
small (10-30 photos in the field).

* Photos with GPS: single-linkage over the haversine distance: two photos are in one
  session when a chain of photos links them with steps of at most ``radius_m``.
* Photos without GPS but with a capture time join the GPS session of the photo nearest in
  time, if within ``gap_s``; otherwise they form sessions of their own by time: sorted by
  capture time, a gap longer than ``gap_s`` starts a new session. When a GPS session has no
  capture time at all, nothing tells such photos apart from it, so they count as photos
  without metadata instead.
* Photos with neither cannot be placed by metadata: :func:`split_sessions` returns them
  apart, and :func:`place_by_similarity` puts each into the session of the photo it looks
  most like, placed or not (a copy sent through a messenger loses its EXIF but not its
  content). A folder without any metadata is one session, as a person would expect.

:func:`group_sessions` groups each session on its own (:func:`edge_app.pairs.group_analyses`)
and numbers the groups across sessions.
"""

from __future__ import annotations

from typing import Hashable, Sequence

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from .analyze import PhotoAnalysis
from .config import Settings
from .metadata import PhotoMeta, haversine_m
from .pairs import GroupResult, PairCache, PairScore, cosine_matrix, group_analyses


def _gps_components(points: list[tuple[float, float]], radius_m: float) -> np.ndarray:
    n = len(points)
    rows, cols = [], []
    for i in range(n):
        for j in range(i + 1, n):
            if haversine_m(points[i], points[j]) <= radius_m:
                rows.append(i)
                cols.append(j)
    g = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    return connected_components(g, directed=False)[1]


def split_sessions(
    metas: Sequence[PhotoMeta], radius_m: float = 300.0, gap_s: float = 4 * 3600.0
) -> tuple[list[list[int]], list[int]]:
    """(sessions, unplaced): sessions as lists of photo indices ordered by their first
    capture time; unplaced: photos with neither GPS nor capture time (and photos with a
    capture time only, far from every timed GPS photo, when a GPS session has no time).

    metas: one PhotoMeta per photo; radius_m: GPS linkage distance in metres;
    gap_s: time gap in seconds that separates sessions of photos without GPS.
    """
    n = len(metas)
    session = np.full(n, -1)
    gps_idx = [i for i in range(n) if metas[i].gps is not None]
    next_id = 0
    if gps_idx:
        comp = _gps_components([metas[i].gps[:2] for i in gps_idx], radius_m)
        for i, c in zip(gps_idx, comp):
            session[i] = c
        next_id = int(comp.max()) + 1
    timed_gps = [(metas[i].taken_at, i) for i in gps_idx if metas[i].taken_at is not None]
    loose = []
    for i in range(n):
        if session[i] >= 0:
            continue
        t = metas[i].taken_at
        if t is None:
            continue
        if timed_gps:
            dt, j = min((abs(t - tj), j) for tj, j in timed_gps)
            if dt <= gap_s:
                session[i] = session[j]
                continue
        loose.append((t, i))
    if {int(session[i]) for i in gps_idx} - {int(session[j]) for _, j in timed_gps}:
        loose = []  # a GPS session without capture times: time cannot tell them apart
    loose.sort()
    prev = None
    for t, i in loose:
        if prev is None or t - prev > gap_s:
            cur = next_id
            next_id += 1
        session[i] = cur
        prev = t
    unplaced = [i for i in range(n) if session[i] < 0]
    groups: dict[int, list[int]] = {}
    for i in range(n):
        if session[i] >= 0:
            groups.setdefault(int(session[i]), []).append(i)

    def first_time(members):
        ts = [metas[i].taken_at for i in members if metas[i].taken_at is not None]
        return (0, min(ts)) if ts else (1, members[0])

    return sorted(groups.values(), key=first_time), unplaced


def place_by_similarity(sessions: list[list[int]], unplaced: Sequence[int], similarity: np.ndarray) -> list[list[int]]:
    """Put the unplaced photos into sessions by look, most similar first.

    Repeatedly the unplaced photo most similar to any placed photo joins that photo's
    session and counts as placed from then on (a maximum spanning forest grown from the
    sessions), so photos of one spot without metadata follow each other instead of being
    spread over the sessions by their individual best match.
    similarity: float [N, N] (e.g. embedding cosine). With no sessions at all, the
    unplaced photos form one session. Returns new session lists (indices sorted).
    """
    if not unplaced:
        return [list(s) for s in sessions]
    if not sessions:
        return [sorted(unplaced)]
    out = [list(s) for s in sessions]
    owner = {i: k for k, s in enumerate(sessions) for i in s}
    todo = list(unplaced)
    while todo:
        placed = np.array(sorted(owner))
        sim = np.asarray(similarity)[np.ix_(todo, placed)]
        a, b = np.unravel_index(np.argmax(sim), sim.shape)
        i, j = todo.pop(int(a)), int(placed[b])
        owner[i] = owner[j]
        out[owner[j]].append(i)
    return [sorted(s) for s in out]


def group_sessions(
    analyses: Sequence[PhotoAnalysis],
    settings: Settings | None = None,
    locked: Sequence[Hashable | None] | None = None,
    pair_cache: PairCache | None = None,
    workers: int = 1,
) -> GroupResult:
    """Split photos into site sessions (:func:`split_sessions`), group each
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
