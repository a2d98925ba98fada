"""Time and peak memory of the photo ledger exports for a large site (a benchmark that
prints figures, not a test).

    python benchmarks/ledger.py [--spots 200] [--megapixels 12] [--photos DIR] [--also 50] [--keep DIR]
                                [--repeat 3] [--formats pdf,xlsx,zip] [--layouts row,2up,4up]

Builds a data folder through the store's API: ``--spots`` confirmed spots of three camera
originals each (before / during / after; drawn mowing scenes of ``--megapixels`` with
sensor noise, or with ``--photos DIR`` real photos from a folder, e.g.
``../shared/eval/fullres/images``, whose content prints like a site's; every photo is
shifted sideways by its own amount so no two have the same pixels, and every tenth
"after" is stored turned with EXIF orientation 6), then runs each export
(XLSX, PDF, ZIP) in a fresh Python process and reports its wall time, the process's peak
resident memory (``ru_maxrss``) and its resident memory right after the imports, so the
growth is what the export itself needs. ``--also N`` repeats the exports for the first N
spots, to show how memory grows with the site's size. ``--repeat N`` runs each export N
times and reports the median time (and the largest peak); ``--keep DIR`` keeps the data
folder, and a later run with the same ``--keep DIR`` exports it again without building it.
``--layouts``: the PDF's and the XLSX's layouts to time (rows by default); ``--workers 0``:
the print images (the PDF's and the XLSX's) made one by one, as before they were made ahead
on threads.

Measured on a 2-core AMD EPYC VM (Python 3.11, 200 spots = 600 originals), earlier (the
PDF of 51 pages, before its index, 위치도 and layouts):

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

2026-12-07, the same VM shared with other sessions' test runs (load average 1.2-11 during
the runs; ``--repeat 3``, medians; 12 MP drawn originals): PDF rows (71 pages) 10.4 s at
load 1.2-1.4 (18-20 s with ``--workers 0``), 18-21 s at load 2.5-7, 36 s at load 8-9.5,
18-21 s of CPU, 184 MB; PDF 4-up (171 pages) 34-48 s,
27.5 s of CPU, 236 MB; XLSX rows 33-37 s, 22 s of CPU, 140 MB; XLSX 4-up 27-50 s, 28 s of
CPU, 145 MB; ZIP 5-7 s, 2.7 s of CPU, 126 MB. Decoding an original is 29 ms of CPU
(libjpeg-turbo at 1/8 scale: 17.6 s of the PDF's 18-21 s), see ``docs/ledger.md``.

2026-12-07, issue 18's last changes (a 12-MP photo of a 4-up page at its 1/8 scale, 140 dpi;
the XLSX's photos made ahead on two threads; imports 75 MB since 7381d21), each run
alternating with the code before on the same data folder; load average at the start of
each run (above 2 the other sessions take the cores, and the time nears the CPU time):

===========  ===========================================  ==================  =============  ============
export       time, before -> after                        CPU time            peak RSS       file
===========  ===========================================  ==================  =============  ============
PDF 4-up     median 18.2 s (16.6, 17.2, 17.6, 18.2, 29.5,  29-35 s -> 22-26 s  208 -> 159 MB  25.2 -> 13.1
             30.7, 50.5) -> 14.5 s (13.7, 13.8, 14.2,                                        MB
             14.7, 19.8, 25.4), every run at load 1.4-3.7
XLSX rows    27.2, 28.3 s (load 1.8-2.8) -> 14.1, 14.8 s  28-29 s -> 24-26 s  111 -> 118 MB  7.6 MB
             (load 2.2-4.5; ``--workers 0``: 26.3, 27.4)
XLSX 4-up    35.5 s (load 1.6) -> 22.0 s (load 1.5)       37 s -> 37 s        116 -> 129 MB  23.6 MB
===========  ===========================================  ==================  =============  ============

At load 6-9 the 4-up PDF took 41.6 s (56.3 s before), the XLSX 26.0 s (rows) and 32.7 s
(4-up) at load 5-8; run alone at load 5-6 the XLSX took as long with two threads as without.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import shutil
import statistics
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
data, site, fmt, out, n, layout, workers = sys.argv[1:8]
if workers != "":
    edge_app.ledger.images.PRINT_WORKERS = int(workers)
st = open_store(data)
led = build_ledger(st, int(site), layout=layout if fmt != "zip" else "row")
if int(n):
    led.spots = led.spots[:int(n)]
t, c = time.perf_counter(), time.process_time()
rep = write(led, fmt, out)
secs, cpu = time.perf_counter() - t, time.process_time() - c
peak = rss_mb("VmHWM:")
print(json.dumps({"fmt": fmt, "spots": len(led.spots), "seconds": secs, "cpu_s": cpu, "peak_mb": peak,
                  "base_mb": base,
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


def run(data: Path, site_id: int, fmt: str, out: Path, n: int = 0, layout: str = "row",
        workers: int | None = None) -> dict:
    p = subprocess.run([sys.executable, "-c", CHILD, str(data), str(site_id), fmt, str(out), str(n), layout,
                        "" if workers is None else str(workers)],
                       capture_output=True, text=True, cwd=REPO)
    if p.returncode:
        raise SystemExit(p.stderr)
    return json.loads(p.stdout.strip().splitlines()[-1])


def run_median(data: Path, site_id: int, fmt: str, out: Path, n: int, layout: str, repeat: int,
               workers: int | None = None) -> dict:
    """``repeat`` runs of one export: the median time, the largest peak, every time."""
    runs = [run(data, site_id, fmt, out, n, layout, workers) for _ in range(max(1, repeat))]
    r = dict(runs[0])
    r["times"] = sorted(x["seconds"] for x in runs)
    r["seconds"] = statistics.median(r["times"])
    r["cpu_s"] = statistics.median(x["cpu_s"] for x in runs)
    r["peak_mb"] = max(x["peak_mb"] for x in runs)
    r["layout"] = layout
    return r


def kept_site(data: Path) -> int | None:
    """The site of a data folder an earlier run kept (``--keep``), if it holds one."""
    if not (data / "edge_app.db").exists():
        return None
    with open_store(data) as st:
        return st.scalar("SELECT min(id) FROM sites")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spots", type=int, default=200)
    ap.add_argument("--megapixels", type=float, default=12.0)
    ap.add_argument("--photos", metavar="DIR", help="real JPEGs to build the originals from (3 per scene)")
    ap.add_argument("--also", type=int, default=50, help="also export the first N spots (0: no)")
    ap.add_argument("--keep", metavar="DIR", help="build the data folder here and keep it (reused when there)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each export; the median time is reported")
    ap.add_argument("--formats", default="xlsx,pdf,zip")
    ap.add_argument("--layouts", default="row", help="row,2up,4up: the PDF's and the XLSX's layouts to time")
    ap.add_argument("--workers", type=int, help="threads making the PDF's and the XLSX's print images (0: one by "
                                                "one in the drawing thread; default: "
                                                "edge_app.ledger.images.PRINT_WORKERS)")
    args = ap.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs",
          flush=True)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / "data"
    try:
        site_id = kept_site(data) if args.keep else None
        if site_id is None:
            site_id = build(data, args.spots, args.megapixels, args.photos)
        else:
            print(f"reusing the data folder {data} (site {site_id})", flush=True)
        rows = []
        for n in ([args.also] if args.also and args.also < args.spots else []) + [0]:
            for fmt in args.formats.split(","):
                for layout in (args.layouts.split(",") if fmt != "zip" else ["row"]):
                    out = work / f"ledger-{n or args.spots}-{layout}.{fmt}"
                    r = run_median(data, site_id, fmt, out, n, layout, args.repeat, args.workers)
                    rows.append(r)
                    print(f"{fmt:4s} {layout:3s} {r['spots']:4d} spots: {r['seconds']:6.1f} s"
                          + (f" (runs {', '.join(f'{t:.1f}' for t in r['times'])})" if len(r["times"]) > 1 else "")
                          + f", CPU {r['cpu_s']:.1f} s, peak RSS {r['peak_mb']:5.0f} MB "
                          f"(after imports {r['base_mb']:.0f} MB), file {r['bytes'] / 1e6:7.1f} MB"
                          + (f", {r['pages']} pages" if r.get("pages") else "")
                          + (f", {r['files']} originals" if r.get("files") else ""), flush=True)
        print("\n| format | layout | spots | time (median) | CPU time | peak RSS (after imports) | file |\n"
              "|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['fmt'].upper()} | {r['layout']} | {r['spots']} | {r['seconds']:.1f} s | {r['cpu_s']:.1f} s "
                  f"| {r['peak_mb']:.0f} MB "
                  f"({r['base_mb']:.0f} MB) | {r['bytes'] / 1e6:.1f} MB |")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
