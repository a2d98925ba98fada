"""The engine's second thoughts about a photo already shown in a spot are a suggestion on
the page, one tap to accept or dismiss (issue 17: never a silent move)."""

from edge_app.store import spots, views
from test_review_trust import layout, two_spots


def _suggest(st, photo, from_spot, to_spot):
    with st.write():
        spots.suggest_moves(st, 1, [(photo, from_spot, to_spot, None, 0.7)])
    return st.scalar("SELECT max(id) FROM suggestions")


def _tile(page: str, sha: str) -> str:
    return page.split(f'data-photo="{sha}"')[1].split('<div class="photo')[0]


def test_a_suggestion_is_shown_on_its_photo_and_one_tap_moves_it(app, lead):
    st, a, b = two_spots(app, lead)
    photo = a["photos"][0]["sha256"]
    sid = _suggest(st, photo, a["id"], b["id"])
    page = lead.get("/sites/1").text
    tile = _tile(page, photo)
    assert f'data-suggestion="{sid}"' in tile and "다시 보니" in tile and "옮기기" in tile and "여기 두기" in tile
    assert layout(st)[a["id"]] >= {photo}  # only suggested: nothing moved yet
    r = lead.post(f"/suggestions/{sid}/accept", data={"csrf": lead.csrf})
    assert r.status_code == 302 and r.headers["Location"].endswith("/sites/1")
    assert photo in layout(st)[b["id"]] and photo not in layout(st)[a["id"]]
    assert spots.current(st, photo)["by"] == "person"
    page = lead.get("/sites/1").text
    assert 'data-suggestion=' not in page
    assert "제안대로 사진 1장 옮김" in page  # the done-line says what happened, with undo beside it
    # a second tap on the gone suggestion changes nothing and says why
    r = lead.post(f"/suggestions/{sid}/accept", data={"csrf": lead.csrf}, follow_redirects=True)
    assert r.status_code == 200 and "이미 처리되었거나" in r.text
    st.close()


def test_dismissing_keeps_the_photo_and_the_engine_does_not_ask_again(app, lead):
    st, a, _ = two_spots(app, lead)
    photo = a["photos"][1]["sha256"]
    sid = _suggest(st, photo, a["id"], None)
    assert "미분류로" in _tile(lead.get("/sites/1").text, photo)
    lead.post(f"/suggestions/{sid}/dismiss", data={"csrf": lead.csrf})
    assert photo in layout(st)[a["id"]]
    _suggest(st, photo, a["id"], None)  # the engine's next answer says the same
    assert views.site_view(st, 1)["suggestions"] == []
    assert "data-suggestion=" not in lead.get("/sites/1").text
    st.close()


def test_a_suggestion_into_a_confirmed_spot_asks_to_reopen_it_first(app, lead):
    st, a, b = two_spots(app, lead)
    lead.post(f"/spots/{b['id']}/confirm", data={"csrf": lead.csrf})
    photo = a["photos"][0]["sha256"]
    sid = _suggest(st, photo, a["id"], b["id"])
    before = layout(st)
    r = lead.post(f"/suggestions/{sid}/accept", data={"csrf": lead.csrf}, follow_redirects=True)
    assert layout(st) == before and "다시 열" in r.text
    lead.post(f"/suggestions/{sid}/accept", data={"csrf": lead.csrf, "reopen": "1"})
    assert photo in layout(st)[b["id"]]
    st.close()
