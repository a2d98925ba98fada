"""Hostile and broken files never cost the good photos (issue 7), end to end.

A generated folder (:mod:`hostile_corpus`) of hostile, broken and awkward files around 20
good photos of three spots goes through the real ``edge-app cluster`` process. Checked:
exit 0 and no traceback, the JSON written, the good photos grouped as they are alone,
every entry accounted for with a reason of :data:`edge_app.engine.decode.REASONS`, names safe on
the terminal, no outside program started, the process's peak memory, and the time the
hostile files cost.

The CI subset (~150 entries) runs every time; the full corpus (~420 entries, camera-sized
good photos) with ``EDGE_APP_FULL_CORPUS=1`` (its figures are in docs/quality.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest

from edge_app.engine.decode import REASONS, ImageError, decode_image
from edge_app.engine.decode import scan_folder
from edge_app.engine.report import display_name
from hostile_corpus import list_corpus, write_corpus, write_good_only

FULL = os.environ.get("EDGE_APP_FULL_CORPUS") == "1"
GOOD_SIZE = (4000, 3000) if FULL else None

#: Peak resident memory of the whole ``edge-app cluster`` process (issue 7: <= 1 GB).
MAX_RSS_MB = 1024

# Runs the CLI in this interpreter and reports its peak memory and CPU time on exit.
RUNNER = """
import os, resource, sys, time
t0 = time.perf_counter()
from edge_app.cli import main
try:
    rc = main(sys.argv[1:])
finally:
    hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]
    ru = resource.getrusage(resource.RUSAGE_SELF)
    with open(os.environ["EDGE_APP_TEST_STATS"], "w") as f:
        f.write(f"{int(hwm) // 1024} {ru.ru_utime + ru.ru_stime} {time.perf_counter() - t0}")
sys.exit(rc)
"""


@dataclass
class Run:
    rc: int
    stdout: str
    stderr: str
    groups: dict | None
    page: str | None
    rss_mb: int
    cpu_s: float
    wall_s: float
    gs_ran: bool


def run_cluster(folder: Path, work: Path, tag: str) -> Run:
    """``edge-app cluster FOLDER --json --html --no-cache`` in a fresh process, with a
    ``gs`` on the PATH that leaves a mark if anything ever starts it."""
    bin_dir = work / "bin"
    marker = work / f"gs-ran-{tag}"
    if not bin_dir.is_dir():
        bin_dir.mkdir()
        gs = bin_dir / "gs"
        gs.write_text(f'#!/bin/sh\ntouch "{work}/gs-ran-$EDGE_APP_TAG"\nexit 0\n')
        gs.chmod(0o755)
    stats = work / f"stats-{tag}"
    out_json, out_html = work / f"{tag}.json", work / f"{tag}.html"
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", EDGE_APP_TAG=tag,
               EDGE_APP_TEST_STATS=str(stats), XDG_CACHE_HOME=str(work / ".cache"), PYTHONIOENCODING="utf-8")
    p = subprocess.run([sys.executable, "-c", RUNNER, "cluster", str(folder), "--json", str(out_json),
                        "--html", str(out_html), "--no-cache"], capture_output=True, cwd=work, env=env, timeout=900)
    rss, cpu, wall = stats.read_text().split()
    return Run(p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"),
               json.loads(out_json.read_text(encoding="utf-8")) if out_json.exists() else None,
               out_html.read_text(encoding="utf-8") if out_html.exists() else None,
               int(rss), float(cpu), float(wall), marker.exists())


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    t = time.perf_counter()
    expect = write_corpus(root / "현장 7", full=FULL, good_size=GOOD_SIZE, refused_only=root / "refused")
    write_good_only(root / "good", good_size=GOOD_SIZE)
    made = time.perf_counter() - t
    runs = {tag: run_cluster(root / name, root, tag)
            for tag, name in (("good", "good"), ("hostile", "현장 7"), ("refused", "refused"))}
    yield root, expect, runs, made
    for p in root.rglob("*"):  # the permission-less file, so the temporary folder can go
        if not p.is_symlink():
            try:
                p.chmod(0o755)
            except OSError:
                pass


def sections(stdout: str) -> dict[str, list[str]]:
    """The listing's sections: first line of each block -> its indented lines."""
    out = {}
    for block in stdout.split("\n\n"):
        lines = block.split("\n")
        out[lines[0]] = [x for x in lines[1:] if x.startswith("  ")]
    return out


