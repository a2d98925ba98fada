"""Clustering maths on small hand-made probability matrices."""

import numpy as np
import pytest
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components as scipy_components

from edge_app.engine.grouping import (PairModel, agglomerate, assign_photo, component_roots, connected_components,
                                      group_members, pair_features, relabel_by_time, same_spot_probability)


def block_matrix(sizes, inside=0.9, outside=0.05):
    n = sum(sizes)
    P = np.full((n, n), outside)
    start = 0
    for s in sizes:
        P[start : start + s, start : start + s] = inside
        start += s
    np.fill_diagonal(P, 1.0)
    return P


def test_clear_blocks_become_groups_and_a_loner_stays_alone():
    P = block_matrix([3, 4, 1])
    labels = agglomerate(P, threshold=0.5)
    assert labels == [0, 0, 0, 1, 1, 1, 1, None]


def test_chain_through_the_during_shot_is_kept():
    # before (0) and after (2) do not match each other, both match the during shot (1)
    P = np.eye(3)
    P[0, 1] = P[1, 0] = 0.95
    P[1, 2] = P[2, 1] = 0.95
    P[0, 2] = P[2, 0] = 0.2
    assert agglomerate(P, threshold=0.5) == [0, 0, 0]


def test_one_ambiguous_photo_does_not_glue_two_spots():
    P = block_matrix([4, 4, 1], inside=0.95, outside=0.02)
    amb = 8  # matches both spots well
    P[amb, :8] = P[:8, amb] = 0.8
    labels = agglomerate(P, threshold=0.5)
    assert len({labels[i] for i in range(4)}) == 1
    assert len({labels[i] for i in range(4, 8)}) == 1
    assert labels[0] != labels[4]


def test_locked_groups_never_merge_and_keep_their_members():
    P = block_matrix([3, 3], inside=0.9, outside=0.85)  # free clustering would merge all
    assert len(set(agglomerate(P, 0.5))) == 1
    locked = ["A", "A", "A", "B", "B", "B"]
    labels = agglomerate(P, 0.5, locked=locked)
    assert labels[:3] == [labels[0]] * 3 and labels[3:] == [labels[3]] * 3 and labels[0] != labels[3]


def test_a_locked_singleton_is_kept_and_free_photos_can_join_locked_groups():
    P = block_matrix([3, 1], inside=0.9, outside=0.1)
    labels = agglomerate(P, 0.5, locked=["A", None, None, "B"], min_size=2)
    assert labels[0] == labels[1] == labels[2]
    assert labels[3] is not None and labels[3] != labels[0]


def test_cannot_link_keeps_separated_photos_apart_and_changes_nothing_else():
    """Issue 20: photos a person separated never end up in one group again, neither directly
    nor through a third photo; the rest groups as before; no cannot-link, same answer."""
    P = block_matrix([3, 3], inside=0.9, outside=0.85)  # free clustering merges all
    none = (np.zeros(0, np.intp), np.zeros(0, np.intp))
    assert agglomerate(P, 0.5, cannot=none) == agglomerate(P, 0.5) == [0] * 6
    labels = agglomerate(P, 0.5, cannot=(np.array([0]), np.array([4])))
    assert labels[:3] == [labels[0]] * 3 and labels[3:] == [labels[3]] * 3 and labels[0] != labels[3]
    # through a third photo: 0 and 1 apart, 2 matches both
    Q = np.eye(3)
    Q[0, 2] = Q[2, 0] = Q[1, 2] = Q[2, 1] = 0.95
    Q[0, 1] = Q[1, 0] = 0.9
    assert agglomerate(Q, 0.5) == [0, 0, 0]
    got = agglomerate(Q, 0.5, cannot=(np.array([1]), np.array([0])))
    assert got[0] != got[1] and got[2] in (got[0], got[1])
    # a pair inside one locked group is the person's own grouping: kept
    assert agglomerate(Q, 0.5, locked=["A", "A", None], cannot=(np.array([0]), np.array([1]))) == [0, 0, 0]
    # random matrices: without cannot-link pairs the answer is the old one
    rng = np.random.default_rng(3)
    for _ in range(20):
        R = rng.random((9, 9))
        R = (R + R.T) / 2
        assert agglomerate(R, 0.5, cannot=none) == agglomerate(R, 0.5)
        lab = agglomerate(R, 0.5, cannot=(np.array([0, 3]), np.array([5, 7])))
        assert (lab[0] is None or lab[0] != lab[5]) and (lab[3] is None or lab[3] != lab[7])


