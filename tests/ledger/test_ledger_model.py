"""The ledger's fields in the store (audit log, undo, suggestions, migration) and the ledger
read from any source (the device's store, or records like head office's)."""

import sqlite3
from pathlib import Path

import pytest

import ledger_data
from edge_app.ledger import build_ledger, write
from edge_app.ledger.model import paginate
from edge_app.store import SCHEMA_VERSION, StoreError, edits, ledger_fields, open_store, spots
from edge_app.store.migrations import migrate


@pytest.fixture
def st(tmp_path):
    s = open_store(tmp_path / "data")
    yield s
    s.close()


def test_field_edits_are_logged_undone_and_touch_the_spot(st):
    info = ledger_data.build_site(st, 2, unconfirmed=0, fields=False)
    site_id, (a, b) = info["site"], info["spots"]
    assert ledger_fields.spot_fields(st, a) == {"location": None, "asset_no": None, "caption": None}
    e1 = ledger_fields.set_site_fields(st, site_id, "kim", works_name="  ○○공원\n제초작업 ", company="㈜한빛조경",
                                       stage_words="completion")
    e2 = ledger_fields.set_spot_fields(st, a, "kim", location="STA.0+120", caption="법면 제초")
    assert e1 and e2
    assert ledger_fields.site_fields(st, site_id) == {"works_name": "○○공원 제초작업", "company": "㈜한빛조경",
                                                      "work_type": None, "client": None, "contract_no": None,
                                                      "contract_period": None, "stage_words": "completion"}
    assert st.scalar("SELECT touched FROM spots WHERE id = ?", (a,)) == 1
    # only the fields given change; the same values again are no edit
    assert ledger_fields.set_spot_fields(st, a, "lee", asset_no="T-7") is not None
    assert ledger_fields.spot_fields(st, a) == {"location": "STA.0+120", "asset_no": "T-7", "caption": "법면 제초"}
    assert ledger_fields.set_spot_fields(st, a, "lee", asset_no="T-7") is None
    log = edits.history(st, site_id, limit=3)
    assert [e["action"] for e in log] == ["ledger_spot", "ledger_spot", "ledger_site"]
    assert log[0]["who"] == "lee" and log[1]["summary"]["fields"]["location"] == "STA.0+120"
    for _ in range(3):
        assert edits.undo(st, "kim", site_id)["conflicts"] == 0
    assert ledger_fields.spot_fields(st, a) == {"location": None, "asset_no": None, "caption": None}
    assert ledger_fields.site_fields(st, site_id)["works_name"] is None
    # clearing a field: "" (a form's empty input)
    ledger_fields.set_spot_fields(st, b, "kim", caption="제초")
    ledger_fields.set_spot_fields(st, b, "kim", caption="")
    assert ledger_fields.spot_fields(st, b)["caption"] is None


def test_field_edits_refuse_what_makes_no_sense(st):
    info = ledger_data.build_site(st, 1, unconfirmed=0, fields=False)
    with pytest.raises(StoreError, match="stage words"):
        ledger_fields.set_site_fields(st, info["site"], "kim", stage_words="someday")
    with pytest.raises(StoreError, match="unknown"):
        ledger_fields.set_spot_fields(st, info["spots"][0], "kim", name="x")
    with pytest.raises(StoreError, match="no spot"):
        ledger_fields.set_spot_fields(st, 999, "kim", caption="x")
    with pytest.raises(StoreError, match="no site"):
        ledger_fields.set_site_fields(st, 999, "kim", company="x")
    assert edits.history(st, info["site"], limit=1)[0]["action"] == "confirm"  # refused edits leave no trace


def test_previous_values_are_offered_this_sites_first(st):
    one = ledger_data.build_site(st, 2, unconfirmed=0)
    two = ledger_data.build_site(st, 1, unconfirmed=0, fields=False)
    ledger_fields.set_spot_fields(st, two["spots"][0], "kim", location="정문 앞", caption="제초")
    spots.rename(st, two["spots"][0], "정문 화단", who="kim")
    s = ledger_fields.suggestions(st, two["site"])
    assert s["location"][:2] in (["정문 앞", "정문 화단"], ["정문 화단", "정문 앞"])
    assert "컨테이너 좌측" in s["location"] and "STA.0+120" in s["location"]
    assert s["caption"][0] == "제초" and "잡초 제거 및 정리" in s["caption"]
    assert s["asset_no"] == ["T-102"] and s["company"] == ["㈜한빛조경"]
    assert s["work_type"][0] == "제초" and "수목 전정" in s["work_type"] and "토공" in s["work_type"]
    assert one["site"] != two["site"]


