#!/usr/bin/env python3
"""The locked installs: exact versions, with hashes, of everything the app and its tests install.

``pyproject.toml`` keeps compatible ranges for people who use edge_app as a library (with
upper bounds on the libraries whose numbers feed the grouping). The set-up command in the
README, ``scripts/test.sh`` and ``.ci/run`` install from the locks instead, so the grouping a
crew gets does not depend on the day its device was installed (issue 21):

    requirements/app.lock    the app (what ``pip install`` of edge_app pulls)
    requirements/test.lock   the app and the ``test`` extra (the same pins for what they share)

Usage::

    python scripts/lock.py check                 # the locks agree with pyproject.toml (a test runs this)
    python scripts/lock.py compile               # re-resolve within the current pins (after a pyproject edit)
    python scripts/lock.py try --upgrade         # move every pin forward in a trial venv: tests + eval,
    python scripts/lock.py try -P numpy          #   or only the named packages; figures -> docs/dependencies.md
    python scripts/lock.py try --upgrade --accept  # ... and take the new locks when the tests pass

``try`` builds a fresh venv from the candidate locks in a temporary folder, runs the whole
test suite and ``edge-app eval`` on the dev sets (seed 7, the fast path; ``--thorough`` adds
the thorough pass, about 20 minutes on 2 cores) there and, for comparison, with the current
locks (``.venv``), and appends what changed and the figures to ``docs/dependencies.md``. A
move that changes the eval figures is a change of the engine's answer: say why in that
file, or keep the old pin (``-P`` the others) and bound the range in pyproject.toml.

pip-tools (``pip-compile``) resolves; it is installed into ``.cache/lock-tools`` on first
use (it is not a dependency of the app or of its tests).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCKS = REPO / "requirements"
APP_LOCK, TEST_LOCK = LOCKS / "app.lock", LOCKS / "test.lock"
TOOLS = REPO / ".cache" / "lock-tools"
PIP_TOOLS = "pip-tools==7.7.0"
RECORD = REPO / "docs" / "dependencies.md"
EVAL_SETS = ("strecha", "webcam_a", "wxbs", "triplets")
#: The libraries whose numbers feed the grouping: their versions are named with every figure.
ENGINE_LIBS = ("numpy", "onnxruntime", "opencv-python-headless", "scikit-learn", "scipy", "pillow", "simplejpeg")
COMPILE_FLAGS = ["--generate-hashes", "--strip-extras", "--allow-unsafe", "--no-emit-index-url",
                 "--no-emit-find-links", "--quiet"]


def norm(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path) -> dict[str, str]:
    """{normalised name: version} of the ``name==version`` lines of a lock file."""
    out = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", line)
        if m:
            out[norm(m.group(1))] = m.group(2)
    return out


def pyproject_requirements() -> tuple[list[str], list[str]]:
    """(runtime requirements, test extra's requirements) as written in pyproject.toml."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return list(project["dependencies"]), list(project["optional-dependencies"]["test"])


def check(app: Path = APP_LOCK, test: Path = TEST_LOCK) -> list[str]:
    """What is wrong with the locks against pyproject.toml (empty: they agree). Every
    requirement is pinned within its range (the app's in both locks, the test extra's in
    the test lock), and the two locks pin what they share to the same version."""
    from packaging.requirements import Requirement
    from packaging.version import Version

    problems = []
    runtime, test_extra = pyproject_requirements()
    pins = {"app.lock": read_lock(app), "test.lock": read_lock(test)}
    for lock, reqs in (("app.lock", runtime), ("test.lock", runtime + test_extra)):
        for text in reqs:
            req = Requirement(text)
            got = pins[lock].get(norm(req.name))
            if got is None:
                problems.append(f"{lock}: {req.name} is not pinned")
            elif not req.specifier.contains(Version(got), prereleases=True):
                problems.append(f"{lock}: {req.name}=={got} is outside pyproject's {req.specifier}")
    for name, version in pins["app.lock"].items():
        other = pins["test.lock"].get(name)
        if other is not None and other != version:
            problems.append(f"app.lock pins {name}=={version}, test.lock {other}")
    for lock in (app, test):
        text = lock.read_text()
        unhashed = [m.group(1) for m in re.finditer(r"^(\S+==\S+)(?! \\)\s*$", text, re.M)]
        if unhashed:
            problems.append(f"{lock.name}: pinned without a hash: {', '.join(unhashed)}")
    return problems


# ----------------------------------------------------------------------------- compiling


def pip_compile() -> Path:
    """The pip-compile of the tools venv (created on first use)."""
    exe = TOOLS / "bin" / "pip-compile"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS)], check=True)
        subprocess.run([str(TOOLS / "bin" / "pip"), "install", "-q", PIP_TOOLS], check=True)
    return exe


