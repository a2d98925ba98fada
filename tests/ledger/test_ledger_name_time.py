"""Capture time from the file name (issue 18): a photo without an EXIF time whose name a
phone, a messenger or a screenshot tool gave it (``KakaoTalk_20240305_101522123.jpg``)
gets that time, marked "file name" in the store and "(파일명)" in the ledger; EXIF wins
when present; the time is used for the stages (before / after) as an EXIF time is."""

import csv
import io
import sqlite3
import subprocess
import zipfile
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook

import ledger_data
from edge_app.engine.metadata import name_time, time_from_name
from edge_app.ledger import build_ledger, write
from edge_app.ledger.archive import INDEX_COLUMNS
from edge_app.store import open_store, photos, sites, spots
from edge_app.store.migrations import migrate

NOW = datetime(2026, 6, 1, 12, 0, 0)


@pytest.mark.parametrize("name, want", [
    ("IMG_20231110_084214.jpg", datetime(2023, 11, 10, 8, 42, 14)),
    ("IMG_20231110_084214_975.jpg", datetime(2023, 11, 10, 8, 42, 14)),
    ("20231110_084214.jpg", datetime(2023, 11, 10, 8, 42, 14)),
    ("20231110_084214(0).jpg", datetime(2023, 11, 10, 8, 42, 14)),
    ("PXL_20231110_084214123.jpg", datetime(2023, 11, 10, 8, 42, 14)),
    ("PXL_20231110_084214123.MP.jpg", datetime(2023, 11, 10, 8, 42, 14)),
    ("KakaoTalk_20240305_101522123.jpg", datetime(2024, 3, 5, 10, 15, 22)),
    ("KakaoTalk_20240305_101522123_01.jpg", datetime(2024, 3, 5, 10, 15, 22)),
    ("KakaoTalk_Photo_2024-03-05-10-15-22.jpeg", datetime(2024, 3, 5, 10, 15, 22)),
    ("Screenshot_20240305-101522.png", datetime(2024, 3, 5, 10, 15, 22)),
    ("Screenshot_20240305-101522_KakaoTalk.jpg", datetime(2024, 3, 5, 10, 15, 22)),
    ("Screenshot_2024-03-05-10-15-22-123_com.android.chrome.png", datetime(2024, 3, 5, 10, 15, 22)),
    ("Screenshot 2024-03-05 at 3.15.22 PM.png", datetime(2024, 3, 5, 15, 15, 22)),
    ("Screen Shot 2024-03-05 at 12.15.22\u202fAM.png", datetime(2024, 3, 5, 0, 15, 22)),
    ("스크린샷 2024-03-05 오후 3.15.22.png", datetime(2024, 3, 5, 15, 15, 22)),
    ("photo_2024-03-05_10-15-22.jpg", datetime(2024, 3, 5, 10, 15, 22)),
    ("2024-03-05 10.15.22.jpg", datetime(2024, 3, 5, 10, 15, 22)),
    ("VID_20231110_084214.mp4", datetime(2023, 11, 10, 8, 42, 14)),
    ("MVIMG_20231110_084214.jpg", datetime(2023, 11, 10, 8, 42, 14)),
    ("PANO_20231110_084214.jpg", datetime(2023, 11, 10, 8, 42, 14)),
    ("DCIM/Camera/IMG_20231110_084214.jpg", datetime(2023, 11, 10, 8, 42, 14)),
    ("IMG_20260602_090000.jpg", datetime(2026, 6, 2, 9, 0, 0)),  # less than a day ahead: a clock a little fast
])
def test_phone_messenger_and_screenshot_names_give_their_time(name, want):
    assert time_from_name(name, now=NOW) == want
    assert name_time(name, now=NOW) == (want, True)


def test_a_name_with_the_day_only_gives_the_day():
    assert name_time("IMG-20231110-WA0009.jpg", now=NOW) == (datetime(2023, 11, 10), False)
    assert time_from_name("IMG-20231110-WA0009.jpg", now=NOW) == datetime(2023, 11, 10)


@pytest.mark.parametrize("name", [
    "IMG_20231310_084214.jpg",      # month 13
    "IMG_20230230_084214.jpg",      # 30 February
    "IMG_20231100_084214.jpg",      # day 0
    "IMG_20231110_256000.jpg",      # hour 25
    "IMG_20231110_084260.jpg",      # second 60
    "IMG_19991231_235959.jpg",      # before 2000
    "IMG_19700101_000000.jpg",
    "IMG_20260603_120001.jpg",      # more than a day ahead
    "IMG_20991110_084214.jpg",
    "IMG-20991110-WA0009.jpg",
    "IMG_2023111_084214.jpg",       # seven digits
    "120231110_084214.jpg",         # a longer number
    "IMG_20231110_08421412345.jpg",  # too many digits after the time
    "2024-03-05-1015223.jpg",
    "Screenshot 2024-03-05 at 13.15.22 PM.png",
    "IMG_0001.JPG", "DSC_0042.JPG", "KakaoTalk_3_0.jpg", "scene_0012_b.jpg", "spot11_0.jpg", "photo.jpg",
    "1699605734123.jpg", "", None, 20231110,
])
def test_names_without_a_possible_time_give_none(name):
    assert time_from_name(name, now=NOW) is None