def test_min_size_turns_small_groups_into_unassigned():
    P = block_matrix([2, 3])
    assert agglomerate(P, 0.5, min_size=3)[:2] == [None, None]


def test_empty_input():
    assert agglomerate(np.zeros((0, 0))) == []


def test_assign_photo_to_best_group_or_partner_or_nothing():
    labels = [0, 0, 1, 1, None]
    assert assign_photo(np.array([0.9, 0.8, 0.1, 0.2, 0.1]), labels, 0.5)[:2] == (0, None)
    assert assign_photo(np.array([0.1, 0.2, 0.1, 0.1, 0.9]), labels, 0.5)[:2] == (None, 4)
    group, partner, score = assign_photo(np.array([0.1, 0.2, 0.3, 0.1, 0.2]), labels, 0.5)
    assert group is None and partner is None and score == pytest.approx(0.2)


def test_probability_rises_with_evidence_and_falls_with_distance():
    m = PairModel()
    weak = (np.array(0.5), np.array(40), np.array(9), np.array(16), np.array(0.05))
    strong = (np.array(0.8), np.array(400), np.array(300), np.array(320), np.array(0.7))
    assert same_spot_probability(*strong, m) > 0.9 > 0.1 > same_spot_probability(*weak, m)
    near = same_spot_probability(*strong, m, gps_dist_m=np.array(10.0))
    far = same_spot_probability(*strong, m, gps_dist_m=np.array(2000.0))
    unknown = same_spot_probability(*strong, m, gps_dist_m=np.array(np.nan))
    assert far < near <= unknown
    # beyond the site radius, or with a photo that can never be a spot: no chance at all
    assert same_spot_probability(*strong, m, gps_dist_m=np.array(400.0), radius_m=300.0) == 0.0
    assert same_spot_probability(*strong, m, ruled_out=np.array(True)) == 0.0


def test_one_function_for_batches_and_single_pairs():
    # the batch form adds the mutual-best bonus; without it, each entry is the pair's own
    rng = np.random.default_rng(1)
    n = 6
    ev = [rng.uniform(0, 1, (n, n)), rng.integers(0, 200, (n, n)), rng.integers(0, 80, (n, n)),
          rng.integers(0, 90, (n, n)), rng.uniform(0, 1, (n, n))]
    ev = [(e + e.T) / 2 for e in ev]
    ev[0][0, 1] = ev[0][1, 0] = 0.95  # 0 and 1: each other's clear best
    alone = same_spot_probability(*ev, PairModel())
    P = same_spot_probability(*ev, PairModel(), batch=True)
    assert np.allclose(P, P.T) and np.all(np.diag(P) == 1.0)
    assert P[0, 1] > alone[0, 1]
    assert np.all(P[~np.eye(n, dtype=bool)] >= alone[~np.eye(n, dtype=bool)])


def test_random_matches_earn_no_evidence():
    # 130 tentative matches of which 20 fit an F and 10 an H: what chance gives
    x = pair_features(np.array(0.6), np.array(130), np.array(10), np.array(20), np.array(0.2))
    assert x[2] == 0.0 and x[3] == 0.0


def test_relabel_by_capture_time_and_members():
    labels = relabel_by_time([0, 1, 1, None, 0], [50.0, 10.0, 20.0, 5.0, None])
    assert labels == [1, 0, 0, None, 1]
    assert group_members(labels) == {1: [0, 4], 0: [1, 2]}


