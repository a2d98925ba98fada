"""A real `edge-app serve` process on 127.0.0.1 and a small HTTP client for it (stdlib only)."""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import time
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


__all__ = ["ChildServer", "Server", "Client", "free_port", "http"]
