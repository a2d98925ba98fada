"""HTTP(S) to head office: signed requests, streamed photo uploads, clear failures.

A failure is one of two kinds, because they are handled differently by the outbox:
:class:`Offline` (no answer: no route, refused, reset, timeout; the device simply waits)
and :class:`Refused` (head office answered with an error status; it counts as an attempt).
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .. import app_settings
from .signing import EMPTY_SHA256, sign


class Offline(ConnectionError):
    """Head office could not be reached (or the connection broke before an answer)."""


class Refused(RuntimeError):
    """Head office answered with an error status."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(f"head office answered {status}: {message}")


@dataclass
class Response:
    status: int
    body: bytes

    def json(self):
        return json.loads(self.body or b"null")


class HQClient:
    """Signed requests to one head-office URL (``http://`` or ``https://``).

    timeout_s: seconds without an answer before a request is offline (default ``sync.timeout_s``);
    cafile: a CA bundle for a head office with its own certificate (default ``sync.hq_ca``,
    else the system's).
    """

    def __init__(self, url: str, device: str, secret: str, timeout_s: float | None = None,
                 cafile: str | None = None):
        u = urlsplit(url.rstrip("/"))
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"head-office URL must be http(s)://host[:port][/prefix], not {url!r}")
        self.scheme, self.host, self.port, self.prefix = u.scheme, u.hostname, u.port, u.path
        self.device, self._secret = device, secret
        self.timeout_s = app_settings.value("sync.timeout_s") if timeout_s is None else timeout_s
        self.cafile = cafile or app_settings.value("sync.hq_ca")
        #: bytes this client put on the wire (request lines, headers and bodies)
        self.bytes_out = 0

    def __repr__(self) -> str:  # never the secret
        return f"HQClient({self.scheme}://{self.host}:{self.port or ''}{self.prefix}, device={self.device!r})"

    def _conn(self) -> http.client.HTTPConnection:
        if self.scheme == "https":
            ctx = ssl.create_default_context(cafile=self.cafile)
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout_s, context=ctx)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)

    def request(self, method: str, path: str, body: bytes | Path | None = None, body_sha256: str | None = None,
                headers: dict | None = None) -> Response:
        """One signed request. ``body``: bytes, or a file path streamed from disk (then
        ``body_sha256`` must be given: for a photo it is its name). Raises Offline or
        Refused (for 4xx/5xx other than 404/409, which callers read)."""
        full = self.prefix + path
        if isinstance(body, Path):
            length = body.stat().st_size
        else:
            body = body or b""
            length = len(body)
            if body_sha256 is None:
                import hashlib

                body_sha256 = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
        h = {"Content-Length": str(length), "User-Agent": "edge-app-sync/1"} | (headers or {})
        h |= sign(self._secret, method, full, body_sha256 or EMPTY_SHA256, self.device)
        self.bytes_out += len(method) + len(full) + 12 + sum(len(k) + len(str(v)) + 4 for k, v in h.items()) + length
        conn = self._conn()
        try:
            if isinstance(body, Path):
                with open(body, "rb") as f:
                    conn.request(method, full, body=f, headers=h)
                    resp = conn.getresponse()
            else:
                conn.request(method, full, body=body if length else None, headers=h)
                resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException, socket.timeout) as e:
            raise Offline(f"{type(e).__name__}: {e}") from None
        finally:
            conn.close()
        if resp.status >= 400 and resp.status not in (404, 409):
            try:
                msg = json.loads(data).get("error", "")
            except (ValueError, AttributeError):
                msg = data[:200].decode("utf-8", "replace")
            msg = msg or resp.getheader("X-Edge-Error", "") or resp.reason
            raise Refused(resp.status, msg)
        return Response(resp.status, data)
