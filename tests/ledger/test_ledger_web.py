"""The photo ledger on the tablet page (Flask test client, real store): the fields of a site
and of each spot, their suggestions, undo, and the export downloads."""

import io
import zipfile
from pathlib import Path
from urllib.parse import unquote

import pytest

import ledger_data
from edge_app.store import edits, ledger_fields, open_store
from site_client import first_visit, site_app


@pytest.fixture
def app(tmp_path):
    return site_app(tmp_path / "data", lambda st: ledger_data.build_site(st, 3, unconfirmed=1))


@pytest.fixture
def lead(app):
    return first_visit(app)


def test_the_site_page_has_the_ledger_fields_export_and_suggestions(app, lead):
    info = app.info
    page = lead.get(f"/sites/{info['site']}").text
    for sid in info["spots"]:
        assert f'data-ledger-spot="{sid}"' in page
        assert f'action="/spots/{sid}/ledger-fields"' in page
    assert 'id="ledger"' in page and f'action="/sites/{info["site"]}/ledger"' in page
    for fmt in ("pdf", "xlsx", "zip"):
        assert f'name="format" value="{fmt}"' in page
    assert 'value="컨테이너 좌측"' in page and 'list="ledger-locations"' in page
    assert '<datalist id="ledger-captions"><option value="' in page and '<option value="수목 전정">' in page
    assert 'name="stage_words" value="construction" checked' in page
    assert "확인된 지점 3곳" in page and "미확인 1곳은 빠짐" in page
    assert 'enterkeyhint="next"' in page and "ledger.js" in page
    assert 'name="token"' in page and "data-ledger-busy hidden" in page and "사진대지를 만드는 중" in page
    assert "사진대지" in page and lead.get("/static/ledger.js").status_code == 200
    lead.get("/lang/en")
    en = lead.get(f"/sites/{info['site']}").text
    assert "Photo ledger" in en and "Before works · During works · After works" in en


