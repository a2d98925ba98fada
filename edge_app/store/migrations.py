"""The store's schema, as an ordered list of migrations.

The database holds field records, so a migration only ever adds: tables, columns, indexes.
Nothing here drops or rewrites a table. ``PRAGMA user_version`` holds the version reached;
each migration runs in its own ``BEGIN IMMEDIATE`` transaction together with the version
bump, so a crash leaves the database at the previous version or the next, never between.
Add a migration by appending to :data:`MIGRATIONS`; never edit one that has shipped.
A migration is an SQL script, or, where SQL alone cannot do it (a value computed by the
program, e.g. a time read from a file name), a Python step: a function given the
connection, run inside the migration's transaction like a script (:func:`migrate`).

Timestamps are ISO 8601 UTC text (``2026-11-30T05:50:00.123Z``). ``taken_at`` is POSIX
seconds (UTC when the camera wrote its offset, else the camera's local time read as UTC)
and ``taken_local`` the camera's own clock as ``YYYY-MM-DD HH:MM:SS``, which is what a
person expects to see.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from typing import Callable, Union

from ..engine.metadata import capture_time
from ..engine.phases import phase_changes

V1_CORE = """
CREATE TABLE sites (
    id          INTEGER PRIMARY KEY,
    name        TEXT,                        -- NULL: shown as an automatic name (first date)
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,               -- 'engine' or the person
    merged_into INTEGER REFERENCES sites(id) -- a site a person merged into another
);
CREATE TABLE batches (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,               -- 'upload' | 'watch' | 'cli'
    who         TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,                        -- the last file of the batch has arrived
    regrouped_at TEXT                        -- the worker regrouped its sites afterwards
);
CREATE TABLE photos (
    sha256      TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    name        TEXT NOT NULL,               -- original file name, as given
    ext         TEXT NOT NULL,               -- extension of the stored original ('.jpg')
    format      TEXT,                        -- 'JPEG', 'PNG', 'HEIF', ...
    bytes       INTEGER NOT NULL,
    width       INTEGER,                     -- upright size of the original, pixels
    height      INTEGER,
    orientation INTEGER,                     -- EXIF orientation 1..8
    taken_at    REAL,
    taken_local TEXT,
    lat         REAL,
    lon         REAL,
    alt         REAL,
    camera      TEXT,
    site_id     INTEGER REFERENCES sites(id),
    site_by     TEXT,                        -- 'engine' | 'person'
    phase       TEXT CHECK (phase IN ('before', 'during', 'after')),
    phase_by    TEXT,                        -- 'engine' | 'person'
    state       TEXT NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'analysed', 'failed')),
    state_reason TEXT,                       -- why analysis failed, for a person
    transient   REAL,                        -- share of the frame covered by people
    batch_id    INTEGER REFERENCES batches(id),
    source      TEXT NOT NULL,
    added_at    TEXT NOT NULL,
    added_by    TEXT NOT NULL,
    removed_at  TEXT,                        -- removed by a person (undoable); never deleted
    removed_by  TEXT
);
CREATE INDEX photos_site ON photos(site_id);
CREATE INDEX photos_state ON photos(state);
CREATE INDEX photos_batch ON photos(batch_id);
CREATE TABLE arrivals (                      -- every file offered to the store, with its outcome
    id          INTEGER PRIMARY KEY,
    batch_id    INTEGER REFERENCES batches(id),
    name        TEXT NOT NULL,
    sha256      TEXT,
    outcome     TEXT NOT NULL CHECK (outcome IN ('added', 'duplicate', 'refused')),
    reason      TEXT,                        -- refusal reason, short, user-facing
    detail      TEXT,
    source      TEXT NOT NULL,
    who         TEXT NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX arrivals_batch ON arrivals(batch_id);
CREATE TABLE spots (
    id          INTEGER PRIMARY KEY,
    site_id     INTEGER NOT NULL REFERENCES sites(id),
    name        TEXT,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,               -- 'engine' or the person
    touched     INTEGER NOT NULL DEFAULT 0,  -- a person edited it: the engine never takes photos out
    confirmed_at TEXT,                       -- confirmed: locked, the engine changes nothing
    confirmed_by TEXT,
    cover       TEXT REFERENCES photos(sha256),
    removed_at  TEXT                         -- emptied (merged away, all photos moved out)
);
CREATE INDEX spots_site ON spots(site_id);
CREATE TABLE edits (                         -- the audit log: every person's edit, undoable
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    who         TEXT NOT NULL,
    action      TEXT NOT NULL,               -- 'move', 'merge', 'split', 'rename', ...
    site_id     INTEGER REFERENCES sites(id),
    summary     TEXT NOT NULL,               -- JSON: what the page shows ("moved 2 photos to ...")
    changes     TEXT NOT NULL,               -- JSON list of reversible changes (edits.py)
    undone_at   TEXT,
    undone_by   TEXT
);
CREATE TABLE memberships (                   -- which spot a photo is in: one current row per photo
    id          INTEGER PRIMARY KEY,
    photo       TEXT NOT NULL REFERENCES photos(sha256),
    spot_id     INTEGER REFERENCES spots(id), -- NULL: the unassigned tray
    by          TEXT NOT NULL CHECK (by IN ('engine', 'person')),
    score       REAL,                        -- the engine's same-spot probability for this place
    suggest     INTEGER REFERENCES spots(id), -- unassigned: a confirmed spot it looks like
    edit_id     INTEGER REFERENCES edits(id),
    created_at  TEXT NOT NULL,
    ended_at    TEXT
);
CREATE UNIQUE INDEX memberships_current ON memberships(photo) WHERE ended_at IS NULL;
CREATE INDEX memberships_spot ON memberships(spot_id) WHERE ended_at IS NULL;
CREATE TABLE thumbnails (
    photo       TEXT NOT NULL REFERENCES photos(sha256),
    kind        TEXT NOT NULL,               -- 'thumb' (small, for the grid) | 'large'
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    jpeg        BLOB NOT NULL,
    PRIMARY KEY (photo, kind)
);
CREATE TABLE settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL                -- JSON
);
"""

V2_CACHES = """
CREATE TABLE pair_scores (                   -- the engine's pair cache, kept across restarts
    a           TEXT NOT NULL,
    b           TEXT NOT NULL,               -- a < b (sha256)
    version     TEXT NOT NULL,               -- features + verification settings
    matches     INTEGER NOT NULL,
    inliers     INTEGER NOT NULL,
    inliers_h   INTEGER NOT NULL,
    inlier_ratio REAL NOT NULL,
    coverage_a  REAL NOT NULL,
    coverage_b  REAL NOT NULL,
    PRIMARY KEY (version, a, b)
) WITHOUT ROWID;
CREATE TABLE watch_seen (                    -- files of a watched folder already taken in
    path        TEXT NOT NULL PRIMARY KEY,
    size        INTEGER NOT NULL,
    mtime_ns    INTEGER NOT NULL,
    sha256      TEXT,
    at          TEXT NOT NULL
);
"""

V_OUTBOX = """
CREATE TABLE outbox (                        -- confirmed spot versions for head office
    id          INTEGER PRIMARY KEY,
    spot_id     INTEGER NOT NULL REFERENCES spots(id),
    version     INTEGER NOT NULL,            -- 1, 2, ... per spot; head office keeps each
    key         TEXT NOT NULL UNIQUE,        -- the Idempotency-Key of its manifest
    content_sha256 TEXT NOT NULL,            -- of the manifest without its version
    manifest    TEXT NOT NULL,               -- JSON snapshot of the spot (outbox.py)
    created_at  TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'attention')),
    attempts    INTEGER NOT NULL DEFAULT 0,  -- failures head office answered (not offline ones)
    next_attempt_at REAL NOT NULL DEFAULT 0, -- Unix seconds (back-off)
    last_error  TEXT,
    photos_total INTEGER NOT NULL DEFAULT 0,
    photos_done INTEGER NOT NULL DEFAULT 0,
    sent_at     TEXT,
    UNIQUE (spot_id, version)
);
CREATE INDEX outbox_state ON outbox(state, next_attempt_at);
CREATE TABLE sync_blobs (                    -- photos head office has confirmed it holds
    sha256      TEXT PRIMARY KEY,
    hq          TEXT NOT NULL,               -- the head-office URL that has it
    at          TEXT NOT NULL
);
"""

V_LEDGER = """
ALTER TABLE sites ADD COLUMN works_name TEXT;   -- 공사명 (photo ledger header)
ALTER TABLE sites ADD COLUMN company TEXT;      -- 회사명
ALTER TABLE sites ADD COLUMN work_type TEXT;    -- 공종, optional (제초, 수목 전정, 토공, ...)
ALTER TABLE sites ADD COLUMN stage_words TEXT;  -- 'construction' | 'work' | 'completion'; NULL: construction
ALTER TABLE spots ADD COLUMN location TEXT;     -- 위치/측점, free text ("컨테이너 좌측", "STA.0+120")
ALTER TABLE spots ADD COLUMN asset_no TEXT;     -- optional asset number (a tree tag)
ALTER TABLE spots ADD COLUMN caption TEXT       -- 내용
"""

V_REVIEW = """
ALTER TABLE spots ADD COLUMN review TEXT        -- the engine asks a person to look at this spot: 'machine'
                                                -- (joined on something one shot shows) | 'shared' (a
                                                -- photo matches only a structure behind the subject);
                                                -- NULL: nothing; set on engine spots only
