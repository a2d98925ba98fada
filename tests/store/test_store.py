"""The store on a real SQLite file: ingest, originals, refusals, migrations, edits, undo."""

import hashlib
import os
import sqlite3
import stat
from datetime import datetime

import pytest

from edge_app.store import SCHEMA_VERSION, StoreError, edits, open_store, photos, sites, spots, views
from edge_app.store.migrations import migrate
from photo_files import spot_photos

DAY = datetime(2026, 5, 4, 9, 0, 0)


@pytest.fixture
def st(tmp_path):
    s = open_store(tmp_path / "data")
    yield s
    s.close()


def add_all(st, files, batch=None):
    return [photos.add_bytes(st, data, name, source="cli", who="test", batch_id=batch) for name, data in files]


def test_a_new_store_is_one_wal_database_with_the_latest_schema(st, tmp_path):
    assert (tmp_path / "data" / "edge_app.db").is_file()
    assert st.scalar("PRAGMA journal_mode") == "wal"
    assert st.scalar("PRAGMA synchronous") == 2  # FULL: a commit is on disk when it returns
    assert st.schema_version() == SCHEMA_VERSION
    assert [r[0] for r in st.query("SELECT version FROM migrations ORDER BY version")] == list(
        range(1, SCHEMA_VERSION + 1))
    assert st.scalar("PRAGMA integrity_check") == "ok"


def test_the_same_photo_added_twice_is_one_photo_and_its_original_is_kept_byte_for_byte(st):
    files = spot_photos(11, 2, DAY)
    first = add_all(st, files)
    again = photos.add_bytes(st, files[0][1], "copy of spot11_0.jpg", source="upload", who="test")
    assert [a.outcome for a in first] == ["added", "added"] and again.outcome == "duplicate"
    assert st.scalar("SELECT count(*) FROM photos") == 2
    for (name, data), a in zip(files, first):
        assert a.sha256 == hashlib.sha256(data).hexdigest()
        p = photos.original_path(st, a.sha256)
        assert p.read_bytes() == data and p.suffix == ".jpg"
        assert not os.stat(p).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)  # never modified
    row = st.one("SELECT * FROM photos WHERE sha256 = ?", (first[0].sha256,))
    assert row["name"] == "spot11_0.jpg" and row["taken_local"] == "2026-05-04 09:00:00"
    assert (row["width"], row["height"], row["state"]) == (640, 480, "waiting")
    thumb = photos.thumbnail(st, first[0].sha256)
    assert thumb[:2] == b"\xff\xd8" and len(thumb) < 60_000
    assert [r["outcome"] for r in st.query("SELECT outcome FROM arrivals ORDER BY id")] == ["added", "added",
                                                                                            "duplicate"]


