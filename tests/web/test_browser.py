"""End to end in a real browser: Debian's Chromium driven by Playwright, against the real
``edge-app serve`` process, at a tablet viewport in both orientations.

The crew lead's day, once: choose the PIN on the first visit, upload 12 real photos of 3
spots (``../shared/eval/strecha``; synthetic photos of 3 spots where that folder is
absent), see them grouped, move one photo, merge two spots, split one photo off, undo all three, confirm a spot, reload, restart the server and log in again;
each time the page must show what was left. Screenshots of the main pages in Korean and
English are written to ``$EDGE_APP_ARTEFACTS`` (default ``out/screenshots/``).

Skips when Playwright or ``/usr/bin/chromium`` are missing;
``EDGE_APP_REQUIRE_BROWSER=1`` turns those skips into failures (for CI, which installs them).
Chromium (the ``browser`` fixture) and ``artefacts`` are tests/web/conftest.py's, for all the
browser tests.
"""

from __future__ import annotations

import csv
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path

import pytest

PIN = "482913"  # any 4-12 digits

REPO = Path(__file__).resolve().parents[2]
LANDSCAPE = {"width": 1024, "height": 768}
PORTRAIT = {"width": 768, "height": 1024}
GROUPS = ("fountain", "entry", "herz-jesus")
PER_GROUP = 4
GROUPING_TIMEOUT_MS = 60_000
MIN_TOUCH_PX = 48


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[str, list[Path]]:
    """4 photos of each of 3 strecha spots: {group: [path, ...]}. Where ../shared/eval is
    absent (a CI machine without the photo sets), 4 synthetic camera-like JPEGs of each of
    3 spots instead, so the walk through the page runs everywhere."""
    EVAL = Path(os.environ.get("EDGE_APP_EVAL", REPO.parent / "shared" / "eval"))
    if not EVAL.is_dir():
        from photo_files import spot_photos, write

        folder = tmp_path_factory.mktemp("spots")
        return {g: write(folder, spot_photos(seed, PER_GROUP, None, prefix=g))
                for g, seed in zip(GROUPS, (11, 22, 33))}
    root = EVAL / "strecha"
    by_group: dict[str, list[str]] = defaultdict(list)
    with open(root / "groundtruth.csv", newline="") as f:
        for row in csv.DictReader(f):
            by_group[row["group"]].append(row["filename"])
    out = {}
    for g in GROUPS:
        names = sorted(by_group[g])[:PER_GROUP]
        assert len(names) == PER_GROUP, f"strecha has too few photos of {g}"
        out[g] = [root / "images" / n for n in names]
    return out