"""

V_RETRY = """
ALTER TABLE photos ADD COLUMN tries INTEGER NOT NULL DEFAULT 0;  -- analyses that failed for a passing cause
                                                                   -- (disk full, out of memory); 0 after a success
ALTER TABLE photos ADD COLUMN retry_at REAL;    -- Unix seconds: a waiting photo put off after such a failure is
                                                -- not analysed before this; NULL: not put off
UPDATE photos SET state = 'waiting', tries = 1 WHERE state = 'failed'
    AND state_reason IN ('could not be analysed', 'too large to process', 'unreadable')
"""

V_LEDGER_COVER = """
ALTER TABLE sites ADD COLUMN client TEXT;          -- 발주처 (the photo ledger's cover)
ALTER TABLE sites ADD COLUMN contract_no TEXT;     -- 계약번호
ALTER TABLE sites ADD COLUMN contract_period TEXT  -- 공사기간, as entered ("2026.03.02 ~ 2026.11.30")
"""

V_TAKEN_FROM = """
ALTER TABLE photos ADD COLUMN taken_from TEXT   -- where taken_at / taken_local come from: 'exif' | 'file name'
    CHECK (taken_from IN ('exif', 'file name', 'file name date'));  -- (a phone's name such as
                                                -- IMG_20231110_084214.jpg, the photo without an EXIF time)
                                                -- | 'file name date' (the name holds the day only: 00:00)
                                                -- | NULL (no capture time)
UPDATE photos SET taken_from = 'exif' WHERE taken_at IS NOT NULL
"""

V_SUGGESTIONS = """
CREATE TABLE suggestions (                   -- a later engine answer would take a photo out of a spot shown
    id          INTEGER PRIMARY KEY,         -- on the page: asked (one tap to accept or dismiss), never done
    site_id     INTEGER NOT NULL REFERENCES sites(id),
    photo       TEXT NOT NULL REFERENCES photos(sha256),
    from_spot   INTEGER NOT NULL REFERENCES spots(id), -- where the photo is (an earlier engine answer put it)
    to_spot     INTEGER REFERENCES spots(id), -- where the new answer puts it; NULL: a new spot (to_new) or the tray
    to_new      INTEGER,                     -- a new spot: suggestions of a site with the same number go together
    score       REAL,                        -- the engine's same-spot probability at the target
    created_at  TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'accepted', 'dismissed', 'replaced')),
    ended_at    TEXT,                        -- accepted / dismissed by a person, or replaced by a later answer
    ended_by    TEXT
);
CREATE INDEX suggestions_site ON suggestions(site_id, state)
"""

V_PAIR_DISTINCT = """
ALTER TABLE pair_scores ADD COLUMN distinct_inliers INTEGER NOT NULL DEFAULT -1  -- inliers whose match is
                                                -- unambiguous (the look-alike guard); -1: not measured
