"""The session path's pair maths (edge_app.engine.pairs) against the full-matrix rules."""

import numpy as np

from edge_app.engine.grouping import same_spot_probability


def test_sparse_pair_probabilities_equal_the_full_matrix(monkeypatch):
    """The session path lists p only for the pairs with evidence; each listed p is the full
    matrix's (mutual-best bonus included), and no likely pair is left out, also when each
    photo's partners by look are cut short (the rows are then recomputed)."""
    from edge_app.engine import pairs
    from edge_app.engine.config import Settings
    from edge_app.engine.vision.verify import PairScore

    rng = np.random.default_rng(3)
    n, d = 90, 12
    E = rng.normal(size=(n, d)) + np.repeat(rng.normal(size=(9, d)) * 2, 10, axis=0)  # 9 look-alike sets
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    lat = np.where(rng.random(n) < 0.5, 37.5 + rng.uniform(0, 0.01, n), np.nan)
    lon = np.where(np.isnan(lat), np.nan, 127.0 + rng.uniform(0, 0.01, n))
    t = np.where(rng.random(n) < 0.5, rng.uniform(0, 3e4, n), np.nan)
    ruled = rng.random(n) < 0.05
    photos = pairs.SessionPhotos(E, lat, lon, t, ruled)
    s = Settings()
    scores = {}
    for i in range(n):
        for j in rng.choice(n, 8, replace=False):
            if i != j:
                a, b = min(i, int(j)), max(i, int(j))
                same = a // 10 == b // 10
                m = int(rng.integers(20, 400))
                scores[(a, b)] = PairScore(m, int(m * 0.6 * same), int(m * 0.5 * same), 0.5, 0.6 * same, 0.7 * same)
    ev = np.zeros((4, n, n))
    for (a, b), sc in scores.items():
        ev[:, a, b] = ev[:, b, a] = (sc.matches, sc.inliers_h, sc.inliers_f, sc.coverage)
    full = same_spot_probability(E @ E.T, *ev, s.pair_model, photos.gps_m(np.arange(n)[:, None], np.arange(n)),
                                 ruled[:, None] | ruled[None, :], s.site_radius_m, batch=True)
    for top in (64, 3):
        monkeypatch.setattr(pairs, "TOP_BY_LOOK", top)
        _, look = pairs.scan(photos, s)
        known = pairs.pair_probabilities(photos, scores, look, s)
        assert np.allclose(known.p, full[known.i, known.j], rtol=0, atol=1e-12)
        listed = np.zeros((n, n), bool)
        listed[known.i, known.j] = listed[known.j, known.i] = True
        assert not ((full >= 0.5) & ~listed & ~np.eye(n, dtype=bool)).any()
        assert set(zip(known.i[known.verified].tolist(), known.j[known.verified].tolist())) == set(scores)
