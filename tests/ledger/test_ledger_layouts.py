"""2-up and 4-up A4 portrait layouts of the PDF (issue 18): large photos, two or four a page,
with 사진번호, 구분, 공종, 위치, 일자 and 내용 under each; the same photos as the row layout,
boxes at the stated size, nothing outside its card or the page, long text never cut.
``edge-app export --layout 2up|4up`` and the page's radio choose it (PDF only)."""

import io
import re
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
from openpyxl import load_workbook
from PIL import Image

import ledger_data
from edge_app.ledger import build_ledger, export, pdf as ledger_pdf, write
from edge_app.store import ledger_fields, open_store
from edge_app.web import create_app

CAPTION = ("1) 제초 작업 후 잔재물 수거 및 반출 완료. 2) 배수로 내 토사 준설 (L=35m), 3) 법면 유실 구간 보수 및 "
           "떼붙임 (A=12㎡). 4) 수목 보호대 교체 2개소, 지주목 결속 재시공. 5) 보행로 측구 청소 및 낙엽 수거, "
           "작업 구간 안전 표지 철거. 6) 인근 주민 민원 (소음) 없음, 작업 시간 09:00~17:00 준수. "
           "7) 다음 작업: 관목 전정 및 시비, 우천 시 연기. 8) 감독원 입회 확인 후 사진 촬영, 특이사항 없음.")
DPI = 60


@pytest.fixture(scope="module")
def site_root(tmp_path_factory):
    """5 confirmed spots (the first with 2 more "before" photos), the third with a long 내용."""
    root = tmp_path_factory.mktemp("layouts") / "data"
    with open_store(root) as st:
        info = ledger_data.build_site(st, 5, unconfirmed=0, extra_before=2, rotate_first_after=False)
        ledger_fields.set_spot_fields(st, info["spots"][2], "kim", caption=CAPTION)
    return root, info


@pytest.fixture(scope="module")
def made(site_root, tmp_path_factory):
    root, info = site_root
    out = tmp_path_factory.mktemp("layouts-out")
    reps, leds = {}, {}
    with open_store(root) as st:
        for layout in ("row", "2up", "4up"):
            leds[layout] = build_ledger(st, info["site"], layout=layout)
            reps[layout] = write(leds[layout], "pdf", out / f"{layout}.pdf")
    return out, reps, leds