"""

V_SPOT_NUMBERS = """
ALTER TABLE spots ADD COLUMN number INTEGER;    -- "지점 N" of an unnamed spot: the site's next number when made,
                                                -- kept when its site is split (the new site shows it as before)
UPDATE spots SET number = (SELECT count(*) FROM spots s2 WHERE s2.site_id = spots.site_id AND s2.id <= spots.id)
"""



def backfill_name_times(conn: sqlite3.Connection, now: datetime | None = None) -> int:
    """Store migration 12: a photo without a capture time (stored before migration 8 gave
    new photos their file name's time, or whose name holds none) takes the time its stored
    file name carries, by :func:`~edge_app.engine.metadata.capture_time`, the intake's own rule, marked 'file name' /
    'file name date'. Photos with a time (EXIF or already from the name) are not read;
    a name with no time leaves its photo as it was, so a second run changes nothing.
    ``conn``: the raw sqlite3 connection, inside the migration's transaction; ``now``: the
    clock a name's date must not be after (:func:`~edge_app.engine.metadata.name_time`).
    Returns how many photos took a time. Their stages: :func:`phases_from_name_times`
    (migration 13)."""
    rows = conn.execute("SELECT sha256, name FROM photos WHERE taken_at IS NULL AND taken_from IS NULL").fetchall()
    n = 0
    for sha, name in rows:
        taken_at, taken_local, taken_from = capture_time(None, None, name, now)
        if taken_from is None:
            continue
        conn.execute("UPDATE photos SET taken_at = ?, taken_local = ?, taken_from = ? "
                     "WHERE sha256 = ? AND taken_at IS NULL", (taken_at, taken_local, taken_from, sha))
        n += 1
    return n



def phases_from_name_times(conn: sqlite3.Connection) -> int:
    """Store migration 13: the stages of the spots that hold a photo whose time came from its
    file name (migration 12 gave many of them a time after the engine had placed them
    without one, so they stood as "단계 미상" in the ledger until the engine next placed a
    photo of that spot), as :func:`~edge_app.engine.phases.phase_changes` gives them now, on
    every photo no person labelled. Confirmed spots stay as the lead confirmed them (head
    office holds that version); a person's stage always stays. ``conn``: the raw sqlite3
    connection, inside the migration's transaction. Returns how many photos changed stage;
    a second run changes nothing."""
    spot_ids = [r[0] for r in conn.execute(
        """SELECT DISTINCT m.spot_id FROM memberships m JOIN photos p ON p.sha256 = m.photo
           JOIN spots s ON s.id = m.spot_id
           WHERE m.ended_at IS NULL AND p.removed_at IS NULL AND s.removed_at IS NULL
             AND s.confirmed_at IS NULL AND p.taken_from IN ('file name', 'file name date')
             AND coalesce(p.phase_by, 'engine') = 'engine' ORDER BY m.spot_id""")]
    n = 0
    for spot_id in spot_ids:
        rows = conn.execute("""SELECT p.sha256, p.taken_at, p.phase, p.phase_by FROM memberships m
                               JOIN photos p ON p.sha256 = m.photo
                               WHERE m.spot_id = ? AND m.ended_at IS NULL AND p.removed_at IS NULL""",
                            (spot_id,)).fetchall()
        for sha, new in phase_changes([tuple(r) for r in rows]):
            conn.execute("UPDATE photos SET phase = ?, phase_by = 'engine' WHERE sha256 = ?", (new, sha))
            n += 1
    return n

#: A migration's work: an SQL script (statements separated by ``;``) or a Python step
#: (a function of the connection; it must not commit, and must leave done rows as they are).
Step = Union[str, Callable[[sqlite3.Connection], None]]

#: (version, name, SQL script or Python step). Append only.
MIGRATIONS: list[tuple[int, str, Step]] = [
    (1, "core tables", V1_CORE),
    (2, "pair cache and watched folders", V2_CACHES),
    (3, "outbox for head office", V_OUTBOX),
    (4, "photo ledger fields", V_LEDGER),
    (5, "review flag of a spot (the thorough pass)", V_REVIEW),
    (6, "analysis retried after a passing failure (disk full, out of memory)", V_RETRY),
    (7, "photo ledger cover fields (발주처, 계약번호, 공사기간)", V_LEDGER_COVER),
    (8, "where a photo's capture time comes from (EXIF or its file name)", V_TAKEN_FROM),
    (9, "the engine's suggested moves out of shown spots", V_SUGGESTIONS),
    (10, "distinct inliers of a cached pair (the look-alike guard)", V_PAIR_DISTINCT),
    (11, "a spot's number, kept across a site split", V_SPOT_NUMBERS),
    (12, "capture times from file names for photos stored before migration 8", backfill_name_times),
    (13, "stages of unconfirmed spots from the capture times file names gave", phases_from_name_times),
]

SCHEMA_VERSION = MIGRATIONS[-1][0]
if [v for v, _, _ in MIGRATIONS] != list(range(1, len(MIGRATIONS) + 1)):  # pragma: no cover - a coding error
    raise RuntimeError("MIGRATIONS must be numbered 1, 2, 3, ... in order (append a new version; never reuse one)")


class MigrationError(RuntimeError):
    """The database cannot be brought to this program's schema."""


def _statements(script: str) -> list[str]:
    """The SQL statements of a script (``--`` comments removed; the scripts above hold no
    string literal with ``--`` or ``;``)."""
    text = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
    return [sql.strip() for sql in text.split(";") if sql.strip()]


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Apply the migrations above the database's version up to ``target``; returns the
    version reached. A database newer than this program raises MigrationError."""
    current = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if current > SCHEMA_VERSION:
        raise MigrationError(f"the data was written by a newer edge-app (schema {current}, this one knows "
                             f"{SCHEMA_VERSION}); upgrade edge-app")
    for version, name, script in MIGRATIONS:
        if version <= current or version > target:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # another process may have migrated while this one waited for the lock
            if int(conn.execute("PRAGMA user_version").fetchone()[0]) >= version:
                conn.execute("ROLLBACK")
                continue
            if version == 1:
                conn.execute("CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, "
                             "name TEXT NOT NULL, applied_at TEXT NOT NULL)")
            if callable(script):
                script(conn)
            else:
                for sql in _statements(script):
                    conn.execute(sql)
            conn.execute("INSERT INTO migrations (version, name, applied_at) VALUES (?, ?, ?)",
                         (version, name, datetime.now(timezone.utc).isoformat(timespec="seconds")))
            conn.execute(f"PRAGMA user_version={version}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        current = version
    return current
