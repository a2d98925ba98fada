"""Warnings before an export (issue 18): a spot whose 시공 후 photo is earlier than its 시공 전
photo, a spot without 후, photos without any date. Computed by edge_app.ledger.checks (pure,
over LedgerSpots), listed on the site page next to the export buttons with a link to each
spot, in Korean and English, and never printed in the documents."""

import html
import re
import subprocess
from pathlib import Path

import pytest

import ledger_data
from edge_app.ledger import build_ledger
from edge_app.ledger.checks import KINDS, LedgerWarning, ledger_warnings, spot_warnings
from edge_app.ledger.model import LedgerPhoto, LedgerSpot
from edge_app.store import open_store, spots
from site_client import first_visit, site_app


def photo(n, stage, local=None, source="exif"):
    return LedgerPhoto(sha256=f"{n:064x}", name=f"p{n}.jpg", stage=stage, taken_local=local,
                       taken_at=None if local is None else 1.0, path=Path("x.jpg"),
                       taken_from=source if local else None)


def spot(sid, *photos):
    return LedgerSpot(id=sid, number=sid, label=f"지점 {sid}", location="", asset_no="", caption="", confirmed=True,
                      cover=None, photos=list(photos))


def test_a_spot_in_order_has_no_warning():
    assert ledger_warnings([spot(1, photo(1, "before", "2026-05-04 09:00:00"), photo(2, "during", "2026-05-07 10:00:00"),
                                 photo(3, "after", "2026-05-12 14:00:00"))]) == []


def test_an_after_photo_earlier_than_a_before_photo_is_named():
    sp = spot(1, photo(1, "before", "2026-05-04 09:00:00"), photo(2, "before", "2026-05-12 14:00:00"),
              photo(3, "after", "2026-05-10 10:00:00"), photo(4, "after", "2026-05-13 10:00:00"))
    assert spot_warnings(sp) == [LedgerWarning("after_early", 1, (f"{3:064x}", f"{2:064x}"), 2,
                                               "2026-05-10 10:00:00", "2026-05-12 14:00:00")]


def test_a_day_only_time_compares_by_the_day():
    same_day = spot(1, photo(1, "before", "2024-03-05 09:00:00"), photo(2, "after", "2024-03-05 00:00:00",
                                                                         "file name date"))
    assert [w.kind for w in spot_warnings(same_day)] == []
    day_before = spot(1, photo(1, "before", "2024-03-05 09:00:00"), photo(2, "after", "2024-03-04 00:00:00",
                                                                           "file name date"))
    (w,) = spot_warnings(day_before)
    assert w.kind == "after_early" and w.after_day_only and not w.before_day_only


def test_a_spot_without_after_and_photos_without_date():
    sp = spot(2, photo(1, "before", "2026-05-04 09:00:00"), photo(2, None), photo(3, None))
    assert [(w.kind, w.count) for w in spot_warnings(sp)] == [("no_after", 0), ("no_date", 2)]
    assert spot_warnings(sp)[1].photos == (f"{2:064x}", f"{3:064x}")
    # a time read from the file name is a date
    assert [w.kind for w in spot_warnings(spot(3, photo(1, "before", "2024-03-05 10:15:22", "file name"),
                                                photo(2, "after", "2024-03-09 10:00:00", "file name")))] == []


def test_warnings_are_grouped_by_kind_in_page_order():
    spots_ = [spot(5, photo(1, "before", "2026-05-04 09:00:00"), photo(2, None)),
              spot(3, photo(3, "before", "2026-05-06 09:00:00"), photo(4, "after", "2026-05-05 09:00:00")),
              spot(4, photo(5, "before", "2026-05-04 09:00:00"))]
    got = [(w.kind, w.spot_id) for w in ledger_warnings(spots_)]
    assert got == [("after_early", 3), ("no_after", 5), ("no_after", 4), ("no_date", 5)]
    assert [k for k, _ in got] == sorted((k for k, _ in got), key=KINDS.index)


# --------------------------------------------------------------------------- the page


def make_warned_site(st) -> dict:
    """A site of 4 confirmed spots and an unconfirmed one: spot 2 has its stages swapped by
    hand (후 before 전), spot 3 has no 후 (its 후 photo marked 중), spot 4 has two photos without any date."""
    info = ledger_data.build_site(st, 4, unconfirmed=1, rotate_first_after=False)
    s2, s3, s4 = info["spots"][1:4]
    p2 = {stage: sha for sha, stage, _ in info["photos"][s2]}
    p3 = {stage: sha for sha, stage, _ in info["photos"][s3]}
    p4 = {stage: sha for sha, stage, _ in info["photos"][s4]}
    with st.write():  # as a person left them (the spots are confirmed)
        for sha, phase in ((p2["before"], "after"), (p2["after"], "before"), (p3["after"], "during")):
            st.conn.execute("UPDATE photos SET phase = ?, phase_by = 'person' WHERE sha256 = ?", (phase, sha))
        for stage in ("during", "after"):
            st.conn.execute("UPDATE photos SET taken_at = NULL, taken_local = NULL, taken_from = NULL "
                            "WHERE sha256 = ?", (p4[stage],))
    return info


