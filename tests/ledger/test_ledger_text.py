"""Text is never lost (issue 18): long 공사명, 위치 and 내용 are printed whole, in the PDF
(read back with pdftotext, pages rendered with pdftoppm) and in the XLSX (openpyxl): cells
grow and text wraps; nothing is cut with "…" and no text falls outside the page."""

import re
import subprocess

import numpy as np
import pytest
from openpyxl import load_workbook
from PIL import Image

import ledger_data
from edge_app.ledger import build_ledger, pdf as ledger_pdf, write
from edge_app.ledger.xlsx import col_px, row_pt, text_lines
from edge_app.store import ledger_fields, open_store

WORKS = ("2026년도 서울특별시 ○○구 ○○근린공원 및 ○○천 수변 산책로 일대 수목 전정·제초·배수로 정비 및 "
         "보행 안전시설 보수 단가계약 공사 (제2차분, 연차별 계약 3차년도) 현장 제출용")
LOCATION = '정문/후문:<A동>"B동"? 구간 STA.0+120~0+240 좌측 법면 및 배수로 주변 수목 보호 구간'
CAPTION = ("1) 제초 작업 후 잔재물 수거 및 반출 완료. 2) 배수로 내 토사 준설 (L=35m), 3) 법면 유실 구간 보수 및 "
           "떼붙임 (A=12㎡). 4) 수목 보호대 교체 2개소, 지주목 결속 재시공. 5) 보행로 측구 청소 및 낙엽 수거, "
           "작업 구간 안전 표지 철거. 6) 인근 주민 민원 (소음) 없음, 작업 시간 09:00~17:00 준수. "
           "7) 다음 작업: 관목 전정 및 시비, 우천 시 연기. 8) 감독원 입회 확인 후 사진 촬영, 특이사항 없음. "
           "9) 폐기물 반출량 1.2톤, 계량증명서 별첨. 10) 작업 인원 5명")
COMPANY = '㈜한빛조경/"품질":<관리>?'


@pytest.fixture(scope="module")
def long_site(tmp_path_factory):
    assert len(WORKS) == 103 and 280 <= len(CAPTION) <= 300, (len(WORKS), len(CAPTION))
    root = tmp_path_factory.mktemp("long") / "data"
    st = open_store(root)
    try:
        info = ledger_data.build_site(st, 5, unconfirmed=0, rotate_first_after=False)
        ledger_fields.set_site_fields(st, info["site"], "kim", works_name=WORKS, company=COMPANY)
        for sid in info["spots"][1:3]:
            ledger_fields.set_spot_fields(st, sid, "kim", location=LOCATION, caption=CAPTION)
        led = build_ledger(st, info["site"])
    finally:
        st.close()
    out = tmp_path_factory.mktemp("long-out")
    reps = {fmt: write(led, fmt, out / f"l.{fmt}") for fmt in ("pdf", "xlsx")}
    return out, reps, led


def _squash(text: str) -> str:
    return "".join(text.split())


def test_every_character_of_long_fields_is_in_the_pdfs_text(long_site, poppler):
    out, reps, _ = long_site
    text = subprocess.run(["pdftotext", "-raw", str(out / "l.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "…" not in text
    flat = _squash(text)
    for field in (WORKS, LOCATION, CAPTION, COMPANY):
        assert _squash(ledger_pdf.printable(field)) in flat, field
    # on every page's header, and under both spots
    assert flat.count(_squash(WORKS)) >= reps["pdf"]["pages"]
    assert flat.count(_squash(CAPTION)) == 2


def test_no_text_is_smaller_than_the_floor_or_outside_the_page(long_site, poppler, artefacts):
    out, reps, _ = long_site
    xml = subprocess.run(["pdftotext", "-bbox", str(out / "l.pdf"), "-"], capture_output=True, text=True,
                         check=True).stdout
    mm = 72 / 25.4
    for page in xml.split("<page ")[1:]:
        w, h = (float(v) for v in re.search(r'width="([\d.]+)" height="([\d.]+)"', page).groups())
        for m in re.finditer(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<', page):
            x0, y0, x1, y1 = (float(v) for v in m.groups()[:4])
            assert 5 * mm <= x0 and x1 <= w - 5 * mm and 5 * mm <= y0 and y1 <= h - 3 * mm, m[5]
    # rendered: the margins of every page are blank paper
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(out / "l.pdf"), str(out / "p")], check=True, timeout=120)
    pngs = sorted(out.glob("p-*.png"))
    assert len(pngs) == reps["pdf"]["pages"]
    for k, png in enumerate(pngs):
        a = np.asarray(Image.open(png).convert("L"))
        s = a.shape[1] / 210
        edge = int(8 * s)
        for strip in (a[:, :edge], a[:, -edge:], a[:int(8 * s)], a[-int(3 * s):]):
            assert strip.min() > 200, png.name
        if k == 1:
            Image.open(png).save(artefacts / "ledger-long-text.png")


def test_every_character_is_in_the_xlsx_cells_and_rows_are_tall_enough(long_site):
    out, _, _ = long_site
    ws = load_workbook(out / "l.xlsx").active
    values = {c.coordinate: c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert values["A2"] == WORKS and values["A3"] == COMPANY
    captions = [ref for ref, v in values.items() if v == CAPTION]
    locations = [ref for ref, v in values.items() if v.startswith(LOCATION)]
    assert len(captions) == 2 and len(locations) == 2
    for ref in ["A2", *captions, *locations]:
        cell = ws[ref]
        assert cell.alignment.wrap_text
        rng = next((m for m in ws.merged_cells.ranges if ref in m), None)
        cols = range(rng.min_col, rng.max_col + 1) if rng else [cell.column]
        width = sum(col_px(ws, c) for c in cols)
        prefix = cell.number_format.split('"')[1] if cell.number_format.startswith('"') else ""
        lines = text_lines(prefix + cell.value, width, cell.font.sz)
        assert row_pt(ws, cell.row) >= lines * cell.font.sz * 1.25, (ref, lines, row_pt(ws, cell.row))
    assert text_lines(CAPTION, sum(col_px(ws, c) for c in (2, 3, 4)), 9) >= 4  # the 5-line 내용 needs its rows
    assert row_pt(ws, int(captions[0][1:])) >= 4 * 9 * 1.25
