"""Time and peak memory of the photo ledger exports for a large site (a benchmark that
prints figures, not a test).

    python benchmarks/ledger.py [--spots 200] [--megapixels 12] [--photos DIR] [--also 50] [--keep DIR]

Builds a data folder through the store's API: ``--spots`` confirmed spots of three camera
originals each (before / during / after; drawn mowing scenes of ``--megapixels`` with
sensor noise, or with ``--photos DIR`` real photos from a folder, e.g.
``../shared/eval/fullres/images``, whose content prints like a site's; every photo is
shifted sideways by its own amount so no two have the same pixels, and every tenth
"after" is stored turned with EXIF orientation 6), then runs each export
(XLSX, PDF, ZIP) in a fresh Python process and reports its wall time, the process's peak
resident memory (``ru_maxrss``) and its resident memory right after the imports, so the
growth is what the export itself needs. ``--also N`` repeats the exports for the first N
spots, to show how memory grows with the site's size.

Measured on a 2-core AMD EPYC VM (Python 3.11, 200 spots = 600 originals):

============================  =====================  =====================  ============
originals                     XLSX                   PDF (51 pages)         ZIP
============================  =====================  =====================  ============
12 MP drawn, 2.1 MB each      13.1 s, 103 MB, 7 MB   12.4 s, 137 MB, 9 MB   1.0 s, 78 MB
6.3 MP real (``--photos``)    10.6 s, 104 MB, 18 MB  9.1 s, 175 MB, 20 MB   0.4 s, 77 MB
============================  =====================  =====================  ============

(time, peak RSS of the exporting process, file size; 73 MB of the RSS is the imports).
With 50 of those spots: XLSX 99 MB, PDF 126 MB. XLSX and ZIP memory does not grow with
the site; the PDF's grows by what fpdf2 keeps until it writes the file, the print-size
JPEGs (about 34 KB a photo with real photos), never an original.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "ledger"))
sys.path.insert(0, str(REPO / "tests"))

import ledger_data  # noqa: E402
from edge_app.store import ledger_fields, open_store, photos, sites, spots  # noqa: E402

START = datetime(2026, 5, 4, 8, 0, 0)
BASES = 2  # scenes drawn at full size; every photo is shifted sideways by its own amount (distinct pixels)

CHILD = r"""
import json, sys, time
from pathlib import Path
def rss_mb(key="VmRSS:"):  # VmHWM: this program's own high-water mark (ru_maxrss survives exec)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) / 1024
from edge_app.ledger import build_ledger, write
from edge_app.store import open_store
import edge_app.ledger.xlsx, edge_app.ledger.pdf, edge_app.ledger.archive  # imports before the baseline
base = rss_mb()
data, site, fmt, out, n = sys.argv[1:6]
st = open_store(data)
led = build_ledger(st, int(site))
if int(n):
    led.spots = led.spots[:int(n)]
t = time.perf_counter()
rep = write(led, fmt, out)
secs = time.perf_counter() - t
peak = rss_mb("VmHWM:")
print(json.dumps({"fmt": fmt, "spots": len(led.spots), "seconds": secs, "peak_mb": peak, "base_mb": base,
                  "bytes": Path(out).stat().st_size, "pages": rep.get("pages"), "files": rep.get("files")}))
