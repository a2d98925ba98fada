"""The PDF, the XLSX and the ZIP agree on every photo's stage (issue 18): one rule
(:func:`edge_app.ledger.model.place_photos`) decides which photo stands in each stage cell;
a person's stage wins, a photo without a stage never displaces a staged one and is printed
only in a cell marked 단계 미상. Read back with pdftotext, openpyxl and zipfile."""

import csv
import io
import re
import subprocess
import zipfile
from datetime import timedelta

import pytest
from openpyxl import load_workbook

import ledger_data
from edge_app.ledger import build_ledger, pdf as ledger_pdf, write
from edge_app.store import open_store, spots

NO = re.compile(r"^\d+-\d+$")
WORDS = {"시공 전": "시공전", "시공 중": "시공중", "시공 후": "시공후"}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """Spot 1: before / during / after set by a person, plus an engine's "during" taken
    earlier than the person's and a messenger copy without a stage. Spot 2: before /
    during / after, and four photos without a stage. Spot 3: only photos without a stage."""
    root = tmp_path_factory.mktemp("agree") / "data"
    st = open_store(root)
    try:
        info = ledger_data.build_site(st, 3, unconfirmed=0, rotate_first_after=False)
        a, b, c = info["spots"]
        day = ledger_data.DAY
        extra = {
            a: ledger_data.add_to_spot(st, info["site"], a, [
                (100, "during", day + timedelta(days=3), "during", "engine"),
                (100, "during", None, None, None)]),
            b: ledger_data.add_to_spot(st, info["site"], b, [(101, "after", None, None, None) for _ in range(4)]),
        }
        # spot 3: its staged photos taken back to no stage (a person cleared them)
        spots.set_phase(st, [s for s, _, _ in info["photos"][c]], None, who="kim")
        for sid in (a, b, c):
            spots.confirm(st, sid, who="kim")
        led = build_ledger(st, info["site"])
    finally:
        st.close()
    out = tmp_path_factory.mktemp("agree-out")
    reps = {fmt: write(led, fmt, out / f"l.{fmt}") for fmt in ("pdf", "xlsx", "zip")}
    return {"info": info, "extra": extra, "ledger": led, "out": out, "reps": reps}


def zip_stages(path) -> dict[str, tuple[str, str]]:
    """{사진번호: (stage word without spaces, sha256)} from the ZIP's names and index."""
    with zipfile.ZipFile(path) as z:
        index = next(n for n in z.namelist() if n.endswith("index.csv"))
        rows = list(csv.DictReader(io.StringIO(z.read(index).decode("utf-8-sig"))))
        names = set(z.namelist())
    out = {}
    for r in rows:
        assert r["path"] in names
        assert f"_{r['stage_word']}_" in r["path"].rsplit("/", 1)[1]  # the file's name says the stage
        out[r["photo_no"]] = (r["stage_word"], r["sha256"])
    return out


