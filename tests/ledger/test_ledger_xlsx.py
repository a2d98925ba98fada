"""The XLSX ledger opened with openpyxl: images and their anchors, captions, dates, print
settings and page breaks; a company's own template with named cells; --all-photos."""

import io
import zipfile
from datetime import datetime

import pytest

import ledger_data
from openpyxl import Workbook, load_workbook
from openpyxl.workbook.defined_name import DefinedName
from PIL import Image

from edge_app.ledger import build_ledger
from edge_app.ledger.xlsx import EMU_PER_PX, PX_PER_PT, TemplateError, col_px, row_pt, write_xlsx
from edge_app.store import open_store, spots

BLOCK = 4  # rows per spot in the built-in layout: photos, capture times, 위치 / 일자, 내용
FIRST = 5  # the first block's first row


def _images_by_cell(ws) -> dict:
    out = {}
    for img in ws._images:
        a = img.anchor._from
        out[(a.row + 1, a.col + 1)] = img
    return out


def test_one_block_per_spot_with_its_photos_fitted_and_centred_in_their_cells(site, exported):
    root, info = site
    path, rep = exported["xlsx"]
    ws = load_workbook(path).active
    images = _images_by_cell(ws)
    assert len(ws._images) == rep["photos"] == 18 and len(images) == 18
    for k in range(6):
        r = FIRST + k * BLOCK
        for col in (2, 3, 4):  # B, C, D: 전, 중, 후
            img = images[(r, col)]
            a = img.anchor
            box_w, box_h = col_px(ws, col), row_pt(ws, r) * PX_PER_PT
            w, h = a.ext.width / EMU_PER_PX, a.ext.height / EMU_PER_PX
            assert w <= box_w - 6 and h <= box_h - 6  # inside the cell, with a margin
            assert max(box_w - w, box_h - h) < 20  # and filling it
            assert abs(a._from.colOff / EMU_PER_PX - (box_w - w) / 2) < 1.5  # centred
            assert abs(a._from.rowOff / EMU_PER_PX - (box_h - h) / 2) < 1.5
    # the embedded pictures are made for their cells at about 200 dpi, not the originals
    with zipfile.ZipFile(path) as z:
        media = [n for n in z.namelist() if n.startswith("xl/media/") and not n.endswith(".png")]
        assert len(media) == 18  # and the 위치도's drawing, a PNG
        for n in media:
            im = Image.open(io.BytesIO(z.read(n)))
            assert im.format == "JPEG" and 380 <= im.width <= 440, im.size


def test_headers_captions_and_dates_are_in_their_cells(site, exported):
    root, info = site
    path, _ = exported["xlsx"]
    ws = load_workbook(path).active
    assert ws["A1"].value == "사진대지"
    assert (ws["A2"].value, ws["A2"].number_format) == ("2026년 ○○공원 제초작업", '"공사명: "@')
    assert "A2:D2" in {str(m) for m in ws.merged_cells.ranges}  # 공사명 across the page
    assert ws["A3"].value == "㈜한빛조경" and ws["C3"].value == "제초"
    assert "기간" not in str([c.number_format for row in ws.iter_rows(max_row=4) for c in row])
    assert [ws.cell(4, c).value for c in range(1, 5)] == ["번호", "시공 전", "시공 중", "시공 후"]
    r = FIRST
    assert ws.cell(r, 1).value == 1
    assert [ws.cell(r + 1, c).value for c in (2, 3, 4)] == [
        datetime(2026, 5, 4, 9, 0), datetime(2026, 5, 7, 10, 0), datetime(2026, 5, 12, 14, 0)]
    assert ws.cell(r + 1, 2).number_format == '"1-1  "yyyy.mm.dd hh:mm'  # 사진번호 before the time
    assert ws.cell(r + 2, 2).value == "컨테이너 좌측" and ws.cell(r + 2, 2).number_format == '"위치: "@'
    assert ws.cell(r + 3, 2).value == "제초 작업 (예초기)"
    assert ws.cell(r + 2, 4).value == "2026.05.04 ~ 2026.05.12"
    assert ws.cell(r + BLOCK + 2, 2).value == "STA.0+120 / 관리번호 T-102"  # no ASSET_NO cell: after the location
    assert ws.cell(FIRST + 5 * BLOCK, 1).value == 6 and ws.max_row == FIRST + 6 * BLOCK - 1  # the unconfirmed is out
    assert f"A{FIRST}:A{FIRST + 3}" in {str(m) for m in ws.merged_cells.ranges}


