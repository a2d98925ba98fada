"""The background worker with the real models: analysis, sites, online placement, regrouping
that never undoes a person's edit."""

from datetime import datetime, timedelta

import numpy as np
import pytest

from edge_app.store import StoreError, edits, open_store, photos, spots, views
from edge_app.engine.analyze import SpilledFeatures
from edge_app.engine.phases import engine_phases
from edge_app.engine.thorough import Interrupted, cascade_image
from edge_app.engine.vision.cascade import AlikedLightGlue
from edge_app.worker import Worker
from photo_files import spot_photos
from warm_worker import worker_for

DAY = datetime(2026, 5, 4, 9, 0, 0)
SEOUL = (37.5665, 126.9780)
BUSAN = (35.1796, 129.0756)


def add_batch(st, files) -> int:
    b = photos.start_batch(st, "cli", "test")
    for name, data in files:
        photos.add_bytes(st, data, name, source="cli", who="test", batch_id=b)
    photos.finish_batch(st, b)
    return b


def groups(st, site_id):
    """{frozenset of names}: the spots of a site by photo names; and the tray."""
    v = views.site_view(st, site_id)
    return ({frozenset(p["name"] for p in sp["photos"]) for sp in v["spots"]},
            {p["name"] for p in v["unassigned"]})


def names(prefix, n):
    return frozenset(f"{prefix}_{k}.jpg" for k in range(n))


def test_engine_phases_follow_visits_in_time():
    h = 3600.0
    assert engine_phases([0, 60, 120]) == ["before"] * 3
    assert engine_phases([0, 60, 5 * h, 5 * h + 60]) == ["before", "before", "after", "after"]
    assert engine_phases([2 * h, 0, 30 * h, None]) == ["during", "before", "after", None]
    assert engine_phases([None, None]) == [None, None]


def test_photos_are_analysed_placed_and_grouped_by_spot(tmp_path, models_worker):
    st = open_store(tmp_path)
    files = spot_photos(11, 4, DAY) + spot_photos(22, 3, DAY + timedelta(minutes=10)) + \
        spot_photos(33, 3, DAY + timedelta(minutes=20))
    batch = add_batch(st, files)
    w = worker_for(models_worker, tmp_path)
    rep = w.run_until_idle()
    assert rep.analysed == 10 and rep.failed == 0 and rep.regrouped_sites == [1]
    assert photos.batch_progress(st, batch) | {} == {"total": 10, "analysed": 10, "failed": 0, "waiting": 0,
                                                      "refused": 0, "duplicates": 0, "finished": True,
                                                      "regrouped": True}
    spots_, tray = groups(st, 1)
    assert spots_ == {names("spot11", 4), names("spot22", 3), names("spot33", 3)} and tray == set()
    assert views.status(st)["waiting"] == 0


def test_the_worker_keeps_features_on_disk_and_recovers_a_lost_cache_entry(tmp_path):
    """A long-lived worker holds a photo's embedding, not its 0.27 MB of keypoints: those are
    read back from the feature cache when a regroup needs them; an entry lost from the cache
    is analysed again from the stored original, and the grouping is the same."""
    st = open_store(tmp_path)
    add_batch(st, spot_photos(11, 3, DAY) + spot_photos(22, 3, DAY + timedelta(minutes=10)))
    w = Worker(tmp_path, thorough=False)
    w.run_until_idle()
    first = groups(st, 1)
    assert first[0] == {names("spot11", 3), names("spot22", 3)}
    held = list(w._analyses.values())
    assert len(held) == 6 and all(isinstance(a.features, SpilledFeatures) for a in held)
    lost = held[0].key
    (entry,) = (tmp_path / "cache" / "features").glob(f"*/{lost[:2]}/{lost}.npz")
    entry.unlink()
    w._shelf.forget()
    kept = w.analysis(lost)  # still held, its features on the shelf
    assert kept.features.xy.shape == (len(held[0].features), 2)  # analysed again from its original
    assert entry.is_file()
    entry.unlink()
    w2 = Worker(tmp_path, thorough=False)  # a restarted service: nothing in memory
    w2.pipeline.analyzer = w.pipeline.analyzer
    w2.regroup(1)
    assert groups(st, 1) == first
    assert entry.is_file()  # analysed again and cached
    assert len(w2.analysis(lost).features) == len(held[0].features) > 0
    # the entry and the original both gone: the photo's keypoints match nothing, and keep
    # the length its stand-in promised (arrays are sized by it)
    entry.unlink()
    w2._shelf.forget()
    w2._shelf.recover = None
    gone = w2.analysis(lost).features
    assert gone.xy.shape == (len(held[0].features), 2) and not gone.desc.any()


