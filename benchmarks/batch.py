"""Speed and memory of grouping one batch at camera resolution.

    python benchmarks/batch.py [--photos ../shared/eval/fullres/images] [--repeats 3] [--cold-only]

Prints, for batches of 10, 20 and 30 photos (the first N originals by name; never
upscaled): per-stage milliseconds per photo, seconds per batch warm (models loaded, no
feature cache) as median over repeats, seconds for one new photo's online assignment,
seconds to regroup from the feature cache (what the app does after ingest), seconds for
the whole CLI process (cold: start-up + model loading included), and peak RSS: of this
process (it holds two pipelines, one with a feature cache) and of the CLI process (what an
app process weighs). Medians: the machine is shared and noisy.

All of that is the fast path (``thorough="off"``, ``edge-app cluster --no-cascade``). The
thorough pass (issue 11) is timed apart, on the largest batch: its extra seconds with the
cascade's features computed anew (a new batch) and with them in memory (a regroup), what it
checked, and what ``edge-app cluster`` decides by default (the band's cost by count against
``Settings.thorough_budget_s``). The cold CLI is run both ways, ``--no-cascade`` and the
default, alternately, and their groups compared (issue 20: the default loads the cascade's
models only when it runs). ``--cold-only``: only that.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from edge_app.engine.decode import list_images  # noqa: E402
from edge_app.engine.pipeline import Pipeline  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_watching_memory(cmd: list[str], poll_s: float = 0.005) -> float:
    """Run ``cmd`` to completion; returns its peak resident memory in MB.

    Read from ``/proc/<pid>/status`` (VmHWM, the high-water mark of the program itself)
    while it runs: ``getrusage(RUSAGE_CHILDREN)`` is no use here, since Linux records the
    forking parent's resident size into the child's maximum at ``exec``."""
    with tempfile.TemporaryFile() as err:  # a file, not a pipe: a chatty child never blocks
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        status = Path(f"/proc/{proc.pid}/status")
        peak_kb = 0
        try:
            while proc.poll() is None:
                try:
                    for line in status.read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            peak_kb = max(peak_kb, int(line.split()[1]))
                except (OSError, ValueError):
                    pass
                time.sleep(poll_s)
        finally:
            if proc.poll() is None:  # interrupted: do not leave the child running
                proc.kill()
                proc.wait()
        if proc.returncode:
            err.seek(0)
            raise subprocess.CalledProcessError(proc.returncode, cmd, stderr=err.read().decode(errors="replace"))
    if peak_kb == 0:
        raise RuntimeError("no memory reading: /proc/<pid>/status is needed (Linux)")
    return peak_kb / 1024.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", default=str(REPO.parent / "shared" / "eval" / "fullres" / "images"))
    ap.add_argument("--sizes", default="10,20,30")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", help="also write the figures as JSON")
    ap.add_argument("--cold-only", action="store_true", help="only the cold CLI runs (default vs --no-cascade)")
    args = ap.parse_args(argv)
    photos = list_images(args.photos)
    if not photos:
        print(f"no photos in {args.photos}", file=sys.stderr)
        return 1
    sizes = [int(s) for s in args.sizes.split(",") if int(s) <= len(photos)]
    out: dict = {"photos": args.photos, "cpu_count": os.cpu_count(), "batches": {}}
    if not args.cold_only:
        warm_figures(args, photos, sizes, out)
    cold_figures(args, photos, sizes[-1], out)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


def warm_figures(args, photos, sizes, out) -> None:
    """Everything in one warm process: batches, the thorough pass, regroup, one new photo."""
    t0 = time.perf_counter()
    pipe = Pipeline()
    pipe.analyzer.load_models()
    out["model_load_s"] = round(time.perf_counter() - t0, 3)
    pipe.group_paths(photos[:4])  # warm-up: first inferences allocate
    print(f"models loaded in {out['model_load_s']:.2f} s; {len(photos)} photos in {args.photos}")
    print(f"{'photos':>6s} {'s/batch':>8s} {'analyse':>8s} {'group':>7s} {'pairs':>6s}  ms/photo: "
          f"{'decode':>6s} {'mask':>6s} {'embed':>6s} {'feat':>6s}")
    for n in sizes:
        runs = []
        for _ in range(args.repeats):
            pipe.pair_cache.clear()
            pipe.analyzer.stage_seconds.clear()
            t = time.perf_counter()
            res = pipe.group_paths(photos[:n])
            # timings only: results are not kept (the process should weigh what the app does)
            runs.append((time.perf_counter() - t, dict(res.timings), res.result.timings["verified_pairs"],
                         dict(pipe.analyzer.stage_seconds)))
            del res
        total = statistics.median(r[0] for r in runs)
        mid = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
        stages = {k: 1000 * statistics.median(v) for k, v in mid[3].items()}
        row = {"seconds": round(total, 3), "analyse_s": round(mid[1]["analyze_s"], 3),
               "group_s": round(mid[1]["group_s"], 3),
               "verified_pairs": mid[2],
               "stage_ms_per_photo": {k: round(v, 1) for k, v in stages.items()},
               "all_runs_s": [round(r[0], 3) for r in runs]}
        out["batches"][n] = row
        print(f"{n:6d} {total:8.2f} {row['analyse_s']:8.2f} {row['group_s']:7.2f} {row['verified_pairs']:6d}  "
              f"          {stages.get('decode', 0):6.1f} {stages.get('mask', 0):6.1f} "
              f"{stages.get('embed', 0):6.1f} {stages.get('features', 0):6.1f}")

    # the thorough pass, apart from the fast path: a fresh pipeline, so the cascade's features
    # are computed anew in the first run (a new batch) and are in memory in the later ones
    n = sizes[-1]
    th = Pipeline()
    th.analyzer.load_models()
    if th.cascade() is None:
        print(f"thorough pass: no cascade ({th.cascade_error})")
    else:
        th.group_paths(photos[:4], thorough="on")  # warm-up of ALIKED / LightGlue
        th.cascade()._mem.clear()
        runs = []
        for _ in range(max(2, args.repeats)):
            th.pair_cache.clear()
            res = th.group_paths(photos[:n], thorough="on")
            t = res.result.timings
            runs.append({"thorough_s": round(res.timings["thorough_s"], 3),
                         "fast_group_s": round(res.timings["group_s"], 3),
                         "check_s": round(t.get("thorough_check_s", 0), 3), "cascade_s": round(t.get("thorough_cascade_s", 0), 3),
                         "machines_s": round(t.get("thorough_machines_s", 0), 3),
                         "checked_pairs": int(t.get("thorough_checked_pairs", 0)),
                         "band_pairs": int(t.get("thorough_band_pairs", 0)), "links": len(res.result.cascade_links)})
        first, later = runs[0], runs[1:]
        warm = statistics.median(r["thorough_s"] for r in later)
        th.pair_cache.clear()
        auto = th.group_paths(photos[:n], thorough="auto").thorough  # decided from counts only
        out["thorough"] = {"photos": n, "first_run": first, "warm_thorough_s": round(warm, 3),
                           "auto_mode": auto["mode"], "auto_reason": auto["reason"], "all_runs": runs}
        print(f"thorough pass on {n} photos (apart from the fast path): {first['thorough_s']:.2f} s with the "
              f"cascade's features computed anew, {warm:.2f} s with them in memory; {first['checked_pairs']} more "
              f"pairs checked ({first['check_s']:.2f} s), {first['band_pairs']} undecided pairs through the cascade "
              f"({first['cascade_s']:.2f} s, {first['links']} linked), machine check {first['machines_s']:.2f} s")
        print(f"  edge-app cluster by default: mode {auto['mode']} ({auto['reason']})")

    # regrouping from the feature cache (the app analyses each photo once, at ingest)
    with tempfile.TemporaryDirectory() as cache_dir:
        cached = Pipeline(cache_dir=cache_dir)
        cached.analyzer.load_models()
        cached.group_paths(photos[: sizes[-1]])
        runs = []
        for _ in range(args.repeats):
            cached.pair_cache.clear()
            t = time.perf_counter()
            cached.group_paths(photos[: sizes[-1]])
            runs.append(time.perf_counter() - t)
    out["regroup_from_feature_cache_s"] = round(statistics.median(runs), 3)
    print(f"regroup {sizes[-1]} photos from the feature cache (pairs verified again): "
          f"{out['regroup_from_feature_cache_s']:.2f} s")

    # online assignment of one new photo against the largest batch
    n = sizes[-1]
    base = pipe.group_paths(photos[: n - 1])
    times = []
    for _ in range(args.repeats):
        pipe.analyzer.cache = None
        pipe.pair_cache.clear()
        t = time.perf_counter()
        pipe.assign_path(photos[n - 1], base.analyses, base.labels)
        times.append(time.perf_counter() - t)
    out["assign_one_s"] = round(statistics.median(times), 3)
    out["peak_rss_warm_mb"] = round(peak_rss_mb(), 1)
    print(f"one new photo assigned to {n - 1}: {out['assign_one_s'] * 1000:.0f} ms (median)")
    print(f"peak RSS, warm process: {out['peak_rss_warm_mb']:.0f} MB")


def cold_figures(args, photos, n, out) -> None:
    """The CLI as a fresh process on a folder of n photos, no cache: ``--no-cascade`` and the
    default, run alternately (the machine's load drifts); medians of the times, peak RSS of
    each run (max reported), and whether both give the same groups."""
    exe = shutil.which("edge-app")
    cmd = [exe] if exe else [sys.executable, "-m", "edge_app.cli"]
    runs: dict[str, dict] = {k: {"s": [], "mb": [], "groups": []} for k in ("fast", "default")}
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d) / "photos"
        folder.mkdir()
        for p in photos[:n]:
            os.symlink(p.resolve(), folder / p.name)
        for r in range(max(1, args.repeats)):
            for label, flags in (("fast", ["--no-cascade"]), ("default", ["--report", str(Path(d) / "report.json")])):
                groups = Path(d) / f"{label}{r}.json"
                t = time.perf_counter()
                runs[label]["mb"].append(run_watching_memory(cmd + ["cluster", str(folder), "--no-cache", "-q",
                                                                    "--json", str(groups)] + flags))
                runs[label]["s"].append(time.perf_counter() - t)
                runs[label]["groups"].append(json.loads(groups.read_text()))
        report = json.loads((Path(d) / "report.json").read_text())
    for label, key in (("fast", ""), ("default", "_default")):
        r = runs[label]
        out[f"cold_cli{key}_s"] = round(statistics.median(r["s"]), 3)
        out[f"peak_rss_cold{key}_mb"] = round(max(r["mb"]), 1)
        out[f"cold_cli{key}_runs"] = {"s": [round(x, 3) for x in r["s"]], "mb": [round(x, 1) for x in r["mb"]]}
    everything = runs["fast"]["groups"] + runs["default"]["groups"]
    out["cold_cli_same_groups"] = all(g == everything[0] for g in everything)
    out["cold_cli_default_mode"] = report["thorough"]
    out["load_avg"] = os.getloadavg()
    print(f"cold CLI, {n} photos, --no-cascade: {out['cold_cli_s']:.2f} s (median); peak RSS "
          f"{out['peak_rss_cold_mb']:.0f} MB")
    print(f"cold CLI, {n} photos, default: {out['cold_cli_default_s']:.2f} s (median); peak RSS "
          f"{out['peak_rss_cold_default_mb']:.0f} MB; mode {report['thorough']['mode']} "
          f"({report['thorough']['reason']}); cascade loaded: {report['thorough']['cascade_loaded']}")
    print(f"  same groups in every run, both ways: {out['cold_cli_same_groups']}; load average "
          + " ".join(f"{x:.2f}" for x in out["load_avg"]))


if __name__ == "__main__":
    sys.exit(main())
