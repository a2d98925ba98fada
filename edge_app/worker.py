"""The background worker: the one :class:`~edge_app.engine.pipeline.Pipeline` of the process.

It takes the photos the doors stored (state ``waiting``), analyses them, puts each into a
site and places it with the engine's online assignment, so the page fills up while an
upload is still running. When a batch has finished arriving and every photo of it is
analysed, it regroups the batch's sites with the full engine, keeping every person's edit
(see :mod:`edge_app.store.spots` for the rules it obeys). Each change is written in one
short transaction.

    w = Worker("edge-data")
    w.run_until_idle()          # what `edge-app add` does when no server is running
    w.start()                   # a thread, as `edge-app serve` does; w.wake() on new photos
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .engine.analyze import FeatureShelf, PhotoAnalysis
from .engine.vision.features import LocalFeatures
from .engine.config import Settings
from .engine.decode import ImageError
from .engine.metadata import PhotoMeta, haversine_m_arrays
from .engine.assign import assign_new
from .engine.pairs import group_analyses
from .engine.thorough import Interrupted
from .engine.pipeline import Pipeline
from .engine.sessions import split_sessions
from .store import Store, now_iso, open_store
from .store import photos as store_photos
from .store import settings as store_settings
from .store.pair_cache import SqlitePairCache
from .store.sites import create_site, resolve
from .store.spots import create_spot, place, set_engine_phases

log = logging.getLogger(__name__)

#: A batch nobody finished (a tablet that went away mid-upload) counts as finished after
#: this many seconds without a new file.
BATCH_IDLE_S = 90.0
#: Photos analysed per step before their places are written (the page shows them).
STEP_PHOTOS = 6
#: Heartbeat of a running worker (seconds); ``edge-app add`` hands its work to a worker whose
#: heartbeat is younger than 3 x this.
HEARTBEAT_S = 2.0
#: How many of the newest analysed photos a photo without any metadata is compared with
#: to find its site.
PLACE_BY_LOOK_RECENT = 2000
#: After a person's edit put a thorough pass off, it waits this long before trying again.
REFINE_AFTER_EDIT_S = 30.0
#: Analyses kept in memory between steps (least recently used first out; the rest are read
#: back from the feature cache on disk). Their local features live on a
#: :class:`~edge_app.engine.analyze.FeatureShelf` (48 MB of them in memory), so one costs a few kB:
#: a 3000-photo site held with its features was about 0.8 GB.
ANALYSES_KEPT = 20000


class RegroupStale(Exception):
    """A person changed the site while the engine was regrouping it: the engine's answer
    was computed from an older state and is not written (a person's edit always wins)."""


@dataclass
class StepReport:
    analysed: int = 0
    failed: int = 0
    #: photos whose analysis failed for a passing cause (disk full, ...): tried again later
    put_off: int = 0
    placed: int = 0
    regrouped_sites: list[int] = field(default_factory=list)
    #: sites the thorough pass went over (after their fast regroup was stored and shown)
    refined_sites: list[int] = field(default_factory=list)

    @property
    def busy(self) -> bool:
        return bool(self.analysed or self.failed or self.put_off or self.placed or self.regrouped_sites
                    or self.refined_sites)


def worker_alive(st: Store) -> bool:
    """Whether a worker (``edge-app serve``) is running on this data folder now."""
    hb = store_settings.get(st, "worker.heartbeat")
    return bool(hb) and time.time() - float(hb.get("t", 0)) < 3 * HEARTBEAT_S


class Worker:
    """Analyses, places and regroups the photos of one data folder.

    data_dir: the store's folder. settings: engine settings (defaults). The feature cache
    lives in ``data_dir/cache/features`` (the cascade's in ``data_dir/cache/cascade``); pair
    scores in the store's ``pair_scores``. thorough: after a site's fast regroup is stored,
    run the thorough pass on it when nothing is waiting (:meth:`regroup` with ``thorough``).
    """

    def __init__(self, data_dir: str | Path, settings: Settings | None = None, models_dir=None, thorough: bool = True):
        self.root = Path(data_dir)
        self.pipeline = Pipeline(settings, cache_dir=self.root / "cache" / "features", models_dir=models_dir)
        # the cascade's ALIKED (0.6 GB of activations a photo) runs in a child process, so
        # serve's own memory stays within its budget between and during thorough passes
        self.pipeline.cascade_in_child = True
        self.settings = self.pipeline.settings
        self._analyses: OrderedDict[str, PhotoAnalysis] = OrderedDict()
        cache = self.pipeline.analyzer.cache
        self._shelf = FeatureShelf(cache, self._recover_features) if cache is not None else None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._st: Store | None = None
        self.last_error: str | None = None
        #: Sites regrouped by the fast path whose thorough pass has not run yet (it runs when
        #: no photo is waiting; ``thorough=False`` turns it off).
        self.refine_pending: set[int] = set()
        self.refining: int | None = None
        self._refine_after = 0.0  # monotonic time before which no thorough pass starts
        self._pending_lock = threading.Lock()  # the heartbeat thread reads both
        self.thorough = thorough

    # -- the store of the worker's own thread ----------------------------------------
    @property
    def st(self) -> Store:
        if self._st is None:
            self._st = open_store(self.root)
        return self._st

    def pair_cache(self) -> SqlitePairCache:
        v = f"{self.settings.feature_version()}-{hash((self.settings.pair_model, self.settings.verify.coarse_keypoints))}"
        if not isinstance(self.pipeline.pair_cache, SqlitePairCache) or self.pipeline.pair_cache.st is not self.st:
            self.pipeline.pair_cache = SqlitePairCache(self.st, v)
        return self.pipeline.pair_cache

    # -- loop --------------------------------------------------------------------------
    def wake(self) -> None:
        """New photos arrived: run a step now instead of at the next poll."""
        self._wake.set()

    def start(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.run_forever, name="edge-app-worker", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def checking(self) -> list[int]:
        """Sites the thorough pass is going over now or will next (the page says so)."""
        with self._pending_lock:
            return sorted(self.refine_pending | ({self.refining} if self.refining is not None else set()))

    def _beat_forever(self) -> None:
        """The heartbeat on a thread of its own: a long step (a thorough pass takes seconds
        to minutes) must not make ``edge-app add`` think no worker is running."""
        st = open_store(self.root)
        try:
            while not self._stop.wait(HEARTBEAT_S):
                try:
                    self._heartbeat(st)
                except Exception:  # noqa: BLE001 - a busy store now and then; beat again next time
                    log.warning("worker heartbeat not written", exc_info=True)
        finally:
            st.close()

    def run_forever(self, poll_s: float = HEARTBEAT_S) -> None:
        self.pipeline.analyzer.load_models()
        self._retry_put_off()
        self._heartbeat()
        beat = threading.Thread(target=self._beat_forever, name="edge-app-heartbeat", daemon=True)
        beat.start()
        while not self._stop.is_set():
            try:
                busy = self.step().busy
                self.last_error = None
            except Exception as e:  # noqa: BLE001 - the worker must outlive one bad step
                log.exception("worker step failed")
                self.last_error = f"{type(e).__name__}: {e}"
                busy = False
            if not busy:
                self._wake.wait(poll_s)
                self._wake.clear()
        beat.join(2 * HEARTBEAT_S)  # its last beat must not land after this one
        store_settings.put(self.st, "worker.heartbeat", None)

    def run_until_idle(self, max_steps: int = 100000) -> StepReport:
        """Steps until nothing is left to do (finishing open batches first). Photos put off
        by an earlier run are tried again first."""
        self._retry_put_off()
        total = StepReport()
        for _ in range(max_steps):
            r = self.step(finish_idle_batches_after=0.0)
            total.analysed += r.analysed
            total.failed += r.failed
            total.put_off += r.put_off
            total.placed += r.placed
            total.regrouped_sites += r.regrouped_sites
            total.refined_sites += r.refined_sites
            if not r.busy:
                break
        if isinstance(self.pipeline.pair_cache, SqlitePairCache):
            self.pipeline.pair_cache.flush()
        return total

    def _retry_put_off(self) -> None:
        """At start: photos whose analysis failed for a passing cause (put off, or failed
        after every try) are due now; space may have been freed meanwhile."""
        n = store_photos.retry_put_off(self.st)
        if n:
            log.info("%d photos put off after a passing failure are tried again", n)

    def _heartbeat(self, st: Store | None = None) -> None:
        store_settings.put(st or self.st, "worker.heartbeat",
                           {"t": time.time(), "pid": os.getpid(), "checking": self.checking()})

    # -- one step ------------------------------------------------------------------------
    def step(self, finish_idle_batches_after: float = BATCH_IDLE_S) -> StepReport:
        """Analyse up to STEP_PHOTOS waiting photos and place them; regroup the sites of
        batches that are complete. Returns what it did."""
        rep = StepReport()
        st = self.st
        rows = store_photos.due_for_analysis(st, STEP_PHOTOS, time.time())
        if rows:
            new = self._analyse(rows, rep)
            if new:
                by_site = self._place_in_sites(new)
                for site_id, shas in by_site.items():
                    for sha in shas:
                        self._assign_online(site_id, sha)
                        rep.placed += 1
        self._finish_idle_batches(finish_idle_batches_after)
        for batch_id in self._complete_batches():
            sites = [r[0] for r in st.query(
                "SELECT DISTINCT site_id FROM photos WHERE batch_id = ? AND site_id IS NOT NULL", (batch_id,))]
            done = True
            for s in sorted({resolve(st, s) for s in sites}):
                for attempt in range(3):
                    try:
                        self.regroup(s)
                        break
                    except RegroupStale:
                        log.info("site %s changed while it was regrouped; again (%d)", s, attempt + 1)
                else:  # a person is busy on this site: the batch is regrouped on a later step
                    log.warning("site %s kept changing while it was regrouped; trying later", s)
                    done = False
                    continue
                rep.regrouped_sites.append(s)
                if self.thorough:
                    with self._pending_lock:
                        self.refine_pending.add(s)
            if done:
                with st.write():
                    st.conn.execute("UPDATE batches SET regrouped_at = ? WHERE id = ?", (now_iso(), batch_id))
        if not rep.busy and self.refine_pending and time.monotonic() >= self._refine_after:
            # idle: the thorough pass, one site a step
            with self._pending_lock:
                first = min(self.refine_pending)
                self.refine_pending.discard(first)
                site = self.refining = resolve(st, first)
            try:
                self.regroup(site, thorough=True)
                rep.refined_sites.append(site)
            except (RegroupStale, Interrupted) as e:  # new photos or a person's edit first; later again
                log.info("thorough pass on site %s put off (%s)", site, type(e).__name__)
                with self._pending_lock:
                    self.refine_pending.add(site)
                if isinstance(e, RegroupStale):  # a person is editing: let them finish first
                    self._refine_after = time.monotonic() + REFINE_AFTER_EDIT_S
            finally:
                self.refining = None
        return rep

    def _analyse(self, rows, rep: StepReport) -> list[str]:
        """Analyse ``rows`` (waiting photos) and write each outcome: analysed; failed, when the
        photo itself is bad; put off and tried again later, when the cause passes (disk full,
        out of memory). Returns the sha256 of those analysed."""
        st = self.st
        paths = [store_photos.original_path(st, r["sha256"], r["ext"]) for r in rows]
        analyses, errors = self.pipeline.analyzer.analyze_many(paths)
        failed = {str(e.path): e for e in errors}
        done = []
        now = time.time()
        with st.write():
            for r, p, a in zip(rows, paths, analyses):
                if a is None:
                    e = failed.get(str(p))
                    self._failed(r["sha256"], e.reason if e else "could not be analysed",
                                 e.detail if e else "", now, rep)
                    continue
                if a.key != r["sha256"]:  # the original on disk is not what was stored
                    self._failed(r["sha256"], "original damaged on disk", "", now, rep)
                    continue
                self._remember(a.key, a)
                store_photos.mark_analysed(st, a.key, float(a.transient))
                done.append(a.key)
                rep.analysed += 1
        return done

    def _failed(self, sha: str, reason: str, detail: str, now: float, rep: StepReport) -> None:
        """One photo's analysis failed: refused for good when the photo itself is bad, else
        put off to be tried again (a full disk must not lose a photo the user was told was
        taken)."""
        if store_photos.is_photo_fault(reason):
            store_photos.mark_failed(self.st, sha, reason)
            rep.failed += 1
        elif store_photos.put_off(self.st, sha, reason, now):
            log.warning("analysis of %s put off (%s%s); tried again later", sha[:12], reason,
                        f": {detail}" if detail else "")
            rep.put_off += 1
        else:
            log.warning("analysis of %s failed %d times (%s%s)", sha[:12], store_photos.RETRY_TRIES, reason,
                        f": {detail}" if detail else "")
            rep.failed += 1

    def analysis(self, sha: str) -> PhotoAnalysis | None:
        """The photo's analysis: memory, then the feature cache, then the original."""
        a = self._analyses.get(sha)
        if a is not None:
            self._analyses.move_to_end(sha)
            return a
        if self.pipeline.analyzer.cache is not None:
            a = self.pipeline.analyzer.cache.get(sha)
        if a is None:
            try:
                a = self.pipeline.analyzer.analyze_path(store_photos.original_path(self.st, sha))
            except (ImageError, OSError):
                return None
        return self._remember(sha, a)

    def _recover_features(self, sha: str) -> LocalFeatures | None:
        """The features of a photo whose feature-cache entry is gone: analysed again from its
        original (any thread: no store connection needed)."""
        found = sorted((self.root / "originals" / sha[:2]).glob(f"{sha}.*"))
        try:
            return self.pipeline.analyzer.analyze_path(found[0]).features if found else None
        except (ImageError, OSError):
            return None

    def _remember(self, sha: str, a: PhotoAnalysis) -> PhotoAnalysis:
        """Keep an analysis in memory (features on the shelf), the :data:`ANALYSES_KEPT` most
        recently used only."""
        if self._shelf is not None:
            a = self._shelf.shelve(a)
        self._analyses[sha] = a
        self._analyses.move_to_end(sha)
        while len(self._analyses) > ANALYSES_KEPT:
            self._analyses.popitem(last=False)
        return a

    # -- sites -----------------------------------------------------------------------------
    def _meta(self, r) -> PhotoMeta:
        gps = (r["lat"], r["lon"], None) if r["lat"] is not None and r["lon"] is not None else None
        return PhotoMeta(r["taken_at"], gps)

    def _place_in_sites(self, shas: list[str]) -> dict[int, list[str]]:
        """Give each newly analysed photo a site: the site of existing photos its session
        links to by GPS (within the site radius) or capture time (within the session gap),
        else a new site. Time only ever joins: a photo without GPS taken far in time from
        every other photo (an "after" shot two weeks on) joins the site of a photo it
        verifiably shows the same spot as (:meth:`_sites_by_look`), else a new site; a photo
        without any metadata joins the site of the photo it looks most like."""
        st = self.st
        s = self.settings
        q = ",".join("?" * len(shas))
        new_rows = st.query(f"SELECT sha256, lat, lon, taken_at, site_id FROM photos WHERE sha256 IN ({q})", shas)
        new_rows = [r for r in new_rows if r["site_id"] is None]
        out: dict[int, list[str]] = defaultdict(list)
        for r in st.query(f"SELECT sha256, site_id FROM photos WHERE sha256 IN ({q}) AND site_id IS NOT NULL", shas):
            out[resolve(st, r["site_id"])].append(r["sha256"])
        if not new_rows:
            return out
        old = st.query("SELECT sha256, lat, lon, taken_at, site_id FROM photos WHERE site_id IS NOT NULL "
                       "AND removed_at IS NULL")
        metas = [self._meta(r) for r in new_rows]
        sessions, unplaced = split_sessions(metas, s.site_radius_m, s.session_gap_s)
        # photos without GPS but with a time, in runs of this step's photos close in time
        timed = sorted((metas[i].taken_at, i) for i in unplaced if metas[i].taken_at is not None)
        runs: list[list[int]] = []
        for k, (t, i) in enumerate(timed):
            if k == 0 or t - timed[k - 1][0] > s.session_gap_s:
                runs.append([])
            runs[-1].append(i)
        o_lat = np.array([np.nan if r["lat"] is None else r["lat"] for r in old], np.float64)
        o_lon = np.array([np.nan if r["lon"] is None else r["lon"] for r in old], np.float64)
        o_t = np.array([np.nan if r["taken_at"] is None else r["taken_at"] for r in old], np.float64)
        o_site = [resolve(st, r["site_id"]) for r in old]
        decided: dict[int, int] = {}  # new row index -> site

        def time_votes(members) -> dict[int, int]:
            votes: dict[int, int] = defaultdict(int)
            for i in members:
                m = metas[i]
                if m.taken_at is None or not len(old):
                    continue
                near = np.abs(o_t - m.taken_at) <= s.session_gap_s
                if m.gps is not None:  # a GPS photo links in time only to photos without GPS
                    near &= np.isnan(o_lat)
                for k in np.flatnonzero(near):
                    votes[o_site[k]] += 1
            return votes

        look = {}  # runs far in time from everything: sites by verified look (outside the write)
        for n_run, members in enumerate(runs):
            if not time_votes(members):
                look[n_run] = self._sites_by_look([new_rows[i]["sha256"] for i in members])
        with st.write():
            for members in sessions:
                votes: dict[int, int] = defaultdict(int)
                for i in members:
                    m = metas[i]
                    if m.gps is not None and len(old):
                        d = haversine_m_arrays(m.gps[0], m.gps[1], o_lat, o_lon)
                        for k in np.flatnonzero(d <= s.site_radius_m):
                            votes[o_site[k]] += 1
                if not votes:
                    votes = time_votes(members)
                site_id = max(votes, key=lambda k: (votes[k], -k)) if votes else create_site(st, "engine")
                for i in members:
                    decided[i] = site_id
            for n_run, members in enumerate(runs):
                votes = look[n_run] if n_run in look else time_votes(members)
                site_id = max(votes, key=lambda k: (votes[k], -k)) if votes else create_site(st, "engine")
                for i in members:
                    decided[i] = site_id
            rest = [i for i in unplaced if metas[i].taken_at is None]
            if rest:
                self._place_by_look(new_rows, rest, decided)
            for i, r in enumerate(new_rows):
                st.conn.execute("UPDATE photos SET site_id = ?, site_by = 'engine' WHERE sha256 = ?",
                                (decided[i], r["sha256"]))
                out[decided[i]].append(r["sha256"])
        return out

    def _sites_by_look(self, shas: list[str]) -> dict[int, int]:
        """{site: votes}: for each photo, the site of every recent photo among its ``knn``
        nearest by look that verification shows to be the same spot (p >= the assignment
        threshold). Empty when none is: the photos are of a new place."""
        s = self.settings
        cand = self._recent_photos()
        votes: dict[int, int] = defaultdict(int)
        if not cand:
            return votes
        E = np.stack([a.embedding for a, _ in cand]).astype(np.float64)
        for sha in shas:
            a = self.analysis(sha)
            if a is None:
                continue
            near = np.argsort(-(E @ a.embedding.astype(np.float64)))[: s.knn].tolist()
            res = assign_new(a, [cand[k][0] for k in near], list(range(len(near))), s.replace(all_pairs_up_to=len(near)),
                             self.pair_cache())
            for k in np.flatnonzero(res.p >= s.assign_threshold):
                votes[cand[near[k]][1]] += 1
        return votes

    def _recent_photos(self) -> list[tuple[PhotoAnalysis, int]]:
        """(analysis, site) of the :data:`PLACE_BY_LOOK_RECENT` photos added last that have a
        site (photos that can no longer be analysed left out)."""
        st = self.st
        recent = st.query("SELECT sha256, site_id FROM photos WHERE site_id IS NOT NULL AND removed_at IS NULL "
                          "AND state = 'analysed' ORDER BY added_at DESC LIMIT ?", (PLACE_BY_LOOK_RECENT,))
        cand = [(self.analysis(r["sha256"]), resolve(st, r["site_id"])) for r in recent]
        return [(a, site) for a, site in cand if a is not None]

    def _place_by_look(self, new_rows, unplaced: list[int], decided: dict[int, int]) -> None:
        """Photos without any metadata join the site of the photo they look most like."""
        st = self.st
        cand = self._recent_photos() + [(self.analysis(new_rows[i]["sha256"]), site) for i, site in decided.items()]
        embs = [a.embedding for a, _ in cand if a is not None]
        sites = [site for a, site in cand if a is not None]
        fallback = None
        for i in unplaced:
            a = self.analysis(new_rows[i]["sha256"])
            if embs and a is not None:
                sim = np.stack(embs) @ a.embedding
                decided[i] = sites[int(np.argmax(sim))]
            else:
                if fallback is None:
                    fallback = create_site(st, "engine")
                decided[i] = fallback
            if a is not None:
                embs.append(a.embedding)
                sites.append(decided[i])

    # -- placing ----------------------------------------------------------------------------
    def _photos_waiting(self) -> bool:
        """New photos wait (or the service stops): the background pass gives way."""
        return self._stop.is_set() or self.st.scalar(
            "SELECT 1 FROM photos WHERE state = 'waiting' AND removed_at IS NULL LIMIT 1") is not None

    def _site_photos(self, site_id: int, exclude: str | None = None):
        """Analysed photos of a site with their current place and their spot's flags."""
        rows = self.st.query("""
            SELECT p.sha256, p.taken_at, m.spot_id, m.by, sp.touched, sp.confirmed_at
            FROM photos p JOIN memberships m ON m.photo = p.sha256 AND m.ended_at IS NULL
            LEFT JOIN spots sp ON sp.id = m.spot_id
            WHERE p.site_id = ? AND p.removed_at IS NULL AND p.state = 'analysed'
            ORDER BY p.taken_at IS NULL, p.taken_at, p.sha256""", (site_id,))
        return [r for r in rows if r["sha256"] != exclude]

    def _assign_online(self, site_id: int, sha: str) -> None:
        """Place one new photo with the engine's online assignment (fast, before regrouping)."""
        st = self.st
        a = self.analysis(sha)
        for _ in range(3):
            seen = self._site_photos(site_id, exclude=sha)
            found = [(r, self.analysis(r["sha256"])) for r in seen]
            rows = [r for r, b in found if b is not None]
            analyses = [b for r, b in found if b is not None]
            labels = [r["spot_id"] for r in rows]
            res = assign_new(a, analyses, labels, self.settings, self.pair_cache())
            try:
                self._place_new(st, site_id, sha, a, res, rows, seen)
                break
            except RegroupStale:  # a person changed the site meanwhile: judge again from the new state
                continue
        else:
            with st.write():
                place(st, sha, None, "engine")  # the tray; the batch's regroup places it
        self.pair_cache().flush()

    def _place_new(self, st, site_id: int, sha: str, a, res, rows, seen) -> None:
        """Write what :meth:`_assign_online` decided, unless the site changed since ``seen``."""
        with st.write():
            if [tuple(r) for r in self._site_photos(site_id, exclude=sha)] != [tuple(r) for r in seen]:
                raise RegroupStale(site_id)
            if a is None:
                place(st, sha, None, "engine")
                return
            if res.group is not None:
                conf = st.scalar("SELECT confirmed_at FROM spots WHERE id = ?", (res.group,))
                if conf:
                    place(st, sha, None, "engine", score=res.score, suggest=res.group)
                else:
                    place(st, sha, res.group, "engine", score=res.score)
                    set_engine_phases(self.st, res.group)
            elif res.partner is not None and rows[res.partner]["by"] == "engine":
                spot_id = create_spot(st, site_id, "engine")
                place(st, rows[res.partner]["sha256"], spot_id, "engine", score=res.score)
                place(st, sha, spot_id, "engine", score=res.score)
                set_engine_phases(self.st, spot_id)
            else:
                place(st, sha, None, "engine", score=res.score)

    def regroup(self, site_id: int, thorough: bool = False) -> dict:
        """Regroup a site with the full engine, keeping every person's edit.

        Photos a person put in the tray stay out; photos a person placed, and every photo of
        a touched or confirmed spot, are locked to their spot; the engine groups the rest
        around them. Free groups keep the id of the engine spot they overlap most.

        thorough: the thorough pass (:mod:`edge_app.engine.thorough`) by the site app's rules: it only
        raises pair probabilities (a link the cascade finds), never lowers one, and flags an
        engine spot for review (``spots.review``: "machine" when a link in it rests on
        something one shot shows, "shared" when two of its photos match only off their
        subjects) instead of splitting it. Returns {"moved": n, "spots": k, "links": l,
        "review": r}."""
        st = self.st
        snapshot = self._site_photos(site_id)
        seen = [tuple(r) for r in snapshot]
        rows = [r for r in snapshot if not (r["by"] == "person" and r["spot_id"] is None)]
        rows = [r for r in rows if self.analysis(r["sha256"]) is not None]
        if not rows:
            return {"moved": 0, "spots": 0}
        locked = []
        for r in rows:
            fixed = r["spot_id"] is not None and (r["by"] == "person" or r["touched"] or r["confirmed_at"])
            locked.append(f"spot:{r['spot_id']}" if fixed else None)
        analyses = [self.analysis(r["sha256"]) for r in rows]
        th = None
        if thorough:
            for r in rows:
                self.pipeline.paths[r["sha256"]] = store_photos.original_path(st, r["sha256"])
            th = self.pipeline.thorough("on", add_only=True)
            th.should_stop = self._photos_waiting
        res = group_analyses(analyses, self.settings, locked, self.pair_cache(),
                             self.pipeline.analyzer.workers(), th)
        clusters: dict[int, list[int]] = defaultdict(list)
        for i, lab in enumerate(res.labels):
            if lab is not None:
                clusters[lab].append(i)
        # which spot each cluster becomes
        target: dict[int, int | None] = {}
        suggest: dict[int, int] = {}
        free_clusters = []
        for lab, idx in clusters.items():
            fixed = {locked[i] for i in idx if locked[i] is not None}
            if fixed:
                spot_id = int(next(iter(fixed)).split(":")[1])
                if any(rows[i]["confirmed_at"] for i in idx if locked[i] is not None):
                    target[lab], suggest[lab] = None, spot_id
                else:
                    target[lab] = spot_id
            else:
                free_clusters.append(lab)
        reusable = {r["spot_id"] for r in rows if r["spot_id"] is not None and r["by"] == "engine"
                    and not r["touched"] and not r["confirmed_at"]}
        overlaps = []
        for lab in free_clusters:
            counts: dict[int, int] = defaultdict(int)
            for i in clusters[lab]:
                if rows[i]["spot_id"] in reusable:
                    counts[rows[i]["spot_id"]] += 1
            overlaps += [(n, -sid, lab, sid) for sid, n in counts.items()]
        taken: set[int] = set()
        for n, _, lab, sid in sorted(overlaps, reverse=True):
            if lab not in target and sid not in taken:
                target[lab] = sid
                taken.add(sid)
        moved = 0
        changed_spots: set[int] = set()
        with st.write():
            if [tuple(r) for r in self._site_photos(site_id)] != seen:
                raise RegroupStale(site_id)
            for lab in free_clusters:
                if lab not in target:
                    target[lab] = create_spot(st, site_id, "engine")
            for i, r in enumerate(rows):
                if locked[i] is not None:
                    continue
                lab = res.labels[i]
                if lab is None:
                    dest, sug = None, None
                    others = [j for j in range(len(rows)) if j != i]
                    score = res.max_p(i, others) if others else None
                else:
                    dest, sug = target[lab], suggest.get(lab)
                    mates = [j for j in clusters[lab] if j != i]
                    score = res.mean_p(i, mates) if mates else None
                if r["spot_id"] == dest and r["by"] == "engine":
                    st.conn.execute("UPDATE memberships SET score = ?, suggest = ? WHERE photo = ? AND ended_at "
                                    "IS NULL", (score, sug, r["sha256"]))
                    continue
                place(st, r["sha256"], dest, "engine", score=score, suggest=sug)
                moved += 1
                changed_spots.update(x for x in (dest, r["spot_id"]) if x is not None)
            # engine spots the regroup emptied
            for sid in reusable - taken:
                left = st.scalar("SELECT count(*) FROM memberships WHERE spot_id = ? AND ended_at IS NULL", (sid,))
                if not left:
                    st.conn.execute("UPDATE spots SET removed_at = ? WHERE id = ? AND removed_at IS NULL",
                                    (now_iso(), sid))
            for sid in {t for t in target.values() if t is not None} | changed_spots:
                set_engine_phases(self.st, sid)
            flagged = self._review_flags(res, free_clusters, target) if thorough else {}
            if thorough:
                for sid, why in flagged.items():
                    st.conn.execute("UPDATE spots SET review = ? WHERE id = ?", (why, sid))
                q = ",".join("?" * len(flagged))
                st.conn.execute(f"UPDATE spots SET review = NULL WHERE site_id = ? AND review IS NOT NULL AND "
                                f"touched = 0 AND confirmed_at IS NULL AND id NOT IN ({q})", (site_id, *flagged))
        self.pair_cache().flush()
        return {"moved": moved, "spots": len(clusters), "links": len(res.cascade_links), "review": len(flagged)}

    @staticmethod
    def _review_flags(res, free_clusters, target) -> dict[int, str]:
        """{engine spot: "machine" | "shared"} from the thorough pass's review pairs: a pair
        inside one free group flags it, so does a pair of an unassigned photo and a free
        group's photo. Groups a person touched or confirmed are never flagged."""
        machine = {(a, b) for a, b, *_ in res.discounted}
        free = set(free_clusters)
        out: dict[int, str] = {}
        for i, j in res.review:
            li, lj = res.labels[i], res.labels[j]
            labs = {li} if li == lj else ({li, lj} - {None} if None in (li, lj) else set())
            for lab in labs:
                if lab is not None and lab in free and target.get(lab) is not None:
                    why = "machine" if (i, j) in machine else "shared"
                    if out.get(target[lab]) != "machine":
                        out[target[lab]] = why
        return out

    # -- batches ----------------------------------------------------------------------------
    def _finish_idle_batches(self, idle_s: float) -> None:
        st = self.st
        for b in st.query("SELECT id, started_at FROM batches WHERE finished_at IS NULL"):
            last = st.scalar("SELECT max(at) FROM arrivals WHERE batch_id = ?", (b["id"],)) or b["started_at"]
            if _age_s(last) >= idle_s:
                store_photos.finish_batch(st, b["id"])

    def _complete_batches(self) -> list[int]:
        return [r[0] for r in self.st.query("""
            SELECT b.id FROM batches b WHERE b.finished_at IS NOT NULL AND b.regrouped_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM photos p WHERE p.batch_id = b.id AND p.state = 'waiting'
                            AND p.removed_at IS NULL)
            ORDER BY b.id""")]


def _age_s(iso: str) -> float:
    """Seconds since a store timestamp (``now_iso`` format)."""
    t = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return time.time() - t.timestamp()

