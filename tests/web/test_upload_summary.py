"""The upload summary stays (issue 17): "추가 a, 중복 d, 거부 r" with the refused files'
names and reasons stays on the home page (across reloads, other pages, a restart: it is
stored per batch, not a one-time message) until the lead closes it."""

from datetime import datetime

from photo_files import spot_photos
from test_routes import upload

DAY = datetime(2026, 5, 4, 9, 0, 0)


def summary(page: str) -> str:
    return page.split("data-upload-summary=")[1].split("</section>")[0] if "data-upload-summary=" in page else ""


def test_the_upload_summary_stays_until_the_lead_closes_it(app, lead):
    photos = spot_photos(11, 3, DAY)
    b, _ = upload(lead, photos + [photos[0], ("broken.jpg", b"\xff\xd8\xff\xe0junk")])
    for _ in range(2):  # a reload, another page and back: still there
        line = summary(lead.get("/").text)
        assert "올리기 완료: 추가 3, 중복 1, 거부 1" in line
        assert "broken.jpg" in line and "—" in line  # the name and its reason
        lead.get("/sites/1")
    lead.set_cookie("lang", "en")  # in English too
    assert "Upload done: 3 added, 1 already here, 1 refused" in summary(lead.get("/").text)
    lead.set_cookie("lang", "ko")
    # closed: gone for good, also for the polled part of the page
    r = lead.post(f"/batches/{b}/dismiss", data={"csrf": lead.csrf})
    assert r.status_code == 302
    assert summary(lead.get("/").text) == "" and summary(lead.get("/live").text) == ""
    # the next upload has its own summary
    b2, _ = upload(lead, spot_photos(22, 2, DAY))
    line = summary(lead.get("/").text)
    assert f'"{b2}"' in line.split(">")[0] and "추가 2, 중복 0, 거부 0" in line
    assert lead.post(f"/batches/{b2}/dismiss", data={"csrf": lead.csrf}).status_code == 302
    assert summary(lead.get("/").text) == ""
