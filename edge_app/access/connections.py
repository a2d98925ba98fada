"""A cap on the connections one client address holds open on the site app's server
(issue 19): a phone on the site Wi-Fi that opens hundreds of slow connections uses up its
own share, not the crew's tablet's."""

from __future__ import annotations


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
