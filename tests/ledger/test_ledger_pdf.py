"""The PDF ledger read back with poppler-utils: pages rendered to PNG and compared with the
photos that should be in each box, the font, the text, the photos' resolution."""

import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

import ledger_data
from edge_app.ledger import pdf as ledger_pdf
from edge_app.ledger.images import fit

DPI = 100


def render(pdf_path, out_dir, dpi=DPI) -> list:
    out_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf_path), str(out_dir / "page")], check=True,
                   timeout=120)
    return sorted(out_dir.glob("page-*.png"), key=lambda p: int(p.stem.split("-")[-1]))


@pytest.fixture(scope="module")
def pages(exported, poppler, tmp_path_factory):
    path, _ = exported["pdf"]
    return render(path, tmp_path_factory.mktemp("pdfpages"))


def _small(a: np.ndarray, size=(32, 24)) -> np.ndarray:
    return np.asarray(Image.fromarray(a).resize(size, Image.Resampling.BOX), dtype=np.float32)


def _photo_in_box(page: np.ndarray, box_mm, aspect=(640, 480)) -> np.ndarray:
    """The central part of the photo drawn in a ledger box, from a rendered page."""
    x, y, w, h = box_mm
    iw, ih = fit(*aspect, w - 2 * ledger_pdf.PAD, h - 2 * ledger_pdf.PAD)
    cx, cy = x + w / 2, y + h / 2
    s = DPI / 25.4
    x0, x1 = int((cx - 0.35 * iw) * s), int((cx + 0.35 * iw) * s)
    y0, y1 = int((cy - 0.35 * ih) * s), int((cy + 0.35 * ih) * s)
    return page[y0:y1, x0:x1]


def _centre(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    return rgb[int(0.15 * h):int(0.85 * h), int(0.15 * w):int(0.85 * w)]


def test_pages_cover_then_four_spots_a_page(exported, pages, artefacts):
    _, rep = exported["pdf"]
    # a cover, the 위치도 (the photos carry GPS), then 6 confirmed spots at 4 a page (the
    # unconfirmed one is left out), then the index
    assert len(pages) == rep["pages"] == 5 and rep["map_pages"] == [2] and rep["index_pages"] == [5]
    assert rep["spots"] == 6 and rep["notes"] == []
    size = Image.open(pages[0]).size
    assert abs(size[0] / size[1] - 210 / 297) < 0.01  # A4 portrait
    for k, p in enumerate((pages[0], pages[2]), 1):  # kept for people to look at (README, CI artefacts)
        shutil.copy(p, artefacts / f"ledger-page-{k}.png")


def test_one_spots_before_during_after_are_side_by_side_on_one_page(site, exported, pages):
    root, info = site
    _, rep = exported["pdf"]
    first = info["spots"][0]
    boxes = [e for e in rep["layout"] if e["spot"] == first]
    assert [e["stage"] for e in boxes] == ["before", "during", "after"]
    assert {e["page"] for e in boxes} == {3}
    assert len({round(e["box"][1], 3) for e in boxes}) == 1  # one row
    page = np.asarray(Image.open(pages[2]).convert("RGB"))
    truth = {st: ledger_data.scene(100, st) for st in ("before", "during", "after")}
    for e in boxes:
        drawn = _small(_photo_in_box(page, e["box"]))
        diffs = {st: float(np.abs(drawn - _small(_centre(t))).mean()) for st, t in truth.items()}
        # the right photo is in each box, and clearly so
        assert min(diffs, key=diffs.get) == e["stage"], diffs
        assert diffs[e["stage"]] < 18, diffs


def test_a_photo_stored_turned_is_printed_upright(site, exported, pages):
    root, info = site
    _, rep = exported["pdf"]
    box = next(e for e in rep["layout"] if e["sha256"] == info["rotated"])
    page = np.asarray(Image.open(pages[box["page"] - 1]).convert("RGB"))
    drawn = _small(_photo_in_box(page, box["box"]))
    upright = _small(_centre(ledger_data.scene(100, "after")))
    assert float(np.abs(drawn - upright).mean()) < 18
    x, y, w, h = box["box"]
    s = DPI / 25.4
    strip = page[int((y + 3) * s):int((y + 8) * s), int((x + w / 2) * s)]  # top of the box: sky, blue
    assert (strip[:, 2].astype(int) - strip[:, 1].astype(int)).mean() > 20


def test_the_korean_font_is_embedded_and_the_text_reads_back(exported, poppler):
    path, _ = exported["pdf"]
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = [ln.split() for ln in fonts.splitlines()[2:]]
    assert rows and all("EdgeAppGothic" in r[0] for r in rows)
    assert all(r[-5:-2] == ["yes", "yes", "yes"] for r in rows)  # embedded, subset, ToUnicode
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    for s in ("사진대지", "2026년 ○○공원 제초작업", "㈜한빛조경", "제초", "시공 전", "시공 중", "시공 후",
              "컨테이너 좌측", "STA.0+120", "제초 작업 (예초기)", "관리번호 T-102", "2026.05.04 09:00",
              "2026.05.04 ~ 2026.05.12", "1-1 2026.05.04 09:00"):
        assert s in text, s
    bare = "".join(text.split())
    assert all(f"{n}/5" in bare for n in (2, 3, 4, 5)) and "1/5" not in bare  # page numbers (not on the cover)
    assert "STA.0+240" in text and "주차장 경사면" not in text  # spot 6 is in, the unconfirmed spot 7 is not


def test_photos_are_embedded_at_print_resolution(exported, poppler):
    path, _ = exported["pdf"]
    out = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True).stdout
    rows = [ln.split() for ln in out.splitlines()[2:]]
    images = [r for r in rows if r[2] == "image"]
    per_page = {}
    for r in images:
        per_page[int(r[0])] = per_page.get(int(r[0]), 0) + 1
    assert per_page == {1: 1, 3: 12, 4: 6}  # the cover picture, 4 + 2 spots of 3 photos (the map: no image)
    for r in images:
        assert r[8] == "jpeg"
        if r[0] == "1":  # the cover's big picture: these 640 x 480 test photos are never enlarged
            assert (int(r[3]), int(r[4])) == (640, 480)
            continue
        assert 190 <= int(r[12]) <= 210 and 190 <= int(r[13]) <= 210, r  # x-ppi, y-ppi: about 200 dpi
        assert int(r[3]) < 640  # made for the box, not the original's pixels


