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
from ..store.spots import EngineMove, EnginePlan, NewSpot, RegroupStale, engine_view, write_engine_plan


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
    confirmed), or a new spot with the lone photo it matches, or the tray. One read of the
    site (:func:`edge_app.store.spots.engine_view`), the engine's answer
    (:meth:`~edge_app.engine.pipeline.Pipeline.assign`), one write
    (:func:`edge_app.store.spots.write_engine_plan`). When a person changes the site
    meanwhile it judges again (three tries, then the tray: the batch's regroup places it)."""
    a = analysis(sha)
    for _ in range(3):
        seen = engine_view(st, site_id, exclude=sha).rows
        found = [(r, analysis(r["sha256"])) for r in seen]
        rows = [r for r, b in found if b is not None]
        analyses = [b for r, b in found if b is not None]
        labels = [r["spot_id"] for r in rows]
        res = pipeline.assign(a, analyses, labels)
        try:
            write_engine_plan(st, plan_place(site_id, sha, a, res, rows, seen))
            break
        except RegroupStale:  # a person changed the site meanwhile: judge again from the new state
            continue
    else:  # the tray; the batch's regroup places it
        write_engine_plan(st, EnginePlan(site_id, None, moves=[EngineMove(sha, None)]))
    pipeline.flush_pair_cache()


def plan_place(site_id: int, sha: str, a, res, rows, seen) -> EnginePlan:
    """Where :func:`place_online` puts the photo, as the store writes it (checked against
    ``seen``, the site's places it judged from): into the spot the engine's assignment
    ``res`` joins it to (the tray with that spot as a suggestion when a person confirmed
    it), or a new spot with the lone engine-placed photo it matches, or the tray."""
    plan = EnginePlan(site_id, seen, exclude=sha)
    if a is None:
        plan.moves.append(EngineMove(sha, None))
    elif res.group is not None:
        if next(r["confirmed_at"] for r in rows if r["spot_id"] == res.group):
            plan.moves.append(EngineMove(sha, None, res.score, suggest=res.group))
        else:
            plan.moves.append(EngineMove(sha, res.group, res.score))
            plan.phases.append(res.group)
    elif res.partner is not None and rows[res.partner]["by"] == "engine":
        new = NewSpot(0)
        plan.new_spots.append(new)
        plan.moves += [EngineMove(rows[res.partner]["sha256"], new, res.score), EngineMove(sha, new, res.score)]
        plan.phases.append(new)
    else:
        plan.moves.append(EngineMove(sha, None, res.score))
    return plan
