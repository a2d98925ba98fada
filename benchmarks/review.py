"""The scripted crew-lead walk (issue 17): taps to fix a visit's grouping to the truth.

    python benchmarks/review.py [--sets strecha webcam_a wxbs triplets] [--batches 2] [--seed 7] [--no-learn]
                                [--one-at-a-time] [--taps-only]
    python benchmarks/review.py --sets devsets/lookalike devsets/changed ...   (set folders: a path)

For each batch of the eval protocol (``edge_app.engine.evaluate.sample_batches``, the dev sets in
``../shared/eval``), in real Chromium (Debian's, driven by Playwright; touch, 1024x768
landscape) against a real ``edge-app serve`` with a fresh data folder:

1. choose the PIN, upload the batch through the home page's file picker, and wait until the
   page shows every photo placed and the background second look done;
2. fix the grouping to the truth using only gestures on the page's controls, each counted as
   one tap: a photo that belongs to a spot is held and dragged onto that spot (one gesture a
   photo; the page scrolls by itself when the finger nears the screen's edge); a true group
   no spot stands for, one of whose photos is in the tray, starts as one photo dragged onto
   that tray photo (a new spot of both; the rest are then dragged onto it); such a group
   with no photo in the tray starts as one of its photos dragged onto the tray (a group of
   k in k drags, against k + 1 taps to select it and split it off); a lone photo that sits
   in a spot is dragged onto the tray. Spots are matched to true groups for the fewest
   drags (``plan_fix``: a spot goes to the group that leaves the fewest photos to drag, so
   a group with a photo in the tray may start afresh where another group keeps the spot).
   Photos of a second site are first brought into the first (site tools: merge).
   ``--taps-only``: no drags, the walk before drag and drop (photos selected, then one tap
   on the spot's "여기로", the tray's or "새 지점으로 나누기"), for comparison;
3. "남은 지점 모두 확인" (and the dialog's OK), reload, and check that what the page shows and
   what the store holds are the truth.

After each fix the walk waits until the worker has regrouped the site with the lead's edits
as constraints (``worker.learn_from_edits``, issue 20: photos that match a photo the lead
placed may follow it) and reloads the page before it plans again; ``--no-learn`` turns that
learning off in the server (``EDGE_APP_WORKER_LEARN_FROM_EDITS=0``), to compare the taps.

``--one-at-a-time``: the lead moves ONE photo (its selection and one tap on its target),
waits for the page's update (the worker's regroup ``worker.after_edit_s`` after the edit),
answers the page's suggestions first (옮기기 when the move brings the photo to more of its
true group, 여기 두기 otherwise; one tap each), and only then moves the next photo still out
of place. So what the engine learns from each fix (photos that follow a placed photo out of
the tray, suggestions) is counted in taps saved; the walk also prints how many photos the
regroups moved. Figures: docs/quality.md, "One photo at a time".

Printed per set and overall: photos to move (the protocol's ``moves``), taps per batch
(confirm all and its dialog included), taps to fix per misplaced photo (without the
confirm), the batches within the issue's target (taps <= moves + 2), and the median seconds of
server time per action (tap to the next page loaded). A benchmark that prints figures, not a
test; each walk asserts it reached the truth.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from edge_app.engine.evaluate import EvalSet, sample_batches, score_grouping  # noqa: E402
from live_server import Server  # noqa: E402

PIN = "482913"
CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1024, "height": 768}


# ----------------------------------------------------------------------------- the plan (pure)


def plan_fix(spots: dict[str, set[str]], tray: set[str], truth: dict[str, str],
             drags: bool = False) -> list[tuple[str, list[str], str]]:
    """The actions a lead takes to turn ``spots`` ({spot id: photo names}) and ``tray`` into
    ``truth`` ({name: true group}; a group of one is a lone photo, right in the tray or
    alone in a spot): [("to", names, spot id) | ("new", names, "") | ("tray", names, "")].

    Spots are matched one-to-one to true groups; each matched group's missing photos go to
    its spot in one action, an unmatched group of two or more is made a new spot, and a lone
    photo sitting with others goes to the tray. Taps (``drags`` False): the match of the
    largest overlap (as the protocol's ``moves``). Drags: the match of the fewest gestures,
    a drag a photo: a matched group costs its photos not in its spot, an unmatched one its
    photos less one when one of them is in the tray (the others are dragged onto it), else
    all of them (one dragged onto the tray first); ties go to the larger overlap."""
    groups: dict[str, set[str]] = defaultdict(set)
    for name, g in truth.items():
        groups[g].add(name)
    real = [g for g, members in groups.items() if len(members) > 1]
    ids = list(spots)
    match: dict[str, str] = {}
    if ids and real:
        overlap = np.array([[len(spots[s] & groups[g]) for g in real] for s in ids])
        if drags:
            lone = [any(len(groups[truth[n]]) == 1 for n in spots[s]) for s in ids]
            match = gesture_match(overlap, ids, real, [len(groups[g]) for g in real],
                                  [bool(groups[g] & tray) for g in real], lone)
        else:
            rows, cols = linear_sum_assignment(-overlap)
            match = {real[c]: ids[r] for r, c in zip(rows, cols) if overlap[r, c] > 0}
    where = {n: s for s, names in spots.items() for n in names}
    actions: list[tuple[str, list[str], str]] = []
    for g in real:
        members = sorted(groups[g])
        if g in match:
            moving = [n for n in members if where.get(n) != match[g]]
            if moving:
                actions.append(("to", moving, match[g]))
        else:
            actions.append(("new", members, ""))
    lone_misplaced = sorted(n for g, members in groups.items() if len(members) == 1 for n in members
                            if n in where and len(spots[where[n]]) > 1)
    if lone_misplaced:
        actions.append(("tray", lone_misplaced, ""))
    return actions


def gesture_match(overlap: np.ndarray, ids: list[str], real: list[str], size: list[int],
                  in_tray: list[bool], lone: list[bool]) -> dict[str, str]:
    """{group: spot id} of the fewest drags. ``overlap``: spots x groups. A group matched to
    a spot costs ``size - overlap`` (its other photos dragged onto it), and one more where
    the spot holds a lone photo (``lone``: a group of one; left to no group, the spot would
    keep one of them, matched, all go to the tray); one left unmatched ``size - 1`` with a
    photo in the tray, else ``size``; a spot it shares no photo with is never its match.
    The least total is the protocol's ``moves``. Ties: the larger overlap, then a match over
    a new spot."""
    n_s, n_g = overlap.shape
    big = 10.0 * (sum(size) + 1)
    cost = np.full((n_g, n_s + n_g), big)
    for j in range(n_g):
        for i in range(n_s):
            if overlap[i, j] > 0:
                cost[j, i] = size[j] - overlap[i, j] + lone[i] - 1e-3 * overlap[i, j] - 1e-4
        cost[j, n_s + j] = size[j] - in_tray[j]
    rows, cols = linear_sum_assignment(cost)
    return {real[r]: ids[c] for r, c in zip(rows, cols) if c < n_s}


def first_drag(action: tuple[str, list[str], str], tray: set[str]) -> tuple[str, str, str]:
    """The one drag that starts ``action`` (the rest is planned again on the page it leads
    to): (photo, "spot" | "photo" | "tray", the spot id or tray photo it is dropped on). A
    new group: one of its photos dragged onto one of its photos in the tray (a new spot of
    both; the others then go onto that spot), or, none being in the tray, one of them
    dragged onto the tray first (a group of k in k drags, against k + 1 taps to select
    and split it off)."""
    kind, names, target = action
    if kind == "to":
        return names[0], "spot", target
    if kind == "tray":
        return names[0], "tray", ""
    anchor = next((n for n in names if n in tray), None)
    if anchor is None:
        return names[0], "tray", ""
    # another tray photo of the group first where there is one (no scrolling to reach it)
    rest = sorted((n for n in names if n != anchor), key=lambda n: n not in tray)
    return rest[0], "photo", anchor


def one_photo(action: tuple[str, list[str], str]) -> tuple[str, list[str], str]:
    """The first step of ``action`` when the lead moves one photo at a time: its first photo."""
    kind, names, target = action
    return kind, names[:1], target


def together(spots: dict[str, set[str]], tray: set[str]) -> dict[str, frozenset]:
    """Each photo's companions (its spot's photos; a tray photo alone), to tell which photos
    the engine moved between two looks whatever the spots' ids became."""
    out = {n: frozenset(names) for names in spots.values() for n in names}
    return out | {n: frozenset([n]) for n in tray}


