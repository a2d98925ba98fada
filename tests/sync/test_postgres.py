"""Head office on a real PostgreSQL (the company server, many devices at once)."""

import json
import os
import threading

import pytest

from edge_app.sync import SyncConfig, run_once
from hq_process import HQ, device_with_spots


def _skip(reason: str):
    if os.environ.get("EDGE_APP_REQUIRE_POSTGRES"):  # CI installs it: a skip there is a failure
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def pg():
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _skip("psycopg is not installed (pip install 'edge_app[hq-postgres]')")
    from postgres_server import Postgres

    try:
        server = Postgres().start()
    except Exception as e:  # noqa: BLE001 - no PostgreSQL here: say why and skip
        detail = getattr(e, "stderr", "") or ""
        _skip(f"PostgreSQL could not be started here: {e} {detail[-300:]}")
    yield server
    server.stop()


def test_several_devices_sync_at_once_into_postgresql(tmp_path, pg):
    hq = HQ(tmp_path / "hq", db_url=pg.url).start()
    try:
        devices = []
        for k in range(4):
            secret = hq.add_device(f"jetson-{k}")
            st, site, ids = device_with_spots(tmp_path / f"dev{k}", n_spots=2, per_spot=3, seed0=11 + k)
            devices.append((st, SyncConfig(hq.url, f"jetson-{k}", secret), ids))
        results = [None] * len(devices)

        def go(k):
            st, conf, _ = devices[k]
            # each thread has its own store connection
            from edge_app.store import Store

            results[k] = run_once(Store(st.root), conf)

        threads = [threading.Thread(target=go, args=(k,)) for k in range(len(devices))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert all(r["spots_sent"] == 2 for r in results), results
        assert all(run_once(st, conf)["spots_sent"] == 0 for st, conf, _ in devices)  # nothing twice
        status = json.loads(hq.cli("status", "--json").stdout)
        got = sorted((s["device"], s["spot_id"], s["version"]) for s in status["spots"])
        assert got == sorted((f"jetson-{k}", i, 1) for k, (_, _, ids) in enumerate(devices) for i in ids)
        assert "password" not in hq.log.read_text() and "postgresql" in hq.log.read_text()
        import psycopg

        with psycopg.connect(pg.url) as c:  # the records are in PostgreSQL, not in a SQLite file
            assert c.execute("SELECT count(*) FROM spot_versions").fetchone()[0] == 8
        assert not (hq.data / "hq.db").exists()
    finally:
        hq.stop()
