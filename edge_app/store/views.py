"""Read models: what the site page shows and what ``edge-app status --json`` prints.

:func:`status` returns the documented, stable shape for scripts::

    {"sites": [{"id", "name", "spots": [{"id", "name", "confirmed", "photos": [
                   {"name", "sha256", "phase", "by"}]}],
                "unassigned": [{"name", "sha256", "phase", "by"}]}],
     "waiting": n,                       # photos stored, not analysed yet
     "refused": [{"name", "reason"}]}    # files not taken in (and photos that failed analysis)

Extra keys may be added; these never change meaning.
"""

from __future__ import annotations

from collections import defaultdict

from . import Store
from .sites import list_sites, site
from .spots import open_suggestions

#: The engine's placement score under which a photo is flagged "unsure" on the page.
UNSURE_BELOW = 0.7


def _photo_dict(r) -> dict:
    return {"sha256": r["sha256"], "name": r["name"], "phase": r["phase"], "phase_by": r["phase_by"],
            "taken_local": r["taken_local"], "taken_at": r["taken_at"], "by": r["by"], "score": r["score"],
            "suggest": r["suggest"], "width": r["width"], "height": r["height"],
            "unsure": r["by"] == "engine" and r["score"] is not None and r["score"] < UNSURE_BELOW}


def site_view(st: Store, site_id: int) -> dict:
    """One site as the page shows it:

    {"site": {...}, "spots": [{"id", "number", "name", "confirmed", "confirmed_at", "touched", "cover",
     "photos": [photo], "missing_after", "unsure", "review", "suggestions"}], "unassigned": [photo],
     "suggestions": [{"id", "photo", "name", "from", "to", "new", "score"}]}

    ``suggestions``: moves a later engine answer (the background second look included) would
    make out of a spot already shown, asked instead of done (:func:`.spots.open_suggestions`):
    photo ``photo`` from spot ``from`` to spot ``to``, or to a new spot (``new``), or to the
    tray (``to`` None, ``new`` False); the page offers accept (:func:`.spots.accept_suggestion`)
    and dismiss (:func:`.spots.dismiss_suggestion`). Each photo concerned carries its own as
    ``move_suggestion`` (else None), and each spot the number of its photos asked out.

    ``review``: why the engine's thorough pass asks a person to look at the spot ("machine",
    "shared"), or None; never shown on a spot a person touched or confirmed.

    ``number`` is stable (given when the spot is made, after every spot of its site; kept
    when the site is split; a site merge numbers the spots it brings after the site's own):
    the page names an unnamed spot "지점 <number>", and that name does not shift after edits.

    Spots in order of their first photo's capture time; photos in capture order.
    """
    s = dict(site(st, site_id))
    rows = st.query("""
        SELECT p.sha256, p.name, p.phase, p.phase_by, p.taken_local, p.taken_at, p.width, p.height,
               m.spot_id, m.by, m.score, m.suggest
        FROM photos p JOIN memberships m ON m.photo = p.sha256 AND m.ended_at IS NULL
        WHERE p.site_id = ? AND p.removed_at IS NULL
        ORDER BY p.taken_at IS NULL, p.taken_at, p.name""", (site_id,))
    asked = open_suggestions(st, site_id)
    asked_of = {a["photo"]: a for a in asked}
    by_spot: dict[int, list[dict]] = defaultdict(list)
    tray = []
    for r in rows:
        (tray if r["spot_id"] is None else by_spot[r["spot_id"]]).append(
            _photo_dict(r) | {"move_suggestion": asked_of.get(r["sha256"])})
    spot_rows = {r["id"]: dict(r) for r in st.query(
        "SELECT * FROM spots WHERE site_id = ? AND removed_at IS NULL", (site_id,))}
    spots = []
    for sid, photos in by_spot.items():
        sp = spot_rows.get(sid)
        if sp is None:  # a photo left in a spot that was removed: show it in the tray
            tray.extend(photos)
            continue
        phases = {p["phase"] for p in photos}
        spots.append({"id": sid, "number": sp["number"], "name": sp["name"], "confirmed": sp["confirmed_at"] is not None,
                      "confirmed_at": sp["confirmed_at"], "touched": bool(sp["touched"]),
                      "cover": sp["cover"] if sp["cover"] in {p["sha256"] for p in photos} else None,
                      "photos": photos, "missing_after": bool(phases - {None}) and "after" not in phases,
                      "unsure": sum(p["unsure"] for p in photos),
                      "review": sp.get("review") if not sp["touched"] and sp["confirmed_at"] is None else None,
                      "suggestions": sum(p["move_suggestion"] is not None for p in photos)})
    spots.sort(key=lambda sp: (sp["photos"][0]["taken_at"] is None, sp["photos"][0]["taken_at"] or 0, sp["id"]))
    tray.sort(key=lambda p: (p["taken_at"] is None, p["taken_at"] or 0, p["name"]))
    return {"site": s, "spots": spots, "unassigned": tray, "suggestions": asked}


