"""A real head-office receiver (`edge-app hq serve`) as a child process, and a device store
with confirmed spots, for the sync tests."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

from edge_app.store import open_store, photos, sites, spots
from live_server import ChildServer
from photo_files import spot_photos


class HQ(ChildServer):
    """`edge-app hq serve --data HQDIR [--db URL]` (head office's receiver)."""

    name = "hq"

    def __init__(self, data: Path, port: int | None = None, db_url: str | None = None, extra=()):
        super().__init__(data, port, extra)
        self.db_url = db_url

    def _db(self) -> list[str]:
        return ["--db", self.db_url] if self.db_url else []

    def argv(self) -> list[str]:
        return ["hq", "serve", "--data", str(self.data), "--port", str(self.port), *self._db()]

    def cli(self, *args, stdin=None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "edge_app.cli", "hq", *args, "--data", str(self.data),
                               *self._db()], capture_output=True, text=True, input=stdin, timeout=120)

    def add_device(self, name: str) -> str:
        p = self.cli("add-device", name)
        assert p.returncode == 0, p.stderr
        return p.stdout.strip()


def device_with_spots(root: Path, n_spots: int = 3, per_spot: int = 4, seed0: int = 11, confirm: bool = True,
                      size=(640, 480)):
    """A device store with ``n_spots`` spots of real JPEGs in one site (confirmed)."""
    st = open_store(root)
    with st.write():
        site = sites.create_site(st, "engine", "3공구 배수로")
    ids = []
    for k in range(n_spots):
        shas = [photos.add_bytes(st, data, name, source="cli", who="t").sha256
                for name, data in spot_photos(seed0 + 11 * k, per_spot, datetime(2026, 5, 4, 9, 0), prefix=f"s{k}")]
        with st.write():
            sp = spots.create_spot(st, site, "engine")
            for sha in shas:
                st.conn.execute("UPDATE photos SET site_id = ?, state = 'analysed' WHERE sha256 = ?", (site, sha))
                spots.place(st, sha, sp, "engine", score=0.9)
        spots.rename(st, sp, f"지점 {k + 1} 컨테이너", who="kim")
        if confirm:
            spots.confirm(st, sp, who="kim")
        ids.append(sp)
    return st, site, ids


def add_confirmed_spot(st, site: int, seed: int, n: int = 4, prefix: str | None = None) -> int:
    """One more confirmed spot of ``n`` new photos in ``site``."""
    shas = [photos.add_bytes(st, data, name, source="cli", who="t").sha256
            for name, data in spot_photos(seed, n, datetime(2026, 5, 5, 9, 0), prefix=prefix or f"n{seed}")]
    with st.write():
        sp = spots.create_spot(st, site, "engine")
        for sha in shas:
            st.conn.execute("UPDATE photos SET site_id = ?, state = 'analysed' WHERE sha256 = ?", (site, sha))
            spots.place(st, sha, sp, "engine", score=0.9)
    spots.confirm(st, sp, who="kim")
    return sp
