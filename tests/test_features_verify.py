"""Local features and geometric verification on synthetic scenes under known homographies."""

import numpy as np
import pytest

from edge_app.engine.vision.features import XFeatExtractor, extract_features, to_gray, xfeat_input
from edge_app.engine.vision.verify import grid_coverage, match_descriptors, verify_pair
from scenes import random_homography, scene, view


@pytest.fixture(scope="module")
def xfeat():
    return XFeatExtractor(max_side=640)


def two_views(seed=1, strength=0.06, occluder=None):
    rng = np.random.default_rng(seed)
    base = scene(seed)
    size = (base.shape[1], base.shape[0])
    a = view(base, random_homography(rng, size, strength))
    b = view(base, random_homography(rng, size, strength), gain=0.75, occluder=occluder)
    return a, b


@pytest.mark.parametrize("method", ["orb", "sift", "xfeat"])
def test_same_scene_verifies_and_other_scene_does_not(method, xfeat):
    a, b = two_views(1)
    other = view(scene(99), np.eye(3))

    def feats(img):
        g = to_gray(img)
        return xfeat(g) if method == "xfeat" else extract_features(g, method=method)

    fa, fb, fo = feats(a), feats(b), feats(other)
    assert fa.size == (640, 480) and fa.xy.dtype == np.float32 and len(fa) > 200
    same = verify_pair(fa, fb)
    diff = verify_pair(fa, fo)
    assert same.inliers_h > 100 and same.coverage > 0.5 and same.inlier_ratio > 0.5
    assert diff.inliers_h < 20 and diff.coverage < 0.3
    assert same.inliers_h > 5 * diff.inliers_h


def test_transient_mask_removes_keypoints_on_the_occluder(xfeat):
    a, _ = two_views(2)
    g = to_gray(a)
    mask = np.zeros((120, 160), np.float32)
    mask[:, :80] = 1.0  # left half is a "worker"
    fa = xfeat(g, mask=mask)
    assert len(fa) > 50 and fa.xy[:, 0].min() >= 320 - 8
    orb = extract_features(g, mask=mask, method="orb")
    assert orb.xy[:, 0].min() >= 320 - 8


def test_coverage_counts_only_cells_with_keypoints(xfeat):
    # b has a flat occluder over its left part: no keypoints there, so b's coverage stays
    # high, while a (which sees that part) has inliers only on its right side.
    a, b = two_views(3, occluder=(0, 0, 400, 480))
    sc = verify_pair(xfeat(to_gray(a)), xfeat(to_gray(b)))
    assert sc.inliers_h > 40
    assert sc.coverage_b > 0.8 and sc.coverage_a < 0.6 and sc.coverage == sc.coverage_a


def test_xfeat_input_is_multiple_of_32_and_never_upscaled():
    x, sx, sy = xfeat_input(np.zeros((479, 641), np.uint8), 640)
    assert x.shape == (1, 1, 448, 640) and sx == pytest.approx(641 / 640) and sy == pytest.approx(479 / 448)
    x, _, _ = xfeat_input(np.zeros((100, 150), np.uint8), 640)
    assert x.shape == (1, 1, 96, 128)


def test_grid_coverage():
    size = (100, 100)
    all_xy = np.array([[x + 5, y + 5] for x in range(0, 100, 10) for y in range(0, 100, 10)], np.float32)
    half = all_xy[all_xy[:, 0] < 50]
    assert grid_coverage(all_xy, all_xy, size, cells=10) == 1.0
    assert grid_coverage(half, all_xy, size, cells=10) == pytest.approx(0.5)
    assert grid_coverage(half[:0], all_xy, size) == 0.0


def test_too_few_features_give_an_empty_score():
    blank = np.full((480, 640), 128, np.uint8)
    fa = extract_features(blank, method="orb")
    assert len(fa) == 0
    assert match_descriptors(fa, fa).shape == (0, 2)
    assert verify_pair(fa, fa).inliers_f == 0