def test_the_cascades_features_are_computed_in_a_child_process(tmp_path):
    """The site app never loads ALIKED (0.6 GB of activations a photo) into serve: a child
    process writes the features of a thorough pass to the cascade's disk cache and exits;
    serve only matches them (LightGlue)."""
    st = open_store(tmp_path)
    add_batch(st, spot_photos(11, 3, DAY))
    w = Worker(tmp_path, thorough=False)
    w.run_until_idle()
    c = w.pipeline.cascade()
    assert c.child is not None and c.matcher.aliked == {}
    rows = spots.analysed_places(st, 1)
    analyses = [w.analysis(r["sha256"]) for r in rows]
    w.pipeline.remember_paths({r["sha256"]: photos.original_path(st, r["sha256"]) for r in rows})
    asked = []

    def new_photos_after_the_first():  # asked before the child starts and before each photo
        asked.append(1)
        return len(asked) > 2

    with pytest.raises(Interrupted):
        c.features_in_child(analyses, new_photos_after_the_first)
    assert len(list((tmp_path / "cache" / "cascade").glob("*/*/*.npz"))) == 1  # kept for the next try
    assert c.features_in_child(analyses) == 2
    assert len(list((tmp_path / "cache" / "cascade").glob("*/*/*.npz"))) == 3
    # the child works on two photos at once, each on one thread, ALIKED's sizes opened as
    # needed: the features are exactly those of ALIKED here, on two threads
    here = AlikedLightGlue.from_manifest(threads=2, load_matcher=False)
    for a, r in zip(analyses, rows):
        kept, made = c.features(a, compute=False), here.features(cascade_image(photos.original_path(st, r["sha256"])))
        assert np.array_equal(kept.views[0].xy, made.views[0].xy) and np.array_equal(kept.views[0].desc,
                                                                                    made.views[0].desc)
    scores = c.check(analyses, [(0, 1), (1, 2)])
    assert set(scores) == {(0, 1), (1, 2)} and all(sc.geometry.inliers > 0 for sc in scores.values())
    assert c.features_in_child(analyses) == 0  # already on disk


def test_photos_far_apart_go_to_different_sites_and_a_later_visit_joins_its_site(tmp_path, models_worker):
    st = open_store(tmp_path)
    add_batch(st, spot_photos(11, 3, DAY, gps=SEOUL) + spot_photos(22, 3, DAY, gps=BUSAN))
    w = worker_for(models_worker, tmp_path)
    w.run_until_idle()
    seoul = st.scalar("SELECT site_id FROM photos WHERE name = 'spot11_0.jpg'")
    busan = st.scalar("SELECT site_id FROM photos WHERE name = 'spot22_0.jpg'")
    assert seoul != busan
    # the "after" visit, in the afternoon, same place: same site, same spot, labelled after
    later = spot_photos(11, 5, DAY + timedelta(hours=6), gps=SEOUL, prefix="after")[3:]
    add_batch(st, later)
    w.run_until_idle()
    assert {st.scalar("SELECT site_id FROM photos WHERE name = ?", (n,)) for n, _ in later} == {seoul}
    v = views.site_view(st, seoul)
    (spot,) = v["spots"]
    assert {p["name"] for p in spot["photos"]} == set(names("spot11", 3)) | {"after_3.jpg", "after_4.jpg"}
    assert [p["phase"] for p in spot["photos"]] == ["before"] * 3 + ["after"] * 2
    assert not spot["missing_after"]