# ---- the server process ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``edge-app serve`` as its own process, like on the crew's laptop."""

    def __init__(self, data: Path, log: Path):
        self.data, self.log = data, log
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, port: int | None = None, timeout_s: float = 30.0) -> None:
        """Start it (on ``port``, else a free one) and wait until it answers."""
        self.port = port or _free_port()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env.pop("EDGE_APP_DATA", None)
        with open(self.log, "ab") as logf:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "edge_app.cli", "serve", "--data", str(self.data), "--port", str(self.port)],
                cwd=REPO, env=env, stdout=logf, stderr=subprocess.STDOUT)
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout_s:
            if self.proc.poll() is not None:
                pytest.fail(f"edge-app serve exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                urllib.request.urlopen(self.url + "/login", timeout=2).close()
                return
            except urllib.error.HTTPError:  # it answers
                return
            except OSError:
                time.sleep(0.2)
        pytest.fail(f"edge-app serve did not answer within {timeout_s:.0f} s:\n{self.tail()}")

    def stop(self, timeout_s: float = 20.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            pytest.fail(f"edge-app serve ignored SIGTERM for {timeout_s:.0f} s:\n{self.tail()}")

    def tail(self, n: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return ""


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path / "data", tmp_path / "serve.log")
    s.start()
    yield s
    s.stop()
    print(f"---- edge-app serve log ({s.log}) ----\n{s.tail()}")


# ---- reading and driving the page -----------------------------------------------------------

_STATE_JS = """() => ({
  spots: [...document.querySelectorAll('section[data-spot]')].map(s => ({
    id: s.dataset.spot, confirmed: s.dataset.confirmed === 'true',
    names: [...s.querySelectorAll('[data-photo]')].map(p => p.dataset.name)})),
  tray: [...document.querySelectorAll('[data-unassigned] [data-photo]')].map(p => p.dataset.name),
})"""


def state(page) -> dict:
    """What the site page shows: {"spots": {id: frozenset(names)}, "confirmed": {ids}, "tray": set}."""
    raw = page.evaluate(_STATE_JS)
    spots = {s["id"]: frozenset(s["names"]) for s in raw["spots"]}
    assert sum(len(s["names"]) for s in raw["spots"]) == sum(len(v) for v in spots.values()), "a photo shown twice"
    return {"spots": spots, "confirmed": {s["id"] for s in raw["spots"] if s["confirmed"]}, "tray": set(raw["tray"])}


def partition(st: dict) -> set[frozenset]:
    return set(st["spots"].values())


def submit(page, locator) -> None:
    """Press a button whose form posts and redirects back (post-redirect-get)."""
    with page.expect_navigation() as nav:
        locator.click()
    resp = nav.value
    assert resp is not None and resp.ok, (
        f"{resp and resp.status} from {page.url}: {page.inner_text('body')[:300]} (server log below)")
    flash_errors = page.locator(".flash.error")
    assert flash_errors.count() == 0, f"the page shows an error: {flash_errors.all_inner_texts()}"


def pick(page, name: str) -> None:
    """Select one photo the way a finger does: a tap on its tile."""
    tile = page.locator(f'[data-photo][data-name="{name}"]')
    tile.locator(".pick").tap()
    assert tile.locator("input[type=checkbox][form=sel]").is_checked()


def shot(page, artefacts: Path, name: str, full_page: bool = False) -> None:
    """A PNG of what the lead sees (the viewport), or of the whole page from its top."""
    page.wait_for_load_state("load")
    page.evaluate("document.fonts.ready")
    if full_page:
        page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artefacts / f"{name}.png"), full_page=full_page)


def small_targets(page, selectors: list[str], where: str) -> list[str]:
    """Visible touch targets under 48 x 48 CSS px (a gloved finger)."""
    small = []
    for sel in selectors:
        loc = page.locator(sel)
        for k in range(loc.count()):
            el = loc.nth(k)
            if not el.is_visible():
                continue
            box = el.bounding_box()
            if box["height"] < MIN_TOUCH_PX or box["width"] < MIN_TOUCH_PX:
                small.append(f"{where}: {sel} #{k} is {box['width']:.0f}x{box['height']:.0f} px")
    return small


_COVERED_JS = """(sel) => {
  const out = [];
  document.querySelectorAll(sel).forEach((el, k) => {
    if (!el.checkVisibility({visibilityProperty: true})) return;
    el.scrollIntoView({block: 'center'});
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height) return;
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    if (hit && !el.contains(hit) && !(el.labels && [...el.labels].some(l => l.contains(hit))))
      out.push(`${sel} #${k} is covered by <${hit.tagName.toLowerCase()} class="${hit.className}">`);
  });
  window.scrollTo(0, 0);
  return out;
}"""


def covered_targets(page, selectors: list[str], where: str) -> list[str]:
    """Buttons whose middle a finger cannot reach because something lies on top of them."""
    return [f"{where}: {m}" for sel in selectors for m in page.evaluate(_COVERED_JS, sel)]


FONT_DIR = REPO / "edge_app" / "web" / "static" / "fonts"


def _font_cmap() -> set[int] | None:
    """The code points of the bundled web font (regular and bold hold the same set)."""
    try:
        from fontTools.ttLib import TTFont
    except ImportError:
        return None
    cps: set[int] = set()
    for f in FONT_DIR.glob("*.subset.ttf"):
        cps |= set(TTFont(f).getBestCmap())
    return cps or None


