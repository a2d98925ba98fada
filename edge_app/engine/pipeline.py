"""The library's entry point: analyse photos, then group them (used by the CLI and the app).

    from edge_app.engine.pipeline import Pipeline
    pipe = Pipeline()                                   # Settings() defaults, models from models/
    result = pipe.group_folder("photos/site-12")        # analyse + group (the fast path)
    result.labels                                       # one group index or None per photo
    pipe.group_folder("photos/site-12", thorough="on")  # + the thorough pass (edge_app/engine/thorough.py)

:class:`Pipeline` wires the stages and owns no maths: :mod:`edge_app.engine.analyze` (per photo),
:mod:`edge_app.engine.sessions` (sessions, then each session grouped by :mod:`edge_app.engine.pairs`),
:mod:`edge_app.engine.assign` (one new photo), :func:`edge_app.engine.decode.scan_folder` (what a
folder holds).

A long-lived caller that keeps its photos elsewhere (the site app's worker) uses the
pipeline photo by photo: :meth:`Pipeline.analyze_many`, :meth:`Pipeline.cached_analysis`,
:meth:`Pipeline.choose_sites` (which site new photos go to, :mod:`edge_app.engine.site_choice`),
:meth:`Pipeline.assign` (one new photo among grouped ones),
:meth:`Pipeline.group_analyses` (one site again, people's groups locked), with its own
pair cache (:meth:`Pipeline.use_pair_cache`).

The grouping's modules (SciPy with them) are imported where they are first used, not with
this module: a cold ``edge-app cluster`` loads its models and analyses its first photos
meanwhile (:func:`import_grouping`).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Hashable, Mapping, MutableMapping, Sequence

import numpy as np

from .analyze import AnalysisError, Analyzer, FeatureCache, FeatureShelf, FeatureSpill, PhotoAnalysis
from .config import Settings
from .decode import scan_folder
from .threads import side_by_side

if TYPE_CHECKING:
    from .assign import Assignment
    from .metadata import PhotoMeta
    from .result import GroupResult
    from .sessions import KnownPhotos, NewPhotoLinks
    from .site_choice import AnalysisOf, SiteChoice, SiteFacts
    from .vision.features import LocalFeatures
    from .vision.verify import PairScore

log = logging.getLogger(__name__)

#: What ``thorough`` may be: "off" (the fast path only), "auto" (the thorough pass, its
#: cascade in a session only when the band's cost by count fits ``Settings.thorough_budget_s``:
#: :func:`edge_app.engine.thorough.cascade_mode`), "on". The cascade's models load only when it runs.
THOROUGH_MODES = ("off", "auto", "on")

#: :attr:`FolderResult.thorough` when the thorough pass did not run at all.
NO_THOROUGH_PASS = {"mode": "fast", "reason": "thorough pass off", "band_pairs": 0, "band_photos": 0,
                    "cost_s": 0.0, "budget_s": None, "sessions": 0, "cascade_loaded": False, "cascade_links": 0}


def import_grouping() -> None:
    """Import the grouping's modules (sessions, pairs, assign, site choice) and SciPy's sparse
    matrices, which :func:`edge_app.engine.result.pair_matrix` imports where it builds a
    result (a third of a second of a cold start). The pipeline imports them where it first
    uses them, so that a cold start analyses photos without waiting for them;
    :meth:`Pipeline.group_paths` has them imported on a thread of its own meanwhile."""
    import scipy.sparse  # noqa: F401 - for pair_matrix, later

    from . import assign, group, sessions, site_choice  # noqa: F401 - imported for their use later

    _grouping_imported.set()


_grouping_imported = threading.Event()


def _import_grouping_aside() -> threading.Thread | None:
    """:func:`import_grouping` on a thread of its own (started; None once they are imported).
    An import that fails there fails again, with its error, where the module is used."""
    if _grouping_imported.is_set():
        return None

    def quietly():
        try:
            import_grouping()
        except Exception:  # noqa: BLE001 - raised again where the module is used
            log.debug("importing the grouping's modules ahead failed", exc_info=True)

    t = threading.Thread(target=quietly, name="edge-app-import-grouping", daemon=True)
    t.start()
    return t


@dataclass
class FolderResult:
    """Result of :meth:`Pipeline.group_folder`: ``paths[i]`` has ``labels[i]``; files that
    could not be read are in ``errors`` (and not in ``paths``); entries of the folder that
    were not taken as photos are in ``skipped`` with their reason; ``thorough``: what the
    thorough pass decided and why (:meth:`edge_app.engine.thorough.Thorough.summary`)."""

    paths: list[Path]
    analyses: list[PhotoAnalysis]
    result: GroupResult
    errors: list[AnalysisError]
    timings: dict[str, float]
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    thorough: dict = field(default_factory=lambda: dict(NO_THOROUGH_PASS))

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

    def __init__(self, settings: Settings | None = None, cache_dir: str | Path | None = None, models_dir=None,
                 cascade_in_child: bool = False):
        self.settings = settings or Settings()
        from .vision.models import models_fingerprint

        version = f"{self.settings.feature_version()}-{models_fingerprint(models_dir)}"
        cache = FeatureCache(cache_dir, version) if cache_dir else None
        self.analyzer = Analyzer(self.settings, cache, models_dir)
        self.pair_cache: dict[tuple[str, str], PairScore] = {}
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.models_dir = models_dir
        self._cascade = None
        self.cascade_error: str | None = None
        #: Where each photo (by sha256) can be read again: the cascade decodes it anew.
        self.paths: dict[str, Path] = {}
        #: The cascade's ALIKED features in a short-lived child process (needs ``cache_dir``):
        #: a long-lived process (the site app) never holds their 0.6 GB of activations.
        self.cascade_in_child = cascade_in_child

    # -- the thorough pass ---------------------------------------------------------------
    def cascade(self):
        """The cascade (:class:`edge_app.engine.thorough.Cascade`: ALIKED + LightGlue) when its optional
        models are shipped, loaded once; else None (``cascade_error`` says why)."""
        if self._cascade is None and self.cascade_error is None:
            from .thorough import Cascade
            from .vision.cascade import AlikedLightGlue, cascade_available
            from .vision.models import ModelError

            if not cascade_available(self.models_dir):
                self.cascade_error = "the cascade's models are not installed (models/manifest.json)"
                return None
            try:  # ALIKED: one photo at a time on every core (0.6 GB of activations an inference);
                # LightGlue: one thread a pair, pairs side by side
                matcher = AlikedLightGlue.from_manifest(self.models_dir, threads=self.analyzer.workers(),
                                                        matcher_threads=1, load_features=not self.cascade_in_child)
            except ModelError as e:
                self.cascade_error = str(e)
                log.warning("cascade unavailable: %s", e)
                return None
            cache = self.cache_dir.parent / "cascade" if self.cache_dir else None
            child = {"models_dir": str(self.models_dir) if self.models_dir else None,
                     "threads": self.analyzer.workers()} if self.cascade_in_child else None
            self._cascade = Cascade(matcher, self._image_of, cache, workers=self.analyzer.workers(),
                                    photo_workers=1, child=child, path_of=lambda a: self.paths.get(a.key))
        return self._cascade

    def _image_of(self, a: PhotoAnalysis):
        from .thorough import cascade_image

        path = self.paths.get(a.key)
        return cascade_image(path) if path is not None else None

    def thorough(self, mode: str = "on", add_only: bool = False, should_stop: Callable[[], bool] | None = None):
        """An :class:`edge_app.engine.thorough.Thorough` for ``mode`` (:data:`THOROUGH_MODES`; None for
        "off"). add_only: the site app's rules (never lower a p; flag instead). should_stop:
        asked between the pass's steps; True makes it give way (raises
        :class:`edge_app.engine.thorough.Interrupted`). The cascade is handed over lazily: its
        models load the first time a session's cascade runs."""
        from .thorough import Thorough
        from .vision.cascade import cascade_available

        if mode not in THOROUGH_MODES:
            raise ValueError(f"thorough must be one of {THOROUGH_MODES}, not {mode!r}")
        if mode == "off":
            return None
        if self._cascade is not None:
            cascade = self._cascade
        elif self.cascade_error is None and cascade_available(self.models_dir):
            cascade = self.cascade
        else:
            cascade = self.cascade()  # None; sets cascade_error when it was not set yet
        return Thorough(cascade, self.settings.thorough_budget_s if mode == "auto" else None, add_only,
                        should_stop=should_stop)

    # -- grouping ------------------------------------------------------------------------
    def group_paths(
        self, paths: Sequence[str | Path], locked=None, progress: Callable[[int, int], None] | None = None,
        thorough: str = "off",
    ) -> FolderResult:
        """Analyse and group photo files. thorough: "off" (the fast path), "auto" or "on"
        (:data:`THOROUGH_MODES`; its time is ``timings["thorough_s"]``)."""
        if locked is not None and len(locked) != len(paths):
            raise ValueError(f"locked has {len(locked)} labels for {len(paths)} paths")
        t0 = time.perf_counter()
        _import_grouping_aside()
        spill = FeatureSpill() if len(paths) > self.settings.features_in_memory_up_to else None
        analyses, errors = self.analyzer.analyze_many(list(paths), progress, spill)
        t1 = time.perf_counter()
        ok = [i for i, a in enumerate(analyses) if a is not None]
        res = self.group_analysed([Path(paths[i]) for i in ok], [analyses[i] for i in ok],
                                  [locked[i] for i in ok] if locked is not None else None, thorough)
        res.errors = errors
        res.timings = {"analyze_s": t1 - t0, "group_s": res.timings["group_s"],
                       "thorough_s": res.timings["thorough_s"], "total_s": time.perf_counter() - t0}
        return res

    def group_analysed(self, paths: Sequence[Path], analyses: Sequence[PhotoAnalysis], locked=None,
                       thorough="off") -> FolderResult:
        """Group photos already analysed (``paths[i]`` holds ``analyses[i]``). thorough: a mode
        of :data:`THOROUGH_MODES`, or an :class:`edge_app.engine.thorough.Thorough` of one's own (e.g.
        without the cascade: ``Thorough(None)``)."""
        for p, a in zip(paths, analyses):
            self.paths[a.key] = Path(p)
        t0 = time.perf_counter()
        from .sessions import group_sessions

        th = self.thorough(thorough) if isinstance(thorough, str) else thorough
        with side_by_side(self.analyzer.workers()):  # pairs are verified on the workers
            res = group_sessions(list(analyses), self.settings, locked, self.pair_cache, self.analyzer.workers(), th)
        dt = time.perf_counter() - t0
        extra = float(res.timings.get("thorough_s", 0.0))
        out = FolderResult(list(paths), list(analyses), res, [], {"group_s": dt - extra, "thorough_s": extra,
                                                                 "total_s": dt})
        if th is not None:
            out.thorough = th.summary()
        return out

    def group_folder(self, folder: str | Path, progress=None, thorough: str = "off") -> FolderResult:
        scan = scan_folder(folder)
        res = self.group_paths(scan.photos, progress=progress, thorough=thorough)
        res.skipped = scan.skipped
        return res

    def assign_path(self, path: str | Path, analyses: Sequence[PhotoAnalysis],
                    labels: Sequence[Hashable | None]) -> tuple[PhotoAnalysis, Assignment]:
        """Analyse one new photo and assign it to the existing groups (see
        :func:`edge_app.engine.assign.assign_new`)."""
        from .assign import assign_new

        a = self.analyzer.analyze_path(path)
        return a, assign_new(a, analyses, labels, self.settings, self.pair_cache, self.analyzer.workers())

    # -- photo by photo (a long-lived caller: the site app's worker) ---------------------
    def load_models(self) -> None:
        """Load the analysis models now (else on the first photo)."""
        self.analyzer.load_models()

    def analyze_many(self, paths: Sequence[str | Path]) -> tuple[list[PhotoAnalysis | None], list[AnalysisError]]:
        """Analyse photo files (:meth:`edge_app.engine.analyze.Analyzer.analyze_many`):
        (analyses, errors), ``analyses[i]`` None for a file that failed."""
        return self.analyzer.analyze_many(paths)

    def analyze_path(self, path: str | Path) -> PhotoAnalysis:
        """Analyse one photo file (kept in the feature cache); raises
        :class:`edge_app.engine.decode.ImageError` or OSError when it cannot be read."""
        return self.analyzer.analyze_path(path)

    def cached_analysis(self, key: str) -> PhotoAnalysis | None:
        """The photo's analysis from the feature cache, or None (no cache, or not in it)."""
        cache = self.analyzer.cache
        return cache.get(key) if cache is not None else None

    def feature_shelf(self, recover: Callable[[str], LocalFeatures | None] | None = None) -> FeatureShelf | None:
        """A :class:`edge_app.engine.analyze.FeatureShelf` on the feature cache (analyses
        kept in memory without their local features); None without a cache. recover(key):
        the features again when the cache entry is gone."""
        cache = self.analyzer.cache
        return FeatureShelf(cache, recover) if cache is not None else None

    def shelve(self, shelf: FeatureShelf | None, a: PhotoAnalysis) -> PhotoAnalysis:
        """``a`` with its features on ``shelf`` (a :meth:`feature_shelf`:
        :meth:`edge_app.engine.analyze.FeatureShelf.shelve`); ``a`` itself without one."""
        return shelf.shelve(a) if shelf is not None else a

    def pair_scores_version(self) -> str:
        """What pair scores depend on (the features' settings, the pair model, coarse
        keypoints): the version of a pair cache kept across restarts."""
        s = self.settings
        return f"{s.feature_version()}-{hash((s.pair_model, s.verify.coarse_keypoints))}"

    def use_pair_cache(self, cache: MutableMapping[tuple[str, str], PairScore]) -> None:
        """Keep pair scores in ``cache`` from now on (e.g. a table kept across restarts)."""
        self.pair_cache = cache

    def flush_pair_cache(self) -> None:
        """Write the pair scores the cache holds in memory (a cache with a ``flush``)."""
        flush = getattr(self.pair_cache, "flush", None)
        if flush is not None:
            flush()

    def remember_paths(self, paths: Mapping[str, str | Path]) -> None:
        """Where photos (by key, their sha256) can be read again: the thorough pass's
        cascade decodes them anew."""
        for key, path in paths.items():
            self.paths[key] = Path(path)

    def group_analyses(self, analyses: Sequence[PhotoAnalysis], locked: Sequence[Hashable | None] | None = None,
                       thorough=None, paths: Mapping[str, str | Path] | None = None,
                       cannot: tuple[np.ndarray, np.ndarray] | None = None) -> GroupResult:
        """Group photos already analysed as one session (not split by GPS or time, unlike
        :meth:`group_analysed`: the caller chose them, e.g. one site of the site app), with
        the pipeline's settings, pair cache and workers
        (:func:`edge_app.engine.group.group_analyses`). locked: one label or None per photo;
        photos with one label stay one group. thorough: None (the fast path) or a
        :class:`edge_app.engine.thorough.Thorough` (:meth:`thorough`). paths: where the
        photos can be read again (:meth:`remember_paths`), for the thorough pass. cannot:
        optional (int [C], int [C]) pairs of photos a person separated, never one group."""
        from .group import group_analyses

        if paths:
            self.remember_paths(paths)
        return group_analyses(analyses, self.settings, locked, self.pair_cache, self.analyzer.workers(), thorough,
                              cannot)

    def assign(self, new: PhotoAnalysis, analyses: Sequence[PhotoAnalysis], labels: Sequence[Hashable | None],
               settings: Settings | None = None, workers: int = 1) -> Assignment:
        """Assign one analysed photo to the existing groups (:func:`edge_app.engine.assign.assign_new`)
        with the pipeline's pair cache. settings: others than the pipeline's; workers:
        threads for its verifications (1: the caller's thread)."""
        from .assign import assign_new

        return assign_new(new, analyses, labels, settings or self.settings, self.pair_cache, workers)

    def choose_sites(self, facts: SiteFacts, analysis: AnalysisOf) -> SiteChoice:
        """A site for each new photo of ``facts`` (:func:`edge_app.engine.site_choice.choose_sites`
        with this pipeline's links by metadata, verification and look)."""
        from .site_choice import choose_sites

        return choose_sites(facts, analysis, link=self.link_to_known, same_spot=self.same_spot_by_look,
                            place_by_look=self.place_by_look)

    def link_to_known(self, new: Sequence[PhotoMeta], known: KnownPhotos) -> NewPhotoLinks:
        """Which known photos new ones link to by GPS and capture time
        (:func:`edge_app.engine.sessions.link_to_known` with the site radius and session gap)."""
        from .sessions import link_to_known

        return link_to_known(new, known, self.settings.site_radius_m, self.settings.session_gap_s)

    def place_by_look(self, new: PhotoAnalysis, known: Sequence[PhotoAnalysis], labels: Sequence[Hashable]) -> Hashable:
        """The label ``new`` gets by look alone: that of the known photo it looks most like
        (:func:`edge_app.engine.sessions.place_by_similarity` with the known photos' labels as
        sessions and one unplaced photo; ties go to the photo listed first). ``known`` must
        not be empty."""
        from .sessions import place_by_similarity

        if not known:
            raise ValueError("no known photo to place by")
        sessions: dict[Hashable, list[int]] = {}
        for k, label in enumerate(labels):
            sessions.setdefault(label, []).append(k)
        n = len(known)
        out = place_by_similarity(list(sessions.values()), [n],
                                  np.stack([a.embedding for a in known] + [new.embedding]))
        return next(label for label, members in zip(sessions, out) if n in members)

    def same_spot_by_look(self, new: PhotoAnalysis, known: Sequence[PhotoAnalysis]) -> list[int]:
        """Indices of the ``known`` photos among the ``knn`` nearest to ``new`` by look that
        verification shows to be of the same spot (p >= ``assign_threshold``); empty when
        none is (a new place)."""
        s = self.settings
        E = np.stack([a.embedding for a in known]).astype(np.float64)
        near = np.argsort(-(E @ new.embedding.astype(np.float64)))[: s.knn].tolist()
        res = self.assign(new, [known[k] for k in near], list(range(len(near))), s.replace(all_pairs_up_to=len(near)))
        return [near[k] for k in np.flatnonzero(res.p >= s.assign_threshold)]
