"""Sync on the tablet page: the status line, per-spot badges, "sync now", the settings form."""

import re

from edge_app.store import open_store
from edge_app.sync import run_once
from edge_app.web import create_app
from hq_process import HQ, device_with_spots
from live_server import free_port


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login(app):
    c = app.test_client()
    tok = csrf_of(c.get("/setup").text)
    c.post("/setup", data={"pin": "482913", "pin2": "482913", "csrf": tok})
    c.csrf = csrf_of(c.get("/").text)
    return c


def test_the_page_shows_waiting_offline_then_synced_and_sync_now(tmp_path):
    st, site, ids = device_with_spots(tmp_path / "dev", 2, 2)
    app = create_app({"DATA_DIR": str(tmp_path / "dev"), "TESTING": True})
    c = login(app)
    page = c.get("/").text
    assert 'data-sync="off"' in page and "현장에서만" in page  # no head office set: works offline
    # head office set on the settings page, but unreachable
    dead = f"http://127.0.0.1:{free_port()}"
    r = c.post("/settings", data={"csrf": c.csrf, "hq_url": dead, "device": "jetson-1", "secret": "s" * 64})
    assert r.status_code == 302
    settings_page = c.get("/settings").text
    assert "s" * 64 not in settings_page and "저장됨" in settings_page  # the secret is never shown back
    from edge_app.sync import SyncConfig

    conf = SyncConfig.from_sources(open_store(tmp_path / "dev"), env={})
    assert conf.hq_url == dead and conf.secret == "s" * 64
    run_once(st, conf)
    status = c.get("/sync/status").text
    assert 'data-sync="offline"' in status and "업로드 대기 지점 2곳 (오프라인)" in status and 'id="sync-now"' in status
    site_page = c.get(f"/sites/{site}").text
    assert site_page.count('data-sync-badge="waiting"') == 2
    # head office comes up with this device: "sync now", then all synced
    hq = HQ(tmp_path / "hq").start()
    try:
        secret = hq.add_device("jetson-1")
        c.post("/settings", data={"csrf": c.csrf, "hq_url": hq.url, "device": "jetson-1", "secret": secret})
        assert c.post("/sync/now", data={"csrf": c.csrf}).status_code == 302
        run_once(st, SyncConfig.from_sources(st, env={}))  # what the serve process's sync thread does on wake
    finally:
        hq.stop()
    status = c.get("/sync/status", headers={"Accept-Language": "en"}).text
    assert 'data-sync="synced"' in status and "All synced at" in status
    assert c.get(f"/sites/{site}").text.count('data-sync-badge="synced"') == 2
