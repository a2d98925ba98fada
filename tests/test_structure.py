"""No spot of noise (issue 7): photos with almost no structure (noise, flat fields, test
patterns) never form a spot, and real photos (night, fog, noise, nearly black) are never
taken for them."""

from __future__ import annotations

import dataclasses
import glob

import cv2
import numpy as np
import pytest
from PIL import Image

from edge_app.engine.analyze import structure_score
from edge_app.engine.decode import decode_image
from edge_app.engine.assign import assign_new
from edge_app.engine.pairs import SessionPhotos, no_spot, probabilities_alone, verify_candidates
from edge_app.engine.group import group_analyses
from edge_app.engine.vision.features import to_gray
from scenes import views_of

W, H = 640, 480
Y, X = np.mgrid[0:H, 0:W]


def grey(a) -> np.ndarray:
    return np.repeat(np.clip(a, 0, 255).astype(np.uint8)[:, :, None], 3, 2)


def junk() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    out = {
        "white noise": rng.integers(0, 256, (H, W, 3), dtype=np.uint8),
        "grey noise": grey(rng.integers(0, 256, (H, W))),
        "faint noise": grey(128 + rng.normal(0, 6, (H, W))),
        "blurred noise": cv2.GaussianBlur(rng.integers(0, 256, (H, W, 3), dtype=np.uint8), (0, 0), 1),
        "black": np.zeros((H, W, 3), np.uint8),
        "grey with sensor noise": grey(128 + rng.normal(0, 2, (H, W))),
        "vignette": grey(180 - np.hypot(X - W / 2, Y - H / 2) / 4),
        "ramp": grey(X * 255 / W),
        "diagonal ramp": grey((X + Y) * 255 / (W + H)),
        "colour bars": np.array([[192, 192, 192], [192, 192, 0], [0, 192, 192], [0, 192, 0], [192, 0, 192],
                                 [192, 0, 0], [0, 0, 192]], np.uint8)[X * 7 // W],
        "zone plate": grey(127 + 127 * np.cos(((X - W / 2) ** 2 + (Y - H / 2) ** 2) * np.pi / 800)),
        "grid": grey(255 - 255 * ((X % 20 == 0) | (Y % 20 == 0))),
    }
    for p in (2, 4, 8, 16, 40, 100):
        out[f"vertical stripes {p}"] = grey((X // p) % 2 * 255)
        out[f"horizontal stripes {p}"] = grey((Y // p) % 2 * 255)
        out[f"diagonal stripes {p}"] = grey(((X + Y) // p) % 2 * 255)
        out[f"checkerboard {p}"] = grey(((X // p) + (Y // p)) % 2 * 255)
        out[f"sine grating {p}"] = grey(127 + 120 * np.sin((X * 0.8 + Y * 0.6) * np.pi / p))
    return out


def photos() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(4)
    out = {}
    for seed in (11, 22, 33, 44, 55):
        for i, v in enumerate(views_of(seed, 2)):
            f = v.astype(np.float32)
            out[f"view {seed}/{i}"] = v
            out[f"night {seed}/{i}"] = np.clip(f * 0.06 + rng.normal(0, 2, v.shape), 0, 255).astype(np.uint8)
            out[f"fog {seed}/{i}"] = np.clip(f * 0.12 + 200 + rng.normal(0, 2, v.shape), 0, 255).astype(np.uint8)
            out[f"grainy {seed}/{i}"] = np.clip(f + rng.normal(0, 40, v.shape), 0, 255).astype(np.uint8)
    return out


def score(rgb: np.ndarray) -> float:
    buf = __import__("io").BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=92)
    return structure_score(to_gray(decode_image(buf.getvalue(), 768).rgb))


def test_pictures_of_nothing_have_no_structure():
    got = {name: score(a) for name, a in junk().items()}
    assert all(s < 1.0 for s in got.values()), {k: round(v, 2) for k, v in got.items() if v >= 1}


def test_photos_have_structure_even_at_night_in_fog_and_grainy():
    got = {name: score(a) for name, a in photos().items()}
    assert min(got.values()) >= 1.2, sorted(got.items(), key=lambda kv: kv[1])[:3]


def test_no_photo_of_the_eval_sets_is_taken_for_noise(eval_root):
    files = sorted(glob.glob(str(eval_root / "*" / "images" / "*")))
    assert len(files) >= 300
    got = sorted((structure_score(to_gray(decode_image(f, 768).rgb)), f) for f in files)
    print(f"\nlowest structure scores: {[(round(s, 2), f.split('/')[-1]) for s, f in got[:3]]}")
    assert got[0][0] >= 1.0  # 0 of them flagged (lowest 1.55 when measured)


def test_tiny_images_are_not_judged():
    assert structure_score(np.zeros((20, 640), np.uint8)) == 1.0


@pytest.fixture(scope="module")
def junk_and_a_spot(tmp_path_factory, pipeline):
    folder = tmp_path_factory.mktemp("noise")
    rng = np.random.default_rng(8)
    imgs = {f"noise{k}.jpg": rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for k in range(3)}
    for p in (8, 16, 40):
        imgs[f"stripes{p}.png"] = grey((X // p) % 2 * 255)
        imgs[f"checker{p}.png"] = grey(((X // p) + (Y // p)) % 2 * 255)
    for i, v in enumerate(views_of(11, 4)):
        imgs[f"spot{i}.jpg"] = v
    for name, a in imgs.items():
        Image.fromarray(a).save(folder / name)
    return folder, pipeline.group_folder(folder)


def test_noise_and_test_patterns_never_form_a_spot(junk_and_a_spot, pipeline):
    _, res = junk_and_a_spot
    labels = {p.name: lab for p, lab in zip(res.paths, res.labels)}
    assert {labels[f"spot{i}.jpg"] for i in range(4)} == {0}
    junk_names = [n for n in labels if not n.startswith("spot")]
    assert all(labels[n] is None for n in junk_names)
    by_name = dict(zip([p.name for p in res.paths], res.analyses))
    for n in junk_names:  # and they were spared the person mask and local features
        a = by_name[n]
        assert a.structure < 1.0 and len(a.features) == 0 and no_spot(a)
        assert a.embedding.shape == by_name["spot0.jpg"].embedding.shape
        assert abs(float(np.linalg.norm(a.embedding)) - 1.0) < 1e-3


def test_without_the_rule_noise_frames_and_stripes_would_pair(junk_and_a_spot, pipeline):
    """What the issue saw: the same photos analysed as ordinary ones (with keypoints)
    form spots of noise and of stripes; the rule gives them p = 0."""
    folder, res = junk_and_a_spot
    s = pipeline.settings
    xfeat = pipeline.analyzer.xfeat
    plain = []
    for p, a in zip(res.paths, res.analyses):
        if no_spot(a):
            g = to_gray(decode_image(p, s.work_max_side).rgb)
            a = dataclasses.replace(a, features=xfeat(g, None, s.max_keypoints, s.mask_threshold), structure=5.0)
        plain.append(a)
    n = len(plain)
    names = [p.name for p in res.paths]
    noise = [names.index(f"noise{k}.jpg") for k in range(3)]
    before = group_analyses(plain, s).labels
    assert before[noise[0]] is not None and before[noise[0]] == before[noise[1]] == before[noise[2]]
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    scores = verify_candidates(plain, pairs, s)
    photos = SessionPhotos.of(plain)
    assert not photos.ruled_out.any()
    photos.ruled_out = np.array([no_spot(a) for a in res.analyses])
    p = probabilities_alone(photos, pairs, scores, s)
    touched = np.array([photos.ruled_out[i] or photos.ruled_out[j] for i, j in pairs])
    assert (p[touched] == 0).all() and (p[~touched] > 0).all()


def test_a_new_noise_photo_is_never_assigned(junk_and_a_spot, pipeline, tmp_path):
    _, res = junk_and_a_spot
    new = tmp_path / "new_noise.jpg"
    Image.fromarray(np.random.default_rng(99).integers(0, 256, (H, W, 3), dtype=np.uint8)).save(new)
    a, where = pipeline.assign_path(new, res.analyses, res.labels)
    assert where.is_new and where.partner is None and not where.p.any()
    view = tmp_path / "new_view.jpg"
    Image.fromarray(views_of(11, 5)[4]).save(view)
    b, where = pipeline.assign_path(view, res.analyses, res.labels)
    assert where.group == 0
    junk_idx = [i for i, a in enumerate(res.analyses) if no_spot(a)]
    assert not where.p[junk_idx].any()
    assert assign_new(a, res.analyses, res.labels, pipeline.settings).is_new