def pdf_stages(path, columns, skip=()) -> dict[str, str]:
    """{사진번호: stage word without spaces} from the PDF's text: a number's column (by its
    x) gives the stage word, unless its line says 단계 미상. ``skip``: pages not read (the
    index pages, numbered from 1)."""
    xml = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    out = {}
    for n, page in enumerate(xml.split("<page ")[2:], 2):  # the pages after the cover
        if n in skip:
            continue
        words = [(float(m[1]), float(m[2]), m[3]) for m in
                 re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="[\d.]+">([^<]*)</word>', page)]
        heads = {}
        for x, y, w in words:
            if NO.match(w):
                mm = x / 72 * 25.4
                k = int((mm - ledger_pdf.MARGIN_X - ledger_pdf.NO_W) // ledger_pdf.photo_w(len(columns)))
                line = [w2 for x2, y2, w2 in words if abs(y2 - y) < 1 and x2 > x and x2 < x + 80]
                unknown = line[:2] == ["단계", "미상"]
                heads[w] = "단계미상" if unknown else columns[k]
        out.update(heads)
    return out


def xlsx_stages(path) -> dict[str, str]:
    """{사진번호: stage word without spaces} from the XLSX's date cells: the number before
    the time (its number format, or the text when there is no time), the column's head."""
    ws = load_workbook(path).active
    heads = {c: str(ws.cell(4, c).value).replace(" ", "") for c in range(2, ws.max_column + 1)}
    out = {}
    for row in ws.iter_rows(min_row=5):
        for cell in row[1:]:
            fmt, v = cell.number_format, cell.value
            label = fmt.split('"')[1] if fmt.startswith('"') and not isinstance(v, str) else (
                v if isinstance(v, str) else "")
            parts = label.split()
            if parts and NO.match(parts[0]):
                out[parts[0]] = "단계미상" if parts[1:3] == ["단계", "미상"] else heads[cell.column]
    return out


def index_stages_pdf(path, pages) -> dict[str, str]:
    """{사진번호: stage word without spaces} from the PDF's index pages (the 구분 column)."""
    xml = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    widths = ledger_pdf._index_widths()
    x0 = ledger_pdf.MARGIN_X + sum(widths[:2])
    x1 = x0 + widths[2]
    out = {}
    for n, page in enumerate(xml.split("<page ")[1:], 1):
        if n not in pages:
            continue
        words = [(float(m[1]) / 72 * 25.4, float(m[2]), m[3]) for m in
                 re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="[\d.]+">([^<]*)</word>', page)]
        for x, y, w in words:
            if NO.match(w) and x < ledger_pdf.MARGIN_X + widths[0]:
                out[w] = "".join(w2 for x2, y2, w2 in words if abs(y2 - y) < 1 and x0 <= x2 < x1)
    return out


def index_stages_xlsx(path) -> dict[str, str]:
    """{사진번호: stage word without spaces} from the XLSX's index sheet."""
    ws = load_workbook(path)["사진 목록"]
    return {r[0]: r[2].replace(" ", "") for r in ws.iter_rows(min_row=4, values_only=True) if r[0]}


def test_the_three_outputs_agree_on_every_photos_stage(mixed, poppler):
    out, led = mixed["out"], mixed["ledger"]
    z = zip_stages(out / "l.zip")
    columns = [led.stage_word(c).replace(" ", "") for c in led.columns]
    p = pdf_stages(out / "l.pdf", columns, mixed["reps"]["pdf"]["index_pages"])
    x = xlsx_stages(out / "l.xlsx")
    assert p and p == x  # the same photos, under the same stages, in the PDF and the XLSX
    # and the index pages and the index sheet list the same photos under the same stages
    assert index_stages_pdf(out / "l.pdf", mixed["reps"]["pdf"]["index_pages"]) == p
    assert index_stages_xlsx(out / "l.xlsx") == p
    for no, word in p.items():
        assert z[no][0] == word, no  # and the ZIP names them so
    printed = {e["sha256"]: e for e in mixed["reps"]["pdf"]["layout"]}
    for no, (word, sha) in z.items():
        if no in p:
            assert printed[sha]["photo_no"] == no
    # only spot 1's engine "during" (a second photo of a stage) and spot 2's fourth loose photo
    # are left to --all-photos
    assert sorted(set(z) - set(p)) == ["1-3", "2-7"]


def test_a_persons_stage_wins_and_loose_photos_never_displace_it(mixed):
    led, info, extra = mixed["ledger"], mixed["info"], mixed["extra"]
    a, b, c = info["spots"]
    blocks = {sid: [bl for bl in led.blocks() if bl.spot.id == sid] for sid in (a, b, c)}
    person_during = next(s for s, ph, _ in info["photos"][a] if ph == "during")
    engine_during, loose = extra[a]
    first = blocks[a][0]
    assert not first.unknown and first.photos["during"].sha256 == person_during  # not the engine's, not the loose one
    assert [bl.unknown for bl in blocks[a]] == [False, True]
    assert list(blocks[a][1].photos.values())[0].sha256 == loose
    assert engine_during not in {p.sha256 for bl in blocks[a] for p in bl.photos.values() if p}  # --all-photos only
    # spot 2: its staged photos stay; three of four loose photos in one marked row
    assert [bl.unknown for bl in blocks[b]] == [False, True]
    assert [p.sha256 for p in blocks[b][1].photos.values()] == extra[b][:3]
    # spot 3: nothing staged, so only the marked row
    assert [bl.unknown for bl in blocks[c]] == [True]


def test_with_all_photos_every_photo_is_printed_once_under_its_own_stage(mixed, tmp_path, poppler):
    led = mixed["ledger"]
    led.all_photos = True
    try:
        rep = write(led, "pdf", tmp_path / "all.pdf")
        write(led, "xlsx", tmp_path / "all.xlsx")
        write(led, "zip", tmp_path / "all.zip")
        z = zip_stages(tmp_path / "all.zip")
        columns = [led.stage_word(c).replace(" ", "") for c in led.columns]
        p = pdf_stages(tmp_path / "all.pdf", columns, rep["index_pages"])
        assert p == xlsx_stages(tmp_path / "all.xlsx") == {no: w for no, (w, _) in z.items()}
        assert index_stages_pdf(tmp_path / "all.pdf", rep["index_pages"]) == p == index_stages_xlsx(
            tmp_path / "all.xlsx")
    finally:
        led.all_photos = False