def compile_locks(out: Path, upgrade: bool = False, packages: list[str] = ()) -> None:
    """Write ``out``/test.lock and ``out``/app.lock from pyproject.toml, starting from the
    current locks (kept pins) unless ``upgrade`` (every pin) or ``packages`` (those) move."""
    out.mkdir(parents=True, exist_ok=True)
    exe = str(pip_compile())
    for name in ("test.lock", "app.lock"):
        if (LOCKS / name).exists() and not (out / name).exists():
            shutil.copy2(LOCKS / name, out / name)  # pip-compile keeps the pins of its output file
    moves = (["--upgrade"] if upgrade else []) + [a for p in packages for a in ("-P", p)]
    env = dict(os.environ, CUSTOM_COMPILE_COMMAND="python scripts/lock.py compile")
    subprocess.run([exe, *COMPILE_FLAGS, *moves, "--extra", "test", "-o", str(out / "test.lock"), "pyproject.toml"],
                   cwd=REPO, check=True, env=env)
    # the app's lock: the same versions as the test lock, without the test extra
    with tempfile.TemporaryDirectory() as tmp:
        pins = Path(tmp) / "pins.txt"
        pins.write_text("".join(f"{n}=={v}\n" for n, v in read_lock(out / "test.lock").items()))
        (out / "app.lock").unlink(missing_ok=True)
        subprocess.run([exe, *COMPILE_FLAGS, "-c", str(pins), "-o", str(out / "app.lock"), "pyproject.toml"],
                       cwd=REPO, check=True, env=env)
        app = out / "app.lock"
        app.write_text(app.read_text().replace(f"-c {pins}", "-c requirements/test.lock"))


# ----------------------------------------------------------------------------- trying a move


