"""Where a photo's capture time comes from reaches head office (issue 18): the device's manifest
carries ``taken_from`` ('exif' | 'file name' | 'file name date'), head office keeps it
(spot_photos.taken_from, its migration 2) and its photo ledger prints the "(파일명)" mark as
the device's does. A manifest from before (without the field) is still taken: its times' source
is unknown, printed without a mark."""

import json
import sqlite3
import subprocess
from datetime import datetime

import pytest

from edge_app.hq import db as hq_db
from edge_app.hq.db import HQDatabase
from edge_app.ledger import build_ledger, write
from edge_app.hq.ledger_source import HeadOfficeSource
from edge_app.store import outbox, photos, spots
from edge_app.sync import SyncConfig, run_once
from edge_app.sync.transport import HQClient
from hq_process import HQ, device_with_spots
from photo_files import spot_photos


@pytest.fixture
def hq(tmp_path):
    h = HQ(tmp_path / "hq").start()
    yield h
    h.stop()


def device_with_a_messenger_photo(root):
    """A device with one spot of 3 camera photos (EXIF times) and one sent through a messenger
    (no EXIF time; its name carries 2026-05-04 10:15:22), confirmed; the lead set the first
    photo "before" and the messenger's "after"."""
    st, site, ids = device_with_spots(root, 1, 3, confirm=False)
    (_, data), = spot_photos(77, 1)  # no capture time in it
    sha = photos.add_bytes(st, data, "KakaoTalk_20260504_101522123.jpg", source="cli", who="t").sha256
    with st.write():
        st.conn.execute("UPDATE photos SET site_id = ?, state = 'analysed' WHERE sha256 = ?", (site, sha))
        spots.place(st, sha, ids[0], "engine", score=0.9)
    first = st.scalar("SELECT sha256 FROM photos WHERE site_id = ? AND sha256 != ? ORDER BY taken_at LIMIT 1",
                      (site, sha))
    spots.set_phase(st, [first], "before", who="kim")
    spots.set_phase(st, [sha], "after", who="kim")
    spots.confirm(st, ids[0], who="kim")
    return st, site, ids[0], sha


