"""Head office's pages (their own login, Korean and English) and TLS."""

import io
import json
import re
import shutil
import subprocess
import zipfile

import pytest

from edge_app.hq import create_hq_app
from edge_app.sync import SyncConfig, run_once
from hq_process import HQ, device_with_spots


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


@pytest.fixture(scope="module")
def received(tmp_path_factory):
    """Head office after two devices synced (one of them twice, after an edit)."""
    tmp = tmp_path_factory.mktemp("hqpages")
    hq = HQ(tmp / "hq").start()
    try:
        for k in range(2):
            secret = hq.add_device(f"jetson-{k}")
            st, site, ids = device_with_spots(tmp / f"dev{k}", 2, 3, seed0=11 + 30 * k)
            run_once(st, SyncConfig(hq.url, f"jetson-{k}", secret))
            if k == 0:
                from edge_app.store import spots

                spots.rename(st, ids[0], "컨테이너 좌측", who="kim")
                run_once(st, SyncConfig(hq.url, f"jetson-{k}", secret))
    finally:
        hq.stop()
    return hq


def test_the_pages_need_their_own_password_and_list_devices_spots_versions(received):
    app = create_hq_app({"HQ_DATA": str(received.data), "TESTING": True})
    c = app.test_client()
    assert c.get("/").headers["Location"].endswith("/setup")
    page = c.get("/setup").text
    short = c.post("/setup", data={"csrf": csrf_of(page), "password": "short", "password2": "short"})
    assert short.status_code == 400 and "비밀번호는 8자 이상이어야 합니다" in short.text  # the page's language
    c.set_cookie("lang", "en")
    short = c.post("/setup", data={"csrf": csrf_of(page), "password": "short", "password2": "short"})
    assert short.status_code == 400 and "The password needs at least 8 characters" in short.text
    c.delete_cookie("lang")
    r = c.post("/setup", data={"csrf": csrf_of(page), "password": "본사-비밀번호-1", "password2": "본사-비밀번호-1"})
    assert r.status_code == 302
    home = c.get("/").text
    assert 'data-device="jetson-0"' in home and 'data-device="jetson-1"' in home and "마지막 연결" in home
    assert home.count("data-hq-spot=") == 4 and "컨테이너 좌측" in home and "v2 / 2" in home
    only = c.get("/?device=jetson-1").text
    assert only.count("data-hq-spot=") == 2 and 'data-hq-spot="jetson-0:' not in only
    assert c.get("/?from=2030-01-01").text.count("data-hq-spot=") == 0
    assert c.get("/?site=jetson-0:1").text.count("data-hq-spot=") == 2
    spot = c.get("/spots/jetson-0/1").text
    assert "v1" in spot and "v2" in spot and spot.count("data-photo=") == 3
    sha = spot.split('data-photo="')[1].split('"')[0]
    assert c.get(f"/blobs/{sha}/thumb").data[:2] == b"\xff\xd8"
    z = c.get("/spots/jetson-0/1/v2.zip")
    assert z.status_code == 200 and z.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(z.data)) as zf:
        names = zf.namelist()
        assert len(names) == 3 and all(n.endswith(".jpg") for n in names)
        import hashlib

        assert hashlib.sha256(zf.read(names[0])).hexdigest() in spot
    # the photo ledger of a site, built from what head office received
    assert 'data-ledger="pdf"' in c.get("/?site=jetson-0:1").text
    pdf = c.get("/sites/jetson-0/1/ledger?format=pdf")
    assert pdf.status_code == 200 and pdf.data[:5] == b"%PDF-" and pdf.mimetype == "application/pdf"
    xlsx = c.get("/sites/jetson-0/1/ledger?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert c.get("/sites/jetson-0/99/ledger?format=pdf").status_code == 404
    # the company's own Excel layout, uploaded once at head office, fills its XLSX exports
    import sys
    from pathlib import Path

    from openpyxl import load_workbook

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ledger"))
    import ledger_data

    home = c.get("/?site=jetson-0:1").text
    assert 'data-ledger-template="none"' in home
    ledger_data.company_template(received.data / "company.xlsx")
    r = c.post("/ledger-template", content_type="multipart/form-data", follow_redirects=True,
               data={"csrf": csrf_of(home), "site": "jetson-0:1",
                     "template": (io.BytesIO((received.data / "company.xlsx").read_bytes()), "본사양식.xlsx")})
    assert 'data-ledger-template="set"' in r.text and "본사양식.xlsx" in r.text
    ws = load_workbook(io.BytesIO(c.get("/sites/jetson-0/1/ledger?format=xlsx").data))["현장 사진"]
    assert ws["A1"].value == "㈜한빛조경 품질관리팀 · 준공사진첩" and ws["B2"].value and len(ws._images) > 0
    r = c.post("/ledger-template", data={"csrf": csrf_of(r.text), "remove": "1"}, follow_redirects=True)
    assert 'data-ledger-template="none"' in r.text
    en = c.get("/", headers={"Accept-Language": "en"}).text
    assert "Received spots" in en and "last contact" in en
    other = app.test_client()
    tok = csrf_of(other.get("/login").text)
    assert other.post("/login", data={"csrf": tok, "password": "wrong-password"}).status_code == 401
    assert other.get("/spots/jetson-0/1").status_code == 302  # not without the password
    assert other.get(f"/blobs/{sha}/thumb").status_code == 302


def test_hq_status_lists_every_received_spot_with_its_photos(received):
    p = received.cli("status", "--json")
    s = json.loads(p.stdout)
    assert sorted((x["device"], x["spot_id"], x["version"]) for x in s["spots"]) == [
        ("jetson-0", 1, 1), ("jetson-0", 1, 2), ("jetson-0", 2, 1), ("jetson-1", 1, 1), ("jetson-1", 2, 1)]
    assert all(len(x["photos"]) == 3 and len(x["photos"][0]["sha256"]) == 64 for x in s["spots"])


@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl is needed to make a test certificate")
def test_tls_when_head_office_is_given_a_certificate(tmp_path, monkeypatch):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    hq = HQ(tmp_path / "hq", extra=["--cert", str(cert), "--key", str(key)]).start()
    try:
        secret = hq.add_device("jetson-1")
        st, _, ids = device_with_spots(tmp_path / "dev", 1, 2)
        https = hq.url.replace("http://", "https://")
        r = run_once(st, SyncConfig(https, "jetson-1", secret))  # the system CAs do not know this certificate
        assert r["offline"] and r["spots_sent"] == 0
        row = st.one("SELECT last_error FROM outbox")
        assert "CERTIFICATE_VERIFY_FAILED" in row["last_error"] or "certificate" in row["last_error"].lower()
        monkeypatch.setenv("EDGE_APP_HQ_CA", str(cert))  # the device trusts head office's certificate
        from edge_app.store import outbox

        outbox.retry_all(st)
        assert run_once(st, SyncConfig(https, "jetson-1", secret))["spots_sent"] == 1
    finally:
        hq.stop()
