"""The first visit with a setup code (issue 19), in Chromium on a tablet screen: a real
`edge-app serve --setup-code` prints the code on its console; the lead's tablet opens the
page, is led to /setup, finds the code's field first (focused, with the number pad), is told
a wrong code in the page's language, and with the right one chooses the PIN and is in.
Screenshots in ``$EDGE_APP_ARTEFACTS``: setup_code_ko_portrait.png, setup_code_en_landscape.png."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from live_server import Server
from test_browser import LANDSCAPE, PORTRAIT

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "security"))

from test_setup_code import printed_code  # noqa: E402

PIN = "482913"
WRONG = {"ko": "설정 코드가 틀렸습니다", "en": "Wrong setup code"}


@pytest.mark.parametrize("locale,viewport,tag", [("ko-KR", PORTRAIT, "ko_portrait"),
                                                 ("en-US", LANDSCAPE, "en_landscape")])
def test_the_lead_types_the_printed_code_and_chooses_the_pin(tmp_path, browser, artefacts, locale,
                                                             viewport, tag):
    srv = Server(tmp_path / "edge-data", extra=["--setup-code"]).start()
    ctx = browser.new_context(viewport=viewport, locale=locale, has_touch=True)
    try:
        code = printed_code(srv)
        page = ctx.new_page()
        page.goto(srv.url + "/")
        assert page.url.endswith("/setup")
        field = page.locator('input[name="setup_code"]')
        assert field.evaluate("e => e === document.activeElement")  # the first thing to type
        assert field.get_attribute("inputmode") == "numeric"
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        page.screenshot(path=str(artefacts / f"setup_code_{tag}.png"))

        page.fill('input[name="setup_code"]', "1111 1111")
        page.fill('input[name="pin"]', PIN)
        page.fill('input[name="pin2"]', PIN)
        with page.expect_navigation():
            page.click("form button")
        assert page.url.endswith("/setup")
        assert WRONG[locale[:2]] in page.inner_text('[role="alert"]')
        page.screenshot(path=str(artefacts / f"setup_code_{tag}_wrong.png"))

        page.fill('input[name="setup_code"]', code)
        page.fill('input[name="pin"]', PIN)
        page.fill('input[name="pin2"]', PIN)
        with page.expect_navigation():
            page.click("form button")
        assert page.url.rstrip("/") == srv.url  # in: the home page
        page.goto(srv.url + "/setup")
        assert "/login" in page.url or page.url.rstrip("/") == srv.url  # no second setup
    finally:
        ctx.close()
        srv.stop()