def missing_glyphs(page, cmap: set[int] | None, seen: dict[str, set[str]]) -> None:
    """Characters the page shows that the bundled font lacks (the tablet's own fonts must
    supply them, or it draws an empty box): {char: {page, ...}}."""
    if cmap is None:
        return
    text = page.evaluate("""() => document.body.innerText + [...document.querySelectorAll('[placeholder]')]
                              .map(e => e.placeholder).join('')""")
    where = page.url.split("//", 1)[1].split("/", 1)[1].split("?")[0] or "/"
    for ch in set(text):
        if ord(ch) >= 0x20 and ord(ch) not in cmap:
            seen.setdefault(ch, set()).add("/" + where)


def bar_hides_content(page, where: str) -> list[str]:
    """Scrolled to the very end, the fixed action bar must cover none of the page's content."""
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    bar_top = page.locator("form#sel").bounding_box()["y"]
    last = page.evaluate("""() => {
      const kids = [...document.querySelectorAll('main > *')].filter(e => e.id !== 'sel' && e.offsetParent !== null);
      return kids[kids.length - 1].getBoundingClientRect().bottom;
    }""")
    if last > bar_top + 1:
        return [f"{where}: the action bar (top {bar_top:.0f}) covers the page's last content (bottom {last:.0f})"]
    return []


# ---- the test -------------------------------------------------------------------------------


