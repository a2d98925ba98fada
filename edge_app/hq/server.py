"""cheroot set up for head office (``edge-app hq serve``), so that slow or hostile clients
do not starve it (issue 19).

* ``timeout``: a read of the request (line, headers, body) that gets nothing for
  ``hq.read_timeout_s`` seconds ends the connection;
* a header deadline: cheroot's timeout counts per read, so a client sending one byte every
  few seconds would hold a worker thread for ever; :class:`HeaderDeadline` closes any
  connection still sending its request line and headers ``header_timeout_s`` after it
  began;
* enough worker threads (``hq.threads``, 32 by default) and a bounded accept queue (beyond
  it: 503 at once, never an unbounded backlog);
* a body head office did not read (a refused upload, an unsigned request) is never read
  afterwards to keep the connection alive: the connection is closed instead;
* ``max_request_body_size``: beyond the largest photo, 413 before the application runs;
* with ``--cert/--key``, the TLS handshake runs in the connection's worker thread under the
  header deadline (:class:`WorkerHandshakeSSL`), never on the accept thread: cheroot's
  builtin adapter shakes hands there, so one client that connected and sent no ClientHello
  stalled every new connection for up to the read timeout;
* a cap on the connections one client address holds open (``hq.per_address_connections``,
  :class:`~edge_app.access.connections.PerAddress`): a further one is closed as soon as it
  is accepted, before any thread reads it; the pool has that many threads beyond
  ``hq.threads``, so one address at its cap leaves ``hq.threads`` to everyone else. Off
  behind a proxy (``--proxy``: every connection comes from the proxy).

The limits are settings of :mod:`edge_app.app_settings` (``hq.*``, docs/settings.md).
"""

from __future__ import annotations

import logging
import queue
import socket
import ssl
import threading
import time

from cheroot import server as cheroot_server
from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from .. import app_settings
from ..access.connections import PerAddress

log = logging.getLogger("edge_app.hq")


class HeaderDeadline:
    """Connections in the middle of their request line and headers, each with a deadline;
    a watcher thread shuts the socket of any that passes it (its worker thread's read then
    ends at once)."""

    def __init__(self, limit_s: float):
        self.limit_s = limit_s
        self._lock = threading.Lock()
        self._open: dict[socket.socket, float] = {}
        self.cut = 0

    def begin(self, sock) -> None:
        with self._lock:
            self._open[sock] = time.monotonic() + self.limit_s

    def end(self, sock) -> None:
        with self._lock:
            self._open.pop(sock, None)

    def expire(self) -> int:
        """Shut every connection past its deadline; how many."""
        now = time.monotonic()
        with self._lock:
            late = [s for s, deadline in self._open.items() if deadline <= now]
            for s in late:
                del self._open[s]
        for s in late:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.cut += len(late)
        return len(late)

    def watch(self, stop: threading.Event, every_s: float = 0.5) -> threading.Thread:
        """Start the watcher thread (until ``stop`` is set)."""
        def loop():
            while not stop.wait(every_s):
                if self.expire():
                    log.info("closed slow connections (headers unfinished after %.0f s); %d so far", self.limit_s,
                             self.cut)
        t = threading.Thread(target=loop, name="hq-header-deadline", daemon=True)
        t.start()
        return t


class _Request(cheroot_server.HTTPRequest):
    """cheroot's request with the header deadline, and without reading a body the
    application left unread."""

    def parse_request(self):
        deadline: HeaderDeadline = self.server.header_deadline
        deadline.begin(self.conn.socket)
        try:
            return super().parse_request()
        finally:
            deadline.end(self.conn.socket)

    def send_headers(self):
        if self.chunked_read or getattr(self.rfile, "remaining", 0) > 0:
            self.close_connection = True  # else cheroot would read the rest (into memory) to keep it alive
        return super().send_headers()


class WorkerHandshakeSSL(BuiltinSSLAdapter):
    """cheroot's builtin TLS adapter whose handshake waits for the worker thread: ``wrap``
    (called on the accept thread) hands the plain socket back untouched, and the connection
    wraps it (:meth:`tls_socket`) and shakes hands first thing in its worker thread, under
    the header deadline."""

    def wrap(self, sock):
        return sock, {}

    def tls_socket(self, sock) -> ssl.SSLSocket:
        """``sock`` as a server-side TLS socket whose handshake is still to come (``sock``
        itself is detached: use the result, also to close)."""
        return self.context.wrap_socket(sock, do_handshake_on_connect=False, server_side=True)


_PLAIN_HTTP_ON_TLS = (b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                      b"Content-Length: 74\r\n\r\n"
                      b"The client sent a plain HTTP request, but this server only speaks HTTPS.\r\n")