def test_a_visit_days_later_without_gps_joins_its_site_by_look(tmp_path, models_worker):
    """Time alone never separates (issue 11): the "after" shots of a spot, 14 days later and
    without GPS, join the site and spot of its "before" shots; a new place shot days later,
    without GPS, gets a site of its own (nothing there looks like it)."""
    st = open_store(tmp_path)
    add_batch(st, spot_photos(11, 3, DAY) + spot_photos(22, 3, DAY + timedelta(minutes=5)))
    w = worker_for(models_worker, tmp_path)
    w.run_until_idle()
    (site,) = {st.scalar("SELECT site_id FROM photos WHERE name = ?", (f"spot{k}_0.jpg",)) for k in (11, 22)}
    later = spot_photos(11, 5, DAY + timedelta(days=14), prefix="after")[3:]
    add_batch(st, later)
    w.run_until_idle()
    assert {st.scalar("SELECT site_id FROM photos WHERE name = ?", (n,)) for n, _ in later} == {site}
    spot = next(sp for sp in views.site_view(st, site)["spots"] if "spot11_0.jpg" in {p["name"] for p in sp["photos"]})
    assert {p["name"] for p in spot["photos"]} == set(names("spot11", 3)) | {"after_3.jpg", "after_4.jpg"}
    assert [p["phase"] for p in spot["photos"]] == ["before"] * 3 + ["after"] * 2
    elsewhere = spot_photos(77, 3, DAY + timedelta(days=20), prefix="other")
    add_batch(st, elsewhere)
    w.run_until_idle()
    (other_site,) = {st.scalar("SELECT site_id FROM photos WHERE name = ?", (n,)) for n, _ in elsewhere}
    assert other_site != site


def test_an_undated_batch_that_shares_nothing_with_a_site_is_a_new_site(tmp_path, models_worker):
    """Issue 17 (4): a second job's photos without date or GPS that look like nothing of the
    first job get a site of their own, named by their day, not the tail of the most recent
    site; undated photos of the first job's spots still join its site."""
    st = open_store(tmp_path)
    add_batch(st, spot_photos(11, 3, DAY) + spot_photos(22, 3, DAY + timedelta(minutes=5)))
    w = worker_for(models_worker, tmp_path)
    w.run_until_idle()
    (first,) = {st.scalar("SELECT site_id FROM photos WHERE name = ?", (f"spot{k}_0.jpg",)) for k in (11, 22)}
    other = spot_photos(77, 4, prefix="other") + spot_photos(88, 4, prefix="more")  # 8 photos: two steps
    add_batch(st, other)
    w.run_until_idle()
    (second,) = {st.scalar("SELECT site_id FROM photos WHERE name = ?", (n,)) for n, _ in other}
    assert second != first
    assert st.scalar("SELECT name FROM sites WHERE id = ?", (second,)).endswith(" 사진")
    assert groups(st, first)[0] == {names("spot11", 3), names("spot22", 3)}
    again = spot_photos(11, 5, prefix="again")[3:]
    add_batch(st, again)
    w.run_until_idle()
    assert {st.scalar("SELECT site_id FROM photos WHERE name = ?", (n,)) for n, _ in again} == {first}
    # one upload of shots weeks apart that link to nothing: one new site, not one a run of times
    weeks = spot_photos(55, 2, DAY + timedelta(days=30), prefix="w1") + spot_photos(66, 2, DAY + timedelta(days=60),
                                                                                   prefix="w2") + \
        spot_photos(44, 3, DAY + timedelta(days=90), prefix="w3")
    st2 = open_store(tmp_path / "other")
    add_batch(st2, weeks)
    worker_for(models_worker, tmp_path / "other").run_until_idle()
    assert st2.scalar("SELECT count(DISTINCT site_id) FROM photos") == 1


