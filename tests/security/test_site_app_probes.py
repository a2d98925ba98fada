"""Probes of the site app from outside (issue 19), against a real `edge-app serve` on
127.0.0.1: a foreign Host (DNS rebinding), sessions that outlive a logout or a new PIN,
ids beyond SQLite's integers, a file name with CR/LF, and clients that dribble their
headers. Each probe is bounded in count and time."""

from __future__ import annotations

import http.client
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse

import pytest

from live_server import Client, Server, slow_clients, still_open

PIN = "4821"
HUGE = "9" * 25  # beyond a 64-bit integer


def raw(port: int, method: str, path: str, host: str, body: bytes = b"", headers=None,
        source: str = "127.0.0.1") -> tuple[int, str]:
    """One request with the Host header we choose (what a rebinding page's browser sends),
    from the loopback address ``source`` (another device on the site Wi-Fi)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20, source_address=(source, 0))
    try:
        conn.putrequest(method, path, skip_host=True)
        conn.putheader("Host", host)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        return r.status, r.read().decode(errors="replace")
    finally:
        conn.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("site") / "edge-data"
    srv = Server(data, extra=["--allowed-host", "edge.local"]).start()
    yield srv
    srv.stop()


def set_pin(server, pin: str = PIN) -> None:
    subprocess.run([sys.executable, "-m", "edge_app.cli", "set-pin", "--data", str(server.data)],
                   input=pin + "\n", text=True, check=True, capture_output=True)


def logged_in(server, pin: str = PIN) -> Client:
    c = Client(server.url)
    c.login(pin)
    return c


def status_of(client: Client, path: str) -> tuple[int, str]:
    """(status, final path) of a GET that follows redirects."""
    try:
        with client.opener.open(client.base + path, timeout=20) as r:
            return r.status, urllib.parse.urlparse(r.geturl()).path
    except urllib.error.HTTPError as e:
        return e.code, path


def test_a_foreign_host_is_refused_before_the_first_visit_can_choose_the_pin(server):
    """Before: a fresh install took POST /setup under Host: rebind.attacker.example."""
    csrf_page = raw(server.port, "GET", "/setup", f"127.0.0.1:{server.port}")
    assert csrf_page[0] == 200 and "pin2" in csrf_page[1]
    for host in ("rebind.attacker.example", f"evil.example:{server.port}", "127.0.0.1.nip.io", "1.2.3.4"):
        status, body = raw(server.port, "POST", "/setup", host, b"pin=1111&pin2=1111",
                           {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 400, host
        assert "allowed-host" in body
        assert raw(server.port, "GET", "/", host)[0] == 400
    # still no PIN: the setup page is still offered to the device's own address
    assert raw(server.port, "GET", "/setup", f"localhost:{server.port}")[0] == 200
    for host in (f"127.0.0.1:{server.port}", f"[::1]:{server.port}", "edge.local", f"EDGE.local.:{server.port}"):
        assert raw(server.port, "GET", "/login", host)[0] in (200, 302), host


def test_logout_and_a_new_pin_end_every_older_session(server):
    set_pin(server)
    a = logged_in(server)
    assert status_of(a, "/settings") == (200, "/settings")
    copy = Client(server.url)  # the cookie captured before logout
    for cookie in a.jar:
        copy.jar.set_cookie(cookie)
    assert status_of(copy, "/settings") == (200, "/settings")
    body = urllib.parse.urlencode({"csrf": a.csrf}).encode()
    with a.opener.open(server.url + "/logout", body, timeout=20) as r:
        r.read()
    assert status_of(copy, "/settings")[1] == "/login"
    assert status_of(a, "/settings")[1] == "/login"
    # a session from before `edge-app set-pin` ends too; one made after works
    b = logged_in(server)
    assert status_of(b, "/settings") == (200, "/settings")
    set_pin(server, "7305")
    assert status_of(b, "/settings")[1] == "/login"
    c = logged_in(server, "7305")
    assert status_of(c, "/settings") == (200, "/settings")
    set_pin(server)


def test_ids_beyond_64_bits_are_not_found_not_a_server_error(server):
    c = logged_in(server)
    for path in (f"/sites/{HUGE}", f"/spots/{HUGE}/compare", f"/?batch={HUGE}", f"/progress?site={HUGE}&v={HUGE}",
                 f"/sites/{2**63}", f"/sites/{2**63 - 1}"):
        status, _ = status_of(c, path)
        assert status in (200, 404), (path, status)
    for path, field in (("/sites/1/merge", "other"), ("/spots/1/merge", "other")):
        body = urllib.parse.urlencode({"csrf": c.csrf, field: HUGE}).encode()
        try:
            with c.opener.open(server.url + path, body, timeout=20) as r:
                assert r.status in (200, 404)
        except urllib.error.HTTPError as e:
            assert e.code in (400, 404), (path, e.code)


def test_an_original_named_with_cr_lf_downloads_under_a_clean_name(server, tmp_path):
    from photo_files import spot_photos

    name, data = spot_photos(11, 1)[0]
    odd = tmp_path / "site\r\nSet-Cookie: x=1.jpg"
    odd.write_bytes(data)
    subprocess.run([sys.executable, "-m", "edge_app.cli", "add", "--data", str(server.data), "--no-wait", str(odd)],
                   check=True, capture_output=True, timeout=120)
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    c = logged_in(server)
    with c.opener.open(f"{server.url}/photos/{sha}/original", timeout=20) as r:
        disposition = r.headers["Content-Disposition"]
        assert r.read() == data
    assert "\r" not in disposition and "\n" not in disposition and "Set-Cookie" not in str(r.headers.get_all("Set-Cookie"))
    assert re.search(r"site_Set-Cookie", disposition)


def test_clients_that_dribble_their_headers_do_not_starve_the_page(server):
    """150 connections each sending a header byte every 2 s (before: 100 of them left the
    page unanswered until they closed); the tablet asks from its own address. Bounded: 150
    sockets, about 6 s."""
    socks = []
    try:
        socks = slow_clients(server.port, 150)
        t0 = time.monotonic()
        answered = []
        while time.monotonic() - t0 < 6:
            for s in socks:
                try:
                    s.sendall(b"a")
                except OSError:
                    pass
            t1 = time.monotonic()
            status, _ = raw(server.port, "GET", "/login", f"127.0.0.1:{server.port}", source="127.0.0.3")
            answered.append((status, time.monotonic() - t1))
            time.sleep(2)
        assert all(status == 200 for status, _ in answered)
        assert max(seconds for _, seconds in answered) < 3.0, answered
    finally:
        for s in socks:
            s.close()


def test_the_pin_throttle_answers_at_once_per_address_and_for_every_address(tmp_path):
    """Wrong PINs: a locked try is 429 with Retry-After at once (no thread sleeps); 30 wrong
    PINs from many addresses lock the one PIN for all of them too."""
    from edge_app.store import open_store
    from edge_app.store import settings as store_settings
    from edge_app.web import create_app

    app = create_app({"DATA_DIR": str(tmp_path / "data"), "TESTING": True, "LOGIN_LOCK_S": 30})
    with open_store(tmp_path / "data") as st:
        store_settings.set_pin(st, PIN)
    c = app.test_client()
    tok = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
    codes = []
    for k in range(40):  # a new address every try: the per-address limit never bites
        t0 = time.monotonic()
        r = c.post("/login", data={"pin": "0000", "csrf": tok}, environ_base={"REMOTE_ADDR": f"10.9.{k // 250}.{k % 250}"})
        assert time.monotonic() - t0 < 1.0
        codes.append(r.status_code)
    assert codes[:29] == [401] * 29 and set(codes[29:]) == {429}
    r = c.post("/login", data={"pin": PIN, "csrf": tok}, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1


def test_one_address_cannot_hold_more_than_its_share_of_connections(server):
    """150 connections from 127.0.0.1 that never finish their headers: beyond 64 of them are
    closed at once, and another address (the crew's tablet, 127.0.0.2 here) is answered."""
    socks = []
    try:
        socks = slow_clients(server.port, 150)
        time.sleep(1.0)
        held = still_open(socks)
        assert 50 <= held <= 66, held
        tablet = socket.socket()
        tablet.bind(("127.0.0.2", 0))
        tablet.settimeout(5)
        t0 = time.monotonic()
        tablet.connect(("127.0.0.1", server.port))
        tablet.sendall(f"GET /login HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nConnection: close\r\n\r\n".encode())
        assert tablet.recv(12).startswith(b"HTTP/1.1 200")
        assert time.monotonic() - t0 < 3
        tablet.close()
    finally:
        for s in socks:
            s.close()