def test_a_version_3_store_gains_the_fields_and_keeps_its_records(tmp_path):
    root = tmp_path / "old"
    root.mkdir()
    conn = sqlite3.connect(root / "edge_app.db", isolation_level=None)
    assert migrate(conn, target=3) == 3
    conn.executescript("""
        INSERT INTO sites (id, name, created_at, created_by) VALUES (1, '3공구', '2026-05-01T00:00:00.000Z', 'engine');
        INSERT INTO spots (id, site_id, name, created_at, created_by) VALUES (5, 1, '컨테이너 좌측', '2026-05-01', 'lead');
    """)
    conn.close()
    with open_store(root) as st:
        assert st.schema_version() == SCHEMA_VERSION >= 4
        assert st.one("SELECT name, location, caption FROM spots WHERE id = 5")[:] == ("컨테이너 좌측", None, None)
        assert ledger_fields.site_fields(st, 1)["stage_words"] is None
        ledger_fields.set_spot_fields(st, 5, "kim", location="STA.0+120")
        assert st.scalar("PRAGMA integrity_check") == "ok"


def test_the_ledger_holds_confirmed_spots_in_page_order_with_stage_choice(st):
    info = ledger_data.build_site(st, 3, unconfirmed=1, extra_before=1)
    spots.rename(st, info["spots"][2], "관리동 앞", who="kim")
    ledger_fields.set_spot_fields(st, info["spots"][2], "kim", location="")
    led = build_ledger(st, info["site"])
    assert [s.id for s in led.spots] == info["spots"][:3] and [s.number for s in led.spots] == [1, 2, 3]
    assert led.unconfirmed_left_out == 1
    assert led.spots[2].location == "관리동 앞"  # no location typed: the spot's name
    assert led.stage_words == ("시공 전", "시공 중", "시공 후")
    first = led.blocks()[0]
    assert [first.photos[s].taken_local[11:] for s in ("before", "during", "after")] == ["09:00:00", "10:00:00",
                                                                                       "14:00:00"]
    both = build_ledger(st, info["site"], include_unconfirmed=True, lang="en")
    assert len(both.spots) == 4 and not both.spots[3].confirmed and both.unconfirmed_included == 1
    assert both.stage_words == ("Before works", "During works", "After works")
    ledger_fields.set_site_fields(st, info["site"], "kim", stage_words="completion")
    assert build_ledger(st, info["site"]).stage_words == ("착공 전", "시공 중", "준공")
    assert len(build_ledger(st, info["site"], all_photos=True).blocks()) == 4  # spot 1: two "before" photos


class HeadOfficeRecords:
    """A source that is not the device's store: plain records, as head office would keep
    them from the spots it received."""

    def __init__(self, folder: Path, photos: dict[str, bytes]):
        self.folder = folder
        for sha, data in photos.items():
            (folder / f"{sha}.jpg").write_bytes(data)
        shas = list(photos)
        self.spots = [{"id": 41, "name": None, "location": "STA.0+120", "asset_no": "", "caption": "법면 제초",
                       "cover": None, "confirmed": True,
                       "photos": [{"sha256": sha, "name": f"{k}.jpg", "phase": ph,
                                   "taken_local": f"2026-05-0{4 + k} 09:00:00", "taken_at": None, "width": 640,
                                   "height": 480, "bytes": len(photos[sha]), "lat": None, "lon": None, "alt": None}
                                  for k, (sha, ph) in enumerate(zip(shas, ("before", "during", "after")))]}]

    def ledger_site(self, site_id):
        return {"id": site_id, "name": "현장 A", "works_name": "하천 정비", "company": "본사", "work_type": "토공",
                "stage_words": "work"}

    def ledger_spots(self, site_id):
        return self.spots

    def original_path(self, sha256):
        return self.folder / f"{sha256}.jpg"


def test_head_office_can_build_the_same_documents_from_its_own_records(tmp_path):
    import hashlib

    data = [ledger_data.jpeg(ledger_data.scene(7, st)) for st in ("before", "during", "after")]
    src = HeadOfficeRecords(tmp_path, {hashlib.sha256(d).hexdigest(): d for d in data})
    led = build_ledger(src, 9)
    assert led.title_name == "하천 정비" and led.stage_words == ("작업 전", "작업 중", "작업 후")
    for fmt in ("xlsx", "pdf", "zip"):
        rep = write(led, fmt, tmp_path / f"ho.{fmt}")
        assert (tmp_path / f"ho.{fmt}").stat().st_size > 10_000
        assert rep.get("notes", []) == []