def moved_by_regroup(before: tuple[dict[str, set[str]], set[str]], after: tuple[dict[str, set[str]], set[str]]) -> int:
    """Photos a regroup moved between two looks at the page ((spots, tray) each): those in
    another spot (or in or out of the tray) with other companions. A photo that joins a spot
    of four is one photo moved, not five whose companions changed."""
    def where(spots, tray):
        return {n: s for s, names in spots.items() for n in names} | {n: None for n in tray}

    a, b = where(*before), where(*after)
    ta, tb = together(*before), together(*after)
    return sum(1 for n in b if n in a and a[n] != b[n] and ta[n] != tb[n])


def suggestion_helps(spots: dict[str, set[str]], name: str, to: str, truth: dict[str, str]) -> bool:
    """Whether the page's suggestion to move photo ``name`` to ``to`` (a spot id, "new" or
    "tray") brings it closer to the truth: to a spot with more of its true group than where
    it is; a lone photo (a group of one) out of a spot it shares with others."""
    mates = {n for n, g in truth.items() if g == truth[name]} - {name}
    where = next((s for s, names in spots.items() if name in names), None)
    if not mates:
        return to in ("new", "tray") and where is not None and len(spots[where]) > 1
    now = len(spots[where] & mates) if where is not None else 0
    return len(spots.get(to, set()) & mates) > now


