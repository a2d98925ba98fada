"""The scripted crew-lead walk's drags (benchmarks/review.py, issue 17): which one gesture
starts each fix, and where a drag is no shorter than taps."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from review import first_drag  # noqa: E402


def test_a_photo_that_belongs_to_a_spot_is_dragged_onto_it():
    assert first_drag(("to", ["a2", "a3"], "7"), set()) == ("a2", "spot", "7")


def test_a_pair_in_the_tray_is_one_photo_dragged_onto_the_other():
    assert first_drag(("new", ["b1", "b2"], ""), {"b1", "b2"}) == ("b2", "photo", "b1")
    # one of the group in the tray: the others are dragged onto it (a photo of a spot too)
    assert first_drag(("new", ["b1", "b2", "b3"], ""), {"b2"}) == ("b1", "photo", "b2")


def test_a_lone_photo_in_a_spot_is_dragged_onto_the_tray():
    assert first_drag(("tray", ["lone"], ""), set()) == ("lone", "tray", "")


def test_a_new_group_with_no_photo_in_the_tray_is_left_to_taps():
    assert first_drag(("new", ["b1", "b2"], ""), {"x"}) is None