def test_pages_break_between_spots_and_only_a_spot_taller_than_a_page_is_cut():
    assert paginate([[1], [1], [1], [1], [1]], 4, 4) == [[0, 1, 2, 3], [4]]
    assert paginate([[1], [1, 1, 1], [1]], 3, 4) == [[0], [1, 2, 3, 4]]  # spot 2 moves whole to page 2
    assert paginate([[1], [1, 1, 1, 1, 1, 1], [1]], 4, 4) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert paginate([], 4, 4) == [[]]
    assert paginate([[1], [1]], 0.5, 4) == [[0], [1]]  # a first page too small still takes one


def _spot(*stages, cover=None, by=None):
    from edge_app.ledger.model import LedgerPhoto, LedgerSpot

    by = by or {}
    photos = [LedgerPhoto(f"{k:064x}", f"IMG_{k}.jpg", st, None, None, Path(f"/x/{k}.jpg"), stage_by=by.get(k))
              for k, st in enumerate(stages)]
    return LedgerSpot(1, 3, "지점 1", "지점 1", "", "", True, cover, photos)


def _rows(sp, all_photos=False, columns=("before", "during", "after")):
    from edge_app.ledger.model import place_photos

    return [("?" if b.unknown else "") + " ".join(f"{st[0]}:{p.name[4:-4] if p else '-'}" for st, p in b.photos.items())
            for b in place_photos(sp, columns, all_photos)]


def test_a_photo_is_printed_only_under_the_stage_it_was_given():
    """Photos sent through a messenger lose their EXIF: no capture time, so no stage. They
    are printed in a row of their own marked 단계 미상, never under a stage, and never in
    place of a staged photo (issue 18: the lead's 시공 중 was replaced)."""
    assert _rows(_spot(None)) == ["?b:0"]
    assert _rows(_spot(None, None)) == ["?b:0 d:1"]
    assert _rows(_spot("before", None)) == ["b:0 d:- a:-", "?b:1"]
    # every stage taken and one without a stage: the staged ones stay, the loose one gets its row
    assert _rows(_spot(None, "before", "during", "after")) == ["b:1 d:2 a:3", "?b:0"]
    # more loose photos than columns: one row, the rest with all photos
    assert _rows(_spot("after", None, None, None, None)) == ["b:- d:- a:0", "?b:1 d:2 a:3"]
    assert _rows(_spot("after", None, None, None, None), all_photos=True) == [
        "b:- d:- a:0", "?b:1 d:2 a:3", "?b:4"]
    assert _rows(_spot(None, None, "after"), columns=("before", "after")) == ["b:- a:2", "?b:0 a:1"]


def test_a_persons_stage_wins_then_the_cover_then_capture_order():
    # photos 1 and 2 both "during": the engine's first in capture order, the person's wins
    sp = _spot("before", "during", "during", "after", by={2: "person", 1: "engine"})
    assert _rows(sp) == ["b:0 d:2 a:3"]
    assert _rows(sp, all_photos=True) == ["b:0 d:2 a:3", "b:- d:1 a:-"]
    # the cover, when it is of that stage, first
    sp = _spot("before", "during", "during", "after", cover=f"{1:064x}", by={2: "person"})
    assert _rows(sp) == ["b:0 d:1 a:3"]


def test_every_photo_has_one_number_in_ledger_order():
    sp = _spot(None, "after", "before", "during", "before", by={4: "person"})
    assert [p.name for p in sp.ordered_photos()] == ["IMG_4.jpg", "IMG_2.jpg", "IMG_3.jpg", "IMG_1.jpg", "IMG_0.jpg"]
    assert list(sp.photo_numbers().values()) == ["3-1", "3-2", "3-3", "3-4", "3-5"]
    assert sp.photo_no(sp.photos[0]) == "3-5"


def test_a_version_6_store_gains_the_cover_fields(tmp_path):
    root = tmp_path / "six"
    root.mkdir()
    conn = sqlite3.connect(root / "edge_app.db", isolation_level=None)
    assert migrate(conn, target=6) == 6
    conn.execute("INSERT INTO sites (id, name, created_at, created_by, works_name) "
                 "VALUES (1, '3공구', '2026-05-01T00:00:00.000Z', 'engine', '하천 정비')")
    conn.close()
    with open_store(root) as st:
        assert st.schema_version() == SCHEMA_VERSION >= 7
        f = ledger_fields.site_fields(st, 1)
        assert f["works_name"] == "하천 정비" and f["client"] is None and f["contract_period"] is None
        ledger_fields.set_site_fields(st, 1, "kim", client="○○구청", contract_no="제17호",
                                      contract_period="2026.03.02 ~ 2026.11.30")
        assert ledger_fields.site_fields(st, 1)["contract_no"] == "제17호"
        assert ledger_fields.suggestions(st, 1)["client"] == ["○○구청"]
        assert edits.undo(st, "kim", 1)["conflicts"] == 0
        assert ledger_fields.site_fields(st, 1)["client"] is None
