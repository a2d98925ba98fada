"""A site regrouped by the full engine once its batch is in, keeping every person's edit
(the rules of :mod:`edge_app.store.spots`); with the thorough pass, review flags instead of
splits.

Photos a person put in the tray stay out; photos a person placed, and every photo of a
touched or confirmed spot, are locked to their spot; the engine groups the rest around them
(:meth:`~edge_app.engine.pipeline.Pipeline.group_analyses`). Free groups keep the id of the
engine spot they overlap most; the engine's phases are set on every spot it changed. With
learning from edits (issue 20), a photo a person took out of a spot takes along the photos
the engine linked to it and to nothing that stays (:func:`followers`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable

import numpy as np

from .. import app_settings
from ..engine.pipeline import Pipeline
from ..store import Store
from ..store.spots import EngineMove, EnginePlan, NewSpot, engine_view, write_engine_plan
from .placing import AnalysisOf


def regroup_site(st: Store, pipeline: Pipeline, analysis: AnalysisOf, site_id: int, thorough: bool = False,
                 should_stop: Callable[[], bool] | None = None, learn: bool | None = None) -> dict:
    """Regroup a site with the full engine, keeping every person's edit: one read of the
    store (:func:`edge_app.store.spots.engine_view`), the engine's grouping, the answer
    planned here (:func:`plan_regroup`), one write (:func:`edge_app.store.spots.write_engine_plan`).

    thorough: the thorough pass (:mod:`edge_app.engine.thorough`) by the site app's rules: it only
    raises pair probabilities (a link the cascade finds), never lowers one, and flags an
    engine spot for review (``spots.review``: "machine" when a link in it rests on
    something one shot shows, "shared" when two of its photos match only off their
    subjects) instead of splitting it; should_stop: asked between its steps (True: it gives
    way, raising :class:`edge_app.engine.thorough.Interrupted`). Raises
    :class:`~edge_app.store.spots.RegroupStale` (nothing written) when a person changed
    the site meanwhile. Once the site's grouping has been shown (a photo whose batch was
    regrouped before), the answer may add photos from the tray to a spot, but a photo it
    would take out of the spot an earlier answer put it in stays there and the move is a
    suggestion (:func:`edge_app.store.spots.suggest_moves`). learn (default
    ``worker.learn_from_edits``): photos a person separated (:func:`edge_app.store.spots.separations`)
    are cannot-link pairs of the grouping, never one group again, and the photos linked only
    to a photo a person moved to another spot follow it there (:func:`followers`; an engine
    move, not a suggestion: the person's move is what moves them) (issue 20). Returns {"moved": n, "spots": k,
    "links": l, "review": r, "suggested": new suggestions}."""
    learn = app_settings.value("worker.learn_from_edits") if learn is None else learn
    view = engine_view(st, site_id, shown=True, moves=learn, paths=thorough)
    rows = [r for r in view.rows if not (r["by"] == "person" and r["spot_id"] is None)]
    rows = [r for r in rows if analysis(r["sha256"]) is not None]
    if not rows:
        return {"moved": 0, "spots": 0}
    locked = []
    for r in rows:
        fixed = r["spot_id"] is not None and (r["by"] == "person" or r["touched"] or r["confirmed_at"])
        locked.append(f"spot:{r['spot_id']}" if fixed else None)
    analyses = [analysis(r["sha256"]) for r in rows]
    cannot = None
    taken_out: list[tuple[int, int, frozenset[str], int]] = []
    if learn:
        at = {r["sha256"]: i for i, r in enumerate(rows)}
        taken_out = [(at[x], left, stayed, e) for x, left, stayed, e in view.moves if x in at]
        pairs = sorted({(min(i, at[y]), max(i, at[y])) for i, _, stayed, _ in taken_out for y in stayed if y in at})
        if pairs:
            cannot = (np.array([a for a, _ in pairs], np.intp), np.array([b for _, b in pairs], np.intp))
    th = paths = None
    if thorough:
        paths = {r["sha256"]: view.paths[r["sha256"]] for r in rows}
        th = pipeline.thorough("on", add_only=True, should_stop=should_stop)
    res = pipeline.group_analyses(analyses, locked, th, paths, cannot=cannot)
    follow = followers(res, rows, locked, taken_out, pipeline.settings.group_threshold)
    if follow:  # the photos that go with one a person took out of their spot: locked to where it is now
        for i, (lab, _) in follow.items():
            locked[i] = lab
        res = pipeline.group_analyses(analyses, locked, th, paths, cannot=cannot)
    plan, moved = plan_regroup(site_id, view, rows, locked, res, follow, thorough)
    suggested = write_engine_plan(st, plan)
    pipeline.flush_pair_cache()
    return {"moved": moved, "spots": len({lab for lab in res.labels if lab is not None}),
            "links": len(res.cascade_links), "review": len(plan.flags or {}), "suggested": suggested}


def plan_regroup(site_id: int, view, rows, locked, res, follow, thorough: bool) -> tuple[EnginePlan, int]:
    """The engine's answer for a site, as the store writes it (:class:`~edge_app.store.spots.EnginePlan`),
    and how many photos it moves. ``view``: what was read of the site; ``rows``: the photos
    grouped (``res``), ``locked`` their locks, ``follow`` the photos that follow a person's
    move (:func:`followers`).

    Each cluster of a locked photo goes to that photo's spot (to the tray with a
    suggestion when that spot is confirmed); a free cluster keeps the id of the engine spot
    it overlaps most, or gets a new spot. A photo an earlier answer put in a spot the page
    has shown is not taken out of it: that is a suggestion (issue 17). Spots the answer
    empties are retired; the engine's phases are set on every spot it changed; with the
    thorough pass, the review flags (:func:`review_flags`)."""
    clusters: dict[int, list[int]] = defaultdict(list)
    for i, lab in enumerate(res.labels):
        if lab is not None:
            clusters[lab].append(i)
    # which spot each cluster becomes
    target: dict[int, int | NewSpot | None] = {}
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
    plan = EnginePlan(site_id, view.rows, suggestions=[], flags={} if thorough else None)
    changed_spots: set[int | NewSpot] = set()
    # where each free photo goes; a photo an earlier answer put in a spot the page has
    # shown is not taken out of it: that is a suggestion (issue 17)
    going: list[tuple[int, int | None, int | None, float | None]] = []  # (row, cluster, suggest, score)
    asked: list[tuple[int, int | None, int | None, float | None]] = []
    for i, r in enumerate(rows):
        if i in follow:  # it goes with the photo a person moved, as if moved with it
            lab, edit = follow[i]
            dest = int(lab.split(":")[1])
            plan.moves.append(EngineMove(r["sha256"], dest, res.max_p(i, [j for j, x in enumerate(locked)
                                                                        if x == lab and j != i]), edit=edit))
            changed_spots.update((dest, r["spot_id"]))
            continue
        if locked[i] is not None:
            continue
        lab = res.labels[i]
        if lab is None:
            sug = None
            others = [j for j in range(len(rows)) if j != i]
            score = res.max_p(i, others) if others else None
        else:
            sug = suggest.get(lab)
            mates = [j for j in clusters[lab] if j != i]
            score = res.mean_p(i, mates) if mates else None
        leaves = r["spot_id"] is not None and (lab is None or target.get(lab, -1) != r["spot_id"])
        if leaves and r["sha256"] in view.shown:
            asked.append((i, lab, sug, score))
        else:
            going.append((i, lab, sug, score))
    for _, lab, _, _ in going:
        if lab is not None and lab in free_clusters and lab not in target:
            target[lab] = NewSpot(len(plan.new_spots))
            plan.new_spots.append(target[lab])
    for i, lab, sug, score in going:
        r = rows[i]
        dest = None if lab is None else target[lab]
        if r["spot_id"] == dest and r["by"] == "engine":
            plan.moves.append(EngineMove(r["sha256"], dest, score, sug, rescore=True))
            continue
        plan.moves.append(EngineMove(r["sha256"], dest, score, sug))
        changed_spots.update(x for x in (dest, r["spot_id"]) if x is not None)
    for i, lab, sug, score in asked:  # to a spot, to a new spot (its cluster's number) or to the tray
        to_spot = sug if sug is not None else (target.get(lab) if lab is not None else None)
        group = lab if lab is not None and to_spot is None else None
        plan.suggestions.append((rows[i]["sha256"], rows[i]["spot_id"], to_spot, group, score))
    left = {rows[i]["spot_id"]: follow[i][1] for i in follow}  # spot the followers left: their edit
    plan.retire = [(sid, left.get(sid)) for sid in (reusable - taken) | set(left)]  # spots the answer may empty
    plan.phases = list({t for t in target.values() if t is not None} | changed_spots)
    if thorough:
        plan.flags = review_flags(res, free_clusters, target)
    moved = sum(not m.rescore for m in plan.moves)
    return plan, moved


def followers(res, rows, locked, taken_out, threshold: float) -> dict[int, tuple[str, int]]:
    """{photo: (the locked label of the spot it follows to, the person's edit it follows)}:
    the photos that go with one a person took out of a spot and put in another (issue 20).
    For each such move (``taken_out``: the moved photo's row, the spot it left, the photos
    that stayed there, by sha256, and the edit's id) whose photo is still in the spot a person put it in, that spot unconfirmed: a
    photo the engine put in the spot it left, still there, follows it when the engine links
    it to the moved photo's side (p >= ``threshold``, the engine's own linking bar, to the
    moved photo or to a photo already following) and to no photo left in the spot (p below
    it to each), and no other edit of a person separated it from a photo of the spot it
    would join. So the move's "not with these" reaches the photos linked to the moved one
    only, and "with those" takes them along; a photo also linked to what stays (a spot the
    lead took one photo out of by a slip, a look-alike linked both ways) stays, as a
    person's placement and every photo of a confirmed spot do."""
    at = {r["sha256"]: i for i, r in enumerate(rows)}
    apart: dict[tuple[int, int], set[int]] = {}  # a separated pair: the moves that separated it
    for m, (x, _, stayed, _) in enumerate(taken_out):
        for y in stayed:
            if y in at:
                apart.setdefault((min(x, at[y]), max(x, at[y])), set()).add(m)
    out: dict[int, tuple[str, int]] = {}
    spot_of = [r["spot_id"] for r in rows]
    for m, (x, left, _, edit) in enumerate(taken_out):
        lab = locked[x]
        if lab is None or rows[x]["by"] != "person" or rows[x]["confirmed_at"] or spot_of[x] == left:
            continue
        joined = [j for j, other in enumerate(locked) if other == lab] + [j for j, (o, _) in out.items() if o == lab]
        cand = [i for i, r in enumerate(rows) if spot_of[i] == left and r["by"] == "engine"
                and not r["confirmed_at"] and i != x and i not in out]
        cand = [i for i in cand if not any(apart.get((min(i, j), max(i, j)), {m}) - {m} for j in joined)]
        side = [x]
        grew = True
        while grew:
            grew = False
            for i in cand:
                if i in side:
                    continue
                near = res.max_p(i, side)
                rest = [j for j, r in enumerate(rows) if spot_of[j] == left and j != i and j not in side]
                if near >= threshold > res.max_p(i, rest):
                    side.append(i)
                    grew = True
        for i in side[1:]:
            out[i] = (lab, edit)
    return out


def review_flags(res, free_clusters, target) -> dict[int, str]:
    """{engine spot: "machine" | "shared"} from the thorough pass's review pairs: a pair
    inside one free group flags it, so does a pair of an unassigned photo and a free
    group's photo. Groups a person touched or confirmed are never flagged."""
    machine = {(a, b) for a, b, *_ in res.discounted}
    free = set(free_clusters)
    out: dict[int, tuple[str, int]] = {}
    for i, j in res.review:
        li, lj = res.labels[i], res.labels[j]
        labs = {li} if li == lj else ({li, lj} - {None} if None in (li, lj) else set())
        for lab in labs:
            if lab is not None and lab in free and target.get(lab) is not None:
                why = "machine" if (i, j) in machine else "shared"
                if out.get(target[lab]) != "machine":
                    out[target[lab]] = why
    return out