# ----------------------------------------------------------------------------- the walk


class Walk:
    """One lead, one page: every tap counted, the server time of every action measured."""

    def __init__(self, page, base: str):
        self.page, self.base = page, base
        self.taps = 0
        self.action_s: list[float] = []
        self.cdp = None

    def tap(self, locator) -> None:
        locator.tap()
        self.taps += 1

    def act(self, locator) -> None:
        """A tap that posts and loads the next page."""
        t0 = time.perf_counter()
        with self.page.expect_navigation():
            self.tap(locator)
        self.page.wait_for_load_state("load")
        self.action_s.append(time.perf_counter() - t0)

    def state(self) -> tuple[dict[str, set[str]], set[str]]:
        raw = self.page.evaluate("""() => ({
          spots: [...document.querySelectorAll('section[data-spot]')].map(s => [s.dataset.spot,
                 [...s.querySelectorAll('[data-photo]')].map(p => p.dataset.name)]),
          tray: [...document.querySelectorAll('[data-unassigned] [data-photo]')].map(p => p.dataset.name)})""")
        return {sid: set(names) for sid, names in raw["spots"]}, set(raw["tray"])

    def suggestions(self) -> list[tuple[str, str, str]]:
        """The engine's open suggestions on the page: [(suggestion id, photo name, to)]."""
        return [tuple(x) for x in self.page.evaluate("""() => [...document.querySelectorAll('[data-suggestion]')]
          .map(b => [b.dataset.suggestion, b.closest('[data-photo]').dataset.name, b.dataset.to])""")]

    def drag(self, name: str, dst) -> None:
        """Hold photo ``name`` and drag it onto ``dst`` (a locator), one gesture counted as
        one tap: the browser's own touch input (CDP), the finger resting near the screen's
        edge while the page scrolls the target into reach, then the release and the next page."""
        src = self.page.locator(f'[data-photo][data-name="{name}"] img')
        src.scroll_into_view_if_needed()
        box = src.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        height = self.page.viewport_size["height"]
        head = self.page.evaluate("(document.querySelector('.top') || {getBoundingClientRect: () => ({bottom: 0})})"
                                  ".getBoundingClientRect().bottom")
        self._touch("touchStart", x, y)
        self.page.wait_for_timeout(450)
        mid = height / 2
        for _ in range(400):
            b = dst.bounding_box()
            ty = b["y"] + min(b["height"] / 2, 30)
            if head + 100 < ty < height - 100:
                if y == mid or head + 100 < y < height - 100:  # the page is still: aim where it is now
                    break
                self._slide(x, y, x, mid)  # out of the edge's reach first: the scrolling stops
                y = mid
                self.page.wait_for_timeout(150)
                continue
            edge = (head + 20) if ty < head + 100 else height - 15
            self._slide(x, y, x, edge)
            y = edge
            self.page.wait_for_timeout(120)
        tx = b["x"] + min(b["width"] / 2, 120)
        self._slide(x, y, tx, ty)
        t0 = time.perf_counter()  # from the release, as a tap's (the hold and the slide are the lead's)
        with self.page.expect_navigation():
            self._touch("touchEnd")
        self.page.wait_for_load_state("load")
        self.action_s.append(time.perf_counter() - t0)
        self.taps += 1

    def _touch(self, kind: str, x: float = 0, y: float = 0) -> None:
        if self.cdp is None:
            self.cdp = self.page.context.new_cdp_session(self.page)
        pts = [] if kind == "touchEnd" else [{"x": x, "y": y, "radiusX": 6, "radiusY": 6, "force": 1, "id": 1}]
        self.cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": pts})

    def _slide(self, x0, y0, x1, y1, steps: int = 8) -> None:
        for k in range(1, steps + 1):
            self._touch("touchMove", x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps)
            self.page.wait_for_timeout(16)

    def select(self, names: list[str]) -> None:
        for n in names:
            self.tap(self.page.locator(f'[data-photo][data-name="{n}"] .pick'))


