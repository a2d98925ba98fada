"""The thorough pass (issue 11): after the fast grouping of a session, check more pairs, give
the undecided ones a stronger and slower look, and discount evidence that rests on a machine.

The fast path (:func:`edge_app.engine.group.group_pairs` without ``thorough``) stays the 1 s answer
for 30 photos. This pass runs after it (in the site app's worker once the fast grouping is
stored and shown; in ``edge-app cluster`` when it fits the budget, or with ``--thorough``):

1. **More pairs checked** (XFeat, as the fast path): every pair of a session of up to
   ``check_all_up_to`` photos; in a larger one, each photo's mutual nearest photos by look
   up to rank ``mutual_knn`` (a second route besides each photo's ``knn`` nearest: a photo
   whose subject is small behind a crowd ranks its partners low, but they rank it high
   too). Then the session is linked again (:func:`edge_app.engine.pairs.link_session`).
2. **The undecided band** (:func:`band_pairs`): pairs not grouped with p >= ``band_low``,
   grouped with p < ``band_high``, or with a cosine in the session's top 10 % and p <
   ``band_high`` (a strong look with weak geometry), at most ``cascade_max_pairs`` of them.
3. **The cascade** (:class:`Cascade`: ALIKED + LightGlue, :mod:`edge_app.engine.vision.cascade`) on
   those pairs, when it runs (:func:`cascade_mode`: always with ``--thorough`` and in the site
   app; by default in ``edge-app cluster`` only when the band's cost *by count* fits
   ``thorough_budget_s``; its models are loaded only then): a pair whose matches hold enough
   inliers beyond chance *and* the central part
   of both photos (``CascadeScore.links``) is raised to ``cascade_p``; one whose inliers are
   strong but off the subject of either photo (the same building behind two subjects:
   ``CascadeScore.review``) is flagged for a person. Nothing is lowered. A link that would
   join two fast groups on that one pair alone (no other link of the cascade joins them, and
   the fast path gave the pair under ``cascade_lone_p``) is not made; the pair goes to the
   review list (:func:`lone_links`; the two spots stay as they were): between look-alike
   facades or identical doors the cascade finds one such pair, while two parts of one spot
   split by day and night or by a wide turn give it several.
4. **Machines** (:func:`machine_pairs`): a photo that hangs in its group on one strong pair
   is checked against the group's other photos: when that pair's inliers land on a compact
   region of the partner that its other group-mates do not show, while they do show the
   rest of it (:meth:`Support.rests_on_one_shot`), the link rests on something present in
   one shot only (an excavator, a truck, a crane) and its evidence is discounted to the
   supported inliers (``edge-app cluster``), or flagged for review (the site app,
   ``add_only``: a person decides).
5. The session is linked again with those verdicts; people's locks are kept as always.

``refine_session`` takes the pieces it may use as a :class:`SessionChecks` (callables over
the session's photo indices), so the simulation in ``scripts/fit_pair_model.py`` runs it on
stored evidence exactly as the app does.
"""

from __future__ import annotations

import io
import json
import logging
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Hashable, Sequence

import numpy as np

from .. import app_settings
from ..fileio import sharded_path
from .analyze import PhotoAnalysis
from .config import Settings
from .pairs import KnownPairs, LookTop, Pairs, SessionPhotos, link_session, probabilities_alone
from .vision.verify import PairScore

log = logging.getLogger(__name__)

class Interrupted(Exception):
    """The thorough pass gave way (its ``should_stop`` said so): nothing of it was applied;
    the features it computed stay in the cascade's cache for the next try."""


def give_way(should_stop: Callable[[], bool] | None) -> None:
    """Raise :class:`Interrupted` when ``should_stop`` (if any) says so."""
    if should_stop is not None and should_stop():
        raise Interrupted()


