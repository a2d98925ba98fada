"""The hard cases of issue 11 on synthetic photos (no eval data needed): capture times days
apart, the mutual-best bonus without evidence of its own, one machine in two spots."""

from datetime import datetime, timedelta

import numpy as np

from edge_app.engine import grouping
from photo_files import jpeg
from scenes import machine_in_two_spots
from scenes import views_of

DAY = datetime(2026, 5, 4, 9, 0, 0)
SEOUL = (37.5665, 126.9780)


def write_visits(folder, gps):
    """Two spots, each shot twice on day 0 ("before") and twice 14 days later ("after")."""
    folder.mkdir(parents=True, exist_ok=True)
    truth = {}
    for k, seed in enumerate((11, 22)):
        for i, img in enumerate(views_of(seed, 4)):
            when = DAY + timedelta(minutes=10 * k + i) + (timedelta(days=14) if i >= 2 else timedelta())
            name = f"spot{k}_{'before' if i < 2 else 'after'}{i}.jpg"
            (folder / name).write_bytes(jpeg(img, when, gps))
            truth[name] = k
    return truth


def test_before_and_after_14_days_apart_group_together(tmp_path, pipeline):
    for gps in (SEOUL, None):
        truth = write_visits(tmp_path / str(gps is not None), gps)
        res = pipeline.group_folder(tmp_path / str(gps is not None))
        got = {p.name: lab for p, lab in zip(res.paths, res.labels)}
        for a in truth:
            for b in truth:
                assert (got[a] is not None and got[a] == got[b]) == (truth[a] == truth[b]), (gps, a, b, got)


def test_capture_time_is_not_evidence():
    """The same evidence gives the same p whatever the capture times (the old penalty had
    no bound: two weeks took a p 0.95 pair to 0.01)."""
    m = grouping.PairModel()
    p = grouping.same_spot_probability(np.float64(0.8), 200, 60, 70, 0.4, m)
    assert 0.9 < p < 1.0
    assert not hasattr(m, "time_weight")


def test_mutual_best_bonus_needs_geometry_of_its_own():
    """Two photos whose best partner is each other, with no partner of their own in the
    batch: without inliers beyond chance the bonus does not lift them (the issue's wrong
    merge of two sites at p 0.17); with a little real geometry it does."""
    m = grouping.PairModel()
    n = 6
    cos = np.full((n, n), 0.55)
    cos[0, 1] = cos[1, 0] = 0.93  # the two look alike, nothing else does
    np.fill_diagonal(cos, 1.0)
    zeros = np.zeros((n, n))
    matches = np.full((n, n), 40.0)
    inl_h = np.full((n, n), 8.0)  # what chance gives among 40 matches: no excess anywhere
    inl = np.full((n, n), 15.0)
    P = grouping.same_spot_probability(cos, matches, inl_h, inl, zeros, m, batch=True)
    alone = grouping.same_spot_probability(cos, matches, inl_h, inl, zeros, m)
    assert P[0, 1] == alone[0, 1] < 0.5  # no bonus
    inl_f = inl.copy()
    inl_f[0, 1] = inl_f[1, 0] = 25.0  # 10 epipolar inliers beyond chance: some geometry
    P2 = grouping.same_spot_probability(cos, matches, inl_h, inl_f, zeros, m, batch=True)
    alone2 = grouping.same_spot_probability(cos, matches, inl_h, inl_f, zeros, m)
    assert P2[0, 1] > alone2[0, 1]


def test_one_machine_in_two_spots_does_not_join_them(tmp_path, pipeline):
    """The same "machine" (a textured patch of a third scene) in one photo of spot A (two
    photos) and in the only photo of spot B: the fast path joins B to A on that pair alone;
    the thorough pass finds that A's other photo does not show what the pair matched on, and
    keeps B apart. A third spot is left as it was."""
    for name, img in machine_in_two_spots().items():
        (tmp_path / name).write_bytes(jpeg(img))
    fast = pipeline.group_folder(tmp_path)
    got = {p.name: lab for p, lab in zip(fast.paths, fast.labels)}
    assert got["b0.jpg"] == got["a0.jpg"]  # what the thorough pass is for
    res = pipeline.group_folder(tmp_path, thorough="on")
    got = {p.name: lab for p, lab in zip(res.paths, res.labels)}
    assert got["a0.jpg"] == got["a1.jpg"] is not None and got["b0.jpg"] is None
    assert got["c0.jpg"] == got["c1.jpg"] == got["c2.jpg"] is not None
    names = [p.name for p in res.paths]
    assert [(names[i], names[j]) for i, j, *_ in res.result.discounted] == [("a0.jpg", "b0.jpg")]
    assert res.timings["thorough_s"] > 0
