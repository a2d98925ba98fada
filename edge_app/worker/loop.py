"""The worker's loop: :class:`Worker`, the one :class:`~edge_app.engine.pipeline.Pipeline` of the process.

It takes the photos the doors stored (state ``waiting``), analyses them (keeping their
analyses at hand), gives each a site and a place (:mod:`.placing`), and when a batch has
finished arriving and every photo of it is analysed, regroups the batch's sites
(:mod:`.regrouping`); when nothing waits, the thorough pass goes over the sites regrouped
last, one a step; a site whose grouping a person changed is regrouped with the edits as
constraints after a short quiet time. A heartbeat tells ``edge-app add`` that a worker is running.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from .. import app_settings
from ..engine.analyze import PhotoAnalysis
from ..engine.config import Settings
from ..engine.decode import ImageError
from ..engine.pipeline import Pipeline
from ..engine.thorough import Interrupted
from ..engine.vision.features import LocalFeatures
from ..store import Store, open_store, seconds_since
from ..store import photos as store_photos
from ..store import settings as store_settings
from ..store import spots as store_spots
from ..store.pair_cache import SqlitePairCache
from ..store.photos import AnalysisOutcome
from ..store.sites import resolve
from ..store.spots import RegroupStale
from .placing import choose_sites, place_online
from .regrouping import regroup_site

log = logging.getLogger(__name__)

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
    #: sites regrouped because a person changed their grouping (their edits as constraints)
    edited_sites: list[int] = field(default_factory=list)
    #: print previews made for photos stored before they were kept (idle work, not "busy")
    previews: int = 0

    @property
    def busy(self) -> bool:
        return bool(self.analysed or self.failed or self.put_off or self.placed or self.regrouped_sites
                    or self.refined_sites or self.edited_sites)


def worker_alive(st: Store) -> bool:
    """Whether a worker (``edge-app serve``) is running on this data folder now."""
    hb = store_settings.get(st, "worker.heartbeat")
    return bool(hb) and time.time() - float(hb.get("t", 0)) < 3 * app_settings.value("worker.heartbeat_s")


class Worker:
    """Analyses, places and regroups the photos of one data folder.

        w = Worker("edge-data")
        w.run_until_idle()          # what `edge-app add` does when no server is running
        w.start()                   # a thread, as `edge-app serve` does; w.wake() on new photos

    data_dir: the store's folder. settings: engine settings (defaults). The feature cache
    lives in ``data_dir/cache/features`` (the cascade's in ``data_dir/cache/cascade``); pair
    scores in the store's ``pair_scores``. thorough: after a site's fast regroup is stored,
    run the thorough pass on it when nothing is waiting (:meth:`regroup` with ``thorough``).
    """

    def __init__(self, data_dir: str | Path, settings: Settings | None = None, models_dir=None, thorough: bool = True):
        self.root = Path(data_dir)
        # the cascade's ALIKED (0.6 GB of activations a photo) runs in a child process, so
        # serve's own memory stays within its budget between and during thorough passes
        self.pipeline = Pipeline(settings, cache_dir=self.root / "cache" / "features", models_dir=models_dir,
                                 cascade_in_child=True)
        self.settings = self.pipeline.settings
        self._analyses: OrderedDict[str, PhotoAnalysis] = OrderedDict()
        self._shelf = self.pipeline.feature_shelf(self._recover_features)
        self._pair_version = self.pipeline.pair_scores_version()
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
        #: the print previews' back-fill: the last photo (rowid) gone over; None once done
        self._previews_after: int | None = 0

    # -- the store of the worker's own thread ----------------------------------------
    @property
    def st(self) -> Store:
        if self._st is None:
            self._st = open_store(self.root)
        return self._st

    def pair_cache(self) -> SqlitePairCache:
        """The store's pair scores (kept across restarts) on this thread's store, made the
        pipeline's pair cache."""
        if not isinstance(self.pipeline.pair_cache, SqlitePairCache) or self.pipeline.pair_cache.st is not self.st:
            self.pipeline.use_pair_cache(SqlitePairCache(self.st, self._pair_version))
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
            while not self._stop.wait(app_settings.value("worker.heartbeat_s")):
                try:
                    self._heartbeat(st)
                except Exception:  # noqa: BLE001 - a busy store now and then; beat again next time
                    log.warning("worker heartbeat not written", exc_info=True)
        finally:
            st.close()

    def run_forever(self, poll_s: float | None = None) -> None:
        """Step until stopped; idle, look again every ``poll_s`` seconds (default: the
        heartbeat, ``worker.heartbeat_s``) or when woken."""
        heartbeat_s = app_settings.value("worker.heartbeat_s")
        poll_s = heartbeat_s if poll_s is None else poll_s
        self.pipeline.load_models()
        self._retry_put_off()
        self.pair_cache()
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
        beat.join(2 * heartbeat_s)  # its last beat must not land after this one
        store_settings.put(self.st, "worker.heartbeat", None)

    def run_until_idle(self, max_steps: int = 100000) -> StepReport:
        """Steps until nothing is left to do (finishing open batches first). Photos put off
        by an earlier run are tried again first."""
        self._retry_put_off()
        self.pair_cache()
        total = StepReport()
        for _ in range(max_steps):
            r = self.step(finish_idle_batches_after=0.0, after_edit_s=0.0)
            total.analysed += r.analysed
            total.failed += r.failed
            total.put_off += r.put_off
            total.placed += r.placed
            total.regrouped_sites += r.regrouped_sites
            total.refined_sites += r.refined_sites
            total.edited_sites += r.edited_sites
            total.previews += r.previews
            if not r.busy:
                break
        self.pipeline.flush_pair_cache()
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
    def step(self, finish_idle_batches_after: float | None = None, after_edit_s: float | None = None) -> StepReport:
        """Analyse up to ``worker.step_photos`` waiting photos and place them; regroup the
        sites of batches that are complete (a batch idle for ``finish_idle_batches_after``
        seconds, default ``worker.batch_idle_s``, counts as complete); regroup the sites whose
        grouping a person changed, once no such edit came for ``after_edit_s`` seconds
        (default ``worker.after_edit_s``; with ``worker.learn_from_edits``). Returns what it did."""
        if finish_idle_batches_after is None:
            finish_idle_batches_after = app_settings.value("worker.batch_idle_s")
        rep = StepReport()
        st = self.st
        due = store_photos.due_originals(st, app_settings.value("worker.step_photos"), time.time())
        if due:
            new = self._analyse(due, rep)
            if new:
                self.pair_cache()
                by_site = choose_sites(st, self.pipeline, self.analysis, new)
                for site_id, shas in by_site.items():
                    for sha in shas:
                        place_online(st, self.pipeline, self.analysis, site_id, sha)
                        rep.placed += 1
        store_photos.regroup_ready_batches(st, finish_idle_batches_after, lambda sites: self._regroup_batch(sites, rep))
        self._regroup_edited(rep, app_settings.value("worker.after_edit_s") if after_edit_s is None else after_edit_s)
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
                    self._refine_after = time.monotonic() + app_settings.value("thorough.after_edit_s")
            finally:
                self.refining = None
        if not rep.busy:
            self._add_print_previews(rep)
        return rep

    def _add_print_previews(self, rep: StepReport) -> None:
        """Idle: print previews for a few photos stored before previews were kept (the
        ledger prints from them instead of decoding the originals), until none is left in
        this process's run; new photos get theirs at ingest."""
        if self._previews_after is None:
            return
        added, self._previews_after = store_photos.add_missing_print_previews(
            self.st, self._previews_after, app_settings.value("worker.step_photos"), self._stop.is_set)
        rep.previews += added

    def _regroup_batch(self, sites: list[int], rep: StepReport) -> bool:
        """Regroup the sites of a batch whose photos are all analysed (``sites`` as stored:
        merged ones are followed; a site a person keeps changing is tried again on a later
        step); the thorough pass goes over them later. Returns whether every site was
        regrouped (:func:`edge_app.store.photos.regroup_ready_batches` then marks the batch)."""
        st = self.st
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
        return done

    def _regroup_edited(self, rep: StepReport, quiet_s: float) -> None:
        """The fast path of learning from the lead's fixes (issue 20): a site whose grouping a
        person changed (:func:`edge_app.store.spots.last_grouping_edits`) since the worker
        last regrouped it for that reason is regrouped with the edits as constraints, once
        ``quiet_s`` passed without another such edit (a burst of taps is one regroup). What
        was handled is kept in the store (``worker.edits_regrouped``); a store without it
        starts from its present edits. A person editing meanwhile: tried on a later step."""
        if not app_settings.value("worker.learn_from_edits"):
            return
        st = self.st
        last = store_spots.last_grouping_edits(st)
        done = store_settings.get(st, "worker.edits_regrouped")
        if done is None:
            store_settings.put(st, "worker.edits_regrouped", {str(k): v for k, v in last.items()})
            return
        changed = False
        for site, at in sorted(last.items()):
            if done.get(str(site)) == at or seconds_since(at) < quiet_s:
                continue
            target = resolve(st, site)
            try:
                self.regroup(target)
            except RegroupStale:
                log.info("site %s changed while it was regrouped after an edit; later", target)
                continue
            done[str(site)] = at
            changed = True
            if target not in rep.edited_sites:
                rep.edited_sites.append(target)
        if changed:
            store_settings.put(st, "worker.edits_regrouped", done)

    # -- analysis, and the analyses kept at hand -------------------------------------------
    def _analyse(self, due: list[tuple[str, Path]], rep: StepReport) -> list[str]:
        """Analyse ``due`` (waiting photos: sha256 and original) and write their outcomes in one store call
        (:func:`edge_app.store.photos.record_analyses`): analysed; failed, when the photo
        itself is bad; put off and tried again later, when the cause passes (disk full, out
        of memory: a photo the user was told was taken is not lost). Returns the sha256 of
        those analysed."""
        st = self.st
        analyses, errors = self.pipeline.analyze_many([p for _, p in due])
        failed = {str(e.path): e for e in errors}
        outcomes = []
        for (sha, p), a in zip(due, analyses):
            if a is None:
                e = failed.get(str(p))
                outcomes.append(AnalysisOutcome(sha, e.reason if e else "could not be analysed",
                                                e.detail if e else ""))
            elif a.key != sha:  # the original on disk is not what was stored
                outcomes.append(AnalysisOutcome(sha, "original damaged on disk"))
            else:
                self._remember(a.key, a)
                outcomes.append(AnalysisOutcome(a.key, transient=float(a.transient)))
        got = store_photos.record_analyses(st, outcomes, time.time())
        for o in got["put_off"]:
            log.warning("analysis of %s put off (%s%s); tried again later", o.sha256[:12], o.reason,
                        f": {o.detail}" if o.detail else "")
        for o in got["gave_up"]:
            log.warning("analysis of %s failed %d times (%s%s)", o.sha256[:12], store_photos.RETRY_TRIES, o.reason,
                        f": {o.detail}" if o.detail else "")
        rep.analysed += len(got["analysed"])
        rep.failed += len(got["failed"]) + len(got["gave_up"])
        rep.put_off += len(got["put_off"])
        return [o.sha256 for o in got["analysed"]]

    def analysis(self, sha: str) -> PhotoAnalysis | None:
        """The photo's analysis: memory, then the feature cache, then the original."""
        a = self._analyses.get(sha)
        if a is not None:
            self._analyses.move_to_end(sha)
            return a
        a = self.pipeline.cached_analysis(sha)
        if a is None:
            try:
                a = self.pipeline.analyze_path(store_photos.original_path(self.st, sha))
            except (ImageError, OSError):
                return None
        return self._remember(sha, a)

    def _recover_features(self, sha: str) -> LocalFeatures | None:
        """The features of a photo whose feature-cache entry is gone: analysed again from its
        original (any thread: no store connection needed)."""
        path = store_photos.find_original(self.root, sha)
        try:
            return self.pipeline.analyze_path(path).features if path is not None else None
        except (ImageError, OSError):
            return None

    def _remember(self, sha: str, a: PhotoAnalysis) -> PhotoAnalysis:
        """Keep an analysis in memory (features on the shelf), the ``worker.analyses_kept`` most
        recently used only (least recently used out first; the rest are read back from the
        feature cache on disk). Their local features live on a
        :class:`~edge_app.engine.analyze.FeatureShelf` (48 MB of them in memory), so one costs a
        few kB: a 3000-photo site held with its features was about 0.8 GB."""
        if self._shelf is not None:
            a = self.pipeline.shelve(self._shelf, a)
        self._analyses[sha] = a
        self._analyses.move_to_end(sha)
        kept = app_settings.value("worker.analyses_kept")
        while len(self._analyses) > kept:
            self._analyses.popitem(last=False)
        return a

    # -- placing and regrouping (:mod:`.placing`, :mod:`.regrouping`) ------------------------
    def _photos_waiting(self) -> bool:
        """New photos wait (or the service stops): the background pass gives way."""
        return self._stop.is_set() or store_photos.any_waiting(self.st)

    def regroup(self, site_id: int, thorough: bool = False) -> dict:
        """Regroup a site with the full engine, keeping every person's edit
        (:func:`.regrouping.regroup_site`); thorough: with the thorough pass, which gives way
        when new photos wait. Raises RegroupStale when a person changed the site meanwhile.
        Returns {"moved": n, "spots": k, "links": l, "review": r}."""
        self.pair_cache()
        return regroup_site(self.st, self.pipeline, self.analysis, site_id, thorough, self._photos_waiting)
