"""The stronger check for the undecided band (edge_app/engine/vision/cascade.py, docs/cascade.md).

Synthetic scenes (tests/scenes.py) always; a few real pairs when ../shared/eval exists;
ALIKED + LightGlue from the shipped models (models/, optional entries of the manifest).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge_app.engine.vision import cascade
from edge_app.engine.vision.cascade import (
    CascadeRule,
    MultiScaleXFeat,
    geometry_evidence,
    keypoint_support,
    lightglue_matches,
    neighbour_consistency,
    stronger_evidence,
    supported_inliers,
)
from scenes import scene, views_of

EVAL = Path(os.environ.get("EDGE_APP_EVAL", Path(__file__).resolve().parents[2] / "shared" / "eval"))


@pytest.fixture(scope="module")
def ms():
    return MultiScaleXFeat(threads=1)


def test_same_scene_links_and_other_scene_does_not(ms):
    a, b = views_of(3, 2)
    c = views_of(4, 1)[0]
    fa, fb, fc = ms.features(a), ms.features(b), ms.features(c)
    assert len(fa.views) == 2 and fa.size == (640, 480)
    same = stronger_evidence(fa, fb, ms)
    other = stronger_evidence(fa, fc, ms)
    assert same.links and not same.review
    assert same.geometry.inliers > 100 and same.geometry.centre >= 0.5
    assert not other.links and other.excess < same.excess / 10
    assert same.as_dict()["geometry"]["inliers"] == same.geometry.inliers


def test_zoomed_view_is_matched_through_the_centre_crop(ms):
    """A 3x close-up of the centre against the whole view: the zoomed crop view finds it."""
    import cv2

    wide = views_of(5, 1)[0]
    h, w = wide.shape[:2]
    crop = wide[h // 3: 2 * h // 3, w // 3: 2 * w // 3]
    close = cv2.resize(crop, (w, h), interpolation=cv2.INTER_CUBIC)
    one = MultiScaleXFeat(zooms=(1.0,), threads=1)
    s1 = stronger_evidence(one.features(wide), one.features(close), one)
    s2 = stronger_evidence(ms.features(wide), ms.features(close), ms)
    assert s2.geometry.inliers > s1.geometry.inliers


def test_match_in_one_corner_is_review_not_link():
    """Many inliers that hold only a corner of one photo (a building behind the subject)."""
    rng = np.random.default_rng(0)
    size = (640, 480)
    pa = np.column_stack([rng.uniform(480, 640, 300), rng.uniform(0, 160, 300)])  # top-right corner of A
    pb = np.column_stack([rng.uniform(40, 600, 300), rng.uniform(40, 440, 300)])   # all of B
    # B = A's corner magnified: a similarity, so the points fit one geometry exactly
    pb = (pa - [480, 0]) * 3.5 + [60, 20]
    g = geometry_evidence(pa, pb, size, size)
    assert g.inliers >= 250
    assert g.centre == 0.0 and g.centre_dist > 0.1
    assert g.area_min < 0.1 < g.area_max

    class Fixed:
        kind = "xfeat-ms"

        def match(self, a, b):
            return pa, pb

    f = cascade.PhotoFeatures(size, [])
    sc = stronger_evidence(f, f, Fixed())
    assert sc.review and not sc.links


def test_geometry_evidence_of_a_full_frame_match():
    rng = np.random.default_rng(1)
    pa = rng.uniform([0, 0], [640, 480], (400, 2))
    pb = pa * 0.9 + [30, 20]
    g = geometry_evidence(pa, pb, (640, 480), (640, 480))
    assert g.inliers >= 390 and g.coverage > 0.8 and g.centre == 1.0 and g.centre_dist == 0.0
    assert g.consistent >= 390 and g.consistency > 0.9
    assert g.rotation_deg == g.rotation_deg  # not NaN
    assert geometry_evidence(pa[:5], pb[:5], (640, 480), (640, 480)).inliers == 0


def test_neighbour_consistency():
    rng = np.random.default_rng(2)
    p = rng.uniform(0, 500, (200, 2))
    assert neighbour_consistency(p, p * 1.3 + 7).mean() == 1.0
    assert neighbour_consistency(p, p[rng.permutation(200)]).mean() < 0.2
    assert len(neighbour_consistency(p[:5], p[:5])) == 5


def test_lightglue_matches_mutual_and_threshold():
    s = np.full((4, 5), -20.0)
    s[0, 1] = np.log(0.9)
    s[1, 1] = np.log(0.5)    # row 1's best is column 1, but column 1's best is row 0: not mutual
    s[2, 3] = np.log(0.05)   # mutual but below the 0.1 threshold
    m, c = lightglue_matches(s)
    assert m.tolist() == [[0, 1]] and np.isclose(c[0], 0.9)
    assert lightglue_matches(np.zeros((1, 1)))[0].shape == (0, 2)


def test_a_machine_in_two_spots_is_discounted_by_support(ms):
    """The same "excavator" pasted into photos of two different scenes: many inliers between
    them, none supported by the other photos of each photo's own spot."""
    from edge_app.engine.vision.features import XFeatExtractor, to_gray

    x = XFeatExtractor(threads=1)
    machine = scene(99, (200, 150))
    spot_a, spot_b = views_of(10, 3), views_of(11, 3)
    a0, b0 = spot_a[0].copy(), spot_b[0].copy()
    a0[300:450, 60:260] = machine
    b0[280:430, 380:580] = machine
    fa, fb = x(to_gray(a0)), x(to_gray(b0))
    mates_a = [x(to_gray(v)) for v in spot_a[1:]]
    mates_b = [x(to_gray(v)) for v in spot_b[1:]]
    s = supported_inliers(fa, fb, mates_a, mates_b)
    assert s.inliers >= 30
    assert s.supported <= 0.2 * s.inliers
    sup = keypoint_support(fa, mates_a)
    on_machine = (fa.xy[:, 0] >= 60) & (fa.xy[:, 0] < 260) & (fa.xy[:, 1] >= 300) & (fa.xy[:, 1] < 450)
    assert np.median(sup[~on_machine]) >= 1 and np.median(sup[on_machine]) == 0
    # the static scene of one spot keeps its support
    s_same = supported_inliers(fa, mates_a[0], [mates_a[1]], [mates_a[1]])
    assert s_same.supported >= 0.5 * s_same.inliers  # one mate each: a strict test of support


