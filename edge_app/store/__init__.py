"""The site app's store: one SQLite file plus content-addressed originals in a data folder.

    from edge_app.store import open_store, photos, spots, edits

    st = open_store("edge-data")                  # creates / migrates edge-data/edge_app.db
    res = photos.add_path(st, "IMG_0012.JPG", source="cli", who="cli")
    spots.move(st, [res.sha256], "new", who="lead")
    edits.undo(st, who="lead")

Plain library over sqlite-utils 4, no Flask import: the CLI, the web app, the worker and the
tests all use these functions. Layout of the data folder::

    edge_app.db                 SQLite, WAL, synchronous=FULL, versioned migrations
    originals/ab/<sha256>.jpg   the photos as received, never modified
    cache/features/             the engine's per-photo feature cache
    tmp/                        temporary files (same file system, for atomic renames); those
                                a killed write left are removed when a process first opens
                                the store, once untouched for an hour (fileio.STALE_TMP_S)

Writing: every change goes through :meth:`Store.write`, one short ``BEGIN IMMEDIATE``
transaction under a per-process lock (one writer path; other processes wait on SQLite's
busy timeout). A commit returns only once it is on disk (WAL + ``synchronous=FULL``), so a
photo acknowledged to the user survives a power cut.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import sqlite_utils

from ..fileio import fsync_dir, remove_stale_temp

from .migrations import SCHEMA_VERSION, migrate

DB_NAME = "edge_app.db"

_write_locks: dict[str, threading.RLock] = {}
_write_locks_guard = threading.Lock()


def now_iso() -> str:
    """Current UTC time as ISO 8601 with milliseconds and a Z, the store's timestamp format."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def seconds_since(iso: str) -> float:
    """Seconds from a store timestamp (:func:`now_iso` format) until now."""
    t = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return time.time() - t.timestamp()


class StoreError(ValueError):
    """A request the store refuses (unknown spot, photo not in the store, ...); the message
    is short and safe to show to a person who reads English (the command line). ``code``
    names it for a page in the lead's language (``err_<code>`` in pages/i18n.py, with
    ``params``); a StoreError without one carries a message already in the lead's words."""

    def __init__(self, message: str, code: str | None = None, **params):
        super().__init__(message)
        self.code, self.params = code, params


class Store:
    """One connection to a data folder's database (one per thread; cheap to open).

    root: the data folder. db: the :class:`sqlite_utils.Database` on the connection.
    """

    def __init__(self, root: str | Path, timeout_s: float = 30.0):
        self.root = Path(root)
        self.db_path = self.root / DB_NAME
        conn = sqlite3.connect(str(self.db_path), timeout=timeout_s, isolation_level=None,
                               check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
        self.conn = conn
        self.db = sqlite_utils.Database(conn, execute_plugins=False)
        key = str(self.db_path.resolve())
        with _write_locks_guard:
            self._lock = _write_locks.setdefault(key, threading.RLock())

    # -- paths -----------------------------------------------------------------------
    @property
    def originals(self) -> Path:
        return self.root / "originals"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    # -- transactions ------------------------------------------------------------------
    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``), committed on exit, rolled back on an
        exception. Nested calls join the outer transaction."""
        with self._lock:
            if self.conn.in_transaction:
                yield self.conn
                return
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")

    def query(self, sql: str, params=()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    def one(self, sql: str, params=()) -> sqlite3.Row | None:
        return self.conn.execute(sql, params).fetchone()

    def scalar(self, sql: str, params=()):
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def schema_version(self) -> int:
        return int(self.scalar("PRAGMA user_version"))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_cleaned: set[str] = set()


def _clean_once(root: Path) -> None:
    """The first time this process opens ``root``: remove the temporary files that killed
    writes left in ``tmp/`` and under ``cache/`` (only those untouched for
    :data:`~edge_app.fileio.STALE_TMP_S`: a younger one may be another process's write in
    progress)."""
    key = str(root.resolve())
    with _write_locks_guard:
        if key in _cleaned:
            return
        _cleaned.add(key)
    remove_stale_temp(root / "tmp")
    remove_stale_temp(root / "cache", recursive=True)


def open_store(root: str | Path, create: bool = True) -> Store:
    """Open (and create or migrate) the store in ``root``.

    Raises StoreError when ``root`` holds no store and ``create`` is false, or when its
    schema is newer than this program knows (a downgrade never touches the data).
    """
    root = Path(root)
    if not (root / DB_NAME).exists():
        if not create:
            raise StoreError(f"no edge-app data in {root} (start with: edge-app add --data {root} PHOTOS)", "no_data")
        root.mkdir(parents=True, exist_ok=True)
    for sub in ("originals", "tmp", "cache"):
        (root / sub).mkdir(exist_ok=True)
    _clean_once(root)
    st = Store(root)
    try:
        with st._lock:
            migrate(st.conn)
    except Exception:
        st.close()
        raise
    return st


__all__ = ["Store", "StoreError", "open_store", "now_iso", "seconds_since", "fsync_dir", "SCHEMA_VERSION", "DB_NAME"]
