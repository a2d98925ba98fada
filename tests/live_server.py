"""A real `edge-app serve` process on 127.0.0.1 and a small HTTP client for it (stdlib only)."""

from __future__ import annotations

import functools
import http.client
import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChildServer:
    """An ``edge-app`` server command as a child process on 127.0.0.1:``port``; ``start``
    waits until it answers. Subclasses say which command (:meth:`argv`)."""

    name = "server"

    def __init__(self, data: Path, port: int | None = None, extra=()):
        self.data, self.port, self.extra = Path(data), port or free_port(), list(extra)
        self.proc: subprocess.Popen | None = None
        self.log = self.data.parent / f"{self.name}-{self.port}.log"

    def argv(self) -> list[str]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self._logf = open(self.log, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "edge_app.cli", *self.argv(), *self.extra],
                                     stdout=self._logf, stderr=subprocess.STDOUT, env=env)
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text(errors='replace')[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer")

    def kill(self) -> None:
        """kill -9: no shutdown code runs (a power cut, as far as the process knows)."""
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        if getattr(self, "_logf", None):
            self._logf.close()


class Server(ChildServer):
    """`edge-app serve --data DIR` (the site app with its worker)."""

    name = "serve"

    def argv(self) -> list[str]:
        return ["serve", "--data", str(self.data), "--port", str(self.port)]


class Client:
    """A browser-like session: cookies, the CSRF token, JSON and multipart posts."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf = None

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as r:
            return r.read().decode()

    def login(self, pin: str) -> None:
        page = self.get("/login")
        self.csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"pin": pin, "csrf": self.csrf}).encode()
        with self.opener.open(self.base + "/login", body, timeout=30) as r:
            r.read()
        self.csrf = re.search(r'name="csrf" value="([^"]+)"', self.get("/")).group(1)

    def post_json(self, path: str, body: bytes = b"", content_type: str = "application/octet-stream",
                  timeout: float = 60) -> dict:
        req = urllib.request.Request(self.base + path, data=body, method="POST",
                                     headers={"X-CSRF-Token": self.csrf, "Content-Type": content_type,
                                              "Accept": "application/json"})
        with self.opener.open(req, timeout=timeout) as r:
            return json.loads(r.read())

    def upload(self, batch: int, name: str, data: bytes, timeout: float = 60) -> dict:
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"photos\"; "
                f"filename=\"{name}\"\r\nContent-Type: image/jpeg\r\n\r\n").encode() + data + \
            f"\r\n--{boundary}--\r\n".encode()
        return self.post_json(f"/batches/{batch}/photos", body, f"multipart/form-data; boundary={boundary}", timeout)


class Browser:
    """A browser that does not follow redirects (the tests look at them): cookies, the CSRF
    token of a page, login. ``server``: anything with a ``url`` (a :class:`ChildServer`);
    ``source``: the loopback address it connects from (another device on the network)."""

    def __init__(self, server, source: str | None = None):
        self.base = server.url
        self.jar = http.cookiejar.CookieJar()
        handlers = [urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect]
        if source:
            handlers.append(_From(source))
        self.opener = urllib.request.build_opener(*handlers)

    def get(self, path: str) -> tuple[int, str, str]:
        """(status, Location, body) without following redirects."""
        try:
            with self.opener.open(self.base + path, timeout=20) as r:
                return r.status, "", r.read().decode(errors="replace")
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Location", ""), e.read().decode(errors="replace")

    def post(self, path: str, form: dict) -> tuple[int, str, str]:
        """(status, Location, body) of a form POST."""
        try:
            with self.opener.open(self.base + path, urllib.parse.urlencode(form).encode(), timeout=20) as r:
                return r.status, "", r.read().decode(errors="replace")
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Location", ""), e.read().decode(errors="replace")

    def csrf(self, path: str = "/login") -> str:
        return re.search(r'name="csrf" value="([^"]+)"', self.get(path)[2]).group(1)

    def login(self, secret: str, field: str = "password") -> int:
        return self.post("/login", {"csrf": self.csrf(), field: secret})[0]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class _From(urllib.request.HTTPHandler):
    """Connections from the local address ``source``."""

    def __init__(self, source: str):
        super().__init__()
        self.source = source

    def http_open(self, req):
        return self.do_open(functools.partial(http.client.HTTPConnection, source_address=(self.source, 0)), req)


def slow_clients(port: int, n: int, source: str = "127.0.0.1") -> list[socket.socket]:
    """``n`` connections from the loopback address ``source`` that begin a request and never
    finish its headers (ones the server closes at once are kept too: they read as closed)."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind((source, 0))
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(f"GET /login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Slow: ".encode())
        except OSError:
            pass
        socks.append(s)
    return socks


def still_open(socks: list[socket.socket]) -> int:
    """How many of ``socks`` the server still holds open, waiting for the rest of a request."""
    n = 0
    for s in socks:
        s.settimeout(0.05)
        try:
            n += s.recv(1) != b""  # a byte would be an answer; b"" is a close
        except (TimeoutError, socket.timeout):
            n += 1  # still waiting for the rest of its headers
        except OSError:
            pass
    return n


__all__ = ["ChildServer", "Server", "Client", "Browser", "free_port", "slow_clients", "still_open", "http"]
