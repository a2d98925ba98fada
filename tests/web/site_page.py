"""The site page against a real ``edge-app serve``, for the browser tests (issue 16): a
served site (:func:`served_site`), a touch tablet logged in on it (:func:`open_site`), what
the store holds (:func:`stored`) and how to put it back (:func:`undo_all`), and where things
are on the page (:func:`two_spots`, :func:`tile`, :func:`first_of`). Chromium itself is
tests/web/conftest.py's ``browser`` fixture."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from edge_app.store import edits, open_store, views
from live_server import Server
from photo_files import write
from test_browser import LANDSCAPE, PIN


def served_site(folder: Path, photos: list) -> Server:
    """``edge-app serve`` of a data folder in ``folder`` where ``photos`` (specs of
    :mod:`photo_files`) were added with ``edge-app add`` (grouped there) and the PIN set."""
    data = folder / "data"
    files = write(folder / "in", photos)
    subprocess.run([sys.executable, "-m", "edge_app.cli", "add", "--data", str(data), *map(str, files)],
                   check=True, capture_output=True, timeout=300)
    subprocess.run([sys.executable, "-m", "edge_app.cli", "set-pin", "--data", str(data)], input=PIN + "\n",
                   text=True, check=True, capture_output=True)
    return Server(data).start()


def open_site(browser, site, viewport=LANDSCAPE, locale="ko-KR", touch: bool = True):
    """(context, page): a tablet (``touch``; else a mouse) logged in, on the site page."""
    ctx = browser.new_context(viewport=viewport, has_touch=touch, locale=locale)
    p = ctx.new_page()
    p.goto(site.url + "/login")
    p.fill("input[name=pin]", PIN)
    with p.expect_navigation():
        p.click("form button.primary")
    p.goto(site.url + "/sites/1")
    return ctx, p


def stored(site) -> dict:
    """What the store holds of site 1: {"spots": {id: frozenset(names)}, "confirmed": {ids},
    "tray": {names}} (the keys of ``test_browser.state``, for what the page shows)."""
    st = open_store(site.data)
    try:
        v = views.site_view(st, 1)
        return {"spots": {str(sp["id"]): frozenset(p["name"] for p in sp["photos"]) for sp in v["spots"]},
                "confirmed": {str(sp["id"]) for sp in v["spots"] if sp["confirmed"]},
                "tray": {p["name"] for p in v["unassigned"]}}
    finally:
        st.close()


def undo_all(site) -> None:
    """Put the site back as the worker left it (every person's edit undone)."""
    st = open_store(site.data)
    try:
        while edits.undo(st, "test", site_id=1):
            pass
    finally:
        st.close()


def two_spots(p) -> tuple[str, str]:
    """The ids of the first two spots on the page, in its order."""
    a, b = (s.get_attribute("data-spot") for s in p.locator("section[data-spot]").all()[:2])
    return a, b


def tile(p, name: str):
    """The photo tile of the photo named ``name``."""
    return p.locator(f'[data-photo][data-name="{name}"]')


def first_of(p, spot: str) -> str:
    """The name of the first photo shown in ``spot``."""
    return p.locator(f"section[data-spot='{spot}'] [data-photo]").first.get_attribute("data-name")
