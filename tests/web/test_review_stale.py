"""A stale page cannot win (issue 17, item 7): each edit form of the site page carries the
site's version and newest edit when it was drawn; an action from a page older than what is
stored (a second tab, a page left open) is refused as a whole with a page in the lead's
words (what changed, a reload button), never a bare "찾을 수 없습니다", and never silently
undoes the newer edit. The page's script gets ``{"next": url}`` instead of a redirect."""

import re

from edge_app.store import views
from test_review_trust import layout, two_spots


def fresh(page: str) -> dict:
    """The hidden fields every edit form of the site page carries."""
    return {k: re.search(rf'name="{k}" value="([^"]*)"', page).group(1) for k in ("v", "e", "site", "t")}


def test_a_stale_tab_merge_gets_a_page_in_the_leads_words(app, lead):
    st, a, b = two_spots(app, lead)
    stale = fresh(lead.get("/sites/1").text)
    post = lambda url, **d: lead.post(url, data={"csrf": lead.csrf, **d})  # noqa: E731
    # the other tab merges a into b (with its fresh page); then the stale tab does the same
    assert post(f"/spots/{a['id']}/merge", other=str(b["id"]), **fresh(lead.get("/sites/1").text)).status_code == 302
    before = layout(st)
    r = post(f"/spots/{a['id']}/merge", other=str(b["id"]), **stale)
    assert r.status_code == 409
    assert "이 화면은 오래되었습니다 — 새로 고침" in r.text and "찾을 수 없습니다" not in r.text
    assert "지점 1은(는) 이제 없습니다" in r.text and "지점 합침" in r.text  # what happened, and who did it
    assert 'href="/sites/1"' in r.text and "data-reload" in r.text
    assert layout(st) == before
    st.close()


def test_a_stale_move_does_not_win_over_a_newer_one(app, lead):
    st, a, b = two_spots(app, lead)
    stale = fresh(lead.get("/sites/1").text)
    a0 = a["photos"][0]["sha256"]
    post = lambda url, **d: lead.post(url, data={"csrf": lead.csrf, **d})  # noqa: E731
    post("/sites/1/selection", photo=[a0], action=f"to-{b['id']}", **stale)  # the other tab: into b
    assert a0 in layout(st)[b["id"]]
    r = post("/sites/1/selection", photo=[a0], action="to-none", **stale)  # the stale tab: to the tray
    assert r.status_code == 409 and "사진 1장 옮김" in r.text
    assert a0 in layout(st)[b["id"]]
    # the page as it is now: the same action goes through
    r = post("/sites/1/selection", photo=[a0], action="to-none", **fresh(lead.get("/sites/1").text))
    assert r.status_code == 302 and a0 in {p["sha256"] for p in views.site_view(st, 1)["unassigned"]}
    # a stale undo button names an edit that is no longer the newest: refused too
    page = lead.get("/sites/1").text
    named = re.search(r'name="edit" value="(\d+)"', page).group(1)
    post("/sites/1/undo", edit=named, **fresh(page))
    r = post("/sites/1/undo", edit=named, **fresh(page))
    assert r.status_code == 409
    assert a0 in layout(st)[b["id"]]  # one undo, not two
    st.close()


def test_the_page_script_gets_where_to_go_and_a_form_without_the_fields_still_works(app, lead):
    st, a, b = two_spots(app, lead)
    a0 = a["photos"][0]["sha256"]
    r = lead.post("/sites/1/selection", data={"csrf": lead.csrf, "photo": [a0], "action": f"to-{b['id']}",
                                              **fresh(lead.get("/sites/1").text)}, headers={"X-Edge-Fetch": "1"})
    assert r.status_code == 200 and r.json["next"].startswith("/sites/1")
    page = lead.get(r.json["next"]).text
    assert 'id="done-line"' in page  # the answer waits for the page the script then loads
    # a plain POST without the page's fields (a script, an old page) is not checked
    r = lead.post("/sites/1/selection", data={"csrf": lead.csrf, "photo": [a0], "action": "to-none"})
    assert r.status_code == 302
    st.close()


def test_what_the_engine_alone_changed_does_not_make_the_page_stale(app, lead):
    """A review flag, or the engine placing a photo (a regroup after an edit, new photos):
    the lead's action still goes through (a person's edit wins over the engine's, and the
    page's poller offers the refresh); an undo in another tab does make the page stale."""
    from edge_app.store import spots as store_spots

    st, a, b = two_spots(app, lead)
    stale = fresh(lead.get("/sites/1").text)
    a0, a1, b0 = a["photos"][0]["sha256"], a["photos"][1]["sha256"], b["photos"][0]["sha256"]
    with st.write():
        store_spots.set_review_flags(st, 1, {a["id"]: "machine"})
        store_spots.place(st, b0, None, "engine")  # the engine took one of b's photos out
    assert views.site_version(st, 1) // 4096 != int(stale["v"]) // 4096
    r = lead.post("/sites/1/selection", data={"csrf": lead.csrf, "photo": [a0], "action": f"to-{b['id']}", **stale})
    assert r.status_code == 302 and a0 in layout(st)[b["id"]]
    # another tab undoes that move: the first tab's page (drawn before) is stale now
    page = fresh(lead.get("/sites/1").text)
    lead.post("/sites/1/undo", data={"csrf": lead.csrf})
    r = lead.post("/sites/1/selection", data={"csrf": lead.csrf, "photo": [a1], "action": f"to-{b['id']}", **page})
    assert r.status_code == 409 and "되돌렸습니다: 사진 1장 옮김" in r.text
    assert a1 in layout(st)[a["id"]]
    st.close()