@pytest.fixture
def app(tmp_path):
    return site_app(tmp_path / "data", make_warned_site)


@pytest.fixture
def lead(app):
    return first_visit(app)


def _lines(page: str) -> list[tuple[str, str, str]]:
    """(kind, spot id, the line's text without tags) of each warning listed."""
    out = []
    for kind, sid, body in re.findall(r'<li data-ledger-warning="([a-z_]+)" data-warning-spot="(\d+)">(.*?)</li>', page, re.S):
        out.append((kind, sid, html.unescape(re.sub(r"<[^>]+>", "", body)).strip()))
    return out


def test_the_site_page_lists_the_warnings_with_a_link_to_each_spot(app, lead):
    info = app.info
    s1, s2, s3, s4, s5 = info["spots"]
    page = lead.get(f"/sites/{info['site']}").text
    lines = _lines(page)
    assert [(k, int(s)) for k, s, _ in lines] == [("after_early", s2), ("no_after", s3), ("no_date", s4)]
    assert all(f'<a href="#spot-{s}">' in page and f'id="spot-{s}"' in page for _, s, _ in lines)
    label = dict(re.findall(r'id="spot-(\d+)".*?<h2 class="spot-name">([^<]+)</h2>', page, re.S))
    for kind, sid, text in lines:
        assert text.startswith(label[sid] + ":"), (text, label[sid])  # the spot named as the page names it
    text = dict(((k, s), t) for k, s, t in lines)
    assert "'시공 후' 사진(" in text[("after_early", str(s2))] and "'시공 전' 사진(" in text[("after_early", str(s2))]
    assert "5월 4일" in text[("after_early", str(s2))] and "보다 먼저 찍혔습니다" in text[("after_early", str(s2))]
    assert "'시공 후' 사진이 없습니다" in text[("no_after", str(s3))]
    assert "촬영일시를 알 수 없는 사진 2장" in text[("no_date", str(s4))]
    assert "내보내기 전에 확인하세요 (3건)" in page and "사진대지에는 나오지 않는 안내입니다" in page
    assert str(s1) not in {s for _, s, _ in lines}
    # the warnings come before the export buttons
    assert page.index("data-ledger-warnings") < page.index('name="format" value="pdf"')
    lead.get("/lang/en")
    en = lead.get(f"/sites/{info['site']}").text
    en_text = {(k, s): t for k, s, t in _lines(en)}
    assert "Check before exporting (3)" in en
    assert "the 'After works' photo (" in en_text[("after_early", str(s2))]
    assert "no 'After works' photo" in en_text[("no_after", str(s3))]
    assert "2 photo(s) without any date" in en_text[("no_date", str(s4))]


def test_an_unconfirmed_spots_warning_says_so(app, lead, tmp_path):
    info = app.info
    s5 = info["spots"][4]
    with open_store(app.config["DATA_DIR"]) as st:
        p5 = {stage: sha for sha, stage, _ in info["photos"][s5]}
        spots.set_phase(st, [p5["after"]], "during", who="kim")  # the spot is not confirmed
    lines = _lines(lead.get(f"/sites/{info['site']}").text)
    (line,) = [t for k, s, t in lines if s == str(s5)]
    assert "(미확인):" in line


def test_a_site_in_order_lists_nothing(tmp_path):
    app = site_app(tmp_path / "data", lambda st: ledger_data.build_site(st, 2, unconfirmed=0))
    page = first_visit(app).get(f"/sites/{app.info['site']}").text
    assert "data-ledger-warnings" not in page and "내보내기 전에 확인하세요" not in page


def test_the_warnings_are_not_in_the_documents(tmp_path, poppler):
    from edge_app.ledger import write

    with open_store(tmp_path / "data") as st:
        info = make_warned_site(st)
        led = build_ledger(st, info["site"])
    assert len(ledger_warnings(led.spots)) == 3
    write(led, "pdf", tmp_path / "l.pdf")
    text = subprocess.run(["pdftotext", str(tmp_path / "l.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "확인하세요" not in text and "먼저 찍혔습니다" not in text and "사진이 없습니다" not in text
