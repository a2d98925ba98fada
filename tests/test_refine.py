"""The thorough pass (edge_app/engine/thorough.py) on stored evidence: what the cascade may change, the
band, the site app's add-only rule, the machine discount."""

import numpy as np

from edge_app.engine.config import Settings
from edge_app.engine.pairs import SessionPhotos
from edge_app.engine.group import group_pairs
from edge_app.engine.thorough import (SessionChecks, Support, Thorough, band_pairs, cascade_cost_s, cascade_mode,
                                     lone_links, machine_pairs)
from edge_app.engine.vision.cascade import CascadeScore
from edge_app.engine.vision.verify import PairScore


def two_spots_and_a_hard_pair():
    """Spot A = photos 0-2, spot B = 3-5 (strong geometry inside each), and photo 6, which
    shows spot A from far away: its look is close to A's, its geometry with A weak."""
    rng = np.random.default_rng(0)
    base = rng.normal(size=(2, 32))
    E = np.concatenate([base[0] + 0.3 * rng.normal(size=(3, 32)), base[1] + 0.3 * rng.normal(size=(3, 32)),
                        base[0] + 0.6 * rng.normal(size=(1, 32))])
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    n = len(E)
    photos = SessionPhotos(E, np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, bool))
    strong = PairScore(300, 200, 220, 0.7, 0.6, 0.6)
    weak = PairScore(40, 14, 12, 0.3, 0.05, 0.05)  # a few inliers beyond chance: undecided (p 0.17-0.22)
    none = PairScore(30, 5, 8, 0.1, 0.0, 0.0)

    def verify(pairs):
        out = {}
        for i, j in pairs:
            same = (i < 3 and j < 3) or (3 <= i < 6 and 3 <= j < 6)
            out[(i, j)] = strong if same else weak if (j == 6 and i < 3) else none
        return out

    return photos, verify


class FakeCascade:
    def __init__(self, link=(), review=()):
        self.link, self.review, self.asked = set(link), set(review), []

    def __call__(self, pairs):
        self.asked += pairs
        return {ij: CascadeScore("fake", links=ij in self.link, review=ij in self.review) for ij in pairs}


def test_the_cascade_only_adds_links_and_its_band_is_the_undecided_pairs():
    s = Settings()
    photos, verify = two_spots_and_a_hard_pair()
    fast, *_ = group_pairs(photos, verify, s)
    assert fast[6] is None and fast[0] == fast[1] == fast[2] != fast[3]
    one = SessionChecks(stronger=FakeCascade(link={(0, 6)}))
    labels, *_ = group_pairs(photos, verify, s, thorough=one)
    assert labels[6] is None  # one strong link does not carry a photo into a group of three
    fake = FakeCascade(link={(0, 6), (1, 6), (2, 6)})
    checks = SessionChecks(stronger=fake)
    labels, known, _, timings = group_pairs(photos, verify, s, thorough=checks)
    assert labels[6] == labels[0] and labels[3] != labels[0]
    assert sorted(checks.outcome.links) == [(0, 6), (1, 6), (2, 6)] and timings["thorough_cascade_links"] == 3
    assert (0, 1) not in fake.asked and (3, 4) not in fake.asked  # sure pairs are not undecided
    p = dict(zip(zip(known.i.tolist(), known.j.tolist()), known.p.tolist()))
    assert min(p[(0, 6)], p[(1, 6)], p[(2, 6)]) >= s.cascade_p


def test_the_cascade_skips_a_session_over_its_budget_and_flags_review_pairs():
    s = Settings()
    photos, verify = two_spots_and_a_hard_pair()
    fake = FakeCascade(link={(0, 6), (1, 6), (2, 6)})
    over = SessionChecks(stronger=fake, budget_s=1.0)  # 3 pairs over 4 photos: 1.97 s by count
    labels, *_ = group_pairs(photos, verify, s, thorough=over)
    assert labels[6] is None and not fake.asked and "budget" in over.outcome.skipped
    assert over.outcome.mode == "fast" and (over.outcome.undecided, over.outcome.undecided_photos) == (3, 4)
    assert "> budget 1 s" in over.outcome.reason
    flag = SessionChecks(stronger=FakeCascade(review={(0, 6)}))
    labels, *_ = group_pairs(photos, verify, s, thorough=flag)
    assert labels[6] is None and flag.outcome.review == [(0, 6)]


def look_alike_spots():
    """Spots A = photos 0-2 and B = 3-5 of one look (two facades of one street style): strong
    geometry inside each, a few inliers on two pairs across them, (2, 3) and (1, 4)."""
    rng = np.random.default_rng(1)
    E = rng.normal(size=32) + 0.35 * rng.normal(size=(6, 32))
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    photos = SessionPhotos(E, np.full(6, np.nan), np.full(6, np.nan), np.full(6, np.nan), np.zeros(6, bool))
    strong = PairScore(300, 200, 220, 0.7, 0.6, 0.6)
    weak = PairScore(40, 14, 12, 0.3, 0.05, 0.05)
    none = PairScore(30, 5, 8, 0.1, 0.0, 0.0)

    def verify(pairs):
        return {(i, j): strong if (i < 3) == (j < 3) else weak if (i, j) in ((2, 3), (1, 4)) else none
                for i, j in pairs}

    return photos, verify