SITE_LINKS = "els => [...new Set(els.map(e => e.getAttribute('href')).filter(h => /^\\/sites\\/\\d+$/.test(h)))]"


def site_links(page) -> list[str]:
    return page.locator("a[href^='/sites/']").evaluate_all(SITE_LINKS)


def wait_until_placed(page, base: str, n: int, timeout_s: float = 600, second_look_s: float = 120) -> float:
    """Until the site pages show all ``n`` photos placed (what a lead waits for), then up to
    ``second_look_s`` more for the background second look to finish (it only adds links, and
    the walk plans again after every action). Returns the seconds waited."""
    t0 = time.monotonic()
    placed_at = None
    while time.monotonic() - t0 < timeout_s:
        page.goto(base + "/")
        shown, checking, waiting = 0, False, False
        for href in site_links(page):
            page.goto(base + href)
            shown += page.locator("[data-photo]").count()
            checking = checking or page.locator("[data-checking]").count() > 0
            waiting = waiting or page.locator("#progress .status.busy").count() > 0
        if shown >= n and not waiting:
            placed_at = placed_at or time.monotonic()
            if not checking or time.monotonic() - placed_at > second_look_s:
                return time.monotonic() - t0
        time.sleep(2)
    raise TimeoutError(f"photos not all placed after {timeout_s:.0f} s")


def wait_for_learning(data: Path, timeout_s: float = 60.0) -> None:
    """Until the worker has regrouped every site whose grouping the lead changed (its mark in
    the store's settings), as a lead's next look a few seconds later would see it."""
    from edge_app import app_settings
    from edge_app.store import open_store
    from edge_app.store import settings as store_settings
    from edge_app.store.spots import last_grouping_edits

    if not app_settings.value("worker.learn_from_edits"):
        return
    st = open_store(data)
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout_s:
            done = store_settings.get(st, "worker.edits_regrouped") or {}
            if all(done.get(str(s)) == at for s, at in last_grouping_edits(st).items()):
                return
            time.sleep(0.2)
    finally:
        st.close()


