"""Speed of sync to head office (a benchmark that prints figures, not a test).

    python benchmarks/sync.py [--photos ../shared/eval/fullres/images] [--devices 10]

1. One device: a confirmed site of 30 camera originals (6 spots of 5) sent to a receiver
   (`edge-app hq serve`, SQLite) on 127.0.0.1: seconds, and bytes sent against the
   photos' total (the protocol's overhead: signatures, HEADs, manifests).
2. Head office's ingest rate with ``--devices`` devices syncing at once, each its own 30
   photos (the originals with a few distinct bytes appended after the JPEG end, so no
   photo is shared): photos and MB per second over the whole run.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "sync"))

from hq_process import HQ  # noqa: E402

from edge_app.store import Store, open_store, photos, sites, spots  # noqa: E402
from edge_app.sync import SyncConfig, run_once  # noqa: E402


def make_device(root: Path, originals: list[Path], tag: bytes = b"") -> tuple[Store, int]:
    st = open_store(root)
    shas = []
    for p in originals:
        data = p.read_bytes() + tag  # bytes after the JPEG's end marker: same picture, other photo
        shas.append(photos.add_bytes(st, data, p.name, source="cli", who="bench").sha256)
    with st.write():
        site = sites.create_site(st, "engine", "벤치마크 현장")
        for k in range(0, len(shas), 5):
            sp = spots.create_spot(st, site, "engine")
            for sha in shas[k:k + 5]:
                st.conn.execute("UPDATE photos SET site_id = ?, state = 'analysed' WHERE sha256 = ?", (site, sha))
                spots.place(st, sha, sp, "engine", score=0.9)
    spots.confirm_all(st, site, "bench")
    return st, sum(len(p.read_bytes()) + len(tag) for p in originals)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", default=str(REPO.parent / "shared" / "eval" / "fullres" / "images"))
    ap.add_argument("--devices", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    originals = sorted(Path(args.photos).glob("*.jpg"))[:30]
    tmp = Path(tempfile.mkdtemp(prefix="edge-app-sync-bench-"))
    try:
        times, ratios = [], []
        for r in range(args.repeats):
            hq = HQ(tmp / f"hq{r}").start()
            try:
                secret = hq.add_device("jetson-1")
                st, total = make_device(tmp / f"dev{r}", originals)
                t0 = time.perf_counter()
                rep = run_once(st, SyncConfig(hq.url, "jetson-1", secret))
                times.append(time.perf_counter() - t0)
                assert rep["spots_sent"] == 6 and rep["photos_sent"] == 30, rep
                ratios.append(rep["wire_bytes"] / total)
            finally:
                hq.stop()
        print(f"one device, 30 originals ({total / 1e6:.0f} MB) in 6 confirmed spots: median {statistics.median(times):.2f} s "
              f"({total / 1e6 / statistics.median(times):.0f} MB/s); bytes on the wire (photos, headers, HEADs, "
              f"manifests) / photos' total = {statistics.median(ratios):.4f}")

        hq = HQ(tmp / "hq-many", extra=["--threads", "32"]).start()
        try:
            devs = []
            for k in range(args.devices):
                secret = hq.add_device(f"jetson-{k}")
                st, total_k = make_device(tmp / f"many{k}", originals, tag=f"device-{k}".encode())
                devs.append((st.root, SyncConfig(hq.url, f"jetson-{k}", secret), total_k))
            reports = [None] * len(devs)

            def go(k):
                root, conf, _ = devs[k]
                reports[k] = run_once(Store(root), conf)

            threads = [threading.Thread(target=go, args=(k,)) for k in range(len(devs))]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
        finally:
            hq.stop()
        n = sum(r["photos_sent"] for r in reports)
        mb = sum(r["bytes_sent"] for r in reports) / 1e6
        assert all(r["spots_sent"] == 6 for r in reports), reports
        print(f"{args.devices} devices at once: {n} photos, {mb:.0f} MB in {wall:.1f} s: head office ingests "
              f"{n / wall:.1f} photos/s, {mb / wall:.0f} MB/s (SQLite, one 2-core machine running devices too)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
