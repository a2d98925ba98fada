"""The 위치도 (location map) of the photo ledger (issue 18): the spots as numbered markers placed
by their photos' GPS, to scale, with a north arrow and a scale bar, drawn offline; a legend
"번호 · 위치 · 사진 수" below it; one page after the cover (every layout) and a sheet of
the XLSX; none without GPS, none when left out (`--no-map`, the page's "위치도 빼기")."""

import io
import math
import re
import subprocess

import numpy as np
import pytest
from openpyxl import load_workbook
from PIL import Image

import ledger_data
from edge_app.cli import main
from edge_app.ledger import build_ledger, export
from edge_app.ledger.sitemap import MARKER_R, haversine_m, layout_map, round_length, spread_labels
from edge_app.store import open_store

#: Spots of a park, metres (east, north) from its gate; the last spot's photos have no GPS.
PARK = [(0, 0), (120, 40), (123, 42), (125, 38), (60, 150), (200, 90), (10, 5), None]
BOX = (10.0, 30.0, 190.0, 150.0)


@pytest.fixture(scope="module")
def park(tmp_path_factory):
    root = tmp_path_factory.mktemp("map") / "data"
    with open_store(root) as st:
        info = ledger_data.build_site(st, len(PARK), unconfirmed=0, rotate_first_after=False)
        ledger_data.put_spots_at(st, info, PARK)
    return root, info


@pytest.fixture(scope="module")
def ledger(park):
    root, info = park
    with open_store(root) as st:
        return build_ledger(st, info["site"])


