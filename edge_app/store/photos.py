"""Photos into the store: content-addressed originals, thumbnails, refusals, batches.

Every door (the page's upload, a watched folder, ``edge-app add``) calls :func:`add_bytes`
or :func:`add_path`. A file is decoded through the one guarded decode path
(:func:`edge_app.engine.decode.decode_image`) before anything is kept, so a broken, hostile or
unsupported file is refused with the same short reason wherever it came from, and never
stops the other files. The same bytes added twice are one photo (the sha256 is the key).

Order of a write, so that a power cut loses nothing acknowledged and leaves nothing half
written: the original goes to ``tmp/``, is fsynced and renamed into ``originals/`` (then the
folder is fsynced); only then the photo row, its thumbnail and the arrival are committed in
one transaction. A crash before the commit leaves at most an original without a row, which
the next add of the same photo adopts.

A camera original (a JPEG of 2880 px or more on its long side) also keeps two **print
previews** (:data:`PRINT_PREVIEWS`): its 1/4 scale (kind 'print_quarter', 100-250 KB), the
one decode made at ingest, and its 1/8 scale (kind 'print', 30-60 KB) halved from that, which
the grid thumbnail is shrunk from. The photo ledger prints from the smallest preview that
fills its box (:func:`print_preview`: 1/8 for rows and 4-up, 1/4 for 2-up and the PDF's
cover) instead of decoding a 12 MP original again for every export (issue 18). Photos
stored before previews were kept get theirs from :func:`add_print_previews`.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
from PIL import Image

from ..engine.decode import (ImageError, decode_image, is_image_name, read_jpeg_header, read_photo_bytes,
                             scan_folder, sniff_format)
from ..engine.metadata import capture_time, read_meta
from ..fileio import sharded_path, write_atomic
from . import Store, StoreError, now_iso, seconds_since

#: Long side of the grid thumbnail (pixels): sharp on a 2x tablet screen at ~160 CSS px.
THUMB_SIDE = 360
#: Long side of the large view (made on first request and kept).
LARGE_SIDE = 1600
#: The print preview's JPEG quality: the ledger's own (``edge_app.ledger.images.JPEG_QUALITY``),
#: so a preview of exactly the printed size goes into the ledger as it is.
PRINT_QUALITY = 85
#: Print previews are made for JPEGs whose 1/8 scale has a long side in this range (pixels):
#: from 2880 px originals (smaller ones decode fast, and a ledger box wants more than their
#: 1/8) up to 9600 px (beyond, the previews would weigh more than they save).
PRINT_PREVIEW_SIDES = (THUMB_SIDE, 1200)
#: The print previews a camera original keeps: thumbnail kind -> the scale (1/n) of the
#: original it holds, upright.
PRINT_PREVIEWS = {"print": 8, "print_quarter": 4}

_EXT = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tif", "HEIF": ".heic", "BMP": ".bmp",
        "GIF": ".gif", "AVIF": ".avif", "MPO": ".jpg"}


@dataclass
class Arrival:
    """What happened to one file offered to the store.

    outcome: 'added' | 'duplicate' | 'refused'; sha256: None when refused before hashing;
    reason / detail: why it was refused (short, user-facing / technical).
    """

    name: str
    outcome: str
    sha256: str | None = None
    reason: str | None = None
    detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome != "refused"


# --------------------------------------------------------------------------- batches


def start_batch(st: Store, source: str, who: str) -> int:
    """A new batch (one upload, one scan of a watched folder, one ``edge-app add``)."""
    with st.write():
        return st.db["batches"].insert({"source": source, "who": who, "started_at": now_iso()}).last_pk


def finish_batch(st: Store, batch_id: int) -> None:
    """The batch's last file has arrived: the worker regroups its sites once analysed."""
    with st.write():
        st.conn.execute("UPDATE batches SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
                        (now_iso(), batch_id))


