"""The outbox: confirmed spots waiting to reach head office.

An entry is written in the same transaction as the edit that makes it due: confirming a
spot, and any later edit of a confirmed spot (its name, a phase, a photo moved in or out,
an undo). Each entry is a new *version* of the spot with a snapshot of it (the manifest)
and its own idempotency key, so head office keeps every version and a re-sent entry is
never a duplicate. An edit that leaves the manifest as it was adds nothing.

States: ``pending`` (to send; ``next_attempt_at`` holds the back-off), ``sent`` (head office
acknowledged it; nothing local is removed), ``attention`` (head office refused it, or it
failed ``MAX_ATTEMPTS`` times: ``last_error`` says why; "sync now" retries it).
"""

from __future__ import annotations

import hashlib
import json
import uuid

from . import Store, now_iso

MANIFEST_FORMAT = 1

_SPOT_PRIVATE = {"touched", "removed_at", "site_id"}
#: A photo's columns in the manifest. ``taken_from`` (where its capture time comes from:
#: 'exif' | 'file name' | 'file name date'; migration 8) came later: head office takes a
#: manifest without it as one whose times' source is unknown (no "(파일명)" mark).
_PHOTO_COLS = ("sha256", "name", "ext", "format", "bytes", "width", "height", "orientation", "taken_at", "taken_local",
               "taken_from", "lat", "lon", "alt", "camera", "phase", "phase_by")


def manifest(st: Store, spot_id: int) -> dict:
    """A snapshot of one spot as head office receives it (JSON-ready)."""
    spot = dict(st.one("SELECT * FROM spots WHERE id = ?", (spot_id,)))
    site = dict(st.one("SELECT * FROM sites WHERE id = ?", (spot["site_id"],)))
    rows = st.query(f"""SELECT {', '.join('p.' + c for c in _PHOTO_COLS)}, m.by FROM memberships m
                        JOIN photos p ON p.sha256 = m.photo
                        WHERE m.spot_id = ? AND m.ended_at IS NULL AND p.removed_at IS NULL
                        ORDER BY p.taken_at IS NULL, p.taken_at, p.name""", (spot_id,))
    photos = [dict(r) for r in rows]
    gps = [(p["lat"], p["lon"]) for p in photos if p["lat"] is not None and p["lon"] is not None]
    edits = st.query("SELECT at, who, action, summary, undone_at FROM edits WHERE site_id = ? ORDER BY id",
                     (spot["site_id"],))
    mine = []
    for e in edits:
        summary = json.loads(e["summary"])
        if spot_id in _spots_named(summary):
            mine.append({"at": e["at"], "who": e["who"], "action": e["action"], "summary": summary,
                         "undone": e["undone_at"] is not None})
    return {
        "format": MANIFEST_FORMAT,
        "site": {k: v for k, v in site.items() if k != "merged_into"},
        "spot": {k: v for k, v in spot.items() if k not in _SPOT_PRIVATE} | {
            "lat": sum(g[0] for g in gps) / len(gps) if gps else None,
            "lon": sum(g[1] for g in gps) / len(gps) if gps else None},
        "photos": photos,
        "edits": mine,
    }


def _spots_named(summary: dict) -> set[int]:
    out = set()
    for k in ("spot", "to", "into"):
        if isinstance(summary.get(k), int):
            out.add(summary[k])
    for k in ("spots",):
        if isinstance(summary.get(k), list):
            out.update(x for x in summary[k] if isinstance(x, int))
    return out


