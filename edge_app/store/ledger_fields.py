"""The photo ledger's fields (사진대지), and people's edits of them.

Site: ``works_name`` (공사명), ``company`` (회사명, printed as 시공사 on the cover),
``work_type`` (공종, optional), ``client`` (발주처), ``contract_no`` (계약번호),
``contract_period`` (공사기간, free text as the contract states it; migration 7) and
``stage_words`` (which words the stages carry, a key of :data:`STAGE_WORD_KEYS`).
Spot: ``location`` (위치/측점, free text), ``asset_no`` (an optional asset number, e.g. a
tree tag) and ``caption`` (내용).

Every edit is one transaction and one audit row (``ledger_site`` / ``ledger_spot``), so
undo takes it back like any other edit. Editing a spot's fields marks it *touched*, as
naming it does. :func:`suggestions` lists the values used before, for the page's
suggestion lists.
"""

from __future__ import annotations

from . import Store, StoreError
from .edits import Changes, record

#: Stage word choices (the words themselves: ``edge_app.ledger.words``).
STAGE_WORD_KEYS = ("construction", "work", "completion")

#: Editable fields and their longest length (characters).
SITE_FIELDS = {"works_name": 120, "company": 120, "work_type": 60, "client": 120, "contract_no": 60,
               "contract_period": 60}
SPOT_FIELDS = {"location": 120, "asset_no": 60, "caption": 300}

#: Work types offered before any was typed.
WORK_TYPES = ("제초", "수목 전정", "토공", "포장", "배수", "도장", "청소")


def _clean(value, limit: int) -> str | None:
    """One line of text, trimmed and cut to ``limit``; '' and None clear the field."""
    if value is None:
        return None
    text = "".join(" " if (ord(c) < 32 or 0x7F <= ord(c) < 0xA0) else c for c in str(value))
    text = " ".join(text.split())[:limit].strip()
    return text or None


def site_fields(st: Store, site_id: int) -> dict:
    """{"works_name", "company", "work_type", "client", "contract_no", "contract_period",
    "stage_words"} of a site (None when unset)."""
    row = st.one(f"SELECT {', '.join(SITE_FIELDS)}, stage_words, merged_into FROM sites WHERE id = ?", (site_id,))
    if row is None or row["merged_into"] is not None:
        raise StoreError(f"no site {site_id}", "no_site")
    return {k: row[k] for k in (*SITE_FIELDS, "stage_words")}


def spot_fields(st: Store, spot_id: int) -> dict:
    """{"location", "asset_no", "caption"} of a spot (None when unset)."""
    row = st.one("SELECT location, asset_no, caption, removed_at FROM spots WHERE id = ?", (spot_id,))
    if row is None or row["removed_at"] is not None:
        raise StoreError(f"no spot {spot_id}", "no_spot")
    return {k: row[k] for k in SPOT_FIELDS}


def set_site_fields(st: Store, site_id: int, who: str, **fields) -> int | None:
    """Set the given site fields (others are left as they are); returns the edit id, or None
    when nothing changed. ``stage_words`` must be one of :data:`STAGE_WORD_KEYS` (or None)."""
    unknown = set(fields) - set(SITE_FIELDS) - {"stage_words"}
    if unknown:
        raise StoreError(f"unknown site field {sorted(unknown)[0]}", "unknown_field")
    if fields.get("stage_words") not in (None, "", *STAGE_WORD_KEYS):
        raise StoreError(f"stage words must be one of {', '.join(STAGE_WORD_KEYS)}", "stage_words")
    with st.write():
        site_fields(st, site_id)  # exists, not merged away
        ch = Changes(st)
        values = {}
        for k, v in fields.items():
            values[k] = (v or None) if k == "stage_words" else _clean(v, SITE_FIELDS[k])
            ch.set("sites", site_id, k, values[k])
        return record(st, "ledger_site", who, site_id, {"site": site_id, "fields": values}, ch)


def set_spot_fields(st: Store, spot_id: int, who: str, **fields) -> int | None:
    """Set the given spot fields (others are left as they are); returns the edit id, or None
    when nothing changed."""
    unknown = set(fields) - set(SPOT_FIELDS)
    if unknown:
        raise StoreError(f"unknown spot field {sorted(unknown)[0]}", "unknown_field")
    with st.write():
        row = st.one("SELECT site_id, removed_at FROM spots WHERE id = ?", (spot_id,))
        if row is None or row["removed_at"] is not None:
            raise StoreError(f"no spot {spot_id}", "no_spot")
        ch = Changes(st)
        values = {}
        for k, v in fields.items():
            values[k] = _clean(v, SPOT_FIELDS[k])
            ch.set("spots", spot_id, k, values[k])
        if ch.items:
            ch.set("spots", spot_id, "touched", 1)
        return record(st, "ledger_spot", who, row["site_id"], {"spot": spot_id, "fields": values}, ch)


def suggestions(st: Store, site_id: int | None = None, limit: int = 40) -> dict[str, list[str]]:
    """Values typed before, for suggestion lists: {"location", "asset_no", "caption",
    "works_name", "company", "work_type"}. This site's values first, then the most recent
    ones of other sites; spot names count as locations; work types end with the usual ones."""
    out: dict[str, list[str]] = {}
    here = -1 if site_id is None else site_id
    for col in SPOT_FIELDS:
        extra = " UNION ALL SELECT name AS v, site_id, id FROM spots WHERE name IS NOT NULL AND removed_at IS NULL" \
            if col == "location" else ""
        rows = st.query(f"""SELECT v, max(site_id = ?) AS here, max(id) AS last FROM (
                              SELECT {col} AS v, site_id, id FROM spots WHERE {col} IS NOT NULL AND removed_at IS NULL
                              {extra})
                            GROUP BY v ORDER BY here DESC, last DESC LIMIT ?""", (here, limit))
        out[col] = [r["v"] for r in rows]
    for col in SITE_FIELDS:
        rows = st.query(f"""SELECT {col} AS v, max(id = ?) AS here, max(id) AS last FROM sites
                            WHERE {col} IS NOT NULL GROUP BY {col} ORDER BY here DESC, last DESC LIMIT ?""",
                        (here, limit))
        out[col] = [r["v"] for r in rows]
    out["work_type"] += [w for w in WORK_TYPES if w not in out["work_type"]]
    return out


def spots_fields(st: Store, site_id: int) -> dict[int, dict]:
    """{spot id: {"id", "location", "asset_no", "caption"}} for every spot of a site (values
    as stored: None when unset): what the ledger prints beside each spot's photos."""
    rows = st.query("SELECT id, location, asset_no, caption FROM spots WHERE site_id = ?", (site_id,))
    return {r["id"]: dict(r) for r in rows}


def photo_details(st: Store, site_id: int) -> dict[str, dict]:
    """{sha256: {"sha256", "bytes", "lat", "lon", "alt", "ext", "taken_from"}} for every photo
    of a site: what the ledger's index and the ZIP's CSV list."""
    rows = st.query("SELECT sha256, bytes, lat, lon, alt, ext, taken_from FROM photos WHERE site_id = ?", (site_id,))
    return {r["sha256"]: dict(r) for r in rows}


def first_capture_local(st: Store, site_id: int) -> str | None:
    """The earliest local capture time of the site's photos (not removed), or None."""
    return st.scalar("SELECT min(taken_local) FROM photos WHERE site_id = ? AND removed_at IS NULL", (site_id,))


def site_of_spot(st: Store, spot_id: int) -> int | None:
    """The site of spot ``spot_id`` (removed or not), or None when there is no such spot."""
    return st.scalar("SELECT site_id FROM spots WHERE id = ?", (spot_id,))