def batch_progress(st: Store, batch_id: int) -> dict:
    """{"total", "analysed", "failed", "waiting", "refused", "duplicates", "finished", "regrouped"}."""
    row = st.one("SELECT finished_at, regrouped_at FROM batches WHERE id = ?", (batch_id,))
    if row is None:
        raise StoreError(f"no batch {batch_id}", "no_batch")
    counts = {r["state"]: r["n"] for r in st.query(
        "SELECT state, count(*) AS n FROM photos WHERE batch_id = ? AND removed_at IS NULL GROUP BY state",
        (batch_id,))}
    arr = {r["outcome"]: r["n"] for r in st.query(
        "SELECT outcome, count(*) AS n FROM arrivals WHERE batch_id = ? GROUP BY outcome", (batch_id,))}
    return {"total": sum(counts.values()), "analysed": counts.get("analysed", 0), "failed": counts.get("failed", 0),
            "waiting": counts.get("waiting", 0), "refused": arr.get("refused", 0),
            "duplicates": arr.get("duplicate", 0), "finished": row["finished_at"] is not None,
            "regrouped": row["regrouped_at"] is not None}


# --------------------------------------------------------------------------- originals


def original_path(st: Store, sha256: str, ext: str | None = None) -> Path:
    """Where the original of ``sha256`` is kept (``ext`` from the photo row when omitted)."""
    if ext is None:
        ext = st.scalar("SELECT ext FROM photos WHERE sha256 = ?", (sha256,))
        if ext is None:
            raise StoreError("no such photo", "no_photo")
    return sharded_path(st.originals, sha256, ext)


def read_original(st: Store, sha256: str) -> bytes:
    return original_path(st, sha256).read_bytes()


def _write_original(st: Store, sha256: str, ext: str, data: bytes) -> Path:
    """Write the original atomically (temp file, fsync, rename, fsync folder), read-only.
    Idempotent: an existing file with the right content is kept as is."""
    dest = original_path(st, sha256, ext)
    if dest.is_file() and dest.stat().st_size == len(data):
        return dest
    return write_atomic(dest, data, tmp_dir=st.tmp, mode=0o444)


def _jpeg(rgb, quality: int = 80, optimize: bool = True) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality, optimize=optimize, progressive=False)
    return buf.getvalue()