def walk_batch(browser, es: EvalSet, batch, work: Path, one_at_a_time: bool = False, drags: bool = True) -> dict:
    data = work / "data"
    subprocess.run([sys.executable, "-m", "edge_app.cli", "set-pin", "--data", str(data)], input=PIN + "\n",
                   text=True, check=True, capture_output=True)
    srv = Server(data).start()
    ctx = browser.new_context(viewport=VIEWPORT, has_touch=True, locale="ko-KR")
    page = ctx.new_page()
    page.on("dialog", lambda d: d.accept())
    try:
        w = Walk(page, srv.url)
        page.goto(srv.url + "/login")
        page.fill("input[name=pin]", PIN)
        with page.expect_navigation():
            page.click("form button.primary")
        page.set_input_files("#upload-form input[name=photos]", [str(es.path(f)) for f in batch.files])
        with page.expect_navigation(timeout=600_000):
            page.locator("#upload-form button[type=submit]").click()
        wait_until_placed(page, srv.url, len(batch.files))
        truth = dict(zip(batch.files, batch.truth))
        page.goto(srv.url + "/")
        sites = site_links(page)
        first = sites[0]
        page.goto(srv.url + first)
        for other in sites[1:]:  # a second site: bring it into the first (site tools)
            form = page.locator(f"form[action='{first}/merge']")
            w.tap(page.locator("details.card > summary").last)
            form.locator("select[name=other]").select_option(other.rsplit("/", 1)[1])
            w.taps += 1
            w.act(form.locator("button"))
            page.goto(srv.url + first)
        spots, tray = w.state()
        pred = {n: s for s, names in spots.items() for n in names}
        before = score_grouping([pred.get(f) for f in batch.files], batch.truth)
        answered = {"accepted": 0, "dismissed": 0, "followed": 0}
        for _ in range(3 * len(batch.files) + 5):  # plan again after each action (the page may have changed)
            if one_at_a_time:  # first the page's suggestions: taken when they move toward the truth
                asked = w.suggestions()
                if asked:
                    sid, name, to = asked[0]
                    ok = suggestion_helps(w.state()[0], name, to, truth)
                    answered["accepted" if ok else "dismissed"] += 1
                    w.act(page.locator(f"[data-suggestion='{sid}'] [data-action={'accept' if ok else 'dismiss'}-suggestion]"))
                    wait_for_learning(data)
                    page.reload()
                    continue
            plan = plan_fix(*w.state(), truth, drags)
            if not plan:
                break
            kind, names, target = one_photo(plan[0]) if one_at_a_time else plan[0]
            gesture = first_drag(plan[0], w.state()[1]) if drags else None
            if gesture is not None:
                name, onto, where = gesture
                w.drag(name, page.locator(f"section[data-spot='{where}'] .spot-name") if onto == "spot"
                       else page.locator(f'[data-unassigned] [data-photo][data-name="{where}"] img') if onto == "photo"
                       else page.locator("[data-unassigned] h2"))
                kind = "dragged"
            else:
                w.select(names)
            if kind == "to":
                w.act(page.locator(f"section[data-spot='{target}'] [data-move-here]"))
            elif kind == "new":
                w.act(page.locator("#split-btn"))
            elif kind != "dragged":
                w.act(page.locator("[data-unassigned] [data-move-here]"))
            placed = w.state()
            wait_for_learning(data)
            page.reload()
            now = w.state()
            answered["followed"] += moved_by_regroup(placed, now)
        fix_taps = w.taps
        if page.locator("#confirm-all").count():
            w.taps += 1  # the dialog's OK
            w.act(page.locator("#confirm-all"))
        page.reload()
        spots, tray = w.state()
        got = {n: s for s, names in spots.items() for n in names}
        after = score_grouping([got.get(f) for f in batch.files], batch.truth)
        assert after["moves"] == 0, f"{batch.set_name}: the walk did not reach the truth ({after})"
        confirmed = page.locator("section[data-spot][data-confirmed=true]").count()
        assert confirmed == len(spots), "not every spot is confirmed"
        return {"set": batch.set_name, "n": len(batch.files), "moves": before["moves"], "taps": w.taps,
                "fix_taps": fix_taps, "action_s": w.action_s, **answered}
    finally:
        ctx.close()
        srv.stop()


