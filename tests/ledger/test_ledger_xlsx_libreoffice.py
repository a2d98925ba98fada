"""The Excel ledger as a clerk's office suite prints it (issue 18): each layout's XLSX (rows,
2-up, 4-up; long 공사명, 위치 and 내용) converted to PDF by LibreOffice (``soffice``) and read
back as the PDF ledger is: every character of the long fields on the page (a cell LibreOffice
clips prints only what it shows), no text drawn over other text, each spot's photos (or each
card) on the page the writer's page breaks put it, every photo embedded once.

Skipped without ``soffice`` (CI does not install LibreOffice). With it, Calibri's metric twin
(``fonts-crosextra-carlito``) gives Excel's column widths; the Korean text falls back to
another Korean font (맑은 고딕 is not free), so line breaks differ a little from Excel's."""

import re
import shutil
import subprocess
from collections import Counter

import pytest

import ledger_data
from edge_app.ledger import build_ledger, write
from edge_app.store import ledger_fields, open_store
from test_ledger_text import CAPTION, COMPANY, LOCATION, WORKS

LAYOUTS = ("row", "2up", "4up")
PHOTO_NO = re.compile(r"(?<![\d.\-])(\d{1,3}-\d{1,3})(?![\d\-])")


@pytest.fixture(scope="module")
def converted(tmp_path_factory, poppler):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    root = tmp_path_factory.mktemp("lo") / "data"
    out = tmp_path_factory.mktemp("lo-out")
    reps = {}
    with open_store(root) as st:
        info = ledger_data.build_site(st, 5, unconfirmed=0, extra_before=2, rotate_first_after=False)
        ledger_fields.set_site_fields(st, info["site"], "kim", works_name=WORKS, company=COMPANY)
        for sid in info["spots"][1:3]:
            ledger_fields.set_spot_fields(st, sid, "kim", location=LOCATION, caption=CAPTION)
        for layout in LAYOUTS:
            led = build_ledger(st, info["site"], layout=layout)
            reps[layout] = write(led, "xlsx", out / f"{layout}.xlsx")
    profile = tmp_path_factory.mktemp("lo-profile")  # its own profile: no clash with a running LibreOffice
    subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(out), *(str(out / f"{k}.xlsx") for k in LAYOUTS)],
                   check=True, capture_output=True, timeout=300)
    for layout in LAYOUTS:
        assert (out / f"{layout}.pdf").is_file(), layout
    return out, reps


def _text_pages(pdf) -> list[str]:
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1]


def _squash(text: str) -> str:
    return "".join(text.split())


def _expected_page(row: int, breaks: list[int]) -> int:
    """The page (1, 2, ...) of the ledger sheet's row ``row`` after the writer's breaks."""
    return 1 + sum(b < row for b in breaks)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_character_of_the_long_fields_is_printed(converted, layout):
    out, reps = converted
    pages = _text_pages(out / f"{layout}.pdf")
    ledger_pages = _squash("".join(pages[:reps[layout]["pages"]]))
    n_long = 2 if layout == "row" else 6  # 2 spots; in cards, under each of their 3 photos
    assert ledger_pages.count(_squash(CAPTION)) == n_long
    # in rows 일자 is the cell beside 위치: its line is read between 위치's lines
    beside = re.sub(r"일자:\d{4}\.\d\d\.\d\d~\d{4}\.\d\d\.\d\d", "", ledger_pages)
    assert beside.count(_squash(LOCATION)) == n_long
    # 공사명 heads every page of the ledger sheet
    assert ledger_pages.count(_squash(WORKS)) == reps[layout]["pages"]
    if layout == "row":
        assert _squash(COMPANY) in ledger_pages
    assert "…" not in ledger_pages


@pytest.mark.parametrize("layout", LAYOUTS)
def test_no_text_is_drawn_over_other_text(converted, layout):
    """A cell too low for its text would have LibreOffice clip it or run it into the next row."""
    out, _ = converted
    xml = subprocess.run(["pdftotext", "-bbox", str(out / f"{layout}.pdf"), "-"], capture_output=True, text=True,
                         check=True).stdout
    for k, page in enumerate(xml.split("<page ")[1:], 1):
        words = [tuple(float(v) for v in m.groups()[:4]) + (m.group(5),) for m in re.finditer(
            r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<', page)]
        for i, a in enumerate(words):
            for b in words[i + 1:]:
                ox = min(a[2], b[2]) - max(a[0], b[0])
                oy = min(a[3], b[3]) - max(a[1], b[1])
                # lines of one cell touch (a glyph box is taller than the line pitch): half a line is text on text
                assert not (ox > 1.0 and oy > 0.5 * min(a[3] - a[1], b[3] - b[1])), (layout, k, a, b)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_photos_and_their_numbers_are_on_the_pages_the_writer_planned(converted, layout):
    """Page breaks fall between spots (rows) or rows of cards, where the writer put them:
    LibreOffice adds none of its own, so nothing of a spot or a card spills over a page."""
    out, reps = converted
    rep = reps[layout]
    pdf = out / f"{layout}.pdf"
    pages = _text_pages(pdf)
    assert len(pages) >= rep["pages"] + 2  # the ledger sheet, then the 위치도 and the 사진 목록 sheets
    assert "위치도" in pages[rep["pages"]] and "사진 목록" in pages[-1]
    want: dict[str, int] = {}
    if layout == "row":
        for block in rep["blocks"]:
            want[str(block["spot"])] = _expected_page(block["rows"][0], rep["breaks"])
            assert _expected_page(block["rows"][1], rep["breaks"]) == want[str(block["spot"])]  # never split
        numbers = {e["photo_no"] for e in rep["index"]}
        spot_of = {no: no.split("-")[0] for no in numbers}
        led_spots = {str(k): str(b["spot"]) for k, b in enumerate(
            {b["spot"]: b for b in rep["blocks"]}.values(), 1)}
        planned = {no: want[led_spots[spot_of[no]]] for no in numbers}
    else:
        planned = {c["photo_no"]: _expected_page(c["photo"][1], rep["breaks"]) for c in rep["cards"]}
        for c in rep["cards"]:  # a card's text rows are on its photo's page
            assert {_expected_page(r, rep["breaks"]) for r in c["text_rows"]} == {planned[c["photo_no"]]}
    found = {}
    for k, text in enumerate(pages[:rep["pages"]], 1):
        for no in PHOTO_NO.findall(text):
            assert found.setdefault(no, k) == k, (layout, no)
    assert found == planned
    # every photo embedded once, on its page (the 위치도's drawing on its own page)
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    per_page = Counter(int(line.split()[0]) for line in listing.splitlines()[2:] if line.strip())
    assert [per_page.get(k, 0) for k in range(1, rep["pages"] + 1)] == [
        sum(p == k for p in planned.values()) for k in range(1, rep["pages"] + 1)]
    assert sum(per_page.values()) == rep["photos"] + 1
