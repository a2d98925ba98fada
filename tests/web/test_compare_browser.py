"""나란히 (side by side) keeps the two photos next to each other on a tablet held upright
too (issue 17): at 768x1024 and 1024x768, in Korean and English, with screenshots."""

from __future__ import annotations

from test_browser import LANDSCAPE, PORTRAIT
from test_review_traps_browser import open_site, site  # noqa: F401


def test_side_by_side_in_both_orientations(site, browser, artefacts):  # noqa: F811
    for lang, viewport, tag in (("ko-KR", PORTRAIT, "ko_portrait"), ("en-US", PORTRAIT, "en_portrait"),
                                ("ko-KR", LANDSCAPE, "ko_landscape"), ("en-US", LANDSCAPE, "en_landscape")):
        ctx, p = open_site(browser, site, viewport, lang)
        with p.expect_navigation():
            p.locator("section[data-spot] a[href*='/compare']").first.tap()
        figs = p.locator(".side figure")
        assert figs.count() == 2
        p.wait_for_function("[...document.querySelectorAll('.side img')].every(i => i.complete && i.naturalWidth)")
        a, b = figs.nth(0).bounding_box(), figs.nth(1).bounding_box()
        assert abs(a["y"] - b["y"]) < 1 and b["x"] >= a["x"] + a["width"], (tag, a, b)  # one row, not stacked
        ia, ib = (p.locator(".side img").nth(k).bounding_box() for k in (0, 1))
        assert ia["y"] + ia["height"] <= viewport["height"] and ib["y"] + ib["height"] <= viewport["height"], tag
        p.screenshot(path=str(artefacts / f"compare_{tag}.png"))
        ctx.close()