def test_bad_files_are_refused_with_a_reason_and_nothing_is_stored(st, tmp_path):
    good = spot_photos(22, 1, DAY)[0]
    folder = tmp_path / "card"
    folder.mkdir()
    (folder / "ok.jpg").write_bytes(good[1])
    (folder / "half.jpg").write_bytes(good[1][: len(good[1]) // 2])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("현장 메모", encoding="utf-8")
    (folder / "readme.txt").write_text("hello")
    (folder / "줄\n바꿈.jpg").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    out = {a.name: a for a in photos.add_paths(st, [folder, tmp_path / "missing.jpg"], source="cli", who="t")}
    assert out["ok.jpg"].outcome == "added"
    reasons = {n: a.reason for n, a in out.items() if a.outcome == "refused"}
    assert reasons["half.jpg"] == "truncated or corrupt"
    assert reasons["empty.jpg"] == "empty file"
    assert reasons["notes.jpg"] == "not an image"
    assert reasons["readme.txt"].startswith("not a photo")
    assert reasons["missing.jpg"] == "file not found"
    assert "줄\n바꿈.jpg" in reasons
    assert st.scalar("SELECT count(*) FROM photos") == 1
    assert len(list((st.originals).rglob("*.*"))) == 1
    assert {r["name"] for r in photos.refusals(st)} == set(reasons)


def test_migrating_a_version_1_database_keeps_every_record(tmp_path):
    root = tmp_path / "old"
    root.mkdir()
    conn = sqlite3.connect(root / "edge_app.db", isolation_level=None)
    assert migrate(conn, target=1) == 1
    conn.executescript("""
        INSERT INTO sites (id, name, created_at, created_by) VALUES (1, '3공구', '2026-05-01T00:00:00.000Z', 'engine');
        INSERT INTO photos (sha256, name, ext, bytes, source, added_at, added_by, site_id, state)
          VALUES ('""" + "a" * 64 + """', 'IMG_1.JPG', '.jpg', 10, 'cli', '2026-05-01T00:00:00.000Z', 'x', 1, 'analysed');
        INSERT INTO spots (id, site_id, name, created_at, created_by) VALUES (5, 1, '컨테이너 좌측', '2026-05-01', 'lead');
        INSERT INTO memberships (photo, spot_id, by, created_at) VALUES ('""" + "a" * 64 + """', 5, 'person', 'x');
    """)
    conn.close()
    st = open_store(root)
    assert st.schema_version() == SCHEMA_VERSION
    assert st.one("SELECT name FROM spots WHERE id = 5")["name"] == "컨테이너 좌측"
    assert st.one("SELECT spot_id, by FROM memberships")[:] == (5, "person")
    assert st.scalar("SELECT count(*) FROM pair_scores") == 0  # the new tables exist
    assert st.scalar("PRAGMA integrity_check") == "ok"
    st.close()
    conn = sqlite3.connect(root / "edge_app.db")
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(Exception, match="newer edge-app"):
        open_store(root)


def _site_with_spots(st, groups: dict[str, list[str]]) -> tuple[int, dict[str, int]]:
    """A site whose spots hold the given photos (engine placements), as the worker leaves it."""
    with st.write():
        site_id = sites.create_site(st, "engine")
        ids = {}
        for label, shas in groups.items():
            sid = spots.create_spot(st, site_id, "engine") if label != "tray" else None
            ids[label] = sid
            for sha in shas:
                st.conn.execute("UPDATE photos SET site_id = ? WHERE sha256 = ?", (site_id, sha))
                spots.place(st, sha, sid, "engine", score=0.9)
    return site_id, ids


def snapshot(st, site_id):
    v = views.site_view(st, site_id)
    return ({frozenset(p["sha256"] for p in sp["photos"]): (sp["name"], sp["confirmed"]) for sp in v["spots"]},
            frozenset(p["sha256"] for p in v["unassigned"]))


def test_edits_are_logged_and_undone_step_by_step(st):
    a = [x.sha256 for x in add_all(st, spot_photos(11, 3, DAY))]
    b = [x.sha256 for x in add_all(st, spot_photos(22, 3, DAY))]
    site_id, ids = _site_with_spots(st, {"A": a, "B": b})
    states = [snapshot(st, site_id)]
    spots.move(st, [a[0]], ids["B"], who="kim")
    states.append(snapshot(st, site_id))
    spots.rename(st, ids["B"], "컨테이너 좌측", who="kim")
    states.append(snapshot(st, site_id))
    spots.merge(st, [ids["A"], ids["B"]], who="kim")
    states.append(snapshot(st, site_id))
    res = spots.split(st, ids["A"], [b[1], b[2]], who="kim")
    states.append(snapshot(st, site_id))
    spots.set_phase(st, [a[1]], "after", who="kim")
    spots.confirm(st, res["spot"], who="kim")
    spots.remove_photos(st, [a[2]], who="lee")
    assert a[2] not in str(snapshot(st, site_id))
    log = edits.history(st, site_id)
    assert [e["action"] for e in log] == ["remove", "confirm", "phase", "split", "merge", "rename", "move"]
    assert log[0]["who"] == "lee" and log[-1]["who"] == "kim"
    for _ in range(3):
        edits.undo(st, "kim", site_id)
    assert snapshot(st, site_id) == states[4]
    # back to the phase its capture time gave it when a person's edit put it in its spot
    # (issue 17: a spot a person makes gets phases from its times too), not the person's
    assert st.one("SELECT phase, phase_by FROM photos WHERE sha256 = ?", (a[1],))[:] == ("before", "engine")
    for expected in reversed(states[:4]):
        r = edits.undo(st, "kim", site_id)
        assert r["conflicts"] == 0
        assert snapshot(st, site_id) == expected
    assert edits.undo(st, "kim", site_id) is None  # nothing left
    # undone edits stay in the log
    assert all(e["undone_at"] for e in edits.history(st, site_id))
    # nothing was deleted: every membership a photo ever had is still a row
    assert st.scalar("SELECT count(*) FROM memberships") > len(a) + len(b)


def test_edits_refuse_what_makes_no_sense(st):
    a = [x.sha256 for x in add_all(st, spot_photos(11, 2, DAY))]
    b = [x.sha256 for x in add_all(st, spot_photos(22, 2, DAY))]
    site_id, ids = _site_with_spots(st, {"A": a})
    other_site, other = _site_with_spots(st, {"B": b})
    with pytest.raises(StoreError, match="another site"):
        spots.move(st, [a[0]], other["B"], who="x")
    with pytest.raises(StoreError, match="different sites"):
        spots.move(st, [a[0], b[0]], None, who="x")
    with pytest.raises(StoreError):
        spots.merge(st, [ids["A"]], who="x")
    with pytest.raises(StoreError, match="leave at least one"):
        spots.split(st, ids["A"], a, who="x")
    with pytest.raises(StoreError, match="phase"):
        spots.set_phase(st, [a[0]], "someday", who="x")
    with pytest.raises(StoreError, match="no spot"):
        spots.rename(st, 999, "x", who="x")
    assert edits.history(st) == []  # refused edits leave no trace


def test_a_moved_photo_is_undone_into_the_spot_it_came_from_even_after_engine_changes(st):
    a = [x.sha256 for x in add_all(st, spot_photos(11, 3, DAY))]
    site_id, ids = _site_with_spots(st, {"A": a, "tray": []})
    spots.move(st, [a[0]], None, who="kim")
    with st.write():  # the engine places another photo meanwhile
        spots.place(st, a[1], ids["A"], "engine", score=0.5)
    r = edits.undo(st, "kim", site_id)
    assert r["conflicts"] == 0
    assert spots.current(st, a[0])["spot_id"] == ids["A"]


def test_status_has_the_documented_shape(st):
    a = [x.sha256 for x in add_all(st, spot_photos(11, 2, DAY))]
    site_id, ids = _site_with_spots(st, {"A": a[:1], "tray": a[1:]})
    photos.refuse(st, "broken.jpg", "truncated or corrupt", source="cli", who="t")
    s = views.status(st)
    assert set(s) >= {"sites", "waiting", "refused"}
    site = s["sites"][0]
    assert set(site) >= {"id", "name", "spots", "unassigned"}
    assert set(site["spots"][0]) >= {"id", "name", "confirmed", "photos"}
    assert set(site["spots"][0]["photos"][0]) >= {"name", "sha256", "phase"}
    assert [p["sha256"] for p in site["unassigned"]] == a[1:]
    assert s["refused"] == [{"name": "broken.jpg", "reason": "truncated or corrupt"}]
    assert s["waiting"] == 2  # the worker has not analysed them


def test_the_pair_cache_keeps_every_field_across_a_restart(tmp_path):
    # the table keeps its first column names (``inliers`` holds PairScore.inliers_f)
    from edge_app.store.pair_cache import SqlitePairCache
    from edge_app.engine.vision.verify import PairScore

    sc = PairScore(matches=120, inliers_f=47, inliers_h=31, inlier_ratio=0.39, coverage_a=0.5, coverage_b=0.25)
    st = open_store(tmp_path / "data")
    cache = SqlitePairCache(st, "v1")
    cache[("a" * 64, "b" * 64)] = sc
    assert cache.flush() == 1
    assert st.one("SELECT inliers, inliers_h FROM pair_scores")[:] == (47, 31)
    st.close()
    again = SqlitePairCache(open_store(tmp_path / "data"), "v1")
    assert again[("a" * 64, "b" * 64)] == sc
    with pytest.raises(KeyError):
        SqlitePairCache(again.st, "v2")[("a" * 64, "b" * 64)]
    again.st.close()


def test_separated_moves_reads_the_store_once_whatever_the_number_of_moves(st):
    """What a person took out of a spot, and what stayed there then (the engine's cannot-links,
    issue 20), in two queries, not two a move (issue 16); an undone edit is left out."""
    a = [x.sha256 for x in add_all(st, spot_photos(11, 6, DAY))]
    b = [x.sha256 for x in add_all(st, spot_photos(22, 2, DAY))]
    site_id, ids = _site_with_spots(st, {"A": a, "B": b, "tray": []})
    spots.move(st, [a[0]], ids["B"], who="kim")
    spots.split(st, ids["A"], [a[1]], who="kim")
    spots.move(st, [a[2]], None, who="kim")
    spots.move(st, [a[3], a[4]], ids["B"], who="kim")
    spots.move(st, [a[5]], None, who="kim")
    edits.undo(st, "kim", site_id)
    sql = []
    st.conn.set_trace_callback(sql.append)
    try:
        moves = spots.separated_moves(st, site_id)
    finally:
        st.conn.set_trace_callback(None)
    assert [(photo, spot, stayed) for photo, spot, stayed, _ in moves] == [
        (a[0], ids["A"], frozenset(a[1:])), (a[1], ids["A"], frozenset(a[2:])), (a[2], ids["A"], frozenset(a[3:])),
        (a[3], ids["A"], frozenset(a[5:])), (a[4], ids["A"], frozenset(a[5:]))]
    assert [e for _, _, _, e in moves] == sorted(e for _, _, _, e in moves)
    assert len([s for s in sql if s.lstrip().upper().startswith("SELECT")]) == 2, sql


def test_separated_moves_tells_apart_edits_made_in_the_same_millisecond(st, monkeypatch):
    """The store's times are to the millisecond; a fast hand (or a fast machine) makes several
    edits in one. What stayed in the spot when a photo was taken out is then told by the
    edits' order: a photo another, later edit took out was still there."""
    a = [x.sha256 for x in add_all(st, spot_photos(11, 4, DAY))]
    b = [x.sha256 for x in add_all(st, spot_photos(22, 2, DAY))]
    site_id, ids = _site_with_spots(st, {"A": a, "B": b, "tray": []})
    stopped = spots.now_iso()  # every edit below in this millisecond
    monkeypatch.setattr(spots, "now_iso", lambda: stopped)
    monkeypatch.setattr(edits, "now_iso", lambda: stopped)
    spots.move(st, [a[0]], ids["B"], who="kim")
    spots.move(st, [a[1]], None, who="kim")
    spots.split(st, ids["A"], [a[2]], who="kim")
    assert [(photo, spot, stayed) for photo, spot, stayed, _ in spots.separated_moves(st, site_id)] == [
        (a[0], ids["A"], frozenset(a[1:])), (a[1], ids["A"], frozenset(a[2:])), (a[2], ids["A"], frozenset(a[3:]))]


def test_an_engine_answer_is_written_in_one_call_unless_a_person_changed_the_site_since_it_was_read(st):
    """The worker's one read of a site (spots.engine_view) and one write of the engine's answer
    (spots.write_engine_plan, issue 16): new spots by the answer's own numbers, moves, phases,
    suggestions; a person's edit in between wins (RegroupStale, nothing written)."""
    a = [x.sha256 for x in add_all(st, spot_photos(11, 3, DAY))]
    b = [x.sha256 for x in add_all(st, spot_photos(22, 2, DAY))]
    site_id, ids = _site_with_spots(st, {"A": a[:1], "tray": a[1:] + b})
    with st.write():
        for sha in a + b:
            photos.mark_analysed(st, sha, 0.0)
    view = spots.engine_view(st, site_id, shown=True, moves=True, paths=True)
    assert [r["sha256"] for r in view.rows] == [r["sha256"] for r in spots.analysed_places(st, site_id)]
    assert view.paths == {sha: photos.original_path(st, sha) for sha in a + b} and view.moves == []
    new = spots.NewSpot(0)
    plan = spots.EnginePlan(site_id, view.rows, new_spots=[new],
                            moves=[spots.EngineMove(a[1], ids["A"], 0.8), spots.EngineMove(b[0], new, 0.7),
                                   spots.EngineMove(b[1], new, 0.7), spots.EngineMove(a[2], None, 0.2, rescore=True)],
                            suggestions=[], phases=[ids["A"], new])
    assert spots.write_engine_plan(st, plan) == 0
    made = st.scalar("SELECT max(id) FROM spots WHERE site_id = ?", (site_id,))
    assert made != ids["A"] and set(spots.members(st, made)) == set(b)
    assert set(spots.members(st, ids["A"])) == set(a[:2])
    assert spots.current(st, a[2])["score"] == 0.2 and spots.current(st, a[2])["spot_id"] is None
    stale = spots.engine_view(st, site_id).rows
    spots.move(st, [a[2]], ids["A"], who="kim")
    before = st.scalar("SELECT count(*) FROM memberships")
    with pytest.raises(spots.RegroupStale):
        spots.write_engine_plan(st, spots.EnginePlan(site_id, stale, moves=[spots.EngineMove(a[0], None)]))
    assert st.scalar("SELECT count(*) FROM memberships") == before and a[0] in spots.members(st, ids["A"])


def test_the_worker_s_batch_round_marks_a_batch_regrouped_only_when_each_of_its_sites_was(st):
    batch = photos.start_batch(st, "cli", "test")
    shas = [x.sha256 for x in add_all(st, spot_photos(11, 2, DAY), batch=batch)]
    site_id, _ = _site_with_spots(st, {"A": shas})
    with st.write():
        for sha in shas:
            photos.mark_analysed(st, sha, 0.0)
    asked = []
    assert photos.regroup_ready_batches(st, 3600.0, lambda s: asked.append(s) or False) == []  # still arriving
    assert asked == []
    assert photos.regroup_ready_batches(st, 0.0, lambda s: asked.append(s) or False) == []  # idle: finished
    assert asked == [[site_id]] and photos.batches_to_regroup(st) == [batch]  # a site kept changing: later
    assert photos.regroup_ready_batches(st, 0.0, lambda s: True) == [batch]
    assert photos.batches_to_regroup(st) == []
