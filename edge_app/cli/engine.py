"""The engine's commands: a thin layer over :class:`edge_app.engine.Pipeline`.

    edge-app cluster photos/site-12                    # print the groups
    edge-app cluster photos/site-12 --json groups.json --html groups.html --explain
    edge-app cluster photos/site-12 --report run.json  # the groups, and the mode the run took and why
    edge-app eval ../shared/eval/strecha ../shared/eval/wxbs --batches 10 --seed 7
    edge-app models                                    # list and check the bundled models
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from ..fileio import user_cache_dir
from .common import Progress, engine_options, engine_settings, write_text


def _cache_dir(arg: str | None, disabled: bool) -> Path | None:
    if disabled:
        return None
    if arg:
        return Path(arg)
    return user_cache_dir("features")


def cmd_cluster(args) -> int:
    from ..engine.decode import scan_folder
    from ..engine.pipeline import Pipeline
    from ..engine.report import display_name, format_explain, format_text, render_html

    folder = Path(args.dir)
    if not folder.is_dir():
        print(f"error: {display_name(folder)} is not a folder", file=sys.stderr)
        return 2
    try:
        scan = scan_folder(folder)
    except OSError as e:
        print(f"error: cannot list {display_name(folder)}: {e.strerror or e}", file=sys.stderr)
        return 2
    paths = scan.photos
    skipped = [(p.name, why) for p, why in scan.skipped]
    for opt, out in (("--json", args.json), ("--html", args.html), ("--report", args.report)):
        problem = _unwritable(Path(out)) if out else None
        if problem:
            print(f"error: {opt} {display_name(out)}: {problem}", file=sys.stderr)
            return 2
    groups: dict[str, int | None] = {p.name: None for p in paths}
    if not paths:
        _write_groups(args.json, groups)  # the folder could be listed: the JSON is written
        _write_report(args.report, groups, None)
        if skipped:
            print(format_text([], [], _empty_result(), skipped=skipped))
        print(f"error: no photos in {display_name(folder)} (looked for .jpg, .jpeg, .png, .heic, ...)",
              file=sys.stderr)
        return 1
    pipe = Pipeline(engine_settings(args), cache_dir=_cache_dir(args.cache, args.no_cache))
    t0 = time.perf_counter()
    try:
        res = pipe.group_paths(paths, progress=Progress("analysing", args.quiet), thorough=_thorough(args))
    except BaseException:
        _write_groups(args.json, groups)  # every photo null: no grouping came out of this run
        raise
    names = [p.name for p in res.paths]
    for name, lab in zip(names, res.labels):
        groups[name] = None if lab is None else lab + 1
    _write_groups(args.json, groups)  # first: nothing after the grouping may cost it
    thorough = _thorough_summary(pipe, res, _thorough(args))
    _write_report(args.report, groups, thorough)
    print(format_text(names, res.analyses, res.result, res.errors, res.duplicates, skipped))
    notes = [(n, a.notes) for n, a in zip(names, res.analyses) if a.notes]
    if notes:
        print(f"\nnotes ({len(notes)})")
        for n, ns in notes:
            print(f"  {display_name(n)}: " + "; ".join(display_name(x) for x in ns))
    if args.explain:
        print()
        print(format_explain(names, res.result, thorough=thorough))
    if args.html:
        page = render_html(res.paths, res.analyses, res.result, res.errors, title=folder.name, skipped=skipped)
        write_text(Path(args.html), page, "replace")
    if not args.quiet:
        t = res.timings
        print(f"done in {time.perf_counter() - t0:.2f} s (analyse {t['analyze_s']:.2f} s, group {t['group_s']:.2f} s"
              + (f", thorough pass {t['thorough_s']:.2f} s" if _thorough(args) != "off" else "") + ")", file=sys.stderr)
        print(_thorough_line(res.result, thorough, _thorough(args)), file=sys.stderr)
    return 0


def _thorough(args) -> str:
    """The thorough pass's mode from the flags: "on" (--thorough), "off" (--no-cascade), else "auto"."""
    if getattr(args, "thorough", False):
        return "on"
    return "off" if getattr(args, "no_cascade", False) else "auto"


def _thorough_summary(pipe, res, mode: str) -> dict:
    """``res.thorough`` (the mode the run took and why), with the flags' words and, when the
    cascade could not be had, the reason."""
    out = dict(res.thorough)
    if mode == "off":
        out["reason"] = "--no-cascade: the fast path only"
    elif pipe.cascade_error and not out.get("cascade_loaded"):
        out["reason"] = f"{out['reason']} (no cascade: {pipe.cascade_error})" if out.get("reason") else \
            f"no cascade: {pipe.cascade_error}"
    return out


def _thorough_line(result, thorough: dict, mode: str) -> str:
    """What the thorough pass did, and the mode the run took and why (decided from counts)."""
    from ..engine.report import format_mode

    if mode == "off":
        return "thorough pass: off, " + format_mode(thorough)
    t = result.timings
    if t.get("thorough_band_pairs"):
        cascade = (f"cascade on {int(t['thorough_band_pairs'])} undecided pairs in {t['thorough_cascade_s']:.2f} s, "
                   f"{len(result.cascade_links)} linked")
    else:
        cascade = "cascade not run"
    return (f"thorough pass: {int(t.get('thorough_checked_pairs', 0))} more pairs checked, {cascade}, "
            f"{len(result.discounted)} links on a machine discounted, {len(result.review)} pairs to review; "
            + format_mode(thorough))


