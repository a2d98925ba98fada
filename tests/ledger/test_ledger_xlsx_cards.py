"""2-up and 4-up layouts of the Excel ledger (issue 18), as the PDF's: the photos the rows print,
in 사진번호 order, each a card (the photo anchored in a merged cell, then 사진번호, 구분, 공종,
위치, 일자, 내용 under it), one or two a row of cards; A4 portrait, the title and 공사명 on
every page, page breaks between rows of cards. ``edge-app export --format xlsx --layout 4up``."""

import pytest
from openpyxl import load_workbook

import ledger_data
from edge_app.ledger import build_ledger, write
from edge_app.ledger.words import parse_local
from edge_app.ledger.xlsx import EMU_PER_PX, PX_PER_PT, TemplateError, col_px, row_pt
from edge_app.store import ledger_fields, open_store

LONG = ("1) 제초 작업 후 잔재물 수거 및 반출 완료. 2) 배수로 내 토사 준설 (L=35m), 3) 법면 유실 구간 보수 및 떼붙임 "
        "(A=12㎡). 4) 수목 보호대 교체 2개소, 지주목 결속 재시공. 5) 보행로 측구 청소 및 낙엽 수거.")
LABELS = ["사진번호", "구분", "공종", "위치", "일자", "내용"]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """5 confirmed spots (the first with 2 more "before" photos, printed with "모든 사진" only), the third with a
    long 내용, one photo whose time was read from its file name; written as PDF and XLSX in
    2-up and 4-up."""
    root = tmp_path_factory.mktemp("cards") / "data"
    out = tmp_path_factory.mktemp("cards-out")
    with open_store(root) as st:
        info = ledger_data.build_site(st, 5, unconfirmed=0, extra_before=2, rotate_first_after=False)
        ledger_fields.set_spot_fields(st, info["spots"][2], "kim", caption=LONG)
        named = info["photos"][info["spots"][1]][0][0]
        with st.write():
            st.conn.execute("UPDATE photos SET taken_from = 'file name' WHERE sha256 = ?", (named,))
        res = {}
        for layout in ("2up", "4up"):
            led = build_ledger(st, info["site"], layout=layout)
            res[layout] = (led, write(led, "xlsx", out / f"{layout}.xlsx"), write(led, "pdf", out / f"{layout}.pdf"))
    return out, res, named, root, info


@pytest.mark.parametrize("layout, across, photo_pt, per_page", [("2up", 1, 249.0, 2), ("4up", 2, 221.0, 4)])
def test_each_photo_is_a_card_with_its_text_under_it(made, layout, across, photo_pt, per_page):
    out, res, named, _, _ = made
    led, rep, pdf = res[layout]
    ws = load_workbook(out / f"{layout}.xlsx").active
    # the same photos, in the same order, as the PDF's cards
    assert [c["photo_no"] for c in rep["cards"]] == [e["photo_no"] for e in pdf["layout"]]
    assert [c["sha256"] for c in rep["cards"]] == [e["sha256"] for e in pdf["layout"]] and rep["photos"] == 15
    photos = {p.sha256: (s, p) for s in led.spots for p in s.photos}
    for card in rep["cards"]:
        col, row = card["photo"]
        sp, p = photos[card["sha256"]]
        assert 0.75 * photo_pt <= row_pt(ws, row) <= photo_pt  # smaller only to keep a long 내용 on its page
        assert [ws.cell(row=r, column=col).value for r in card["text_rows"]] == LABELS
        values = [ws.cell(row=r, column=col + 1).value for r in card["text_rows"]]
        assert values[0] == card["photo_no"] and values[1] == led.stage_word(p.stage) and values[2] == "제초"
        assert values[3] == sp.location + (f" / 관리번호 {sp.asset_no}" if sp.asset_no else "")
        assert values[4] == parse_local(p.taken_local) and values[5] == sp.caption  # 내용 whole
        date_cell = ws.cell(row=card["text_rows"][4], column=col + 1)
        assert date_cell.number_format.endswith(' (파일명)"') == (p.sha256 == named)
        for r in card["text_rows"]:
            assert row_pt(ws, r) >= 15.0
    # the long 내용 grows its row (three lines or more), the others stay one line
    long_rows = [c["text_rows"][5] for c in rep["cards"] if photos[c["sha256"]][0].caption == LONG]
    assert long_rows and all(row_pt(ws, r) >= 3 * 13 for r in long_rows)
    cards_across = {}
    for c in rep["cards"]:
        cards_across.setdefault(c["photo"][1], []).append(c["photo"][0])
    assert all(len(v) <= across for v in cards_across.values())
    assert max(len(v) for v in cards_across.values()) == across