def test_a_link_that_would_join_two_groups_on_one_pair_alone_is_flagged_not_linked():
    s = Settings()
    photos, verify = look_alike_spots()
    lone = SessionChecks(stronger=FakeCascade(link={(2, 3)}))
    labels, known, *_ = group_pairs(photos, verify, s, thorough=lone)
    assert labels == [0, 0, 0, 1, 1, 1] and lone.outcome.links == [] and lone.outcome.review == [(2, 3)]
    p = dict(zip(zip(known.i.tolist(), known.j.tolist()), known.p.tolist()))
    assert p[(2, 3)] < 0.5  # not raised to cascade_p
    two = SessionChecks(stronger=FakeCascade(link={(2, 3), (1, 4)}))  # two pairs across A and B: both stand
    group_pairs(photos, verify, s, thorough=two)
    assert sorted(two.outcome.links) == [(1, 4), (2, 3)] and two.outcome.review == []
    # a photo of no group joins one on a single link (the test above: photo 6 and spot A)


def test_lone_links_are_the_only_link_between_two_groups_with_a_weak_fast_p():
    labels = [0, 0, 1, 1, 2, 2, 3, 3, None]
    p = {(0, 2): 0.3, (1, 3): 0.2, (0, 4): 0.3, (2, 6): 0.8, (4, 8): 0.1}
    links = [(0, 2), (1, 3), (0, 4), (2, 6), (4, 8), (4, 5)]
    # groups 0 and 1 joined twice: both stand; 0 and 2 on (0, 4) alone; 1 and 3 on (2, 6)
    # alone too, but the fast path already gave it 0.8; photo 8 is in no group; (4, 5) is
    # inside one group
    assert lone_links(labels, links, lambda i, j: p.get((i, j), 0.0), 0.7) == {(0, 4)}


def test_band_pairs_order_and_limits():
    from edge_app.engine.pairs import KnownPairs

    s = Settings(cascade_max_pairs=2)
    E = np.eye(4)
    photos = SessionPhotos(E, np.full(4, np.nan), np.full(4, np.nan), np.full(4, np.nan), np.zeros(4, bool))
    known = KnownPairs(np.array([0, 0, 1, 2]), np.array([1, 2, 3, 3]), np.array([0.95, 0.3, 0.6, 0.05]),
                       np.ones(4, bool))
    labels = [0, 0, None, 1]
    # (0, 1) is sure, (2, 3) too weak; (1, 3) ungrouped with p 0.6 comes before (0, 2) at 0.3
    assert band_pairs(photos, labels, known, s) == [(1, 3), (0, 2)]
    assert band_pairs(photos, labels, known, s.replace(cascade_max_pairs=1)) == [(1, 3)]


def test_machine_pairs_are_photos_that_hang_on_one_link():
    from edge_app.engine.pairs import KnownPairs

    # group 0 = photos 0, 1, 2, 3; photo 3 is linked to photo 0 only
    pairs = {(0, 1): 0.99, (0, 2): 0.98, (1, 2): 0.97, (0, 3): 0.99, (1, 3): 0.02, (2, 3): 0.03}
    known = KnownPairs(*(np.array(x) for x in zip(*[(i, j, p) for (i, j), p in pairs.items()])),
                       np.ones(len(pairs), bool))
    got = machine_pairs([0, 0, 0, 0], known, 0.5)
    assert got == [(3, 0, [1, 2])]
    s = Settings()
    machine = Support(inliers=80, supported=2, seen=300, keypoints=1000, area=0.15)
    view = Support(inliers=80, supported=30, seen=300, keypoints=1000, area=0.15)  # the mates see it too
    wide = Support(inliers=80, supported=2, seen=300, keypoints=1000, area=0.6)  # a view only two photos share
    blind = Support(inliers=80, supported=0, seen=5, keypoints=1000, area=0.15)  # the mates see nothing of b
    assert machine.rests_on_one_shot(s)
    assert not view.rests_on_one_shot(s) and not wide.rests_on_one_shot(s) and not blind.rests_on_one_shot(s)