def test_characters_the_font_lacks_are_replaced():
    assert ledger_pdf.printable("✓ 완료 ✕") == "√ 완료 ×"
    assert ledger_pdf.printable("공사 🌳") == "공사 ?"


def test_the_cover_holds_what_the_client_reads_and_nothing_internal(site, tmp_path, poppler):
    from edge_app.ledger import build_ledger, write
    from edge_app.store import ledger_fields, open_store

    root, info = site
    with open_store(root) as st:
        ledger_fields.set_site_fields(st, info["site"], "kim", client="서울특별시 ○○구청", contract_no="제2026-0417호",
                                      contract_period="2026.03.02 ~ 2026.11.30")
        try:
            led = build_ledger(st, info["site"])
        finally:
            ledger_fields.set_site_fields(st, info["site"], "kim", client=None, contract_no=None, contract_period=None)
    assert led.client == "서울특별시 ○○구청"
    write(led, "pdf", tmp_path / "c.pdf")
    cover = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-layout", str(tmp_path / "c.pdf"), "-"],
                           capture_output=True, text=True, check=True).stdout
    for label, value in (("공사명", "2026년 ○○공원 제초작업"), ("발주처", "서울특별시 ○○구청"), ("시공사", "㈜한빛조경"),
                         ("계약번호", "제2026-0417호"), ("공사기간", "2026.03.02 ~ 2026.11.30"), ("작성일", "20")):
        line = next((ln for ln in cover.splitlines() if ln.split()[:1] == [label]), "")
        assert value in line, (label, cover)
    for internal in ("미확인", "빠짐", "대지", "원본", "단계 표기", "시공 전 / 시공 중", "2026.05.04 ~ 2026.05.12",
                     "지점"):
        assert internal not in cover.replace("사진대지", ""), internal
