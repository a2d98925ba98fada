"""The library's entry point: analyse photos, then group them (used by the CLI and the app).

    from edge_app.pipeline import Pipeline
    pipe = Pipeline()                                   # Settings() defaults, models from models/
    result = pipe.group_folder("photos/site-12")        # analyse + group
    result.labels                                       # one group index or None per photo

:class:`Pipeline` wires the stages and owns no maths: :mod:`edge_app.analyze` (per photo),
:mod:`edge_app.sites` (sessions, then each session grouped by :mod:`edge_app.pairs`),
:mod:`edge_app.assign` (one new photo), :func:`edge_app.decode.scan_folder` (what a
folder holds).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Hashable, Sequence

from .analyze import AnalysisError, Analyzer, FeatureCache, FeatureSpill, PhotoAnalysis
from .assign import Assignment, assign_new
from .config import Settings
from .decode import scan_folder
from .pairs import GroupResult
from .sites import group_sessions
from .vision.verify import PairScore


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
        spill = FeatureSpill() if len(paths) > self.settings.features_in_memory_up_to else None
        analyses, errors = self.analyzer.analyze_many(list(paths), progress, spill)
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
        return a, assign_new(a, analyses, labels, self.settings, self.pair_cache, self.analyzer.workers())
