"""Where new photos go, before their batch is regrouped: a site (:func:`choose_sites`), then,
photo by photo, a spot of it (:func:`place_online`), so the page fills up while an upload is
still running.

The rule that chooses a site is the engine's (:mod:`edge_app.engine.site_choice`: metadata
first, then verified look; an upload linked to nothing is a new site named by its date);
here the store's facts go in and its answer is written.
"""

from __future__ import annotations

from .. import app_settings
from ..engine.pipeline import Pipeline
from ..engine.site_choice import AnalysisOf
from ..store import Store
from ..store.sites import apply_site_choice, site_facts
from ..store.spots import confirmed_at, create_spot, place, set_engine_phases
from .snapshot import RegroupStale, check_unchanged, read_site


def choose_sites(st: Store, pipeline: Pipeline, analysis: AnalysisOf, shas: list[str]) -> dict[int, list[str]]:
    """Give each newly analysed photo a site: one read of the store's facts
    (:func:`edge_app.store.sites.site_facts`), the engine's rule
    (:meth:`~edge_app.engine.pipeline.Pipeline.choose_sites`), one write
    (:func:`edge_app.store.sites.apply_site_choice`). Returns {site: photos}, those that
    had a site already included."""
    facts = site_facts(st, shas, app_settings.value("worker.place_by_look_recent"))
    if not facts.new:
        return facts.placed
    return apply_site_choice(st, facts, pipeline.choose_sites(facts, analysis))


def place_online(st: Store, pipeline: Pipeline, analysis: AnalysisOf, site_id: int, sha: str) -> None:
    """Place one new photo of a site with the engine's online assignment (fast, before
    regrouping): into the spot it joins (the tray with a suggestion when that spot is
    confirmed), or a new spot with the lone photo it matches, or the tray. When a person
    changes the site meanwhile it judges again (three tries, then the tray: the batch's
    regroup places it)."""
    a = analysis(sha)
    for _ in range(3):
        seen = read_site(st, site_id, exclude=sha)
        found = [(r, analysis(r["sha256"])) for r in seen]
        rows = [r for r, b in found if b is not None]
        analyses = [b for r, b in found if b is not None]
        labels = [r["spot_id"] for r in rows]
        res = pipeline.assign(a, analyses, labels)
        try:
            _write_place(st, site_id, sha, a, res, rows, seen)
            break
        except RegroupStale:  # a person changed the site meanwhile: judge again from the new state
            continue
    else:
        with st.write():
            place(st, sha, None, "engine")  # the tray; the batch's regroup places it
    pipeline.flush_pair_cache()


def _write_place(st: Store, site_id: int, sha: str, a, res, rows, seen) -> None:
    """Write what :func:`place_online` decided, unless the site changed since ``seen``."""
    with st.write():
        check_unchanged(st, site_id, seen, exclude=sha)
        if a is None:
            place(st, sha, None, "engine")
            return
        if res.group is not None:
            if confirmed_at(st, res.group):
                place(st, sha, None, "engine", score=res.score, suggest=res.group)
            else:
                place(st, sha, res.group, "engine", score=res.score)
                set_engine_phases(st, res.group)
        elif res.partner is not None and rows[res.partner]["by"] == "engine":
            spot_id = create_spot(st, site_id, "engine")
            place(st, rows[res.partner]["sha256"], spot_id, "engine", score=res.score)
            place(st, sha, spot_id, "engine", score=res.score)
            set_engine_phases(st, spot_id)
        else:
            place(st, sha, None, "engine", score=res.score)
