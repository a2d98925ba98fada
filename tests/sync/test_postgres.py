"""Head office on a real PostgreSQL (the company server, many devices at once)."""

import json
import threading

import pytest

from edge_app.sync import SyncConfig, run_once
from hq_process import HQ, device_with_spots
from needs import skip_or_fail


@pytest.fixture(scope="module")
def pg():
    try:
        import psycopg  # noqa: F401
    except ImportError:
        skip_or_fail("psycopg is not installed (pip install 'edge_app[hq-postgres]')", "EDGE_APP_REQUIRE_POSTGRES")
    from postgres_server import Postgres

    try:
        server = Postgres().start()
    except Exception as e:  # noqa: BLE001 - no PostgreSQL here: say why and skip
        detail = getattr(e, "stderr", "") or ""
        skip_or_fail(f"PostgreSQL could not be started here: {e} {detail[-300:]}", "EDGE_APP_REQUIRE_POSTGRES")
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


def test_where_a_photos_time_comes_from_is_kept_in_postgresql(tmp_path, pg):
    """Head office's migration 2 (spot_photos.taken_from) on PostgreSQL: a messenger photo whose
    time was read from its file name arrives marked so; the camera's photos as 'exif'."""
    from test_sync_taken_from import device_with_a_messenger_photo

    hq = HQ(tmp_path / "hq", db_url=pg.url).start()
    try:
        secret = hq.add_device("jetson-tf")
        st, _, spot, sha = device_with_a_messenger_photo(tmp_path / "dev")
        assert run_once(st, SyncConfig(hq.url, "jetson-tf", secret))["spots_sent"] == 1
        import psycopg

        with psycopg.connect(pg.url) as c:
            rows = dict(c.execute("SELECT p.sha256, p.taken_from FROM spot_photos p JOIN spot_versions v "
                                  "ON v.id = p.version_id WHERE v.device = 'jetson-tf'").fetchall())
            assert c.execute("SELECT max(version) FROM hq_migrations").fetchone()[0] == 2
        assert rows.pop(sha) == "file name" and set(rows.values()) == {"exif"}
    finally:
        hq.stop()
