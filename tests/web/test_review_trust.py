"""A page a tired crew lead can trust (issue 17): a confirmed spot is a record (an edit that
touches it happens only after the lead agreed to reopen it), confirm and reopen are separate
requests that are safe to repeat, and nothing of a selection survives a reload."""

from datetime import datetime

from edge_app.store import open_store, views
from edge_app.worker import Worker
from photo_files import spot_photos
from test_routes import upload

DAY = datetime(2026, 5, 4, 9, 0, 0)


def two_spots(app, lead):
    upload(lead, spot_photos(11, 3, DAY) + spot_photos(22, 3, DAY))
    Worker(app.config["DATA_DIR"]).run_until_idle()
    st = open_store(app.config["DATA_DIR"])
    a, b = views.site_view(st, 1)["spots"]
    return st, a, b


def layout(st) -> dict[int, frozenset]:
    return {sp["id"]: frozenset(p["sha256"] for p in sp["photos"]) for sp in views.site_view(st, 1)["spots"]}


def confirmed(st, spot_id) -> bool:
    return st.scalar("SELECT confirmed_at FROM spots WHERE id = ?", (spot_id,)) is not None


def test_a_double_tap_on_confirm_confirms_once_and_never_takes_it_back(app, lead):
    st, a, _ = two_spots(app, lead)
    post = lambda url, **d: lead.post(url, data={"csrf": lead.csrf, **d})  # noqa: E731
    for _ in range(3):  # a double tap, then a resent form
        assert post(f"/spots/{a['id']}/confirm").status_code == 302
    assert confirmed(st, a["id"])
    assert st.scalar("SELECT count(*) FROM edits WHERE action = 'confirm'") == 1
    # the old form's "undo" field no longer turns a confirm into its opposite
    post(f"/spots/{a['id']}/confirm", undo="1")
    assert confirmed(st, a["id"])
    page = lead.get("/sites/1").text
    section = page.split(f'id="spot-{a["id"]}"')[1].split("</section>")[0]
    assert 'data-action="confirmed"' in section and "disabled" in section
    assert section.index('data-action="confirmed"') < section.index('data-action="reopen"')  # not in its place
    # reopening is its own request, also safe to repeat
    for _ in range(2):
        post(f"/spots/{a['id']}/reopen")
    assert not confirmed(st, a["id"])
    assert st.scalar("SELECT count(*) FROM edits WHERE action = 'unconfirm'") == 1
    st.close()


def test_an_edit_that_touches_a_confirmed_spot_needs_the_lead_to_reopen_it(app, lead):
    st, a, b = two_spots(app, lead)
    post = lambda url, **d: lead.post(url, data={"csrf": lead.csrf, **d})  # noqa: E731
    post(f"/spots/{a['id']}/confirm")
    before = layout(st)
    a0, b0 = a["photos"][0]["sha256"], b["photos"][0]["sha256"]
    edits_before = st.scalar("SELECT count(*) FROM edits")
    # out of it, into it, its phase, its name, its cover, a merge with it, a removal
    attempts = [("/sites/1/selection", {"photo": [a0], "action": "move", "target": str(b["id"])}),
                ("/sites/1/selection", {"photo": [b0], "action": "move", "target": str(a["id"])}),
                ("/sites/1/selection", {"photo": [a0], "action": "phase-after"}),
                ("/sites/1/selection", {"photo": [a0], "action": "remove"}),
                (f"/photos/{a0}/phase", {}),
                (f"/spots/{a['id']}/rename", {"name": "정문"}),
                (f"/spots/{a['id']}/cover", {"photo": a["photos"][1]["sha256"]}),
                (f"/spots/{b['id']}/merge", {"other": str(a["id"])})]
    for url, data in attempts:
        r = post(url, **data)
        assert r.status_code == 302, url
        page = lead.get(r.headers["Location"]).text
        assert "다시 열기" in page and "바뀌지 않았습니다" in page, url  # said in the lead's words
    assert layout(st) == before and confirmed(st, a["id"])
    assert st.scalar("SELECT count(*) FROM edits") == edits_before
    assert st.scalar("SELECT phase_by FROM photos WHERE sha256 = ?", (a0,)) != "person"
    # the lead agreed: reopened (its own audited edit), then moved; one undo puts the photo back
    post("/sites/1/selection", photo=[a0], action="move", target=str(b["id"]), reopen="1")
    assert not confirmed(st, a["id"]) and a0 in layout(st)[b["id"]]
    last_two = [r["action"] for r in st.query("SELECT action FROM edits ORDER BY id DESC LIMIT 2")]
    assert last_two == ["move", "unconfirm"]
    post("/sites/1/undo")
    post("/sites/1/undo")
    assert layout(st) == before and confirmed(st, a["id"])
    st.close()


def test_the_selection_does_not_come_back_with_a_reload(app, lead):
    """The browser restores form fields by position on Back and reload; the page's ticks and
    move target opt out of that (and its script clears them on every page show)."""
    st, _, _ = two_spots(app, lead)
    page = lead.get("/sites/1").text
    boxes = [tag for tag in page.split("<input") if 'form="sel"' in tag and 'type="checkbox"' in tag]
    assert boxes and all('autocomplete="off"' in tag for tag in boxes)
    assert 'id="move-target" aria-label' in page and 'autocomplete="off">' in page.split('id="move-target"')[1][:120]
    st.close()


