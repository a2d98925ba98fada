"""In Chromium, on a touch tablet in both orientations and both languages: the engine's
suggestion to take a shown photo out of its spot sits on the photo, in sight, and one tap on
옮기기 moves it (issue 17). Screenshots go to ``$EDGE_APP_ARTEFACTS``."""

from __future__ import annotations

import pytest

from edge_app.store import open_store, spots, views
from test_browser import LANDSCAPE, PORTRAIT
from test_review_traps_browser import open_site, site  # noqa: F401


@pytest.mark.parametrize("lang,viewport,tag", [("ko-KR", PORTRAIT, "ko_portrait"), ("en-US", LANDSCAPE, "en_landscape")])
def test_one_tap_takes_the_suggestion(site, browser, artefacts, lang, viewport, tag):  # noqa: F811
    st = open_store(site.data)
    a, b = views.site_view(st, 1)["spots"][:2]
    photo = a["photos"][0]["sha256"]
    with st.write():
        spots.suggest_moves(st, 1, [(photo, a["id"], b["id"], None, 0.7)])
    ctx, p = open_site(browser, site, viewport, lang)
    box = p.locator(f"[data-photo='{photo}'] .move-suggest")
    box.scroll_into_view_if_needed()
    text = box.inner_text()
    assert ("다시 보니" if lang == "ko-KR" else "second look") in text
    for sel in ("[data-action=accept-suggestion]", "[data-action=dismiss-suggestion]"):
        bb = box.locator(sel).bounding_box()
        assert bb and bb["height"] >= 44 and bb["width"] >= 44  # a gloved finger's target
    assert p.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    p.screenshot(path=str(artefacts / f"site_{tag}_suggestion.png"))
    with p.expect_navigation():
        box.locator("[data-action=accept-suggestion]").tap()
    assert p.locator(f"section[data-spot='{b['id']}'] [data-photo='{photo}']").count() == 1
    assert p.locator(".move-suggest").count() == 0
    assert spots.current(st, photo)["spot_id"] == b["id"]
    ctx.close()
    st.close()