@pytest.mark.parametrize("layout", ["2up", "4up"])
def test_the_photos_are_anchored_inside_their_cells(made, layout):
    out, res, _, _, _ = made
    _, rep, _ = res[layout]
    ws = load_workbook(out / f"{layout}.xlsx").active
    assert len(ws._images) == len(rep["cards"])
    for card in rep["cards"]:
        col, row = card["photo"]
        # the picture whose top-left corner lies in this card's photo cell (its two columns)
        img = next(i for i in ws._images if i.anchor._from.row + 1 == row and col <= i.anchor._from.col + 1 <= col + 1)
        left = sum(col_px(ws, c) for c in range(col, img.anchor._from.col + 1)) + img.anchor._from.colOff / EMU_PER_PX
        box_w, box_h = col_px(ws, col) + col_px(ws, col + 1), row_pt(ws, row) * PX_PER_PT
        w, h = img.anchor.ext.width / EMU_PER_PX, img.anchor.ext.height / EMU_PER_PX
        assert w <= box_w - 6 and h <= box_h - 6 and min(box_w - w, box_h - h) < 20  # inside, as large as it fits
        assert abs(left - (box_w - w) / 2) < 1.5  # centred
        assert (col, row, col + 1, row) in [(m.min_col, m.min_row, m.max_col, m.max_row) for m in ws.merged_cells.ranges]


@pytest.mark.parametrize("layout, last_col, per_page", [("2up", "B", 2), ("4up", "E", 4)])
def test_a4_portrait_with_the_print_area_titles_and_breaks_between_rows_of_cards(made, layout, last_col, per_page):
    out, res, _, _, _ = made
    _, rep, _ = res[layout]
    wb = load_workbook(out / f"{layout}.xlsx")
    ws = wb.active
    assert wb.sheetnames == ["사진대지", "위치도", "사진 목록"]
    last = max(r for c in rep["cards"] for r in c["text_rows"])
    assert ws.print_area == f"'사진대지'!$A$1:${last_col}${last}"
    assert ws.print_title_rows == "$1:$2" and ws["A1"].value == "사진대지" and ws["A2"].value == "2026년 ○○공원 제초작업"
    assert int(ws.page_setup.paperSize) == 9 and ws.page_setup.orientation == "portrait"
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    breaks = [b.id for b in ws.row_breaks.brk]
    assert breaks == rep["breaks"] and len(breaks) == rep["pages"] - 1
    tops = sorted({c["photo"][1] for c in rep["cards"]})
    assert all(b + 1 in tops for b in breaks)  # a break falls just above a row of cards, never through one
    # as many cards a page as the PDF's (a long 내용 gets a smaller photo instead of a page of its own)
    starts = [3] + [b + 1 for b in breaks]
    counts = [sum(1 for c in rep["cards"] if a <= c["photo"][1] < b) for a, b in zip(starts, starts[1:] + [10 ** 6])]
    assert counts[:-1] == [per_page] * (len(counts) - 1) and 1 <= counts[-1] <= per_page
    # every page's rows fit the printable height at the sheet's scale
    for a, b in zip(starts, starts[1:] + [last + 2]):
        assert sum(row_pt(ws, r) for r in range(a, b)) + row_pt(ws, 1) + row_pt(ws, 2) <= 10.59 * 72 / 0.98


def test_a_company_layout_prints_rows_only(made, tmp_path):
    _, res, _, _, _ = made
    led, _, _ = res["2up"]
    ledger_data.company_template(tmp_path / "회사양식.xlsx")
    with pytest.raises(TemplateError, match="prints rows"):
        write(led, "xlsx", tmp_path / "x.xlsx", tmp_path / "회사양식.xlsx")
    assert not list(tmp_path.glob("x.xlsx*")) and not list(tmp_path.glob(".x.xlsx*"))