def _words(path, page):
    xml = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(path), "-"],
                         capture_output=True, text=True, check=True).stdout
    return [(float(a) / 72 * 25.4, float(b) / 72 * 25.4, float(c) / 72 * 25.4, float(d) / 72 * 25.4, w) for a, b, c, d, w
            in re.findall(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<', xml)]


@pytest.mark.parametrize("layout, across, per_page, size", [("2up", 1, 2, (190.0, 88.0)), ("4up", 2, 4, (93.0, 78.0))])
def test_cards_two_or_four_a_page_with_the_photos_of_the_row_layout(made, layout, across, per_page, size):
    _, reps, _ = made
    rep, row = reps[layout], reps["row"]
    # the same photos, with the same numbers, as the row layout
    assert sorted((e["photo_no"], e["sha256"]) for e in rep["layout"]) == sorted(
        (e["photo_no"], e["sha256"]) for e in row["layout"])
    assert [e["photo_no"] for e in rep["layout"]] == [r["photo_no"] for r in rep["index"]]  # 사진번호 order
    per = Counter(e["page"] for e in rep["layout"])
    assert list(per.values())[:-1] == [per_page] * (len(per) - 1) and 1 <= list(per.values())[-1] <= per_page
    assert min(per) == 3 and rep["map_pages"] == [2] and rep["index_pages"] == [max(per) + 1] and rep["pages"] == max(per) + 1
    # boxes at the stated size (a card with a long 내용 may get a smaller photo, never a larger one)
    boxes = [e["box"] for e in rep["layout"]]
    assert all(abs(b[2] - size[0]) < 0.01 and b[3] <= size[1] + 1e-6 for b in boxes)
    assert sum(abs(b[3] - size[1]) < 0.01 for b in boxes) >= len(boxes) - per_page
    assert all(b[3] >= ledger_pdf.CARD_SHRINK * size[1] - 1e-6 for b in boxes)
    assert all(b[0] >= 9.99 and b[0] + b[2] <= 200.01 and b[1] >= 10 and b[1] + b[3] <= 285 for b in boxes)


@pytest.mark.parametrize("layout", ["2up", "4up"])
def test_each_card_says_its_number_stage_place_date_and_content_under_its_photo(made, layout, poppler):
    out, reps, leds = made
    rep, led = reps[layout], leds[layout]
    spots = {s.id: s for s in led.spots}
    for e in rep["layout"]:
        x, y, w, h = e["box"]
        under = [wd for x0, y0, x1, y1, wd in _words(out / f"{layout}.pdf", e["page"])
                 if x - 0.5 <= x0 and x1 <= x + w + 0.5 and y + h - 0.5 <= y0 <= y + h + 75]
        text = " ".join(under)
        flat = "".join(under)
        sp = spots[e["spot"]]
        assert f"사진번호 {e['photo_no']}" in text, text
        assert led.stage_word(e["stage"]).replace(" ", "") in flat
        assert "공종" in text and "제초" in text
        assert "".join(sp.location.split()) in flat
        photo = next(p for p in sp.photos if p.sha256 == e["sha256"])
        assert ledger_pdf.format_date(photo.taken_local, "ko") in text
        assert "".join(ledger_pdf.printable(sp.caption).split()) in flat  # 내용 whole, even the long one
    for page in {e["page"] for e in rep["layout"]}:
        for x0, y0, x1, y1, wd in _words(out / f"{layout}.pdf", page):
            assert 9.5 <= x0 and x1 <= 200.5 and 9.5 <= y0 and y1 <= 297 - 5, wd  # nothing outside the page


@pytest.mark.parametrize("layout", ["2up", "4up"])
def test_the_photos_are_drawn_inside_their_boxes(made, layout, poppler, tmp_path, artefacts):
    out, reps, _ = made
    rep = reps[layout]
    page = rep["layout"][0]["page"]
    subprocess.run(["pdftoppm", "-r", str(DPI), "-png", "-f", str(page), "-l", str(page), str(out / f"{layout}.pdf"),
                    str(tmp_path / "p")], check=True)
    png = next(tmp_path.glob("p-*.png"))
    img = np.asarray(Image.open(png).convert("RGB"), dtype=np.float32)
    Image.open(png).save(artefacts / f"ledger-{layout}.png")  # for people to look at
    s = DPI / 25.4
    for e in (e for e in rep["layout"] if e["page"] == page):
        x, y, w, h = e["box"]
        inner = img[int((y + 0.3 * h) * s):int((y + 0.7 * h) * s), int((x + w / 2 - 10) * s):int((x + w / 2 + 10) * s)]
        assert inner.std() > 10 and inner.mean() < 235  # a photo, not a white box


def test_the_layout_is_for_the_pdf_and_the_xlsx(site_root, tmp_path):
    root, info = site_root
    with open_store(root) as st:
        with pytest.raises(ValueError):
            export(st, info["site"], "zip", tmp_path / "x.zip", layout="2up")
        with pytest.raises(ValueError):
            build_ledger(st, info["site"], layout="6up")


def test_edge_app_export_takes_layout(site_root, tmp_path):
    root, info = site_root

    def run(*args):
        return subprocess.run([sys.executable, "-m", "edge_app.cli", "export", "--data", str(root), "--site",
                               str(info["site"]), *args], capture_output=True, text=True, cwd=tmp_path, timeout=300)

    p = run("--format", "pdf", "--layout", "4up", "--out", "4up.pdf")
    assert p.returncode == 0, p.stderr
    assert re.search(r"15 photos, 7 pages", p.stdout), p.stdout  # cover, 위치도, 4 pages of 4 cards (15), the index
    p = run("--format", "zip", "--layout", "2up")
    assert p.returncode == 2 and "--layout 2up / 4up is for --format pdf or xlsx" in p.stderr
    p = run("--format", "xlsx", "--layout", "2up", "--out", "2up.xlsx")
    assert p.returncode == 0 and "15 photos, 8 pages" in p.stdout, p.stderr  # two cards a page


def test_the_page_offers_the_layouts_and_the_export_uses_them(site_root, tmp_path, poppler):
    root, info = site_root
    app = create_app({"DATA_DIR": str(root), "TESTING": True})
    c = app.test_client()
    tok = re.search(r'name="csrf" value="([^"]+)"', c.get("/setup").text).group(1)
    c.post("/setup", data={"pin": "482913", "pin2": "482913", "csrf": tok, "name": "김반장"})
    page = c.get(f"/sites/{info['site']}").text
    assert 'name="layout" value="row" checked' in page and 'name="layout" value="4up"' in page
    assert "한 쪽에 사진 4장" in page and "모양 (PDF·엑셀)" in page
    r = c.get(f"/sites/{info['site']}/ledger?format=pdf&layout=2up")
    assert r.status_code == 200 and r.data[:5] == b"%PDF-"
    (tmp_path / "w.pdf").write_bytes(r.data)
    text = subprocess.run(["pdftotext", str(tmp_path / "w.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert text.count("사진번호") == 15 + 1  # a card each, and the index's head
    r = c.get(f"/sites/{info['site']}/ledger?format=xlsx&layout=2up")  # the workbook in cards too
    assert r.status_code == 200 and r.data[:2] == b"PK"
    ws = load_workbook(io.BytesIO(r.data)).active
    assert ws["A4"].value == "사진번호" and ws["B4"].value == "1-1" and len(ws._images) == 15
