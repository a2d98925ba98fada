"""The site app's routes with Flask's test client on a real store (the worker runs in-process)."""

import io
from datetime import datetime

from edge_app.store import open_store, views
from edge_app.store import settings as store_settings
from edge_app.worker import Worker
from photo_files import spot_photos
from conftest import PIN, csrf_of

DAY = datetime(2026, 5, 4, 9, 0, 0)


def upload(client, files, via="batches"):
    """Upload like the page's script does (one photo per request) or as the plain form."""
    h = {"X-CSRF-Token": client.csrf}
    if via == "form":
        data = {"csrf": client.csrf, "photos": [(io.BytesIO(d), n) for n, d in files]}
        r = client.post("/upload", data=data, content_type="multipart/form-data")
        assert r.status_code == 302
        return int(r.headers["Location"].split("batch=")[1])
    b = client.post("/batches", headers=h).json["id"]
    results = []
    for n, d in files:
        r = client.post(f"/batches/{b}/photos", headers=h, data={"photos": (io.BytesIO(d), n)},
                        content_type="multipart/form-data")
        assert r.status_code == 200
        results += r.json["results"]
    assert client.post(f"/batches/{b}/finish", headers=h).status_code == 200
    return b, results


def test_first_visit_sets_the_pin_then_every_page_needs_it(client, app):
    r = client.get("/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/setup")
    page = client.get("/setup").text
    assert 'name="pin"' in page and "PIN" in page
    r = client.post("/setup", data={"pin": "12", "pin2": "12", "csrf": csrf_of(page)})
    assert r.status_code == 400  # too short
    r = client.post("/setup", data={"pin": PIN, "pin2": PIN, "csrf": csrf_of(page)})
    assert r.status_code == 302
    with open_store(app.config["DATA_DIR"]) as st:
        stored = store_settings.get(st, "auth.pin")
    assert stored.startswith("scrypt$") and PIN not in stored  # a salted slow hash, not the PIN
    assert client.get("/").status_code == 200
    assert client.get("/setup").status_code == 302  # only while no PIN is set
    other = app.test_client()
    r = other.get("/sites/1")
    assert r.status_code == 302 and "/login?next=/sites/1" in r.headers["Location"]


def test_login_is_rate_limited_and_the_cookie_is_httponly_samesite(app, lead):
    c = app.test_client()
    tok = csrf_of(c.get("/login").text)
    codes = [c.post("/login", data={"pin": "000000", "csrf": tok}).status_code for _ in range(5)]
    assert codes[:4] == [401] * 4 and codes[4] == 429
    r = c.post("/login", data={"pin": PIN, "csrf": tok})  # right PIN, but locked for now
    assert r.status_code == 429 and "초" in r.text
    import time
    time.sleep(1.1)
    r = c.post("/login?next=/sites/3", data={"pin": PIN, "csrf": tok})
    assert r.status_code == 302 and r.headers["Location"] == "/sites/3"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    r = c.post("/login?next=https://evil.example/", data={"pin": PIN, "csrf": tok})
    assert r.headers["Location"] == "/"  # no open redirect


def test_state_changes_need_the_csrf_token(lead):
    r = lead.post("/batches")
    assert r.status_code == 403 and r.json["error"] == "csrf"
    r = lead.post("/sites/1/undo", data={"csrf": "forged"}, headers={"Referer": "/sites/1"})
    assert r.status_code == 302  # back to the page with a message, no change
    assert "새로 불러왔습니다" in lead.get("/").text


def test_a_page_left_open_reauthenticates_gracefully(app, lead):
    with lead.session_transaction() as s:  # the session expired overnight
        s.pop("auth")
    r = lead.post("/sites/1/undo", data={"csrf": lead.csrf}, headers={"Referer": "http://localhost/sites/1"})
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=/sites/1")
    r = lead.get("/progress?site=1", headers={"HX-Request": "true"})
    assert r.status_code == 200 and r.headers["HX-Redirect"].startswith("/login")
    page = lead.get(r.headers["HX-Redirect"]).text
    assert "다시 PIN" in page  # told why, in the page's language


