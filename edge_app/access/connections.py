"""A cap on the connections one client address holds open on the site app's server
(issue 19): a phone on the site Wi-Fi that opens hundreds of slow connections uses up its
own share, not the crew's tablet's. Head office's cheroot counts them with
:class:`PerAddress` (edge_app/hq/server.py)."""

from __future__ import annotations

import threading


def _host(addr) -> str:
    return addr[0] if isinstance(addr, tuple) else str(addr)


def per_address_channel(limit: int):
    """A waitress channel class that closes a new connection at once when its address
    already holds ``limit`` open ones (``server.channel_class = per_address_channel(64)``)."""
    from waitress.channel import HTTPChannel

    class PerAddressChannel(HTTPChannel):
        def __init__(self, server, sock, addr, adj, map=None):
            super().__init__(server, sock, addr, adj, map=map)
            host = _host(addr)
            held = sum(1 for ch in list((map or {}).values())
                       if isinstance(ch, HTTPChannel) and _host(getattr(ch, "addr", "")) == host)
            if held > limit:
                self.close()

    return PerAddressChannel


def limit_per_address(server, limit: int) -> None:
    """Apply :func:`per_address_channel` to a server from ``waitress.create_server`` (one
    listening socket, or several: a name such as ``localhost`` with IPv4 and IPv6)."""
    listeners = [server] if hasattr(server, "channel_class") else [
        d for d in getattr(server, "map", {}).values() if hasattr(d, "channel_class")]
    cls = per_address_channel(limit)
    for d in listeners:
        d.channel_class = cls


class PerAddress:
    """Open connections counted per client address, for a server that does not count them
    itself (head office's cheroot): ``admit(addr)`` is False when ``addr`` already holds
    ``limit`` (then the caller closes the new connection at once); every admitted connection
    is ``release``d once when it closes. ``limit`` 0: no cap. Thread-safe."""

    def __init__(self, limit: int):
        self.limit = limit
        self.refused = 0
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    def admit(self, addr) -> bool:
        host = _host(addr)
        with self._lock:
            held = self._open.get(host, 0)
            if self.limit and held >= self.limit:
                self.refused += 1
                return False
            self._open[host] = held + 1
            return True

    def release(self, addr) -> None:
        host = _host(addr)
        with self._lock:
            held = self._open.get(host, 0) - 1
            if held > 0:
                self._open[host] = held
            else:
                self._open.pop(host, None)

    def held(self, addr) -> int:
        with self._lock:
            return self._open.get(_host(addr), 0)