def by_reason(lines: list[str], names) -> dict[str, str]:
    """{name: reason} from "  <display name>: <reason>[ (detail)]" lines."""
    shown = {display_name(n): n for n in names}
    reasons = sorted(REASONS, key=len, reverse=True)
    out = {}
    for line in lines:
        disp = max((d for d in shown if line.startswith(f"  {d}: ")), key=len)
        rest = line[len(disp) + 4:]
        out[shown[disp]] = next((r for r in reasons if rest.startswith(r)), rest)
    return out


def section(stdout: str, head: str) -> list[str]:
    return next((v for k, v in sections(stdout).items() if k.startswith(head)), [])


def test_the_run_finishes_cleanly_and_writes_the_json(corpus):
    _, expect, runs, _ = corpus
    for tag, run in runs.items():
        assert run.rc == 0, (tag, run.stderr[-3000:])
        assert "Traceback" not in run.stderr and "Warning" not in run.stderr, (tag, run.stderr[-3000:])
        assert run.groups is not None and run.page is not None, tag
    photos = {n for n, e in expect.items() if e.photo}
    assert set(runs["hostile"].groups) == photos  # every photo file, readable or not, names as they are


def test_the_good_photos_are_grouped_as_they_are_alone(corpus):
    _, expect, runs, _ = corpus
    alone = runs["good"].groups
    good = {n: e.spot for n, e in expect.items() if e.kind == "good" and n in alone}
    assert len(good) == 20

    def partition(groups):
        return {frozenset(n for n in good if groups[n] == g) for g in {groups[n] for n in good}}

    truth = {frozenset(n for n in good if good[n] == s) for s in set(good.values())}
    assert None not in {alone[n] for n in good} and partition(alone) == truth
    hostile = runs["hostile"].groups
    assert None not in {hostile[n] for n in good} and partition(hostile) == truth


def test_every_entry_is_accounted_for_with_its_reason(corpus):
    folder_root, expect, runs, _ = corpus
    run = runs["hostile"]
    groups = run.groups
    head = run.stdout.split("\n", 1)[0]
    n_photos = sum(1 for e in expect.values() if e.photo)
    unreadable = by_reason(section(run.stdout, "unreadable ("), expect)
    skipped = by_reason(section(run.stdout, "skipped, not photos ("), expect)
    assert set(unreadable) | set(skipped) | {n for n in groups if n not in unreadable} == set(expect)
    assert not set(unreadable) & set(skipped)
    assert head == (f"{n_photos - len(unreadable)} photos: 3 groups, "
                    f"{sum(1 for n, g in groups.items() if g is None and n not in unreadable)} unassigned, "
                    f"{len(unreadable)} unreadable, {len(skipped)} skipped")
    assert set(unreadable.values()) | set(skipped.values()) <= set(REASONS)  # one catalogued reason each
    label = {e.spot: groups[n] for n, e in expect.items() if e.kind == "good"}
    wrong = []
    for n, e in expect.items():
        got = ("unreadable", unreadable[n]) if n in unreadable else ("skipped", skipped[n]) if n in skipped \
            else ("label", groups[n])
        ok = {
            "good": got == ("label", label.get(e.spot)),
            "spot": got == ("label", label.get(e.spot)),
            "view": got[0] == "label" and got[1] in (label.get(e.spot), None),
            "junk": got == ("label", None),
            "unreadable": got[0] == "unreadable" and got[1] in e.reasons,
            "either": (got[0] == "unreadable" and got[1] in e.reasons)
                      or (got[0] == "label" and got[1] in (label.get(e.spot), None)),
            "skipped": got[0] == "skipped" and got[1] in e.reasons,
        }[e.kind]
        if not ok:
            wrong.append((n, e.kind, e.spot, sorted(e.reasons), got))
    assert not wrong, "\n".join(map(repr, wrong))
    # no group without a good photo in it: junk never forms a spot of its own
    assert {g for g in groups.values() if g is not None} == set(label.values())