def test_upload_groups_and_the_site_page_has_the_stable_hooks(app, lead):
    files = spot_photos(11, 3, DAY) + spot_photos(22, 3, DAY) + [("broken.jpg", b"\xff\xd8\xff\xe0junk"),
                                                                  ("메모.txt.jpg", "메모".encode())]
    b, results = upload(lead, files)
    outcome = {x["name"]: x for x in results}
    assert outcome["broken.jpg"]["outcome"] == "refused" and outcome["broken.jpg"]["reason"]
    assert outcome["메모.txt.jpg"]["reason_text"] == "사진 파일이 아님" or outcome["메모.txt.jpg"]["reason"]
    page = lead.get(f"/?batch={b}").text
    assert "broken.jpg" in page and "0 / 6" in page  # progress, before the worker ran
    assert '<input type="file" name="photos" multiple' in page
    Worker(app.config["DATA_DIR"]).run_until_idle()
    page = lead.get(f"/live?batch={b}").text
    assert "6 / 6" in page and 'href="/sites/1"' in page
    site = lead.get("/sites/1").text
    assert site.count("data-spot=") == 2 and site.count("data-photo=") == 6
    for n, _ in files[:6]:
        assert f'data-name="{n}"' in site
    # thumbnails and the large view are real JPEGs, cached for good
    sha = site.split('data-photo="')[1].split('"')[0]
    r = lead.get(f"/photos/{sha}/thumb")
    assert r.status_code == 200 and r.data[:2] == b"\xff\xd8" and "immutable" in r.headers["Cache-Control"]
    assert lead.get(f"/photos/{sha}/large").data[:2] == b"\xff\xd8"
    assert lead.get(f"/photos/{sha}").status_code == 200
    assert lead.get("/photos/../../etc/passwd/thumb").status_code == 404
    assert lead.get("/photos/" + "0" * 64 + "/thumb").status_code == 404


def test_the_plain_form_upload_works_without_javascript(app, lead):
    b = upload(lead, spot_photos(11, 2, DAY), via="form")
    assert "0 / 2" in lead.get(f"/?batch={b}").text


def test_actions_from_the_site_page(app, lead):
    upload(lead, spot_photos(11, 3, DAY) + spot_photos(22, 3, DAY))
    Worker(app.config["DATA_DIR"]).run_until_idle()
    st = open_store(app.config["DATA_DIR"])
    v = views.site_view(st, 1)
    (a, b) = v["spots"]
    a0, b0 = a["photos"][0]["sha256"], b["photos"][0]["sha256"]
    post = lambda url, **d: lead.post(url, data={"csrf": lead.csrf, **d})  # noqa: E731
    assert post("/sites/1/selection", photo=[a0], action="move", target=str(b["id"])).status_code == 302
    in_b = {p["sha256"] for sp in views.site_view(st, 1)["spots"] if sp["id"] == b["id"] for p in sp["photos"]}
    assert a0 in in_b
    post(f"/spots/{b['id']}/rename", name="컨테이너 좌측")
    assert st.scalar("SELECT phase FROM photos WHERE sha256 = ?", (b0,)) == "before"  # one visit: before
    post(f"/photos/{b0}/phase")  # one tap: before -> during
    assert st.one("SELECT phase, phase_by FROM photos WHERE sha256 = ?", (b0,))[:] == ("during", "person")
    post(f"/spots/{a['id']}/merge", other=str(b["id"]))
    post("/sites/1/selection", photo=[b0], action="new")  # split off
    post(f"/spots/{b['id']}/confirm")
    page = lead.get("/sites/1").text
    assert "컨테이너 좌측" in page and 'data-confirmed="true"' in page
    assert "되돌리기" in page and "지점 확인" in page  # undo offers the last edit
    for _ in range(6):  # confirm, split, merge, phase, rename, move
        post("/sites/1/undo")
    v2 = views.site_view(st, 1)
    assert {frozenset(p["sha256"] for p in sp["photos"]) for sp in v2["spots"]} == \
        {frozenset(p["sha256"] for p in sp["photos"]) for sp in v["spots"]}
    assert st.scalar("SELECT name FROM spots WHERE id = ?", (b["id"],)) is None
    post("/sites/1/selection", photo=[a0], action="remove")
    assert f'data-photo="{a0}"' not in lead.get("/sites/1").text
    assert st.scalar("SELECT removed_at FROM photos WHERE sha256 = ?", (a0,)) is not None
    post("/sites/1/restore", photo=[a0])
    assert st.scalar("SELECT removed_at FROM photos WHERE sha256 = ?", (a0,)) is None
    post("/sites/1/confirm-all")
    assert all(sp["confirmed"] for sp in views.site_view(st, 1)["spots"])
    r = lead.get(f"/spots/{a['id']}/compare?mode=slider")
    assert r.status_code == 200 and "data-slider" in r.text
    st.close()


def test_a_spot_flagged_for_review_shows_a_chip(app, lead):
    """The thorough pass's review flag (spots.review, set by the worker on engine spots) is a
    chip on the site page, in Korean by default; a spot a person touched shows none."""
    upload(lead, spot_photos(11, 3, DAY) + spot_photos(22, 3, DAY))
    Worker(app.config["DATA_DIR"]).run_until_idle()
    st = open_store(app.config["DATA_DIR"])
    a, b = (sp["id"] for sp in views.site_view(st, 1)["spots"])
    with st.write():
        st.conn.execute("UPDATE spots SET review = 'machine' WHERE id = ?", (a,))
        st.conn.execute("UPDATE spots SET review = 'shared' WHERE id = ?", (b,))
    page = lead.get("/sites/1").text
    assert 'data-review="machine"' in page and "장비 때문에 묶였는지 확인" in page
    assert 'data-review="shared"' in page
    lead.post(f"/spots/{b}/rename", data={"csrf": lead.csrf, "name": "B"})
    page = lead.get("/sites/1").text
    assert 'data-review="machine"' in page and 'data-review="shared"' not in page
    st.close()


