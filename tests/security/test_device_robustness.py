"""Issue 19, the device's side: probes against the real site app, store and a real head
office on 127.0.0.1 that failed before the fix.

* a 409 naming photos head office lacks (restored from an older backup) makes the sender
  send them again, at once;
* ``edge-app sync --once`` tries everything now and says, by its exit status, whether
  anything is left;
* a photo whose analysis failed because the disk was full (a real full file system: a
  small tmpfs; the test skips where mounting is not allowed) is tried again, and placed;
* temporary files a killed write left are removed when the store opens; a read-only data
  folder is one clear line from every command, not a traceback;
* an upload to a full device is answered 507 with what to do, and nothing acknowledged
  is lost.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sync"))

from datetime import datetime  # noqa: E402

from edge_app.store import open_store, outbox, photos, sites, spots, views  # noqa: E402
from edge_app.sync import SyncConfig, run_once  # noqa: E402
from hq_process import HQ, device_with_spots  # noqa: E402
import urllib.error  # noqa: E402
import uuid  # noqa: E402

from live_server import Client, Server, free_port  # noqa: E402
from photo_files import spot_photos  # noqa: E402


def edge_app(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``edge-app ARGS`` as a child process (the real command line)."""
    return subprocess.run([sys.executable, "-m", "edge_app.cli", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def hq_spots(hq: HQ) -> list[dict]:
    p = hq.cli("status", "--json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)["spots"]


@pytest.fixture
def hq(tmp_path):
    h = HQ(tmp_path / "hq")
    yield h
    h.stop()


# --------------------------------------------------------------------------- 6a


def backed_up_hq(hq, tmp_path) -> tuple[str, Path]:
    """Head office with device jetson-1, running, and a backup of it made before any photo
    arrived: (the device's secret, the backup's folder)."""
    hq.start()
    secret = hq.add_device("jetson-1")
    hq.stop()
    backup = tmp_path / "hq-backup"
    shutil.copytree(hq.data, backup)
    hq.start()
    return secret, backup


def restore(hq, backup) -> None:
    """Head office restored from the older backup: the photos it received since are gone."""
    hq.stop()
    shutil.rmtree(hq.data)
    shutil.copytree(backup, hq.data)
    hq.start()


def test_photos_head_office_lost_in_a_restore_are_sent_again_at_once(tmp_path, hq):
    secret, backup = backed_up_hq(hq, tmp_path)
    st, site, ids = device_with_spots(tmp_path / "dev", 1, 3)
    conf = SyncConfig(hq.url, "jetson-1", secret)
    assert run_once(st, conf)["spots_sent"] == 1
    restore(hq, backup)
    spots.rename(st, ids[0], "컨테이너 좌측", who="kim")  # a new version of the spot
    r = run_once(st, conf)
    assert r["failed"] == 0 and r["spots_sent"] == 1, r
    assert r["photos_resent"] == 3 and r["photos_sent"] == 3
    got = hq_spots(hq)
    assert [(x["spot_id"], x["version"], x["name"]) for x in got] == [(ids[0], 2, "컨테이너 좌측")]
    for p in got[0]["photos"]:
        held = (hq.data / "blobs" / p["sha256"][:2] / p["sha256"]).read_bytes()
        assert hashlib.sha256(held).hexdigest() == p["sha256"]
    assert outbox.spot_states(st, site) == {ids[0]: "synced"}


def test_sync_now_sends_an_entry_that_needed_attention_after_a_restore(tmp_path, hq):
    secret, backup = backed_up_hq(hq, tmp_path)
    st, site, ids = device_with_spots(tmp_path / "dev", 2, 2)
    conf = SyncConfig(hq.url, "jetson-1", secret)
    assert run_once(st, conf)["spots_sent"] == 2
    restore(hq, backup)
    spots.rename(st, ids[1], "배수로 끝", who="kim")
    with st.write():  # as the old sender left it: 8 refusals, "needs attention"
        st.conn.execute("UPDATE outbox SET state = 'attention', attempts = 8, last_error = 'head office answered "
                        "409: photos missing at head office' WHERE state = 'pending'")
    p = edge_app("sync", "--data", str(tmp_path / "dev"), "--once", "--hq-url", hq.url, "--device", "jetson-1",
                 "--secret", secret)
    assert p.returncode == 0, p.stdout + p.stderr
    rep = json.loads(p.stdout)
    assert rep["pending"] == 0 and rep["attention"] == 0 and rep["photos_resent"] == 2
    assert {(x["spot_id"], x["version"]) for x in hq_spots(hq)} == {(ids[1], 2)}


# --------------------------------------------------------------------------- 6d


def test_sync_once_says_when_head_office_is_unreachable_and_retries_what_waits_in_back_off(tmp_path, hq):
    st, site, ids = device_with_spots(tmp_path / "dev", 2, 2)
    hq.port = free_port()
    args = ["sync", "--data", str(tmp_path / "dev"), "--once", "--hq-url", hq.url, "--device", "jetson-1"]
    p = edge_app(*args, "--secret", "0" * 64)  # nobody listens there
    assert p.returncode != 0 and "Traceback" not in p.stderr
    line = p.stderr.strip().splitlines()[-1]
    assert "2 spot versions not sent" in line and "unreachable" in line, p.stderr
    assert st.scalar("SELECT max(next_attempt_at) FROM outbox") > 0  # the first one waits in back-off
    # head office comes back; --once does not wait for the back-off to run out
    hq.start()
    secret = hq.add_device("jetson-1")
    p = edge_app(*args, "--secret", secret)
    assert p.returncode == 0, p.stdout + p.stderr
    rep = json.loads(p.stdout)
    assert rep["spots_sent"] == 2 and rep["pending"] == 0
    assert {(x["spot_id"], x["version"]) for x in hq_spots(hq)} == {(ids[0], 1), (ids[1], 1)}
    # a refusal (an unknown device) is non-zero with the count and head office's reason
    spots.rename(st, ids[0], "새 이름", who="kim")
    p = edge_app(*args, "--secret", "1" * 64)
    assert p.returncode == 1
    assert "1 spot version not sent" in p.stderr and "401" in p.stderr, p.stderr


# --------------------------------------------------------------------------- 6b


@pytest.fixture
def small_fs(tmp_path):
    """mount(FOLDER, size) -> a real tmpfs of ``size`` over FOLDER, unmounted at the end;
    skips where this process may not mount."""
    mounted = []

    def mount(folder: Path, size: str = "2m") -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                           capture_output=True, text=True)
        if p.returncode:
            pytest.skip(f"cannot mount a small tmpfs here ({p.stderr.strip()})")
        mounted.append(folder)
        return folder

    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def fill(folder: Path) -> Path:
    """Write a file in ``folder`` until its file system is full (ENOSPC)."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as f:  # unbuffered: nothing left to flush on close
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError as e:
            assert e.errno == errno.ENOSPC
    return filler


def test_photos_whose_analysis_hit_a_full_disk_are_tried_again_and_placed(tmp_path, small_fs):
    from edge_app.worker import Worker

    root = tmp_path / "data"
    st = open_store(root)
    filler = fill(small_fs(root / "cache"))  # the feature cache's disk is full
    files = spot_photos(11, 4, datetime(2026, 5, 4, 9, 0))
    batch = photos.start_batch(st, "cli", "t")
    for name, data in files:
        assert photos.add_bytes(st, data, name, source="cli", who="t", batch_id=batch).outcome == "added"
    # and one photo that is itself bad: taken in whole, its original damaged on disk since
    bad_name, bad_data = spot_photos(12, 1, datetime(2026, 5, 4, 9, 0), prefix="bad")[0]
    bad = photos.add_bytes(st, bad_data, bad_name, source="cli", who="t", batch_id=batch).sha256
    os.chmod(photos.original_path(st, bad), 0o644)
    photos.original_path(st, bad).write_bytes(bad_data[:len(bad_data) // 2])
    photos.finish_batch(st, batch)
    rep = Worker(root).run_until_idle()
    assert rep.failed == 1 and rep.put_off == 4 and rep.analysed == 0  # full disk: put off, not refused
    assert views.status(st)["refused"] == [{"name": bad_name, "reason": "truncated or corrupt"}]
    assert views.status(st)["waiting"] == 4
    rows = st.query("SELECT state, tries, retry_at FROM photos WHERE sha256 != ?", (bad,))
    assert all(r["state"] == "waiting" and r["tries"] == 1 and r["retry_at"] > 0 for r in rows)
    # the lead uploads one again: "duplicate", and it is due again at once
    again = photos.add_bytes(st, files[0][1], files[0][0], source="upload", who="t")
    assert again.outcome == "duplicate"
    assert st.scalar("SELECT retry_at FROM photos WHERE sha256 = ?", (again.sha256,)) is None
    os.unlink(filler)  # space is freed; the app starts again (edge-app serve / add)
    rep = Worker(root).run_until_idle()
    assert rep.analysed == 4 and rep.failed == 0 and rep.put_off == 0  # the bad one is not tried again
    assert photos.batch_progress(st, batch)["regrouped"]
    v = views.status(st)
    placed = [p["name"] for site in v["sites"] for sp in site["spots"] for p in sp["photos"]]
    assert sorted(placed) == sorted(name for name, _ in files) and v["waiting"] == 0
    assert v["refused"] == [{"name": bad_name, "reason": "truncated or corrupt"}]



# --------------------------------------------------------------------------- 6c


def test_temp_files_of_killed_writes_are_removed_when_the_store_opens_and_live_ones_kept(tmp_path):
    root = tmp_path / "data"
    st = open_store(root)
    name, data = spot_photos(13, 1)[0]
    photos.add_bytes(st, data, name, source="cli", who="t")
    st.close()
    hour_ago = time.time() - 2 * 3600
    stale = [root / "tmp" / ".tmp-k1ll3d", root / "cache" / "features" / "ab" / ".tmp-h4lf"]
    for p in stale:  # what a kill -9 in the middle of write_atomic leaves
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"\xff\xd8 half a photo")
        os.utime(p, (hour_ago, hour_ago))
    live = root / "tmp" / ".tmp-wr1t1ng"  # another process is writing it now
    live.write_bytes(b"\xff\xd8 being written")
    other = root / "tmp" / "keep.txt"
    other.write_bytes(b"not ours")
    os.utime(other, (hour_ago, hour_ago))
    p = edge_app("status", "--data", str(root))
    assert p.returncode == 0, p.stderr
    assert not any(x.exists() for x in stale)
    assert live.exists() and other.exists()


def test_a_read_only_data_folder_is_one_clear_line_from_every_command(tmp_path, small_fs):
    root = small_fs(tmp_path / "ro", "16m") / "data"
    st = open_store(root)
    with st.write():
        site = sites.create_site(st, "engine", "3공구")
    name, data = spot_photos(14, 1)[0]
    photos.add_bytes(st, data, name, source="cli", who="t")
    st.close()
    p = subprocess.run(["mount", "-o", "remount,ro", str(tmp_path / "ro")], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    card = tmp_path / "card"
    card.mkdir()
    (card / "a.jpg").write_bytes(spot_photos(15, 1)[0][1])
    for args in (["status"], ["add", str(card)], ["export", "--site", str(site), "--format", "zip", "--out",
                                                  str(tmp_path / "o.zip")], ["serve", "--port", str(free_port())]):
        p = edge_app(args[0], "--data", str(root), *args[1:])
        assert p.returncode != 0, (args, p.stdout)
        assert "Traceback" not in p.stderr, (args, p.stderr)
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "read-only" in lines[0], (args, p.stderr)


# --------------------------------------------------------------------------- 7 (disk full on upload)


def form_upload(c: Client, name: str, data: bytes) -> tuple[int, str]:
    """The no-JavaScript door: one multipart POST to /upload; (status, page)."""
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{c.csrf}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"{name}\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(c.base + "/upload", data=body, method="POST", headers={
        "X-CSRF-Token": c.csrf, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with c.opener.open(req, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_an_upload_to_a_full_device_says_so_and_loses_nothing_acknowledged(tmp_path, small_fs):
    disk = small_fs(tmp_path / "disk", "24m")
    data = disk / "data"
    p = subprocess.run([sys.executable, "-m", "edge_app.cli", "set-pin", "--data", str(data)], input="482913\n",
                       text=True, capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr
    files = spot_photos(16, 4, datetime(2026, 5, 4, 9, 0))
    srv = Server(data).start()
    try:
        c = Client(srv.url)
        c.login("482913")
        batch = c.post_json("/batches")["id"]
        acked = [c.upload(batch, name, body)["results"][0] for name, body in files[:2]]
        assert [a["outcome"] for a in acked] == ["added", "added"]
        filler = fill(disk)
        with pytest.raises(urllib.error.HTTPError) as e:
            c.upload(batch, *files[2])
        assert e.value.code == 507
        answer = json.loads(e.value.read())
        assert answer["error"] == "device full" and "저장 공간" in answer["message"], answer
        status, page = form_upload(c, *files[3])  # the form door (no JavaScript) likewise
        assert status == 507 and "저장 공간이 가득" in page and "Internal Server Error" not in page
        os.unlink(filler)  # space freed: the rest goes in
        assert c.upload(batch, *files[2])["results"][0]["outcome"] == "added"
        assert form_upload(c, *files[3])[0] == 200
    finally:
        srv.stop()
    st = open_store(data)
    held = {r["sha256"]: r["ext"] for r in st.query("SELECT sha256, ext FROM photos")}
    assert {a["sha256"] for a in acked} <= set(held) and len(held) == 4
    for sha, ext in held.items():  # every original whole
        assert hashlib.sha256(photos.original_path(st, sha, ext).read_bytes()).hexdigest() == sha