def test_the_head_office_line_counts_spots_not_versions(app, lead):
    """A confirmed spot edited twice has three versions waiting; the line says one spot."""
    from edge_app.store import spots as store_spots

    st, a, _ = two_spots(app, lead)
    store_spots.confirm(st, a["id"], who="김반장")
    store_spots.rename(st, a["id"], "정문", who="김반장")
    store_spots.rename(st, a["id"], "정문 좌측", who="김반장")
    assert st.scalar("SELECT count(*) FROM outbox WHERE spot_id = ?", (a["id"],)) == 3
    page = lead.get("/sites/1").text
    assert "설정하면 확인된 지점 1곳을 보냅니다" in page
    st.close()


def test_one_tap_on_a_spot_moves_the_selection_there_and_each_photo_can_get_its_own_spot(app, lead):
    st, a, b = two_spots(app, lead)
    post = lambda url, **d: lead.post(url, data={"csrf": lead.csrf, **d})  # noqa: E731
    a0, a1, a2 = (p["sha256"] for p in a["photos"])
    page = lead.get("/sites/1").text
    assert f'value="to-{b["id"]}"' in page and 'value="to-none"' in page and 'id="each-btn"' in page
    # the selection, then one tap on spot b's "여기로"
    post("/sites/1/selection", photo=[a0], action=f"to-{b['id']}")
    assert a0 in layout(st)[b["id"]]
    post("/sites/1/selection", photo=[a1], action="to-none")
    assert a1 in {p["sha256"] for p in views.site_view(st, 1)["unassigned"]}
    # "각각 새 지점": three photos, three spots, one edit, one undo
    before = layout(st)
    post("/sites/1/selection", photo=[a0, a1, a2], action="each")
    after = layout(st)
    alone = [ids for ids in after.values() if len(ids) == 1]
    assert {next(iter(ids)) for ids in alone} >= {a0, a1, a2}
    assert st.scalar("SELECT action FROM edits ORDER BY id DESC LIMIT 1") == "each_new"
    post("/sites/1/undo")
    assert layout(st) == before
    st.close()


def test_each_action_says_what_it_did_with_its_undo_next_to_it(app, lead):
    st, a, b = two_spots(app, lead)
    a0 = a["photos"][0]["sha256"]
    r = lead.post("/sites/1/selection", data={"csrf": lead.csrf, "photo": [a0], "action": f"to-{b['id']}"})
    page = lead.get(r.headers["Location"]).text
    line = page.split('id="done-line"')[1].split("</p>")[0]
    assert "사진 1장 옮김" in line and 'form="undo-form"' in line and 'id="undo-form"' in page
    assert 'id="done-line"' not in lead.get("/sites/1").text  # said once, until the next action
    # a refused action says why, and claims nothing done
    lead.post(f"/spots/{a['id']}/confirm", data={"csrf": lead.csrf})
    lead.get("/sites/1")
    r = lead.post(f"/spots/{a['id']}/rename", data={"csrf": lead.csrf, "name": "x"})
    page = lead.get(r.headers["Location"]).text
    assert 'id="done-line"' not in page and "바뀌지 않았습니다" in page
    st.close()


def test_a_spot_a_person_makes_gets_its_phases_from_the_capture_times(app, lead):
    from datetime import timedelta

    upload(lead, spot_photos(11, 2, DAY) + spot_photos(22, 2, DAY + timedelta(hours=2)))
    Worker(app.config["DATA_DIR"]).run_until_idle()
    st = open_store(app.config["DATA_DIR"])
    a, b = views.site_view(st, 1)["spots"]
    assert {p["phase"] for sp in (a, b) for p in sp["photos"]} == {"before"}  # two one-visit spots
    lead.post(f"/spots/{a['id']}/merge", data={"csrf": lead.csrf, "other": str(b["id"])})
    (merged,) = views.site_view(st, 1)["spots"]
    phase = {p["name"]: p["phase"] for p in merged["photos"]}
    assert phase == {"spot11_0.jpg": "before", "spot11_1.jpg": "before", "spot22_0.jpg": "after",
                     "spot22_1.jpg": "after"}
    lead.post("/sites/1/undo", data={"csrf": lead.csrf})  # the undo puts the phases back too
    assert {p["phase"] for sp in views.site_view(st, 1)["spots"] for p in sp["photos"]} == {"before"}
    st.close()


def test_a_confirmed_spot_no_longer_shows_the_engines_doubts(app, lead):
    st, a, _ = two_spots(app, lead)
    with st.write():  # the engine placed two of its photos with a low score
        st.conn.execute("UPDATE memberships SET score = 0.01 WHERE spot_id = ? AND ended_at IS NULL "
                        "AND photo IN (?, ?)", (a["id"], a["photos"][0]["sha256"], a["photos"][1]["sha256"]))
    section = lambda: lead.get("/sites/1").text.split(f'id="spot-{a["id"]}"')[1].split("</section>")[0]  # noqa: E731
    assert "확인 필요 2장" in section() and section().count('class="badge unsure"') == 2
    lead.post(f"/spots/{a['id']}/confirm", data={"csrf": lead.csrf})
    assert "확인 필요" not in section() and 'class="badge unsure"' not in section()
    st.close()