class _Connection(cheroot_server.HTTPConnection):
    """cheroot's connection, counted against its client address while open, with its TLS
    handshake (if any) done in its worker thread."""

    RequestHandlerClass = _Request
    counted = False
    tls_pending = False

    def __init__(self, server, sock, makefile=cheroot_server.MakeFile):
        super().__init__(server, sock, makefile)
        self.tls_pending = isinstance(server.ssl_adapter, WorkerHandshakeSSL)

    def communicate(self):
        if self.tls_pending:
            self.tls_pending = False
            if not self._handshake():
                return False
        return super().communicate()

    def _handshake(self) -> bool:
        """The TLS handshake, under the header deadline; False: the connection is to close
        (no ClientHello in time, a dropped or broken handshake, plain HTTP: told so)."""
        adapter: WorkerHandshakeSSL = self.server.ssl_adapter
        deadline: HeaderDeadline = self.server.header_deadline
        try:
            sock = adapter.tls_socket(self.socket)
        except (OSError, ValueError):
            return False
        self.socket = sock  # close() closes this one from now on
        deadline.begin(sock)
        try:
            sock.do_handshake()
        except ssl.SSLError as e:
            if "http request" in str(e).lower():
                _answer_plain(sock)
            return False
        except Exception:  # noqa: BLE001 - a reset, a timeout, the deadline's shutdown mid-way
            return False
        finally:
            deadline.end(sock)
        self.ssl_env = adapter.get_environ(sock)
        self.rfile = adapter.makefile(sock, "rb", self.rbufsize)
        self.wfile = adapter.makefile(sock, "wb", self.wbufsize)
        return True

    def close(self):
        self.server._release(self)
        try:
            super().close()
        except OSError as e:  # an exception here would end the worker thread, and the server with it
            log.info("closing a connection from %s: %s", self.remote_addr, e)
            try:
                self.socket.close()
            except OSError:
                pass


class _Server(wsgi.Server):
    """cheroot's server with the per-address cap: a connection from an address already at
    its cap is closed on the accept thread, before any worker thread sees it. Its pool runs
    ``hq.threads`` + the cap workers."""

    def prepare(self):
        """cheroot's start, and the pool's workers beyond its minimum (``hq.threads``): one
        for each connection an address may hold, started with it, never on demand."""
        super().prepare()
        if self.ready:
            self.requests.grow(self.requests.max - self.requests.min)

    def process_conn(self, conn):
        if not conn.counted and not isinstance(self.bind_addr, (str, bytes)):
            if not self.per_address.admit(conn.remote_addr):
                conn.close()
                if self.per_address.refused in (1, 10, 100) or self.per_address.refused % 1000 == 0:
                    log.info("refused a connection from %s: it holds %d already (%d refused so far)",
                             conn.remote_addr, self.per_address.limit, self.per_address.refused)
                return
            conn.counted = True
        try:
            self.requests.put(conn)
        except queue.Full:  # cheroot answers 503 on another thread, and may not close it if that write fails:
            self._release(conn)  # the address's count must not keep it
            self._unservicable_conns.put(conn)

    def _release(self, conn) -> None:
        if conn.counted:
            conn.counted = False
            self.per_address.release(conn.remote_addr)


def _answer_plain(sock: ssl.SSLSocket) -> None:
    """Say "https only", in plain text, to a plain HTTP request on the TLS port (written to
    the TCP socket under the TLS one), and close gently: what the client still sends is read
    first, so the answer is not lost to a reset."""
    try:
        socket.socket.settimeout(sock, 2)
        socket.socket.sendall(sock, _PLAIN_HTTP_ON_TLS)
        socket.socket.shutdown(sock, socket.SHUT_WR)
        until = time.monotonic() + 2
        while time.monotonic() < until and socket.socket.recv(sock, 65536):
            pass
    except OSError:
        pass


def make_server(app, host: str, port: int, threads: int | None = None,
                header_timeout_s: float | None = None, per_address: int | None = None) -> wsgi.Server:
    """A cheroot server for ``app`` on ``host:port`` with the limits above (``threads``,
    ``header_timeout_s`` and ``per_address`` default to the settings ``hq.threads``,
    ``hq.header_timeout_s``, ``hq.per_address_connections``; 0: no cap); call :func:`serve`
    to run it."""
    threads = app_settings.value("hq.threads") if threads is None else threads
    if header_timeout_s is None:
        header_timeout_s = app_settings.value("hq.header_timeout_s")
    if per_address is None:
        per_address = app_settings.value("hq.per_address_connections")
    workers = threads + per_address  # one address at its cap leaves ``threads`` to the others
    server = _Server((host, port), app, numthreads=threads, max=workers, server_name="edge-app-hq",
                     timeout=app_settings.value("hq.read_timeout_s"),
                     request_queue_size=128, accepted_queue_size=workers * 8, accepted_queue_timeout=1,
                     shutdown_timeout=5)
    server.ConnectionClass = _Connection
    server.per_address = PerAddress(per_address)
    server.header_deadline = HeaderDeadline(header_timeout_s)
    server.max_request_body_size = app_settings.value("hq.max_blob_bytes") + (1 << 20)
    return server


def serve(server: wsgi.Server) -> None:
    """Run until KeyboardInterrupt (SIGTERM is turned into one by the command)."""
    stop = threading.Event()
    server.header_deadline.watch(stop)
    try:
        server.start()
    except KeyboardInterrupt:
        server.stop()
    finally:
        stop.set()