def make_venv(where: Path, lock: Path) -> Path:
    """A fresh venv at ``where`` with ``lock`` and edge_app (editable, no dependencies)."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    py = where / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--require-hashes", "-r", str(lock)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "-e", str(REPO)], check=True)
    return py


def run_eval(py: Path, thorough: bool) -> dict:
    """``edge-app eval`` of the dev sets at seed 7 (the fast path, or the thorough pass)."""
    sets = [str(REPO.parent / "shared" / "eval" / s) for s in EVAL_SETS]
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        subprocess.run([str(py), "-m", "edge_app.cli", "eval", *sets, "--batches", "10", "--seed", "7", "-q",
                        "--thorough" if thorough else "--no-cascade", "--json", f.name], check=True,
                       stdout=subprocess.DEVNULL)
        return json.loads(Path(f.name).read_text())["overall"]


def run_tests(py: Path) -> tuple[bool, str]:
    """(passed, pytest's closing line) of the whole suite run by ``py``."""
    p = subprocess.run([str(py), "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=REPO,
                       capture_output=True, text=True)
    tail = [ln for ln in p.stdout.splitlines() if ln.strip()][-1:] or ["(no output)"]
    return p.returncode == 0, tail[0].strip("= ")


def changed(old: dict[str, str], new: dict[str, str]) -> list[str]:
    return [f"{n} {old.get(n, '-')} -> {new.get(n, '-')}" for n in sorted(set(old) | set(new))
            if old.get(n) != new.get(n)]


def record(lines: list[str]) -> None:
    with RECORD.open("a") as f:
        f.write("\n" + "\n".join(lines) + "\n")


def try_move(upgrade: bool, packages: list[str], thorough: bool, accept: bool) -> int:
    with tempfile.TemporaryDirectory(prefix="lock-try-") as tmp:
        tmp = Path(tmp)
        compile_locks(tmp / "requirements", upgrade, packages)
        moved = changed(read_lock(TEST_LOCK), read_lock(tmp / "requirements" / "test.lock"))
        if not moved:
            print("nothing to move: the locks are current")
            return 0
        print("moving:", "; ".join(moved))
        problems = check(tmp / "requirements" / "app.lock", tmp / "requirements" / "test.lock")
        if problems:
            print("\n".join(problems))
            return 1
        current = REPO / ".venv" / "bin" / "python"
        if not current.exists():
            current = make_venv(REPO / ".venv", TEST_LOCK)
        trial = make_venv(tmp / "venv", tmp / "requirements" / "test.lock")
        passed, summary = run_tests(trial)
        figures = {}
        for mode in ("fast", "thorough") if thorough else ("fast",):
            figures[mode] = (run_eval(current, mode == "thorough"), run_eval(trial, mode == "thorough"))
        lines = [f"### {dt.date.today().isoformat()}: {'; '.join(moved)}", "",
                 f"{platform.processor() or platform.machine()}, Python {platform.python_version()}; "
                 f"tests with the new locks: {summary}", "",
                 "| answer | locks | ARI | precision | recall | moves |", "|---|---|---|---|---|---|"]
        for mode, (old, new) in figures.items():
            for label, fig in (("current", old), ("new", new)):
                lines.append(f"| {mode} | {label} | {fig['ari']:.3f} | {fig['precision']:.3f} | "
                             f"{fig['recall']:.3f} | {fig['moves']:.2f} |")
        same = all(old == new for old, new in figures.values())
        lines += ["", "The eval figures are identical." if same else
                  "**The eval figures changed**: the engine's answer depends on this move (say why here)."]
        taken = accept and passed
        lines.append(f"Taken into requirements/: {'yes' if taken else 'no'}.")
        record(lines)
        print("\n".join(lines))
        if taken:
            for name in ("app.lock", "test.lock"):
                shutil.copy2(tmp / "requirements" / name, LOCKS / name)
        return 0 if passed else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("check", help="the locks agree with pyproject.toml")
    c = sub.add_parser("compile", help="write requirements/*.lock from pyproject.toml")
    t = sub.add_parser("try", help="move pins in a trial venv: tests + eval, recorded in docs/dependencies.md")
    for p in (c, t):
        p.add_argument("--upgrade", action="store_true", help="move every pin to the newest allowed")
        p.add_argument("-P", "--upgrade-package", dest="packages", action="append", default=[],
                       help="move this package (repeatable)")
    t.add_argument("--thorough", action="store_true", help="also compare the thorough pass (about 20 min)")
    t.add_argument("--accept", action="store_true", help="take the new locks when the tests pass")
    a = ap.parse_args(argv)
    if a.cmd == "check":
        problems = check()
        print("\n".join(problems) or "the locks agree with pyproject.toml")
        return 1 if problems else 0
    if a.cmd == "compile":
        compile_locks(LOCKS, a.upgrade, a.packages)
        problems = check()
        print("\n".join(problems) or f"wrote {APP_LOCK.relative_to(REPO)} and {TEST_LOCK.relative_to(REPO)}")
        return 1 if problems else 0
    return try_move(a.upgrade, a.packages, a.thorough, a.accept)


if __name__ == "__main__":
    sys.exit(main())
