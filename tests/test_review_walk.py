"""The scripted crew-lead walk's decisions (benchmarks/review.py, issue 17 and 20): what the
lead does next to reach the truth, one photo at a time, and which of the page's suggestions
it takes."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from review import one_photo, plan_fix, suggestion_helps  # noqa: E402

TRUTH = {"a1": "A", "a2": "A", "a3": "A", "b1": "B", "b2": "B", "lone": "L"}


def test_the_plan_sends_missing_photos_to_their_spot_and_a_lone_photo_to_the_tray():
    spots = {"7": {"a1", "a2", "b1", "lone"}, "8": {"b2"}}
    plan = plan_fix(spots, {"a3"}, TRUTH)
    assert plan == [("to", ["a3"], "7"), ("to", ["b1"], "8"), ("tray", ["lone"], "")]
    assert plan_fix({"7": {"a1", "a2", "a3"}, "8": {"b1", "b2"}}, {"lone"}, TRUTH) == []


def test_one_at_a_time_the_lead_moves_the_first_photo_of_a_step():
    assert one_photo(("to", ["a2", "a3"], "7")) == ("to", ["a2"], "7")
    assert one_photo(("new", ["b1", "b2"], "")) == ("new", ["b1"], "")


def test_a_suggestion_is_taken_when_it_moves_the_photo_toward_its_group():
    spots = {"7": {"a1", "a2", "b1"}, "8": {"b2"}, "9": {"lone", "a3"}}
    assert suggestion_helps(spots, "b1", "8", TRUTH)  # to its mate
    assert not suggestion_helps(spots, "a1", "8", TRUTH)  # away from its mates
    assert not suggestion_helps(spots, "b1", "tray", TRUTH)  # alone is no closer than with none
    assert suggestion_helps(spots, "a3", "7", TRUTH)
    assert suggestion_helps(spots, "lone", "tray", TRUTH) and suggestion_helps(spots, "lone", "new", TRUTH)
    assert not suggestion_helps({"5": {"lone"}}, "lone", "tray", TRUTH)  # alone already
