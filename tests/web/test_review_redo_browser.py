"""다시 실행 in Chromium (issue 17): move a photo with one tap on '여기로', tap 되돌리기 in
the done-line, then 다시 실행 in the same place; each time the page shows what is stored."""

from __future__ import annotations

from test_browser import LANDSCAPE, PORTRAIT, state
from test_review_traps_browser import open_site, site, stored  # noqa: F401


def test_undo_then_redo_from_the_done_line(site, browser, artefacts):  # noqa: F811
    for lang, viewport, tag, words in (("ko-KR", LANDSCAPE, "ko_landscape", ("되돌렸습니다", "다시 실행했습니다")),
                                       ("en-US", PORTRAIT, "en_portrait", ("Undone", "Redone"))):
        ctx, p = open_site(browser, site, viewport, lang)
        a, b = (s.get_attribute("data-spot") for s in p.locator("section[data-spot]").all()[:2])
        start = stored(site)
        name = p.locator(f"section[data-spot='{a}'] [data-photo]").first.get_attribute("data-name")
        p.locator(f"[data-photo][data-name='{name}'] .pick").tap()
        with p.expect_navigation():
            p.locator(f"section[data-spot='{b}'] [data-move-here]").tap()
        moved = stored(site)
        assert name in moved["spots"][b]
        with p.expect_navigation():
            p.locator("#done-undo").tap()
        assert stored(site) == start and state(p)["spots"] == start["spots"]
        line = p.locator("#done-line")
        assert words[0] in line.inner_text() and line.locator("#done-redo").is_visible()
        p.screenshot(path=str(artefacts / f"site_{tag}_undone_redo.png"))
        with p.expect_navigation():
            line.locator("#done-redo").tap()
        assert stored(site) == moved and state(p)["spots"] == moved["spots"]
        assert words[1] in p.locator("#done-line").inner_text()
        with p.expect_navigation():
            p.locator("#done-undo").tap()  # put it back for the next round
        assert stored(site) == start
        ctx.close()
