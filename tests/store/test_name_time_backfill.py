"""Store migration 12 (issue 18): photos stored before migration 8 without an EXIF time take
the time their file name carries, by the intake's own rule (engine.metadata.capture_time), marked
'file name' / 'file name date'; photos with an EXIF time or without a dated name are left
as they were, and a second run changes nothing."""

import sqlite3
from datetime import datetime

from edge_app.store import SCHEMA_VERSION, migrations, open_store, photos
from edge_app.store.migrations import MIGRATIONS, migrate
from photo_files import spot_photos

COLS = "sha256, taken_at, taken_local, taken_from"
EXIF_AT = datetime(2026, 5, 4, 9, 0, 0).timestamp()

#: name -> (taken_local, taken_from) after opening; None: left as it was
OLD_PHOTOS = {
    "IMG_20231110_084214.jpg": ("2023-11-10 08:42:14", "file name"),
    "KakaoTalk_20240305_101522123.jpg": ("2024-03-05 10:15:22", "file name"),
    "Screenshot_20240305-101522.png": ("2024-03-05 10:15:22", "file name"),
    "IMG-20231110-WA0009.jpg": ("2023-11-10 00:00:00", "file name date"),
    "IMG_1234.JPG": None,  # no date in the name
    "20991231_235959.jpg": None,  # a date after the device's clock is no time
}


def _sha(k: int) -> str:
    return f"{k:064x}"


def _old_store(root):
    """A store at migration 7 (before taken_from) with the photos above, one more whose name
    is dated but whose EXIF time wins, as an edge-app of that time left them."""
    root.mkdir(parents=True)
    conn = sqlite3.connect(root / "edge_app.db", isolation_level=None)
    assert migrate(conn, target=7) == 7
    rows = [(_sha(k), name, None, None) for k, name in enumerate(OLD_PHOTOS)]
    rows.append((_sha(99), "IMG_20231110_084214_exif.jpg", EXIF_AT, "2026-05-04 09:00:00"))
    conn.executemany("INSERT INTO photos (sha256, name, ext, bytes, source, added_at, added_by, state, taken_at, "
                     "taken_local) VALUES (?, ?, '.jpg', 10, 'cli', '2026-05-01T00:00:00.000Z', 'x', 'analysed', ?, ?)",
                     rows)
    conn.close()


def test_photos_stored_before_migration_8_take_their_file_names_time(tmp_path):
    root = tmp_path / "old"
    _old_store(root)
    with open_store(root) as st:
        assert st.schema_version() == SCHEMA_VERSION >= 12
        assert st.scalar("SELECT name FROM migrations WHERE version = 12").startswith("capture times from file names")
        got = {r["name"]: r for r in st.query(f"SELECT name, {COLS} FROM photos")}
        for name, want in OLD_PHOTOS.items():
            r = got[name]
            if want is None:
                assert (r["taken_at"], r["taken_local"], r["taken_from"]) == (None, None, None), name
            else:
                assert (r["taken_local"], r["taken_from"]) == want, name
                # the intake's own value: the name's clock read as UTC
                assert r["taken_at"] == datetime.fromisoformat(want[0] + "+00:00").timestamp()
        exif = got["IMG_20231110_084214_exif.jpg"]
        assert (exif["taken_at"], exif["taken_local"], exif["taken_from"]) == (EXIF_AT, "2026-05-04 09:00:00", "exif")
        before = st.query(f"SELECT {COLS} FROM photos ORDER BY sha256")
    # opening again, or running the step again, changes nothing
    with open_store(root) as st:
        assert st.query(f"SELECT {COLS} FROM photos ORDER BY sha256") == before
        assert st.scalar("SELECT count(*) FROM migrations WHERE version = 12") == 1
        with st.write():
            assert migrations.backfill_name_times(st.conn) == 0
        assert st.query(f"SELECT {COLS} FROM photos ORDER BY sha256") == before


