"""Issue 19, IPv6 on the site app: ``Host: [2001:db8::1]:8080`` and ``[fe80::...]`` for the
addresses `serve` listens on are answered (in brackets, with or without a port, in any
written form), other addresses and malformed ones are 400, and ``--host ::`` listens on
IPv4 and IPv6 both. The real-server test needs IPv6 loopback (``::1``) and skips without it.
"""

from __future__ import annotations

import http.client
import re
import socket
import time

import pytest

from edge_app.access.hosts import (AllowedHosts, _linux_ipv6_addresses, canonical, host_name, lan_addresses,
                                   url_host)
from edge_app.cli.site import listen_on
from live_server import Server


@pytest.mark.parametrize("header, name", [
    ("[::1]:8080", "::1"), ("[::1]", "::1"), ("[2001:DB8::0:1]:8080", "2001:db8::1"),
    ("[2001:db8:0:0:0:0:0:1]", "2001:db8::1"), ("[FE80::1]:80", "fe80::1"), ("[fe80::1%25eth0]:8080", "fe80::1"),
    ("[fe80::1%eth0]", "fe80::1"), ("127.0.0.1:8080", "127.0.0.1"), ("Edge.Local.:80", "edge.local"),
    ("localhost", "localhost"),
    # malformed: an IPv6 address without brackets, a bad port, brackets around something else
    ("2001:db8::1", ""), ("2001:db8::1:8080", ""), ("[2001:db8::1]:80x", ""), ("[2001:db8::1]:", ""),
    ("[2001:db8::1]junk", ""), ("[2001:db8::1", ""), ("[1.2.3.4]:80", ""), ("[edge.local]", ""), ("[]", ""),
    ("[::1]:8080:1", ""), ("a:b:80", ""),
])
def test_host_header_parsing(header, name):
    assert host_name(header) == name


def test_the_addresses_it_listens_on_are_allowed_in_any_written_form():
    hosts = AllowedHosts(["[2001:db8::5]", "2001:DB8::6"],
                         local_addresses=lambda: ["fe80::fc:ff:fe00:1%eth0", "2001:db8:0:0::1", "192.168.4.1"])
    for ok in ("[fe80::fc:ff:fe00:1]:8080", "[FE80:0:0:0:FC:FF:FE00:1]", "[fe80::fc:ff:fe00:1%25eth0]:8080",
               "[2001:db8::1]:8080", "[2001:DB8:0::1]", "[2001:db8::5]:8080", "[2001:db8::6]", "192.168.4.1:8080",
               "[::1]:8080", "localhost:8080"):
        assert hosts.allows(ok), ok
    for bad in ("[2001:db8::2]:8080", "2001:db8::1", "[fe80::2]:8080", "[2001:db8::1]:80x", "[::]:8080",
                "[::ffff:192.168.4.1]:8080", "evil.example", "[fe80::fc:ff:fe00:1"):
        assert not hosts.allows(bad), bad


def test_a_new_ipv6_address_is_read_again_when_it_asks():
    now = ["2001:db8::1"]
    hosts = AllowedHosts(local_addresses=lambda: list(now), refresh_s=0)
    assert not hosts.allows("[2001:db8::2]:8080")
    now.append("2001:DB8::2")  # a hotspot came up after the start
    assert hosts.allows("[2001:db8::2]:8080")


def test_the_machines_ipv6_addresses_are_read_from_linux(tmp_path):
    f = tmp_path / "if_inet6"
    f.write_text("fd000000000000000000000000000002 04 40 00 82     eth0\n"
                 "00000000000000000000000000000001 01 80 10 80       lo\n"
                 "fe8000000000000000fc00fffe000001 04 40 20 80     eth0\n")
    assert _linux_ipv6_addresses(str(f)) == ["fd00::2", "::1", "fe80::fc:ff:fe00:1"]
    assert _linux_ipv6_addresses(str(tmp_path / "none")) == []
    found = lan_addresses()
    assert all(canonical(a) == a and a not in ("::1", "::") and not a.startswith("127.") and "%" not in a
               for a in found), found


def test_urls_and_listening():
    assert url_host("2001:db8::1") == "[2001:db8::1]" and url_host("192.168.4.1") == "192.168.4.1"
    assert listen_on("127.0.0.1", 8080) == {"host": "127.0.0.1", "port": 8080}
    assert listen_on("::", 8080) in ({"listen": "0.0.0.0:8080 [::]:8080"}, {"host": "0.0.0.0", "port": 8080})


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def _get(address: str, port: int, host: str) -> int:
    conn = http.client.HTTPConnection(address, port, timeout=20)
    try:
        conn.putrequest("GET", "/login", skip_host=True)
        conn.putheader("Host", host)
        conn.endheaders()
        r = conn.getresponse()
        r.read()
        return r.status
    finally:
        conn.close()


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback (::1) on this machine")
def test_serve_on_every_address_answers_ipv6_and_ipv4(tmp_path):
    srv = Server(tmp_path / "edge-data", extra=["--host", "::"]).start()  # start() waits on 127.0.0.1: IPv4 too
    try:
        port = srv.port
        assert _get("::1", port, f"[::1]:{port}") in (200, 302)
        assert _get("::1", port, "[::1]") in (200, 302)
        assert _get("127.0.0.1", port, f"127.0.0.1:{port}") in (200, 302)
        assert _get("::1", port, f"[2001:db8::dead]:{port}") == 400  # not an address of this machine
        assert _get("::1", port, f"::1:{port}") == 400  # no brackets
        assert _get("::1", port, f"rebind.attacker.example:{port}") == 400
        mine = [a for a in lan_addresses() if ":" in a]
        for a in mine:  # the machine's own IPv6 addresses, link-local too, as the tablet's browser writes them
            assert _get("::1", port, f"[{a}]:{port}") in (200, 302), a
            assert _get("::1", port, f"[{a.upper()}]") in (200, 302), a
        routable = [a for a in mine if not a.startswith("fe80:")]
        if routable:  # reached over that address itself, as a tablet on the site Wi-Fi would
            assert _get(routable[0], port, f"[{routable[0]}]:{port}") in (200, 302)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 10 and "open " not in srv.log.read_text(errors="replace"):
            time.sleep(0.2)
        line = next(x for x in srv.log.read_text(errors="replace").splitlines() if "open " in x)
        for a in routable:
            assert f"http://[{a}]:{port}/" in line, line
        assert not re.search(r"http://fe80", line, re.I)  # a URL cannot name a link-local address
    finally:
        srv.stop()
