"""Follow one batch through the site app's worker and count the files it goes through.

    python scripts/trace_worker.py [--photos 10] [--set ../shared/eval/strecha]

Stores ``--photos`` real photos of an eval set as one batch in a fresh data folder, then
runs the worker until it is idle (analysis, placement, the regroup, the thorough pass)
with a profiler on the worker's thread. Each time the innermost frame of ``edge_app`` code
changes file, that is a new *stay*; a stay in a file already left earlier is a *return*.
Prints the stays, the files, the returns and the files entered most often, for the whole
walk and for each ``Worker.step`` on its own. Then, for each step, the *direct* measure of
issue 16 ("the worker's step entering each file at most a few times"): the distinct
functions of each other ``edge_app`` file that the worker's own code (``edge_app/worker/``)
calls, e.g. ``store/spots.py 3 (engine_view, last_grouping_edits, write_engine_plan)``.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from edge_app.store import open_store, photos  # noqa: E402
from edge_app.worker import Worker  # noqa: E402

PACKAGE = str(REPO / "edge_app")
WORKER = str(REPO / "edge_app" / "worker") + "/"


class FileTrail:
    """The files of ``edge_app`` the walk through the code passes, in order (a profiler).

    A function counts the first time it runs (for the first photo, the first pair, the
    first step that regroups): the walk through the code, as one reads it from
    ``Worker.run_until_idle`` down, not its loops over photos and pairs. ``every_call``
    counts every call instead."""

    def __init__(self, every_call: bool = False, step_code=None):
        self.stays: list[str] = []
        self.every_call = every_call
        self.stack: list = []
        self.seen: set = set()
        self.step_code = step_code  # Worker.step's code: where each step's walk starts
        self.step_starts: list[int] = []
        #: per step: {file: names of its functions the worker's own code called}
        self.direct: list[dict[str, set[str]]] = []

    def __call__(self, frame, event, arg):
        code = frame.f_code
        if not code.co_filename.startswith(PACKAGE) or event not in ("call", "return"):
            return
        if event == "return":
            if self.stack and self.stack[-1] is code:
                self.stack.pop()
            return
        self.stack.append(code)
        if code is self.step_code:  # a new step: its walk counts each function once again
            self.step_starts.append(len(self.stays))
            self.seen = set()
            self.stays.append("")  # no file: the next file is a new stay
            self.direct.append({})
        self._direct(frame, code)
        if not self.every_call:
            if code in self.seen:
                return
            self.seen.add(code)
        name = code.co_filename[len(PACKAGE) + 1:]
        if not self.stays or self.stays[-1] != name:
            self.stays.append(name)

    def _direct(self, frame, code) -> None:
        """A call from the worker's own code into another file of ``edge_app`` (during a step)."""
        caller = frame.f_back
        if not self.direct or caller is None or not caller.f_code.co_filename.startswith(WORKER):
            return
        name = code.co_filename[len(PACKAGE) + 1:]
        if name.startswith("worker/") or code.co_name.startswith("<"):
            return
        self.direct[-1].setdefault(name, set()).add(code.co_name)

    @staticmethod
    def direct_line(calls: dict[str, set[str]]) -> str:
        """``file n (names)``, the file whose functions are called most first."""
        return "; ".join(f"{name} {len(fs)} ({', '.join(sorted(fs))})"
                         for name, fs in sorted(calls.items(), key=lambda x: (-len(x[1]), x[0])))

    @staticmethod
    def rooms(stays: list[str]) -> list[str]:
        """The walk by room (worker, engine, store, ...): consecutive files of one room are
        one stay; the path a photo takes between the layers."""
        out: list[str] = []
        for name in (s for s in stays if s):
            r = name.split("/")[0] if "/" in name else name.removesuffix(".py")
            if not out or out[-1] != r:
                out.append(r)
        return out

    @staticmethod
    def count(stays: list[str]) -> dict:
        stays = [s for s in stays if s]
        seen, returns = set(), 0
        for k, name in enumerate(stays):
            if name in seen and stays[k - 1] != name:
                returns += 1
            seen.add(name)
        return {"stays": len(stays), "files": len(seen), "returns": returns,
                "entered": Counter(stays).most_common(), "rooms": FileTrail.rooms(stays)}

    def summary(self) -> dict:
        return self.count(self.stays)

    def per_step(self) -> list[dict]:
        """The walk of each ``Worker.step`` on its own (each function once per step)."""
        ends = self.step_starts[1:] + [len(self.stays)]
        return [self.count(self.stays[a:b]) for a, b in zip(self.step_starts, ends)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=10)
    ap.add_argument("--set", default=str(REPO.parent / "shared" / "eval" / "strecha"))
    ap.add_argument("--all", action="store_true", help="print every file's count, not the top 12")
    ap.add_argument("--every-call", action="store_true", help="follow every call (loops over photos and pairs "
                    "included), not each function once")
    args = ap.parse_args()
    rows = list(csv.DictReader(open(Path(args.set) / "groundtruth.csv")))[: args.photos]
    with tempfile.TemporaryDirectory() as data:
        st = open_store(data, create=True)
        batch = photos.start_batch(st, "cli", "trace")
        for r in rows:
            photos.add_path(st, str(Path(args.set) / "images" / r["filename"]), source="cli", who="trace",
                            batch_id=batch)
        photos.finish_batch(st, batch)
        worker = Worker(data)
        pipe = worker.pipeline  # loading the models is not the walk being measured
        (pipe.load_models if hasattr(pipe, "load_models") else pipe.analyzer.load_models)()
        trail = FileTrail(args.every_call, Worker.step.__code__)
        sys.setprofile(trail)
        try:
            worker.run_until_idle()
        finally:
            sys.setprofile(None)
        s = trail.summary()
        steps = [p for p in trail.per_step() if p["stays"]]
        direct = [d for d, p in zip(trail.direct, trail.per_step()) if p["stays"]]
    print(f"{len(rows)} photos of {Path(args.set).name}, one batch, worker until idle, "
          + ("every call:" if args.every_call else "each function once:"))
    print(f"  {s['stays']} stays in {s['files']} files, {s['returns']} returns to a file already left")
    for name, n in s["entered"][: None if args.all else 12]:
        print(f"  {n:4d}  {name}")
    print(f"each Worker.step on its own ({len(steps)} steps that did something; each function once per step):")
    for k, p in enumerate(steps, 1):
        top = ", ".join(f"{name} {n}" for name, n in p["entered"][:3])
        print(f"  step {k}: {p['stays']} stays in {p['files']} files, {p['returns']} returns; most entered: {top}")
        rooms = Counter(r for r in p["rooms"] if r in ("worker", "engine", "store"))
        print(f"          by room: {len(p['rooms'])} stays (" + ", ".join(f"{r} {n}" for r, n in rooms.items())
              + "): " + " > ".join(p["rooms"]))
    print("each Worker.step, the files the worker's own code calls into (distinct functions of each):")
    for k, d in enumerate(direct, 1):
        print(f"  step {k}: {FileTrail.direct_line(d)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