def test_names_are_safe_on_the_terminal_and_in_the_page(corpus):
    _, expect, runs, _ = corpus
    run = runs["hostile"]
    for text in (run.stdout, run.stderr):
        bad = {c for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp")}
        assert not bad, sorted(map(hex, map(ord, bad)))
    assert "  line\\x0abreak.jpg" in run.stdout and "esc\\x1b[31mred\\x1b[0m.jpg" in run.stdout
    assert "invoice\\u202egnp.jpg" in run.stdout
    page = run.page
    assert not {c for c in page if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Cs")}
    assert "&lt;script&gt;alert(1)&lt;\\script&gt;.jpg" in page and "<script>" not in page
    assert "숨김 항목 / hidden" in page and "지원하지 않는 형식 / unsupported format" in page
    assert "line\nbreak.jpg" in run.groups  # the JSON keeps names as they are


def test_no_outside_program_is_started(corpus):
    _, expect, runs, _ = corpus
    assert "postscript.jpg" in expect and not any(r.gs_ran for r in runs.values())


def test_peak_memory_of_the_whole_process(corpus):
    _, _, runs, _ = corpus
    hostile = runs["hostile"]
    print(f"\npeak RSS: good {runs['good'].rss_mb} MB, hostile {hostile.rss_mb} MB, "
          f"refused only {runs['refused'].rss_mb} MB")
    assert hostile.rss_mb <= MAX_RSS_MB


def test_hostile_files_cost_little_time(corpus):
    """The good photos plus every file that must be refused or skipped take at most twice
    the good photos' time (CPU time: robust to other load on the machine); with the
    readable awkward photos too, each readable photo costs no more than twice a good one."""
    _, expect, runs, made = corpus
    good, hostile, refused = runs["good"], runs["hostile"], runs["refused"]
    print(f"\ncorpus written in {made:.1f} s; CPU / wall s: good {good.cpu_s:.2f} / {good.wall_s:.2f}, "
          f"refused only {refused.cpu_s:.2f} / {refused.wall_s:.2f}, "
          f"hostile {hostile.cpu_s:.2f} / {hostile.wall_s:.2f}")
    assert refused.cpu_s <= 2.0 * good.cpu_s
    unreadable = by_reason(section(hostile.stdout, "unreadable ("), expect)
    readable = sum(1 for n in hostile.groups if n not in unreadable)
    assert hostile.cpu_s <= 2.0 * good.cpu_s * readable / 20


def test_each_file_decodes_within_its_budget(corpus):
    """In this process: no single entry's decode runs away, and all the unreadable ones
    together cost a fraction of a second (thread CPU time)."""
    root, expect, _, _ = corpus
    slowest, refused_total = (0.0, ""), 0.0
    for p in scan_folder(root / "현장 7").photos:
        t = time.thread_time()
        try:
            decode_image(p, 768)
            ok = True
        except ImageError:
            ok = False
        dt = time.thread_time() - t
        slowest = max(slowest, (dt, p.name))
        refused_total += 0.0 if ok else dt
    print(f"\nslowest decode {slowest[0]:.2f} s ({slowest[1]!r}), all refused files {refused_total:.2f} s")
    assert slowest[0] < 2.0 and refused_total < 1.0


def test_the_full_corpus_has_hundreds_of_entries_and_the_ci_subset_is_part_of_it():
    full, ci = list_corpus(full=True), list_corpus(full=False)
    assert len(full) >= 350 and 100 <= len(ci) < len(full)
    assert all(full[n] == e for n, e in ci.items())
    kinds = {e.kind for e in ci.values()}
    assert kinds == {"good", "spot", "view", "junk", "unreadable", "either", "skipped"}
    catalogued = set().union(*(e.reasons for e in full.values()))
    assert catalogued <= set(REASONS)