def test_mutual_best_bonus_only_for_clear_mutual_pairs():
    from edge_app.engine.grouping import mutual_best_bonus

    Z = np.full((4, 4), -8.0)
    Z[0, 1] = Z[1, 0] = -2.0  # each other's best by a wide margin
    Z[2, 3] = Z[3, 2] = -7.8  # mutual best but barely above the rest, and below the floor
    B = mutual_best_bonus(Z, weight=2.0, margin=1.0)
    assert B[0, 1] == B[1, 0] == pytest.approx(2.0 * 3.0)  # capped excess
    assert B[2, 3] == 0.0 and B[0, 2] == 0.0


def test_centred_cosine_equals_cosine_of_mean_free_embeddings():
    from edge_app.engine.grouping import centre_cosine

    rng = np.random.default_rng(0)
    E = rng.normal(size=(6, 16)) + 3.0  # all share a strong common component
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    D = E - E.mean(0)
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    assert np.allclose(centre_cosine(E @ E.T), D @ D.T)
    assert (E @ E.T).min() > 0.8 and (D @ D.T)[np.triu_indices(6, 1)].mean() < 0.1
    small = (E @ E.T)[:2, :2]
    assert np.array_equal(centre_cosine(small), small)


def test_sampled_linkage_keeps_two_spots_joined_by_one_pair_apart_at_a_small_cost():
    from edge_app.engine.grouping import agglomerate_pairs

    # two spots of 40 photos, each a chain of near duplicates; one false strong pair joins them
    n = 80
    pi, pj, p = [], [], []
    for base in (0, 40):
        for k in range(39):
            pi.append(base + k)
            pj.append(base + k + 1)
            p.append(0.95)
    pi.append(39)
    pj.append(40)
    p.append(0.9)
    asked = []

    def more(qs):
        asked.extend(qs)
        return np.array([0.9 if (a < 40) == (b < 40) else 0.02 for a, b in qs])

    labels = agglomerate_pairs(n, np.array(pi), np.array(pj), np.array(p), more=more, evidence=12)
    assert len(set(labels[:40])) == 1 and len(set(labels[40:])) == 1 and labels[0] != labels[40]
    assert len(asked) < 12 * n  # linear in the photos, not 40 x 40 per merge
    assert len(set(asked)) == len(asked)  # never the same pair twice
    # without more evidence the false pair would glue the spots
    glued = agglomerate_pairs(n, np.array(pi), np.array(pj), np.array(p))
    assert len(set(glued)) == 1


def scipy_labels(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    g = coo_array((np.ones(len(i)), (i, j)), shape=(n, n))
    return scipy_components(g, directed=False)[1]


def test_same_labels_as_scipy_on_random_graphs():
    rng = np.random.default_rng(3)
    for _ in range(300):
        n = int(rng.integers(1, 60))
        e = int(rng.integers(0, 2 * n))
        i, j = rng.integers(0, n, e), rng.integers(0, n, e)
        assert connected_components(n, i, j).tolist() == scipy_labels(n, i, j).tolist()


def test_long_chains_in_any_order():
    """A path visited from its far end and shuffled: many rounds of hooking."""
    rng = np.random.default_rng(5)
    for n in (2, 17, 500):
        perm = rng.permutation(n)
        i, j = perm[:-1], perm[1:]
        order = rng.permutation(n - 1)
        assert connected_components(n, i[order], j[order]).tolist() == [0] * n
        assert connected_components(n + 2, j[::-1], i[::-1]).tolist() == [0] * n + [1, 2]


def test_numbered_by_lowest_node():
    # components {0, 4}, {1}, {2, 3, 5}: numbered 0, 1, 2 by their lowest nodes 0, 1, 2
    i, j = np.array([5, 4, 3]), np.array([3, 0, 2])
    assert component_roots(6, i, j).tolist() == [0, 1, 2, 2, 0, 2]
    assert connected_components(6, i, j).tolist() == [0, 1, 2, 2, 0, 2]


def test_no_edges_and_no_nodes():
    none = np.zeros(0, np.intp)
    assert connected_components(4, none, none).tolist() == [0, 1, 2, 3]
    assert connected_components(0, none, none).tolist() == []
    assert connected_components(3, np.array([1, 1]), np.array([1, 1])).tolist() == [0, 1, 2]
