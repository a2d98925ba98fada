"""In Chromium on a touch tablet: one tap on a photo's phase chip (전/중/후/미정) changes the
stored phase and answers in place, without a reload (issue 17): the page's own state (a
marker set by the test, a ticked photo) survives; a double tap is one audited change; a
confirmed spot asks to reopen first; off the Wi-Fi the tap says so and changes nothing.
Screenshots go to ``$EDGE_APP_ARTEFACTS``."""

from __future__ import annotations

import pytest

from edge_app.store import open_store
from site_page import open_site, undo_all
from test_browser import LANDSCAPE, PORTRAIT
from test_review_traps_browser import site  # noqa: F401


def stored_phase(served, sha: str) -> tuple:
    st = open_store(served.data)
    try:
        return (st.scalar("SELECT phase FROM photos WHERE sha256 = ?", (sha,)),
                st.scalar("SELECT count(*) FROM edits WHERE action = 'phase' AND undone_at IS NULL"))
    finally:
        st.close()


@pytest.mark.parametrize("lang,viewport,tag", [("ko-KR", PORTRAIT, "ko_portrait"), ("en-US", LANDSCAPE, "en_landscape")])
def test_a_phase_tap_answers_in_place(site, browser, artefacts, lang, viewport, tag):  # noqa: F811
    ctx, p = open_site(browser, site, viewport, lang)
    p.evaluate("window.__stayed = 'yes'")  # gone if the page reloads
    a, b = p.locator("section[data-spot]").all()[:2]
    ticked = b.locator("[data-photo]").first
    ticked.locator(".pick").tap()  # a selection the lead holds elsewhere on the page
    tile = a.locator("[data-photo]").first
    sha = tile.get_attribute("data-photo")
    phase0, n0 = stored_phase(site, sha)
    assert phase0 == "before"
    chip = p.locator(f"[data-photo='{sha}'] [data-phase-button]")
    chip.scroll_into_view_if_needed()
    box = chip.bounding_box()
    assert box["height"] >= 48 and box["width"] >= 48
    chip.tap()
    p.locator(f"[data-photo='{sha}'][data-phase='during']").wait_for(timeout=10_000)
    assert stored_phase(site, sha) == ("during", n0 + 1)
    assert p.evaluate("window.__stayed") == "yes"  # no navigation: the card was swapped in
    assert chip.inner_text() == ("중" if lang == "ko-KR" else "During")
    assert ticked.locator("input[type=checkbox]").is_checked()  # the selection stayed
    done = p.locator("#done-line")
    assert done.is_visible() and done.locator("#done-undo").is_visible()
    assert ("전/중/후 → 중" if lang == "ko-KR" else "set to During") in p.locator("#undo").inner_text()
    p.screenshot(path=str(artefacts / f"site_{tag}_phase_tap.png"))

    # a double tap (two taps in quick succession on the same place) is one change
    box = chip.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    p.wait_for_timeout(1000)  # a person's next tap, after looking at the answer
    p.touchscreen.tap(x, y)
    p.touchscreen.tap(x, y)
    p.locator(f"[data-photo='{sha}'][data-phase='after']").wait_for(timeout=10_000)
    p.wait_for_timeout(1200)
    assert stored_phase(site, sha) == ("after", n0 + 2)
    assert p.evaluate("window.__stayed") == "yes"
    ctx.close()
    undo_all(site)


def test_a_phase_tap_on_a_confirmed_spot_asks_and_offline_changes_nothing(site, browser, artefacts):  # noqa: F811
    ctx, p = open_site(browser, site, LANDSCAPE, "ko-KR")
    a = p.locator("section[data-spot]").first.get_attribute("data-spot")
    with p.expect_navigation():
        p.locator(f"section[data-spot='{a}'] [data-action=confirm]").tap()
    p.evaluate("window.__stayed = 'yes'")
    sha = p.locator(f"section[data-spot='{a}'] [data-photo]").first.get_attribute("data-photo")
    chip = p.locator(f"[data-photo='{sha}'] [data-phase-button]")
    before = stored_phase(site, sha)
    asked = []
    p.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    chip.tap()
    p.wait_for_timeout(600)
    assert asked and "다시 열" in asked[0] and stored_phase(site, sha) == before  # "no": nothing sent
    p.once("dialog", lambda d: d.accept())
    chip.tap()
    p.locator(f"section[data-spot='{a}'][data-confirmed='false'] [data-photo='{sha}'][data-phase='during']").wait_for(
        timeout=10_000)
    assert stored_phase(site, sha)[0] == "during" and p.evaluate("window.__stayed") == "yes"
    assert p.locator(f"section[data-spot='{a}'] [data-action=confirm]").is_visible()  # open again, in sight
    # off the device's Wi-Fi: the page says so, nothing changes
    ctx.set_offline(True)
    p.wait_for_timeout(600)  # a person's next tap (one within 0.4 s of an answer is a double tap's second)
    chip.tap()
    line = p.locator("#net-line")
    line.wait_for(state="visible", timeout=10_000)
    assert "연결" in line.inner_text() and stored_phase(site, sha)[0] == "during"
    assert p.evaluate("window.__stayed") == "yes"
    ctx.set_offline(False)
    chip.tap()  # back on the Wi-Fi: the same tap goes through, and the offline line goes
    p.locator(f"[data-photo='{sha}'][data-phase='after']").wait_for(timeout=10_000)
    assert stored_phase(site, sha)[0] == "after" and p.locator("#net-line").count() == 0
    ctx.close()
    undo_all(site)
