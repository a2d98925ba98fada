"""The audit log of people's edits, and undo.

Every edit a person makes (move, merge, split, rename, cover, phase, confirm, remove, site
changes) is one row in ``edits`` with who, when, a summary for the page and the list of
reversible *changes* it made. A change is one of::

    {"k": "m",   "photo": sha, "old": row_id | None, "new": row_id | None}   membership
    {"k": "set", "table": t, "id": key, "col": c, "old": v, "new": v}       one field
    {"k": "ins", "table": "spots" | "sites", "id": id}                      a row it created

Undo reverses the changes of the newest edit not yet undone, newest change first, and only
where the data still holds what the edit left (a change a later edit already replaced is
skipped and counted as a conflict). Nothing is deleted: a membership is ended and the
earlier one reopened; a spot the edit created is marked removed when it is empty again.
"""

from __future__ import annotations

import json
from typing import Any

from . import Store, StoreError, now_iso, outbox

_TABLE_KEYS = {"spots": "id", "sites": "id", "photos": "sha256", "suggestions": "id"}


class Changes:
    """Collects the reversible changes of one edit while it is made."""

    def __init__(self, st: Store):
        self.st = st
        self.items: list[dict[str, Any]] = []

    def set(self, table: str, key, col: str, new) -> None:
        """Set ``table.col`` of row ``key`` to ``new``, remembering the old value."""
        pk = _TABLE_KEYS[table]
        old = self.st.scalar(f"SELECT {col} FROM {table} WHERE {pk} = ?", (key,))
        if old == new:
            return
        self.st.conn.execute(f"UPDATE {table} SET {col} = ? WHERE {pk} = ?", (new, key))
        self.items.append({"k": "set", "table": table, "id": key, "col": col, "old": old, "new": new})

    def inserted(self, table: str, row_id: int) -> None:
        self.items.append({"k": "ins", "table": table, "id": row_id})

    def membership(self, photo: str, old: int | None, new: int | None) -> None:
        self.items.append({"k": "m", "photo": photo, "old": old, "new": new})


def record(st: Store, action: str, who: str, site_id: int | None, summary: dict, changes: Changes) -> int | None:
    """Write the edit row (inside the caller's transaction); None when nothing changed."""
    if not changes.items:
        return None
    edit = st.db["edits"].insert({"at": now_iso(), "who": who, "action": action, "site_id": site_id,
                                  "summary": json.dumps(summary, ensure_ascii=False),
                                  "changes": json.dumps(changes.items, ensure_ascii=False)}).last_pk
    for c in changes.items:
        if c["k"] == "m" and c["new"] is not None:
            st.conn.execute("UPDATE memberships SET edit_id = ? WHERE id = ?", (edit, c["new"]))
    outbox.enqueue_changed(st, changes.items)  # confirmed spots it touched: a new version for head office
    return edit



def add_followers(st: Store, edit_id: int, moved: list[tuple[str, int | None, int | None]],
                  retired: list[int] = ()) -> bool:
    """Add to a person's edit the photos the engine moved along with it (issue 20: photos
    linked only to a photo the lead moved follow it; inside the caller's transaction), so
    that undoing the edit brings them back too and the page can say how many followed.
    moved: (photo, old membership row, new row) per photo; retired: spots they left empty
    (marked removed now; the undo reopens them). Their changes carry ``"followed": true``
    (not the person's separations, :func:`edge_app.store.spots.separated_moves`) and the
    summary's ``followed`` counts the photos. False (nothing added) when the edit is undone."""
    row = st.one("SELECT summary, changes, undone_at FROM edits WHERE id = ?", (edit_id,))
    if row is None or row["undone_at"] is not None or not moved:
        return False
    changes = json.loads(row["changes"])
    changes += [{"k": "m", "photo": sha, "old": old, "new": new, "followed": True} for sha, old, new in moved]
    for sid in retired:
        at = st.scalar("SELECT removed_at FROM spots WHERE id = ?", (sid,))
        changes.append({"k": "set", "table": "spots", "id": sid, "col": "removed_at", "old": None, "new": at})
    summary = json.loads(row["summary"])
    summary["followed"] = summary.get("followed", 0) + len(moved)
    st.conn.execute("UPDATE edits SET summary = ?, changes = ? WHERE id = ?",
                    (json.dumps(summary, ensure_ascii=False), json.dumps(changes, ensure_ascii=False), edit_id))
    return True

