"""The spot versions head office received: the one module that reads and writes the
tables ``spot_versions`` and ``spot_photos`` (their schema is :mod:`.db`'s).

    c = HQDatabase.open("hq-data").connect()
    rows = latest_versions(c, device="tablet-3")          # the index page's list
    photos = photos_of(c, rows[0]["id"])                  # one version's photos, in order
    manifests = site_manifests(c, "tablet-3", site_id=2)  # what the ledger is made from

A version is what a device sent for one spot when it was confirmed or edited after: a row
of ``spot_versions`` (its manifest kept whole, with a few columns pulled out to filter by)
and one row of ``spot_photos`` per photo. Versions are only ever added.
"""

from __future__ import annotations

import json

from .db import Conn, now_iso

#: Where a photo's capture time comes from, as the device's store says (``photos.taken_from``).
TAKEN_FROM = ("exif", "file name", "file name date")

_NEWEST = ("v.version = (SELECT max(w.version) FROM spot_versions w "
           "WHERE w.device = v.device AND w.spot_id = v.spot_id)")


def taken_from(p: dict) -> str | None:
    """A photo's ``taken_from`` as head office keeps it: one of :data:`TAKEN_FROM`, else None
    (a manifest from before the device sent it, or a value head office does not know)."""
    v = p.get("taken_from")
    return v if v in TAKEN_FROM else None


# --------------------------------------------------------------------------- writing


def find_version(c: Conn, device: str, spot_id: int, version: int) -> dict | None:
    """``{"id", "content_sha256"}`` of a version already received, else None."""
    return c.one("SELECT id, content_sha256 FROM spot_versions WHERE device = ? AND spot_id = ? AND version = ?",
                 (device, spot_id, version))


def record_version(c: Conn, device: str, manifest: dict, body: str, content_sha256: str, key: str) -> int:
    """Add one spot version and its photos (inside the caller's transaction); its id.

    ``manifest`` is the validated manifest (``spot``, ``site``, ``photos``), ``body`` its
    text as sent (kept whole), ``content_sha256`` the hash that tells a re-send of the same
    version from a different one, ``key`` the request's idempotency key. A photo listed
    twice is kept once, at its first position."""
    spot, site, photos = manifest["spot"], manifest.get("site") or {}, manifest["photos"]
    taken = sorted(p.get("taken_local") for p in photos if p.get("taken_local"))
    vid = c.insert_id(
        "INSERT INTO spot_versions (device, spot_id, version, site_id, site_name, spot_name, confirmed_at, lat, "
        "lon, first_taken, last_taken, n_photos, cover, manifest, content_sha256, idem_key, received_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (device, spot["id"], spot["version"], site.get("id"), site.get("name"), spot.get("name"),
         spot.get("confirmed_at"), spot.get("lat"), spot.get("lon"), taken[0] if taken else None,
         taken[-1] if taken else None, len({p["sha256"] for p in photos}), spot.get("cover"), body, content_sha256,
         key, now_iso()))
    for pos, p in enumerate(photos):
        c.execute("INSERT INTO spot_photos (version_id, sha256, name, taken_local, taken_from, phase, position) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                  (vid, p["sha256"], p["name"][:255], p.get("taken_local"), taken_from(p), p.get("phase"), pos))
    return vid


# --------------------------------------------------------------------------- reading


def latest_versions(c: Conn, device: str | None = None, site: tuple[str, int] | None = None,
                    day_from: str | None = None, day_to: str | None = None, limit: int = 500) -> list[dict]:
    """The newest version of every received spot, newest confirmed first, at most ``limit``.

    Filters: ``device``; ``site`` = (device, site id); ``day_from`` / ``day_to``
    ('YYYY-MM-DD', inclusive) against the photos' capture days (the confirmation day when
    none has one). Each row is the version's columns plus ``versions`` (how many the spot
    has) and ``thumb`` (the cover's sha256, else the first photo's)."""
    where, args = [], []
    if device:
        where.append("v.device = ?")
        args.append(device)
    if site:
        where.append("v.device = ? AND v.site_id = ?")
        args += list(site)
    if day_from:
        where.append("coalesce(v.last_taken, v.confirmed_at) >= ?")
        args.append(day_from)
    if day_to:
        where.append("coalesce(v.first_taken, v.confirmed_at) <= ?")
        args.append(day_to + " 99")
    sql = ("SELECT v.*, (SELECT count(*) FROM spot_versions w WHERE w.device = v.device AND w.spot_id = v.spot_id) "
           "AS versions FROM spot_versions v WHERE " + _NEWEST)
    if where:
        sql += " AND " + " AND ".join(where)
    rows = c.query(sql + f" ORDER BY v.confirmed_at DESC, v.id DESC LIMIT {int(limit)}", args)
    for r in rows:
        r["thumb"] = r["cover"] or c.scalar("SELECT sha256 FROM spot_photos WHERE version_id = ? ORDER BY position "
                                            "LIMIT 1", (r["id"],))
    return rows


def sites(c: Conn) -> list[dict]:
    """``[{"device", "site_id", "site_name"}]`` of every site a version came from (the
    index page's site filter); a renamed site is listed under each name it was sent with."""
    return c.query("SELECT DISTINCT device, site_id, site_name FROM spot_versions ORDER BY device, site_id")


def versions_of(c: Conn, device: str, spot_id: int) -> list[dict]:
    """Every received version of one spot, newest first ([] for a spot never received)."""
    return c.query("SELECT * FROM spot_versions WHERE device = ? AND spot_id = ? ORDER BY version DESC",
                   (device, spot_id))


def version(c: Conn, device: str, spot_id: int, number: int) -> dict | None:
    """One version of a spot, or None."""
    return c.one("SELECT * FROM spot_versions WHERE device = ? AND spot_id = ? AND version = ?",
                 (device, spot_id, number))


def photos_of(c: Conn, version_id: int) -> list[dict]:
    """The photos of one version in the device's order: ``sha256``, ``name``, ``taken_local``,
    ``taken_from``, ``phase``, ``position``."""
    return c.query("SELECT sha256, name, taken_local, taken_from, phase, position FROM spot_photos "
                   "WHERE version_id = ? ORDER BY position", (version_id,))


def photo_name(c: Conn, sha256: str) -> str | None:
    """A name a device sent the photo with (for the download), or None."""
    return c.scalar("SELECT name FROM spot_photos WHERE sha256 = ? LIMIT 1", (sha256,))


def every_version(c: Conn) -> list[dict]:
    """Every received version, oldest first per device and spot (``hq status --json``)."""
    return c.query("SELECT * FROM spot_versions ORDER BY device, spot_id, version")


def site_manifests(c: Conn, device: str, site_id: int) -> list[dict]:
    """The manifest of the newest version of each spot of a device's site, in the order
    head office first received the spots' newest versions ([] for an unknown site)."""
    rows = c.query("SELECT v.id, v.manifest FROM spot_versions v WHERE v.device = ? AND v.site_id = ? AND "
                   + _NEWEST + " ORDER BY v.id", (device, site_id))
    return [json.loads(r["manifest"]) for r in rows]
