"""In Chromium on a touch tablet: a spot split off into a new site keeps its name there, and
the new site's 되돌리기 brings it back to the old site; a split of nothing is refused in the
lead's language (issue 17). Screenshots of both pages
go to ``$EDGE_APP_ARTEFACTS``."""

from __future__ import annotations

import pytest

from test_browser import LANDSCAPE, PORTRAIT
from test_review_traps_browser import open_site, site, stored  # noqa: F401


def spot_names(p) -> list[str]:
    return p.locator("section[data-spot] .spot-name").all_inner_texts()


@pytest.mark.parametrize("lang,viewport,tag", [("ko-KR", PORTRAIT, "ko_portrait"), ("en-US", LANDSCAPE, "en_landscape")])
def test_a_split_off_spot_keeps_its_name_and_the_new_site_undoes_it(site, browser, artefacts, lang, viewport, tag):  # noqa: F811
    ctx, p = open_site(browser, site, viewport, lang)
    before = spot_names(p)
    assert before == (["지점 1", "지점 2"] if lang == "ko-KR" else ["Spot 1", "Spot 2"])
    kept = stored(site)["spots"]
    second = p.locator("section[data-spot]").nth(1).get_attribute("data-spot")
    tools = p.locator("details.card", has=p.locator("form[action$='/split']"))
    tools.locator("summary").tap()
    # nothing ticked: the store's refusal, in the lead's language
    with p.expect_navigation():
        tools.locator("form[action$='/split'] button").tap()
    refusal = p.locator("#net-line.error")  # in the bar, where the lead is looking (the page kept its place)
    assert refusal.is_visible() and refusal.inner_text() == ("새 현장으로 옮길 지점이나 사진을 고르세요" if lang == "ko-KR"
                                    else "Choose the spots or photos for the new site")
    p.screenshot(path=str(artefacts / f"site_{tag}_split_refused.png"))
    tools.locator("summary").tap()
    tools.locator(f"input[name=spot][value='{second}']").check()
    with p.expect_navigation():
        tools.locator("form[action$='/split'] button").tap()
    new = p.url.split("/sites/")[1].split("#")[0]
    assert new != "1"
    assert spot_names(p) == before[1:]  # "지점 2" there, as it was
    done = p.locator("#done-line")
    assert done.is_visible() and ("현장 나눔" if lang == "ko-KR" else "Split the site") in done.inner_text()
    undo = p.locator("#undo")
    assert undo.is_enabled()
    box = undo.bounding_box()
    assert box["height"] >= 48
    p.screenshot(path=str(artefacts / f"site_{tag}_split_new_site.png"))
    with p.expect_navigation():
        undo.tap()
    assert p.url.split("#")[0].endswith("/sites/1")  # back where the spots are
    assert spot_names(p) == before and stored(site)["spots"] == kept
    assert p.locator("#done-redo").is_visible()
    p.screenshot(path=str(artefacts / f"site_{tag}_split_undone.png"))
    ctx.close()