def test_the_clock_of_this_computer_bounds_the_future():
    tomorrow = datetime.now() + timedelta(hours=20)
    later = datetime.now() + timedelta(days=3)
    assert time_from_name(tomorrow.strftime("IMG_%Y%m%d_%H%M%S.jpg")) is not None
    assert time_from_name(later.strftime("IMG_%Y%m%d_%H%M%S.jpg")) is None


# --------------------------------------------------------------------------- the store


def _jpeg(seed, when=None):
    return ledger_data.jpeg(ledger_data.scene(seed, "before", (320, 240)), when, ledger_data.GPS)


@pytest.fixture
def st(tmp_path):
    s = open_store(tmp_path / "data")
    yield s
    s.close()


def _row(st, sha):
    return dict(st.one("SELECT taken_at, taken_local, taken_from FROM photos WHERE sha256 = ?", (sha,)))


def test_a_photo_without_exif_time_takes_its_names_time_marked_as_such(st):
    a = photos.add_bytes(st, _jpeg(1), "KakaoTalk_20240305_101522123.jpg", source="cli", who="t")
    r = _row(st, a.sha256)
    # the phone's clock read as UTC, like an EXIF time without offset
    assert r == {"taken_at": 1_709_633_722.0, "taken_local": "2024-03-05 10:15:22", "taken_from": "file name"}
    day = photos.add_bytes(st, _jpeg(2), "IMG-20231110-WA0009.jpg", source="cli", who="t")
    assert _row(st, day.sha256) == {"taken_at": 1_699_574_400.0, "taken_local": "2023-11-10 00:00:00",
                                    "taken_from": "file name date"}
    none = photos.add_bytes(st, _jpeg(3), "KakaoTalk_3_0.jpg", source="cli", who="t")
    assert _row(st, none.sha256) == {"taken_at": None, "taken_local": None, "taken_from": None}


def test_the_exif_time_wins_over_the_name(st):
    a = photos.add_bytes(st, _jpeg(1, datetime(2026, 5, 4, 9, 0, 0)), "IMG_20231110_084214.jpg", source="cli",
                         who="t")
    assert _row(st, a.sha256) == {"taken_at": 1_777_885_200.0, "taken_local": "2026-05-04 09:00:00",
                                  "taken_from": "exif"}


def test_the_names_time_gives_the_stages(st):
    """Two messenger copies of one spot, a week apart by their names: before and after."""
    shas = [photos.add_bytes(st, _jpeg(k), n, source="cli", who="t").sha256
            for k, n in enumerate(["KakaoTalk_20240312_160100456.jpg", "KakaoTalk_20240305_101522123.jpg"])]
    with st.write():
        site_id = sites.create_site(st, "engine")
        sid = spots.create_spot(st, site_id, "engine")
        for sha in shas:
            st.conn.execute("UPDATE photos SET site_id = ?, state = 'analysed' WHERE sha256 = ?", (site_id, sha))
            spots.place(st, sha, sid, "engine", score=0.9)
        spots.set_engine_phases(st, sid)
    got = {r["sha256"]: r["phase"] for r in st.query("SELECT sha256, phase FROM photos")}
    assert got == {shas[1]: "before", shas[0]: "after"}


def test_a_store_of_version_7_marks_its_timed_photos_exif(tmp_path):
    root = tmp_path / "old"
    root.mkdir()
    conn = sqlite3.connect(root / "edge_app.db", isolation_level=None)
    assert migrate(conn, target=7) == 7
    for k, t in enumerate((1_777_885_200.0, None)):
        conn.execute("INSERT INTO photos (sha256, name, ext, bytes, source, added_at, added_by, taken_at, taken_local)"
                     " VALUES (?, ?, '.jpg', 10, 'cli', '2026-05-01T00:00:00.000Z', 'x', ?, ?)",
                     (str(k) * 64, f"IMG_{k}.JPG", t, "2026-05-04 09:00:00" if t else None))
    conn.close()
    st = open_store(root)
    try:
        assert [r[0] for r in st.query("SELECT taken_from FROM photos ORDER BY sha256")] == ["exif", None]
        with pytest.raises(sqlite3.IntegrityError):
            with st.write():
                st.conn.execute("UPDATE photos SET taken_from = 'guess'")
    finally:
        st.close()


