"""The index (사진 목록, issue 18): after the photo pages of the PDF, and as a sheet of the XLSX,
one line per photo printed: 사진번호, spot, stage, the first 12 hex digits of the original's
sha256 and its capture time (with the "(파일명)" mark when read from the file name)."""

import hashlib
import re
import subprocess

import pytest
from openpyxl import load_workbook

import ledger_data
from edge_app.ledger import build_ledger, write
from edge_app.ledger.model import SHORT_SHA, index_rows
from edge_app.store import ledger_fields, open_store

LONG_LOCATION = "정문 화단 STA.0+120~0+240 좌측 법면 및 배수로 주변 수목 보호 구간, 관리동 뒤편 주차장 경사면까지 이어지는 구역"


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """A site of 9 spots (one with 2 more "before" photos, one with a long 위치), exported as
    PDF and XLSX, with and without --all-photos."""
    root = tmp_path_factory.mktemp("index") / "data"
    st = open_store(root)
    try:
        info = ledger_data.build_site(st, 9, unconfirmed=0, extra_before=2, rotate_first_after=False)
        ledger_fields.set_spot_fields(st, info["spots"][3], "kim", location=LONG_LOCATION)
        led = build_ledger(st, info["site"])
        led_all = build_ledger(st, info["site"], all_photos=True)
        originals = {p.sha256: p.path.read_bytes() for s in led.spots for p in s.photos}
    finally:
        st.close()
    out = tmp_path_factory.mktemp("index-out")
    reps = {}
    for name, ledger in (("one", led), ("all", led_all)):
        for fmt in ("pdf", "xlsx"):
            reps[name, fmt] = write(ledger, fmt, out / f"{name}.{fmt}")
    return out, reps, led, led_all, originals


def _text(path, first=None, last=None) -> str:
    args = ["pdftotext", "-layout"]
    if first:
        args += ["-f", str(first), "-l", str(last or first)]
    return subprocess.run([*args, str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_every_printed_photos_short_hash_is_on_the_index_pages(indexed, poppler):
    out, reps, led, led_all, originals = indexed
    for name in ("one", "all"):
        rep = reps[name, "pdf"]
        printed = {e["sha256"]: e["photo_no"] for e in rep["layout"]}
        assert rep["index_pages"] and rep["index_pages"][-1] == rep["pages"]  # at the end
        text = _text(out / f"{name}.pdf", rep["index_pages"][0], rep["index_pages"][-1])
        lines = {ln.split()[0]: ln for ln in text.splitlines() if ln.strip() and re.match(r"\d+-\d+$", ln.split()[0])}
        assert len(lines) == len(printed) == len(rep["index"])
        for sha, no in printed.items():
            assert hashlib.sha256(originals[sha]).hexdigest() == sha  # the hash of the original file
            assert sha[:SHORT_SHA] in lines[no], (no, lines[no])
            assert len(re.findall(r"\b[0-9a-f]{12}\b", lines[no])) == 1
        # photos not printed are not listed
        others = set(originals) - set(printed)
        assert all(s[:SHORT_SHA] not in text for s in others)
    assert len(reps["all", "pdf"]["layout"]) == len(originals) > len(reps["one", "pdf"]["layout"])


def test_the_index_lists_number_spot_stage_and_capture_time_in_order(indexed, poppler):
    out, reps, led, _, _ = indexed
    rep = reps["one", "pdf"]
    text = _text(out / "one.pdf", rep["index_pages"][0], rep["index_pages"][-1])
    flat = " ".join(text.split())
    assert "사진 목록" in flat and "사진번호" in flat and "SHA-256" in flat and "index.csv" in flat
    numbers = [r["photo_no"] for r in rep["index"]]
    assert numbers == sorted(numbers, key=lambda n: tuple(map(int, n.split("-"))))  # 사진번호 order
    assert numbers[:4] == ["1-1", "1-4", "1-5", "2-1"]  # spot 1's other two "before" photos are not printed
    first = led.spots[0]
    before = first.stage_photos("before")[0]
    assert re.search(rf"1-1 +1\. {re.escape(first.location)} +시공 전 +2026\.05\.04 09:00 +{before.sha256[:12]}", text)
    raw = subprocess.run(["pdftotext", "-raw", "-f", str(rep["index_pages"][0]), "-l", str(rep["index_pages"][-1]),
                          str(out / "one.pdf"), "-"], capture_output=True, text=True, check=True).stdout
    assert "".join(LONG_LOCATION.split()) in "".join(raw.split())  # a long 위치 wraps, never cut
    assert "…" not in text


def test_the_index_rows_follow_the_printed_cells(indexed):
    _, _, led, led_all, _ = indexed
    for ledger in (led, led_all):
        blocks = ledger.blocks()
        rows = index_rows(blocks, ledger.columns)
        cells = [(b.spot.photo_no(p), None if b.unknown else st, p.sha256) for b in blocks for st, p in b.photos.items()
                 if p is not None]
        assert sorted((r.photo_no, r.stage, r.photo.sha256) for r in rows) == sorted(cells)
        assert len({r.photo.sha256 for r in rows}) == len(rows)


def test_the_index_pages_stay_inside_the_page(indexed, poppler, tmp_path):
    out, reps, _, _, _ = indexed
    rep = reps["all", "pdf"]
    xml = subprocess.run(["pdftotext", "-bbox", "-f", str(rep["index_pages"][0]), "-l", str(rep["index_pages"][-1]),
                          str(out / "all.pdf"), "-"], capture_output=True, text=True, check=True).stdout
    for m in re.finditer(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"', xml):
        x0, y0, x1, y1 = (float(v) / 72 * 25.4 for v in m.groups())
        assert 9.5 <= x0 and x1 <= 200.5 and 9.5 <= y0 and y1 <= 297 - 5, (x0, y0, x1, y1)


def test_the_xlsx_has_an_index_sheet(indexed):
    out, reps, led, _, _ = indexed
    wb = load_workbook(out / "one.xlsx")
    assert wb.sheetnames == ["사진대지", "위치도", "사진 목록"]
    ws = wb["사진 목록"]
    assert [c.value for c in ws[3]] == ["사진번호", "지점 · 위치", "구분", "촬영일시", "SHA-256", "SHA-256 (전체)"]
    rows = [r for r in ws.iter_rows(min_row=4, values_only=True) if r[0]]
    assert [r[0] for r in rows] == [r["photo_no"] for r in reps["one", "xlsx"]["index"]]
    assert [r[5] for r in rows] == [r["sha256"] for r in reps["one", "xlsx"]["index"]]
    assert all(r[4] == r[5][:12] for r in rows)
    assert rows[0][1:4] == (f"1. {led.spots[0].location}", "시공 전", rows[0][3]) and rows[0][3].year == 2026
    assert ws.print_area.endswith(f"$A$1:$E${len(rows) + 3}")  # the whole hash beside the print area
    assert ws.print_title_rows == "$3:$3" or ws.print_title_rows == "3:3"
    long_row = next(n for n, r in enumerate(ws.iter_rows(min_row=4, values_only=True), 4) if LONG_LOCATION in (r[1] or ""))
    assert ws.row_dimensions[long_row].height and ws.row_dimensions[long_row].height > 15