def _empty_result():
    from ..engine.result import GroupResult, pair_matrix

    empty = pair_matrix(0, [], [], [])
    return GroupResult([], empty, empty, {})


def _write_groups(out: str | None, groups: dict) -> None:
    """``{"<file>": <group number or null>}`` for every photo file, names as they are."""
    if out:
        # a name that is not valid UTF-8 (a zip from an older Windows) is written as \udcXX
        # escapes: valid JSON that reads back as the same str, os.fsencode gives its bytes
        write_text(Path(out), json.dumps(groups, indent=2, ensure_ascii=False) + "\n", "backslashreplace")


def _write_report(out: str | None, groups: dict, thorough: dict | None) -> None:
    """``--report``: ``{"groups": <what --json writes>, "thorough": {"mode": "fast" | "thorough"
    | "mixed", "reason", "band_pairs", ...}}`` (:meth:`edge_app.engine.thorough.Thorough.summary`;
    null when no grouping ran)."""
    if out:
        doc = {"groups": groups, "thorough": thorough}
        write_text(Path(out), json.dumps(doc, indent=2, ensure_ascii=False) + "\n", "backslashreplace")


def _unwritable(path: Path) -> str | None:
    """Why ``path`` cannot be written (checked before minutes of analysis), or None."""
    if path.is_dir():
        return "is a folder"
    parent = path.parent
    if not parent.is_dir():
        return f"folder {parent} does not exist"
    if not os.access(parent, os.W_OK):
        return f"folder {parent} is not writable"
    return None


def cmd_eval(args) -> int:
    from ..engine.evaluate import run_eval

    report = run_eval([Path(d) for d in args.sets], batches=args.batches, seed=args.seed,
                      settings=engine_settings(args), progress=None if args.quiet else sys.stderr, thorough=_thorough(args))
    print(report["text"])
    if args.json:
        write_text(Path(args.json), json.dumps(report["summary"], indent=2) + "\n")
    return 0


def cmd_models(args) -> int:
    from ..engine.vision.models import ModelError, default_models_dir, load_manifest, load_model
    from ..versions import describe

    try:
        manifest = load_manifest()
    except ModelError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    bad = 0
    for e in manifest["models"]:
        mark = "*" if e.get("default") else " "
        optional = bool(e.get("optional"))
        if optional and not (default_models_dir() / e["file"]).is_file():
            status = "absent (optional: the thorough pass runs without its cascade)"
        else:
            try:
                m = load_model(name=e["name"])
                status = f"ok ({m.provider})" + (", optional" if optional else "")
            except ModelError as err:
                status = f"FAILED: {err}"
                bad += 1
        print(f"{mark} {e['name']:38s} {e.get('role', ''):16s} {status}")
    print(f"models folder: {default_models_dir()}  (* = default for its role)")
    print(describe())
    return 1 if bad else 0


def thorough_options(p) -> None:
    """--thorough / --no-cascade: whether the thorough pass's cascade runs."""
    g = p.add_mutually_exclusive_group()
    g.add_argument("--thorough", action="store_true",
                   help="always run the thorough pass's cascade on the undecided pairs (default: only when its "
                        "cost by count fits the budget, Settings.thorough_budget_s: the same folder always gets "
                        "the same mode)")
    g.add_argument("--no-cascade", action="store_true", help="the fast path only: no thorough pass")


def add_commands(sub) -> None:
    """Register ``cluster``, ``eval`` and ``models`` on the ``edge-app`` parser."""
    c = sub.add_parser("cluster", help="group the photos of one folder",
                       description="Group the photos in DIR by the spot they show.",
                       epilog="example: edge-app cluster site-12/ --json groups.json --html groups.html")
    c.add_argument("dir", help="folder of photos")
    c.add_argument("--json", metavar="OUT", help='write {"<file>": <group number or null>} for every photo')
    c.add_argument("--html", metavar="OUT", help="write one self-contained page with thumbnails")
    c.add_argument("--report", metavar="OUT", help='write {"groups": <as --json>, "thorough": {"mode": "fast"|'
                   '"thorough", "reason", "band_pairs", ...}}: the groups, and the mode the run took and why')
    c.add_argument("--explain", action="store_true", help="show the pair scores that joined or separated photos, "
                   "and the mode the run took and why")
    c.add_argument("--cache", metavar="DIR", help="feature cache folder (default: ~/.cache/edge_app/features)")
    c.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache")
    thorough_options(c)
    engine_options(c)
    c.set_defaults(func=cmd_cluster)

    e = sub.add_parser("eval", help="score the grouping on eval sets (batch protocol)",
                       description="Sample batches from each SET_DIR (images/ + groundtruth.csv) and score them.",
                       epilog="example: edge-app eval ../shared/eval/strecha ../shared/eval/webcam_a --batches 10 --seed 7")
    e.add_argument("sets", nargs="+", metavar="SET_DIR")
    e.add_argument("--batches", type=int, default=10, help="batches per set (default 10)")
    e.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    e.add_argument("--json", metavar="OUT", help="write the summary as JSON")
    thorough_options(e)
    engine_options(e)
    e.set_defaults(func=cmd_eval)

    m = sub.add_parser("models", help="list the bundled models and check them",
                       description="Load every model in models/manifest.json and report its provider.",
                       epilog="example: edge-app models")
    m.set_defaults(func=cmd_models)