# --------------------------------------------------------------------------- the ledger


@pytest.fixture(scope="module")
def marked(tmp_path_factory):
    """A site of 2 spots; the second spot's photos have no EXIF time: its "after" is named
    by a messenger (a time), its "before" by WhatsApp (the day only)."""
    root = tmp_path_factory.mktemp("name-time") / "data"
    st = open_store(root)
    try:
        info = ledger_data.build_site(st, 2, unconfirmed=0, rotate_first_after=False)
        sid = info["spots"][1]
        shas = {stage: sha for sha, stage, _ in info["photos"][sid]}
        with st.write():
            for sha in shas.values():
                st.conn.execute("UPDATE photos SET taken_at = NULL, taken_local = NULL, taken_from = NULL "
                                "WHERE sha256 = ?", (sha,))
            st.conn.execute("UPDATE photos SET taken_at = 1709633722, taken_local = '2024-03-05 10:15:22', "
                            "taken_from = 'file name' WHERE sha256 = ?", (shas["after"],))
            st.conn.execute("UPDATE photos SET taken_at = 1709251200, taken_local = '2024-03-01 00:00:00', "
                            "taken_from = 'file name date' WHERE sha256 = ?", (shas["before"],))
        led = build_ledger(st, info["site"])
    finally:
        st.close()
    out = tmp_path_factory.mktemp("name-time-out")
    reps = {fmt: write(led, fmt, out / f"l.{fmt}") for fmt in ("pdf", "xlsx", "zip")}
    return out, reps, led, shas


def test_the_ledger_model_knows_which_times_come_from_names(marked):
    _, _, led, shas = marked
    by_sha = {p.sha256: p for s in led.spots for p in s.photos}
    assert by_sha[shas["after"]].time_from_name and by_sha[shas["before"]].time_from_name
    assert not by_sha[shas["during"]].time_from_name  # no time at all: nothing to mark
    other = next(s for s in led.spots if shas["after"] not in {p.sha256 for p in s.photos})
    assert not any(p.time_from_name for p in other.photos)
    assert led.times_from_names()


def test_the_pdf_marks_a_time_read_from_the_name_and_says_what_the_mark_means(marked, poppler):
    out, _, _, _ = marked
    text = subprocess.run(["pdftotext", "-layout", str(out / "l.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = " ".join(text.split())
    assert "2024.03.05 10:15 (파일명)" in flat
    assert "2024.03.01 (파일명)" in flat and "2024.03.01 00:00" not in flat  # the day only
    assert "2026.05.04 09:00 (파일명)" not in flat and "2026.05.04 09:00" in flat  # EXIF: no mark
    # the legend: on the page of the photos and on the index page
    assert flat.count("(파일명): 사진에 촬영시각(EXIF)이 없어 파일 이름에서 읽은 일시") == 2


def test_the_pdf_legend_stays_inside_the_page_and_clear_of_the_blocks(marked, poppler, tmp_path):
    out, reps, _, _ = marked
    bottom = max(b["box"][1] + b["box"][3] for b in reps["pdf"]["layout"])
    assert bottom < 297 - 12 - 4  # the blocks leave the legend's line free
    bbox = subprocess.run(["pdftotext", "-bbox", str(out / "l.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "파일명):" in bbox


def test_the_xlsx_marks_the_time_and_the_zip_index_says_where_it_comes_from(marked):
    out, _, led, shas = marked
    other = next(s for s in led.spots if shas["after"] not in {p.sha256 for p in s.photos})
    ws = load_workbook(out / "l.xlsx").active
    formats = [c.number_format for row in ws.iter_rows() for c in row if getattr(c, "is_date", False)]
    assert sum("(파일명)" in f for f in formats) == 2
    assert any(f.endswith('yyyy.mm.dd" (파일명)"') for f in formats)  # the day only
    assert "파일 이름에서" in ws.oddFooter.left.text
    with zipfile.ZipFile(out / "l.zip") as zf:
        index = next(n for n in zf.namelist() if n.endswith("index.csv"))
        rows = list(csv.DictReader(io.StringIO(zf.read(index).decode("utf-8-sig"))))
    assert "taken_from" in INDEX_COLUMNS
    got = {r["sha256"]: r["taken_from"] for r in rows}
    assert got[shas["after"]] == "file name" and got[shas["before"]] == "file name date"
    assert got[shas["during"]] == "" and {got[p.sha256] for p in other.photos} == {"exif"}


def test_a_ledger_without_names_times_prints_no_mark_and_no_legend(site, exported, poppler):
    path, rep = exported["pdf"]
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "파일명" not in text and not rep["ledger"].times_from_names()