@dataclass
class Outcome:
    """What the thorough pass did in one session (photo indices of the session).

    checked:    pairs verified by step 1.
    band:       pairs sent to the cascade (empty when it did not run).
    links:      pairs the cascade linked (p raised to ``cascade_p``).
    review:     pairs flagged for a person: a strong match off the subject of either photo,
                or (``add_only``) a link that rests on a machine.
    discounted: pairs whose evidence was cut to the inliers on supported structure, with
                their p before and after.
    undecided:  pairs in the band (whether or not the cascade ran); undecided_photos: photos in them.
    estimate_s: the band's cost by count (:func:`cascade_cost_s`); skipped: why the cascade did
                not run ("" if it did); mode: "thorough" (the cascade ran on the band, or the
                band was empty) or "fast" (it did not run); reason: why, in words.
    timings:    seconds per step.
    """

    checked: int = 0
    band: Pairs = field(default_factory=list)
    links: Pairs = field(default_factory=list)
    review: Pairs = field(default_factory=list)
    discounted: list[tuple[int, int, float, float]] = field(default_factory=list)
    undecided: int = 0
    undecided_photos: int = 0
    estimate_s: float = 0.0
    skipped: str = ""
    mode: str = "fast"
    reason: str = ""
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class SessionChecks:
    """The checks the thorough pass may use in one session.

    stronger:  pairs -> {pair: CascadeScore} (the cascade matcher), or None (no cascade); it
               may return None when the cascade turns out to be unavailable on first use.
    support:   (a, b, mates) -> :class:`Support` of the pair (a, b) over b's ``mates``, or None.
    budget_s:  the cascade runs only when the band's cost by count (:func:`cascade_cost_s`)
               is within this (None: always).
    add_only:  the site app: never lower a p (a machine link is flagged for review instead),
               and no pair ends below its p of the fast grouping.
    should_stop: asked between the pass's steps and chunks of its work; True raises
               :class:`Interrupted` (the site app: new photos wait, they come first).
    outcome:   filled by :func:`refine_session`.
    """

    stronger: Callable[[Pairs], dict | None] | None = None
    support: Callable[[int, int, list[int]], "Support"] | None = None
    budget_s: float | None = None
    add_only: bool = False
    should_stop: Callable[[], bool] | None = None
    outcome: Outcome = field(default_factory=Outcome)


def _pair_index(known: KnownPairs) -> dict[tuple[int, int], int]:
    return {ij: k for k, ij in enumerate(zip(known.i.tolist(), known.j.tolist()))}


def _p_of(known: KnownPairs) -> Callable[[int, int], float]:
    """p of a pair of photos (either order) as ``known`` holds it; 0 for a pair it lacks."""
    where = _pair_index(known)

    def p(x: int, y: int) -> float:
        k = where.get((min(x, y), max(x, y)))
        return 0.0 if k is None else float(known.p[k])

    return p


def wider_pairs(photos: SessionPhotos, scores: dict, top: LookTop, settings: Settings) -> Pairs:
    """Pairs (i < j) step 1 verifies: every pair not verified yet of a session of up to
    ``check_all_up_to`` photos, else each photo's mutual nearest by look up to rank
    ``mutual_knn`` (from the scan's best partners by look). Never pairs of photos farther
    apart than the site radius or that can never be a spot."""
    s = settings
    n = len(photos)
    if n <= s.check_all_up_to:
        i, j = np.triu_indices(n, 1)
    else:
        k = min(s.mutual_knn, top.idx.shape[1])
        order = np.argsort(-top.z, axis=1, kind="stable")[:, :k]
        near = np.take_along_axis(top.idx, order, 1)
        ok = np.isfinite(np.take_along_axis(top.z, order, 1))
        rows = np.repeat(np.arange(n), k)[ok.ravel()]
        cols = near.ravel()[ok.ravel()]
        fwd = set(zip(rows.tolist(), cols.tolist()))
        both = [(a, b) for a, b in fwd if a < b and (b, a) in fwd]
        if not both:
            return []
        i, j = (np.array(x, np.intp) for x in zip(*both))
    far = np.nan_to_num(photos.gps_m(i, j), nan=0.0) > s.site_radius_m
    keep = ~far & ~photos.ruled_out[i] & ~photos.ruled_out[j]
    return sorted((a, b) for a, b in zip(i[keep].tolist(), j[keep].tolist()) if (a, b) not in scores)


