"""다시 실행 (issue 17): after 되돌리기 the done-line offers the undone edit again; redoing
it is a new audited edit (되돌리기 takes it back in turn), and a new edit of the lead's
own ends the chain, as in any editor."""

import re

from edge_app.store import edits
from test_review_stale import fresh
from test_review_trust import layout, two_spots


def done_line(page: str) -> str:
    return page.split('id="done-line"')[1].split("</p>")[0]


def test_redo_puts_back_what_undo_took_back(app, lead):
    st, a, b = two_spots(app, lead)
    a0, a1 = a["photos"][0]["sha256"], a["photos"][1]["sha256"]
    post = lambda url, **d: lead.post(url, data={"csrf": lead.csrf, **d})  # noqa: E731
    start = layout(st)
    post("/sites/1/selection", photo=[a0], action=f"to-{b['id']}")
    post("/sites/1/selection", photo=[a1], action="new")  # split off into a new spot
    after = layout(st)
    assert 'id="redo"' not in lead.get("/sites/1").text  # nothing undone: no redo offered
    # two undos, then the done-line says what was undone, with 다시 실행 next to it
    post("/sites/1/undo")
    r = post("/sites/1/undo", **fresh(lead.get("/sites/1").text))
    page = lead.get(r.headers["Location"]).text
    line = done_line(page)
    assert "되돌렸습니다: 사진 1장 옮김" in line and 'form="redo-form"' in line and 'id="redo-form"' in page
    assert layout(st) == start
    # redo twice: the move, then the split, each a new audited edit
    r = post("/sites/1/redo", **fresh(page), redo=re.search(r'name="redo" value="(\d+)"', page).group(1))
    page = lead.get(r.headers["Location"]).text
    assert "다시 실행했습니다: 사진 1장 옮김" in done_line(page) and 'id="done-undo"' in done_line(page)
    assert a0 in layout(st)[b["id"]]
    post("/sites/1/redo")
    assert layout(st) == after
    rows = st.query("SELECT action, summary FROM edits ORDER BY id")
    assert [r["action"] for r in rows][-2:] == ["move", "split"] and '"redo_of"' in rows[-1]["summary"]
    assert edits.last_redoable(st, 1) is None
    assert "다시 실행할 것이 없습니다" in lead.get(post("/sites/1/redo").headers["Location"]).text
    # the redo is undone like any edit (the split's new spot goes again)
    post("/sites/1/undo")
    assert a1 in layout(st)[a["id"]]
    st.close()


def test_a_new_edit_ends_the_redo_chain_and_a_stale_redo_is_refused(app, lead):
    st, a, b = two_spots(app, lead)
    a0, b0 = a["photos"][0]["sha256"], b["photos"][0]["sha256"]
    post = lambda url, **d: lead.post(url, data={"csrf": lead.csrf, **d})  # noqa: E731
    post("/sites/1/selection", photo=[a0], action=f"to-{b['id']}")
    post("/sites/1/undo")
    page = lead.get("/sites/1").text
    named = re.search(r'name="redo" value="(\d+)"', page).group(1)
    post("/sites/1/selection", photo=[b0], action="to-none")  # a new edit of the lead's own
    assert edits.last_redoable(st, 1) is None and 'id="redo"' not in lead.get("/sites/1").text
    r = post("/sites/1/redo", redo=named)
    assert r.status_code == 409 and "이 화면은 오래되었습니다" in r.text
    assert a0 in layout(st)[a["id"]]
    st.close()
