"""Head office's database: SQLite in the data folder by default, PostgreSQL by URL.

    db = HQDatabase.open("hq-data")                              # hq-data/hq.db
    db = HQDatabase.open("hq-data", "postgresql://hq@db/edge")   # the company server

SQL is written once with ``?`` placeholders; for PostgreSQL they become ``%s``. Each
request uses its own connection (:meth:`HQDatabase.connect`); :meth:`Conn.tx` is one
transaction. The schema only ever grows (``hq_migrations``), as on the device.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


_SCHEMA_1 = """
CREATE TABLE devices (
    name        TEXT PRIMARY KEY,
    generation  INTEGER NOT NULL,            -- a re-added device gets a new secret
    created_at  TEXT NOT NULL,
    revoked_at  TEXT,
    last_seen_at TEXT,
    last_address TEXT
);
CREATE TABLE nonces (                        -- seen request nonces (replays are refused)
    device      TEXT NOT NULL,
    nonce       TEXT NOT NULL,
    ts          BIGINT NOT NULL,
    PRIMARY KEY (device, nonce)
);
CREATE TABLE idempotency (                   -- one row per manifest key
    key         TEXT PRIMARY KEY,
    device      TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    state       TEXT NOT NULL,               -- 'in_flight' | 'done'
    started_at  DOUBLE PRECISION NOT NULL,   -- Unix seconds (an in-flight lease)
    finished_at TEXT,
    status      INTEGER,
    response    TEXT
);
CREATE TABLE blobs (
    sha256      TEXT PRIMARY KEY,
    bytes       BIGINT NOT NULL,
    device      TEXT NOT NULL,               -- the first device that sent it
    received_at TEXT NOT NULL
);
CREATE TABLE spot_versions (
    id          {pk},
    device      TEXT NOT NULL,
    spot_id     BIGINT NOT NULL,             -- the device's spot id
    version     INTEGER NOT NULL,
    site_id     BIGINT,
    site_name   TEXT,
    spot_name   TEXT,
    confirmed_at TEXT,
    lat         DOUBLE PRECISION,
    lon         DOUBLE PRECISION,
    first_taken TEXT,
    last_taken  TEXT,
    n_photos    INTEGER NOT NULL,
    cover       TEXT,
    manifest    TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    idem_key    TEXT NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (device, spot_id, version)
);
CREATE INDEX spot_versions_site ON spot_versions(device, site_id);
CREATE TABLE spot_photos (
    version_id  BIGINT NOT NULL REFERENCES spot_versions(id),
    sha256      TEXT NOT NULL REFERENCES blobs(sha256),
    name        TEXT NOT NULL,
    taken_local TEXT,
    phase       TEXT,
    position    INTEGER NOT NULL,
    PRIMARY KEY (version_id, sha256)
);
CREATE TABLE hq_settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL
);
"""

_SCHEMA_2 = """
ALTER TABLE spot_photos ADD COLUMN taken_from TEXT  -- 'exif' | 'file name' | 'file name date', or NULL
                                                    -- when the device's manifest did not say (sent before it did)