def test_crew_lead_day_in_chromium(photos, artefacts, browser, server):
    t_start = time.monotonic()
    files = [p for g in GROUPS for p in photos[g]]
    expected = {frozenset(p.name for p in photos[g]) for g in GROUPS}
    ui_problems: list[str] = []  # usability faults: all reported together at the end
    cmap, glyphs = _font_cmap(), {}

    def snap(name: str, full_page: bool = False) -> None:
        shot(page, artefacts, name, full_page)
        missing_glyphs(page, cmap, glyphs)

    # -- landscape tablet, Korean (the default) ------------------------------------------------
    ctx = browser.new_context(viewport=LANDSCAPE, locale="ko-KR", has_touch=True)
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(f"{m.text} ({m.location.get('url')})")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: console_errors.append(str(e)))

    # first visit: choose the PIN
    page.goto(server.url + "/")
    assert page.url.endswith("/setup"), f"the first visit should lead to /setup, got {page.url}"
    snap("setup_ko")
    page.fill('input[name="pin"]', PIN)
    page.fill('input[name="pin2"]', PIN)
    with page.expect_navigation():
        page.click("form button")
    assert page.url.rstrip("/") == server.url, page.url
    assert page.locator("html").get_attribute("lang") == "ko"

    # upload: the page's script sends one photo per request, then goes to /?batch=N
    page.set_input_files('input[type=file][name="photos"]', [str(p) for p in files])
    assert "12" in page.inner_text("#chosen")
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(r"/\?batch=\d+$"), timeout=60_000)
    open_site = page.locator("[data-open-site]")
    open_site.first.wait_for(timeout=GROUPING_TIMEOUT_MS)
    assert open_site.count() == 1, f"12 photos of one visit should make one site: {open_site.all_inner_texts()}"
    assert page.locator("#live .card.warn").count() == 0, page.inner_text("#live")
    snap("home_ko")
    with page.expect_navigation():
        open_site.click()
    site_path = "/sites/" + page.url.split("/sites/")[1].split("#")[0].split("?")[0]

    # grouped: 3 spots of 4, nothing left in the tray
    original = state(page)
    assert partition(original) == expected, f"grouping after upload: {original}"
    assert original["tray"] == set() and original["confirmed"] == set()
    assert page.locator("#undo").is_disabled()
    snap("site_ko_landscape")
    snap("site_ko_landscape_full", full_page=True)

    # move one photo to another spot
    a, b, c = list(original["spots"])
    moved = sorted(original["spots"][a])[0]
    pick(page, moved)
    assert "1" in page.inner_text("#sel-count")
    page.select_option("#move-target", b)
    snap("site_ko_landscape_selected")
    submit(page, page.locator("#move-btn"))
    st = state(page)
    assert moved in st["spots"][b] and moved not in st["spots"][a], st
    assert sorted(len(v) for v in st["spots"].values()) == [3, 4, 5]

    # merge the spot it came from into the one it went to: 2 spots, one of 8
    sec = page.locator(f'section[data-spot="{a}"]')
    sec.locator("details.pop summary", has_text="합치기").click()
    sec.locator('select[name="other"]').select_option(b)
    snap("site_ko_landscape_merge_open")
    submit(page, sec.locator("[data-action=merge]"))
    st = state(page)
    assert sorted(len(v) for v in st["spots"].values()) == [4, 8], st
    merged = next(i for i, v in st["spots"].items() if len(v) == 8)
    assert st["spots"][merged] == original["spots"][a] | original["spots"][b]

    # split one photo off into a spot of its own
    split = sorted(st["spots"][merged])[-1]
    pick(page, split)
    submit(page, page.locator("#split-btn"))
    st = state(page)
    assert sorted(len(v) for v in st["spots"].values()) == [1, 4, 7], st
    assert frozenset({split}) in partition(st)
    assert page.locator(f'section[data-spot] [data-name="{split}"]').is_visible()
    snap("site_ko_landscape_split")

    # undo three times: back to the grouping after upload, the very same spots
    for _ in range(3):
        assert page.locator("#undo").is_enabled()
        submit(page, page.locator("#undo"))
    st = state(page)
    assert partition(st) == expected, st
    assert st["spots"] == original["spots"], f"undo should bring back the same spots: {st} vs {original}"
    assert st["tray"] == set()

    # confirm one spot, reload: all as it was left
    confirmed = c
    submit(page, page.locator(f'section[data-spot="{confirmed}"] [data-action=confirm]'))
    assert page.locator(f'section[data-spot="{confirmed}"]').get_attribute("data-confirmed") == "true"
    left = state(page)
    assert left["confirmed"] == {confirmed} and left["spots"] == original["spots"]
    page.reload()
    assert state(page) == left
    snap("site_ko_landscape_confirmed", full_page=True)

    # the photo ledger of the confirmed spot: "preparing..." and the buttons off until the file
    # comes, then back (a tired lead does not start three exports)
    page.evaluate("""() => { const b = document.querySelector('[data-ledger-busy]'); window.__busySeen = false;
        new MutationObserver(() => { if (!b.hidden) window.__busySeen = true; }).observe(b, {attributes: true}); }""")
    pdf_button = page.locator("form[data-ledger-export] button[value=pdf]")
    pdf_button.scroll_into_view_if_needed()
    with page.expect_download() as dl:
        pdf_button.click()
    assert dl.value.suggested_filename.endswith(".pdf") and Path(dl.value.path()).read_bytes()[:5] == b"%PDF-"
    page.wait_for_function("""() => document.querySelector('[data-ledger-busy]').hidden &&
        ![...document.querySelectorAll('form[data-ledger-export] button')].some(b => b.disabled)""")
    assert page.evaluate("window.__busySeen")
    ui_problems += covered_targets(page, ["[data-phase-button]", ".photo .zoom", ".spot-actions .btn", "#undo"],
                                   "site, landscape")

    # the other pages of the review, Korean
    with page.expect_navigation():
        page.locator(f'section[data-spot="{confirmed}"] a[href*="/compare"]').click()
    assert page.locator("[data-photo]").count() == PER_GROUP
    snap("compare_ko")
    ui_problems += covered_targets(page, [".photo a.btn", ".head-actions .btn"], "compare")
    ui_problems += small_targets(page, [".photo a.btn", ".head-actions .btn"], "compare")
    spot_label = page.locator("h1").inner_text().split("·")[0].strip()
    page.goto(f'{server.url}/photos/{page.locator("[data-photo]").first.get_attribute("data-photo")}')
    snap("photo_ko")
    spot_row = page.locator("dl.meta dt", has_text="지점").locator("xpath=following-sibling::dd[1]")
    if spot_row.count() and spot_row.inner_text().strip() != spot_label:
        ui_problems.append(f"photo page: the spot row shows {spot_row.inner_text()!r}, not {spot_label!r}")
    page.goto(server.url + "/")
    snap("home_ko_after")
    console_errors = [e for e in console_errors if "/favicon.ico" not in e]  # no icon yet: cosmetic
    assert not console_errors, f"errors in the browser console: {console_errors}"

    # -- portrait tablet: the same page held upright ---------------------------------------------
    auth = ctx.storage_state()
    ctx.close()
    ctx = browser.new_context(viewport=PORTRAIT, locale="ko-KR", has_touch=True, storage_state=auth)
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    page.goto(server.url + site_path)
    assert state(page) == left
    snap("site_ko_portrait")
    snap("site_ko_portrait_full", full_page=True)
    bar = "#sel .btn, #move-target"
    targets = ["#undo", "#confirm-all", bar, "[data-action=confirm]", ".spot-actions .btn", "[data-phase-button]",
               ".photo .zoom", ".top .btn", ".site-head .btn"]
    too_small = small_targets(page, targets, "site, portrait")
    assert not too_small, too_small
    ui_problems += covered_targets(page, ["[data-phase-button]", ".photo .zoom", ".spot-actions .btn", "#undo"],
                                   "site, portrait")
    # select, move to the tray, undo
    other = sorted(original["spots"][a])[-1]
    pick(page, other)
    page.select_option("#move-target", "none")
    snap("site_ko_portrait_selected")
    submit(page, page.locator("#move-btn"))
    assert state(page)["tray"] == {other}
    submit(page, page.locator("#undo"))
    assert state(page) == left
    ui_problems += bar_hides_content(page, "site, portrait")
    snap("site_ko_portrait_end")

    # -- English: the language button (a cookie), then both orientations ------------------------
    with page.expect_navigation():
        page.locator('.top a[href*="/lang/en"]').click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Undo" in page.inner_text("#undo")
    assert state(page) == left
    snap("site_en_portrait")
    ui_problems += bar_hides_content(page, "site, portrait, English")
    page.set_viewport_size(LANDSCAPE)
    snap("site_en_landscape")
    ui_problems += bar_hides_content(page, "site, landscape, English")
    page.goto(server.url + "/")
    snap("home_en")
    page.goto(server.url + site_path)
    with page.expect_navigation():
        page.locator(f'section[data-spot="{confirmed}"] a[href*="/compare"]').click()
    snap("compare_en")
    ctx.close()

    # -- restart the server on the same data; log in again ---------------------------------------
    assert server.stop() == 0, server.tail()
    server.start(port=server.port)  # the address the tablet has bookmarked
    ctx = browser.new_context(viewport=LANDSCAPE, locale="ko-KR", has_touch=True)
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    page.goto(server.url + site_path)
    assert "/login" in page.url, page.url
    snap("login_ko")
    page.fill('input[name="pin"]', PIN)
    with page.expect_navigation():
        page.click("form button")
    assert page.url.endswith(site_path), f"login should lead back to the site page: {page.url}"
    assert state(page) == left
    ctx.close()
    ctx = browser.new_context(viewport=PORTRAIT, locale="en-US")
    page = ctx.new_page()
    page.goto(server.url + "/")
    snap("login_en")
    ctx.close()

    print(f"browser test: {time.monotonic() - t_start:.1f} s; screenshots in {artefacts}")
    symbols = {ch: sorted(w) for ch, w in glyphs.items() if not (ch.isalnum() or "\uac00" <= ch <= "\ud7a3")}
    if symbols:
        print("not in the bundled font (drawn with the device's fonts): "
              + ", ".join(f"{ch} U+{ord(ch):04X}" for ch in sorted(symbols)))
    ui_problems += [f"{', '.join(sorted(w))}: {ch!r} U+{ord(ch):04X} is not in the bundled font"
                    for ch, w in glyphs.items() if ch not in symbols]
    assert not ui_problems, "usability faults:\n" + "\n".join(ui_problems)
