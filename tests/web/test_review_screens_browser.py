"""The screens issue 17 changed, in Korean and English, at 1024x768 and 768x1024, as PNGs
in ``$EDGE_APP_ARTEFACTS`` to look at: the home page's upload summary, the stale-page line
and the stale page without the script, the offline line, the done-line after 되돌리기 with
다시 실행. Each is also checked for what a tired crew lead needs: the line in sight, nothing
wider than the screen."""

from __future__ import annotations

import pytest

from test_browser import LANDSCAPE, PORTRAIT
from test_review_traps_browser import open_site, site  # noqa: F401

ROUNDS = [("ko-KR", LANDSCAPE, "ko_landscape"), ("ko-KR", PORTRAIT, "ko_portrait"),
          ("en-US", LANDSCAPE, "en_landscape"), ("en-US", PORTRAIT, "en_portrait")]


def in_sight(p, sel: str) -> None:
    box = p.locator(sel).first.bounding_box()
    vp = p.viewport_size
    assert box and box["y"] >= 0 and box["y"] + box["height"] <= vp["height"] + 1, (sel, box)
    assert p.evaluate("document.documentElement.scrollWidth") <= vp["width"], "wider than the screen"


def upload_with_a_refusal(p, url: str) -> None:
    csrf = p.locator("body").get_attribute("data-csrf")
    h = {"X-CSRF-Token": csrf}
    b = p.request.post(url + "/batches", headers=h).json()["id"]
    for name, data in (("broken.jpg", b"\xff\xd8\xff\xe0junk"), ("memo.txt.jpg", "메모".encode())):
        p.request.post(f"{url}/batches/{b}/photos", headers=h,
                       multipart={"photos": {"name": name, "mimeType": "image/jpeg", "buffer": data}})
    p.request.post(f"{url}/batches/{b}/finish", headers=h)


@pytest.mark.parametrize("lang,viewport,tag", ROUNDS)
def test_the_changed_screens(site, browser, artefacts, lang, viewport, tag):  # noqa: F811
    ctx, p = open_site(browser, site, viewport, lang)
    # the home page keeps the upload summary, with the refused files and why
    upload_with_a_refusal(p, site.url)
    p.goto(site.url + "/")
    box = p.locator("[data-upload-summary]").first
    assert "broken.jpg" in box.inner_text()
    in_sight(p, "[data-upload-summary] [data-dismiss-summary]")
    p.screenshot(path=str(artefacts / f"home_{tag}_upload_summary.png"))
    with p.expect_navigation():
        box.locator("[data-dismiss-summary]").tap()
    assert p.locator("[data-upload-summary]").count() == 0
    # done-line after 되돌리기, with 다시 실행
    p.goto(site.url + "/sites/1")
    a, b = (s.get_attribute("data-spot") for s in p.locator("section[data-spot]").all()[:2])
    p.locator(f"section[data-spot='{a}'] [data-photo] .pick").first.tap()
    with p.expect_navigation():
        p.locator(f"section[data-spot='{b}'] [data-move-here]").tap()
    with p.expect_navigation():
        p.locator("#done-undo").tap()
    in_sight(p, "#done-redo")
    p.screenshot(path=str(artefacts / f"site_{tag}_done_redo.png"))
    # offline: the line, the selection kept
    p.locator(f"section[data-spot='{a}'] [data-photo] .pick").first.tap()
    ctx.set_offline(True)
    p.locator(f"section[data-spot='{b}'] [data-move-here]").tap()
    p.locator("#net-line.offline").wait_for(timeout=10_000)
    in_sight(p, "#net-line")
    p.screenshot(path=str(artefacts / f"site_{tag}_offline_line.png"))
    ctx.set_offline(False)
    # a stale tab: another tab moves a photo, this one then merges
    other = ctx.new_page()
    other.goto(site.url + "/sites/1")
    other.locator(f"section[data-spot='{b}'] [data-photo] .pick").first.tap()
    with other.expect_navigation():
        other.locator("[data-unassigned] [data-move-here]").tap()
    other.close()
    p.locator(f"section[data-spot='{a}'] details.pop summary").nth(1).tap()
    p.select_option(f"#merge-{a}", b)
    p.locator(f"section[data-spot='{a}'] [data-action=merge]").tap()
    p.locator("#net-line.stale").wait_for(timeout=10_000)
    in_sight(p, "#net-line [data-reload]")
    p.screenshot(path=str(artefacts / f"site_{tag}_stale_line.png"))
    ctx.close()
    # without the script: the stale page itself
    ctx, p = open_site(browser, site, viewport, lang)
    ctx2 = browser.new_context(viewport=viewport, locale=lang, java_script_enabled=False,
                               storage_state=ctx.storage_state())
    q = ctx2.new_page()
    q.goto(site.url + "/sites/1")
    with p.expect_navigation():
        p.goto(site.url + "/sites/1")
    p.locator("[data-unassigned] [data-photo] .pick").first.tap()
    with p.expect_navigation():
        p.locator(f"section[data-spot='{a}'] [data-move-here]").tap()  # put it back: q is now stale
    q.locator(f"section[data-spot='{a}'] details.pop summary").nth(1).click()
    with q.expect_navigation():
        q.locator(f"section[data-spot='{a}'] [data-action=merge]").click()
    assert q.locator("[data-stale]").is_visible()
    in_sight(q, "[data-stale] [data-reload]")
    q.screenshot(path=str(artefacts / f"stale_page_{tag}.png"))
    ctx2.close()
    ctx.close()
