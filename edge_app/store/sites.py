"""Sites: the visits photos are split into (by GPS and capture time, see :mod:`edge_app.worker.placing`),
and people's edits of them: rename, merge, split.

The engine only ever places *new* photos into a site; it never moves a photo that already
has one, so a merge or split a person made stays as it is.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Sequence

from . import Store, StoreError, now_iso
from . import photos as store_photos
from .edits import Changes, record

if TYPE_CHECKING:  # the engine's site rule loads SciPy and OpenCV: only the worker needs it
    from ..engine.site_choice import SiteChoice, SiteFacts


def create_site(st: Store, created_by: str, name: str | None = None) -> int:
    """A new site (inside the caller's transaction)."""
    return st.db["sites"].insert({"name": name, "created_at": now_iso(), "created_by": created_by}).last_pk


def site_facts(st: Store, shas: Sequence[str], recent: int) -> SiteFacts:
    """What the engine chooses the sites of ``shas`` by, read in one go
    (:class:`edge_app.engine.site_choice.SiteFacts`): the photos among them without a site,
    every photo in a site, the ``recent`` photos added last that are in a site, the sites
    their upload batches already have; those with a site already are ``placed``."""
    from ..engine.metadata import PhotoMeta
    from ..engine.sessions import KnownPhotos
    from ..engine.site_choice import NewPhoto, SiteFacts

    rows = [r for r in store_photos.site_facts(st, shas) if r["site_id"] is None]
    batch_of = batches_of(st, [r["sha256"] for r in rows]) if rows else {}
    new = [NewPhoto(r["sha256"], PhotoMeta(r["taken_at"], (r["lat"], r["lon"], None) if r["lat"] is not None
                                           and r["lon"] is not None else None), batch_of.get(r["sha256"]))
           for r in rows]
    followed: dict[int, int] = {}  # a site id -> the site it lives on: one query a site, not a photo

    def site_of(site_id: int) -> int:
        if site_id not in followed:
            followed[site_id] = resolve(st, site_id)
        return followed[site_id]

    placed: dict[int, list[str]] = defaultdict(list)
    for r in store_photos.with_site(st, shas):
        placed[site_of(r["site_id"])].append(r["sha256"])
    old = store_photos.in_sites(st) if rows else []
    known = KnownPhotos.of([r["lat"] for r in old], [r["lon"] for r in old], [r["taken_at"] for r in old],
                           [site_of(r["site_id"]) for r in old])
    last = store_photos.recent_in_sites(st, recent) if rows else []
    return SiteFacts(new, known, [(r["sha256"], site_of(r["site_id"])) for r in last],
                     batch_sites(st, list(batch_of.values())), (st.scalar("SELECT max(id) FROM sites") or 0) + 1,
                     dict(placed))


def apply_site_choice(st: Store, facts: SiteFacts, choice: SiteChoice) -> dict[int, list[str]]:
    """Write the engine's choice in one transaction: open its new sites (in its order; an
    upload without any link named by its date, :func:`dated_name`), put each new photo in
    its site (``site_by = 'engine'``). Returns {site: photos}, ``facts.placed`` included."""
    out: dict[int, list[str]] = defaultdict(list, {k: list(v) for k, v in facts.placed.items()})
    with st.write():
        real = {facts.next_site + k: create_site(st, "engine", dated_name(st, batch) if dated else None)
                for k, (batch, dated) in enumerate(zip(choice.new_sites, choice.dated))}
        for p, site in zip(facts.new, choice.site_of):
            site = real.get(site, site)
            store_photos.set_site_by_engine(st, p.sha256, site)
            out[site].append(p.sha256)
    return dict(out)


def dated_name(st: Store, batch_id: int | None) -> str:
    """The name of a site the engine opens for photos that carry no date, GPS or look it can
    link ("2026-12-07 사진"): the day their batch started, on this device's clock (a person
    may rename it). A second such site of the same day is "2026-12-07 사진 (2)", and so on:
    two unrelated uploads of one day are never shown under one title."""
    started = st.scalar("SELECT started_at FROM batches WHERE id = ?", (batch_id,)) if batch_id else None
    try:
        day = datetime.fromisoformat(started.replace("Z", "+00:00")).astimezone() if started else None
    except ValueError:
        day = None
    base = f"{(day or datetime.now().astimezone()).strftime('%Y-%m-%d')} 사진"
    taken = {r[0] for r in st.query("SELECT name FROM sites WHERE name = ? OR name LIKE ?", (base, base + " (%)"))}
    if base not in taken:
        return base
    return next(f"{base} ({k})" for k in range(2, len(taken) + 3) if f"{base} ({k})" not in taken)


def batches_of(st: Store, shas: Sequence[str]) -> dict[str, int | None]:
    """{photo: the batch it came in}."""
    q = ",".join("?" * len(shas))
    return {r[0]: r[1] for r in st.query(f"SELECT sha256, batch_id FROM photos WHERE sha256 IN ({q})", list(shas))}


def batch_sites(st: Store, batch_ids: Sequence[int | None]) -> dict[int, set[int]]:
    """{batch: the sites (merged ones followed) its photos already have}: where the rest of
    an upload goes when nothing else links it (a batch is analysed a few photos a step)."""
    out: dict[int, set[int]] = {}
    for b in {b for b in batch_ids if b is not None}:
        rows = st.query("SELECT DISTINCT site_id FROM photos WHERE batch_id = ? AND site_id IS NOT NULL "
                        "AND removed_at IS NULL", (b,))
        out[b] = {resolve(st, r[0]) for r in rows}
    return out


def resolve(st: Store, site_id: int) -> int:
    """Follow ``merged_into`` to the site a merged site lives on in."""
    seen = set()
    while site_id not in seen:
        seen.add(site_id)
        nxt = st.scalar("SELECT merged_into FROM sites WHERE id = ?", (site_id,))
        if nxt is None:
            return site_id
        site_id = nxt
    return site_id


def site(st: Store, site_id: int):
    row = st.one("SELECT * FROM sites WHERE id = ?", (site_id,))
    if row is None or row["merged_into"] is not None:
        raise StoreError(f"no site {site_id}", "no_site")
    return row


def list_sites(st: Store) -> list[dict]:
    """Sites that hold photos, newest first, with counts and their time span:
    [{"id", "name", "photos", "spots", "confirmed", "unassigned", "waiting", "first_local",
    "last_local", "first_at", "last_at", "lat", "lon"}]."""
    rows = st.query("""
        SELECT s.id, s.name,
               count(p.sha256) AS photos,
               sum(p.state = 'waiting') AS waiting,
               min(p.taken_local) AS first_local, max(p.taken_local) AS last_local,
               min(p.taken_at) AS first_at, max(p.taken_at) AS last_at,
               avg(p.lat) AS lat, avg(p.lon) AS lon, max(p.added_at) AS last_added
        FROM sites s JOIN photos p ON p.site_id = s.id AND p.removed_at IS NULL
        WHERE s.merged_into IS NULL
        GROUP BY s.id ORDER BY last_added DESC""")
    out = []
    for r in rows:
        d = dict(r)
        counts = st.one("""
            SELECT count(DISTINCT CASE WHEN m.spot_id IS NOT NULL THEN m.spot_id END) AS spots,
                   count(DISTINCT CASE WHEN sp.confirmed_at IS NOT NULL THEN sp.id END) AS confirmed,
                   sum(m.spot_id IS NULL) AS unassigned
            FROM photos p JOIN memberships m ON m.photo = p.sha256 AND m.ended_at IS NULL
            LEFT JOIN spots sp ON sp.id = m.spot_id
            WHERE p.site_id = ? AND p.removed_at IS NULL""", (r["id"],))
        d.update(spots=counts["spots"] or 0, confirmed=counts["confirmed"] or 0,
                 unassigned=counts["unassigned"] or 0, waiting=d["waiting"] or 0)
        out.append(d)
    return out


def rename(st: Store, site_id: int, name: str | None, who: str) -> int | None:
    name = (name or "").strip()[:120] or None
    with st.write():
        site(st, site_id)
        ch = Changes(st)
        ch.set("sites", site_id, "name", name)
        return record(st, "site_rename", who, site_id, {"site": site_id, "name": name}, ch)


def merge(st: Store, site_ids: Sequence[int], who: str) -> dict:
    """Merge sites into the first one given: their photos and spots move there."""
    ids = list(dict.fromkeys(int(s) for s in site_ids))
    if len(ids) < 2:
        raise StoreError("choose at least two sites to merge", "merge_two_sites")
    with st.write():
        for s in ids:
            site(st, s)
        into = ids[0]
        ch = Changes(st)
        for s in ids[1:]:
            for r in st.query("SELECT sha256 FROM photos WHERE site_id = ?", (s,)):
                ch.set("photos", r[0], "site_id", into)
                ch.set("photos", r[0], "site_by", "person")
            # its spots come after the site's own ("지점 N" stays one name for one spot)
            after = st.scalar("SELECT coalesce(max(number), 0) FROM spots WHERE site_id = ?", (into,))
            for k, r in enumerate(st.query("SELECT id FROM spots WHERE site_id = ? ORDER BY number, id", (s,)), 1):
                ch.set("spots", r[0], "site_id", into)
                ch.set("spots", r[0], "number", after + k)
            ch.set("sites", s, "merged_into", into)
        edit = record(st, "site_merge", who, into, {"sites": ids, "into": into}, ch)
    return {"edit": edit, "site": into}


def split(st: Store, site_id: int, spot_ids: Sequence[int] = (), photos: Sequence[str] = (),
          who: str = "person", name: str | None = None) -> dict:
    """Move whole spots (with their photos) and single photos into a new site. A photo
    moved alone leaves its spot for the new site's tray. A spot keeps its number ("지점 3"
    on both pages), and the split is an edit of both sites (either page can undo it)."""
    spot_ids = [int(s) for s in dict.fromkeys(spot_ids)]
    photos = list(dict.fromkeys(photos))
    if not spot_ids and not photos:
        raise StoreError("choose spots or photos for the new site", "split_site_empty")
    from .spots import members, place, spot  # noqa: PLC0415 - spots imports nothing of sites

    with st.write():
        site(st, site_id)
        new = create_site(st, who, name)
        ch = Changes(st)
        ch.inserted("sites", new)
        for s in spot_ids:
            if spot(st, s)["site_id"] != site_id:
                raise StoreError("that spot is in another site", "spot_other_site")
            ch.set("spots", s, "site_id", new)
            for sha in members(st, s):
                ch.set("photos", sha, "site_id", new)
                ch.set("photos", sha, "site_by", "person")
        for sha in photos:
            row = st.one("SELECT site_id FROM photos WHERE sha256 = ?", (sha,))
            if row is None or row["site_id"] != site_id:
                raise StoreError("that photo is in another site", "photo_other_site")
            ch.set("photos", sha, "site_id", new)
            ch.set("photos", sha, "site_by", "person")
            old, cur = place(st, sha, None, "person")
            ch.membership(sha, old, cur)
        edit = record(st, "site_split", who, site_id, {"site": site_id, "new": new, "spots": spot_ids,
                                                        "photos": len(photos)}, ch)
    return {"edit": edit, "site": new}
