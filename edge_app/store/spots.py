"""Spots and memberships: where each photo is, and people's edits of it.

A photo's place is its *current* membership row (``ended_at IS NULL``): a spot, or the
unassigned tray (``spot_id`` NULL). Each row says whether the engine or a person put it
there. Moving a photo ends its row and adds a new one, so every place it had is kept and
an edit is undone by reopening the earlier row (:mod:`edits`).

The rules the engine reads (:mod:`edge_app.worker.regrouping`), so that a person's edit always wins:

* a photo a person placed (``by = 'person'``) stays where it was put;
* a *touched* spot (a person moved photos into or out of it, merged, split, named it or
  set its cover) keeps every photo it has; the engine may add new photos to it;
* a *confirmed* spot is locked: the engine neither adds nor removes photos (a new photo
  that looks like it goes to the tray with a suggestion).

Person edits: :func:`move`, :func:`each_new`, :func:`merge`, :func:`split`, :func:`rename`, :func:`set_cover`,
:func:`set_phase`, :func:`confirm`, :func:`unconfirm`, :func:`confirm_all`,
:func:`remove_photos`, :func:`restore_photos`, :func:`accept_suggestion`, :func:`dismiss_suggestion`.
Each is one transaction and one audit row.

Once a grouping has been shown (a photo whose batch was regrouped once), a later engine
answer (the background second look included) may add photos from the tray to a spot, but
taking a photo out of a spot an earlier answer put it in is only a *suggestion*
(:func:`suggest_moves`, table ``suggestions``): which photo, from which spot, to which spot
(or a new spot, or the tray); a person accepts or dismisses it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..engine.phases import phase_changes
from . import Store, StoreError, now_iso
from . import photos as store_photos
from .edits import Changes, add_followers, record

PHASES = ("before", "during", "after")
NEW = "new"  # move target: a new spot
def set_engine_phases(st: Store, spot_id: int | None, ch: Changes | None = None) -> None:
    """The phases :func:`~edge_app.engine.phases.engine_phases` gives the photos of a spot that no person labelled
    (inside the caller's transaction). ``ch``: record them with a person's edit (so its undo
    puts the old phases back); None: the engine's own write."""
    if spot_id is None:
        return
    rows = st.query("""SELECT p.sha256, p.taken_at, p.phase, p.phase_by FROM memberships m
                       JOIN photos p ON p.sha256 = m.photo
                       WHERE m.spot_id = ? AND m.ended_at IS NULL AND p.removed_at IS NULL""", (spot_id,))
    for sha, ph in phase_changes([tuple(r) for r in rows]):
        if ch is None:
            st.conn.execute("UPDATE photos SET phase = ?, phase_by = 'engine' WHERE sha256 = ?", (ph, sha))
        else:
            ch.set("photos", sha, "phase", ph)
            ch.set("photos", sha, "phase_by", "engine")


def current(st: Store, sha256: str):
    """The photo's current membership row, or None (never placed yet)."""
    return st.one("SELECT * FROM memberships WHERE photo = ? AND ended_at IS NULL", (sha256,))


def place(st: Store, sha256: str, spot_id: int | None, by: str, *, score: float | None = None,
          suggest: int | None = None) -> tuple[int | None, int]:
    """Make ``spot_id`` (None = tray) the photo's current place; returns (old row, new row).
    Call inside :meth:`Store.write`."""
    at = now_iso()
    cur = current(st, sha256)
    old = None
    if cur is not None:
        old = cur["id"]
        st.conn.execute("UPDATE memberships SET ended_at = ? WHERE id = ?", (at, old))
    new = st.db["memberships"].insert({"photo": sha256, "spot_id": spot_id, "by": by, "score": score,
                                       "suggest": suggest, "created_at": at}).last_pk
    return old, new


def spot(st: Store, spot_id: int):
    row = st.one("SELECT * FROM spots WHERE id = ?", (spot_id,))
    if row is None or row["removed_at"] is not None:
        raise StoreError(f"no spot {spot_id}", "no_spot")
    return row


def create_spot(st: Store, site_id: int, created_by: str, name: str | None = None) -> int:
    """A new, empty spot (inside the caller's transaction), numbered after every spot its
    site has (an unnamed one is "지점 <number>")."""
    number = st.scalar("SELECT coalesce(max(number), 0) + 1 FROM spots WHERE site_id = ?", (site_id,))
    return st.db["spots"].insert({"site_id": site_id, "name": name, "number": number, "created_at": now_iso(),
                                  "created_by": created_by, "touched": 0 if created_by == "engine" else 1}).last_pk


def members(st: Store, spot_id: int) -> list[str]:
    """sha256 of the spot's current photos (not removed), in capture order."""
    rows = st.query("""SELECT p.sha256 FROM memberships m JOIN photos p ON p.sha256 = m.photo
                       WHERE m.spot_id = ? AND m.ended_at IS NULL AND p.removed_at IS NULL
                       ORDER BY p.taken_at IS NULL, p.taken_at, p.name""", (spot_id,))
    return [r[0] for r in rows]


def _photo(st: Store, sha: str):
    row = st.one("SELECT sha256, site_id, removed_at, name FROM photos WHERE sha256 = ?", (sha,))
    if row is None:
        raise StoreError(f"no photo {sha[:12]}", "no_photo")
    return row


def _site_of(st: Store, shas: Sequence[str]) -> int | None:
    sites = {_photo(st, s)["site_id"] for s in shas}
    if len(sites) > 1:
        raise StoreError("the photos are in different sites", "photos_sites_differ")
    return sites.pop() if sites else None


def _touch(ch: Changes, spot_id: int | None) -> None:
    if spot_id is not None:
        ch.set("spots", spot_id, "touched", 1)


def _retire_if_empty(st: Store, ch: Changes, spot_id: int | None) -> None:
    """Mark a spot an edit emptied as removed (reopened by undo)."""
    if spot_id is None:
        return
    left = st.scalar("""SELECT count(*) FROM memberships m JOIN photos p ON p.sha256 = m.photo
                        WHERE m.spot_id = ? AND m.ended_at IS NULL AND p.removed_at IS NULL""", (spot_id,))
    if not left:
        ch.set("spots", spot_id, "removed_at", now_iso())


def _move_into(st: Store, ch: Changes, shas: Sequence[str], target: int | None) -> set[int]:
    """Person memberships for ``shas`` into ``target``; returns the spots they left."""
    left: set[int] = set()
    for sha in shas:
        cur = current(st, sha)
        if cur is not None and cur["spot_id"] == target and cur["by"] == "person":
            continue
        if cur is not None and cur["spot_id"] is not None and cur["spot_id"] != target:
            left.add(cur["spot_id"])
        old, new = place(st, sha, target, "person")
        ch.membership(sha, old, new)
    return left


def move(st: Store, shas: Sequence[str], target: int | str | None, who: str) -> dict:
    """Move photos to spot ``target``, to a new spot (``"new"``) or to the tray (None).

    All photos must be of one site, and the target spot of that site. Returns
    {"edit": id or None, "spot": target spot id or None}."""
    shas = list(dict.fromkeys(shas))
    if not shas:
        raise StoreError("no photos selected", "none_selected")
    with st.write():
        site_id = _site_of(st, shas)
        ch = Changes(st)
        if target == NEW:
            if site_id is None:
                raise StoreError("these photos have no site yet (still being analysed)", "no_site_yet")
            target = create_spot(st, site_id, who)
            ch.inserted("spots", target)
        elif target is not None:
            target = int(target)
            if spot(st, target)["site_id"] != site_id:
                raise StoreError("that spot is in another site", "spot_other_site")
        if target is not None and all((c := current(st, s)) is not None and c["spot_id"] == target for s in shas):
            return {"edit": None, "spot": target}  # already there: nothing to do, nothing to undo
        left = _move_into(st, ch, shas, target)
        for s in left:
            _touch(ch, s)
            _retire_if_empty(st, ch, s)
            set_engine_phases(st, s, ch)
        _touch(ch, target)
        set_engine_phases(st, target, ch)  # a spot a person made gets phases from its times too
        names = [_photo(st, s)["name"] for s in shas]
        edit = record(st, "move", who, site_id, {"photos": names, "to": target}, ch)
    return {"edit": edit, "spot": target}


def each_new(st: Store, shas: Sequence[str], who: str) -> dict:
    """Put each photo in a spot of its own ("각각 새 지점": 11 lone photos are one action, not
    22 taps), one edit that one undo takes back. A photo already alone in its spot stays.
    Returns {"edit", "spots": [spot id per photo, in the order given]}."""
    shas = list(dict.fromkeys(shas))
    if not shas:
        raise StoreError("no photos selected", "none_selected")
    with st.write():
        site_id = _site_of(st, shas)
        if site_id is None:
            raise StoreError("these photos have no site yet (still being analysed)", "no_site_yet")
        ch = Changes(st)
        out, left = [], set()
        for sha in shas:
            cur = current(st, sha)
            if cur is not None and cur["spot_id"] is not None and members(st, cur["spot_id"]) == [sha]:
                out.append(cur["spot_id"])
                continue
            target = create_spot(st, site_id, who)
            ch.inserted("spots", target)
            left |= _move_into(st, ch, [sha], target)
            _touch(ch, target)
            set_engine_phases(st, target, ch)
            out.append(target)
        for s in left:
            _touch(ch, s)
            _retire_if_empty(st, ch, s)
            set_engine_phases(st, s, ch)
        names = [_photo(st, s)["name"] for s in shas]
        edit = record(st, "each_new", who, site_id, {"photos": names, "spots": out}, ch)
    return {"edit": edit, "spots": out}


def merge(st: Store, spot_ids: Sequence[int], who: str) -> dict:
    """Merge spots into the first one given; the others are emptied and marked removed.
    Returns {"edit", "spot"}."""
    ids = list(dict.fromkeys(int(s) for s in spot_ids))
    if len(ids) < 2:
        raise StoreError("choose at least two spots to merge", "merge_two_spots")
    with st.write():
        rows = [spot(st, s) for s in ids]
        if len({r["site_id"] for r in rows}) > 1:
            raise StoreError("the spots are in different sites", "spots_sites_differ")
        into = ids[0]
        ch = Changes(st)
        for s in ids[1:]:
            _move_into(st, ch, members(st, s), into)
            _touch(ch, s)
            ch.set("spots", s, "removed_at", now_iso())
        _touch(ch, into)
        set_engine_phases(st, into, ch)
        if rows[0]["name"] is None:  # keep a name a person gave one of the others
            named = next((r["name"] for r in rows[1:] if r["name"]), None)
            if named:
                ch.set("spots", into, "name", named)
        edit = record(st, "merge", who, rows[0]["site_id"], {"spots": ids, "into": into}, ch)
    return {"edit": edit, "spot": into}


def split(st: Store, spot_id: int, shas: Sequence[str], who: str) -> dict:
    """Take the chosen photos of a spot out into a new spot. Returns {"edit", "spot"}."""
    inside = set(members(st, spot_id))
    shas = list(dict.fromkeys(shas))
    if not shas or not set(shas) <= inside:
        raise StoreError("choose photos of this spot to split off", "split_choose")
    if len(shas) == len(inside):
        raise StoreError("leave at least one photo in the spot", "split_leave_one")
    res = move(st, shas, NEW, who)
    with st.write():
        st.conn.execute("UPDATE edits SET action = 'split' WHERE id = ?", (res["edit"],))
    return res


def _spot_edit(st: Store, spot_id: int, who: str, action: str, col: str, value, touch: bool = True) -> int | None:
    with st.write():
        row = spot(st, spot_id)
        ch = Changes(st)
        ch.set("spots", spot_id, col, value)
        if touch and ch.items:
            _touch(ch, spot_id)
        return record(st, action, who, row["site_id"], {"spot": spot_id, col: value}, ch)


def rename(st: Store, spot_id: int, name: str | None, who: str) -> int | None:
    """Name a spot (e.g. "컨테이너 좌측"); an empty name clears it."""
    name = (name or "").strip()[:120] or None
    return _spot_edit(st, spot_id, who, "rename", "name", name)


def set_cover(st: Store, spot_id: int, sha256: str, who: str) -> int | None:
    if sha256 not in members(st, spot_id):
        raise StoreError("the cover must be a photo of the spot", "cover_not_in_spot")
    return _spot_edit(st, spot_id, who, "cover", "cover", sha256)


def confirm(st: Store, spot_id: int, who: str) -> int | None:
    """Confirm a spot: it is locked against the engine, and its audit row
    (:func:`edits.record`) queues it for head office in the same transaction
    (:func:`edge_app.store.outbox.enqueue_changed`). An empty spot cannot be confirmed; one
    already confirmed stays as it is (None)."""
    if not members(st, spot_id):
        raise StoreError("an empty spot cannot be confirmed", "confirm_empty")
    with st.write():
        row = spot(st, spot_id)
        if row["confirmed_at"]:
            return None
        ch = Changes(st)
        ch.set("spots", spot_id, "confirmed_at", now_iso())
        ch.set("spots", spot_id, "confirmed_by", who)
        return record(st, "confirm", who, row["site_id"], {"spot": spot_id}, ch)


def unconfirm(st: Store, spot_id: int, who: str) -> int | None:
    with st.write():
        row = spot(st, spot_id)
        ch = Changes(st)
        ch.set("spots", spot_id, "confirmed_at", None)
        ch.set("spots", spot_id, "confirmed_by", None)
        return record(st, "unconfirm", who, row["site_id"], {"spot": spot_id}, ch)


def confirm_all(st: Store, site_id: int, who: str) -> dict:
    """Confirm every spot of the site that has photos and is not confirmed yet (one edit)."""
    with st.write():
        rows = st.query("""SELECT s.id FROM spots s WHERE s.site_id = ? AND s.removed_at IS NULL
                           AND s.confirmed_at IS NULL AND EXISTS (
                             SELECT 1 FROM memberships m JOIN photos p ON p.sha256 = m.photo
                             WHERE m.spot_id = s.id AND m.ended_at IS NULL AND p.removed_at IS NULL)
                           ORDER BY s.id""", (site_id,))
        ch = Changes(st)
        at = now_iso()
        for r in rows:
            ch.set("spots", r["id"], "confirmed_at", at)
            ch.set("spots", r["id"], "confirmed_by", who)
        ids = [r["id"] for r in rows]
        edit = record(st, "confirm_all", who, site_id, {"spots": ids}, ch)
    return {"edit": edit, "spots": ids}


def set_phase(st: Store, shas: Sequence[str], phase: str | None, who: str) -> int | None:
    """Set before / during / after (``PHASES``) by hand; the engine never changes it again."""
    if phase is not None and phase not in PHASES:
        raise StoreError(f"phase must be one of {', '.join(PHASES)}", "bad_phase")
    shas = list(dict.fromkeys(shas))
    with st.write():
        site_id = _site_of(st, shas)
        ch = Changes(st)
        for sha in shas:
            ch.set("photos", sha, "phase", phase)
            ch.set("photos", sha, "phase_by", "person")
        return record(st, "phase", who, site_id, {"photos": [_photo(st, s)["name"] for s in shas],
                                                  "phase": phase}, ch)


def remove_photos(st: Store, shas: Sequence[str], who: str) -> int | None:
    """Remove photos from the site (a person's action; kept on disk and undoable)."""
    shas = list(dict.fromkeys(shas))
    if not shas:
        raise StoreError("no photos selected", "none_selected")
    with st.write():
        site_id = _site_of(st, shas)
        ch = Changes(st)
        at = now_iso()
        spots_left = set()
        for sha in shas:
            cur = current(st, sha)
            if cur is not None and cur["spot_id"] is not None:
                spots_left.add(cur["spot_id"])
            ch.set("photos", sha, "removed_at", at)
            ch.set("photos", sha, "removed_by", who)
        for s in spots_left:
            _touch(ch, s)
            _retire_if_empty(st, ch, s)
            if st.scalar("SELECT cover FROM spots WHERE id = ?", (s,)) in shas:
                ch.set("spots", s, "cover", None)
        return record(st, "remove", who, site_id, {"photos": [_photo(st, s)["name"] for s in shas]}, ch)


def restore_photos(st: Store, shas: Sequence[str], who: str) -> int | None:
    """Bring removed photos back where they were."""
    shas = list(dict.fromkeys(shas))
    with st.write():
        site_id = _site_of(st, shas)
        ch = Changes(st)
        for sha in shas:
            ch.set("photos", sha, "removed_at", None)
            ch.set("photos", sha, "removed_by", None)
            cur = current(st, sha)
            if cur is not None and cur["spot_id"] is not None:
                ch.set("spots", cur["spot_id"], "removed_at", None)
        return record(st, "restore", who, site_id, {"photos": [_photo(st, s)["name"] for s in shas]}, ch)


# --------------------------------------------------------------------------- the engine's reads and writes
#
# The worker reads what the engine needs of a site in one call (:func:`engine_view`),
# computes for a while (an online placement: verifications; a regroup: seconds to
# minutes), and writes its answer in one call and one transaction (:func:`write_engine_plan`)
# that first reads the places again: a person who moved a photo in between wins, the
# answer is not written (:class:`RegroupStale`) and the worker judges again.


class RegroupStale(Exception):
    """A person changed the site while the engine was regrouping it: the engine's answer
    was computed from an older state and is not written (a person's edit always wins)."""


@dataclass
class EngineView:
    """What the engine reads of a site (:func:`engine_view`): ``rows``, its analysed photos
    with their places (:func:`analysed_places`); for a regroup also ``shown`` (photos whose
    grouping has been shown, :func:`shown_photos`), ``moves`` (photos people took out of a
    spot, :func:`separated_moves`) and ``paths`` (where each photo's original is, by sha256)."""

    rows: list
    shown: set[str] = field(default_factory=set)
    moves: list[tuple[str, int, frozenset[str], int]] = field(default_factory=list)
    paths: dict[str, Path] = field(default_factory=dict)


def engine_view(st: Store, site_id: int, exclude: str | None = None, *, shown: bool = False, moves: bool = False,
                paths: bool = False) -> EngineView:
    """What the engine groups or places a photo of a site from (:class:`EngineView`); the
    rows are what :func:`write_engine_plan` checks against. exclude: a photo left out (the
    one being placed); shown, moves, paths: read those too (a regroup; the thorough pass
    reads the originals again)."""
    rows = analysed_places(st, site_id, exclude)
    return EngineView(rows, shown_photos(st, site_id) if shown else set(),
                      separated_moves(st, site_id) if moves else [],
                      {r["sha256"]: store_photos.original_path(st, r["sha256"]) for r in rows} if paths else {})


@dataclass(frozen=True)
class NewSpot:
    """A spot an engine answer opens (:attr:`EnginePlan.new_spots`), named by a number of
    the answer's own until :func:`write_engine_plan` creates it."""

    key: int


@dataclass
class EngineMove:
    """One photo of an engine answer: to spot ``to`` (a spot id, a :class:`NewSpot`, or None:
    the tray) with ``score`` and ``suggest`` (a confirmed spot it looks like);
    ``rescore``: it stays where it is, with the new score and suggestion; ``edit``: it
    follows the photo a person moved in that edit (issue 20), part of that edit."""

    photo: str
    to: int | NewSpot | None
    score: float | None = None
    suggest: int | None = None
    rescore: bool = False
    edit: int | None = None


@dataclass
class EnginePlan:
    """An engine answer for one site, as :func:`write_engine_plan` writes it.

    seen: the rows of :func:`engine_view` it was computed from (None: written without the
    check, e.g. a new photo put in the tray); exclude: the photo left out of them. In the
    order written: ``new_spots`` created; ``moves`` (:class:`EngineMove`); ``suggestions``
    (:func:`suggest_moves`: (photo, from spot, to spot or :class:`NewSpot` or None, new-spot
    group or None, score); None: the open suggestions are left as they are); ``retire``:
    (spot, the edit whose followers left it, or None), each marked removed when no photo is
    in it any more (:func:`retire_if_unused`; one a follower's edit left is part of that
    edit); ``phases``: spots whose engine phases are set again; ``flags``: the thorough pass's
    review flags of the site (:func:`set_review_flags`; None: left as they are)."""

    site_id: int
    seen: list | None
    exclude: str | None = None
    new_spots: list[NewSpot] = field(default_factory=list)
    moves: list[EngineMove] = field(default_factory=list)
    suggestions: list[tuple[str, int, int | NewSpot | None, int | None, float | None]] | None = None
    retire: list[tuple[int, int | None]] = field(default_factory=list)
    phases: list[int | NewSpot] = field(default_factory=list)
    flags: dict[int | NewSpot, str] | None = None


def write_engine_plan(st: Store, plan: EnginePlan) -> int:
    """Write an engine answer (:class:`EnginePlan`) in one transaction, unless a person
    changed the site since ``plan.seen`` (:class:`RegroupStale`, nothing written). Returns
    how many suggestions are new (0 when it makes none)."""
    with st.write():
        if plan.seen is not None and [tuple(r) for r in analysed_places(st, plan.site_id, plan.exclude)] \
                != [tuple(r) for r in plan.seen]:
            raise RegroupStale(plan.site_id)
        made = {n: create_spot(st, plan.site_id, "engine") for n in plan.new_spots}

        def spot_id(to):
            return made[to] if isinstance(to, NewSpot) else to

        along: dict[int, list[tuple[str, int | None, int | None]]] = {}  # edit: the photos that followed it
        for m in plan.moves:
            if m.rescore:
                rescore(st, m.photo, m.score, m.suggest)
                continue
            old, new = place(st, m.photo, spot_id(m.to), "engine", score=m.score, suggest=m.suggest)
            if m.edit is not None:
                along.setdefault(m.edit, []).append((m.photo, old, new))
        suggested = 0
        if plan.suggestions is not None:
            suggested = suggest_moves(st, plan.site_id, [(p, f, spot_id(t), g, s) for p, f, t, g, s in plan.suggestions])
        emptied: dict[int, list[int]] = {e: [] for e in along}
        for sid, edit in plan.retire:
            if retire_if_unused(st, sid) and edit is not None:
                emptied[edit].append(sid)
        for edit, photos_along in along.items():  # part of the person's edit: its undo brings them back
            add_followers(st, edit, photos_along, emptied[edit])
        for sid in {spot_id(s) for s in plan.phases}:
            set_engine_phases(st, sid)
        if plan.flags is not None:
            set_review_flags(st, plan.site_id, {spot_id(s): why for s, why in plan.flags.items()})
    return suggested


def analysed_places(st: Store, site_id: int, exclude: str | None = None) -> list:
    """The site's analysed photos (not removed) in capture order, each with its current
    place and its spot's flags: rows (sha256, taken_at, spot_id, by, touched, confirmed_at).
    What the engine groups a site from, and reads again inside its write to see whether a
    person changed the site meanwhile. exclude: a photo left out (the one being placed)."""
    rows = st.query("""
        SELECT p.sha256, p.taken_at, m.spot_id, m.by, sp.touched, sp.confirmed_at
        FROM photos p JOIN memberships m ON m.photo = p.sha256 AND m.ended_at IS NULL
        LEFT JOIN spots sp ON sp.id = m.spot_id
        WHERE p.site_id = ? AND p.removed_at IS NULL AND p.state = 'analysed'
        ORDER BY p.taken_at IS NULL, p.taken_at, p.sha256""", (site_id,))
    return [r for r in rows if r["sha256"] != exclude]


def confirmed_at(st: Store, spot_id: int) -> str | None:
    """When the spot was confirmed (None: not confirmed)."""
    return st.scalar("SELECT confirmed_at FROM spots WHERE id = ?", (spot_id,))


def rescore(st: Store, sha256: str, score: float | None, suggest: int | None) -> None:
    """New score and suggestion on the photo's current place, which stays as it is (the
    engine's regroup kept it there; inside the caller's transaction)."""
    st.conn.execute("UPDATE memberships SET score = ?, suggest = ? WHERE photo = ? AND ended_at IS NULL",
                    (score, suggest, sha256))


def retire_if_unused(st: Store, spot_id: int) -> bool:
    """Mark a spot removed when no photo has it as its place any more (an engine spot a
    regroup emptied; inside the caller's transaction). Returns whether it was empty."""
    left = st.scalar("SELECT count(*) FROM memberships WHERE spot_id = ? AND ended_at IS NULL", (spot_id,))
    if not left:
        st.conn.execute("UPDATE spots SET removed_at = ? WHERE id = ? AND removed_at IS NULL", (now_iso(), spot_id))
    return not left


def set_review_flags(st: Store, site_id: int, flagged: dict[int, str]) -> None:
    """The thorough pass's review flags of a site (``spots.review``): each spot of
    ``flagged`` gets its reason ("machine" | "shared"); every other flag of the site on a
    spot no person touched or confirmed is cleared (inside the caller's transaction)."""
    for sid, why in flagged.items():
        st.conn.execute("UPDATE spots SET review = ? WHERE id = ?", (why, sid))
    q = ",".join("?" * len(flagged))
    st.conn.execute(f"UPDATE spots SET review = NULL WHERE site_id = ? AND review IS NOT NULL AND "
                    f"touched = 0 AND confirmed_at IS NULL AND id NOT IN ({q})", (site_id, *flagged))


# --------------------------------------------------------------------------- suggested moves


def shown_photos(st: Store, site_id: int) -> set[str]:
    """The site's photos whose grouping has been shown: their batch was regrouped once (the
    first answer of a batch is free to move its own photos; any later one only suggests
    taking a photo out of a spot). A photo without a batch counts as shown."""
    return {r[0] for r in st.query("""SELECT p.sha256 FROM photos p LEFT JOIN batches b ON b.id = p.batch_id
                                      WHERE p.site_id = ? AND (p.batch_id IS NULL OR b.regrouped_at IS NOT NULL)""",
                                   (site_id,))}


def suggest_moves(st: Store, site_id: int, moves: Sequence[tuple[str, int, int | None, int | None, float | None]]) \
        -> int:
    """Write an engine answer's moves out of shown spots as open suggestions (inside the
    caller's transaction): ``moves`` = (photo, from spot, to spot or None, new-spot group or
    None, score); to spot None and group None: the tray; a group: one new spot for every
    photo of that group. An open suggestion the answer repeats stays as it is; one it does
    not repeat is replaced; a move a person dismissed is not asked again. Returns how many
    suggestions are new."""
    open_rows = {r["id"]: r for r in st.query("SELECT * FROM suggestions WHERE site_id = ? AND state = 'open'",
                                              (site_id,))}
    dismissed = {(r[0], r[1]) for r in st.query(
        "SELECT photo, from_spot FROM suggestions WHERE site_id = ? AND state = 'dismissed'", (site_id,))}
    base = int(st.scalar("SELECT coalesce(max(to_new), 0) FROM suggestions WHERE site_id = ?", (site_id,)))
    groups: dict[int, int] = {}
    keep, added = set(), 0
    at = now_iso()
    for photo, from_spot, to_spot, group, score in moves:
        if (photo, from_spot) in dismissed:
            continue
        same = next((i for i, r in open_rows.items() if r["photo"] == photo and r["from_spot"] == from_spot
                     and r["to_spot"] == to_spot and (r["to_new"] is None) == (group is None)), None)
        if same is not None:
            keep.add(same)
            continue
        new_group = None
        if to_spot is None and group is not None:
            new_group = groups.setdefault(group, base + len(groups) + 1)
        st.db["suggestions"].insert({"site_id": site_id, "photo": photo, "from_spot": from_spot, "to_spot": to_spot,
                                     "to_new": new_group, "score": score, "created_at": at})
        added += 1
    for i in set(open_rows) - keep:
        st.conn.execute("UPDATE suggestions SET state = 'replaced', ended_at = ?, ended_by = 'engine' WHERE id = ?",
                        (at, i))
    return added


def open_suggestions(st: Store, site_id: int) -> list[dict]:
    """The site's open suggestions that still hold (the photo is still where the engine put
    it, in the spot it would leave), oldest first: [{"id", "photo", "name", "from", "to",
    "new", "score"}]; ``to`` None and ``new`` False: to the tray."""
    rows = st.query("""SELECT s.id, s.photo, p.name, s.from_spot, s.to_spot, s.to_new, s.score
                       FROM suggestions s JOIN photos p ON p.sha256 = s.photo AND p.removed_at IS NULL
                       JOIN memberships m ON m.photo = s.photo AND m.ended_at IS NULL
                       WHERE s.site_id = ? AND s.state = 'open' AND m.spot_id = s.from_spot AND m.by = 'engine'
                       ORDER BY s.id""", (site_id,))
    return [{"id": r["id"], "photo": r["photo"], "name": r["name"], "from": r["from_spot"], "to": r["to_spot"],
             "new": r["to_new"] is not None, "score": r["score"]} for r in rows]


def _suggestion(st: Store, suggestion_id: int):
    row = st.one("SELECT * FROM suggestions WHERE id = ?", (suggestion_id,))
    if row is None:
        raise StoreError(f"no suggestion {suggestion_id}", "no_suggestion")
    if row["state"] != "open":
        raise StoreError("that suggestion was already answered", "suggestion_answered")
    cur = current(st, row["photo"])
    if cur is None or cur["spot_id"] != row["from_spot"] or cur["by"] != "engine":
        raise StoreError("the photo has moved since; the suggestion no longer holds", "suggestion_moved")
    return row


def _end_suggestion(ch: Changes, suggestion_id: int, state: str, who: str) -> None:
    ch.set("suggestions", suggestion_id, "state", state)
    ch.set("suggestions", suggestion_id, "ended_at", now_iso())
    ch.set("suggestions", suggestion_id, "ended_by", who)


def accept_suggestion(st: Store, suggestion_id: int, who: str) -> dict:
    """Do what the engine suggested: the photo moves out of its spot to the suggested spot,
    a new spot (the same new spot as the photos of its group accepted before) or the tray,
    as a person's move (one audited, undoable edit). Returns {"edit", "spot"}."""
    with st.write():
        row = _suggestion(st, suggestion_id)
        ch = Changes(st)
        target = row["to_spot"]
        if target is None and row["to_new"] is not None:
            mate = st.one("""SELECT m.spot_id FROM suggestions s
                             JOIN memberships m ON m.photo = s.photo AND m.ended_at IS NULL
                             JOIN spots sp ON sp.id = m.spot_id AND sp.removed_at IS NULL
                             WHERE s.site_id = ? AND s.to_new = ? AND s.state = 'accepted' AND m.by = 'person'
                             ORDER BY s.ended_at DESC LIMIT 1""", (row["site_id"], row["to_new"]))
            if mate is not None:
                target = mate["spot_id"]
            else:
                target = create_spot(st, row["site_id"], who)
                ch.inserted("spots", target)
        elif target is not None:
            sp = spot(st, target)
            if sp["site_id"] != row["site_id"]:
                raise StoreError("that spot is in another site", "spot_other_site")
        left = _move_into(st, ch, [row["photo"]], target)
        for s in left:
            _touch(ch, s)
            _retire_if_empty(st, ch, s)
            set_engine_phases(st, s, ch)
        _touch(ch, target)
        set_engine_phases(st, target, ch)
        _end_suggestion(ch, suggestion_id, "accepted", who)
        edit = record(st, "accept_suggestion", who, row["site_id"],
                      {"photos": [_photo(st, row["photo"])["name"]], "from": row["from_spot"], "to": target}, ch)
    return {"edit": edit, "spot": target}


def dismiss_suggestion(st: Store, suggestion_id: int, who: str) -> int | None:
    """Keep the photo where it is: the suggestion is dismissed (one audited, undoable edit)
    and the engine does not ask to take that photo out of that spot again."""
    with st.write():
        row = _suggestion(st, suggestion_id)
        ch = Changes(st)
        _end_suggestion(ch, suggestion_id, "dismissed", who)
        return record(st, "dismiss_suggestion", who, row["site_id"],
                      {"photos": [_photo(st, row["photo"])["name"]], "from": row["from_spot"]}, ch)


# --------------------------------------------------------------------------- what people's edits teach

#: Edits that change which photos are together (what the engine learns from; issue 20).
GROUPING_EDITS = ("move", "split", "each_new", "merge", "remove", "restore", "accept_suggestion", "unconfirm",
                  "site_merge", "site_split")


def last_grouping_edits(st: Store) -> dict[int, str]:
    """{site: when a person last changed which photos are together there (an edit of
    :data:`GROUPING_EDITS` made or undone), ISO}."""
    q = ",".join("?" * len(GROUPING_EDITS))
    rows = st.query(f"""SELECT site_id, max(max(at), coalesce(max(undone_at), '')) FROM edits
                        WHERE site_id IS NOT NULL AND action IN ({q}) GROUP BY site_id""", GROUPING_EDITS)
    return {r[0]: r[1] for r in rows}


def separations(st: Store, site_id: int) -> set[tuple[str, str]]:
    """Pairs of photos a person separated (cannot-link, issue 20): a photo a move, split,
    "each its own spot" or accepted suggestion took out of a spot, with each photo that
    stayed in that spot; from the audit log, edits undone left out. Pairs (a, b), a < b."""
    return {(min(photo, other), max(photo, other)) for photo, _, stayed, _ in separated_moves(st, site_id)
            for other in stayed}


def separated_moves(st: Store, site_id: int) -> list[tuple[str, int, frozenset[str], int]]:
    """Each photo a person took out of a spot (a move, split, "each its own spot" or
    accepted suggestion; edits undone left out), oldest first: (photo, the spot it left, the
    photos that stayed in that spot then, the edit's id). What :func:`separations` pairs up,
    and where the regroup looks for photos that follow the one taken out (issue 20); photos
    that followed it (:func:`edge_app.store.edits.add_followers`) are neither taken out by the
    person nor "stayed"."""
    import json  # noqa: PLC0415

    moves: list[tuple[str, int, set[str], int]] = []  # (photo, the membership it ended, the edit's photos, edit)
    ended_in: dict[int, int] = {}  # membership -> the edit that ended it, made_in: that opened it
    made_in: dict[int, int] = {}
    for e in st.query("""SELECT id, changes FROM edits WHERE site_id = ? AND undone_at IS NULL
                         AND action IN ('move', 'split', 'each_new', 'accept_suggestion') ORDER BY id""", (site_id,)):
        changes = [c for c in json.loads(e["changes"]) if c["k"] == "m"]
        taken = {c["photo"] for c in changes}  # the person's and the photos that followed them (issue 20)
        moves += [(c["photo"], c["old"], taken, e["id"]) for c in changes if c["old"] is not None and not c.get("followed")]
        ended_in.update((c["old"], e["id"]) for c in changes if c["old"] is not None)
        made_in.update((c["new"], e["id"]) for c in changes if c["new"] is not None)
    if not moves:
        return []
    # the memberships of every spot a move left, in one query (issue 16; it was two a move): the one
    # each move ended, and who was in that spot when it ended (TEXT times: Python compares them as SQLite)
    rows = st.query("""SELECT id, spot_id, photo, created_at, ended_at FROM memberships WHERE spot_id IN
                       (SELECT spot_id FROM memberships WHERE id IN (SELECT value FROM json_each(?)))""",
                    (json.dumps(sorted({old for _, old, _, _ in moves})),))
    ended = {r["id"]: r for r in rows}
    in_spot: dict[int, list] = {}
    for r in rows:
        in_spot.setdefault(r["spot_id"], []).append(r)
    out: list[tuple[str, int, frozenset[str], int]] = []
    for photo, old, taken, edit in moves:
        o = ended.get(old)  # none: not found, or it was in the tray
        if o is None or o["ended_at"] is None:
            continue
        at = o["ended_at"]
        # in the spot when the move took the photo out: opened before and ended after it; times
        # are to the millisecond, so two edits in one millisecond are told apart by their order
        stayed = frozenset(m["photo"] for m in in_spot[o["spot_id"]]
                           if (m["created_at"] < at or (m["created_at"] == at and made_in.get(m["id"], 0) <= edit))
                           and (m["ended_at"] is None or m["ended_at"] > at
                                or (m["ended_at"] == at and ended_in.get(m["id"], 0) > edit)))
        out.append((photo, o["spot_id"], stayed - taken, edit))
    return out


def open_suggestion(st: Store, suggestion_id: int) -> dict:
    """The engine's suggestion ``suggestion_id`` while it still holds: {"id", "site_id",
    "photo", "from_spot", "to_spot", "to_new"}. StoreError when there is none, it was
    answered, or the photo has moved since."""
    row = _suggestion(st, suggestion_id)
    return {k: row[k] for k in ("id", "site_id", "photo", "from_spot", "to_spot", "to_new")}


def suggestion_site(st: Store, suggestion_id: int) -> int | None:
    """The site of suggestion ``suggestion_id``, answered or not (None: there is none)."""
    return st.scalar("SELECT site_id FROM suggestions WHERE id = ?", (suggestion_id,))
