"""The pipeline as a library on a generated site: three spots, a lone photo, bad files."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edge_app.engine.analyze import FeatureCache
from edge_app.engine.config import Settings
from edge_app.engine.decode import list_images
from edge_app.engine.group import group_analyses
from edge_app.engine.pipeline import Pipeline
from scenes import views_of


def write_site(folder: Path, spots=(11, 22, 33), shots=3, lone=44) -> dict[str, int | None]:
    """JPEG files for ``shots`` views of each spot and one photo of another spot."""
    folder.mkdir(parents=True, exist_ok=True)
    truth: dict[str, int | None] = {}
    for k, seed in enumerate(spots):
        for i, img in enumerate(views_of(seed, shots)):
            name = f"spot{k}_{i}.jpg"
            Image.fromarray(img).save(folder / name, quality=92)
            truth[name] = k
    if lone is not None:
        Image.fromarray(views_of(lone, 1)[0]).save(folder / "lone.jpg", quality=92)
        truth["lone.jpg"] = None
    return truth


def same_partition(labels_by_name: dict, truth: dict) -> bool:
    pairs = lambda d: {(a, b) for a in d for b in d if a < b and d[a] is not None and d[a] == d[b]}  # noqa: E731
    return pairs(labels_by_name) == pairs(truth)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("site")
    truth = write_site(folder)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (folder / "notes.txt").write_text("not a photo")
    return folder, truth


def test_group_folder_finds_the_spots_and_reports_bad_files(site, pipeline):
    folder, truth = site
    res = pipeline.group_folder(folder)
    got = {p.name: lab for p, lab in zip(res.paths, res.labels)}
    assert same_partition(got, truth)
    assert got["lone.jpg"] is None
    assert [(Path(e.path).name, e.reason) for e in res.errors] == [("broken.jpg", "truncated or corrupt")]
    assert "notes.txt" not in {p.name for p in list_images(folder)}
    P = res.result.P.toarray()  # 10 photos: every pair verified, so every pair is stored
    assert P.shape == (10, 10) and np.allclose(P, P.T) and res.result.P.nnz == 90


def test_locked_groups_are_respected(site, pipeline):
    folder, truth = site
    res = pipeline.group_folder(folder)
    names = [p.name for p in res.paths]
    # The crew lead moved spot0_0 into spot 1's group and confirmed both groups.
    fixed = {"spot0_1.jpg": "A", "spot0_2.jpg": "A", "spot0_0.jpg": "B", "spot1_0.jpg": "B",
             "spot1_1.jpg": "B", "spot1_2.jpg": "B"}
    locked = [fixed.get(n) for n in names]
    again = group_analyses(res.analyses, pipeline.settings, locked=locked, pair_cache=pipeline.pair_cache)
    lab = dict(zip(names, again.labels))
    assert lab["spot0_1.jpg"] == lab["spot0_2.jpg"] != lab["spot0_0.jpg"]
    assert lab["spot0_0.jpg"] == lab["spot1_0.jpg"] == lab["spot1_1.jpg"] == lab["spot1_2.jpg"]
    assert lab["spot2_0.jpg"] == lab["spot2_1.jpg"] == lab["spot2_2.jpg"] not in (lab["spot0_1.jpg"], lab["spot0_0.jpg"])
    assert lab["lone.jpg"] is None


def test_online_assignment_joins_the_right_group_or_says_new(site, pipeline, tmp_path):
    folder, truth = site
    res = pipeline.group_folder(folder)
    names = [p.name for p in res.paths]
    spot1 = res.labels[names.index("spot1_0.jpg")]
    extra = tmp_path / "new_spot1.jpg"
    Image.fromarray(views_of(22, 5)[4]).save(extra, quality=90)
    _, a = pipeline.assign_path(extra, res.analyses, res.labels)
    assert a.group == spot1 and not a.is_new and a.score > 0.5
    other = tmp_path / "elsewhere.jpg"
    Image.fromarray(views_of(77, 1)[0]).save(other, quality=90)
    _, b = pipeline.assign_path(other, res.analyses, res.labels)
    assert b.is_new and b.partner is None


def test_feature_cache_is_reused_and_keyed_by_settings(tmp_path, site):
    folder, _ = site
    paths = [p for p in list_images(folder) if p.name.startswith("spot")][:3]
    pipe = Pipeline(cache_dir=tmp_path / "cache")
    first, _ = pipe.analyzer.analyze_many(paths)
    files = sorted((tmp_path / "cache").rglob("*.npz"))
    assert len(files) == 3
    again, _ = pipe.analyzer.analyze_many(paths)
    for a, b in zip(first, again):
        assert a.key == b.key and np.array_equal(a.embedding, b.embedding)
        assert np.array_equal(a.features.desc, b.features.desc)
    orb = Settings(local_features="orb")
    assert orb.feature_version() != Settings().feature_version()
    assert FeatureCache(tmp_path / "cache", orb.feature_version()).get(first[0].key) is None


def test_damaged_cache_entry_is_a_miss(tmp_path, site):
    folder, _ = site
    path = folder / "spot0_0.jpg"
    pipe = Pipeline(cache_dir=tmp_path / "c")
    a = pipe.analyzer.analyze_path(path)
    entry = next((tmp_path / "c").rglob("*.npz"))
    entry.write_bytes(entry.read_bytes()[:50])  # power cut mid-write of an old-style writer
    assert pipe.analyzer.cache.get(a.key) is None
    b = pipe.analyzer.analyze_path(path)  # recomputed and rewritten
    assert np.array_equal(a.embedding, b.embedding)
    assert pipe.analyzer.cache.get(a.key) is not None


def test_pair_cache_makes_regrouping_cheap(site, pipeline):
    folder, _ = site
    res = pipeline.group_folder(folder)
    cache = dict(pipeline.pair_cache)
    again = group_analyses(res.analyses, pipeline.settings, pair_cache=cache)
    assert again.labels == res.labels
    assert len(cache) == len(pipeline.pair_cache)  # nothing new was verified


def test_gps_far_apart_photos_never_group(site, pipeline):
    from dataclasses import replace

    from edge_app.engine.metadata import PhotoMeta

    folder, _ = site
    res = pipeline.group_folder(folder)
    names = [p.name for p in res.paths]
    moved = list(res.analyses)
    i = names.index("spot2_0.jpg")
    for k, a in enumerate(moved):
        gps = (37.5, 127.0, None) if k != i else (37.6, 127.0, None)  # 11 km away
        moved[k] = replace(a, meta=PhotoMeta(None, gps, None))
    out = group_analyses(moved, pipeline.settings)
    assert out.labels[i] is None and out.P[i, names.index("spot2_1.jpg")] == 0.0


def test_skipped_pairs_inside_a_linked_component_are_verified_again():
    from edge_app.engine.pairs import KnownPairs, linked_unverified_pairs

    # 0-1-2 chained by likely pairs, (0, 2) was never verified; 3 is alone
    known = KnownPairs(np.array([0, 1, 2]), np.array([1, 2, 3]), np.array([0.9, 0.9, 0.1]), np.ones(3, bool))
    assert linked_unverified_pairs(4, known, 0.5) == [(0, 2)]
    assert linked_unverified_pairs(4, known, 0.5, up_to=2) == []  # a set of 3 is left to the linkage
    weak = KnownPairs(np.array([0]), np.array([1]), np.array([0.1]), np.ones(1, bool))
    assert linked_unverified_pairs(3, weak, 0.5) == []


def test_fast_settings_bring_their_own_pair_model(site):
    """Settings.fast(): smaller images and the pair model fitted on them; other changes
    (threads here) keep both, an explicit pair model wins."""
    from edge_app.engine.config import FAST_PAIR_MODEL
    from edge_app.engine.grouping import PairModel

    fast = Settings.fast(threads=1)
    assert (fast.work_max_side, fast.xfeat_max_side, fast.threads) == (384, 384, 1)
    assert fast.pair_model == FAST_PAIR_MODEL != Settings().pair_model
    assert fast.feature_version() != Settings().feature_version()
    assert Settings.fast(pair_model=PairModel()).pair_model == PairModel()
    folder, truth = site
    res = Pipeline(fast).group_folder(folder)
    assert same_partition(dict(zip([p.name for p in res.paths], res.labels)), truth)



def test_the_feature_version_covers_every_field_not_declared_later():
    """Every settings field changes the feature cache key unless it is declared ``later``
    (used only after the per-photo analysis); a new field is in the key by default."""
    import dataclasses

    from edge_app.engine.config import FAST_PAIR_MODEL, VerifyConfig

    base = Settings()
    assert base.feature_version() == "a09b622c3cb8"  # the key before the fields were derived: caches stay valid
    changed = {"work_max_side": 640, "use_segmentation": False, "mask_threshold": 0.4, "embed_grey_clahe": False,
               "local_features": "orb", "max_keypoints": 800, "xfeat_max_side": 480, "features_clahe": True}
    later = {"centre_embeddings": True, "verify": VerifyConfig(match_ratio=0.8), "all_pairs_up_to": 5, "knn": 4,
             "dense_up_to": 10, "link_evidence": 4,
             "site_radius_m": 100.0, "session_gap_s": 60.0, "pair_model": FAST_PAIR_MODEL, "group_threshold": 0.6,
             "min_group_size": 3, "assign_threshold": 0.6, "threads": 1,
             "features_in_memory_up_to": 10, "check_all_up_to": 10, "mutual_knn": 4, "band_low": 0.2,
             "band_high": 0.8, "band_look_quantile": 0.8, "cascade_max_pairs": 4, "cascade_p": 0.9, "cascade_lone_p": 0.8,
             "machine_min_seen": 5, "machine_max_ratio": 0.5, "machine_max_area": 0.5,
             "thorough_budget_s": 1.0, "cascade_photo_s": 1.0, "cascade_pair_s": 0.1}
    assert set(changed) | set(later) == {f.name for f in dataclasses.fields(Settings)}
    for name, value in changed.items():
        assert base.replace(**{name: value}).feature_version() != base.feature_version(), name
    for name, value in later.items():
        assert base.replace(**{name: value}).feature_version() == base.feature_version(), name

    @dataclasses.dataclass(frozen=True)
    class WithANewKnob(Settings):
        new_knob: int = 1

    assert WithANewKnob().feature_version() != base.feature_version()
    assert WithANewKnob(new_knob=2).feature_version() != WithANewKnob().feature_version()


def test_decoding_and_xfeat_default_to_the_settings():
    import inspect

    from edge_app.engine.decode import decode_image
    from edge_app.engine.vision.features import XFeatExtractor

    assert inspect.signature(decode_image).parameters["max_side"].default == Settings().work_max_side
    assert inspect.signature(XFeatExtractor).parameters["max_side"].default == Settings().xfeat_max_side


def test_an_assignment_with_a_partner_is_not_new():
    from edge_app.engine.assign import Assignment

    assert Assignment(None, None, 0.1, np.zeros(3)).is_new
    assert not Assignment(None, 2, 0.8, np.zeros(3)).is_new
    assert not Assignment("spot 1", None, 0.8, np.zeros(3)).is_new


def test_a_large_folder_keeps_its_features_in_a_spill_file(site, pipeline):
    """Above ``features_in_memory_up_to`` photos the local features live in a temporary
    file (read back through a small cache); the grouping is the same."""
    from edge_app.engine.analyze import FeatureSpill, SpilledFeatures

    folder, _ = site
    res = pipeline.group_folder(folder)
    small = Pipeline(Settings(features_in_memory_up_to=3))
    spilled = small.group_folder(folder)
    assert spilled.labels == res.labels
    assert all(isinstance(a.features, SpilledFeatures) for a in spilled.analyses)
    for a, b in zip(res.analyses, spilled.analyses):
        assert len(a.features) == len(b.features) and a.features.size == b.features.size
        assert np.array_equal(a.features.desc, b.features.desc) and np.array_equal(a.features.xy, b.features.xy)
    # the cache holds at most keep_bytes (and always the last one read)
    spill = FeatureSpill(keep_bytes=1)
    handles = [spill.park(a.features) for a in res.analyses]
    for a, h in zip(res.analyses, handles):
        assert np.array_equal(h.load().desc, a.features.desc) and np.array_equal(h.head(5).xy, a.features.xy[:5])
    assert len(spill._kept) == 1


def test_the_default_mode_is_the_same_with_a_warm_or_a_cold_cache_and_loads_no_cascade_it_does_not_run(
        site, tmp_path):
    """Issue 20: the thorough pass decides from counts whether its cascade runs, so the same
    folder gets the same mode and groups whatever the cascade's caches hold (its features on
    disk or in memory after a --thorough run), and its models are loaded only when it runs."""
    folder, _ = site
    # every verified pair undecided, at most 3 of them: at least 3 photos, 1.5 s by count > 1 s
    s = Settings(band_low=0.0, band_high=1.01, cascade_max_pairs=3, thorough_budget_s=1.0)
    cold = Pipeline(s)
    first = cold.group_folder(folder, thorough="auto")
    assert first.thorough["mode"] == "fast" and first.thorough["band_pairs"] == 3
    assert "> budget 1 s" in first.thorough["reason"] and not first.thorough["cascade_loaded"]
    assert cold._cascade is None  # ALIKED's and LightGlue's sessions were never created
    warm = Pipeline(s, cache_dir=tmp_path / "features")
    on = warm.group_folder(folder, thorough="on")  # the cascade's features now on disk and in memory
    if warm._cascade is None:
        pytest.skip(f"no cascade models: {warm.cascade_error}")
    assert on.thorough["mode"] == "thorough" and on.thorough["cascade_loaded"]
    assert any((tmp_path / "cascade").rglob("*.npz"))
    again = warm.group_folder(folder, thorough="auto")  # warm in memory
    fresh = Pipeline(s, cache_dir=tmp_path / "features")
    cached = fresh.group_folder(folder, thorough="auto")  # warm on disk
    assert fresh._cascade is None
    for res in (again, cached):
        assert {k: v for k, v in res.thorough.items() if k != "cascade_loaded"} == \
            {k: v for k, v in first.thorough.items() if k != "cascade_loaded"}
        assert res.labels == first.labels
    assert Pipeline(s).group_folder(folder, thorough="off").thorough["mode"] == "fast"
