"""The fault-injection suite: sync over a link that drops, resets, times out, answers 5xx,
loses answers after the receiver committed, delivers twice; the sync worker and the
receiver killed with -9 and restarted. At the end every confirmed spot version is at head
office exactly once, every photo byte-identical, and the device still has its copies."""

import hashlib
import json
import os
import random
import subprocess
import sys
import time

from edge_app.store import outbox, spots
from edge_app.sync import SyncConfig, run_once
from fault_proxy import FaultProxy
from hq_process import HQ, add_confirmed_spot, device_with_spots

MIN_FAULTS = 100


def test_every_confirmed_spot_arrives_once_through_a_hundred_faults(tmp_path):
    rng = random.Random(2026)
    hq = HQ(tmp_path / "hq")
    secret = hq.add_device("jetson-1")  # head office is set up but not running yet
    proxy = FaultProxy(hq.port, rate=0.4, seed=11, hold_s=1.2, delay_s=(0.05, 0.5))
    st, site, ids = device_with_spots(tmp_path / "dev", n_spots=6, per_spot=4)
    conf = SyncConfig(proxy.url, "jetson-1", secret, timeout_s=1.0)
    far = lambda: time.time() + 10**7  # noqa: E731 - ignore the back-off waits in the test
    extra = {"receiver_down_at_start": 0, "kill_receiver": 0, "kill_sync_worker": 0}
    edits_after_sync = new_spots = 0

    r = run_once(st, conf, now=far())
    assert r["offline"] and r["spots_sent"] == 0
    extra["receiver_down_at_start"] += 1
    hq.start()
    env = dict(os.environ, EDGE_APP_HQ_URL=proxy.url, EDGE_APP_DEVICE="jetson-1", EDGE_APP_SECRET=secret)
    t0 = time.monotonic()
    try:
        for step in range(600):
            pending = outbox.summary(st)
            if proxy.injected + sum(extra.values()) >= MIN_FAULTS and not pending["pending"] and not pending["attention"]:
                break
            x = rng.random()
            if x < 0.04:
                hq.kill()  # kill -9 of the receiver, maybe mid-request
                extra["kill_receiver"] += 1
                run_once(st, conf, now=far())
                hq.start()
            elif x < 0.12:
                ids.append(add_confirmed_spot(st, site, 1000 + step))  # fresh photos to upload
                new_spots += 1
                outbox.retry_all(st)
                before = proxy.requests
                p = subprocess.Popen([sys.executable, "-m", "edge_app.cli", "sync", "--data", str(tmp_path / "dev"),
                                      "--once"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                t1 = time.monotonic()
                while proxy.requests == before and p.poll() is None and time.monotonic() - t1 < 10:
                    time.sleep(0.01)
                time.sleep(rng.uniform(0.0, 0.3))
                if p.poll() is None:
                    p.kill()  # kill -9 of the sync worker in the middle of its uploads
                    extra["kill_sync_worker"] += 1
                p.wait()
            elif x < 0.20 or not pending["pending"]:
                spots.rename(st, rng.choice(ids), f"위치 {step}", who="kim")  # a new version to send
                edits_after_sync += 1
            else:
                run_once(st, conf, now=far())
            if outbox.summary(st)["attention"]:
                outbox.retry_all(st)  # the lead presses "sync now"
            assert time.monotonic() - t0 < 240, "the suite took too long"
        proxy.rate = 0.0
        for _ in range(20):  # the link is good again: everything left goes through
            outbox.retry_all(st)
            run_once(st, conf, now=far())
            if not outbox.summary(st)["pending"]:
                break
        s = outbox.summary(st)
        assert s["pending"] == 0 and s["attention"] == 0, s
        status = json.loads(hq.cli("status", "--json").stdout)
    finally:
        hq.stop()
        proxy.close()

    entries = st.query("SELECT spot_id, version, manifest FROM outbox ORDER BY id")
    want = {(e["spot_id"], e["version"]): json.loads(e["manifest"]) for e in entries}
    got = [(x["spot_id"], x["version"]) for x in status["spots"]]
    duplicates = len(got) - len(set(got))
    lost = set(want) - set(got)
    assert duplicates == 0 and not lost and set(got) == set(want)
    photos_checked = 0
    for x in status["spots"]:
        m = want[(x["spot_id"], x["version"])]
        assert [p["sha256"] for p in x["photos"]] == [p["sha256"] for p in m["photos"]]
        assert x["name"] == m["spot"]["name"]
        for p in x["photos"]:
            held = (hq.data / "blobs" / p["sha256"][:2] / p["sha256"]).read_bytes()
            assert hashlib.sha256(held).hexdigest() == p["sha256"]
            photos_checked += 1
    for r in st.query("SELECT sha256, ext FROM photos"):  # the device keeps its own copies
        path = st.originals / r["sha256"][:2] / f"{r['sha256']}{r['ext']}"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == r["sha256"]
    faults = proxy.injected + sum(extra.values())
    counts = dict(proxy.counts) | extra
    print(f"\nfault injection: {faults} faults injected over {proxy.requests} proxied requests {counts}; "
          f"{edits_after_sync} edits after sync and {new_spots} new spots meanwhile; "
          f"{len(set(got))} spot versions of {len(ids)} spots delivered, {photos_checked} photos checked "
          f"byte-identical, duplicates {duplicates}, losses {len(lost)}")
    assert faults >= MIN_FAULTS