def test_verification_takes_its_knobs_from_one_config(xfeat):
    from edge_app.engine.config import Settings, VerifyConfig
    from edge_app.engine.vision.verify import verify_two_step

    a, b = two_views(3)
    fa, fb = xfeat(to_gray(a)), xfeat(to_gray(b))
    assert Settings().verify == VerifyConfig()
    loose, strict = verify_pair(fa, fb), verify_pair(fa, fb, VerifyConfig(min_descriptor_similarity=0.95))
    assert strict.matches < loose.matches
    # an easy pair is decided by the coarse step (its best keypoints only)
    cfg = VerifyConfig(coarse_keypoints=200)
    coarse = verify_pair(fa.head(200), fb.head(200), cfg, coarse=True)
    assert coarse is not None and coarse.inliers_h >= cfg.coarse_accept_inliers
    assert verify_two_step(fa, fb, cfg) == coarse
    # a pair left undecided by the coarse step is verified again with every keypoint
    hard = VerifyConfig(coarse_keypoints=200, coarse_accept_inliers=10_000, coarse_reject_matches=0)
    assert verify_pair(fa.head(200), fb.head(200), hard, coarse=True) is None
    assert verify_two_step(fa, fb, hard) == verify_pair(fa, fb, hard)


def unit(v):
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def test_a_match_on_a_repeated_pattern_is_an_inlier_but_not_distinct():
    """Photo b shows a row of four identical windows; photo a shows one of them and a door.
    The window's match is ambiguous (three other windows of b look just as much like it);
    the door's is distinct. A twin detected next to the matched point does not count."""
    from edge_app.engine.vision.features import LocalFeatures
    from edge_app.engine.vision.verify import distinct_matches

    rng = np.random.default_rng(0)
    window, door, other = unit(rng.normal(size=(3, 64)))
    noise = lambda: 0.02 * rng.normal(size=64)  # noqa: E731
    a = LocalFeatures(np.array([[100, 100], [300, 200]], np.float32), unit([window, door]), (640, 480), "xfeat")
    b = LocalFeatures(np.array([[50, 90], [200, 90], [350, 90], [500, 90], [320, 210], [322, 212], [600, 400]],
                               np.float32),
                      unit([window + noise(), window + noise(), window + noise(), window + noise(),
                            door + noise(), door + noise(), other]), (640, 480), "xfeat")
    m = np.array([[0, 1], [1, 4]])
    assert distinct_matches(a, b, m, margin=0.05, radius=8.0).tolist() == [False, True]
    # the door's near twin two pixels away is the same point seen twice, not a repeat
    assert distinct_matches(a, b, m, margin=0.05, radius=1.0).tolist() == [False, False]


def test_verification_can_count_distinct_inliers_and_a_repeated_facade_has_few(xfeat):
    """Two views of one textured scene: most inliers are distinct. A scene tiled from one
    patch (a facade of identical windows) against a shifted view of itself: many inliers
    agree with one homography, far fewer of them are distinct."""
    from edge_app.engine.config import VerifyConfig

    counting = VerifyConfig(measure_distinct=True)
    a, b = two_views(3)
    fa, fb = xfeat(to_gray(a)), xfeat(to_gray(b))
    assert verify_pair(fa, fb).distinct == -1  # not measured by default (docs/quality.md)
    same = verify_pair(fa, fb, counting)
    assert same.distinct > 0.5 * max(same.inliers_h, same.inliers_f)
    tile = scene(5)[:120, :160]
    facade = np.tile(tile, (5, 5, 1))[:480, :640]
    shifted = np.tile(tile, (5, 5, 1))[37:517, 53:693]
    rep = verify_pair(xfeat(to_gray(facade)), xfeat(to_gray(shifted)), counting)
    inliers = max(rep.inliers_h, rep.inliers_f)
    assert inliers > 30 and rep.distinct < 0.3 * inliers
