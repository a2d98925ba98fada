"""A fault-injecting HTTP proxy for the sync tests (written for them; one request per
connection, as the device's client makes them).

For each request it draws a fault with probability ``rate`` (seeded, so runs repeat):

* ``delay``      wait ``delay_s`` (0.2-1.5 s), then forward;
* ``reset_body`` forward the head and part of the body, then reset both connections;
* ``error_5xx``  answer 502/503/500 without forwarding;
* ``timeout``    hold the connection, answering nothing, past the client's timeout;
* ``drop_reply`` forward the whole request, read the receiver's answer (it has committed),
                 then reset the client's connection instead of answering;
* ``duplicate``  deliver the request to the receiver twice, answer with the second reply.

``counts`` holds how many of each were injected; ``down`` makes every connection fail as
if the receiver were unreachable.
"""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from collections import Counter

FAULTS = ("delay", "reset_body", "error_5xx", "timeout", "drop_reply", "duplicate")


def _reset(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


def _read_request(sock: socket.socket) -> tuple[bytes, bytes] | None:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    body = rest
    while len(body) < length:
        chunk = sock.recv(min(1 << 20, length - len(body)))
        if not chunk:
            return None
        body += chunk
    lines = [ln for ln in head.split(b"\r\n") if not ln.lower().startswith(b"connection:")]
    return b"\r\n".join(lines) + b"\r\nConnection: close\r\n\r\n", body


def _exchange(target: tuple[str, int], head: bytes, body: bytes, timeout: float = 30.0) -> bytes:
    with socket.create_connection(target, timeout=timeout) as up:
        up.sendall(head + body)
        out = b""
        while True:
            chunk = up.recv(65536)
            if not chunk:
                return out
            out += chunk


class FaultProxy:
    def __init__(self, target_port: int, rate: float = 0.3, seed: int = 0, hold_s: float = 4.0, delay_s=(0.2, 1.5),
                 faults: tuple[str, ...] = FAULTS):
        self.target = ("127.0.0.1", target_port)
        self.rate, self.rng, self.hold_s, self.faults = rate, random.Random(seed), hold_s, faults
        self.delay_s = delay_s
        self.counts: Counter = Counter()
        self.requests = 0
        self.down = False
        self._lock = threading.Lock()
        self._srv = socket.socket()
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind(("127.0.0.1", 0))
        self._srv.listen(64)
        self.port = self._srv.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def injected(self) -> int:
        return sum(self.counts.values())

    def close(self) -> None:
        self._stop = True
        self._srv.close()

    def _accept(self) -> None:
        while not self._stop:
            try:
                c, _ = self._srv.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _draw(self) -> str | None:
        with self._lock:
            self.requests += 1
            if self.rng.random() >= self.rate:
                return None
            f = self.rng.choice(self.faults)
            self.counts[f] += 1
            return f

    def _serve(self, client: socket.socket) -> None:
        try:
            client.settimeout(60)
            if self.down:
                _reset(client)
                return
            req = _read_request(client)
            if req is None:
                client.close()
                return
            head, body = req
            fault = self._draw()
            if fault == "reset_body" and not body:
                fault = "error_5xx"
            if fault == "delay":
                time.sleep(self.rng.uniform(*self.delay_s))
            elif fault == "error_5xx":
                code = self.rng.choice((500, 502, 503))
                client.sendall(f"HTTP/1.1 {code} Injected\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
                client.close()
                return
            elif fault == "timeout":
                time.sleep(self.hold_s)
                _reset(client)
                return
            elif fault == "reset_body":
                cut = self.rng.randint(0, max(0, len(body) - 1))
                try:
                    with socket.create_connection(self.target, timeout=10) as up:
                        up.sendall(head + body[:cut])
                        _reset(up)
                except OSError:
                    pass
                _reset(client)
                return
            try:
                if fault == "duplicate":
                    _exchange(self.target, head, body)
                reply = _exchange(self.target, head, body)
            except OSError:
                _reset(client)  # the receiver is down: the device sees a broken connection
                return
            if fault == "drop_reply":
                _reset(client)
                return
            client.sendall(reply)
            client.close()
        except OSError:
            _reset(client)
