"""Head office's ledger page offers the site app's choices (issue 18): layout (rows, 2-up,
4-up), all photos, the 시공 중 column and no 위치도, read by the one parser both servers use
(:func:`edge_app.pages.ledger_routes.requested_options`)."""

import math
import re
import subprocess

import pytest
from flask import Flask

from edge_app.hq import create_hq_app
from edge_app.pages.ledger_routes import ExportOptions, requested_options
from edge_app.store import open_store
from test_ledger_hq import DEVICE, received


@pytest.fixture(scope="module")
def hq(site, tmp_path_factory):
    """Head office after the site fixture's device sent its spots; a logged-in test client."""
    root, info = site
    hq_root = tmp_path_factory.mktemp("hq-options") / "hq"
    with open_store(root) as st:
        received(st, hq_root).close()
    client = create_hq_app({"HQ_DATA": str(hq_root), "TESTING": True}).test_client()
    page = client.get("/setup").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    assert client.post("/setup", data={"csrf": csrf, "password": "본사-비밀번호-1",
                                       "password2": "본사-비밀번호-1"}).status_code == 302
    return client, info, hq_root


def _pages(data: bytes, tmp_path) -> list[str]:
    path = tmp_path / "hq.pdf"
    path.write_bytes(data)
    n = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True,
                                                        check=True).stdout).group(1))
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    pages = text.split("\f")[:n]
    assert len(pages) == n
    return pages


def test_head_offices_page_has_the_site_apps_choices(hq):
    client, info, _ = hq
    site = f"{DEVICE}:{info['site']}"
    for lang, words in (("ko", ("모양 (PDF·엑셀)", "한 쪽에 큰 사진 2장", "한 쪽에 사진 4장", "위치도 빼기",
                                "단계마다 모든 사진 넣기", "'중' 칸 항상 넣기")),
                        ("en", ("Layout (PDF, Excel)", "2 large photos a page", "4 photos a page",
                                "Leave out the location map", "All photos of each stage",
                                "Keep the 'during' column"))):
        client.set_cookie("lang", lang)
        html = client.get(f"/?site={site}").text
        start = html.rindex("<form", 0, html.index("data-ledger-export"))
        form = html[start:html.index("</form>", start)]
        for w in words:
            assert w.replace("'", "&#39;") in form or w in form, (lang, w)
        assert re.findall(r'name="layout" value="(\w+)"', form) == ["row", "2up", "4up"]
        assert 'value="row" checked' in form
        assert {n for n in re.findall(r'type="checkbox" name="(\w+)"', form)} == {"all", "during", "nomap"}
        assert 'name="unconfirmed"' not in form  # only confirmed spots reach head office
        assert f'action="/sites/{DEVICE}/{info["site"]}/ledger"' in form
        assert re.findall(r'name="format" value="(\w+)"', form) == ["pdf", "xlsx", "zip"]
    client.delete_cookie("lang")


@pytest.mark.parametrize("query, per_page, has_map, cards", [
    ("layout=2up", 2, True, 18), ("layout=4up", 4, True, 18), ("layout=4up&nomap=1", 4, False, 18),
    ("layout=2up&all=1", 2, True, 20)])
def test_two_up_and_four_up_pdfs_from_head_office(hq, poppler, tmp_path, query, per_page, has_map, cards):
    """6 spots of 3 photos (the first with 2 more 시공 전, printed with 모든 사진): the cover, the
    위치도 unless left out, the cards two or four a page, the index."""
    client, info, _ = hq
    r = client.get(f"/sites/{DEVICE}/{info['site']}/ledger?format=pdf&{query}")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    pages = _pages(r.data, tmp_path)
    card_pages = math.ceil(cards / per_page)
    assert len(pages) == 1 + has_map + card_pages + 1
    assert ("위치도" in pages[1]) == has_map and not any("위치도" in p for p in pages[1 + has_map:])
    per = [p.count("사진번호") for p in pages[1 + has_map:-1]]
    assert per == [per_page] * (card_pages - 1) + [cards - per_page * (card_pages - 1)]


def test_no_map_drops_the_map_page_of_the_row_layout(hq, poppler, tmp_path):
    client, info, _ = hq
    url = f"/sites/{DEVICE}/{info['site']}/ledger?format=pdf"
    with_map, without = _pages(client.get(url).data, tmp_path), _pages(client.get(url + "&nomap=1").data, tmp_path)
    assert len(without) == len(with_map) - 1 and "위치도" in with_map[1]
    assert not any("위치도" in p for p in without)
    def unnumbered(pages):
        return [re.sub(r"\b\d+/\d+\b", "", p) for p in pages]

    assert unnumbered(without[1:]) == unnumbered(with_map[2:])  # the same photo pages and index


def test_xlsx_and_zip_take_the_choices_too(hq):
    from io import BytesIO

    from openpyxl import load_workbook

    client, info, _ = hq
    url = f"/sites/{DEVICE}/{info['site']}/ledger?format=xlsx"
    assert "위치도" in load_workbook(BytesIO(client.get(url).data)).sheetnames
    assert "위치도" not in load_workbook(BytesIO(client.get(url + "&nomap=1&layout=4up").data)).sheetnames
    assert client.get(f"/sites/{DEVICE}/{info['site']}/ledger?format=zip&layout=4up").status_code == 200
    assert client.get(f"/sites/{DEVICE}/{info['site']}/ledger?format=doc").status_code == 404


def test_one_parser_reads_the_query():
    app = Flask(__name__)
    with app.test_request_context("/?format=xlsx&layout=4up&all=1&during=1&nomap=1&unconfirmed=1"):
        assert requested_options() == ExportOptions("xlsx", "4up", True, True, False, True)
        assert requested_options(unconfirmed=False).include_unconfirmed is False
    with app.test_request_context("/?format=zip&layout=2up"):
        assert requested_options().layout == "row"  # the ZIP has no layout
    with app.test_request_context("/?layout=9up"):
        o = requested_options()
        assert (o.fmt, o.layout, o.location_map) == ("pdf", "row", True)
        assert o.build_kwargs() == {"include_unconfirmed": False, "all_photos": False, "keep_during": False,
                                    "layout": "row", "location_map": True}
