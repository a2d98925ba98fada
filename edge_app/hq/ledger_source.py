"""The ledger at head office: a :class:`~edge_app.ledger.model.LedgerSource` over the spot
versions head office received (:mod:`.received`), so the same XLSX, PDF and ZIP are made
there as on the device.

    from edge_app.hq.db import HQDatabase
    from edge_app.hq.ledger_source import HeadOfficeSource
    from edge_app.ledger import build_ledger, write

    c = HQDatabase.open("hq-data").connect()
    ledger = build_ledger(HeadOfficeSource(c, "hq-data", device="tablet-3"), site_id=2)
    write(ledger, "pdf", "사진대지.pdf")

A site is a device's site (site ids are the device's own). Each spot is its newest version
(the manifest the device sent when it was confirmed or edited after), with the site's
works details from the newest of those manifests; originals come from head office's blob
folder. Only confirmed spots reach head office, so every spot here is confirmed.
"""

from __future__ import annotations

from pathlib import Path

from .received import site_manifests


class HeadOfficeSource:
    """LedgerSource over head office's database connection ``conn`` (``edge_app.hq.db.Conn``)
    and data folder ``root`` (blobs in ``root/blobs/ab/<sha256>``), for one device."""

    def __init__(self, conn, root: str | Path, device: str):
        self.conn = conn
        self.blobs = Path(root) / "blobs"
        self.device = device

    def _manifests(self, site_id: int) -> list[dict]:
        return site_manifests(self.conn, self.device, site_id)

    def ledger_site(self, site_id: int) -> dict:
        ms = self._manifests(site_id)
        if not ms:
            raise LookupError(f"head office has no spot of site {site_id} from {self.device}")
        site = dict(ms[-1].get("site") or {})
        site["id"] = site_id
        times = sorted(p["taken_local"] for m in ms for p in m["photos"] if p.get("taken_local"))
        site["first_local"] = times[0] if times else None
        return site

    def ledger_spots(self, site_id: int) -> list[dict]:
        out = []
        for m in self._manifests(site_id):
            spot = m["spot"]
            photos = sorted(m["photos"], key=lambda p: (p.get("taken_at") is None, p.get("taken_at") or 0,
                                                         p.get("name") or ""))
            out.append({"id": spot["id"], "name": spot.get("name"), "location": spot.get("location"),
                        "asset_no": spot.get("asset_no"), "caption": spot.get("caption"), "cover": spot.get("cover"),
                        "confirmed": spot.get("confirmed_at") is not None, "photos": photos})
        # the site page's order: by each spot's first capture time
        out.sort(key=lambda s: (not s["photos"] or s["photos"][0].get("taken_at") is None,
                                (s["photos"][0].get("taken_at") or 0) if s["photos"] else 0, s["id"]))
        return out

    def original_path(self, sha256: str) -> Path:
        return self.blobs / sha256[:2] / sha256
