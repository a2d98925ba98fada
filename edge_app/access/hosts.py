"""Which ``Host:`` names the site app answers (issue 19: DNS rebinding).

A web page the tablet opens elsewhere can point its own name at the device's address (DNS
rebinding) and then read and write the page as the lead: the browser sends that foreign
name as ``Host``. The page answers only names it is known by: ``localhost`` and the
loopback addresses, the address ``serve`` listens on, the machine's LAN addresses (read
again, at most every ``refresh_s`` seconds, when an unknown address asks: a hotspot that
comes up after the start), and names given with ``--allowed-host`` (e.g. ``edge.local``,
or ``.site.example`` for every name under it). Everything else gets 400, before any other
handler (the first-visit setup included).

IPv6: a browser writes an address in brackets, with or without a port
(``[2001:db8::1]:8080``, ``[fe80::1]``); an address is compared in its one written form
(``[2001:DB8:0::1]`` is ``2001:db8::1``), without a zone (``fe80::1%eth0``, or ``%25eth0``
as a URL writes it). The machine's IPv6 addresses, link-local ones included, count as its
LAN addresses.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from typing import Callable, Iterable

LOOPBACK = ("localhost", "127.0.0.1", "::1")


def lan_addresses() -> list[str]:
    """This machine's addresses other than loopback, IPv4 and IPv6 (link-local ones too;
    no zone), each in its one written form; no packet is sent."""
    out = set()
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            for info in socket.getaddrinfo(socket.gethostname(), None, family):
                out.add(info[4][0])
        except OSError:
            pass
    for family, probe in ((socket.AF_INET, "10.255.255.255"), (socket.AF_INET6, "2001:db8::1")):
        try:  # the address used for outgoing traffic
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.connect((probe, 1))
                out.add(s.getsockname()[0])
        except OSError:
            pass
    out.update(_linux_ipv6_addresses())
    found = {canonical(a) for a in out}
    return sorted(a for a in found if _is_address(a) and not ipaddress.ip_address(a).is_loopback
                  and not ipaddress.ip_address(a).is_unspecified)


def _linux_ipv6_addresses(path: str = "/proc/net/if_inet6") -> list[str]:
    """Every interface's IPv6 address, as Linux lists them (none elsewhere)."""
    try:
        with open(path, encoding="ascii") as f:
            rows = f.read().split("\n")
    except OSError:
        return []
    out = []
    for row in rows:
        parts = row.split()
        if parts and len(parts[0]) == 32:
            try:
                out.append(str(ipaddress.IPv6Address(int(parts[0], 16))))
            except ValueError:
                pass
    return out


def canonical(name: str) -> str:
    """An IP address in its one written form, without an IPv6 zone (``2001:DB8:0::1`` ->
    ``2001:db8::1``, ``fe80::1%eth0`` and ``fe80::1%25eth0`` -> ``fe80::1``); any other name
    lower case, as it is."""
    name = name.strip().lower()
    bare = name.split("%", 1)[0] if ":" in name else name
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        return name


def url_host(address: str) -> str:
    """``address`` as a URL writes it: an IPv6 address in brackets."""
    return f"[{address}]" if ":" in address else address


def is_link_local(address: str) -> bool:
    """fe80::/10 or 169.254/16: not for a URL a browser can open (no zone)."""
    try:
        return ipaddress.ip_address(address).is_link_local
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name of a ``Host`` header without its port, lower case, without a final dot, an
    address in its one written form (``[::1]:8080`` -> ``::1``; ``[2001:DB8::0:1]`` ->
    ``2001:db8::1``; ``Edge.Local.:80`` -> ``edge.local``); "" when malformed (an IPv6
    address must be in brackets; a port is digits)."""
    h = (header or "").strip().lower()
    if h.startswith("["):
        end = h.find("]")
        rest = h[end + 1:] if end >= 0 else ""
        if end < 0 or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return ""
        inside = canonical(h[1:end])
        try:
            return inside if ipaddress.ip_address(inside).version == 6 else ""
        except ValueError:
            return ""
    if h.count(":") == 1:
        h, port = h.split(":")
        if not port.isdigit():
            return ""
    elif ":" in h:
        return ""
    return canonical(h.rstrip("."))


class AllowedHosts:
    """``allows(host_header)``: True for the names above.

    names: fixed names and addresses (``.example.org`` allows every name under it).
    local_addresses: returns the machine's current addresses (None: fixed names only).
    """

    def __init__(self, names: Iterable[str] = (), local_addresses: Callable[[], Iterable[str]] | None = None,
                 refresh_s: float = 10.0):
        self.names = {host_name(n) or canonical(n) for n in (*LOOPBACK, *names) if n}
        self._local = local_addresses
        self._refresh_s = refresh_s
        self._lock = threading.Lock()
        self._known: set[str] = self._read()
        self._read_at = time.monotonic()

    def allows(self, host_header: str) -> bool:
        name = host_name(host_header)
        if not name:
            return False
        if name in self.names or any(n.startswith(".") and (name.endswith(n) or name == n[1:]) for n in self.names):
            return True
        if self._local is None or not _is_address(name):
            return False
        with self._lock:
            if name not in self._known and time.monotonic() - self._read_at >= self._refresh_s:
                self._known = self._read()
                self._read_at = time.monotonic()
            return name in self._known

    def _read(self) -> set[str]:
        return {canonical(a) for a in self._local()} if self._local else set()


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