def test_the_same_values_as_a_photo_added_now(tmp_path):
    """A photo added through the intake today and the same photo forced back to the old state
    (no time, schema 11) get the same time from the migration."""
    root = tmp_path / "data"
    (_, with_exif), = spot_photos(3, 1, start=datetime(2026, 5, 4, 9, 0, 0))
    (_, no_exif), = spot_photos(4, 1)  # no EXIF time
    with open_store(root) as st:
        a = photos.add_bytes(st, no_exif, "KakaoTalk_20240305_101522123.jpg", source="cli", who="t")
        b = photos.add_bytes(st, with_exif, "IMG_20231110_084214.jpg", source="cli", who="t")  # EXIF time wins
        intake = st.query(f"SELECT {COLS} FROM photos ORDER BY sha256")
        assert st.one("SELECT taken_from FROM photos WHERE sha256 = ?", (a.sha256,))["taken_from"] == "file name"
        assert st.one("SELECT taken_from FROM photos WHERE sha256 = ?", (b.sha256,))["taken_from"] == "exif"
        with st.write():
            st.conn.execute("UPDATE photos SET taken_at = NULL, taken_local = NULL, taken_from = NULL "
                            "WHERE sha256 = ?", (a.sha256,))
            st.conn.execute("DELETE FROM migrations WHERE version >= 12")
        st.conn.execute("PRAGMA user_version = 11")
    with open_store(root) as st:
        assert st.query(f"SELECT {COLS} FROM photos ORDER BY sha256") == intake


def test_a_python_step_runs_inside_its_migrations_transaction(tmp_path, monkeypatch):
    """A failing step leaves the database at the version before it (nothing half done)."""
    root = tmp_path / "old"
    _old_store(root)
    import edge_app.store.migrations as m

    def boom(conn):
        migrations.backfill_name_times(conn)
        raise RuntimeError("power cut")

    steps = [(v, n, boom if v == 12 else s) for v, n, s in MIGRATIONS]
    monkeypatch.setattr(m, "MIGRATIONS", steps)
    conn = sqlite3.connect(root / "edge_app.db", isolation_level=None)
    try:
        try:
            m.migrate(conn)
        except RuntimeError:
            pass
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 11
        assert conn.execute("SELECT count(*) FROM photos WHERE taken_from LIKE 'file name%'").fetchone()[0] == 0
    finally:
        conn.close()


def test_spots_of_photos_whose_time_came_from_their_names_get_their_stages(tmp_path):
    """Migration 13: an unconfirmed spot whose photos took their times from their names
    (migration 12) gets the engine's stages from those times, as if the engine had placed
    them now; a person's stage stays, a photo without a time has none, and a confirmed spot
    keeps what the lead confirmed (head office holds that version)."""
    root = tmp_path / "old"
    _old_store(root)
    names = {name: _sha(k) for k, name in enumerate(OLD_PHOTOS)}
    names["exif"] = _sha(99)
    at = "2026-05-01T00:00:00.000Z"
    conn = sqlite3.connect(root / "edge_app.db", isolation_level=None)
    conn.execute("INSERT INTO sites (id, created_at, created_by) VALUES (1, ?, 'engine')", (at,))
    conn.execute("INSERT INTO spots (id, site_id, created_at, created_by) VALUES (1, 1, ?, 'engine')", (at,))
    conn.execute("INSERT INTO spots (id, site_id, created_at, created_by, confirmed_at, confirmed_by) "
                 "VALUES (2, 1, ?, 'engine', ?, 'lead')", (at, at))
    places = {"IMG_20231110_084214.jpg": 1, "KakaoTalk_20240305_101522123.jpg": 1, "IMG_1234.JPG": 1, "exif": 1,
              "Screenshot_20240305-101522.png": 2, "IMG-20231110-WA0009.jpg": 2}
    for name, spot in places.items():
        conn.execute("INSERT INTO memberships (photo, spot_id, by, created_at) VALUES (?, ?, 'engine', ?)",
                     (names[name], spot, at))
    conn.execute("UPDATE photos SET phase = 'during', phase_by = 'person' WHERE sha256 = ?", (names["exif"],))
    conn.close()
    with open_store(root) as st:
        assert st.schema_version() == SCHEMA_VERSION >= 13
        got = {name: tuple(st.one("SELECT phase, phase_by FROM photos WHERE sha256 = ?", (sha,)))
               for name, sha in names.items() if name in places}
        assert got == {
            # three visits: November 2023, March 2024 and the EXIF photo's May 2026
            "IMG_20231110_084214.jpg": ("before", "engine"), "KakaoTalk_20240305_101522123.jpg": ("during", "engine"),
            "exif": ("during", "person"),  # the lead's stage stays
            "IMG_1234.JPG": (None, None),  # no time, no stage
            "Screenshot_20240305-101522.png": (None, None), "IMG-20231110-WA0009.jpg": (None, None),  # confirmed
        }
        with st.write():
            assert migrations.phases_from_name_times(st.conn) == 0