def set_dir(name: str, eval_root: Path) -> Path:
    """The folder of set ``name``: a name under ``eval_root`` (``wxbs``), or a folder given
    as a path (one with a slash, e.g. ``devsets/lookalike``; relative to the working folder,
    else to the repository)."""
    if "/" not in name and os.sep not in name:
        return eval_root / name
    p = Path(name)
    return p if p.is_absolute() or p.exists() else REPO / p


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", nargs="+", default=["strecha", "webcam_a", "wxbs", "triplets"],
                    help="set names under --eval, or set folders (a path with a slash: devsets/lookalike)")
    ap.add_argument("--eval", default=str(REPO.parent / "shared" / "eval"))
    ap.add_argument("--batches", type=int, default=2, help="batches per set (default 2)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-learn", action="store_true",
                    help="the server does not learn from the lead's fixes (EDGE_APP_WORKER_LEARN_FROM_EDITS=0)")
    ap.add_argument("--one-at-a-time", action="store_true",
                    help="the lead moves one photo, waits for the page's update (the worker's regroup with the "
                         "lead's edits), answers the page's suggestions, then moves the next misplaced photo")
    ap.add_argument("--taps-only", action="store_true",
                    help="no drag and drop: select, then tap the target (the walk before drags, for comparison)")
    a = ap.parse_args(argv)
    if a.no_learn:
        os.environ["EDGE_APP_WORKER_LEARN_FROM_EDITS"] = "0"
    from playwright.sync_api import sync_playwright

    sets = [EvalSet.load(set_dir(s, Path(a.eval))) for s in a.sets]
    by_name = {s.name: s for s in sets}
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for k, batch in enumerate(sample_batches(sets, a.batches, a.seed)):
            with tempfile.TemporaryDirectory(prefix="review-") as tmp:
                r = walk_batch(browser, by_name[batch.set_name], batch, Path(tmp), a.one_at_a_time, not a.taps_only)
            rows.append(r)
            print(f"batch {k + 1}: {r['set']:9s} n={r['n']:2d} moves={r['moves']:2d} taps={r['taps']:3d} "
                  f"target<={r['moves'] + 2:3d} suggestions accepted={r['accepted']} dismissed={r['dismissed']} "
                  f"photos the regroup moved={r['followed']}",
                  flush=True)
        browser.close()
    print(f"\n{'set':10s} {'batches':>7s} {'moves':>6s} {'taps':>6s} {'fix taps/move':>13s} {'<= target':>9s} "
          f"{'s/action':>8s}")
    for name in [s.name for s in sets] + ["overall"]:
        rs = [r for r in rows if name in ("overall", r["set"])]
        moves = sum(r["moves"] for r in rs) / len(rs)
        taps = sum(r["taps"] for r in rs) / len(rs)
        total_moves = sum(r["moves"] for r in rs)
        per = f"{sum(r['fix_taps'] for r in rs) / total_moves:13.2f}" if total_moves else f"{'-':>13s}"
        ok = sum(r["taps"] <= r["moves"] + 2 for r in rs)
        secs = statistics.median(s for r in rs for s in r["action_s"]) if any(r["action_s"] for r in rs) else 0
        print(f"{name:10s} {len(rs):7d} {moves:6.2f} {taps:6.2f} {per} {ok:6d}/{len(rs):<2d} {secs:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
