"""A site split off from another gets a title of its own (issue 17): the two were both
"5월 4일 현장" (same first day) or a named site's split said nothing of where it came from.
Now two unnamed sites of one day are told apart by their first photo's time, and a named
site's split (an undated upload's "2026-12-07 사진" included) is that name with a number."""

from __future__ import annotations

import re

from edge_app.store import open_store, views
from edge_app.worker import Worker
from photo_files import spot_photos
from test_review_trust import DAY
from test_routes import upload


def titles(lead) -> list[str]:
    """The sites' titles as the home page lists them."""
    return re.findall(r'<span class="site-name">([^<]+)</span>', lead.get("/").text)


def title_of(lead, site_id: int) -> str:
    return re.search(r'<h1 id="site-title"[^>]*>([^<]+)</h1>', lead.get(f"/sites/{site_id}").text).group(1)


def split_second_spot(app, lead) -> int:
    st = open_store(app.config["DATA_DIR"])
    spots = views.site_view(st, 1)["spots"]
    st.close()
    r = lead.post("/sites/1/split", data={"csrf": lead.csrf, "spot": [spots[1]["id"]]})
    return int(r.headers["Location"].split("/sites/")[1].split("#")[0])


def test_a_dated_site_and_its_split_are_told_apart_by_their_first_photos_time(app, lead):
    upload(lead, spot_photos(11, 3, DAY) + spot_photos(22, 3, DAY.replace(minute=30)))
    Worker(app.config["DATA_DIR"]).run_until_idle()
    assert title_of(lead, 1) == "2026년 5월 4일 (월) 현장"  # alone: its day is enough
    new = split_second_spot(app, lead)
    old_title, new_title = title_of(lead, 1), title_of(lead, new)
    assert old_title != new_title
    assert {old_title, new_title} == {"2026년 5월 4일 (월) 09:00 현장", "2026년 5월 4일 (월) 09:30 현장"}
    assert sorted(titles(lead)) == sorted([old_title, new_title])
    lead.set_cookie("lang", "en")
    assert {title_of(lead, 1), title_of(lead, new)} == {"Site of 4 May 2026, 09:00", "Site of 4 May 2026, 09:30"}


def test_an_undated_site_and_its_split_get_different_true_names(app, lead):
    upload(lead, spot_photos(11, 3, None) + spot_photos(22, 3, None) + spot_photos(33, 3, None))
    Worker(app.config["DATA_DIR"]).run_until_idle()
    old = title_of(lead, 1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d 사진", old)  # named by its upload's day
    st = open_store(app.config["DATA_DIR"])
    spots = [sp["id"] for sp in views.site_view(st, 1)["spots"]]
    st.close()
    assert len(spots) == 3
    r = lead.post("/sites/1/split", data={"csrf": lead.csrf, "spot": spots[1:]})
    new = int(r.headers["Location"].split("/sites/")[1].split("#")[0])
    assert title_of(lead, new) == f"{old} (2)" and title_of(lead, 1) == old
    # a split of the split: the next free number, not "(2) (2)"
    r = lead.post(f"/sites/{new}/split", data={"csrf": lead.csrf, "spot": spots[2:]})
    third = int(r.headers["Location"].split("/sites/")[1].split("#")[0])
    assert title_of(lead, third) == f"{old} (3)"
    assert sorted(titles(lead)) == sorted([old, f"{old} (2)", f"{old} (3)"])
    # undone: the split-off site is gone, and its name with it
    lead.post(f"/sites/{third}/undo", data={"csrf": lead.csrf})
    assert sorted(titles(lead)) == sorted([old, f"{old} (2)"])
