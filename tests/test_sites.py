"""Splitting a folder into site sessions by GPS and capture time."""

from edge_app.engine.metadata import EARTH_RADIUS_M, PhotoMeta, haversine_m_arrays
import numpy as np
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from edge_app.engine import sessions
from edge_app.engine.sessions import place_by_similarity, split_sessions

SEOUL = (37.5665, 126.9780)
BUSAN = (35.1796, 129.0756)


def near(p, metres_north):
    return (p[0] + metres_north / 111_195.0, p[1], None)


def test_two_sites_by_gps():
    metas = [PhotoMeta(100.0 + i, near(SEOUL, 20 * i)) for i in range(4)] + \
            [PhotoMeta(50.0 + i, near(BUSAN, 10 * i)) for i in range(3)]
    assert split_sessions(metas, radius_m=300) == ([[4, 5, 6], [0, 1, 2, 3]], [])  # Busan photos were taken first


def test_a_walk_with_steps_under_the_radius_stays_one_session():
    metas = [PhotoMeta(float(i), near(SEOUL, 250 * i)) for i in range(5)]  # 1 km in 250 m steps
    assert split_sessions(metas, radius_m=300) == ([[0, 1, 2, 3, 4]], [])


def test_photos_without_gps_join_the_session_nearest_in_time():
    metas = [PhotoMeta(1000.0, near(SEOUL, 0)), PhotoMeta(1060.0, None),
             PhotoMeta(90_000.0, near(BUSAN, 0)), PhotoMeta(90_100.0, None)]
    assert split_sessions(metas, gap_s=3600) == ([[0, 1], [2, 3]], [])


def test_time_gaps_never_split_sessions():
    """Before and after of one spot, days apart: time alone never keeps them apart. Photos
    without GPS are placed by look (here: no GPS at all, one session)."""
    day = 86_400.0
    metas = [PhotoMeta(t) for t in (0.0, 600.0, 1200.0, 14 * day, 14 * day + 300.0)]
    assert split_sessions(metas, gap_s=4 * 3600) == ([], [0, 1, 2, 3, 4])
    # a GPS photo 14 days later at the same spot: one session by GPS, whatever the times
    metas = [PhotoMeta(0.0, near(SEOUL, 0)), PhotoMeta(14 * day, near(SEOUL, 30))]
    assert split_sessions(metas) == ([[0, 1]], [])
    # an "after" shot without GPS, 14 days after the located "before" shots: placed by look
    metas = [PhotoMeta(0.0, near(SEOUL, 0)), PhotoMeta(60.0, near(SEOUL, 10)), PhotoMeta(9e5, near(BUSAN, 0)),
             PhotoMeta(14 * day, None)]
    sessions, unplaced = split_sessions(metas)
    assert sessions == [[0, 1], [2]] and unplaced == [3]
    sim = np.eye(4)
    sim[3, 0] = sim[0, 3] = 0.8  # it shows the Seoul spot
    assert place_by_similarity(sessions, unplaced, np.linalg.cholesky(sim)) == [[0, 1, 3], [2]]


def test_photos_without_any_metadata_go_where_they_look_alike():
    metas = [PhotoMeta(0.0, near(SEOUL, 0)), PhotoMeta(10.0, near(SEOUL, 5)), PhotoMeta(), PhotoMeta(9e5, near(BUSAN, 0))]
    sessions, unplaced = split_sessions(metas)
    assert sessions == [[0, 1], [3]] and unplaced == [2]
    sim = np.eye(4)
    sim[2, 3] = sim[3, 2] = 0.9  # the stripped copy looks like the Busan photo
    assert place_by_similarity(sessions, unplaced, np.linalg.cholesky(sim)) == [[0, 1], [2, 3]]


def test_no_metadata_at_all_is_one_session():
    assert split_sessions([PhotoMeta()] * 4) == ([], [0, 1, 2, 3])
    assert place_by_similarity([], [0, 1, 2, 3], np.eye(4)) == [[0, 1, 2, 3]]  # embeddings: unit rows
    assert split_sessions([]) == ([], [])


def test_opensfm_sequences_split_by_gps(eval_root):
    from edge_app.engine.decode import decode_image
    from edge_app.engine.evaluate import EvalSet
    from edge_app.engine.metadata import read_meta

    es = EvalSet.load(eval_root / "opensfm_gps")
    metas = [read_meta(decode_image(es.path(f), 64).exif) for f in es.files]
    sessions, unplaced = split_sessions(metas, radius_m=300)
    assert unplaced == []
    got = sorted(sorted({es.groups[i] for i in s}) for s in sessions)
    assert got == [["berlin"], ["lund"]]


# -- GPS components: the all-pairs search and the k-d tree agree with SciPy over the haversine links

def reference(lat: np.ndarray, lon: np.ndarray, radius_m: float) -> list[int]:
    """Components of the graph of every pair within ``radius_m`` (haversine), by SciPy."""
    n = len(lat)
    i, j = np.triu_indices(n, 1)
    near = haversine_m_arrays(lat[i], lon[i], lat[j], lon[j]) <= radius_m
    g = coo_array((np.ones(int(near.sum())), (i[near], j[near])), shape=(n, n))
    return connected_components(g, directed=False)[1].tolist()


def sites(rng, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n photos around a few sites some hundred metres apart, some on the radius' edge."""
    centres = rng.uniform([-60, -170], [60, 170], (4, 2))
    k = rng.integers(0, 4, n)
    spread = rng.uniform(0, 700, n) / EARTH_RADIUS_M * 180 / np.pi
    angle = rng.uniform(0, 2 * np.pi, n)
    lat = centres[k, 0] + spread * np.sin(angle)
    lon = centres[k, 1] + spread * np.cos(angle) / np.cos(np.radians(centres[k, 0]))
    return lat, lon


def test_all_pairs_and_tree_agree_with_scipy(monkeypatch):
    rng = np.random.default_rng(11)
    for n in (1, 2, 9, 40, 300):
        for radius in (50.0, 300.0, 1000.0):
            lat, lon = sites(rng, n)
            want = reference(lat, lon, radius)
            assert sessions._gps_components(lat, lon, radius).tolist() == want
            monkeypatch.setattr(sessions, "ALL_PAIRS_UP_TO", 0)  # the k-d tree
            assert sessions._gps_components(lat, lon, radius).tolist() == want
            monkeypatch.undo()


def test_pair_exactly_on_the_radius():
    lat = np.array([45.0, 45.0, 45.0])
    lon = np.array([7.0, 7.001, 7.1])
    d = float(haversine_m_arrays(lat[0], lon[0], lat[1], lon[1]))
    assert sessions._gps_components(lat, lon, d).tolist() == [0, 0, 1]
    assert sessions._gps_components(lat, lon, np.nextafter(d, 0)).tolist() == [0, 1, 2]


def test_close_pairs_blocks_cover_every_pair(monkeypatch):
    rng = np.random.default_rng(2)
    xyz = rng.normal(size=(50, 3))
    monkeypatch.setattr(sessions, "CLOSE_BLOCK", 7)
    i, j = sessions._close_pairs_all(xyz, 1.5)
    ti, tj = sessions._close_pairs_tree(xyz, 1.5)
    assert sorted(zip(i.tolist(), j.tolist())) == sorted(zip(ti.tolist(), tj.tolist()))
    assert (i < j).all()