"""


def camera_rgb(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(rgb.astype(np.int16) + rng.normal(0, 4, rgb.shape).astype(np.int16), 0, 255).astype(np.uint8)


def jpeg(rgb: np.ndarray, exif: bytes) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=90, exif=exif)
    return buf.getvalue()


def build(data: Path, n_spots: int, megapixels: float, photo_dir: str | None = None) -> int:
    rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    bases, turned = {}, {}
    if photo_dir:
        files = sorted(p for p in Path(photo_dir).iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
        n_bases = max(1, len(files) // 3)
        for b in range(n_bases):
            for j, stage in enumerate(("before", "during", "after")):
                with Image.open(files[3 * b + j]) as im:
                    bases[b, stage] = np.asarray(im.convert("RGB"))
            turned[b] = np.ascontiguousarray(np.rot90(bases[b, "after"], 1))
        h, w = bases[0, "before"].shape[:2]
        print(f"originals: {len(files)} photos of {photo_dir}, {w}x{h} ({w * h / 1e6:.1f} MP) and similar", flush=True)
    else:
        n_bases = BASES
        w = int(round(math.sqrt(megapixels * 1e6 * 4 / 3) / 16) * 16)
        h = w * 3 // 4
        for b in range(n_bases):
            for stage in ("before", "during", "after"):
                bases[b, stage] = camera_rgb(ledger_data.scene(100 + b, stage, (w, h)), rng)
            turned[b] = np.ascontiguousarray(np.rot90(bases[b, "after"], 1))
        print(f"originals: {w}x{h} ({w * h / 1e6:.1f} MP), scenes drawn in {time.perf_counter() - t0:.0f} s",
              flush=True)
    st = open_store(data)
    with st.write():
        site_id = sites.create_site(st, "engine")
    t0 = time.perf_counter()
    total_bytes = 0
    for k in range(n_spots):
        b = k % n_bases
        when = START + timedelta(minutes=3 * k)
        shas = []
        for j, (stage, dt) in enumerate((("before", when), ("during", when + timedelta(days=3)),
                                         ("after", when + timedelta(days=9)))):
            orient = 6 if stage == "after" and k % 10 == 0 else None
            rgb = np.roll(turned[b] if orient else bases[b, stage], 16 * (k // n_bases + 1), axis=0 if orient else 1)
            data_bytes = jpeg(rgb, ledger_data.exif_bytes(dt, ledger_data.GPS, orient))
            total_bytes += len(data_bytes)
            a = photos.add_bytes(st, data_bytes, f"IMG_{k:04d}_{j}.JPG", source="cli", who="bench")
            shas.append((a.sha256, stage))
        with st.write():
            sid = spots.create_spot(st, site_id, "engine")
            for sha, _ in shas:
                st.conn.execute("UPDATE photos SET site_id = ?, state = 'analysed' WHERE sha256 = ?", (site_id, sha))
                spots.place(st, sha, sid, "engine", score=0.95)
        for sha, stage in shas:
            spots.set_phase(st, [sha], stage, who="bench")
        ledger_fields.set_spot_fields(st, sid, "bench", location=f"STA.{k // 10}+{(k % 10) * 20:03d}",
                                      caption=ledger_data.CAPTIONS[k % len(ledger_data.CAPTIONS)])
        if (k + 1) % 50 == 0:
            print(f"  {k + 1} spots stored ({time.perf_counter() - t0:.0f} s, originals "
                  f"{total_bytes / 3 / (k + 1) / 1e6:.1f} MB each)", flush=True)
    ledger_fields.set_site_fields(st, site_id, "bench", works_name="벤치마크 제초작업", company="㈜한빛조경",
                                  work_type="제초")
    spots.confirm_all(st, site_id, who="bench")
    st.close()
    return site_id


def run(data: Path, site_id: int, fmt: str, out: Path, n: int = 0) -> dict:
    p = subprocess.run([sys.executable, "-c", CHILD, str(data), str(site_id), fmt, str(out), str(n)],
                       capture_output=True, text=True, cwd=REPO)
    if p.returncode:
        raise SystemExit(p.stderr)
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spots", type=int, default=200)
    ap.add_argument("--megapixels", type=float, default=12.0)
    ap.add_argument("--photos", metavar="DIR", help="real JPEGs to build the originals from (3 per scene)")
    ap.add_argument("--also", type=int, default=50, help="also export the first N spots (0: no)")
    ap.add_argument("--keep", metavar="DIR", help="build the data folder here and keep it")
    args = ap.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / "data"
    try:
        site_id = build(data, args.spots, args.megapixels, args.photos)
        rows = []
        for n in ([args.also] if args.also and args.also < args.spots else []) + [0]:
            for fmt in ("xlsx", "pdf", "zip"):
                r = run(data, site_id, fmt, work / f"ledger-{n or args.spots}.{fmt}", n)
                rows.append(r)
                print(f"{fmt:4s} {r['spots']:4d} spots: {r['seconds']:6.1f} s, peak RSS {r['peak_mb']:5.0f} MB "
                      f"(after imports {r['base_mb']:.0f} MB), file {r['bytes'] / 1e6:7.1f} MB"
                      + (f", {r['pages']} pages" if r.get("pages") else "")
                      + (f", {r['files']} originals" if r.get("files") else ""), flush=True)
        print("\n| format | spots | time | peak RSS (after imports) | file |\n|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['fmt'].upper()} | {r['spots']} | {r['seconds']:.1f} s | {r['peak_mb']:.0f} MB "
                  f"({r['base_mb']:.0f} MB) | {r['bytes'] / 1e6:.1f} MB |")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
