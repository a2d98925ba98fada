"""Splitting a site keeps its spots' names and is undone from either site (issue 17): a spot
that goes to the new site is "지점 3" there as it was, the spots left keep theirs; both
pages list the split and either one's 되돌리기 takes it back (and 다시 실행 makes it again);
a site merge and its undo and redo keep one name for one spot."""

from __future__ import annotations

import re
import time

from edge_app.store import open_store, views
from edge_app.worker import Worker
from photo_files import spot_photos
from test_review_trust import DAY
from test_routes import upload


def three_spots(app, lead):
    upload(lead, spot_photos(11, 3, DAY) + spot_photos(22, 3, DAY) + spot_photos(33, 3, DAY))
    Worker(app.config["DATA_DIR"]).run_until_idle()
    st = open_store(app.config["DATA_DIR"])
    return st, views.site_view(st, 1)["spots"]


def names(lead, site_id: int) -> dict[frozenset, str]:
    """What the site's page calls each spot, by the photos in it."""
    html = lead.get(f"/sites/{site_id}").text
    out = {}
    for card in html.split('<section class="spot card')[1:]:
        name = re.search(r'<h2 class="spot-name">([^<]+)</h2>', card).group(1)
        out[frozenset(re.findall(r'data-name="([^"]+)"', card.split("</section>")[0]))] = name
    return out


def undo_edit(html: str) -> str:
    return re.search(r'id="undo-form".*?name="edit" value="(\d+)"', html, re.S).group(1)


def test_a_split_keeps_the_names_and_either_site_undoes_it(app, lead):
    st, spots = three_spots(app, lead)
    before = names(lead, 1)
    assert sorted(before.values()) == ["지점 1", "지점 2", "지점 3"]
    first, _, third = spots
    r = lead.post("/sites/1/split", data={"csrf": lead.csrf, "spot": [first["id"], third["id"]]})
    new = int(r.headers["Location"].split("/sites/")[1].split("#")[0])
    Worker(app.config["DATA_DIR"]).run_until_idle()  # the worker regroups both sites after the edit
    time.sleep(1.6)
    Worker(app.config["DATA_DIR"]).run_until_idle()
    left, moved = names(lead, 1), names(lead, new)
    assert set(left.items()) | set(moved.items()) == set(before.items())  # every spot, its own name
    assert sorted(moved.values()) == ["지점 1", "지점 3"] and list(left.values()) == ["지점 2"]
    # both pages name the split as the edit 되돌리기 takes back
    new_page, old_page = lead.get(f"/sites/{new}").text, lead.get("/sites/1").text
    assert undo_edit(new_page) == undo_edit(old_page)
    assert "현장 나눔" in new_page.split('id="undo"')[1].split("</button>")[0]
    # undone from the new site's page: the lead lands on the site the spots went back to
    r = lead.post(f"/sites/{new}/undo", data={"csrf": lead.csrf, "edit": undo_edit(new_page)})
    assert r.headers["Location"].endswith("/sites/1")
    back = lead.get("/sites/1").text
    assert "되돌렸습니다: 현장 나눔" in back and 'id="done-redo"' in back
    assert names(lead, 1) == before
    # 다시 실행: split again, the same names on both sides, and the old site's 되돌리기 undoes it
    r = lead.post("/sites/1/redo", data={"csrf": lead.csrf, "redo": re.search(
        r'name="redo" value="(\d+)"', back).group(1)})
    assert r.headers["Location"].endswith(f"/sites/{new}")
    assert names(lead, new) == moved and names(lead, 1) == left
    lead.post("/sites/1/undo", data={"csrf": lead.csrf})
    assert names(lead, 1) == before
    st.close()


def test_a_site_merge_numbers_the_spots_it_brings_after_the_sites_own_and_undo_and_redo_keep_them(app, lead):
    st, spots = three_spots(app, lead)
    r = lead.post("/sites/1/split", data={"csrf": lead.csrf, "spot": [spots[1]["id"]]})
    new = int(r.headers["Location"].split("/sites/")[1].split("#")[0])
    before_1, before_new = names(lead, 1), names(lead, new)
    assert sorted(before_1.values()) == ["지점 1", "지점 3"] and list(before_new.values()) == ["지점 2"]
    lead.post("/sites/1/merge", data={"csrf": lead.csrf, "other": str(new)})
    merged = names(lead, 1)
    assert len(merged) == 3 and len(set(merged.values())) == 3  # one name for one spot
    assert merged[next(iter(before_new))] == "지점 4" and all(merged[k] == v for k, v in before_1.items())
    lead.post("/sites/1/undo", data={"csrf": lead.csrf})
    assert names(lead, 1) == before_1 and names(lead, new) == before_new
    page = lead.get("/sites/1").text
    lead.post("/sites/1/redo", data={"csrf": lead.csrf, "redo": re.search(r'name="redo" value="(\d+)"', page).group(1)})
    assert names(lead, 1) == merged
    assert st.scalar("SELECT count(*) FROM edits WHERE action = 'site_merge' AND undone_at IS NULL") == 1
    st.close()