def test_a4_portrait_print_titles_and_breaks_between_spots(exported):
    path, rep = exported["xlsx"]
    ws = load_workbook(path).active
    assert int(ws.page_setup.paperSize) == 9 and ws.page_setup.orientation == "portrait"
    assert ws.sheet_properties.pageSetUpPr.fitToPage and int(ws.page_setup.fitToWidth) == 1
    assert int(ws.page_setup.fitToHeight) == 0
    assert ws.print_title_rows == "$1:$4"
    assert ws.print_area.endswith(f"$A$1:$D${FIRST + 6 * BLOCK - 1}")
    # 4 spots on the first page, the break right after the 4th block, never inside one
    assert [b.id for b in ws.row_breaks.brk] == rep["breaks"] == [FIRST + 4 * BLOCK - 1]
    room = (11.69 - ws.page_margins.top - ws.page_margins.bottom) * 72
    titles = sum(row_pt(ws, r) for r in range(1, 5))
    assert titles + 4 * sum(row_pt(ws, r) for r in range(FIRST, FIRST + BLOCK)) <= room
    assert ws.oddFooter.center.text == "&P / &N"


def test_all_photos_gives_a_block_per_photo_and_never_breaks_inside_a_spot(site, tmp_path):
    root, info = site
    with open_store(root) as st:
        led = build_ledger(st, info["site"], all_photos=True)
    rep = write_xlsx(led, tmp_path / "all.xlsx")
    ws = load_workbook(tmp_path / "all.xlsx").active
    first = info["spots"][0]
    parts = [b for b in rep["blocks"] if b["spot"] == first]
    assert len(parts) == 3  # three "before" photos
    assert [ws.cell(p["rows"][0], 1).value for p in parts] == [1, 1, 1]  # the spot; each photo has its number
    assert [ws.cell(p["rows"][0] + 1, 2).number_format[:7] for p in parts] == ['"1-1  "', '"1-2  "', '"1-3  "']
    assert rep["photos"] == 20
    starts = {b["rows"][0]: b["spot"] for b in rep["blocks"]}
    ends = {b["rows"][1]: b["spot"] for b in rep["blocks"]}
    for row in rep["breaks"]:
        assert row in ends and starts.get(row + 1) not in (None, ends[row])  # between two spots
    # the other stages of spot 1 only in its first block
    imgs = _images_by_cell(ws)
    assert (parts[1]["rows"][0], 2) in imgs and (parts[1]["rows"][0], 3) not in imgs
    # and the other cells of the further blocks are blank: nothing is missing there (issue 18)
    assert ws.cell(parts[1]["rows"][0], 3).value is None and ws.cell(parts[2]["rows"][0], 4).value is None
    assert "사진 없음" not in [c.value for row in ws.iter_rows() for c in row]


