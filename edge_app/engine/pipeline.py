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
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Hashable, Sequence

from .analyze import AnalysisError, Analyzer, FeatureCache, FeatureSpill, PhotoAnalysis
from .assign import Assignment, assign_new
from .config import Settings
from .decode import scan_folder
from .pairs import GroupResult
from .sessions import group_sessions
from .vision.verify import PairScore

log = logging.getLogger(__name__)

#: What ``thorough`` may be: "off" (the fast path only), "auto" (the thorough pass, its
#: cascade in a session only when the band's cost by count fits ``Settings.thorough_budget_s``:
#: :func:`edge_app.engine.thorough.cascade_mode`), "on". The cascade's models load only when it runs.
THOROUGH_MODES = ("off", "auto", "on")

#: :attr:`FolderResult.thorough` when the thorough pass did not run at all.
NO_THOROUGH_PASS = {"mode": "fast", "reason": "thorough pass off", "band_pairs": 0, "band_photos": 0,
                    "cost_s": 0.0, "budget_s": None, "sessions": 0, "cascade_loaded": False, "cascade_links": 0}


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

    def __init__(self, settings: Settings | None = None, cache_dir: str | Path | None = None, models_dir=None):
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
        self.cascade_in_child = False

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

    def thorough(self, mode: str = "on", add_only: bool = False):
        """An :class:`edge_app.engine.thorough.Thorough` for ``mode`` (:data:`THOROUGH_MODES`; None for
        "off"). add_only: the site app's rules (never lower a p; flag instead). The cascade
        is handed over lazily: its models load the first time a session's cascade runs."""
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
        return Thorough(cascade, self.settings.thorough_budget_s if mode == "auto" else None, add_only)

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
        th = self.thorough(thorough) if isinstance(thorough, str) else thorough
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
        """Analyse one new photo and assign it to the existing groups (see :func:`assign_new`)."""
        a = self.analyzer.analyze_path(path)
        return a, assign_new(a, analyses, labels, self.settings, self.pair_cache, self.analyzer.workers())