def test_a_later_answer_adds_from_the_tray_but_only_suggests_taking_a_photo_out_of_a_shown_spot(
        tmp_path, models_worker):
    """Issue 17 (6): once a batch's grouping has been shown, a later engine answer (here a
    regroup of the site) may add a tray photo to its spot, but a photo an earlier answer put
    in the wrong spot stays there with a suggestion; accepting it is an audited, undoable
    move; a dismissed suggestion is not asked again."""
    st = open_store(tmp_path)
    add_batch(st, spot_photos(11, 3, DAY) + spot_photos(22, 3, DAY + timedelta(minutes=10)))
    w = worker_for(models_worker, tmp_path)
    w.run_until_idle()
    sha = {n: st.scalar("SELECT sha256 FROM photos WHERE name = ?", (n,)) for n in ("spot11_0.jpg", "spot22_0.jpg",
                                                                                    "spot22_1.jpg")}
    a = st.scalar("SELECT spot_id FROM memberships WHERE photo = ? AND ended_at IS NULL", (sha["spot11_0.jpg"],))
    b = st.scalar("SELECT spot_id FROM memberships WHERE photo = ? AND ended_at IS NULL", (sha["spot22_0.jpg"],))
    with st.write():  # an earlier answer put spot22_0 in spot 11's spot and spot22_1 in the tray
        spots.place(st, sha["spot22_0.jpg"], a, "engine", score=0.5)
        spots.place(st, sha["spot22_1.jpg"], None, "engine")
    res = w.regroup(1)
    assert res["suggested"] == 1
    spots_, tray = groups(st, 1)
    assert spots_ == {names("spot11", 3) | {"spot22_0.jpg"}, names("spot22", 3) - {"spot22_0.jpg"}}
    assert tray == set()
    v = views.site_view(st, 1)
    (sug,) = v["suggestions"]
    assert (sug["photo"], sug["from"], sug["to"], sug["new"]) == (sha["spot22_0.jpg"], a, b, False)
    moved = next(p for sp in v["spots"] for p in sp["photos"] if p["sha256"] == sha["spot22_0.jpg"])
    assert moved["move_suggestion"]["id"] == sug["id"]
    assert w.regroup(1)["suggested"] == 0 and [x["id"] for x in views.site_view(st, 1)["suggestions"]] == [sug["id"]]
    res = spots.accept_suggestion(st, sug["id"], "lead")
    assert res["spot"] == b and groups(st, 1)[0] == {names("spot11", 3), names("spot22", 3)}
    assert views.site_view(st, 1)["suggestions"] == []
    with pytest.raises(StoreError):
        spots.accept_suggestion(st, sug["id"], "lead")
    edits.undo(st, "lead", 1)
    assert groups(st, 1)[0] == {names("spot11", 3) | {"spot22_0.jpg"}, names("spot22", 3) - {"spot22_0.jpg"}}
    assert [x["id"] for x in views.site_view(st, 1)["suggestions"]] == [sug["id"]]
    spots.dismiss_suggestion(st, sug["id"], "lead")
    assert views.site_view(st, 1)["suggestions"] == []
    assert w.regroup(1)["suggested"] == 0 and views.site_view(st, 1)["suggestions"] == []
    assert "spot22_0.jpg" in next(iter(s for s in groups(st, 1)[0] if "spot11_0.jpg" in s))