def waiting_count(st: Store) -> int:
    return int(st.scalar("SELECT count(*) FROM photos WHERE state = 'waiting' AND removed_at IS NULL"))


def failed_photos(st: Store) -> list[dict]:
    return [dict(r) for r in st.query(
        "SELECT name, sha256, state_reason AS reason FROM photos WHERE state = 'failed' AND removed_at IS NULL "
        "ORDER BY added_at")]


def status(st: Store) -> dict:
    """The whole store in the stable shape documented above."""
    out_sites = []
    for s in list_sites(st):
        v = site_view(st, s["id"])
        keep = ("name", "sha256", "phase", "by")
        out_sites.append({
            "id": s["id"], "name": s["name"],
            "spots": [{"id": sp["id"], "name": sp["name"], "confirmed": sp["confirmed"],
                       "photos": [{k: p[k] for k in keep} for p in sp["photos"]]} for sp in v["spots"]],
            "unassigned": [{k: p[k] for k in keep} for p in v["unassigned"]],
        })
    refused = [{"name": r["name"], "reason": r["reason"]} for r in st.query(
        "SELECT name, reason FROM arrivals WHERE outcome = 'refused' ORDER BY id")]
    refused += [{"name": r["name"], "reason": r["reason"] or "could not be analysed"} for r in failed_photos(st)]
    return {"sites": out_sites, "waiting": waiting_count(st), "refused": refused}


def spot_brief(st: Store, spot_id: int) -> dict:
    """{"id", "name", "number"} of one spot (``number`` as in :func:`site_view`), for a
    message that names it."""
    row = st.one("SELECT id, name, number FROM spots WHERE id = ?", (spot_id,))
    return {"id": row["id"], "name": row["name"], "number": row["number"]}


def removed_photos(st: Store, site_id: int) -> list:
    """The site's removed photos (rows of sha256, name), the latest removed first: what the
    page offers to restore."""
    return st.query("SELECT sha256, name FROM photos WHERE site_id = ? AND removed_at IS NOT NULL "
                    "ORDER BY removed_at DESC", (site_id,))


def site_version(st: Store, site_id: int) -> int:
    """A number that changes whenever a photo of the site gets a new place, a spot's review
    flag changes or the engine asks a new move (a suggestion): the page, polling it, offers
    a refresh."""
    import zlib

    places = int(st.scalar("""SELECT coalesce(max(m.id), 0) + count(*) FROM photos p
                              JOIN memberships m ON m.photo = p.sha256 AND m.ended_at IS NULL
                              WHERE p.site_id = ?""", (site_id,)) or 0)
    flags = st.scalar("SELECT group_concat(id || ':' || review, ',') FROM spots WHERE site_id = ? "
                      "AND review IS NOT NULL AND removed_at IS NULL", (site_id,)) or ""
    flags += st.scalar("SELECT group_concat(id, ',') FROM suggestions WHERE site_id = ? AND state = 'open'",
                       (site_id,)) or ""
    return places * 4096 + zlib.crc32(flags.encode()) % 4096
