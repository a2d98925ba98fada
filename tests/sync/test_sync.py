"""Confirmed spots reach a real receiver on 127.0.0.1: content-addressed photos, idempotent
manifests, new versions on later edits, offline waiting, back-off and "needs attention"."""

import hashlib
import json
import time

import pytest

from edge_app.store import outbox, spots
from edge_app.sync import MAX_ATTEMPTS, SyncConfig, backoff_s, run_once
from edge_app.sync.transport import HQClient
from hq_process import HQ, device_with_spots
from live_server import free_port


@pytest.fixture
def hq(tmp_path):
    h = HQ(tmp_path / "hq").start()
    yield h
    h.stop()


def hq_status(hq) -> dict:
    p = hq.cli("status", "--json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_confirmed_spots_arrive_once_with_their_photos_byte_identical(tmp_path, hq):
    secret = hq.add_device("jetson-1")
    st, site, ids = device_with_spots(tmp_path / "dev", 2, 3)
    assert outbox.summary(st)["pending"] == 2  # written by the confirm itself
    conf = SyncConfig(hq.url, "jetson-1", secret)
    r = run_once(st, conf)
    assert r["spots_sent"] == 2 and r["photos_sent"] == 6 and not r["offline"]
    s = hq_status(hq)
    assert {(x["spot_id"], x["version"]) for x in s["spots"]} == {(ids[0], 1), (ids[1], 1)}
    for x in s["spots"]:
        for p in x["photos"]:
            held = (hq.data / "blobs" / p["sha256"][:2] / p["sha256"]).read_bytes()
            assert hashlib.sha256(held).hexdigest() == p["sha256"]
            assert (st.originals / p["sha256"][:2]).is_dir()  # the device keeps its copy
    assert run_once(st, conf)["spots_sent"] == 0  # nothing new: nothing sent
    # an edit of a confirmed spot is a new version; the old one stays at head office
    spots.rename(st, ids[0], "컨테이너 좌측", who="kim")
    spots.set_phase(st, [p["sha256"] for p in s["spots"][0]["photos"]][:1], "after", who="kim")
    r = run_once(st, conf)
    assert r["spots_sent"] == 2 and r["photos_sent"] == 0  # head office has every photo already
    versions = sorted((x["spot_id"], x["version"], x["name"]) for x in hq_status(hq)["spots"])
    assert versions[:3] == [(ids[0], 1, "지점 1 컨테이너"), (ids[0], 2, "컨테이너 좌측"), (ids[0], 3, "컨테이너 좌측")]
    # 4 versions sent, of 2 spots: the page counts spots (issue 17)
    assert st.scalar("SELECT count(*) FROM outbox WHERE state = 'sent'") == 4
    assert outbox.summary(st)["sent"] == 2 and outbox.spot_states(st, site) == {ids[0]: "synced", ids[1]: "synced"}


def test_a_resent_manifest_is_acknowledged_never_duplicated_and_a_changed_one_refused(tmp_path, hq):
    secret = hq.add_device("jetson-1")
    st, _, ids = device_with_spots(tmp_path / "dev", 1, 2)
    conf = SyncConfig(hq.url, "jetson-1", secret)
    run_once(st, conf)
    entry = st.one("SELECT key, manifest FROM outbox")
    cli = HQClient(hq.url, "jetson-1", secret)
    body = json.dumps(json.loads(entry["manifest"]), ensure_ascii=False, sort_keys=True).encode()
    again = cli.request("POST", "/manifests", body=body, headers={"Idempotency-Key": entry["key"]})
    assert again.status == 200 and again.json()["version"] == 1  # the answer that was lost, replayed
    assert len(hq_status(hq)["spots"]) == 1
    changed = json.loads(entry["manifest"]) | {"note": "different"}
    from edge_app.sync.transport import Refused

    with pytest.raises(Refused) as e:
        cli.request("POST", "/manifests", body=json.dumps(changed).encode(), headers={"Idempotency-Key": entry["key"]})
    assert e.value.status == 422
    # a key whose first request is still being processed: 409
    import sqlite3

    db = sqlite3.connect(hq.data / "hq.db")
    db.execute("INSERT INTO idempotency (key, device, body_sha256, state, started_at) VALUES (?, ?, ?, ?, ?)",
               ("busy-key-0001", "jetson-1", hashlib.sha256(body).hexdigest(), "in_flight", time.time()))
    db.commit()
    r = cli.request("POST", "/manifests", body=body, headers={"Idempotency-Key": "busy-key-0001"})
    assert r.status == 409


def test_offline_waits_without_counting_and_errors_back_off_then_need_attention(tmp_path):
    st, site, ids = device_with_spots(tmp_path / "dev", 1, 2)
    nobody = SyncConfig(f"http://127.0.0.1:{free_port()}", "jetson-1", "0" * 64)
    r = run_once(st, nobody)
    assert r["offline"] and r["pending"] == 1
    row = st.one("SELECT attempts, next_attempt_at, state, last_error FROM outbox")
    assert row["attempts"] == 0 and row["state"] == "pending" and "offline" in row["last_error"]
    assert row["next_attempt_at"] > time.time()
    hq = HQ(tmp_path / "hq").start()  # head office is up, but does not know this device
    try:
        bad = SyncConfig(hq.url, "jetson-1", "0" * 64)
        for k in range(MAX_ATTEMPTS):
            r = run_once(st, bad, now=time.time() + 10**7)
        row = st.one("SELECT attempts, state, last_error FROM outbox")
        assert row["state"] == "attention" and row["attempts"] == MAX_ATTEMPTS
        assert "401" in row["last_error"] and "unknown or revoked device" in row["last_error"]
        assert outbox.summary(st)["attention"] == 1 and outbox.spot_states(st, site) == {ids[0]: "attention"}
        # the device is added at head office; "sync now" retries and it goes through
        secret = hq.add_device("jetson-1")
        outbox.retry_all(st)
        assert run_once(st, SyncConfig(hq.url, "jetson-1", secret))["spots_sent"] == 1
    finally:
        hq.stop()
    assert all(1.0 <= backoff_s(1) <= 7.5 for _ in range(50))
    assert max(backoff_s(30) for _ in range(50)) <= 1800 * 1.5


def test_the_config_comes_from_the_page_an_env_file_and_options(tmp_path):
    from edge_app.store import open_store
    from edge_app.store import settings as store_settings
    from edge_app.sync import read_env_file

    st = open_store(tmp_path / "d")
    store_settings.put(st, "sync", {"hq_url": "http://page", "device": "page-dev", "secret": "s1"})
    env_file = tmp_path / "device.env"
    env_file.write_text('# device\nEDGE_APP_HQ_URL="https://hq.example.com"\nEDGE_APP_DEVICE=jetson-7\n')
    env = read_env_file(env_file)
    c = SyncConfig.from_sources(st, env=env, secret="s3")
    assert (c.hq_url, c.device, c.secret) == ("https://hq.example.com", "jetson-7", "s3")
    assert "s3" not in repr(c) and "***" in repr(c)
    assert SyncConfig.from_sources(st, env={}).device == "page-dev"
    assert not SyncConfig().enabled