def _quarter_side(data: bytes) -> int | None:
    """The long side (pixels) of the original's 1/4 scale when these bytes are a JPEG that
    keeps print previews (its 1/8 scale within :data:`PRINT_PREVIEW_SIDES`), else None (no
    previews; the header is read without decoding, and anything odd means None)."""
    if sniff_format(data) != "JPEG":
        return None
    side = max(read_jpeg_header(data).size)
    lo, hi = PRINT_PREVIEW_SIDES
    return -(-side // 4) if lo <= -(-side // 8) <= hi else None


def _print_previews(quarter: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The print previews of an original decoded at its 1/4 scale (uint8 [h, w, 3], upright):
    ({kind: pixels} of :data:`PRINT_PREVIEWS`, and the 1/8 scale, which the thumbnail is
    shrunk from). The 1/8 is the 1/4 halved by 2x2 means: the DC terms libjpeg's own 1/8 scale
    decodes, within rounding ([ceil(h/2), ceil(w/2), 3])."""
    eighth = np.asarray(Image.fromarray(quarter).reduce(2))
    return eighth, {"print": eighth, "print_quarter": quarter}


def _shrink(rgb, side: int):
    """uint8 [h, w, 3] shrunk so its long side is at most ``side`` (bilinear with Pillow's
    antialiasing; never enlarged)."""
    h, w = rgb.shape[:2]
    if max(h, w) <= side:
        return rgb
    s = side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR))


def _taken_local(exif) -> str | None:
    """The camera's own clock (DateTimeOriginal, else DateTime) as 'YYYY-MM-DD HH:MM:SS'."""
    try:
        text = exif.get_ifd(0x8769).get(0x9003) or exif.get(0x0132)
    except Exception:  # noqa: BLE001 - malformed IFDs are common
        return None
    if not isinstance(text, str):
        return None
    text = text.strip().rstrip("\x00")
    if len(text) < 19 or not text[:4].isdigit():
        return None
    out = text[:4] + "-" + text[5:7] + "-" + text[8:10] + " " + text[11:19]
    digits = out.replace("-", "").replace(" ", "").replace(":", "")
    return out if digits.isdigit() and len(digits) == 14 else None


def _orientation(exif) -> int:
    try:
        v = int(exif.get(0x0112, 1) or 1)
    except (TypeError, ValueError):
        return 1
    return v if 1 <= v <= 8 else 1


def _finite(x):
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if x == x and abs(x) != float("inf") else None


# --------------------------------------------------------------------------- adding


def stored_name(name) -> str:
    """A file name as the store keeps it: text that UTF-8 can hold. A name that is not
    valid UTF-8 (a card written by an older Korean Windows) keeps its bytes as ``\\xNN``."""
    s = str(name)[:255]
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _record_arrival(st: Store, a: Arrival, batch_id, source: str, who: str) -> None:
    st.db["arrivals"].insert({"batch_id": batch_id, "name": a.name, "sha256": a.sha256, "outcome": a.outcome,
                              "reason": a.reason, "detail": (a.detail or "")[:500] or None, "source": source,
                              "who": who, "at": now_iso()})


def refuse(st: Store, name: str, reason: str, detail: str = "", *, source: str, who: str,
           batch_id: int | None = None, sha256: str | None = None) -> Arrival:
    """Record a file that was not taken in, with its reason (shown to the person who added it)."""
    a = Arrival(stored_name(name), "refused", sha256, reason, detail or None)
    with st.write():
        _record_arrival(st, a, batch_id, source, who)
    return a


def add_bytes(st: Store, data: bytes, name: str, *, source: str, who: str, batch_id: int | None = None) -> Arrival:
    """Take one photo's bytes into the store; returns what happened (never raises for a bad
    file: a refusal is recorded with its reason)."""
    name = stored_name(name)
    sha = hashlib.sha256(data).hexdigest()
    if st.scalar("SELECT 1 FROM photos WHERE sha256 = ?", (sha,)):
        a = Arrival(name, "duplicate", sha)
        with st.write():
            retry_put_off(st, sha)  # one put off by a full disk is tried again now
            _record_arrival(st, a, batch_id, source, who)
        return a
    quarter_side = _quarter_side(data)
    try:
        dec = decode_image(data, quarter_side or THUMB_SIDE, min_side=1)
        if min(dec.full_size) < 8:
            raise ImageError(name, "too small", f"{dec.full_size[0]}x{dec.full_size[1]} pixels")
    except ImageError as e:
        return refuse(st, name, e.reason, e.detail, source=source, who=who, batch_id=batch_id, sha256=sha)
    except MemoryError:
        return refuse(st, name, "too large", "out of memory", source=source, who=who, batch_id=batch_id, sha256=sha)
    fmt = getattr(dec, "format", None) or ""
    ext = _EXT.get(fmt.upper()) or (Path(name).suffix.lower() if is_image_name(name) else ".img")
    meta = read_meta(dec.exif)
    gps = meta.gps or (None, None, None)
    taken_at, taken_local, taken_from = capture_time(meta.taken_at, _taken_local(dec.exif), name)
    eighth, previews = _print_previews(dec.rgb) if quarter_side else (dec.rgb, {})
    small = _shrink(eighth, THUMB_SIDE)
    thumb = _jpeg(small)
    preview_rows = [_preview_row(sha, kind, rgb) for kind, rgb in previews.items()]
    _write_original(st, sha, ext, data)
    row = {"sha256": sha, "name": name, "ext": ext, "format": fmt or None, "bytes": len(data),
           "width": dec.full_size[0], "height": dec.full_size[1], "orientation": _orientation(dec.exif),
           "taken_at": taken_at, "taken_local": taken_local, "taken_from": taken_from,
           "lat": _finite(gps[0]), "lon": _finite(gps[1]), "alt": _finite(gps[2]),
           "camera": (meta.camera or None) and str(meta.camera)[:200], "state": "waiting",
           "batch_id": batch_id, "source": source, "added_at": now_iso(), "added_by": who}
    a = Arrival(name, "added", sha)
    with st.write():
        if st.scalar("SELECT 1 FROM photos WHERE sha256 = ?", (sha,)):  # added meanwhile by another door
            a = Arrival(name, "duplicate", sha)
        else:
            st.db["photos"].insert(row)
            st.db["thumbnails"].insert({"photo": sha, "kind": "thumb", "width": small.shape[1],
                                        "height": small.shape[0], "jpeg": thumb})
            if preview_rows:
                st.db["thumbnails"].insert_all(preview_rows)
        _record_arrival(st, a, batch_id, source, who)
    return a


def add_path(st: Store, path: str | Path, *, source: str, who: str, batch_id: int | None = None,
             name: str | None = None) -> Arrival:
    """Take one photo file into the store (see :func:`add_bytes`)."""
    name = name or Path(path).name
    try:
        data = read_photo_bytes(path)
    except ImageError as e:
        return refuse(st, name, e.reason, e.detail, source=source, who=who, batch_id=batch_id)
    return add_bytes(st, data, name, source=source, who=who, batch_id=batch_id)


def iter_photo_files(paths: Iterable[str | Path]) -> Iterator[tuple[Path, str | None]]:
    """(path, None) for each photo file under ``paths`` (files, or folders searched
    recursively), and (path, reason) for every entry that is not taken (hidden, not a
    photo, not a regular file, missing), with the reasons of the engine's folder scan."""
    for p in paths:
        p = Path(p)
        if p.is_dir():
            yield from _walk(p)
        elif p.exists() or p.is_symlink():
            yield p, None
        else:
            yield p, "file not found"


def _walk(folder: Path) -> Iterator[tuple[Path, str | None]]:
    try:
        scan = scan_folder(folder)
    except OSError as e:
        yield folder, f"unreadable ({e.strerror or e})"
        return
    for path in scan.photos:
        yield path, None
    for path, why in scan.skipped:
        if path.is_dir() and not path.is_symlink() and not path.name.startswith("."):
            yield from _walk(path)  # DCIM/100CANON/...
        else:
            yield path, why


def add_paths(st: Store, paths: Iterable[str | Path], *, source: str, who: str,
              batch_id: int | None = None, progress=None) -> list[Arrival]:
    """Add every photo under ``paths``; entries that are not photos are refused with a reason."""
    out = []
    items = list(iter_photo_files(paths))
    for k, (p, why) in enumerate(items):
        if why:
            out.append(refuse(st, p.name, why, source=source, who=who, batch_id=batch_id))
        else:
            out.append(add_path(st, p, source=source, who=who, batch_id=batch_id))
        if progress:
            progress(k + 1, len(items))
    return out


# --------------------------------------------------------------------------- analysis outcomes

#: Reasons that say the photo itself is bad (its bytes, or the decoder's guards refused it):
#: analysing it again gives the same answer, so it is "failed" at once. Any other reason
#: (disk full or a cache write refused: "could not be analysed"; out of memory: "too large
#: to process"; the original unreadable for a moment) is a passing cause: the photo waits
#: and is tried again (:func:`put_off`).
PHOTO_FAULTS = frozenset({"not an image", "unsupported format", "truncated or corrupt", "too large", "too small",
                          "too complex", "took too long", "empty file", "original damaged on disk"})
#: Back-off of a photo put off: RETRY_BASE_S after the first failure, doubling, at most
#: RETRY_MAX_S; after RETRY_TRIES failures it is "failed" until the worker starts again or
#: the photo is added again (:func:`retry_put_off`).
RETRY_BASE_S = 30.0
RETRY_MAX_S = 3600.0
RETRY_TRIES = 8


def is_photo_fault(reason: str) -> bool:
    """Whether an analysis failure with this reason is the photo's own (see :data:`PHOTO_FAULTS`)."""
    return reason in PHOTO_FAULTS


@dataclass
class AnalysisOutcome:
    """One photo's analysis as the worker got it: ``reason`` None when it was analysed
    (``transient``: its share covered by people), else why it failed (``detail``: words
    for the log)."""

    sha256: str
    reason: str | None = None
    detail: str = ""
    transient: float = 0.0


def record_analyses(st: Store, outcomes: Iterable[AnalysisOutcome], now: float) -> dict[str, list[AnalysisOutcome]]:
    """Write a step's analysis outcomes in one transaction: analysed; failed for good when
    the photo itself is bad (:func:`is_photo_fault`); else put off and tried again later
    (:func:`put_off`), failed once it has been tried :data:`RETRY_TRIES` times. Returns the
    outcomes by what became of them: {"analysed", "failed", "put_off", "gave_up"}."""
    out: dict[str, list[AnalysisOutcome]] = {"analysed": [], "failed": [], "put_off": [], "gave_up": []}
    with st.write():
        for o in outcomes:
            if o.reason is None:
                mark_analysed(st, o.sha256, o.transient)
                out["analysed"].append(o)
            elif is_photo_fault(o.reason):
                mark_failed(st, o.sha256, o.reason)
                out["failed"].append(o)
            else:
                out["put_off" if put_off(st, o.sha256, o.reason, now) else "gave_up"].append(o)
    return out


def due_for_analysis(st: Store, limit: int, now: float) -> list:
    """Waiting photos to analyse now, oldest first: those not put off, and those whose
    back-off has run out."""
    return st.query("SELECT sha256, ext, name FROM photos WHERE state = 'waiting' AND removed_at IS NULL "
                    "AND (retry_at IS NULL OR retry_at <= ?) ORDER BY added_at, rowid LIMIT ?", (now, limit))


def due_originals(st: Store, limit: int, now: float) -> list[tuple[str, Path]]:
    """The photos to analyse now (:func:`due_for_analysis`) and where their originals are:
    [(sha256, path)], oldest first."""
    return [(r["sha256"], original_path(st, r["sha256"], r["ext"])) for r in due_for_analysis(st, limit, now)]


def mark_analysed(st: Store, sha256: str, transient: float) -> None:
    """The photo was analysed (``transient``: its share covered by people)."""
    with st.write():
        st.conn.execute("UPDATE photos SET state = 'analysed', state_reason = NULL, transient = ?, tries = 0, "
                        "retry_at = NULL WHERE sha256 = ?", (transient, sha256))


def mark_failed(st: Store, sha256: str, reason: str) -> None:
    """The photo itself cannot be analysed: shown as failed with ``reason``, never tried again."""
    with st.write():
        st.conn.execute("UPDATE photos SET state = 'failed', state_reason = ?, tries = 0, retry_at = NULL "
                        "WHERE sha256 = ?", (reason, sha256))


def put_off(st: Store, sha256: str, reason: str, now: float) -> bool:
    """Analysis failed for a passing cause: the photo keeps waiting and is tried again after
    a back-off (see :data:`RETRY_BASE_S`). Returns False when it has failed
    :data:`RETRY_TRIES` times: then it is "failed" with ``reason`` (until :func:`retry_put_off`)."""
    with st.write():
        tries = (st.scalar("SELECT tries FROM photos WHERE sha256 = ?", (sha256,)) or 0) + 1
        if tries >= RETRY_TRIES:
            st.conn.execute("UPDATE photos SET state = 'failed', state_reason = ?, tries = ?, retry_at = NULL "
                            "WHERE sha256 = ?", (reason, tries, sha256))
            return False
        wait = min(RETRY_MAX_S, RETRY_BASE_S * 2 ** (tries - 1))
        st.conn.execute("UPDATE photos SET state = 'waiting', state_reason = ?, tries = ?, retry_at = ? "
                        "WHERE sha256 = ?", (reason, tries, now + wait, sha256))
        return True


def retry_put_off(st: Store, sha256: str | None = None) -> int:
    """Photos put off, or failed for a passing cause, are due now with a fresh count of
    tries (the worker starting: space may have been freed; or the photo added again).
    ``sha256``: that photo only. Returns how many."""
    where = "((state = 'waiting' AND retry_at IS NOT NULL) OR (state = 'failed' AND tries > 0))"
    args: tuple = ()
    if sha256 is not None:
        where += " AND sha256 = ?"
        args = (sha256,)
    with st.write():
        return st.conn.execute(f"UPDATE photos SET state = 'waiting', tries = 0, retry_at = NULL WHERE {where}",
                               args).rowcount


# --------------------------------------------------------------------------- views


def thumbnail(st: Store, sha256: str, kind: str = "thumb") -> bytes:
    """JPEG bytes of a photo's thumbnail ('thumb') or large view ('large', made on first use)."""
    row = st.one("SELECT jpeg FROM thumbnails WHERE photo = ? AND kind = ?", (sha256, kind))
    if row is not None:
        return row["jpeg"]
    if kind != "large":
        raise StoreError("no such photo", "no_photo")
    dec = decode_image(read_original(st, sha256), LARGE_SIDE, min_side=1)
    jpeg = _jpeg(dec.rgb, 85)
    with st.write():
        st.conn.execute("INSERT OR IGNORE INTO thumbnails (photo, kind, width, height, jpeg) VALUES (?,?,?,?,?)",
                        (sha256, kind, dec.rgb.shape[1], dec.rgb.shape[0], jpeg))
    return jpeg


def _preview_row(sha256: str, kind: str, rgb: np.ndarray) -> dict:
    return {"photo": sha256, "kind": kind, "width": rgb.shape[1], "height": rgb.shape[0],
            "jpeg": _jpeg(rgb, PRINT_QUALITY, optimize=False)}


def print_preview(st: Store, sha256: str, least_side: int = 0) -> bytes | None:
    """JPEG bytes of the smallest print preview of the photo (:data:`PRINT_PREVIEWS`, upright,
    kept at ingest for camera originals) whose long side is at least ``least_side`` pixels,
    or None when it has none that large (a small or non-JPEG original, a photo stored before
    previews were kept, a box larger than the 1/4 scale): the ledger then decodes the
    original."""
    kinds = tuple(PRINT_PREVIEWS)
    return st.scalar(f"SELECT jpeg FROM thumbnails WHERE photo = ? AND kind IN ({', '.join('?' * len(kinds))}) "
                     "AND max(width, height) >= ? ORDER BY width * height LIMIT 1", (sha256, *kinds, least_side))


def missing_print_previews(st: Store, after: int = 0, limit: int = 100) -> list[tuple[int, str]]:
    """Photos whose original is a JPEG of a size that keeps print previews but which lack one
    (stored before previews were kept, or before the 1/4 scale was): [(rowid, sha256)] in
    the order they were stored, after the photo of rowid ``after`` (a caller's cursor, so an
    original that cannot be read is passed over, not tried again and again)."""
    kinds = tuple(PRINT_PREVIEWS)
    lo, hi = PRINT_PREVIEW_SIDES
    rows = st.query(f"""SELECT rowid, sha256 FROM photos p WHERE rowid > ? AND format IN ('JPEG', 'MPO')
        AND max(width, height) BETWEEN ? AND ?
        AND (SELECT count(*) FROM thumbnails t WHERE t.photo = p.sha256
             AND t.kind IN ({', '.join('?' * len(kinds))})) < ?
        ORDER BY rowid LIMIT ?""", (after, 8 * lo - 7, 8 * hi, *kinds, len(kinds), limit))
    return [(r[0], r[1]) for r in rows]


def add_print_previews(st: Store, sha256: str) -> int:
    """Make the print previews a photo stored before previews were kept lacks, from its
    original (one decode at 1/4 scale; a preview it already has is kept as it is); returns
    how many were added (0 for an original too small or too large for previews, or one that
    cannot be read: it still prints, from the original)."""
    try:
        data = read_original(st, sha256)
        quarter_side = _quarter_side(data)
        if not quarter_side:
            return 0
        _, previews = _print_previews(decode_image(data, quarter_side, min_side=1).rgb)
    except (ImageError, OSError, StoreError):
        return 0
    rows = [_preview_row(sha256, kind, rgb) for kind, rgb in previews.items()]
    added = 0
    with st.write():
        for r in rows:
            added += st.conn.execute("INSERT OR IGNORE INTO thumbnails (photo, kind, width, height, jpeg) "
                                     "VALUES (?,?,?,?,?)",
                                     (r["photo"], r["kind"], r["width"], r["height"], r["jpeg"])).rowcount
    return added


def add_missing_print_previews(st: Store, after: int, limit: int, stop: Callable[[], bool]) -> tuple[int, int | None]:
    """The worker's idle back-fill of print previews: up to ``limit`` photos that lack them
    (:func:`missing_print_previews` after the photo of rowid ``after``) get them
    (:func:`add_print_previews`), until a photo waits for analysis or ``stop()`` says so.
    Returns (previews added, the cursor: the last photo gone over, None when none was left)."""
    todo = missing_print_previews(st, after, limit)
    if not todo:
        return 0, None
    added = 0
    for rowid, sha in todo:
        if stop() or any_waiting(st):  # new photos first
            break
        added += add_print_previews(st, sha)
        after = rowid
    return added, after


def refusals(st: Store, batch_id: int | None = None, limit: int = 500) -> list[dict]:
    """Refused files, newest first: [{"name", "reason", "detail", "at", "source"}]."""
    where, args = ("WHERE outcome = 'refused'", [])
    if batch_id is not None:
        where += " AND batch_id = ?"
        args.append(batch_id)
    rows = st.query(f"SELECT name, reason, detail, at, source FROM arrivals {where} ORDER BY id DESC LIMIT ?",
                    (*args, limit))
    return [dict(r) for r in rows]


# --------------------------------------------------------------------------- for the page


def get(st: Store, sha256: str):
    """The photo's row (every column), or None when the store has no such photo."""
    return st.one("SELECT * FROM photos WHERE sha256 = ?", (sha256,))


def last_batch(st: Store) -> int | None:
    """The newest batch's id, or None before the first."""
    return st.scalar("SELECT id FROM batches ORDER BY id DESC LIMIT 1")


def batch_exists(st: Store, batch_id: int) -> bool:
    """Whether the batch was started (finished or not)."""
    return st.one("SELECT finished_at FROM batches WHERE id = ?", (batch_id,)) is not None


# --------------------------------------------------------------------------- for the worker


def any_waiting(st: Store) -> bool:
    """Whether a photo (not removed) waits to be analysed: the worker's background pass
    gives way to it."""
    return st.scalar("SELECT 1 FROM photos WHERE state = 'waiting' AND removed_at IS NULL LIMIT 1") is not None


def site_facts(st: Store, shas: Sequence[str]) -> list:
    """Rows (sha256, lat, lon, taken_at, site_id) of the given photos: what their site is
    chosen by."""
    q = ",".join("?" * len(shas))
    return st.query(f"SELECT sha256, lat, lon, taken_at, site_id FROM photos WHERE sha256 IN ({q})", shas)


def with_site(st: Store, shas: Sequence[str]) -> list:
    """Rows (sha256, site_id) of those of the given photos that are in a site already
    (``site_id`` as stored: a merged site is not followed)."""
    q = ",".join("?" * len(shas))
    return st.query(f"SELECT sha256, site_id FROM photos WHERE sha256 IN ({q}) AND site_id IS NOT NULL", shas)


def in_sites(st: Store) -> list:
    """Rows (sha256, lat, lon, taken_at, site_id) of every photo (not removed) that is in a
    site: what a new photo's site is judged against."""
    return st.query("SELECT sha256, lat, lon, taken_at, site_id FROM photos WHERE site_id IS NOT NULL "
                    "AND removed_at IS NULL")


def recent_in_sites(st: Store, limit: int) -> list:
    """Rows (sha256, site_id) of the ``limit`` analysed photos (not removed) added last that
    are in a site, newest first."""
    return st.query("SELECT sha256, site_id FROM photos WHERE site_id IS NOT NULL AND removed_at IS NULL "
                    "AND state = 'analysed' ORDER BY added_at DESC LIMIT ?", (limit,))


def set_site_by_engine(st: Store, sha256: str, site_id: int) -> None:
    """The engine put the photo into ``site_id`` (``site_by = 'engine'``; inside the
    caller's transaction)."""
    st.conn.execute("UPDATE photos SET site_id = ?, site_by = 'engine' WHERE sha256 = ?", (site_id, sha256))


def find_original(root: str | Path, sha256: str) -> Path | None:
    """The original of ``sha256`` in the data folder ``root``, found on disk without the
    database (so from any thread, with no store connection); None when it is gone."""
    found = sorted((Path(root) / "originals" / sha256[:2]).glob(f"{sha256}.*"))
    return found[0] if found else None


def sites_of_batch(st: Store, batch_id: int) -> list[int]:
    """The sites the batch's photos were put in (ids as stored: a merged site is not
    followed; photos without a site left out)."""
    return [r[0] for r in st.query("SELECT DISTINCT site_id FROM photos WHERE batch_id = ? AND site_id IS NOT NULL",
                                   (batch_id,))]


def finish_idle_batches(st: Store, idle_s: float) -> list[int]:
    """Finish every open batch whose last file (or, without any, its start) is at least
    ``idle_s`` seconds old: a tablet that went away mid-upload. Returns their ids."""
    done = []
    for b in st.query("SELECT id, started_at FROM batches WHERE finished_at IS NULL"):
        last = st.scalar("SELECT max(at) FROM arrivals WHERE batch_id = ?", (b["id"],)) or b["started_at"]
        if seconds_since(last) >= idle_s:
            finish_batch(st, b["id"])
            done.append(b["id"])
    return done


def batches_to_regroup(st: Store) -> list[int]:
    """Batches that finished arriving, are not regrouped yet and have no photo (not
    removed) left waiting for analysis, oldest first."""
    return [r[0] for r in st.query("""
        SELECT b.id FROM batches b WHERE b.finished_at IS NOT NULL AND b.regrouped_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM photos p WHERE p.batch_id = b.id AND p.state = 'waiting'
                        AND p.removed_at IS NULL)
        ORDER BY b.id""")]


def mark_regrouped(st: Store, batch_id: int) -> None:
    """The worker regrouped every site of the batch."""
    with st.write():
        st.conn.execute("UPDATE batches SET regrouped_at = ? WHERE id = ?", (now_iso(), batch_id))


def regroup_ready_batches(st: Store, idle_s: float, regroup: Callable[[list[int]], bool]) -> list[int]:
    """The worker's batch round: finish the batches idle for ``idle_s`` seconds
    (:func:`finish_idle_batches`); for each batch ready to regroup (:func:`batches_to_regroup`),
    ``regroup(the sites its photos were put in)`` (:func:`sites_of_batch`), and mark it
    regrouped when that says every site was (:func:`mark_regrouped`). Returns those marked."""
    finish_idle_batches(st, idle_s)
    done = []
    for batch_id in batches_to_regroup(st):
        if regroup(sites_of_batch(st, batch_id)):
            mark_regrouped(st, batch_id)
            done.append(batch_id)
    return done


def by_prefix(st: Store, prefix: str, limit: int = 2) -> list[str]:
    """The sha256 of stored photos starting with ``prefix`` (lower-case hex), at most
    ``limit`` of them (the command line names a photo by its first characters)."""
    return [r[0] for r in st.query("SELECT sha256 FROM photos WHERE sha256 LIKE ? LIMIT ?", (prefix + "%", limit))]


def watch_seen(st: Store, path: str) -> tuple[int, int] | None:
    """(size, mtime_ns) of a watched folder's file when the watcher last took it, or None."""
    row = st.one("SELECT size, mtime_ns FROM watch_seen WHERE path = ?", (path,))
    return None if row is None else (row["size"], row["mtime_ns"])


def note_watch_seen(st: Store, path: str, size: int, mtime_ns: int, sha256: str | None) -> None:
    """Remember that the watcher took ``path`` as it was (size, mtime_ns), and what it became."""
    with st.write():
        st.conn.execute("INSERT OR REPLACE INTO watch_seen (path, size, mtime_ns, sha256, at) VALUES (?,?,?,?,?)",
                        (path, size, mtime_ns, sha256, now_iso()))
