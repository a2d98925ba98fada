"""The 시공 중 column is printed only where a spot has a 중 photo (issue 18: rows of
"사진 없음" read as missing photos); --keep-during and the page's checkbox keep it."""

import subprocess

import pytest
from openpyxl import load_workbook

import ledger_data
from edge_app.cli import main
from edge_app.ledger import build_ledger, write
from edge_app.ledger.xlsx import col_px
from edge_app.store import open_store, spots


@pytest.fixture(scope="module")
def no_during(tmp_path_factory):
    """A site of 4 spots whose "during" photos a person moved to "before"."""
    root = tmp_path_factory.mktemp("nodur") / "data"
    with open_store(root) as st:
        info = ledger_data.build_site(st, 4, unconfirmed=0, rotate_first_after=False)
        for sid in info["spots"]:
            spots.set_phase(st, [s for s, ph, _ in info["photos"][sid] if ph == "during"], "before", who="kim")
    return root, info


def test_without_a_during_photo_the_column_is_dropped_and_photos_are_larger(no_during, tmp_path, poppler,
                                                                             artefacts):
    root, info = no_during
    with open_store(root) as st:
        led = build_ledger(st, info["site"])
        kept = build_ledger(st, info["site"], keep_during=True)
    assert led.columns == ("before", "after") and kept.columns == ("before", "during", "after")
    rep = write(led, "pdf", tmp_path / "l.pdf")
    text = subprocess.run(["pdftotext", "-f", "2", "-layout", str(tmp_path / "l.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "시공 전" in text and "시공 후" in text and "시공 중" not in text and "사진 없음" not in text
    boxes = [e["box"] for e in rep["layout"]]
    assert {e["stage"] for e in rep["layout"]} == {"before", "after"}
    assert all(w == pytest.approx(90) and h == pytest.approx(64) for _, _, w, h in boxes)
    subprocess.run(["pdftoppm", "-r", "60", "-f", "2", "-l", "2", "-png", str(tmp_path / "l.pdf"),
                    str(artefacts / "ledger-two-columns")], check=True, timeout=60)
    rep = write(kept, "pdf", tmp_path / "k.pdf")
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "k.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "시공 중" in text and text.count("사진 없음") == 4

    write(led, "xlsx", tmp_path / "l.xlsx")
    ws = load_workbook(tmp_path / "l.xlsx").active
    assert [ws.cell(4, c).value for c in range(1, 4)] == ["번호", "시공 전", "시공 후"]
    assert ws.cell(4, 4).value is None and ws.print_area.split("!")[-1].startswith("$A$1:$C$")
    assert col_px(ws, 2) == col_px(ws, 3) > 300  # wider photo cells
    assert "사진 없음" not in [c.value for row in ws.iter_rows() for c in row]
    assert len(ws._images) == 4 * 2  # a before and an after per spot (the second before: --all-photos)
    write(kept, "xlsx", tmp_path / "k.xlsx")
    ws = load_workbook(tmp_path / "k.xlsx").active
    assert [ws.cell(4, c).value for c in range(2, 5)] == ["시공 전", "시공 중", "시공 후"]


def test_keep_during_from_a_shell_and_from_the_page(no_during, tmp_path, monkeypatch):
    root, info = no_during
    monkeypatch.chdir(tmp_path)
    s = str(info["site"])
    assert main(["export", "--data", str(root), "--site", s, "--format", "xlsx", "--out", "a.xlsx"]) == 0
    assert main(["export", "--data", str(root), "--site", s, "--format", "xlsx", "--keep-during",
                 "--out", "b.xlsx"]) == 0
    assert load_workbook(tmp_path / "a.xlsx").active["D4"].value is None
    assert load_workbook(tmp_path / "b.xlsx").active["C4"].value == "시공 중"
