"""The scripted crew-lead walk's drags (benchmarks/review.py, issue 17): which one gesture
starts each fix, and which spot each true group is fixed in for the fewest drags."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from review import first_drag, plan_fix  # noqa: E402


def test_a_photo_that_belongs_to_a_spot_is_dragged_onto_it():
    assert first_drag(("to", ["a2", "a3"], "7"), set()) == ("a2", "spot", "7")


def test_a_pair_in_the_tray_is_one_photo_dragged_onto_the_other():
    assert first_drag(("new", ["b1", "b2"], ""), {"b1", "b2"}) == ("b2", "photo", "b1")
    # one of the group in the tray: the others are dragged onto it (a photo of a spot too)
    assert first_drag(("new", ["b1", "b2", "b3"], ""), {"b2"}) == ("b1", "photo", "b2")
    # two in the tray: the tray's other photo first (no scrolling to reach it)
    assert first_drag(("new", ["b1", "b2", "b3"], ""), {"b2", "b3"}) == ("b3", "photo", "b2")


def test_a_lone_photo_in_a_spot_is_dragged_onto_the_tray():
    assert first_drag(("tray", ["lone"], ""), set()) == ("lone", "tray", "")


def test_a_new_group_with_no_photo_in_the_tray_starts_with_one_dragged_onto_the_tray():
    assert first_drag(("new", ["b1", "b2"], ""), {"x"}) == ("b1", "tray", "")


def drags_of(spots, tray, truth):
    """The drags the walk makes, planning again after each (the page's answer simulated)."""
    spots = {s: set(n) for s, n in spots.items()}
    tray, count, fresh = set(tray), 0, 0
    for _ in range(50):
        plan = plan_fix(spots, tray, truth, drags=True)
        if not plan:
            return count, spots, tray
        name, onto, where = first_drag(plan[0], tray)
        for names in spots.values():
            names.discard(name)
        tray.discard(name)
        if onto == "spot":
            spots[where].add(name)
        elif onto == "tray":
            tray.add(name)
        else:
            tray.discard(where)
            fresh += 1
            spots[f"new{fresh}"] = {name, where}
        spots = {s: n for s, n in spots.items() if n}
        count += 1
    raise AssertionError("no end")


def test_a_group_sitting_in_another_groups_spot_costs_one_drag_a_photo():
    # b1, b2 sit in a's spot, no photo of b in the tray: b1 onto the tray, b2 onto b1
    truth = {"a1": "a", "a2": "a", "a3": "a", "b1": "b", "b2": "b"}
    count, spots, tray = drags_of({"1": {"a1", "a2", "a3", "b1", "b2"}}, set(), truth)
    assert count == 2
    assert sorted(map(sorted, spots.values())) == [["a1", "a2", "a3"], ["b1", "b2"]] and not tray


def test_the_spot_goes_to_the_group_that_leaves_the_fewest_drags():
    # a and b tie on the spot; a has a photo in the tray, so b keeps the spot and a starts
    # afresh on its tray photo: 2 drags (the overlap's match alone: a3 onto the spot, then
    # b1 onto the tray and b2 onto it, 3)
    truth = {"a1": "a", "a2": "a", "a3": "a", "b1": "b", "b2": "b"}
    count, spots, tray = drags_of({"1": {"a1", "a2", "b1", "b2"}}, {"a3"}, truth)
    assert count == 2
    assert sorted(map(sorted, spots.values())) == [["a1", "a2", "a3"], ["b1", "b2"]] and not tray


def test_drags_equal_the_protocols_moves_on_a_mixed_page():
    truth = {"a1": "a", "a2": "a", "b1": "b", "b2": "b", "b3": "b", "c1": "c", "c2": "c", "l1": "l1", "l2": "l2"}
    spots = {"1": {"a1", "b1", "b2", "l1"}, "2": {"a2", "c1", "c2"}}
    count, got, tray = drags_of(spots, {"b3", "l2"}, truth)
    # the protocol's moves: b3 (to b's spot), l1 (to the tray), a1 and a2 (a has no spot of its
    # own: a1 onto the tray, a2 onto a1) -> 4
    assert count == 4
    assert sorted(map(sorted, got.values())) == [["a1", "a2"], ["b1", "b2", "b3"], ["c1", "c2"]]
    assert tray == {"l1", "l2"}


def test_drags_are_the_protocols_moves_on_random_pages():
    import random

    from edge_app.engine.evaluate import score_grouping

    for seed in range(300):
        r = random.Random(seed)
        n = r.randint(2, 14)
        truth = {f"p{i}": f"g{r.randint(0, n // 2)}" for i in range(n)}
        spots, tray = {}, set()
        for p in truth:
            k = r.randint(0, r.randint(1, 5))
            if k:
                spots.setdefault(str(k), set()).add(p)
            else:
                tray.add(p)

        def label(p, spots):
            return next((s for s, names in spots.items() if p in names), None)

        moves = score_grouping([label(p, spots) for p in truth], list(truth.values()))["moves"]
        count, got, _ = drags_of(spots, tray, truth)
        assert score_grouping([label(p, got) for p in truth], list(truth.values()))["moves"] == 0
        assert count == moves, seed
