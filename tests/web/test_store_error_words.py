"""What the store refuses reaches a Korean page in Korean (issue 17): every StoreError the
store raises carries a code with a Korean and an English text (pages/i18n.STORE_ERRORS);
each is rendered on a Korean page, and a few are provoked for real through the site page's
own forms."""

from __future__ import annotations

import ast
import re
from datetime import timedelta
from pathlib import Path

import pytest

import edge_app.store
from edge_app.pages.i18n import STORE_ERRORS, store_error_text
from edge_app.store import StoreError, views
from edge_app.worker import Worker
from photo_files import spot_photos
from test_review_trust import DAY, two_spots
from test_routes import upload

STORE = Path(edge_app.store.__file__).parent
HANGUL = re.compile("[\uac00-\ud7a3]")
ENGLISH = re.compile(r"\b[A-Za-z]{2,}(?:[ ,;']+[A-Za-z]{2,}){2,}")  # three English words in a row


def raised_codes() -> dict[str, set[str]]:
    """code -> the names of its params, for every ``raise StoreError(message, code, ...)`` in
    the store's modules; a raise without a code is listed under ''."""
    out: dict[str, set[str]] = {}
    for path in sorted(STORE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) \
                    and getattr(node.exc.func, "id", None) == "StoreError":
                args = node.exc.args
                code = args[1].value if len(args) > 1 and isinstance(args[1], ast.Constant) else ""
                out.setdefault(code, set()).update(k.arg for k in node.exc.keywords)
    return out


def english_in(text: str) -> list[str]:
    return ENGLISH.findall(text)


def flashes(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", m) for m in re.findall(r'<p class="flash error"[^>]*>(.*?)</p>', html, re.S)]


def test_every_store_refusal_has_a_code_with_korean_and_english_words():
    codes = raised_codes()
    assert "" not in codes, "a StoreError raised in the store without a code"
    assert set(codes) <= set(STORE_ERRORS)
    assert set(STORE_ERRORS) - set(codes) == {"bad_form"}  # no text left over for a code no longer raised
    for code, (ko, en) in STORE_ERRORS.items():
        assert HANGUL.search(ko) and not english_in(ko), code
        assert set(re.findall(r"\{(\w+)\}", ko)) == set(re.findall(r"\{(\w+)\}", en)) == codes.get(code, set()), code


@pytest.mark.parametrize("code", sorted(STORE_ERRORS))
def test_each_refusal_reads_in_korean_on_a_korean_page(app, code):
    params = {name: 4 for name in raised_codes().get(code, ())}
    e = StoreError("an English message for the command line", code, **params) if code != "bad_form" \
        else ValueError("invalid literal for int() with base 10: 'x'")
    with app.test_request_context("/", headers={"Accept-Language": "ko-KR,ko;q=0.9"}):
        from flask import g, render_template

        g.lang = "ko"
        page = render_template("error.html", message=store_error_text("ko", e))
    said = re.search(r"<h1>.*?</h1><p>(.*?)</p>", page, re.S).group(1)
    assert HANGUL.search(said) and not english_in(said), said
    assert '<html lang="ko">' in page
    assert store_error_text("en", e) == STORE_ERRORS[code][1].format(**params)


def test_refusals_provoked_on_the_site_page_are_in_korean(app, lead):
    st, a, b = two_spots(app, lead)
    upload(lead, spot_photos(33, 3, DAY + timedelta(days=40)))  # another job, weeks later: its own site
    Worker(app.config["DATA_DIR"]).run_until_idle()
    other = next(s for s in views.site_view(st, 2)["spots"])
    post = lambda url, **d: lead.post(url, data={"csrf": lead.csrf, **d}, follow_redirects=True)  # noqa: E731
    seen = {
        # a spot of another site named in this site's split (a page left open while it moved)
        "spot_other_site": post("/sites/1/split", spot=str(other["id"])),
        "split_site_empty": post("/sites/1/split"),
        "bad_form": post("/sites/1/merge", other="x"),
        "merge_two_spots": post(f"/spots/{a['id']}/merge", other=str(a["id"])),
        "cover_not_in_spot": post(f"/spots/{a['id']}/cover", photo=b["photos"][0]["sha256"]),
    }
    for code, r in seen.items():
        said = flashes(r.text)
        assert said == [STORE_ERRORS[code][0]], (code, said)
        assert not english_in(said[0])
    lead.set_cookie("lang", "en")
    said = flashes(post("/sites/1/split", spot=str(other["id"])).text)
    assert said == ["That spot is in another site. Reload the page and try again"]
    st.close()
