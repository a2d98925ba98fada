"""A tap on a photo's phase chip answers in place (issue 17): the page's script gets the
photo's card, the head's buttons and the done-line to swap in, not a reload; the chip names
the phase it sets, so a form sent twice sets it once; a confirmed spot still asks first."""

import re

from edge_app.store import edits
from test_review_trust import confirmed, two_spots

SCRIPT = {"X-Edge-Fetch": "1", "X-Edge-Swap": "1"}


def page_fields(html: str) -> dict:
    """The hidden fields every edit form of the page carries (version, newest edit, time)."""
    return {k: re.search(rf'name="{k}" value="([^"]*)"', html).group(1) for k in ("v", "e", "t", "site")}


def chip(html: str, sha: str) -> str:
    """The phase the photo's chip would set."""
    tile = html.split(f'data-photo="{sha}"')[1]
    return re.search(r'name="phase" value="(\w+)"', tile).group(1)


def phase_of(st, sha: str) -> tuple:
    return tuple(st.one("SELECT phase, phase_by FROM photos WHERE sha256 = ?", (sha,)))


def test_a_phase_tap_answers_with_the_card_and_a_resent_tap_changes_nothing_more(app, lead):
    st, a, _ = two_spots(app, lead)
    sha = a["photos"][0]["sha256"]
    page = lead.get("/sites/1").text
    assert phase_of(st, sha)[0] == "before" and chip(page, sha) == "during"
    form = {"csrf": lead.csrf, **page_fields(page), "phase": chip(page, sha)}
    answers = [lead.post(f"/photos/{sha}/phase", data=form, headers=SCRIPT) for _ in range(2)]  # a double tap
    assert [(r.status_code, r.headers["X-Edge-Swap"]) for r in answers] == [(200, "1")] * 2
    assert phase_of(st, sha) == ("during", "person")
    assert st.scalar("SELECT count(*) FROM edits WHERE action = 'phase'") == 1
    # the answer: the spot's card with the new chip, 되돌리기 naming the change, the done-line
    html = answers[0].text
    assert f'id="spot-{a["id"]}"' in html and chip(html, sha) == "after"
    assert 'id="head-actions"' in html and "사진 1장 전/중/후 → 중" in html.split('id="done-line"')[1]
    assert 'id="done-line"' not in answers[1].text  # the second tap did nothing
    # the next tap, sent with the fields the answer gave the page's forms
    moved_on = form | {"phase": "after", "e": re.search(r'data-e="(\d+)"', html).group(1),
                       "t": re.search(r'data-t="([^"]+)"', html).group(1)}
    assert moved_on["e"] == str(edits.last_id(st))  # nothing but the page's own tap changed the site
    nxt = lead.post(f"/photos/{sha}/phase", data=moved_on, headers=SCRIPT).text
    assert "사진 1장 전/중/후 → 후" in nxt.split('id="done-line"')[1].split("</p>")[0]
    assert re.search(r'data-e="(\d+)"', nxt).group(1) == str(edits.last_id(st))
    st.close()


def test_a_phase_tap_on_a_confirmed_spot_is_refused_in_place_unless_the_lead_reopens_it(app, lead):
    st, a, _ = two_spots(app, lead)
    sha = a["photos"][0]["sha256"]
    lead.post(f"/spots/{a['id']}/confirm", data={"csrf": lead.csrf})
    page = lead.get("/sites/1").text
    form = {"csrf": lead.csrf, **page_fields(page), "phase": "after"}
    r = lead.post(f"/photos/{sha}/phase", data=form, headers=SCRIPT)
    assert r.status_code == 422 and "확인된 지점" in r.text and "data-refused" in r.text
    assert phase_of(st, sha)[0] == "before" and confirmed(st, a["id"])
    r = lead.post(f"/photos/{sha}/phase", data=form | {"reopen": "1"}, headers=SCRIPT)
    assert r.status_code == 200 and phase_of(st, sha)[0] == "after" and not confirmed(st, a["id"])
    card = r.text.split(f'id="spot-{a["id"]}"')[1].split("</section>")[0]
    assert 'data-confirmed' not in card or 'data-action="confirm"' in card  # the card shows it open again
    st.close()


def test_without_the_script_a_phase_tap_still_reloads_the_site_page(app, lead):
    st, a, _ = two_spots(app, lead)
    sha = a["photos"][0]["sha256"]
    r = lead.post(f"/photos/{sha}/phase", data={"csrf": lead.csrf})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/sites/1#spot-{a['id']}")
    assert phase_of(st, sha) == ("during", "person")
    st.close()
