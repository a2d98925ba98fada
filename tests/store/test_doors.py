"""The other doors: a watched folder (SD card, sync folder), `edge-app add` handing its work
to a running server, and people's edits of sites."""

import os
import subprocess
import sys
import time
from datetime import datetime

from edge_app.store import edits, open_store, photos, sites, spots, views
from edge_app.watch import scan_once
from live_server import Server
from photo_files import spot_photos, write

DAY = datetime(2026, 5, 4, 9, 0, 0)


def test_a_watched_folder_takes_settled_files_once(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGE_APP_WATCH_SETTLE_S", "0")  # settled once unchanged for one scan, however young
    st = open_store(tmp_path / "data")
    card = tmp_path / "sd" / "DCIM"
    files = spot_photos(11, 3, DAY)
    write(card, files[:2])
    pending: dict = {}
    assert scan_once(st, tmp_path / "sd", pending=pending) == []  # first sight: not settled yet
    first = scan_once(st, tmp_path / "sd", pending=pending)
    assert sorted(a.name for a in first) == ["spot11_0.jpg", "spot11_1.jpg"]
    assert all(a.outcome == "added" for a in first)
    assert scan_once(st, tmp_path / "sd", pending=pending) == []  # nothing new: nothing taken
    # a file still being copied (changing between scans) waits; a copy of a known photo is a duplicate
    (card / "copying.jpg").write_bytes(files[2][1][:1000])
    (card / "again.jpg").write_bytes(files[0][1])
    assert scan_once(st, tmp_path / "sd", pending=pending) == []
    (card / "copying.jpg").write_bytes(files[2][1])  # the copy goes on
    os.utime(card / "copying.jpg", (time.time() - 5, time.time() - 5))
    got = {a.name: a.outcome for a in scan_once(st, tmp_path / "sd", pending=pending)}
    assert got == {"again.jpg": "duplicate"}  # the half copy was never taken
    got = {a.name: a.outcome for a in scan_once(st, tmp_path / "sd", pending=pending)}
    assert got == {"copying.jpg": "added"}
    assert st.scalar("SELECT count(*) FROM photos") == 3
    assert st.scalar("SELECT count(*) FROM batches WHERE source = 'watch' AND finished_at IS NOT NULL") == 3


def test_add_hands_its_photos_to_a_running_server_and_waits(tmp_path):
    data = tmp_path / "data"
    srv = Server(data).start()
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 60:  # the server's worker is up once it beats
            with open_store(data) as st:
                from edge_app.worker import worker_alive

                if worker_alive(st):
                    break
            time.sleep(0.2)
        write(tmp_path / "card", spot_photos(11, 3, DAY) + spot_photos(22, 3, DAY))
        p = subprocess.run([sys.executable, "-m", "edge_app.cli", "add", "--data", str(data), str(tmp_path / "card")],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        assert "handing the photos to the running edge-app serve" in p.stderr
        assert "6 added" in p.stdout and "6 analysed" in p.stdout
        with open_store(data) as st:
            (site,) = views.status(st)["sites"]
            assert sorted(len(sp["photos"]) for sp in site["spots"]) == [3, 3]
    finally:
        srv.stop()


def test_sites_are_renamed_merged_and_split_by_a_person_and_undone(tmp_path):
    st = open_store(tmp_path / "data")
    a = [photos.add_bytes(st, d, n, source="cli", who="t").sha256 for n, d in spot_photos(11, 2, DAY)]
    b = [photos.add_bytes(st, d, n, source="cli", who="t").sha256 for n, d in spot_photos(22, 2, DAY)]
    with st.write():
        s1, s2 = sites.create_site(st, "engine"), sites.create_site(st, "engine")
        sp1, sp2 = spots.create_spot(st, s1, "engine"), spots.create_spot(st, s2, "engine")
        for sha in a:
            st.conn.execute("UPDATE photos SET site_id = ? WHERE sha256 = ?", (s1, sha))
            spots.place(st, sha, sp1, "engine")
        for sha in b:
            st.conn.execute("UPDATE photos SET site_id = ? WHERE sha256 = ?", (s2, sha))
            spots.place(st, sha, sp2, "engine")
    sites.rename(st, s1, "3공구 배수로", who="kim")
    sites.merge(st, [s1, s2], who="kim")
    assert [s["id"] for s in sites.list_sites(st)] == [s1]
    assert {sp["id"] for sp in views.site_view(st, s1)["spots"]} == {sp1, sp2}
    new = sites.split(st, s1, spot_ids=[sp2], who="kim")["site"]
    assert {sp["id"] for sp in views.site_view(st, new)["spots"]} == {sp2}
    assert {sp["id"] for sp in views.site_view(st, s1)["spots"]} == {sp1}
    edits.undo(st, "kim", site_id=s1)  # the split
    edits.undo(st, "kim", site_id=s1)  # the merge
    assert sorted(s["id"] for s in sites.list_sites(st)) == [s1, s2]
    assert st.scalar("SELECT name FROM sites WHERE id = ?", (s1,)) == "3공구 배수로"