def test_with_all_photos_only_a_stage_without_any_photo_reads_no_photo(tmp_path, poppler):
    """A spot without "during" says 사진 없음 once, in its first row; its further rows (more
    "before" photos) leave the cells beside them blank, in the PDF and the XLSX."""
    import subprocess

    from edge_app.ledger import write

    with open_store(tmp_path / "data") as st:
        info = ledger_data.build_site(st, 2, unconfirmed=0, extra_before=2, rotate_first_after=False)
        first = info["spots"][0]
        during = next(sha for sha, ph, _ in info["photos"][first] if ph == "during")
        spots.set_phase(st, [during], "after", who="kim")
        led = build_ledger(st, info["site"], all_photos=True, keep_during=True)
    rows = [b for b in led.blocks() if b.spot.id == first]
    assert [(b.part, b.marks_missing) for b in rows] == [(0, True), (1, False), (2, False)]
    write(led, "pdf", tmp_path / "all.pdf")
    text = subprocess.run(["pdftotext", str(tmp_path / "all.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert text.count("사진 없음") == 1
    rep = write_xlsx(led, tmp_path / "all.xlsx")
    ws = load_workbook(tmp_path / "all.xlsx").active
    assert [c.value for row in ws.iter_rows() for c in row].count("사진 없음") == 1
    parts = [b for b in rep["blocks"] if b["spot"] == first]
    assert ws.cell(parts[0]["rows"][0], 3).value == "사진 없음" and ws.cell(parts[1]["rows"][0], 3).value is None


def test_the_cover_photo_is_the_one_a_stage_shows(site, tmp_path):
    root, info = site
    first = info["spots"][0]
    extra_before = [sha for sha, ph, _ in info["photos"][first] if ph == "before"][2]
    with open_store(root) as st:
        spots.set_cover(st, first, extra_before, who="kim")
        try:
            led = build_ledger(st, info["site"])
        finally:
            from edge_app.store import edits

            edits.undo(st, "kim")
    assert led.blocks()[0].photos["before"].sha256 == extra_before


def test_a_company_template_is_filled_through_its_named_cells(site, tmp_path):
    root, info = site
    tpl = tmp_path / "company.xlsx"
    ledger_data.company_template(tpl)
    before = tpl.read_bytes()
    with open_store(root) as st:
        led = build_ledger(st, info["site"])
    rep = write_xlsx(led, tmp_path / "filled.xlsx", template=tpl)
    assert tpl.read_bytes() == before  # the template itself is untouched: a copy is filled
    ws = load_workbook(tmp_path / "filled.xlsx")["현장 사진"]
    assert ws["A1"].value == "㈜한빛조경 품질관리팀 · 준공사진첩"
    assert ws["B2"].value == "2026년 ○○공원 제초작업" and ws["E2"].value == "2026.05.04 ~ 2026.05.12"
    assert len(ws._images) == rep["photos"] == 12  # before and after of 6 spots
    imgs = _images_by_cell(ws)
    for k in range(6):
        r = 3 + 3 * k
        assert ws.cell(r, 1).value == "사진" and ws.cell(r + 2, 1).value == "위치"  # static text repeated
        assert ws.cell(r + 1, 1).value == k + 1
        assert ws.row_dimensions[r].height == 200
        assert f"B{r}:C{r}" in {str(m) for m in ws.merged_cells.ranges}
        a = imgs[(r, 2)].anchor
        assert a.ext.width / EMU_PER_PX <= col_px(ws, 2) + col_px(ws, 3)  # fitted to the merged range
        assert a._from.colOff / EMU_PER_PX > 0  # centred across two columns: offset into B
        assert (r, 4) in imgs
    assert ws["B5"].value == "컨테이너 좌측" and ws["B8"].value == "STA.0+120"  # the asset number has its own cell
    assert ws["D8"].value == "T-102" and ws["E8"].value == "잡초 제거 및 정리"
    assert ws["B4"].value == datetime(2026, 5, 4, 9, 0) and ws["B4"].number_format == '"1-1  "yyyy.mm.dd hh:mm'
    # landscape A4 with 1 inch margins holds one 230 pt block a page: breaks after each block
    assert len(rep["breaks"]) == 5 and all((row - 2) % 3 == 0 for row in rep["breaks"])


def test_templates_the_export_cannot_fill_are_refused_with_a_reason(site, tmp_path):
    root, info = site
    with open_store(root) as st:
        led = build_ledger(st, info["site"])
    wb = Workbook()
    wb.save(tmp_path / "plain.xlsx")
    with pytest.raises(TemplateError, match="PHOTO_"):
        write_xlsx(led, tmp_path / "x.xlsx", template=tmp_path / "plain.xlsx")
    wb = Workbook()
    wb.defined_names["PHOTO_BEFORE"] = DefinedName("PHOTO_BEFORE", attr_text="Sheet!$B$3")
    wb.active["A9"] = "서명"
    wb.save(tmp_path / "below.xlsx")
    with pytest.raises(TemplateError, match="last rows"):
        write_xlsx(led, tmp_path / "x.xlsx", template=tmp_path / "below.xlsx")
    assert not (tmp_path / "x.xlsx").exists()