def test_the_thorough_pass_flags_a_spot_joined_by_a_machine_and_moves_no_one(tmp_path, models_worker):
    """One machine in a photo of spot A and in the only photo of spot B: the fast regroup puts
    B's photo into A's spot; the thorough pass (run when nothing waits) may not take it out
    (the site app only adds links), so it flags the spot for a person, with a chip on the
    page; a spot a person touched is never flagged."""
    from photo_files import jpeg
    from scenes import machine_in_two_spots

    files = [(name, jpeg(img, DAY)) for name, img in machine_in_two_spots().items()]
    st = open_store(tmp_path)
    add_batch(st, files)
    w = worker_for(models_worker, tmp_path)
    w.thorough = False
    w.run_until_idle()
    before = groups(st, 1)
    assert frozenset({"a0.jpg", "a1.jpg", "b0.jpg"}) in before[0]
    w.thorough = True
    assert w.regroup(1, thorough=True)["review"] == 1
    assert groups(st, 1) == before  # nothing moved
    v = views.site_view(st, 1)
    flagged = {frozenset(p["name"] for p in sp["photos"]): sp["review"] for sp in v["spots"]}
    assert flagged[frozenset({"a0.jpg", "a1.jpg", "b0.jpg"})] == "machine"
    assert flagged[frozenset({"c0.jpg", "c1.jpg", "c2.jpg"})] is None
    spot = next(sp["id"] for sp in v["spots"] if sp["review"])
    spots.rename(st, spot, "A", who="lead")  # a person touched it: never flagged, never shown
    w.regroup(1, thorough=True)
    assert all(sp["review"] is None for sp in views.site_view(st, 1)["spots"])


def test_a_persons_fix_regroups_the_site_at_once_and_separated_photos_are_cannot_links(
        tmp_path, models_worker, monkeypatch):
    """Issue 20: a person's grouping edit makes the worker regroup the site (no new batch
    needed): photos that match a photo the lead placed follow it out of the tray. Photos a
    person took out of a spot are cannot-link pairs with those that stayed (undo takes that
    back). With ``worker.learn_from_edits`` off, an edit regroups nothing."""
    st = open_store(tmp_path)
    add_batch(st, spot_photos(11, 3, DAY) + spot_photos(22, 4, DAY + timedelta(minutes=10)))
    w = worker_for(models_worker, tmp_path)
    w.run_until_idle()
    sha = {r[0]: r[1] for r in st.query("SELECT name, sha256 FROM photos")}
    with st.write():  # an earlier answer left spot 22 in the tray
        for k in range(4):
            spots.place(st, sha[f"spot22_{k}.jpg"], None, "engine")
    monkeypatch.setenv("EDGE_APP_WORKER_LEARN_FROM_EDITS", "0")
    spots.move(st, [sha["spot22_0.jpg"]], "new", "lead")
    assert w.run_until_idle().edited_sites == []
    assert groups(st, 1) == ({names("spot11", 3), frozenset({"spot22_0.jpg"})}, names("spot22", 4) - {"spot22_0.jpg"})
    monkeypatch.setenv("EDGE_APP_WORKER_LEARN_FROM_EDITS", "1")
    assert w.run_until_idle().edited_sites == [1]
    assert groups(st, 1) == ({names("spot11", 3), names("spot22", 4)}, set())
    assert w.run_until_idle().edited_sites == []  # once per edit
    assert spots.separations(st, 1) == set()  # from the tray: nothing separated
    a = st.scalar("SELECT spot_id FROM memberships WHERE photo = ? AND ended_at IS NULL", (sha["spot11_0.jpg"],))
    spots.split(st, a, [sha["spot11_2.jpg"]], "lead")
    assert spots.separations(st, 1) == {tuple(sorted((sha["spot11_2.jpg"], sha[f"spot11_{k}.jpg"]))) for k in (0, 1)}
    assert w.run_until_idle().edited_sites == [1]
    assert groups(st, 1)[0] == {names("spot11", 2), frozenset({"spot11_2.jpg"}), names("spot22", 4)}
    edits.undo(st, "lead", 1)
    assert spots.separations(st, 1) == set()
    assert w.run_until_idle().edited_sites == [1]
    assert groups(st, 1)[0] == {names("spot11", 3), names("spot22", 4)}


