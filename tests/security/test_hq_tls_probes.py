"""Issue 19, head office with ``--cert/--key``: the TLS handshake must not run on the accept
thread. Before the fix cheroot's builtin adapter did the handshake there (up to the 20 s read
timeout), so one client that connects and never sends its ClientHello left every new
connection, https or not, unanswered. Probes against a real `edge-app hq serve` on
127.0.0.1 with a throwaway self-signed certificate; bounded in count and time.
"""

from __future__ import annotations

import http.client
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sync"))

from hq_process import HQ  # noqa: E402

pytestmark = pytest.mark.skipif(not shutil.which("openssl"), reason="openssl is needed to make a test certificate")


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 and its key (PEM)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.fixture(scope="module")
def tls_hq(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hq19tls")
    cert, key = self_signed(folder)
    h = HQ(folder / "hq", extra=["--cert", str(cert), "--key", str(key), "--header-timeout", "3"]).start()
    h.cert = cert
    yield h
    h.stop()


def https_get(hq: HQ, path: str = "/login", timeout: float = 8.0) -> tuple[int | str, float]:
    """(status, seconds) of one https GET trusting the test certificate; a timeout or a
    refused handshake is its error's name."""
    ctx = ssl.create_default_context(cafile=str(hq.cert))
    conn = http.client.HTTPSConnection("127.0.0.1", hq.port, context=ctx, timeout=timeout)
    t0 = time.monotonic()
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        return r.status, time.monotonic() - t0
    except OSError as e:
        return type(e).__name__, time.monotonic() - t0
    finally:
        conn.close()


def silent(port: int, n: int) -> list[socket.socket]:
    """``n`` TCP connections that never send a byte (no ClientHello)."""
    return [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(n)]


def test_clients_that_never_send_a_client_hello_do_not_stall_new_connections(tls_hq):
    assert https_get(tls_hq)[0] in (200, 302)
    quiet = silent(tls_hq.port, 3)
    try:
        time.sleep(0.3)
        for _ in range(3):
            status, seconds = https_get(tls_hq)
            assert status in (200, 302) and seconds < 3.0, (status, seconds)
        # they are closed by the header deadline (3 s here), not left to hold workers
        t0 = time.monotonic()
        for s in quiet:
            s.settimeout(max(0.1, 8 - (time.monotonic() - t0)))
            assert s.recv(1) == b""
        assert time.monotonic() - t0 < 8
    finally:
        for s in quiet:
            s.close()


def test_a_half_sent_client_hello_does_not_stall_new_connections(tls_hq):
    """A ClientHello cut short (the handshake begun, then silence)."""
    s = socket.create_connection(("127.0.0.1", tls_hq.port), timeout=10)
    try:
        s.sendall(bytes.fromhex("160301"))  # a TLS record header and nothing after it
        time.sleep(0.3)
        status, seconds = https_get(tls_hq)
        assert status in (200, 302) and seconds < 3.0, (status, seconds)
    finally:
        s.close()


def test_plain_http_on_the_tls_port_is_told_so_and_https_still_works(tls_hq):
    s = socket.create_connection(("127.0.0.1", tls_hq.port), timeout=10)
    try:
        s.sendall(f"GET /login HTTP/1.1\r\nHost: 127.0.0.1:{tls_hq.port}\r\n\r\n".encode())
        answer = b""
        while chunk := s.recv(4096):
            answer += chunk
    finally:
        s.close()
    assert answer.startswith(b"HTTP/1.1 400") and b"only speaks HTTPS" in answer, answer[:200]
    assert https_get(tls_hq)[0] in (200, 302)


def test_requests_still_see_https_and_keep_alive_works(tmp_path):
    """The handshake moved, the request's environment did not: ``wsgi.url_scheme`` is https
    and the TLS entries are there, on every request of a kept-alive connection."""
    import threading

    from edge_app.hq.server import WorkerHandshakeSSL, make_server

    cert, key = self_signed(tmp_path)

    def app(environ, start_response):
        body = f"{environ['wsgi.url_scheme']} {environ.get('HTTPS')} {environ.get('SSL_PROTOCOL')}".encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]

    server = make_server(app, "127.0.0.1", 0, threads=2, header_timeout_s=3, per_address=4)
    server.ssl_adapter = WorkerHandshakeSSL(str(cert), str(key))
    server.prepare()
    port = server.bind_addr[1]
    stop = threading.Event()
    server.header_deadline.watch(stop)
    t = threading.Thread(target=server.serve, daemon=True)
    t.start()
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10,
                                       context=ssl.create_default_context(cafile=str(cert)))
    try:
        for _ in range(3):
            conn.request("GET", "/")
            r = conn.getresponse()
            scheme, https, protocol = r.read().decode().split()
            assert (r.status, scheme, https) == (200, "https", "on") and protocol.startswith("TLS"), protocol
        assert server.per_address.held("127.0.0.1") == 1  # one connection, counted once
    finally:
        conn.close()
        stop.set()
        server.stop()
        t.join(10)