#: The edits of one site: its own, and a split that made it (the split is the old site's edit,
#: and either site's page lists it and can undo it).
_OF_SITE = "(site_id = ? OR (action = 'site_split' AND json_extract(summary, '$.new') = ?))"


def history(st: Store, site_id: int | None = None, limit: int = 50, include_undone: bool = True) -> list[dict]:
    """Newest edits first: [{"id", "at", "who", "action", "summary": dict, "undone_at"}]
    (of ``site_id``: its own and the split that made it)."""
    where, args = [], []
    if site_id is not None:
        where.append(_OF_SITE)
        args += [site_id, site_id]
    if not include_undone:
        where.append("undone_at IS NULL")
    sql = "SELECT id, at, who, action, site_id, summary, undone_at, undone_by FROM edits"
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = st.query(sql + " ORDER BY id DESC LIMIT ?", (*args, limit))
    return [dict(r) | {"summary": json.loads(r["summary"])} for r in rows]


def last_undoable(st: Store, site_id: int | None = None) -> dict | None:
    h = history(st, site_id, limit=1, include_undone=False)
    return h[0] if h else None


def _undo_change(st: Store, c: dict, at: str) -> bool:
    """Reverse one change; False when the data no longer holds what the edit left."""
    if c["k"] == "set":
        pk = _TABLE_KEYS[c["table"]]
        cur = st.scalar(f"SELECT {c['col']} FROM {c['table']} WHERE {pk} = ?", (c["id"],))
        if cur != c["new"]:
            return False
        st.conn.execute(f"UPDATE {c['table']} SET {c['col']} = ? WHERE {pk} = ?", (c["old"], c["id"]))
        return True
    if c["k"] == "m":
        cur = st.scalar("SELECT id FROM memberships WHERE photo = ? AND ended_at IS NULL", (c["photo"],))
        if cur != c["new"]:
            return False
        if cur is not None:
            st.conn.execute("UPDATE memberships SET ended_at = ? WHERE id = ?", (at, cur))
        if c["old"] is not None:
            st.conn.execute("UPDATE memberships SET ended_at = NULL WHERE id = ?", (c["old"],))
        return True
    if c["k"] == "ins":
        if c["table"] == "spots":
            busy = st.scalar("SELECT count(*) FROM memberships WHERE spot_id = ? AND ended_at IS NULL", (c["id"],))
            if busy:
                return False
            st.conn.execute("UPDATE spots SET removed_at = coalesce(removed_at, ?) WHERE id = ?", (at, c["id"]))
        return True  # an emptied site is simply not shown
    raise ValueError(f"unknown change {c!r}")


def undo(st: Store, who: str, site_id: int | None = None, edit_id: int | None = None) -> dict | None:
    """Undo the newest edit not yet undone (in ``site_id`` when given, or exactly
    ``edit_id``). Returns {"id", "action", "summary", "conflicts"} or None when there is
    nothing to undo. ``conflicts``: changes skipped because a later edit replaced them."""
    with st.write():
        if edit_id is None:
            e = last_undoable(st, site_id)
            if e is None:
                return None
            edit_id = e["id"]
        row = st.one("SELECT id, action, summary, changes, undone_at FROM edits WHERE id = ?", (edit_id,))
        if row is None:
            raise StoreError(f"no edit {edit_id}", "no_edit")
        if row["undone_at"]:
            raise StoreError("already undone", "already_undone")
        at = now_iso()
        changes = json.loads(row["changes"])
        conflicts = 0
        # memberships first (newest first), then fields and inserted rows
        ordered = [c for c in reversed(changes) if c["k"] == "m"] + \
                  [c for c in reversed(changes) if c["k"] != "m"]
        for c in ordered:
            if not _undo_change(st, c, at):
                conflicts += 1
        st.conn.execute("UPDATE edits SET undone_at = ?, undone_by = ? WHERE id = ?", (at, who, edit_id))
        outbox.enqueue_changed(st, changes)
    return {"id": edit_id, "action": row["action"], "summary": json.loads(row["summary"]), "conflicts": conflicts}