def test_automatic_regrouping_never_changes_a_persons_edit(tmp_path, models_worker):
    st = open_store(tmp_path)
    files = spot_photos(11, 4, DAY) + spot_photos(22, 4, DAY) + spot_photos(33, 3, DAY) + spot_photos(44, 3, DAY)
    add_batch(st, files)
    w = worker_for(models_worker, tmp_path)
    w.run_until_idle()
    v = views.site_view(st, 1)
    by_name = {p["name"]: p["sha256"] for sp in v["spots"] for p in sp["photos"]}
    spot_of = {p["name"]: sp["id"] for sp in v["spots"] for p in sp["photos"]}
    a, b, c, d = (spot_of[f"spot{s}_0.jpg"] for s in (11, 22, 33, 44))
    # the lead: moves a photo the engine would put back, merges two spots, splits one,
    # sends one photo to the tray, labels a phase, confirms a spot
    spots.move(st, [by_name["spot11_3.jpg"]], b, who="lead")
    spots.merge(st, [c, d], who="lead")
    split = spots.split(st, a, [by_name["spot11_0.jpg"]], who="lead")["spot"]
    spots.move(st, [by_name["spot22_3.jpg"]], None, who="lead")
    spots.set_phase(st, [by_name["spot22_0.jpg"]], "after", who="lead")
    spots.confirm(st, b, who="lead")
    before = groups(st, 1)
    confirmed_before = set(spots.members(st, b))
    # more photos of every spot arrive: online placement, then a full regroup of the site
    more = spot_photos(11, 6, DAY, prefix="more11")[4:] + spot_photos(22, 6, DAY, prefix="more22")[4:] + \
        spot_photos(33, 5, DAY, prefix="more33")[3:]
    add_batch(st, more)
    rep = w.run_until_idle()
    assert 1 in rep.regrouped_sites
    w.regroup(1)  # and once more, for good measure
    after_spots, after_tray = groups(st, 1)
    # every person-made group is still there, with at least its photos
    for g in before[0]:
        assert any(g <= h for h in after_spots), sorted(g)
    assert "spot11_3.jpg" in next(h for h in after_spots if "spot22_0.jpg" in h)  # moved by hand: stays
    assert "spot22_3.jpg" in after_tray  # put in the tray by hand: stays
    assert set(spots.members(st, b)) == confirmed_before  # confirmed: nothing added or taken
    assert st.scalar("SELECT phase FROM photos WHERE name = 'spot22_0.jpg'") == "after"
    assert spots.members(st, split) == [by_name["spot11_0.jpg"]] or \
        set(spots.members(st, split)) >= {by_name["spot11_0.jpg"]}
    merged = next(h for h in after_spots if "spot33_0.jpg" in h)
    assert names("spot33", 3) | names("spot44", 3) <= merged
    # new photos of the confirmed spot are not forced in: they wait in the tray with a suggestion
    tray_rows = {p["name"]: p for p in views.site_view(st, 1)["unassigned"]}
    for n in ("more22_4.jpg", "more22_5.jpg"):
        assert n in tray_rows and tray_rows[n]["suggest"] == b
    # person rows were never rewritten by the engine
    assert st.scalar("SELECT count(*) FROM memberships WHERE by = 'person' AND ended_at IS NOT NULL "
                     "AND id NOT IN (SELECT id FROM memberships WHERE edit_id IS NOT NULL)") == 0


def test_an_edit_made_while_the_engine_regroups_wins(tmp_path, models_worker):
    """The engine reads a site, computes for a while (seconds, for the thorough pass), then
    writes. A person who moves a photo in between wins: the engine's answer, computed from the
    older state, is not written (RegroupStale), and the step does it again from the new one."""
    from edge_app.worker import RegroupStale

    st = open_store(tmp_path)
    add_batch(st, spot_photos(11, 3, DAY) + spot_photos(22, 3, DAY))
    w = worker_for(models_worker, tmp_path)
    w.run_until_idle()
    v = views.site_view(st, 1)
    sha = {p["name"]: p["sha256"] for sp in v["spots"] for p in sp["photos"]}
    spot_of = {p["name"]: sp["id"] for sp in v["spots"] for p in sp["photos"]}
    real_analysis = w.analysis
    edited = []

    def analysis_then_a_person_edits(key):
        # the crew lead's tablet, between the engine's read and its write
        if not edited:
            edited.append(spots.move(open_store(tmp_path), [sha["spot11_0.jpg"]], spot_of["spot22_0.jpg"], who="lead"))
        return real_analysis(key)

    w.analysis = analysis_then_a_person_edits
    with pytest.raises(RegroupStale):
        w.regroup(1)
    w.analysis = real_analysis
    w.regroup(1)  # from the state with the edit: it stands
    assert "spot11_0.jpg" in next(g for g in groups(st, 1)[0] if "spot22_0.jpg" in g)