def test_no_torch_at_run_time():
    code = ("import sys, edge_app.engine.vision.cascade as c; c.MultiScaleXFeat(threads=1); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_rule_defaults_are_the_documented_ones():
    assert (CascadeRule().min_excess, CascadeRule().min_centre, CascadeRule().min_area) == (27.0, 0.375, 0.0)
    assert cascade.RULES["aliked-lightglue-int8"] == CascadeRule(27.0, 0.375, 0.17)
    assert cascade.RULES["aliked-lightglue"] == CascadeRule(32.0, 0.375, 0.17)
    assert set(cascade.CHANCE) == set(cascade.RULES) == {"xfeat-ms", "aliked-lightglue", "aliked-lightglue-int8"}


class _Matches:
    """A matcher that gives fixed matches (the second photo: the first scaled and shifted)."""

    kind = "aliked-lightglue-int8"

    def __init__(self, pts: np.ndarray):
        self.pts = pts

    def match(self, a, b):
        noise = np.random.default_rng(0).normal(0, 0.3, self.pts.shape)
        return self.pts, self.pts * 0.9 + np.array([20.0, 10.0]) + noise


class _Frame:
    def __init__(self, size):
        self.size = size


def test_a_strong_match_on_a_small_part_of_both_photos_is_flagged_not_linked():
    """Issue 20: two look-alike facades match on one repeated window bay: hundreds of
    inliers through the photos' centres, but their hull covers a sliver of each photo. The
    same number of inliers spread over the view links."""
    rng = np.random.default_rng(1)
    w, h = 640, 480
    spread = np.c_[rng.uniform(20, w - 20, 300), rng.uniform(20, h - 20, 300)]
    band = np.c_[rng.uniform(0.25 * w, 0.75 * w, 300), rng.uniform(0.45 * h, 0.55 * h, 300)]
    whole = cascade.stronger_evidence(_Frame((w, h)), _Frame((w, h)), _Matches(spread))
    sliver = cascade.stronger_evidence(_Frame((w, h)), _Frame((w, h)), _Matches(band))
    assert whole.links and not whole.review and whole.geometry.area_max > 0.5
    assert sliver.excess > 100 and sliver.geometry.centre >= 0.375  # strong, through the centres
    assert sliver.geometry.area_max < 0.17 and not sliver.links and sliver.review


@pytest.mark.skipif(not cascade.cascade_available(), reason="the cascade's optional models are not in models/ "
                    "(export/lightglue.py --install)")
def test_aliked_lightglue_on_synthetic_views():
    lg = cascade.AlikedLightGlue.from_manifest(keypoints=512, threads=2)
    assert lg.kind == "aliked-lightglue-int8" and lg.provider
    assert lg.kind in cascade.RULES
    a, b = views_of(6, 2)
    c = views_of(7, 1)[0]
    fa, fb, fc = lg.features(a), lg.features(b), lg.features(c)
    same, other = stronger_evidence(fa, fb, lg), stronger_evidence(fa, fc, lg)
    assert same.geometry.inliers > 100 and same.links
    assert not other.links


def _eval_pair(ms, set_name, fa, fb):
    from edge_app.engine.decode import decode_image

    ia = decode_image(EVAL / set_name / "images" / fa, 1280).rgb
    ib = decode_image(EVAL / set_name / "images" / fb, 1280).rgb
    return stronger_evidence(ms.features(ia), ms.features(ib), ms)


@pytest.mark.skipif(not EVAL.is_dir(), reason="../shared/eval not present")
def test_real_pairs(ms):
    # same spot: linked
    assert _eval_pair(ms, "strecha", "fountain-P11_0000.jpg", "fountain-P11_0003.jpg").links
    # the fountain in front of the entry building: the building is matched, but it is not the
    # central subject of the fountain shot: never a link
    for fa, fb in (("entry-P10_0000.jpg", "fountain-P11_0008.jpg"), ("entry-P10_0001.jpg", "fountain-P11_0010.jpg")):
        sc = _eval_pair(ms, "strecha", fa, fb)
        assert not sc.links, (fa, fb, sc.as_dict())


def test_the_child_works_on_two_photos_at_once_where_that_is_faster():
    """The thorough pass's ALIKED child (edge_app.engine.cascade_child) runs two photos at
    once, each on one thread, on a CPU with two threads or more and memory for a second
    photo's activations; one at a time on a GPU, on one thread, or when memory is short."""
    from edge_app.engine.cascade_child import SECOND_PHOTO_MEMORY, photos_at_once

    cpu = ["CPUExecutionProvider"]
    assert photos_at_once(2, cpu, 4 << 30) == 2
    assert photos_at_once(1, cpu, 4 << 30) == 1
    assert photos_at_once(2, cpu, SECOND_PHOTO_MEMORY - 1) == 1 and photos_at_once(2, cpu, None) == 1
    assert photos_at_once(4, ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
                          8 << 30) == 1


@pytest.mark.skipif(not cascade.cascade_available(), reason="the cascade's optional models are not in models/ "
                    "(export/lightglue.py --install)")
def test_aliked_opened_as_needed_gives_the_same_features():
    """lazy=True opens an input size when a photo first needs it (a landscape batch never
    opens the portrait graph) and without the matcher (load_matcher=False); the features
    are those of the models opened up front."""
    eager = cascade.AlikedLightGlue.from_manifest(keypoints=512, threads=2)
    lazy = cascade.AlikedLightGlue.from_manifest(keypoints=512, threads=2, load_matcher=False, lazy=True)
    assert lazy.fingerprint == eager.fingerprint and all(s is None for s in lazy.aliked.values())
    rgb = scene(3, (640, 480))
    a, b = eager.features(rgb), lazy.features(rgb)
    assert np.array_equal(a.views[0].xy, b.views[0].xy) and np.array_equal(a.views[0].desc, b.views[0].desc)
    assert sum(s is not None for s in lazy.aliked.values()) == 1  # the landscape graph only
    with pytest.raises(RuntimeError):
        lazy.match(a, b)
