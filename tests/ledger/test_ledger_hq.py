"""The same ledger at head office: built from the spot versions it received (the manifests
the device's outbox queued on confirming) and the originals in its blob folder."""

import json
import shutil
import zipfile

from edge_app.hq.db import HQDatabase, now_iso
from edge_app.ledger import build_ledger, write
from edge_app.ledger.archive import entries
from edge_app.hq.ledger_source import HeadOfficeSource
from edge_app.store import open_store, photos

DEVICE = "tablet-3"


def received(st, root):
    """Head office's records as if the device's outbox had been sent: the newest version of
    each spot, and its photos in the blob folder."""
    db = HQDatabase.open(root)
    c = db.connect()
    rows = st.query("SELECT o.spot_id, o.version, o.key, o.content_sha256, o.manifest FROM outbox o WHERE o.version = "
                    "(SELECT max(version) FROM outbox WHERE spot_id = o.spot_id) ORDER BY o.id")
    with c.tx():
        for r in rows:
            m = json.loads(r["manifest"])
            for p in m["photos"]:
                dest = root / "blobs" / p["sha256"][:2] / p["sha256"]
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(photos.original_path(st, p["sha256"]), dest)
            c.execute("INSERT INTO spot_versions (device, spot_id, version, site_id, site_name, spot_name, n_photos, "
                      "manifest, content_sha256, idem_key, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (DEVICE, r["spot_id"], r["version"], m["site"]["id"], m["site"]["name"], m["spot"]["name"],
                       len(m["photos"]), r["manifest"], r["content_sha256"], r["key"], now_iso()))
    return c


def test_head_office_builds_the_ledger_the_device_builds(site, tmp_path):
    root, info = site
    with open_store(root) as st:
        device = build_ledger(st, info["site"])
        c = received(st, tmp_path / "hq")
    try:
        hq = build_ledger(HeadOfficeSource(c, tmp_path / "hq", DEVICE), info["site"])
        assert [s.id for s in hq.spots] == [s.id for s in device.spots] == info["spots"][:6]
        assert (hq.title_name, hq.company, hq.work_type, hq.stage_words) == (
            device.title_name, device.company, device.work_type, device.stage_words)
        assert [(s.location, s.asset_no, s.caption) for s in hq.spots] == [
            (s.location, s.asset_no, s.caption) for s in device.spots]
        assert [{k: p and p.sha256 for k, p in b.photos.items()} for b in hq.blocks()] == [
            {k: p and p.sha256 for k, p in b.photos.items()} for b in device.blocks()]
        assert [e["path"] for e in entries(hq)] == [e["path"] for e in entries(device)]
        rep = write(hq, "zip", tmp_path / "hq.zip")
        with zipfile.ZipFile(tmp_path / "hq.zip") as z:
            assert len(z.namelist()) == rep["files"] + 1 == 21
        assert write(hq, "pdf", tmp_path / "hq.pdf")["pages"] == 5  # cover, 위치도, 2 of photos, the index
    finally:
        c.close()