def test_an_edit_made_while_a_new_photo_is_placed_wins(tmp_path, models_worker):
    """The same for one new photo's online placement. A lone photo waits in the tray; a second
    photo of its spot arrives, and the engine would open a spot for the two. Meanwhile the lead
    puts the lone photo into another spot by hand: that stays, the engine judges again."""
    st = open_store(tmp_path)
    add_batch(st, spot_photos(11, 3, DAY) + spot_photos(22, 3, DAY) + spot_photos(33, 1, DAY))
    w = worker_for(models_worker, tmp_path)
    w.run_until_idle()
    v = views.site_view(st, 1)
    assert {p["name"] for p in v["unassigned"]} == {"spot33_0.jpg"}
    lone = v["unassigned"][0]["sha256"]
    spot22 = next(sp["id"] for sp in v["spots"] if "spot22_0.jpg" in {p["name"] for p in sp["photos"]})
    real_analysis = w.analysis
    calls = []

    def analysis_then_a_person_edits(key):
        calls.append(key)
        if len(calls) == 2:  # the engine has read the site and judges the new photo
            spots.move(open_store(tmp_path), [lone], spot22, who="lead")
        return real_analysis(key)

    w.analysis = analysis_then_a_person_edits
    add_batch(st, spot_photos(33, 2, DAY, prefix="new")[1:])
    w.step(finish_idle_batches_after=3600.0)  # analyse and place the new photo; no regroup yet
    w.analysis = real_analysis
    assert len(calls) > 2
    spots_, tray = groups(st, 1)
    assert "spot33_0.jpg" in next(g for g in spots_ if "spot22_0.jpg" in g)  # where the lead put it
    assert "new_1.jpg" in tray  # its partner is a person's now: the engine does not move it


def camera_jpeg(seed: int) -> bytes:
    """A 2880 x 2160 JPEG: the smallest original that keeps print previews."""
    import io

    from PIL import Image

    rgb = np.random.default_rng(seed).integers(0, 255, (45, 60, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).resize((2880, 2160), Image.Resampling.BILINEAR).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_an_idle_worker_makes_the_print_previews_of_photos_stored_before_they_were_kept(
        tmp_path, models_worker, monkeypatch):
    st = open_store(tmp_path)
    add_batch(st, [(f"IMG_{k}.JPG", camera_jpeg(k)) for k in range(3)])
    w = worker_for(models_worker, tmp_path)
    assert w.run_until_idle().previews == 0  # new photos get theirs at ingest
    with st.write():  # as a store written before print previews were kept
        st.conn.execute("DELETE FROM thumbnails WHERE kind LIKE 'print%'")
    assert w.step().previews == 0  # looked once, found none: not again in this run
    monkeypatch.setenv("EDGE_APP_WORKER_STEP_PHOTOS", "2")
    w = worker_for(models_worker, tmp_path)  # the app started again over that store
    assert [w.step().previews for _ in range(3)] == [4, 2, 0]  # two photos a step, two previews each
    assert photos.missing_print_previews(st) == [] and w._previews_after is None
    kinds = st.query("SELECT kind, count(*) FROM thumbnails GROUP BY kind ORDER BY kind")
    assert [tuple(r) for r in kinds] == [("print", 3), ("print_quarter", 3), ("thumb", 3)]