def band_pairs(photos: SessionPhotos, labels: Sequence[int | None], known: KnownPairs, settings: Settings) -> Pairs:
    """The undecided pairs (i < j) of a session, the ones to send to the cascade first:
    not grouped with p >= ``band_low``, grouped with p < ``band_high``, or a strong look
    (cosine in the top ``1 - band_look_quantile`` of the session's pairs: all pairs of a
    session of up to ``check_all_up_to`` photos, else the pairs with evidence) with p <
    ``band_high``. Pairs that can never be one spot (GPS beyond the radius, a photo without
    structure) are left out. Ungrouped pairs come first, then grouped ones, each by p,
    highest first; at most ``cascade_max_pairs``."""
    s = settings
    n = len(photos)
    if not len(known.p):
        return []
    cos = photos.cos(known.i, known.j)
    if n <= s.check_all_up_to:
        iu = np.triu_indices(n, 1)
        every = (photos.E @ photos.E.T)[iu]
        cos_hi = float(np.quantile(every, s.band_look_quantile)) if len(every) else np.inf
    else:
        cos_hi = float(np.quantile(cos, s.band_look_quantile))
    lab = np.array([-1 if x is None else x for x in labels], np.intp)
    grouped = (lab[known.i] >= 0) & (lab[known.i] == lab[known.j])
    p = known.p
    band = (~grouped & (p >= s.band_low)) | (grouped & (p < s.band_high)) | ((cos >= cos_hi) & (p < s.band_high))
    far = np.nan_to_num(photos.gps_m(known.i, known.j), nan=0.0) > s.site_radius_m
    band &= ~far & ~photos.ruled_out[known.i] & ~photos.ruled_out[known.j]
    idx = np.flatnonzero(band)
    idx = idx[np.lexsort((known.j[idx], known.i[idx], -p[idx], grouped[idx]))]
    return [(int(known.i[k]), int(known.j[k])) for k in idx[: s.cascade_max_pairs]]


def cascade_cost_s(band: Pairs, settings: Settings) -> float:
    """The cascade's cost for ``band`` *by count*: its photos x ``cascade_photo_s`` + its pairs
    x ``cascade_pair_s``, every photo counted as new. Nothing cached and no time measured
    while running enters it, so the decision is the same on every run of the same folder."""
    return len({i for ij in band for i in ij}) * settings.cascade_photo_s + len(band) * settings.cascade_pair_s


def cascade_mode(band: Pairs, settings: Settings, budget_s: float | None) -> tuple[bool, str]:
    """Whether the cascade runs on ``band`` (the undecided pairs of a session) and why: always
    when ``budget_s`` is None (``--thorough``, the site app), else when
    :func:`cascade_cost_s` is within ``budget_s`` (``edge-app cluster`` by default)."""
    photos = len({i for ij in band for i in ij})
    if not band:
        return True, "no undecided pair"
    counts = f"{len(band)} undecided pairs over {photos} photos"
    if budget_s is None:
        return True, f"{counts}, always checked (thorough pass on)"
    cost = cascade_cost_s(band, settings)
    rule = (f"{photos} x {settings.cascade_photo_s:g} s + {len(band)} x {settings.cascade_pair_s:g} s "
            f"= {cost:.2f} s by count")
    if cost > budget_s:
        return False, f"{counts}: {rule} > budget {budget_s:g} s"
    return True, f"{counts}: {rule} <= budget {budget_s:g} s"


def machine_pairs(labels: Sequence[int | None], known: KnownPairs, threshold: float,
                  most_mates: int = 8) -> list[tuple[int, int, list[int]]]:
    """(a, b, mates): each photo ``a`` of a group of 3 or more that hangs in it on one pair:
    ``b`` is its only partner in the group with p >= ``threshold`` (unknown pairs count as
    0); ``mates``: b's ``most_mates`` likeliest partners in the group besides a (what b's
    spot looks like without a). Such a link may rest on a machine present in a and b only;
    photos with several likely partners do not."""
    members: dict[int, list[int]] = {}
    for i, lab in enumerate(labels):
        if lab is not None:
            members.setdefault(lab, []).append(i)
    p = _p_of(known)
    out = []
    for g in members.values():
        if len(g) < 3:
            continue
        for a in g:
            ps = {x: p(a, x) for x in g if x != a}
            b = max(ps, key=lambda x: (ps[x], -x))
            if ps[b] >= threshold and sum(v >= threshold for v in ps.values()) == 1:
                mates = sorted((x for x in g if x not in (a, b)), key=lambda x: (-p(b, x), x))[:most_mates]
                out.append((a, b, mates))
    return out


