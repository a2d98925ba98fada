"""The traps a tired crew lead fell into (issue 17), in real Chromium on a touch tablet
against a real ``edge-app serve``: a double tap on 확인, an edit of a confirmed spot, and
Back bringing back a selection the bar does not show. Each checks what the page then
claims against what is stored."""

from __future__ import annotations

from datetime import datetime

import pytest

from photo_files import spot_photos
from site_page import first_of, open_site, served_site, stored, tile, two_spots, undo_all
from test_browser import LANDSCAPE, PORTRAIT, state

DAY = datetime(2026, 5, 4, 9, 0, 0)


@pytest.fixture
def site(tmp_path):
    """A served site of two spots (3 + 3 synthetic photos), PIN set, grouping done (the
    browser tests of the other review files use it, with :func:`open_site` and :func:`stored`)."""
    srv = served_site(tmp_path, spot_photos(11, 3, DAY) + spot_photos(22, 3, DAY))
    yield srv
    srv.stop()


@pytest.fixture
def page(browser, site):
    ctx, p = open_site(browser, site)
    yield p
    ctx.close()


def test_a_double_tap_on_confirm_leaves_the_spot_confirmed(site, page):
    spot = page.locator("section[data-spot]").first.get_attribute("data-spot")
    # the page as it is after any action on the spot (scrolled to it), so the confirm
    # button stands where the reloaded page will put its spot again
    page.goto(f"{site.url}/sites/1#spot-{spot}")
    button = page.locator(f"section[data-spot='{spot}'] [data-action=confirm]")
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    with page.expect_navigation():
        page.touchscreen.tap(x, y)
    page.touchscreen.tap(x, y)  # the second tap of the double tap lands on the new page
    page.wait_for_load_state("load")
    page.wait_for_timeout(500)
    page.wait_for_load_state("load")
    shown = state(page)
    assert spot in shown["confirmed"]
    assert stored(site)["confirmed"] == {spot}
    assert {k: v for k, v in shown["spots"].items()} == stored(site)["spots"]


def test_an_edit_of_a_confirmed_spot_asks_first_and_nothing_changes_on_no(site, page):
    a, b = two_spots(page)
    with page.expect_navigation():
        page.locator(f"section[data-spot='{a}'] [data-action=confirm]").tap()
    before = stored(site)
    asked = []

    def answer(dialog, accept):
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))
    name = first_of(page, a)
    tile(page, name).locator(".pick").tap()
    page.select_option("#move-target", b)
    page.locator("#move-btn").tap()
    page.wait_for_timeout(500)
    assert asked and "다시 열" in asked[0]
    assert stored(site) == before  # "no": nothing was sent
    page.once("dialog", lambda d: answer(d, True))
    with page.expect_navigation():
        page.locator("#move-btn").tap()
    after = stored(site)
    assert name in after["spots"][b] and a not in after["confirmed"]
    shown = state(page)
    assert shown["spots"] == after["spots"] and shown["confirmed"] == after["confirmed"]


def test_back_does_not_bring_back_a_hidden_selection(site, page):
    tile = page.locator("section[data-spot] [data-photo]").first
    tile.locator(".pick").tap()
    assert tile.locator("input[type=checkbox]").is_checked()
    with page.expect_navigation():
        page.locator("section[data-spot] a[href*='/compare']").first.tap()
    assert "/compare" in page.url
    page.go_back(wait_until="commit")
    page.wait_for_load_state("load")
    assert page.url.endswith("/sites/1")
    checked = page.locator("input[type=checkbox][form=sel]:checked").count()
    assert checked == 0
    assert page.locator("#sel").get_attribute("class").split().count("none-selected") == 1
    assert page.locator("#move-target").input_value() == ""


def test_one_tap_on_a_spot_moves_the_selected_photo_there(site, browser, artefacts):
    """Select, then tap the other spot's '여기로': two taps for a misplaced photo (was four,
    with a list of names to remember). Screenshots of the offer, both orientations."""
    for lang, viewport, tag in (("ko-KR", LANDSCAPE, "ko_landscape"), ("en-US", PORTRAIT, "en_portrait")):
        ctx, p = open_site(browser, site, viewport, lang)
        a, b = two_spots(p)
        assert not p.locator(f"section[data-spot='{b}'] [data-move-here]").is_visible()  # only with a selection
        name = first_of(p, a)
        tile(p, name).locator(".pick").tap()
        here = p.locator(f"section[data-spot='{b}'] [data-move-here]")
        assert here.is_visible()
        box = here.bounding_box()
        assert box["width"] >= 48 and box["height"] >= 48
        p.screenshot(path=str(artefacts / f"site_{tag}_move_here.png"))
        with p.expect_navigation():
            here.tap()
        shown, kept = state(p), stored(site)
        assert name in kept["spots"][b] and shown["spots"] == kept["spots"]
        # the answer stays in sight (the bar at the bottom), with its undo one tap away
        done = p.locator("#done-line")
        assert done.is_visible() and done.locator("#done-undo").is_visible()
        p.screenshot(path=str(artefacts / f"site_{tag}_done_line.png"))
        ctx.close()
        undo_all(site)  # put it back for the next round