"""

#: (version, name, SQL script), the same on SQLite and PostgreSQL. Append only.
MIGRATIONS = [(1, "receiver tables", _SCHEMA_1),
              (2, "where a photo's capture time comes from (EXIF or its file name)", _SCHEMA_2)]


class Conn:
    """One connection; ``?`` placeholders in every dialect."""

    def __init__(self, raw, dialect: str, lock: threading.RLock | None):
        self.raw, self.dialect, self._lock = raw, dialect, lock

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgres" else sql

    def execute(self, sql: str, params=()):
        cur = self.raw.cursor()
        cur.execute(self._sql(sql), tuple(params))
        return cur

    def query(self, sql: str, params=()) -> list[dict]:
        cur = self.execute(sql, params)
        if cur.description is None:
            return []
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row)) for row in cur.fetchall()]

    def one(self, sql: str, params=()) -> dict | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params=()):
        cur = self.execute(sql, params)
        row = cur.fetchone()
        return None if row is None else row[0]

    def insert_id(self, sql: str, params=()) -> int:
        """Run an INSERT into a table with an ``id`` key; returns the new id."""
        if self.dialect == "postgres":
            return int(self.scalar(sql + " RETURNING id", params))
        return int(self.execute(sql, params).lastrowid)

    @contextlib.contextmanager
    def tx(self) -> Iterator["Conn"]:
        """One transaction (SQLite: BEGIN IMMEDIATE under the process's writer lock)."""
        lock = self._lock or contextlib.nullcontext()
        with lock:
            if self.dialect == "sqlite":
                self.raw.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self.raw.rollback()
                raise
            else:
                self.raw.commit()

    def close(self) -> None:
        self.raw.close()


class HQDatabase:
    """Opens connections to head office's database and keeps its schema current."""

    def __init__(self, root: Path, url: str | None):
        self.root = root
        self.url = url
        self.dialect = "postgres" if url and url.startswith(("postgresql://", "postgres://")) else "sqlite"
        if url and self.dialect == "sqlite":
            raise ValueError("--db takes a postgresql:// URL (without it, SQLite in the data folder is used)")
        self._lock = threading.RLock() if self.dialect == "sqlite" else None

    @classmethod
    def open(cls, root: str | Path, url: str | None = None) -> "HQDatabase":
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        db = cls(root, url)
        with contextlib.closing(db.connect()) as c:
            db._migrate(c)
        return db

    def describe(self) -> str:
        """For logs: never the password of a URL."""
        if self.dialect == "sqlite":
            return f"sqlite {self.root / 'hq.db'}"
        from urllib.parse import urlsplit

        u = urlsplit(self.url)
        return f"postgresql {u.hostname or 'local socket'}{':' + str(u.port) if u.port else ''}{u.path}"

    def connect(self) -> Conn:
        if self.dialect == "sqlite":
            raw = sqlite3.connect(str(self.root / "hq.db"), timeout=30, check_same_thread=False,
                                  isolation_level=None)
            raw.execute("PRAGMA journal_mode=WAL")
            raw.execute("PRAGMA synchronous=FULL")
            raw.execute("PRAGMA foreign_keys=ON")
            raw.execute("PRAGMA busy_timeout=30000")
            raw.isolation_level = None
            return Conn(_SqliteAdapter(raw), "sqlite", self._lock)
        import psycopg

        return Conn(psycopg.connect(self.url, autocommit=False), "postgres", None)

    def _migrate(self, c: Conn) -> None:
        with c.tx():
            c.execute("CREATE TABLE IF NOT EXISTS hq_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                      "applied_at TEXT NOT NULL)")
        current = c.scalar("SELECT max(version) FROM hq_migrations") or 0
        pk = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY" if self.dialect == "postgres" else \
            "INTEGER PRIMARY KEY"
        for version, name, script in MIGRATIONS:
            if version <= current:
                continue
            with c.tx():
                if (c.scalar("SELECT max(version) FROM hq_migrations") or 0) >= version:
                    continue
                for sql in script.replace("{pk}", pk).split(";"):
                    sql = "\n".join(line.split("--", 1)[0] for line in sql.splitlines()).strip()
                    if sql:
                        c.execute(sql)
                c.execute("INSERT INTO hq_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                          (version, name, now_iso()))


class _SqliteAdapter:
    """sqlite3 in autocommit mode with explicit BEGIN, shaped like a DB-API connection
    whose commit/rollback end the explicit transaction."""

    def __init__(self, raw: sqlite3.Connection):
        self._raw = raw

    def cursor(self):
        return self._raw.cursor()

    def execute(self, sql, params=()):
        return self._raw.execute(sql, params)

    def commit(self):
        if self._raw.in_transaction:
            self._raw.execute("COMMIT")

    def rollback(self):
        if self._raw.in_transaction:
            self._raw.execute("ROLLBACK")

    def close(self):
        self._raw.close()