def lone_links(labels: Sequence[int | None], links: Pairs, p_of: Callable[[int, int], float],
               lone_p: float) -> set[tuple[int, int]]:
    """The cascade links (i, j) that would join two fast groups (both labelled, different
    labels) on that pair alone: no other link of ``links`` joins the same two groups, and the
    fast path gave the pair ``p_of(i, j) < lone_p``. A photo of no group (None) is never
    part of one: a lone photo joins a group on one good pair."""
    def groups(ij):
        a, b = labels[ij[0]], labels[ij[1]]
        return None if a is None or b is None or a == b else (min(a, b), max(a, b))

    joining = [(ij, groups(ij)) for ij in links]
    count = Counter(g for _, g in joining if g is not None)
    return {ij for ij, g in joining if g is not None and count[g] < 2 and p_of(*ij) < lone_p}


def refine_session(
    photos: SessionPhotos,
    labels: list[int | None],
    known: KnownPairs,
    scores: dict[tuple[int, int], PairScore],
    top: LookTop,
    verify: Callable[[Pairs], dict[tuple[int, int], PairScore]],
    settings: Settings,
    locked: Sequence[Hashable | None] | None,
    checks: SessionChecks,
    cannot: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[list[int | None], KnownPairs]:
    """The thorough pass over one session after its fast grouping (``labels``, ``known``,
    ``scores``: what :func:`edge_app.engine.group.group_pairs` found; ``scores`` is extended;
    ``cannot``: cannot-link pairs, as :func:`edge_app.engine.pairs.link_session`).
    Returns the new (labels, known); what it did goes to ``checks.outcome``."""
    s = settings
    out = checks.outcome = Outcome()
    t0 = time.perf_counter()
    raise_to: dict[tuple[int, int], float] = {}
    lower_to: dict[tuple[int, int], float] = {}
    if checks.add_only:  # no pair ends below what the fast grouping gave it
        raise_to = dict(zip(zip(known.i.tolist(), known.j.tolist()), known.p.tolist()))
    # 1. more pairs checked
    wide = wider_pairs(photos, scores, top, s)
    chunk = app_settings.value("thorough.chunk_pairs")  # pairs between two questions to should_stop
    for k in range(0, len(wide), chunk):
        give_way(checks.should_stop)
        scores.update(verify(wide[k:k + chunk]))
    if wide:
        labels, known, _ = link_session(photos, scores, top, verify, s, locked, raise_to, lower_to, cannot)
    out.checked = len(wide)
    t1 = time.perf_counter()
    # 2-3. the undecided band through the cascade
    give_way(checks.should_stop)
    if checks.stronger is not None:
        band = band_pairs(photos, labels, known, s)
        out.undecided, out.undecided_photos = len(band), len({i for ij in band for i in ij})
        out.estimate_s = cascade_cost_s(band, s)
        run, out.reason = cascade_mode(band, s, checks.budget_s)
        got = checks.stronger(band) if run and band else {}  # the cascade's models load here, if at all
        if not run:
            out.skipped = f"cost {out.estimate_s:.1f} s by count > budget {checks.budget_s:g} s"
        elif got is None:
            run, out.skipped = False, "the cascade could not be loaded"
            out.reason = f"{out.reason}; {out.skipped}"
        elif not band:
            out.skipped = "no undecided pair"
        else:
            out.band = band
            lone = lone_links(labels, [ij for ij, sc in got.items() if sc.links], _p_of(known), s.cascade_lone_p)
            for ij, sc in got.items():
                if sc.links and ij not in lone:
                    out.links.append(ij)
                    raise_to[ij] = max(raise_to.get(ij, 0.0), s.cascade_p)
                elif sc.review or sc.links:
                    out.review.append(ij)
            if out.links:
                labels, known, _ = link_session(photos, scores, top, verify, s, locked, raise_to, lower_to, cannot)
        out.mode = "thorough" if run else "fast"
    else:
        out.skipped = out.reason = "no cascade models"
    t2 = time.perf_counter()
    # 4. machines: links that rest on something one shot of the spot shows
    if checks.support is not None:
        where = _pair_index(known)
        for n, (a, b, mates) in enumerate(machine_pairs(labels, known, s.group_threshold)):
            if n % 16 == 0:
                give_way(checks.should_stop)
            ij = (min(a, b), max(a, b))
            if ij in out.links or ij not in scores:  # the cascade saw the subject itself
                continue
            ev = checks.support(a, b, mates)
            if not ev.rests_on_one_shot(s):
                continue
            before = float(known.p[where[ij]])
            if checks.add_only:
                out.review.append(ij)
                out.discounted.append((*ij, before, before))
                continue
            sc = scores[ij]
            r = ev.supported / ev.inliers
            cut = PairScore(sc.matches, int(sc.inliers_f * r), int(sc.inliers_h * r), sc.inlier_ratio * r,
                            sc.coverage_a * r, sc.coverage_b * r, int(sc.distinct * r) if sc.distinct >= 0 else -1)
            after = float(probabilities_alone(photos, [ij], {ij: cut}, s)[0])
            if after < before:
                lower_to[ij] = after
                out.discounted.append((*ij, before, after))
        if lower_to:
            labels, known, _ = link_session(photos, scores, top, verify, s, locked, raise_to, lower_to, cannot)
    t3 = time.perf_counter()
    out.timings = {"check_s": t1 - t0, "cascade_s": t2 - t1, "machines_s": t3 - t2, "checked_pairs": out.checked,
                   "band_pairs": len(out.band), "cascade_links": len(out.links)}
    return labels, known


# ----------------------------------------------------------------------------- the app's checks

def cascade_image(path: str | Path) -> np.ndarray | None:
    """A photo as the cascade reads it: uint8 RGB [H, W, 3] with a long side of about
    :attr:`Cascade.DECODE_SIDE` (None when it cannot be read any more)."""
    from .decode import ImageError, decode_image

    try:
        return decode_image(path, Cascade.DECODE_SIDE).rgb
    except (ImageError, OSError):
        return None


def save_features(path: Path, f) -> None:
    """Write one photo's cascade features (a :class:`~edge_app.engine.vision.cascade.PhotoFeatures`)
    to ``path`` atomically; a failure to write is logged, not raised (it is a cache)."""
    from ..fileio import write_atomic

    buf = io.BytesIO()
    v = f.views[0]
    np.savez(buf, xy=v.xy, desc=v.desc, scores=f.scores, size=np.array(f.size))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, buf.getvalue())
    except OSError as e:
        log.warning("cascade feature cache not written: %s", e)


