"""A stale second tab and a tablet off the device's Wi-Fi (issue 17, item 7), in real
Chromium against a real ``edge-app serve``: the stale tab's merge is refused in the lead's
words on the page it was made from (not "오류 / 찾을 수 없습니다") and changes nothing;
an edit made offline says so in the page and keeps the selection (not the browser's own
error page), and goes through once the tablet is back."""

from __future__ import annotations

from test_browser import LANDSCAPE, PORTRAIT, state
from test_review_traps_browser import open_site, site, stored  # noqa: F401


def test_a_stale_tab_merge_says_the_page_is_old_and_changes_nothing(site, browser, artefacts):  # noqa: F811
    ctx, old = open_site(browser, site)
    new = ctx.new_page()  # the second tab, drawn later
    new.goto(site.url + "/sites/1")
    a, b = (s.get_attribute("data-spot") for s in new.locator("section[data-spot]").all()[:2])
    new.locator(f"section[data-spot='{a}'] details.pop summary", has_text="합치기").tap()
    new.select_option(f"#merge-{a}", b)
    with new.expect_navigation():
        new.locator(f"section[data-spot='{a}'] [data-action=merge]").tap()
    merged = stored(site)
    assert a not in merged["spots"]
    # the first tab still shows spot a, and merges it into b too
    old.bring_to_front()
    old.locator(f"section[data-spot='{a}'] details.pop summary", has_text="합치기").tap()
    old.select_option(f"#merge-{a}", b)
    old.locator(f"section[data-spot='{a}'] [data-action=merge]").tap()
    line = old.locator("#net-line")
    line.wait_for(state="visible", timeout=10_000)
    text = line.inner_text()
    assert "이 화면은 오래되었습니다 — 새로 고침" in text and "이제 없습니다" in text and "지점 합침" in text
    assert "찾을 수 없습니다" not in old.inner_text("body")
    assert stored(site) == merged
    old.screenshot(path=str(artefacts / "site_ko_landscape_stale_tab.png"))
    with old.expect_navigation():
        line.locator("[data-reload]").tap()
    assert state(old)["spots"] == merged["spots"]
    ctx.close()


def test_an_offline_edit_says_so_and_keeps_the_selection(site, browser, artefacts):  # noqa: F811
    for lang, viewport, tag, words in (("ko-KR", LANDSCAPE, "ko_landscape", "연결이 끊겼습니다 — 다시 연결되면 다시 누르세요"),
                                       ("en-US", PORTRAIT, "en_portrait", "Connection lost")):
        ctx, p = open_site(browser, site, viewport, lang)
        a, b = (s.get_attribute("data-spot") for s in p.locator("section[data-spot]").all()[:2])
        before = stored(site)
        name = p.locator(f"section[data-spot='{a}'] [data-photo]").first.get_attribute("data-name")
        p.locator(f"[data-photo][data-name='{name}'] .pick").tap()
        ctx.set_offline(True)
        p.locator(f"section[data-spot='{b}'] [data-move-here]").tap()
        line = p.locator("#net-line")
        line.wait_for(state="visible", timeout=10_000)
        assert words in line.inner_text()
        assert p.url.startswith(site.url + "/sites/1")  # still the page, not the browser's error page
        assert p.locator(f"[data-photo][data-name='{name}'] input[type=checkbox]").is_checked()
        assert "1" in p.locator("#sel-count").inner_text()
        assert stored(site) == before
        p.screenshot(path=str(artefacts / f"site_{tag}_offline.png"))
        ctx.set_offline(False)  # back on the Wi-Fi: the same tap goes through
        with p.expect_navigation():
            p.locator(f"section[data-spot='{b}'] [data-move-here]").tap()
        assert name in stored(site)["spots"][b] and state(p)["spots"] == stored(site)["spots"]
        ctx.close()
        from edge_app.store import edits, open_store

        st = open_store(site.data)
        edits.undo(st, "test", site_id=1)
        st.close()