def test_editing_the_fields_from_the_page_is_logged_and_undone(app, lead):
    info = app.info
    sid = info["spots"][1]
    r = lead.post(f"/spots/{sid}/ledger-fields", data={"csrf": lead.csrf, "location": "STA.0+140",
                                                         "asset_no": "T-9", "caption": "배수로 제초"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/sites/{info['site']}#spot-{sid}")
    r = lead.post(f"/sites/{info['site']}/ledger-fields",
                  data={"csrf": lead.csrf, "works_name": "하천 정비", "company": "㈜한빛조경", "work_type": "토공",
                        "stage_words": "work"})
    assert r.status_code == 302 and r.headers["Location"].endswith("#ledger")
    with open_store(app.config["DATA_DIR"]) as st:
        assert ledger_fields.spot_fields(st, sid) == {"location": "STA.0+140", "asset_no": "T-9",
                                                      "caption": "배수로 제초"}
        assert ledger_fields.site_fields(st, info["site"])["stage_words"] == "work"
        assert [e["who"] for e in edits.history(st, info["site"], limit=2)] == ["김반장", "김반장"]
    page = lead.get(f"/sites/{info['site']}").text
    assert "공사 정보 바꿈" in page and "작업 전 · 작업 중 · 작업 후" in page
    assert 'value="work" checked' in page
    assert lead.post(f"/sites/{info['site']}/undo", data={"csrf": lead.csrf}).status_code == 302
    assert lead.post(f"/sites/{info['site']}/undo", data={"csrf": lead.csrf}).status_code == 302
    with open_store(app.config["DATA_DIR"]) as st:
        assert ledger_fields.spot_fields(st, sid)["location"] == "STA.0+120"
        assert ledger_fields.site_fields(st, info["site"])["works_name"] == "2026년 ○○공원 제초작업"
    # without the CSRF token nothing changes
    lead.post(f"/spots/{sid}/ledger-fields", data={"location": "x"})
    with open_store(app.config["DATA_DIR"]) as st:
        assert ledger_fields.spot_fields(st, sid)["location"] == "STA.0+120"
    assert lead.post("/spots/999/ledger-fields", data={"csrf": lead.csrf}).status_code == 404
    r = lead.post(f"/sites/{info['site']}/ledger-fields", data={"csrf": lead.csrf, "stage_words": "x"},
                  follow_redirects=True)
    assert "전·중·후 이름은 목록에서 고르세요" in r.text  # the store's refusal in the lead's words (issue 17)


def test_the_export_buttons_download_the_files_and_leave_nothing_behind(app, lead):
    info = app.info
    r = lead.get(f"/sites/{info['site']}/ledger?format=pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data[:5] == b"%PDF-"
    cd = r.headers["Content-Disposition"]
    assert cd.startswith("attachment") and "사진대지_2026년_○○공원_제초작업.pdf" in unquote(cd)
    r = lead.get(f"/sites/{info['site']}/ledger?format=xlsx&all=1&unconfirmed=1&token=17330001234")
    assert r.status_code == 200 and r.data[:2] == b"PK"
    # the page's script shows "preparing..." and keeps the buttons off until this cookie comes
    assert "ledger_done_17330001234=1" in r.headers["Set-Cookie"]  # one cookie a token: two tabs at once
    r = lead.get(f"/sites/{info['site']}/ledger?format=zip")
    with zipfile.ZipFile(io.BytesIO(r.data)) as z:
        assert len(z.namelist()) == 10  # 3 spots x 3 originals + the index
    assert "원본사진_" in unquote(r.headers["Content-Disposition"])
    assert not list((Path(app.config["DATA_DIR"]) / "tmp").iterdir())  # built there, removed once sent
    assert lead.get(f"/sites/{info['site']}/ledger?format=docx").status_code == 404
    assert lead.get("/sites/999/ledger?format=pdf").status_code == 404
    assert app.test_client().get(f"/sites/{info['site']}/ledger?format=pdf").status_code == 302  # PIN first


def test_a_site_without_confirmed_spots_says_so_instead_of_an_empty_file(tmp_path):
    app = site_app(tmp_path / "data", lambda st: ledger_data.build_site(st, 0, unconfirmed=1))
    info, c = app.info, first_visit(app, name=None)
    r = c.get(f"/sites/{info['site']}/ledger?format=pdf")
    assert r.status_code == 302 and r.headers["Location"].endswith("#ledger")
    assert "사진대지에 넣을 확인된 지점이 없습니다" in c.get(r.headers["Location"]).text
    r = c.get(f"/sites/{info['site']}/ledger?format=pdf&unconfirmed=1")
    assert r.status_code == 200 and r.data[:5] == b"%PDF-"


def test_a_company_layout_uploaded_from_the_page_fills_the_excel_export(app, lead, tmp_path):
    from openpyxl import load_workbook

    info = app.info
    page = lead.get(f"/sites/{info['site']}").text
    assert 'data-ledger-template="none"' in page and "기본 양식" in page
    ledger_data.company_template(tmp_path / "c.xlsx")
    r = lead.post(f"/sites/{info['site']}/ledger-template", content_type="multipart/form-data", follow_redirects=True,
                  data={"csrf": lead.csrf, "template": (io.BytesIO((tmp_path / "c.xlsx").read_bytes()), "한빛.xlsx")})
    # the answer is shown next to the form (the page opens at the ledger section), not at the top
    assert 'data-ledger-msg="ok"' in r.text and "양식을 저장했습니다: 한빛.xlsx" in r.text
    assert r.text.index("양식을 저장했습니다") > r.text.index('id="ledger"') and 'data-ledger-template="set"' in r.text
    x = lead.get(f"/sites/{info['site']}/ledger?format=xlsx")
    ws = load_workbook(io.BytesIO(x.data))["현장 사진"]
    assert ws["A1"].value == "㈜한빛조경 품질관리팀 · 준공사진첩" and len(ws._images) > 0
    r = lead.post(f"/sites/{info['site']}/ledger-template", content_type="multipart/form-data", follow_redirects=True,
                  data={"csrf": lead.csrf, "template": (io.BytesIO(b"not a workbook"), "memo.xlsx")})
    assert "이 양식은 쓸 수 없습니다: 엑셀 파일(.xlsx)이 아닙니다" in r.text  # in Korean, not the library's words
    assert 'data-ledger-template="set"' in r.text  # the good one stays
    r = lead.post(f"/sites/{info['site']}/ledger-template", data={"csrf": lead.csrf, "remove": "1"},
                  follow_redirects=True)
    assert 'data-ledger-template="none"' in r.text
    x = lead.get(f"/sites/{info['site']}/ledger?format=xlsx")
    assert "현장 사진" not in load_workbook(io.BytesIO(x.data)).sheetnames  # the built-in layout again
    assert lead.post(f"/sites/{info['site']}/ledger-template", data={"remove": "1"}).status_code in (302, 400)


def test_the_export_form_can_keep_the_during_column(app, lead):
    info = app.info
    page = lead.get(f"/sites/{info['site']}").text
    assert 'name="during" value="1"' in page and "칸 항상 넣기" in page
    for field in ("client", "contract_no", "contract_period"):  # the cover's fields
        assert f'name="{field}"' in page
    with open_store(app.config["DATA_DIR"]) as st:
        for sid in info["spots"]:
            ledger_data.spots.set_phase(st, [s for s, ph, _ in info["photos"][sid] if ph == "during"], "after",
                                        who="kim")
    from openpyxl import load_workbook

    plain = lead.get(f"/sites/{info['site']}/ledger?format=xlsx")
    kept = lead.get(f"/sites/{info['site']}/ledger?format=xlsx&during=1")
    assert load_workbook(io.BytesIO(plain.data)).active["D4"].value is None
    assert load_workbook(io.BytesIO(kept.data)).active["C4"].value == "시공 중"


def test_the_export_form_can_leave_the_location_map_out(app, lead):
    from openpyxl import load_workbook

    info = app.info
    page = lead.get(f"/sites/{info['site']}").text
    assert 'name="nomap" value="1"' in page and "위치도 빼기" in page
    plain = lead.get(f"/sites/{info['site']}/ledger?format=xlsx")
    left_out = lead.get(f"/sites/{info['site']}/ledger?format=xlsx&nomap=1")
    assert "위치도" in load_workbook(io.BytesIO(plain.data)).sheetnames  # the test photos carry GPS
    assert "위치도" not in load_workbook(io.BytesIO(left_out.data)).sheetnames