def load_features(path: Path, kind: str):
    """:func:`save_features`'s file back (None when it is missing or damaged)."""
    from .vision.cascade import PhotoFeatures, ScaleFeatures

    try:
        with np.load(path, allow_pickle=False) as z:
            return PhotoFeatures(tuple(int(v) for v in z["size"]), [ScaleFeatures(z["xy"], z["desc"], 1.0)],
                                 kind, z["scores"])
    except Exception:  # noqa: BLE001 - a damaged cache entry is a miss
        return None


def _read_lines(stream, out: "queue.Queue[str]") -> None:
    """Put each line of ``stream`` into ``out``, then "" at its end (or when it breaks)."""
    try:
        for line in stream:
            out.put(line)
    except (OSError, ValueError):
        pass
    out.put("")


class Cascade:
    """ALIKED + LightGlue on photos of the engine (:class:`edge_app.engine.vision.cascade.AlikedLightGlue`),
    with each photo's features kept in memory and, given ``cache_dir``, on disk (keyed by the
    photo's sha256 and the models' hashes).

    image_of: PhotoAnalysis -> uint8 RGB (long side about ``DECODE_SIDE``) or None when the
    photo cannot be read any more. workers: pairs matched side by side; photo_workers: photos
    through ALIKED side by side (1: its activations are 0.6 GB an inference, so the app runs
    one photo at a time on every core). Whether it runs at all is decided from counts
    (:func:`cascade_mode`), never from times measured here.

    child: compute missing features in a short-lived child process
    (``python -m edge_app.engine.cascade_child``) that writes them to ``cache_dir`` and exits, so
    ALIKED's 0.6 GB of activations never count against a long-lived process (the site app's
    serve stays within its memory budget); needs ``cache_dir`` and ``path_of`` (where a photo
    can be read). child is ``{"models_dir": ..., "threads": n}``. A photo the child could not
    do counts as unreadable (it is not computed in this process).
    """

    #: The photo is decoded at about this long side, then resized to ALIKED's 640x480 input
    #: (as measured in docs/cascade.md).
    DECODE_SIDE = 1280
    #: Photos whose features stay in memory (0.27 MB each); older ones are read from the disk
    #: cache again, or computed again without one.
    MEMORY = 256
    #: Photos computed in this process, or pairs matched, between two questions to
    #: ``should_stop`` (about 3 s / 0.2 s on a 2-core CPU; the child is asked before each photo).
    STOP_EVERY = 6
    #: A child process that has not answered for a photo within this long is ended.
    CHILD_TIMEOUT_S = 120.0
    #: Photos handed to the child before its answer for the first of them: it may work on
    #: two at once (:func:`edge_app.engine.cascade_child.photos_at_once`).
    CHILD_AHEAD = 2

    def __init__(self, matcher, image_of: Callable[[PhotoAnalysis], np.ndarray | None],
                 cache_dir: str | Path | None = None, workers: int = 1, photo_workers: int | None = None,
                 child: dict | None = None, path_of: Callable[[PhotoAnalysis], Path | None] | None = None):
        self.matcher = matcher
        self.image_of = image_of
        self.child = child if cache_dir and path_of else None
        self.path_of = path_of
        self._child_bad: set[str] = set()  # photos the child died or hung on (not handed over again)
        self.workers = max(1, workers)
        self.photo_workers = max(1, photo_workers or workers)
        self.cache_dir = Path(cache_dir) / matcher.fingerprint if cache_dir else None
        self._mem: OrderedDict[str, object] = OrderedDict()  # the MEMORY most recent photos' features
        self._lock = threading.Lock()

    # -- features -----------------------------------------------------------------------
    def _path(self, key: str) -> Path | None:
        return sharded_path(self.cache_dir, key) if self.cache_dir else None

    def has_features(self, a: PhotoAnalysis) -> bool:
        p = self._path(a.key)
        return a.key in self._mem or (p is not None and p.is_file())

    def features(self, a: PhotoAnalysis, compute: bool = True):
        """ALIKED features of one photo (None when its image cannot be read, or when it is
        not in memory or on disk and ``compute`` is False)."""
        with self._lock:
            f = self._mem.get(a.key)
            if f is not None:
                self._mem.move_to_end(a.key)
        if f is not None:
            return f
        p = self._path(a.key)
        if p is not None and p.is_file():
            f = load_features(p, self.matcher.kind)
        if f is None:
            rgb = self.image_of(a) if compute else None
            if rgb is None:
                return None
            f = self.matcher.features(rgb)
            if p is not None:
                save_features(p, f)
        with self._lock:
            self._mem[a.key] = f
            while len(self._mem) > self.MEMORY:
                self._mem.popitem(last=False)
        return f

    def features_in_child(self, analyses: Sequence[PhotoAnalysis],
                          should_stop: Callable[[], bool] | None = None) -> int:
        """Compute the features of ``analyses`` not yet on disk in one child process (see
        ``child``), a photo at a time; returns how many it wrote. should_stop: asked before
        each photo; True ends the child and raises :class:`Interrupted` (what it wrote stays)."""
        todo = [(a.key, str(self.path_of(a))) for a in analyses
                if not self.has_features(a) and self.path_of(a) is not None and a.key not in self._child_bad]
        if not todo or self.child is None:
            return 0
        give_way(should_stop)
        head = {"models_dir": self.child.get("models_dir"), "threads": self.child.get("threads"),
                "cache_dir": str(self.cache_dir), "fingerprint": self.matcher.fingerprint}
        done = 0
        with tempfile.TemporaryFile("w+") as err:
            try:
                proc = subprocess.Popen([sys.executable, "-m", "edge_app.engine.cascade_child"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=err, text=True, bufsize=1)
            except OSError as e:
                log.warning("cascade features: the child process did not start: %s", e)
                return 0
            # its output lines, read on a thread: two answers may come at once, and a line read
            # ahead is in no pipe that select() could see
            answers: queue.Queue[str] = queue.Queue()
            reader = threading.Thread(target=_read_lines, args=(proc.stdout, answers), daemon=True)
            reader.start()
            try:
                proc.stdin.write(json.dumps(head) + "\n")
                waiting = list(todo)
                handed: dict[str, str] = {}  # photos the child has and has not answered for
                while waiting or handed:
                    while waiting and len(handed) < self.CHILD_AHEAD:
                        give_way(should_stop)
                        key, path = waiting.pop(0)
                        proc.stdin.write(json.dumps([key, path]) + "\n")
                        proc.stdin.flush()
                        handed[key] = path
                    try:
                        line = answers.get(timeout=self.CHILD_TIMEOUT_S)
                    except queue.Empty:
                        line = ""
                    if not line:  # it died on one of these (memory?) or hangs: never hand them over again
                        log.warning("cascade features: the child process stopped answering on %s",
                                    ", ".join(k[:12] for k in handed))
                        self._child_bad.update(handed)
                        break
                    r = json.loads(line)
                    handed.pop(r.get("key"), None)
                    if r.get("seconds") is not None:
                        done += 1
                    elif r.get("error"):
                        log.info("cascade features of %s: %s", str(r.get("key"))[:12], r["error"])
            except (OSError, ValueError) as e:
                log.warning("cascade features: the child process failed: %s", e)
            finally:
                try:  # the end of its input: it finishes the photo in hand and exits
                    proc.stdin.close()
                except OSError:
                    pass
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                reader.join(5)  # its output ended with it
                try:
                    proc.stdout.close()
                except OSError:
                    pass
                if proc.returncode:
                    err.seek(0)
                    log.warning("cascade features: the child process exited with %s: %s", proc.returncode,
                                err.read().strip()[-500:])
        return done

    # -- pairs ----------------------------------------------------------------------------
    def check(self, analyses: Sequence[PhotoAnalysis], pairs: Pairs,
              should_stop: Callable[[], bool] | None = None) -> dict:
        """{pair: CascadeScore} for ``pairs`` (indices into ``analyses``); a pair whose photo
        cannot be read is left out. should_stop: asked every ``STOP_EVERY`` photos or pairs;
        True raises :class:`Interrupted`."""
        from .vision.cascade import stronger_evidence

        need = sorted({i for ij in pairs for i in ij})
        if self.child is not None:
            self.features_in_child([analyses[i] for i in need], should_stop)
        feats = {}
        compute = self.child is None
        with ThreadPoolExecutor(self.photo_workers) as ex:
            for k in range(0, len(need), self.STOP_EVERY):
                part = need[k:k + self.STOP_EVERY]
                give_way(should_stop)
                feats |= dict(zip(part, ex.map(lambda i: self.features(analyses[i], compute), part)))
        give_way(should_stop)

        def one(ij):
            fa, fb = feats[ij[0]], feats[ij[1]]
            if fa is None or fb is None:
                return ij, None
            return ij, stronger_evidence(fa, fb, self.matcher)

        out = {}
        with ThreadPoolExecutor(self.workers) as ex:
            for k in range(0, len(pairs), self.STOP_EVERY):
                give_way(should_stop)
                out |= {ij: sc for ij, sc in ex.map(one, pairs[k:k + self.STOP_EVERY]) if sc is not None}
        return out


@dataclass
class Support:
    """What :class:`MachineSupport` measures for a pair (a, b) and b's group-mates.

    inliers:   epipolar inliers between a and b (the engine's matching rules).
    supported: those on a keypoint of b that at least one mate also shows (an inlier there).
    seen:      keypoints of b that at least one mate shows; keypoints: all of b's.
    area:      share of the cells of an 8x8 grid over b holding at least 2 of the inliers (the
               region they cover; a stray inlier does not count).
    """

    inliers: int = 0
    supported: int = 0
    seen: int = 0
    keypoints: int = 0
    area: float = 0.0

    def rests_on_one_shot(self, settings: Settings) -> bool:
        """The link's inliers land on something b's mates do not show, where they do show the
        rest of b: fewer supported inliers than ``machine_max_ratio`` x the share of b's
        keypoints its mates show, on a compact region (under ``machine_max_area`` of the
        frame: a machine, not a view of the scene only two photos share)."""
        if self.inliers < 8 or self.seen < settings.machine_min_seen or not self.keypoints:
            return False
        base = self.seen / self.keypoints
        return self.supported / self.inliers < settings.machine_max_ratio * base and self.area < settings.machine_max_area


class MachineSupport:
    """The machine check's evidence from the engine's own XFeat keypoints (no model of its own):
    :func:`edge_app.engine.vision.cascade.keypoint_support` of the partner over its group-mates."""

    def __init__(self, analyses: Sequence[PhotoAnalysis]):
        self.analyses = analyses
        self._support: dict[tuple[int, tuple[int, ...]], np.ndarray] = {}

    def __call__(self, a: int, b: int, mates: list[int]) -> Support:
        from .vision.cascade import cell_share, inlier_pairs, keypoint_support

        fa, fb = self.analyses[a].features, self.analyses[b].features
        if fa.kind != "xfeat" or fb.kind != "xfeat":
            return Support()
        key = (b, tuple(sorted(mates)))
        sup = self._support.get(key)
        if sup is None:
            sup = self._support[key] = keypoint_support(fb, [self.analyses[m].features for m in mates])
        ij = inlier_pairs(fa, fb)
        seen = int((sup > 0).sum())
        if not len(ij):
            return Support(0, 0, seen, len(fb))
        return Support(len(ij), int((sup[ij[:, 1]] > 0).sum()), seen, len(fb),
                       cell_share(fb.xy[ij[:, 1]], fb.size, 8, min_count=2))


class Thorough:
    """What the app hands to :func:`edge_app.engine.sessions.group_sessions` for the thorough pass:
    builds each session's :class:`SessionChecks`, and sums up what they did (:meth:`summary`).

    cascade: a :class:`Cascade`; or a callable that returns one (or None when it cannot be
    had), called the first time a session's cascade runs, so its models (2.6 s and 0.6 GB to
    load on a CPU) are loaded only when needed (``Pipeline.thorough``); or None (no cascade
    models: steps 1 and 4 only).
    budget_s: the cascade runs in a session only when the band's cost by count
    (:func:`cascade_mode`) is within this (``edge-app cluster`` by default); None: always
    (``--thorough``, the site app's worker).
    add_only: the site app (see :class:`SessionChecks`).
    """

    def __init__(self, cascade: "Cascade | Callable[[], Cascade | None] | None", budget_s: float | None = None,
                 add_only: bool = False, machines: bool = True, should_stop: Callable[[], bool] | None = None):
        lazy = cascade is not None and not isinstance(cascade, Cascade) and callable(cascade)
        #: the cascade, once there is one (None until a lazy one is first needed)
        self.cascade: Cascade | None = None if lazy else cascade
        self._load: Callable[[], Cascade | None] | None = cascade if lazy else None
        self.budget_s = budget_s
        self.add_only = add_only
        self.machines = machines
        #: asked between the cascade's steps (a few photos at a time); True raises
        #: :class:`Interrupted` (the site app: new photos are waiting, they come first)
        self.should_stop = should_stop
        #: the SessionChecks of each session grouped with this (their outcomes once done)
        self.sessions: list[SessionChecks] = []

    def get_cascade(self) -> Cascade | None:
        """The cascade, loaded now if it is lazy and not loaded yet."""
        if self.cascade is None and self._load is not None:
            load, self._load = self._load, None
            self.cascade = load()
        return self.cascade

    def for_session(self, analyses: Sequence[PhotoAnalysis]) -> SessionChecks:
        def stronger(pairs: Pairs) -> dict | None:
            c = self.get_cascade()
            return None if c is None else c.check(analyses, pairs, self.should_stop)

        checks = SessionChecks(
            stronger=stronger if self.cascade is not None or self._load is not None else None,
            support=MachineSupport(analyses) if self.machines else None,
            budget_s=self.budget_s, add_only=self.add_only, should_stop=self.should_stop)
        self.sessions.append(checks)
        return checks

    def summary(self) -> dict:
        """What the thorough pass decided, for people and scripts (``edge-app cluster``'s
        JSON and output): mode "thorough" (the cascade ran on every session's undecided
        pairs, or there were none), "fast" (it ran in no session) or "mixed" (some sessions,
        each decided on its own counts); reason: why, in words; band_pairs / band_photos:
        the undecided pairs and their photos; cost_s: their cost by count
        (:func:`cascade_cost_s`); budget_s: None when the cascade always runs;
        cascade_loaded: whether its models were loaded."""
        outs = [c.outcome for c in self.sessions]
        modes = {o.mode for o in outs}
        mode = modes.pop() if len(modes) == 1 else "mixed" if modes else "fast"
        if len(outs) == 1:
            reason = outs[0].reason
        else:
            reason = "; ".join(f"session {k + 1} ({o.mode}): {o.reason}" for k, o in enumerate(outs)) or "no photos"
        return {"mode": mode, "reason": reason, "band_pairs": sum(o.undecided for o in outs),
                "band_photos": sum(o.undecided_photos for o in outs),
                "cost_s": round(sum(o.estimate_s for o in outs), 2), "budget_s": self.budget_s,
                "sessions": len(outs), "cascade_loaded": self.cascade is not None,
                "cascade_links": sum(len(o.links) for o in outs)}
