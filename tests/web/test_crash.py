"""kill -9 of the server in the middle of an upload of many photos: every photo the server
acknowledged is there after a restart, nothing is half written, and the database is sound."""

import hashlib
import subprocess
import sys
import threading
import time
from datetime import datetime

from edge_app.store import open_store, photos
from live_server import Client, Server
from photo_files import spot_photos

DAY = datetime(2026, 5, 4, 9, 0, 0)
PIN = "482913"


def test_kill_9_during_an_upload_loses_nothing_acknowledged(tmp_path):
    data = tmp_path / "data"
    subprocess.run([sys.executable, "-m", "edge_app.cli", "set-pin", "--data", str(data)], input=PIN + "\n",
                   text=True, check=True, capture_output=True)
    files = []
    for seed in (11, 22, 33, 44, 55, 66):
        files += spot_photos(seed, 6, DAY)
    srv = Server(data).start()
    acked: list[str] = []
    errors: list[str] = []
    try:
        c = Client(srv.url)
        c.login(PIN)
        batch = c.post_json("/batches")["id"]

        def uploader():
            for name, body in files:
                try:
                    res = c.upload(batch, name, body, timeout=20)
                except Exception as e:  # noqa: BLE001 - the connection dies with the server
                    errors.append(f"{name}: {type(e).__name__}")
                    return
                for r in res["results"]:
                    assert r["outcome"] == "added", r
                    acked.append(r["sha256"])

        t = threading.Thread(target=uploader)
        t.start()
        t0 = time.monotonic()
        while len(acked) < 12 and t.is_alive() and time.monotonic() - t0 < 120:
            time.sleep(0.01)
        srv.kill()  # in the middle of the upload, with the worker analysing
        t.join(60)
    finally:
        srv.stop()
    assert 12 <= len(acked) < len(files), "the kill must land mid-upload"
    assert errors, "the upload in flight must have been cut"

    srv2 = Server(data, port=srv.port).start()  # restart on the same data
    try:
        st = open_store(data)
        assert st.scalar("PRAGMA integrity_check") == "ok"
        rows = {r["sha256"]: r for r in st.query("SELECT * FROM photos")}
        assert set(acked) <= set(rows)  # every acknowledged photo is there
        for sha, r in rows.items():  # and no row is half written
            original = photos.original_path(st, sha, r["ext"])
            assert hashlib.sha256(original.read_bytes()).hexdigest() == sha
            assert st.scalar("SELECT count(*) FROM thumbnails WHERE photo = ? AND kind = 'thumb'", (sha,)) == 1
        assert st.scalar("SELECT count(*) FROM arrivals WHERE outcome = 'added'") == len(rows)
        by_sha = {hashlib.sha256(b).hexdigest(): n for n, b in files}
        assert {rows[s]["name"] for s in acked} == {by_sha[s] for s in acked}
        # the restarted worker finishes the job: the interrupted batch closes by itself
        # after its idle time, and what arrived is analysed
        t0 = time.monotonic()
        while st.scalar("SELECT count(*) FROM photos WHERE state = 'waiting'") and time.monotonic() - t0 < 120:
            time.sleep(0.5)
        assert st.scalar("SELECT count(*) FROM photos WHERE state = 'waiting'") == 0
        assert st.scalar("SELECT count(*) FROM photos WHERE state = 'analysed'") == len(rows)
        st.close()
    finally:
        srv2.stop()