def last_id(st: Store) -> int:
    """The newest edit's id, 0 before the first (undone edits included): the page notes it
    before an action to tell which edits the action made."""
    return st.scalar("SELECT coalesce(max(id), 0) FROM edits")


# --------------------------------------------------------------------------- redo


def last_redoable(st: Store, site_id: int | None = None) -> dict | None:
    """The edit "다시 실행" would put back (as :func:`history` rows), or None: the latest
    undone edit not redone yet, as long as every edit made since it was undone is itself a
    redo (a new edit of the lead's own ends the redo chain, as in any editor)."""
    where, args = "", []
    if site_id is not None:
        where, args = f" AND {_OF_SITE}", [site_id, site_id]
    row = st.one(f"""SELECT id, at, who, action, site_id, summary, undone_at, undone_by FROM edits e
                     WHERE undone_at IS NOT NULL{where} AND NOT EXISTS (
                       SELECT 1 FROM edits r WHERE json_extract(r.summary, '$.redo_of') = e.id)
                     ORDER BY undone_at DESC, id DESC LIMIT 1""", tuple(args))
    if row is None:
        return None
    newer = st.scalar(f"""SELECT count(*) FROM edits WHERE at > ?{where}
                          AND json_extract(summary, '$.redo_of') IS NULL""", (row["undone_at"], *args))
    if newer:
        return None
    return dict(row) | {"summary": json.loads(row["summary"])}


def _redo_change(st: Store, c: dict) -> bool:
    """Apply one change of an undone edit again; False when the data no longer holds what
    the undo left (a later edit changed it)."""
    if c["k"] == "set":
        pk = _TABLE_KEYS[c["table"]]
        cur = st.scalar(f"SELECT {c['col']} FROM {c['table']} WHERE {pk} = ?", (c["id"],))
        if cur != c["old"]:
            return False
        st.conn.execute(f"UPDATE {c['table']} SET {c['col']} = ? WHERE {pk} = ?", (c["new"], c["id"]))
        return True
    if c["k"] == "m":
        cur = st.scalar("SELECT id FROM memberships WHERE photo = ? AND ended_at IS NULL", (c["photo"],))
        if cur != c["old"]:
            return False
        if cur is not None:
            st.conn.execute("UPDATE memberships SET ended_at = ? WHERE id = ?", (now_iso(), cur))
        if c["new"] is not None:
            st.conn.execute("UPDATE memberships SET ended_at = NULL WHERE id = ?", (c["new"],))
        return True
    if c["k"] == "ins":
        if c["table"] == "spots":  # the spot the undo marked removed comes back
            st.conn.execute("UPDATE spots SET removed_at = NULL WHERE id = ?", (c["id"],))
        return True
    raise ValueError(f"unknown change {c!r}")


def redo(st: Store, who: str, site_id: int | None = None, edit_id: int | None = None) -> dict | None:
    """Apply the undone edit :func:`last_redoable` names (in ``site_id`` when given, or
    exactly ``edit_id``, which must be it) again, as a new audited edit of the same action
    with ``redo_of`` in its summary (an undo takes it back like any edit). Only changes the
    data still holds as the undo left them are applied; the others are counted as conflicts.
    Returns {"id" (the new edit), "action", "summary", "conflicts", "redo_of"} or None when
    there is nothing to redo."""
    with st.write():
        e = last_redoable(st, site_id)
        if e is None or (edit_id is not None and e["id"] != edit_id):
            if edit_id is not None:
                raise StoreError("that edit can no longer be redone", "cannot_redo")
            return None
        changes = json.loads(st.scalar("SELECT changes FROM edits WHERE id = ?", (e["id"],)))
        # forward, in the order the edit made them: rows it created, memberships, then fields
        ordered = [c for c in changes if c["k"] == "ins"] + [c for c in changes if c["k"] == "m"] + \
                  [c for c in changes if c["k"] == "set"]
        ch = Changes(st)
        conflicts = 0
        for c in ordered:
            if _redo_change(st, c):
                ch.items.append(c)
            else:
                conflicts += 1
        summary = e["summary"] | {"redo_of": e["id"]}
        new = record(st, e["action"], who, e["site_id"], summary, ch)
    return {"id": new, "action": e["action"], "summary": summary, "conflicts": conflicts, "redo_of": e["id"]}