def hq_ledger_text(hq, device, site, tmp_path) -> str:
    c = HQDatabase.open(hq.data).connect()
    try:
        led = build_ledger(HeadOfficeSource(c, hq.data, device), site)
        write(led, "pdf", tmp_path / "hq.pdf")
    finally:
        c.close()
    return subprocess.run(["pdftotext", "-layout", str(tmp_path / "hq.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_a_time_read_from_the_file_name_is_marked_in_head_offices_ledger(tmp_path, hq):
    secret = hq.add_device("jetson-1")
    st, site, spot, sha = device_with_a_messenger_photo(tmp_path / "dev")
    m = json.loads(st.scalar("SELECT manifest FROM outbox"))
    assert {p["sha256"]: p["taken_from"] for p in m["photos"]}[sha] == "file name"
    assert {p["taken_from"] for p in m["photos"] if p["sha256"] != sha} == {"exif"}
    assert run_once(st, SyncConfig(hq.url, "jetson-1", secret))["spots_sent"] == 1
    # head office keeps it with the photo ...
    status = json.loads(hq.cli("status", "--json").stdout)
    got = {p["sha256"]: (p["taken_local"], p["taken_from"]) for p in status["spots"][0]["photos"]}
    assert got[sha] == ("2026-05-04 10:15:22", "file name")
    # ... and its ledger prints the mark where the device's does
    text = hq_ledger_text(hq, "jetson-1", site, tmp_path)
    assert "2026.05.04 10:15 (파일명)" in text
    assert "(파일명): 사진에 촬영시각(EXIF)이 없어 파일 이름에서 읽은 일시" in text  # the legend at the page's foot
    assert text.count("(파일명)") >= 2 and "2026.05.04 09:00 (파일명)" not in text  # the camera's own: no mark


def test_a_manifest_from_before_the_field_is_taken_and_printed_without_a_mark(tmp_path, hq):
    secret = hq.add_device("jetson-1")
    st, site, spot, sha = device_with_a_messenger_photo(tmp_path / "dev")
    entry = st.one("SELECT key, manifest FROM outbox")
    old = json.loads(entry["manifest"])
    for p in old["photos"]:
        del p["taken_from"]  # as a device of the version before sent it
    cli = HQClient(hq.url, "jetson-1", secret)
    for p in old["photos"]:  # the photos first, as the sync does
        cli.request("PUT", f"/blobs/{p['sha256']}", body=photos.original_path(st, p["sha256"]).read_bytes())
    r = cli.request("POST", "/manifests", body=json.dumps(old, ensure_ascii=False).encode(),
                    headers={"Idempotency-Key": entry["key"]})
    assert r.status == 201
    status = json.loads(hq.cli("status", "--json").stdout)
    assert {p["taken_from"] for p in status["spots"][0]["photos"]} == {None}  # unknown
    text = hq_ledger_text(hq, "jetson-1", site, tmp_path)
    assert "2026.05.04 10:15" in text and "(파일명)" not in text


def test_a_value_head_office_does_not_know_is_kept_as_unknown_and_a_wrong_type_refused(tmp_path, hq):
    secret = hq.add_device("jetson-1")
    st, site, spot, sha = device_with_a_messenger_photo(tmp_path / "dev")
    entry = st.one("SELECT key, manifest FROM outbox")
    cli = HQClient(hq.url, "jetson-1", secret)
    m = json.loads(entry["manifest"])
    for p in m["photos"]:
        cli.request("PUT", f"/blobs/{p['sha256']}", body=photos.original_path(st, p["sha256"]).read_bytes())
    from edge_app.sync.transport import Refused

    bad = json.loads(entry["manifest"])
    bad["photos"][0]["taken_from"] = 3
    with pytest.raises(Refused) as e:
        cli.request("POST", "/manifests", body=json.dumps(bad).encode(), headers={"Idempotency-Key": "k-bad-type-01"})
    assert e.value.status == 422 and "photos[].taken_from" in str(e.value)
    m["photos"][0]["taken_from"] = "gps clock"  # a later device's word
    assert cli.request("POST", "/manifests", body=json.dumps(m).encode(),
                       headers={"Idempotency-Key": entry["key"]}).status == 201
    status = json.loads(hq.cli("status", "--json").stdout)
    assert status["spots"][0]["photos"][0]["taken_from"] is None


def test_an_existing_head_office_database_gains_the_column(tmp_path, monkeypatch):
    """A head office made before migration 2, with a spot received: opening it adds the column;
    the old rows read as unknown."""
    root = tmp_path / "hq"
    root.mkdir()
    monkeypatch.setattr(hq_db, "MIGRATIONS", hq_db.MIGRATIONS[:1])
    c = HQDatabase.open(root).connect()
    with c.tx():
        c.execute("INSERT INTO blobs (sha256, bytes, device, received_at) VALUES (?, 1, 'd', 'now')", ("a" * 64,))
        vid = c.insert_id("INSERT INTO spot_versions (device, spot_id, version, n_photos, manifest, content_sha256, "
                          "idem_key, received_at) VALUES ('d', 1, 1, 1, '{}', 'x', 'k', 'now')")
        c.execute("INSERT INTO spot_photos (version_id, sha256, name, position) VALUES (?, ?, 'a.jpg', 0)",
                  (vid, "a" * 64))
    c.close()
    monkeypatch.undo()
    c = HQDatabase.open(root).connect()
    try:
        assert c.scalar("SELECT max(version) FROM hq_migrations") == 2
        assert c.one("SELECT name, taken_from FROM spot_photos") == {"name": "a.jpg", "taken_from": None}
    finally:
        c.close()
    cols = [r[1] for r in sqlite3.connect(root / "hq.db").execute("PRAGMA table_info(spot_photos)")]
    assert "taken_from" in cols


def test_the_outbox_manifest_says_where_each_time_comes_from(tmp_path):
    st, _, ids = device_with_spots(tmp_path / "dev", 1, 2)
    m = outbox.manifest(st, ids[0])
    assert [p["taken_from"] for p in m["photos"]] == ["exif", "exif"]
    assert datetime.strptime(m["photos"][0]["taken_local"], "%Y-%m-%d %H:%M:%S")