def _content_hash(m: dict) -> str:
    return hashlib.sha256(json.dumps(m, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def enqueue(st: Store, spot_id: int) -> int | None:
    """Queue a new version of a confirmed spot (inside the caller's transaction); None when
    the spot is not confirmed or nothing changed since the last version."""
    row = st.one("SELECT confirmed_at, removed_at FROM spots WHERE id = ?", (spot_id,))
    if row is None or row["confirmed_at"] is None or row["removed_at"] is not None:
        return None
    m = manifest(st, spot_id)
    if not m["photos"]:
        return None
    h = _content_hash(m)
    last = st.one("SELECT version, content_sha256 FROM outbox WHERE spot_id = ? ORDER BY version DESC LIMIT 1",
                  (spot_id,))
    if last is not None and last["content_sha256"] == h:
        return None
    version = 1 if last is None else last["version"] + 1
    m["spot"]["version"] = version
    return st.db["outbox"].insert({
        "spot_id": spot_id, "version": version, "key": str(uuid.uuid4()), "content_sha256": h,
        "manifest": json.dumps(m, ensure_ascii=False), "created_at": now_iso(), "state": "pending",
        "attempts": 0, "next_attempt_at": 0.0, "photos_total": len(m["photos"]), "photos_done": 0}).last_pk


def spots_of_changes(st: Store, changes: list[dict]) -> set[int]:
    """The spots an edit's changes touch (see :mod:`edits`)."""
    out: set[int] = set()
    for c in changes:
        if c["k"] == "set" and c["table"] == "spots":
            out.add(c["id"])
        elif c["k"] == "set" and c["table"] == "sites":  # works details: every confirmed spot of the site
            out.update(r[0] for r in st.query("SELECT id FROM spots WHERE site_id = ? AND confirmed_at IS NOT NULL "
                                              "AND removed_at IS NULL", (c["id"],)))
        elif c["k"] == "set" and c["table"] == "photos":
            s = st.scalar("SELECT spot_id FROM memberships WHERE photo = ? AND ended_at IS NULL", (c["id"],))
            if s is not None:
                out.add(s)
        elif c["k"] == "m":
            for rid in (c["old"], c["new"]):
                if rid is not None:
                    s = st.scalar("SELECT spot_id FROM memberships WHERE id = ?", (rid,))
                    if s is not None:
                        out.add(s)
    return out


def enqueue_changed(st: Store, changes: list[dict]) -> list[int]:
    """Queue new versions of the confirmed spots an edit touched (inside its transaction)."""
    return [e for s in sorted(spots_of_changes(st, changes)) if (e := enqueue(st, s)) is not None]


def summary(st: Store) -> dict:
    """{"pending", "attention", "sent", "photos_total", "photos_done", "last_sent_at",
    "last_error"}: what the tablet page shows about sync. The counts are of *spots* (a spot
    edited after its confirm has several versions in the outbox; the lead counts spots)."""
    counts = {r["state"]: r["n"] for r in st.query(
        "SELECT state, count(DISTINCT spot_id) AS n FROM outbox GROUP BY state")}
    cur = st.one("SELECT photos_total, photos_done FROM outbox WHERE state = 'pending' ORDER BY id LIMIT 1")
    err = st.one("SELECT last_error FROM outbox WHERE state = 'attention' ORDER BY id DESC LIMIT 1")
    return {"pending": counts.get("pending", 0), "attention": counts.get("attention", 0),
            "sent": counts.get("sent", 0),
            "photos_total": cur["photos_total"] if cur else 0, "photos_done": cur["photos_done"] if cur else 0,
            "last_sent_at": st.scalar("SELECT max(sent_at) FROM outbox"),
            "last_error": err["last_error"] if err else None}


def spot_states(st: Store, site_id: int) -> dict[int, str]:
    """Per spot of a site: 'synced' (its newest version reached head office), 'waiting' or
    'attention'."""
    rows = st.query("""SELECT o.spot_id, o.state FROM outbox o JOIN spots s ON s.id = o.spot_id
                       WHERE s.site_id = ? AND o.version = (SELECT max(version) FROM outbox WHERE spot_id = o.spot_id)""",
                    (site_id,))
    return {r["spot_id"]: {"sent": "synced", "pending": "waiting"}.get(r["state"], "attention") for r in rows}


def due(st: Store, now: float) -> list:
    """The pending entries whose back-off has run out at ``now`` (Unix seconds), oldest
    first: what one round of the sender sends."""
    return st.query("SELECT * FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY id", (now,))


def next_due_at(st: Store) -> float | None:
    """When the next pending entry is due (Unix seconds; may be past), or None when nothing
    is pending: how long the sender's thread may sleep."""
    return st.scalar("SELECT min(next_attempt_at) FROM outbox WHERE state = 'pending'")


def entry_counts(st: Store) -> dict[str, int]:
    """{state: number of entries} (versions, not spots; a state with none is absent): what a
    round of the sender reports as left."""
    return {r["state"]: r["n"] for r in st.query("SELECT state, count(*) AS n FROM outbox GROUP BY state")}


def attempts(st: Store, entry_id: int) -> int:
    """The failures head office answered for the entry so far (offline ones not counted)."""
    return st.scalar("SELECT attempts FROM outbox WHERE id = ?", (entry_id,))


#: The longest ``last_error`` kept (characters).
ERROR_CHARS = 500


def retry_later(st: Store, entry_id: int, attempts: int, next_attempt_at: float, error: str) -> None:
    """A send failed: the entry stays pending, with ``attempts`` counted failures, and is due
    again at ``next_attempt_at`` (Unix seconds); ``error`` says why."""
    with st.write():
        st.conn.execute("UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
                        (attempts, next_attempt_at, error[:ERROR_CHARS], entry_id))


def needs_attention(st: Store, entry_id: int, attempts: int, error: str) -> None:
    """The sender gave up on the entry (after ``attempts`` counted failures): it waits for a
    person ("sync now", :func:`retry_all`); ``error`` says why."""
    with st.write():
        st.conn.execute("UPDATE outbox SET attempts = ?, state = 'attention', last_error = ? WHERE id = ?",
                        (attempts, error[:ERROR_CHARS], entry_id))


def retry_all(st: Store) -> int:
    """"Sync now": every unsent entry is due now, those needing attention included."""
    with st.write():
        return st.conn.execute("UPDATE outbox SET next_attempt_at = 0, attempts = CASE WHEN state = 'attention' "
                               "THEN 0 ELSE attempts END, state = 'pending' WHERE state != 'sent'").rowcount


# --------------------------------------------------------------------------- what head office holds


def hq_holds(st: Store, sha256: str, hq: str) -> bool:
    """Whether head office ``hq`` (its URL key) confirmed it holds the photo ``sha256``."""
    return st.scalar("SELECT 1 FROM sync_blobs WHERE sha256 = ? AND hq = ?", (sha256, hq)) is not None


def note_hq_holds(st: Store, sha256: str, hq: str) -> None:
    """Record that head office ``hq`` holds the photo ``sha256`` (it answered HEAD 200 or PUT 201)."""
    with st.write():
        st.conn.execute("INSERT OR IGNORE INTO sync_blobs (sha256, hq, at) VALUES (?, ?, ?)", (sha256, hq, now_iso()))


def forget_hq_holds(st: Store, shas: list[str], hq: str) -> int:
    """Head office ``hq`` said it lacks these photos (a 409 with ``missing``, e.g. after it
    was restored from an older backup): forget that it held them, so they are sent again.
    Returns how many records were dropped."""
    with st.write():
        return sum(st.conn.execute("DELETE FROM sync_blobs WHERE sha256 = ? AND hq = ?", (s, hq)).rowcount
                   for s in shas)


def set_photos_done(st: Store, entry_id: int, done: int) -> None:
    """Progress of the entry being sent: ``done`` of its photos are at head office."""
    with st.write():
        st.conn.execute("UPDATE outbox SET photos_done = ? WHERE id = ?", (done, entry_id))


def mark_sent(st: Store, entry_id: int) -> None:
    """Head office acknowledged the entry (201, or 200 for a key it already recorded)."""
    with st.write():
        st.conn.execute("UPDATE outbox SET state = 'sent', sent_at = ?, last_error = NULL WHERE id = ?",
                        (now_iso(), entry_id))


def unsent(st: Store) -> dict:
    """{"count": entries not yet acknowledged (pending or needing attention), "last_error":
    the most recent reason one of them gave, or None}: what ``edge-app sync --once`` reports."""
    n = st.scalar("SELECT count(*) FROM outbox WHERE state != 'sent'")
    err = st.scalar("SELECT last_error FROM outbox WHERE state != 'sent' AND last_error IS NOT NULL "
                    "ORDER BY id DESC LIMIT 1")
    return {"count": n, "last_error": err}
