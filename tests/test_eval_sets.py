"""Integration on the real eval photo sets in ../shared/eval (skipped when absent)."""

import pytest

from edge_app.engine.evaluate import EvalSet, sample_batches, score_grouping


def group_batch(pipeline, es, batch):
    res = pipeline.group_paths([es.path(f) for f in batch.files])
    by_name = {p.name: lab for p, lab in zip(res.paths, res.labels)}
    return score_grouping([by_name.get(f) for f in batch.files], batch.truth)


@pytest.mark.parametrize("name, mean_ari", [("strecha", 0.9), ("webcam_a", 0.9), ("triplets", 0.8)])
def test_batches_of_an_eval_set_group_well(eval_root, pipeline, name, mean_ari):
    es = EvalSet.load(eval_root / name)
    scores = [group_batch(pipeline, es, b) for b in sample_batches([es], 3, seed=11)]
    assert sum(s["ari"] for s in scores) / len(scores) >= mean_ari
    assert min(s["ari"] for s in scores) >= mean_ari - 0.2
    assert sum(s["precision"] for s in scores) / len(scores) >= 0.9


def test_extreme_pairs_are_mostly_left_alone_rather_than_merged_wrongly(eval_root, pipeline):
    # day/night, summer/winter, extreme viewpoint: few pairs can be proven; the rest
    # should stay unassigned for a person rather than be glued to look-alikes
    es = EvalSet.load(eval_root / "wxbs")
    precisions, alone = [], []
    for b in sample_batches([es], 4, seed=5):
        res = pipeline.group_paths([es.path(f) for f in b.files])
        by_name = {p.name: lab for p, lab in zip(res.paths, res.labels)}
        precisions.append(score_grouping([by_name[f] for f in b.files], b.truth)["precision"])
        alone.append(sum(lab is None for lab in res.labels) / len(res.labels))
    assert sum(precisions) / len(precisions) >= 0.7
    assert sum(alone) / len(alone) >= 0.3


def test_shared_structure_is_not_one_spot(eval_root, pipeline):
    # The fountain photos show the entry building in the background: two different spots.
    es = EvalSet.load(eval_root / "strecha")
    files = [f for f in es.files if f.startswith(("fountain", "entry"))]
    res = pipeline.group_paths([es.path(f) for f in files])
    lab = {p.name: label for p, label in zip(res.paths, res.labels)}
    fountain = {lab[f] for f in files if f.startswith("fountain")} - {None}
    entry = {lab[f] for f in files if f.startswith("entry")} - {None}
    assert len(fountain) == 1 and len(entry) == 1 and fountain != entry


def test_gps_photos_have_metadata(eval_root, pipeline):
    es = EvalSet.load(eval_root / "opensfm_gps")
    a = pipeline.analyzer.analyze_path(es.path(es.files[0]))
    assert a.meta.gps is not None and 50 < a.meta.gps[0] < 60
