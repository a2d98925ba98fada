"""Metrics and the batch protocol of the eval sets."""

import random

import pytest

from edge_app.engine.evaluate import EvalSet, sample_batch, sample_batches, score_grouping


def test_perfect_grouping():
    r = score_grouping([0, 0, 1, 1, None], ["a", "a", "b", "b", "c"])
    assert r["ari"] == pytest.approx(1.0) and r["moves"] == 0 and r["exact"] == 1.0
    assert r["precision"] == 1.0 and r["recall"] == 1.0


def test_everything_unassigned_has_no_false_pairs_but_no_recall():
    r = score_grouping([None] * 4, ["a", "a", "b", "b"])
    assert r["precision"] == 1.0 and r["recall"] == 0.0 and r["moves"] == 2


def test_one_photo_in_the_wrong_group_costs_one_move():
    r = score_grouping([0, 0, 0, 1, 1, 1], ["a", "a", "b", "b", "b", "b"])
    assert r["moves"] == 1
    assert r["precision"] == pytest.approx(4 / 6) and r["recall"] == pytest.approx(4 / 7)


def test_labels_are_names_not_numbers():
    assert score_grouping(["x", "x", "y"], [5, 5, 6])["ari"] == pytest.approx(1.0)


def make_set(tmp_path, groups):
    (tmp_path / "images").mkdir()
    rows = ["filename,group"]
    for g, n in groups.items():
        for k in range(n):
            rows.append(f"{g}_{k}.jpg,{g}")
    (tmp_path / "groundtruth.csv").write_text("\n".join(rows) + "\n")
    return EvalSet.load(tmp_path)


def test_batches_follow_the_protocol(tmp_path):
    es = make_set(tmp_path, {f"g{i}": 3 + i % 5 for i in range(12)} | {"solo": 1})
    rng = random.Random(3)
    for _ in range(50):
        b = sample_batch(es, rng)
        assert len(b.files) == len(set(b.files))
        assert 0 <= len(b.lone) <= 2
        spots = {g for f, g in zip(b.files, b.truth) if f not in b.lone}
        for g in spots:
            assert 3 <= b.truth.count(g) <= 6 or b.truth.count(g) == len([x for x in es.groups if x == g])
        for f in b.lone:  # a lone photo is alone in its group within the batch
            assert b.truth.count(b.truth[b.files.index(f)]) == 1
        assert len(b.files) >= 8


def test_same_seed_same_batches(tmp_path):
    es = make_set(tmp_path, {f"g{i}": 5 for i in range(8)})
    a = [b.files for b in sample_batches([es], 5, seed=7)]
    b = [b.files for b in sample_batches([es], 5, seed=7)]
    assert a == b and a != [b.files for b in sample_batches([es], 5, seed=8)]
