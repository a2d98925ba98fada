"""The ZIP of originals: extracted and compared with the store byte for byte, names safe on
Windows with their Korean kept (UTF-8 flag), and a CSV index of every file."""

import csv
import hashlib
import io
import re
import unicodedata
import zipfile

from edge_app.ledger.words import csv_cell, safe_file_part
from edge_app.store import open_store, photos

NAME = re.compile(r"^(?P<site>[^/]+)/(?P<no>\d{3})_(?P<loc>[^/]+)/(?P=loc)_(?P<stage>[^_/]+)_"
                  r"(?P<stamp>\d{8}-\d{6})_(?P<n>\d+)\.jpg$")
WINDOWS_BAD = set('<>:"\\|?*') | {chr(c) for c in range(32)}


def test_the_originals_come_out_byte_identical_in_spot_folders(site, exported, tmp_path):
    root, info = site
    path, rep = exported["zip"]
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
        z.extractall(tmp_path / "x")
        infos = [i for i in z.infolist() if not i.filename.endswith(".csv")]
    confirmed = info["spots"][:6]
    expected = {sha for sid in confirmed for sha, _, _ in info["photos"][sid]}
    assert rep["files"] == len(infos) == len(expected) == 20  # every photo of every confirmed spot
    got = {}
    with open_store(root) as st:
        for i in infos:
            data = (tmp_path / "x" / i.filename).read_bytes()
            sha = hashlib.sha256(data).hexdigest()
            got[sha] = i.filename
            assert data == photos.original_path(st, sha).read_bytes()  # the store's original, byte for byte
            assert i.compress_type == zipfile.ZIP_STORED
    assert set(got) == expected
    # names: <site>/<NNN>_<위치>/<위치>_<stage>_<YYYYMMDD-HHMMSS>_<n>.jpg
    first = info["spots"][0]
    names = sorted(got[sha] for sha, _, _ in info["photos"][first])
    assert names == [
        "2026년_○○공원_제초작업/001_컨테이너_좌측/컨테이너_좌측_시공전_20260504-090000_1.jpg",
        "2026년_○○공원_제초작업/001_컨테이너_좌측/컨테이너_좌측_시공전_20260504-090020_2.jpg",
        "2026년_○○공원_제초작업/001_컨테이너_좌측/컨테이너_좌측_시공전_20260504-090040_3.jpg",
        "2026년_○○공원_제초작업/001_컨테이너_좌측/컨테이너_좌측_시공중_20260507-100000_1.jpg",
        "2026년_○○공원_제초작업/001_컨테이너_좌측/컨테이너_좌측_시공후_20260512-140000_1.jpg",
    ]
    for n in got.values():
        m = NAME.match(n)
        assert m, n
        assert m["stage"] in ("시공전", "시공중", "시공후")
        assert not (set(n) & WINDOWS_BAD) and unicodedata.is_normalized("NFC", n) and len(n) < 200


def test_korean_names_carry_the_utf8_flag_and_keep_their_capture_time(exported):
    path, _ = exported["zip"]
    with zipfile.ZipFile(path) as z:
        for i in z.infolist():
            assert i.flag_bits & 0x800, i.filename  # every name here has Korean in it
            if i.filename.endswith(".jpg"):
                stamp = re.search(r"_(\d{8}-\d{6})_", i.filename).group(1)
                assert "%04d%02d%02d-%02d%02d%02d" % i.date_time == stamp


def test_the_csv_index_lists_every_file_with_hash_gps_and_time(site, exported):
    root, info = site
    path, rep = exported["zip"]
    with zipfile.ZipFile(path) as z:
        raw = z.read(rep["index"])
        names = {i.filename for i in z.infolist()}
        data = {n: z.read(n) for n in names if n.endswith(".jpg")}
    assert raw.startswith("\ufeff".encode())  # BOM: Excel reads the Korean
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 20 and {r["path"] for r in rows} == set(data)
    for r in rows:
        assert hashlib.sha256(data[r["path"]]).hexdigest() == r["sha256"]
        assert int(r["bytes"]) == len(data[r["path"]])
        assert (float(r["lat"]), float(r["lon"])) == (37.5665, 126.978)
        assert re.fullmatch(r"2026-05-\d\d \d\d:\d\d:\d\d", r["taken_local"])
        assert r["stage"] in ("before", "during", "after") and r["confirmed"] == "yes"
    first = next(r for r in rows if r["spot_no"] == "2")
    assert (first["location"], first["asset_no"], first["caption"]) == ("STA.0+120", "T-102", "잡초 제거 및 정리")


def test_file_name_parts_are_safe_everywhere():
    assert safe_file_part('A/B\\C:D*E?F"G<H>I|J') == "A_B_C_D_E_F_G_H_I_J"
    assert safe_file_part("  컨테이너 좌측.  ") == "컨테이너_좌측"
    assert safe_file_part("CON") == "_CON" and safe_file_part("lpt1.txt") == "_lpt1.txt"
    assert safe_file_part("\u1112\u1161\u11ab") == "한"  # NFD (macOS) becomes NFC
    assert safe_file_part("줄\n바꿈\u202e") == "줄_바꿈"
    assert safe_file_part("...", fallback="spot-3") == "spot-3"
    assert len(safe_file_part("가" * 200)) == 40
    assert csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and csv_cell("-12.5") == "-12.5"
    assert csv_cell("STA.0+120") == "STA.0+120"