def test_the_home_page_says_while_the_background_check_is_going_on(tmp_path):
    """After a batch's grouping is shown, the worker's thorough pass takes a closer look in
    the background; the home page says so (and keeps polling) until it is done."""
    from edge_app.web import create_app

    w = Worker(tmp_path / "data")
    app = create_app({"DATA_DIR": str(tmp_path / "data"), "TESTING": True}, worker=w)
    c = app.test_client()
    tok = csrf_of(c.get("/setup").text)
    c.post("/setup", data={"pin": PIN, "pin2": PIN, "csrf": tok, "name": "김반장"})
    c.csrf = csrf_of(c.get("/").text)
    b, _ = upload(c, spot_photos(11, 3, DAY) + spot_photos(22, 3, DAY))
    while not w.step(finish_idle_batches_after=0.0).regrouped_sites:
        pass
    assert w.checking() == [1]
    page = c.get(f"/live?batch={b}").text
    assert 'data-checking="1"' in page and "놓친 사진이 없는지 한 번 더 보는 중" in page and 'hx-trigger="every 2s"' in page
    site_page = c.get("/sites/1").text  # the site page says it too, and polls
    assert 'data-checking="1"' in site_page
    v = int(site_page.split("/progress?site=1&amp;v=")[1].split("&")[0])
    w.run_until_idle()
    page = c.get(f"/live?batch={b}&c=1").text  # as the page polls it after a check
    assert w.checking() == [] and "data-checking" not in page and "hx-trigger" not in page
    assert "한 번 더 비교를 마쳤습니다" in page  # in the line's place: nothing below jumps
    # the open site page: "done" takes the line's place; a new review flag is a change to show
    done = c.get(f"/progress?site=1&v={v}&c=1").text
    assert "data-checking" not in done and 'data-checked="1"' in done and "한 번 더 비교를 마쳤습니다" in done
    st = open_store(tmp_path / "data")
    with st.write():
        st.conn.execute("UPDATE spots SET review = 'shared' WHERE id = (SELECT min(id) FROM spots)")
    st.close()
    offer = c.get(f"/progress?site=1&v={v}&c=1").text
    assert "사진 정리가 새로 바뀌었습니다" in offer and f"v={v}" in offer  # stays offered until the page reloads


def test_english_and_korean_follow_the_browser_and_the_switch(app, lead):
    assert "사진 추가" in lead.get("/").text  # Korean by default
    assert "Add photos" in lead.get("/", headers={"Accept-Language": "en-US,en;q=0.9"}).text
    r = lead.get("/lang/en?next=/")
    assert r.status_code == 302 and "lang=en" in r.headers["Set-Cookie"]
    assert "Add photos" in lead.get("/").text
    assert lead.get("/lang/fr").status_code == 404


def test_pages_fetch_nothing_from_outside(lead):
    page = lead.get("/").text
    assert "http://" not in page and "https://" not in page
    r = lead.get("/")
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    css = lead.get("/static/fonts/fonts.css").text
    assert "woff2" in css and "http" not in css


def test_upload_size_is_limited(app, lead):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    b = lead.post("/batches", headers={"X-CSRF-Token": lead.csrf}).json["id"]
    r = lead.post(f"/batches/{b}/photos", headers={"X-CSRF-Token": lead.csrf},
                  data={"photos": (io.BytesIO(b"\xff" * 5000), "big.jpg")}, content_type="multipart/form-data")
    assert r.status_code == 413


def test_without_head_office_nothing_claims_to_wait_for_an_upload(app, lead):
    """A site-only tablet (no head office set up): a confirmed spot gets no "waiting to send"
    badge, and the status line says it will be sent once set up, not that it waits offline."""
    from edge_app.store import spots as store_spots

    upload(lead, spot_photos(11, 3, DAY))
    Worker(app.config["DATA_DIR"]).run_until_idle()
    st = open_store(app.config["DATA_DIR"])
    (sp,) = views.site_view(st, 1)["spots"]
    store_spots.confirm(st, sp["id"], who="김반장")
    st.close()
    page = lead.get("/sites/1").text
    assert "data-sync-badge" not in page and 'data-sync="off"' in page
    assert "본사 연결 설정 없음" in page and "설정하면 확인된 지점 1곳을 보냅니다" in page and "오프라인" not in page
