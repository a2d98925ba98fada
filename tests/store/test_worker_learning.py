"""Learning from a person's fix (issue 20), with the real models and a real store: the photos
that go with the one the lead moved follow it; those the lead left behind on purpose, and
every person's placement, stay."""

from collections import OrderedDict
from datetime import datetime, timedelta

import pytest

from edge_app.store import open_store, photos, spots, views
from edge_app.worker import Worker
from photo_files import spot_photos

DAY = datetime(2026, 5, 4, 9, 0, 0)


@pytest.fixture(scope="module")
def models_worker(tmp_path_factory):
    w = Worker(tmp_path_factory.mktemp("warm"))
    w.pipeline.analyzer.load_models()
    return w


def worker_for(models_worker, root) -> Worker:
    w = Worker.__new__(Worker)
    w.__dict__.update(models_worker.__dict__)
    w.root, w._st, w._analyses, w.refine_pending = root, None, OrderedDict(), set()
    w.pipeline.analyzer.cache = w._shelf = None
    w.pipeline.pair_cache = {}
    return w


def groups(st, site_id=1):
    v = views.site_view(st, site_id)
    return ({frozenset(p["name"] for p in sp["photos"]) for sp in v["spots"]},
            {p["name"] for p in v["unassigned"]})


def names(prefix, ks):
    return frozenset(f"{prefix}_{k}.jpg" for k in ks)


def spot_of(st, sha):
    return st.scalar("SELECT spot_id FROM memberships WHERE photo = ? AND ended_at IS NULL", (sha,))


@pytest.fixture
def half_merged(tmp_path, models_worker):
    """The engine's shown answer: spot 11's three photos with two of spot 22's (as a
    look-alike it half-linked), spot 22's other two on their own."""
    st = open_store(tmp_path)
    b = photos.start_batch(st, "cli", "test")
    for name, data in spot_photos(11, 3, DAY) + spot_photos(22, 4, DAY + timedelta(minutes=10)):
        photos.add_bytes(st, data, name, source="cli", who="test", batch_id=b)
    photos.finish_batch(st, b)
    w = worker_for(models_worker, tmp_path)
    w.run_until_idle()
    sha = {r[0]: r[1] for r in st.query("SELECT name, sha256 FROM photos")}
    a = spot_of(st, sha["spot11_0.jpg"])
    with st.write():
        for k in (2, 3):
            spots.place(st, sha[f"spot22_{k}.jpg"], a, "engine", score=0.5)
    assert groups(st) == ({names("spot11", range(3)) | names("spot22", (2, 3)), names("spot22", (0, 1))}, set())
    return st, w, sha, a, spot_of(st, sha["spot22_0.jpg"])


def test_the_partner_of_a_photo_the_lead_moves_out_of_a_merged_spot_follows_it(half_merged, monkeypatch):
    """The lead drags spot22_2 out of the merged spot onto spot 22's: spot22_3, which stayed
    behind but is far more like spot22_2 than like any of spot 11's photos, follows it (the
    engine's move, no suggestion to answer); spot 11's photos stay where they are. With
    ``worker.learn_from_edits`` off, the same drag moves nothing else."""
    st, w, sha, a, b = half_merged
    monkeypatch.setenv("EDGE_APP_WORKER_LEARN_FROM_EDITS", "1")
    spots.move(st, [sha["spot22_2.jpg"]], b, "lead")
    assert w.run_until_idle().edited_sites == [1]
    assert groups(st) == ({names("spot11", range(3)), names("spot22", range(4))}, set())
    assert views.site_view(st, 1)["suggestions"] == []
    row = st.one("SELECT spot_id, by FROM memberships WHERE photo = ? AND ended_at IS NULL", (sha["spot22_3.jpg"],))
    assert (row["spot_id"], row["by"]) == (b, "engine")
    # the lead's own placement and the cannot-links of the move hold
    assert st.scalar("SELECT by FROM memberships WHERE photo = ? AND ended_at IS NULL", (sha["spot22_2.jpg"],)) \
        == "person"
    assert (min(sha["spot22_2.jpg"], sha["spot11_0.jpg"]), max(sha["spot22_2.jpg"], sha["spot11_0.jpg"])) \
        in spots.separations(st, 1)


def test_without_learning_the_partner_stays_behind(half_merged, monkeypatch):
    st, w, sha, a, b = half_merged
    monkeypatch.setenv("EDGE_APP_WORKER_LEARN_FROM_EDITS", "0")
    spots.move(st, [sha["spot22_2.jpg"]], b, "lead")
    w.run_until_idle()
    assert groups(st) == ({names("spot11", range(3)) | {"spot22_3.jpg"}, names("spot22", (0, 1, 2))}, set())


def test_a_slip_takes_nothing_along_and_a_separated_photo_does_not_follow_into_its_spot(half_merged, monkeypatch):
    """The lead drags spot11_0 onto spot 22's spot by mistake: spot11_1 and spot11_2 are
    linked to it but also to each other, which stays, so neither follows; spot 22's two
    photos are not linked to it and stay too. Then the lead drags spot22_2 there: its
    partner spot22_3 would follow, but the slip separated spot22_3 from spot11_0, now in
    that spot, and what a person separated is never put together by the engine."""
    st, w, sha, a, b = half_merged
    monkeypatch.setenv("EDGE_APP_WORKER_LEARN_FROM_EDITS", "1")
    spots.move(st, [sha["spot11_0.jpg"]], b, "lead")
    w.run_until_idle()
    assert groups(st)[0] == {names("spot11", (1, 2)) | names("spot22", (2, 3)), names("spot22", (0, 1)) | {"spot11_0.jpg"}}
    spots.move(st, [sha["spot22_2.jpg"]], b, "lead")
    w.run_until_idle()
    assert groups(st)[0] == {names("spot11", (1, 2)) | {"spot22_3.jpg"}, names("spot22", (0, 1, 2)) | {"spot11_0.jpg"}}
