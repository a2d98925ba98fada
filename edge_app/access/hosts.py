"""Which ``Host:`` names the site app answers (issue 19: DNS rebinding).

A web page the tablet opens elsewhere can point its own name at the device's address (DNS
rebinding) and then read and write the page as the lead: the browser sends that foreign
name as ``Host``. The page answers only names it is known by: ``localhost`` and the
loopback addresses, the address ``serve`` listens on, the machine's LAN addresses (read
again, at most every ``refresh_s`` seconds, when an unknown address asks: a hotspot that
comes up after the start), and names given with ``--allowed-host`` (e.g. ``edge.local``,
or ``.site.example`` for every name under it). Everything else gets 400, before any other
handler (the first-visit setup included).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from typing import Callable, Iterable

LOOPBACK = ("localhost", "127.0.0.1", "::1")


def lan_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback (no packet is sent)."""
    out = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            out.add(info[4][0])
    except OSError:
        pass
    try:  # the address used for outgoing traffic
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            out.add(s.getsockname()[0])
    except OSError:
        pass
    return sorted(a for a in out if not a.startswith("127."))


def host_name(header: str) -> str:
    """The name of a ``Host`` header without its port, lower case, without a final dot
    (``[::1]:8080`` -> ``::1``; ``Edge.Local.:80`` -> ``edge.local``); "" when malformed."""
    h = (header or "").strip().lower()
    if h.startswith("["):
        end = h.find("]")
        if end < 0 or (h[end + 1:] and not h[end + 1:].startswith(":")):
            return ""
        return h[1:end]
    if h.count(":") == 1:
        h, port = h.split(":")
        if not port.isdigit():
            return ""
    elif ":" in h:
        return ""
    return h.rstrip(".")


class AllowedHosts:
    """``allows(host_header)``: True for the names above.

    names: fixed names and addresses (``.example.org`` allows every name under it).
    local_addresses: returns the machine's current addresses (None: fixed names only).
    """

    def __init__(self, names: Iterable[str] = (), local_addresses: Callable[[], Iterable[str]] | None = None,
                 refresh_s: float = 10.0):
        self.names = {host_name(n) or n.lower() for n in (*LOOPBACK, *names) if n}
        self._local = local_addresses
        self._refresh_s = refresh_s
        self._lock = threading.Lock()
        self._known: set[str] = set(local_addresses()) if local_addresses else set()
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
                self._known = set(self._local())
                self._read_at = time.monotonic()
            return name in self._known


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