def test_the_site_app_never_lowers_a_probability():
    """add_only: a link that rests on a machine is flagged for review, not cut; and no pair
    ends below its p of the fast grouping."""
    s = Settings()
    photos, verify = two_spots_and_a_hard_pair()

    def verify_machine(pairs):
        """Spot A is photos 0 and 1 only (photo 2 shows nothing they do); photo 6 joins A on one
        strong pair with photo 0 (a machine in both)."""
        out = verify(pairs)
        for i, j in out:
            if 2 in (i, j) and not (3 <= i < 6 or 3 <= j < 6):
                out[(i, j)] = PairScore(30, 5, 8, 0.1, 0.0, 0.0)
            if (i, j) == (0, 6):
                out[(i, j)] = PairScore(300, 200, 220, 0.7, 0.2, 0.2)
        return out

    fast, known_fast, *_ = group_pairs(photos, verify_machine, s)
    assert fast[6] == fast[0]

    def support(a, b, mates):
        if {a, b} == {0, 6}:  # the machine: photo 1 does not show it
            return Support(inliers=80, supported=1, seen=300, keypoints=1000, area=0.15)
        return Support(inliers=200, supported=150, seen=300, keypoints=1000, area=0.6)

    cut = SessionChecks(support=support)
    labels, *_ = group_pairs(photos, verify_machine, s, thorough=cut)
    assert labels[6] is None and [d[:2] for d in cut.outcome.discounted] == [(0, 6)]
    keep = SessionChecks(support=support, add_only=True)
    labels, known, *_ = group_pairs(photos, verify_machine, s, thorough=keep)
    assert labels[6] == labels[0] and keep.outcome.review == [(0, 6)]
    before = dict(zip(zip(known_fast.i.tolist(), known_fast.j.tolist()), known_fast.p.tolist()))
    after = dict(zip(zip(known.i.tolist(), known.j.tolist()), known.p.tolist()))
    assert all(after[ij] >= p - 1e-12 for ij, p in before.items())


def test_the_pass_gives_way_when_asked_and_changes_nothing():
    """The site app asks the pass to stop when new photos arrive: it raises Interrupted
    between its steps, before the cascade is asked anything."""
    import pytest

    from edge_app.engine.thorough import Interrupted

    s = Settings()
    photos, verify = two_spots_and_a_hard_pair()
    fake = FakeCascade(link={(0, 6), (1, 6), (2, 6)})
    asked = []

    def new_photos_wait():
        asked.append(1)
        return True

    with pytest.raises(Interrupted):
        group_pairs(photos, verify, s, thorough=SessionChecks(stronger=fake, should_stop=new_photos_wait))
    assert asked and not fake.asked


def test_the_cascades_mode_is_decided_from_counts_only():
    """The same band gives the same mode whatever is cached or measured (issue 20): photos x
    cascade_photo_s + pairs x cascade_pair_s against the budget, every photo counted as new."""
    s = Settings()
    band = [(0, 6), (1, 6), (2, 6)]
    assert cascade_cost_s(band, s) == 4 * s.cascade_photo_s + 3 * s.cascade_pair_s
    assert cascade_mode(band, s, 2.0)[0] and not cascade_mode(band, s, 1.0)[0]
    assert cascade_mode(band, s, None) == (True, "3 undecided pairs over 4 photos, always checked (thorough pass on)")
    assert cascade_mode([], s, 0.0) == (True, "no undecided pair")
    assert not cascade_mode(band, s.replace(cascade_photo_s=0.6), 2.0)[0]


class LoadedCascade:
    """Stands in for :class:`edge_app.engine.thorough.Cascade` (what a lazy loader returns)."""

    def __init__(self, link):
        self.fake = FakeCascade(link=link)

    def check(self, analyses, pairs, should_stop=None):
        return self.fake(pairs)


def test_a_lazy_cascade_is_loaded_only_when_its_session_runs_it():
    s = Settings()
    photos, verify = two_spots_and_a_hard_pair()
    loads = []

    def load():
        loads.append(1)
        return LoadedCascade({(0, 6), (1, 6), (2, 6)})

    over = Thorough(load, budget_s=1.0, machines=False)
    labels, *_ = group_pairs(photos, verify, s, thorough=over.for_session([]))
    assert labels[6] is None and not loads and over.cascade is None
    assert over.summary() | {"reason": ""} == {"mode": "fast", "reason": "", "band_pairs": 3, "band_photos": 4,
                                               "cost_s": 1.97, "budget_s": 1.0, "sessions": 1,
                                               "cascade_loaded": False, "cascade_links": 0}
    fits = Thorough(load, budget_s=2.0, machines=False)
    labels, *_ = group_pairs(photos, verify, s, thorough=fits.for_session([]))
    labels2, *_ = group_pairs(photos, verify, s, thorough=fits.for_session([]))  # a second session
    assert labels[6] == labels[0] == labels2[6] and len(loads) == 1  # loaded once, on first use
    assert fits.summary()["mode"] == "thorough" and fits.summary()["cascade_links"] == 6
    mixed = Thorough(load, budget_s=2.0, machines=False)
    group_pairs(photos, verify, s, thorough=mixed.for_session([]))
    group_pairs(photos, verify, s.replace(cascade_photo_s=1.0), thorough=mixed.for_session([]))
    assert mixed.summary()["mode"] == "mixed" and mixed.summary()["reason"].startswith("session 1 (thorough): ")
    gone = Thorough(lambda: None, budget_s=None, machines=False)  # the models could not be loaded
    labels, *_ = group_pairs(photos, verify, s, thorough=gone.for_session([]))
    assert labels[6] is None and gone.summary()["mode"] == "fast"
    assert "could not be loaded" in gone.summary()["reason"]