def _text(path, page=None):
    args = ["pdftotext", "-layout"] + (["-f", str(page), "-l", str(page)] if page else []) + [str(path), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def test_markers_stand_where_their_gps_is_at_the_scale_the_bar_states(ledger):
    m = layout_map(ledger, BOX)
    assert [mk.number for mk in m.markers] == [1, 2, 3, 4, 5, 6, 7]
    assert [s.number for s in m.without] == [8]
    by_no = {mk.number: mk for mk in m.markers}
    located = {p.spot.number: p for p in m.located}
    # every distance on the page is the ground distance times the map's scale (0.5 %)
    for a, b in [(1, 2), (1, 5), (2, 6), (5, 7)]:
        ground = haversine_m(located[a].lat, located[a].lon, located[b].lat, located[b].lon)
        assert math.dist(by_no[a].anchor, by_no[b].anchor) == pytest.approx(ground * m.mm_per_m, rel=0.005)
    # north is up, east is right
    assert by_no[5].anchor[1] < by_no[1].anchor[1] and by_no[6].anchor[0] > by_no[1].anchor[0]
    # the scale bar: a round length, drawn at the map's scale, at most a quarter of the box
    bar = m.scale_bar
    assert bar.metres in {k * 10 ** e for k in (1, 2, 5) for e in range(0, 5)}
    assert bar.length == pytest.approx(bar.metres * m.mm_per_m) and bar.length <= BOX[2] / 4
    assert bar.text == "50 m"
    # everything inside the box
    x, y, w, h = BOX
    for mk in m.markers:
        for px, py in (mk.anchor, mk.label):
            assert x + MARKER_R <= px <= x + w - MARKER_R and y + MARKER_R <= py <= y + h - MARKER_R
    assert x < m.north.x < x + w and y < m.north.top < m.north.top + m.north.height < y + h
    assert x <= bar.x and bar.x + bar.length <= x + w and bar.y < y + h


def test_round_lengths_for_the_scale_bar():
    assert [round_length(v) for v in (1, 1.9, 3, 7.5, 19, 49, 120, 999, 4800)] == [1, 1, 2, 5, 10, 20, 100, 500, 2000]


def test_markers_of_spots_close_together_are_spread_and_keep_a_leader_to_their_place(ledger):
    m = layout_map(ledger, BOX)
    moved = {mk.number for mk in m.markers if mk.moved}
    assert moved == {2, 3, 4}  # 3 to 5 m apart: their circles would overlap
    for i, a in enumerate(m.markers):
        for b in m.markers[i + 1:]:
            assert math.dist(a.label, b.label) >= 2 * MARKER_R  # no two circles overlap
        if a.moved:  # the places of the moved ones stay in sight (their dots are under no circle)
            assert all(math.dist(a.anchor, b.label) > MARKER_R for b in m.markers)


def test_many_spots_on_one_place_fan_out_without_overlapping():
    anchors = np.array([[100.0, 100.0]] * 30 + [[101.0, 100.5]] * 10)
    pos = spread_labels(anchors, MARKER_R, (13.2, 33.2, 196.8, 176.8))
    d = np.hypot(*(pos[:, None, :] - pos[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    assert d.min() >= 2 * MARKER_R
    assert (pos[:, 0] >= 13.2).all() and (pos[:, 0] <= 196.8).all()
    assert np.hypot(*(pos - anchors).T).max() < 30  # still near their place
    assert (spread_labels(anchors, MARKER_R, (13.2, 33.2, 196.8, 176.8)) == pos).all()  # the same every time


@pytest.mark.parametrize("layout", ["row", "2up", "4up"])
def test_the_map_page_follows_the_cover_and_lists_every_spot(park, tmp_path, layout, poppler):
    root, info = park
    with open_store(root) as st:
        rep = export(st, info["site"], "pdf", tmp_path / "l.pdf", layout=layout)
        led = rep["ledger"]
        plain = export(st, info["site"], "pdf", tmp_path / "n.pdf", layout=layout, location_map=False)
    assert rep["map_pages"] == [2] and rep["pages"] == plain["pages"] + 1
    assert min(e["page"] for e in rep["layout"]) == 3  # the photos follow the map
    text = _text(tmp_path / "l.pdf", 2)
    assert "위치도" in text and "번호" in text and "위치" in text and "사진 수" in text
    lines = text.splitlines()
    for sp in led.spots:  # one legend line per spot: its number, its 위치, its count
        line = next(ln for ln in lines if re.match(rf"\s*{sp.number}\s+{re.escape(sp.location)}\s", ln))
        assert "3장" in line
        assert ("위치 정보 없음" in line) == (sp.number == 8)
    assert "50 m" in text and re.search(r"^\s*N\s*$", text, re.M)
    assert "위치도" not in _text(tmp_path / "n.pdf")


def test_the_map_page_as_a_clerk_sees_it(park, tmp_path, poppler, artefacts):
    """Rendered at 80 dpi (kept as out/ledger/ledger-map.png): the markers are drawn where the
    geometry says, in the map's red; the north arrow and the scale bar are ink."""
    root, info = park
    with open_store(root) as st:
        rep = export(st, info["site"], "pdf", tmp_path / "l.pdf")
    subprocess.run(["pdftoppm", "-r", "80", "-png", "-f", "2", "-l", "2", str(tmp_path / "l.pdf"), str(tmp_path / "p")],
                   check=True)
    png = next(tmp_path.glob("p-*.png"))
    Image.open(png).save(artefacts / "ledger-map.png")
    img = np.asarray(Image.open(png).convert("RGB"), dtype=np.int16)
    s = 80 / 25.4
    m = rep["map"]

    def ink(x0, y0, x1, y1):
        part = img[int(y0 * s):int(y1 * s) + 1, int(x0 * s):int(x1 * s) + 1]
        return (part.sum(axis=2) < 300).mean()

    for mk in m.markers:  # the circle's ring: red
        cx, cy = mk.label
        ring = img[int(cy * s) - 1:int(cy * s) + 2, int((cx + MARKER_R) * s) - 2:int((cx + MARKER_R) * s) + 2]
        assert ((ring[..., 0] - ring[..., 1]) > 50).any(), mk.number
    n = m.north
    assert ink(n.x - 2.6, n.top, n.x + 2.6, n.top + n.height) > 0.15  # the arrowhead
    bar = m.scale_bar
    assert ink(bar.x, bar.y, bar.x + bar.length, bar.y + 1.6) > 0.3  # the bar's black segments
    x, y, w, h = m.box
    assert ink(x + 30, y + 30, x + 60, y + 60) < 0.01  # the rest is paper (no tiles, no background)


def test_no_map_without_gps_and_none_when_left_out(tmp_path, poppler):
    with open_store(tmp_path / "data") as st:
        info = ledger_data.build_site(st, 2, unconfirmed=0, rotate_first_after=False)
        ledger_data.put_spots_at(st, info, [None, None])
        rep = export(st, info["site"], "pdf", tmp_path / "l.pdf")
        assert rep["map_pages"] == [] and rep["map"] is None
        assert rep["pages"] == 3  # cover, photos, index
        assert "위치도" not in _text(tmp_path / "l.pdf")
        x = export(st, info["site"], "xlsx", tmp_path / "l.xlsx")
        assert x["map_sheet"] is None and "위치도" not in load_workbook(tmp_path / "l.xlsx").sheetnames
        # with GPS, but left out
        ledger_data.put_spots_at(st, info, [(0, 0), (30, 0)])
        assert export(st, info["site"], "pdf", tmp_path / "g.pdf")["map_pages"] == [2]
        assert export(st, info["site"], "pdf", tmp_path / "o.pdf", location_map=False)["map_pages"] == []


def test_the_xlsx_has_a_map_sheet_after_the_ledger(park, tmp_path):
    root, info = park
    with open_store(root) as st:
        rep = export(st, info["site"], "xlsx", tmp_path / "l.xlsx")
    wb = load_workbook(tmp_path / "l.xlsx")
    assert rep["map_sheet"] == "위치도" and wb.sheetnames[:2] == ["사진대지", "위치도"]
    ws = wb["위치도"]
    assert ws["A1"].value == "위치도" and ws["A2"].value == "2026년 ○○공원 제초작업"
    assert len(ws._images) == 1
    img = Image.open(io.BytesIO(ws._images[0]._data()))
    assert img.width > 1000 and abs(img.width / img.height - 190 / 140) < 0.01
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=1, max_row=ws.max_row)]
    head = rows.index(["번호", "위치", "좌표 (위도, 경도)", "사진 수"])
    legend = rows[head + 1:]
    assert [r[0] for r in legend] == list(range(1, 9))
    assert [r[1] for r in legend] == [ledger_data.LOCATIONS[k] for k in range(8)]
    assert legend[7][2] == "위치 정보 없음" and legend[0][2] == "37.56650, 126.97800"
    assert ws.print_area == f"'위치도'!$A$1:$D${ws.max_row}"
    assert int(ws.page_setup.paperSize) == 9 and ws.page_setup.orientation == "portrait"  # A4
    # the image covers the rows above the note, never the legend
    anchor = ws._images[0].anchor
    assert (anchor._from.col, anchor._from.row) == (0, 2)  # at A3
    shown_h = anchor.ext.height / 9525  # px
    map_rows = sum(ws.row_dimensions[r].height for r in range(3, head))  # pt: rows 3 to the one above the note
    assert map_rows * 96 / 72 >= shown_h + 2


def test_leaving_the_map_out_from_a_shell_and_from_the_page(park, tmp_path, monkeypatch, capsys):
    root, info = park
    monkeypatch.chdir(tmp_path)
    s = str(info["site"])
    assert main(["export", "--data", str(root), "--site", s, "--format", "xlsx", "--no-map"]) == 0
    assert "위치도" not in load_workbook(tmp_path / f"ledger-site{s}.xlsx").sheetnames
    assert main(["export", "--data", str(root), "--site", s, "--format", "xlsx", "--out", "m.xlsx"]) == 0
    assert "위치도" in load_workbook(tmp_path / "m.xlsx").sheetnames
