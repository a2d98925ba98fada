"""Home page (sites, upload, progress), the upload doors, and photo images and pages.

Upload works without JavaScript (one form POST of many files to ``/upload``); with it,
``static/app.js`` sends one photo per request into a batch (``/batches``), so each photo is
acknowledged on its own, a dropped connection costs only the photo in flight (it is
retried) and the page shows "uploading 12 of 30".
"""

from __future__ import annotations

import errno
import sqlite3

from flask import Blueprint, Response, abort, flash, g, jsonify, redirect, render_template, request, session, url_for

from ..engine.decode import MAX_FILE_BYTES
from ..store import StoreError
from ..store import photos as store_photos
from ..store import settings as store_settings
from ..store import spots as store_spots
from ..store import views
from ..store.sites import list_sites
from ..ledger.words import safe_file_part
from ..pages.i18n import reason_text, translate
from .auth import who
from .background import wake_worker, worker_checking, worker_error
from .db import get_store, record_id
from .labels import spot_label, tell_apart

bp = Blueprint("photos", __name__)


def _sha(sha: str) -> str:
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        abort(404)
    return sha


def _stored_photo(sha: str):
    """(the store, the photo's row) of the photo ``sha``; 404 for a malformed or unknown sha256."""
    st = get_store()
    row = store_photos.get(st, _sha(sha))
    if row is None:
        abort(404)
    return st, row


def _arrival_json(a) -> dict:
    return {"name": a.name, "outcome": a.outcome, "sha256": a.sha256, "reason": a.reason,
            "reason_text": reason_text(g.lang, a.reason)}


def _add_files(st, batch_id: int) -> list:
    out = []
    for f in request.files.getlist("photos") + request.files.getlist("camera"):
        if not f or not f.filename:
            continue
        try:
            f.stream.seek(0, 2)  # the size first: the decode path's limit, before reading it
            size = f.stream.tell()
            f.stream.seek(0)
            data = f.read() if size <= MAX_FILE_BYTES else None
        finally:
            f.close()
        if data is None:
            out.append(store_photos.refuse(st, f.filename, "too large", f"{size} bytes", source="upload", who=who(),
                                           batch_id=batch_id))
            continue
        if not data:
            out.append(store_photos.refuse(st, f.filename, "empty file", source="upload", who=who(),
                                           batch_id=batch_id))
            continue
        out.append(store_photos.add_bytes(st, data, f.filename, source="upload", who=who(), batch_id=batch_id))
        wake_worker()
    return out


#: settings key: the newest batch whose upload summary the lead closed (older ones go with it)
SUMMARY_SEEN = "home.upload_summary_closed"


def _summaries(st, last: int | None, limit: int = 3) -> list[dict]:
    """The upload summaries the home page keeps showing until the lead closes them: each
    finished batch newer than the last one closed (newest first, ``limit`` at most), as
    {"id", "added", "duplicates", "refused", "refusals": [rows of name, reason]}."""
    seen = int(store_settings.get(st, SUMMARY_SEEN, 0) or 0)
    out: list[dict] = []
    b = last or 0
    while b > seen and len(out) < limit and b > (last or 0) - 30:
        if store_photos.batch_exists(st, b):
            prog = store_photos.batch_progress(st, b)
            if prog["finished"] and prog["total"] + prog["duplicates"] + prog["refused"]:
                out.append({"id": b, "added": prog["total"], "duplicates": prog["duplicates"],
                            "refused": prog["refused"], "refusals": store_photos.refusals(st, b, limit=100)})
        b -= 1
    return out


def _home_context(st) -> dict:
    batch = request.args.get("batch", type=record_id)
    progress = None
    if batch is not None:
        try:
            progress = store_photos.batch_progress(st, batch)
        except StoreError:
            batch = None
    last_batch = store_photos.last_batch(st)
    sites = tell_apart(list_sites(st))
    done_sites = []
    if progress is not None and progress["regrouped"]:
        ids = set(store_photos.sites_of_batch(st, batch))
        done_sites = [s for s in sites if s["id"] in ids]
    return {"sites": sites, "batch": batch, "progress": progress, "done_sites": done_sites,
            "summaries": _summaries(st, last_batch),
            "failed": views.failed_photos(st), "waiting": views.waiting_count(st), "worker_error": worker_error(),
            "checking": worker_checking(), "checked": request.args.get("c") == "1"}


@bp.route("/")
def home():
    return render_template("photos/home.html", **_home_context(get_store()))


@bp.route("/live")
def home_live():
    """The polled part of the home page (progress, refusals, sites)."""
    return render_template("photos/_live.html", **_home_context(get_store()))


@bp.route("/upload", methods=["POST"])
def upload():
    """The form door: many files in one request (works without JavaScript)."""
    st = get_store()
    if not any(f.filename for f in request.files.getlist("photos") + request.files.getlist("camera")):
        flash(translate(g.lang, "no_photos_chosen"), "info")
        return redirect(url_for("photos.home"))
    try:
        batch = store_photos.start_batch(st, "upload", who())
        _add_files(st, batch)
        store_photos.finish_batch(st, batch)
    except (OSError, sqlite3.OperationalError) as e:
        if not _disk_full(e):
            raise
        wake_worker()
        return _device_full(json_door=False)
    wake_worker()
    return redirect(url_for("photos.home", batch=batch))


@bp.route("/batches/<int:batch_id>/dismiss", methods=["POST"])
def batch_dismiss(batch_id: int):
    """The lead closes an upload summary (and the older ones still shown with it)."""
    st = get_store()
    seen = int(store_settings.get(st, SUMMARY_SEEN, 0) or 0)
    if batch_id > seen and store_photos.batch_exists(st, batch_id):
        store_settings.put(st, SUMMARY_SEEN, batch_id)
    return redirect(url_for("photos.home"))


@bp.route("/batches", methods=["POST"])
def batch_start():
    st = get_store()
    return jsonify({"id": store_photos.start_batch(st, "upload", who())}), 201


@bp.route("/batches/<int:batch_id>/photos", methods=["POST"])
def batch_add(batch_id: int):
    st = get_store()
    if not store_photos.batch_exists(st, batch_id):
        abort(404)
    try:
        return jsonify({"results": [_arrival_json(a) for a in _add_files(st, batch_id)]})
    except (OSError, sqlite3.OperationalError) as e:
        if not _disk_full(e):
            raise
        return _device_full(json_door=True)


def _disk_full(e: Exception) -> bool:
    """Whether a write failed because the device's disk is full (the original's file or SQLite)."""
    return (getattr(e, "errno", None) == errno.ENOSPC or getattr(e, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
            or "disk is full" in str(e))


def _device_full(json_door: bool):
    """The answer to an upload the full disk stopped (507): the device is full and what to
    do. Photos acknowledged before it stay stored; the one that failed was not acknowledged.
    The message also waits on the home page the script goes to when the upload ends."""
    msg = translate(g.lang, "device_full")
    if not json_door:
        return render_template("error.html", message=msg), 507
    if ("error", msg) not in [tuple(x) for x in session.get("_flashes", [])]:
        flash(msg, "error")
    return jsonify({"error": "device full", "message": msg}), 507


@bp.route("/batches/<int:batch_id>/finish", methods=["POST"])
def batch_finish(batch_id: int):
    st = get_store()
    try:
        store_photos.finish_batch(st, batch_id)
        prog = store_photos.batch_progress(st, batch_id)
    except StoreError:
        abort(404)
    wake_worker()
    return jsonify(prog | {"next": url_for("photos.home", batch=batch_id)})


@bp.route("/progress")
def progress():
    """Polled fragment of the site page: photos still waiting, the background check going
    over this site (then "done", in the same place, so nothing below jumps), and a refresh
    offer once the site changed since the page was drawn (``v``: its version then)."""
    st = get_store()
    site = request.args.get("site", type=record_id)
    seen = request.args.get("v", type=record_id)
    version = views.site_version(st, site) if site is not None else None
    checking = site is not None and site in worker_checking()
    return render_template("photos/_progress.html", waiting=views.waiting_count(st), site=site,
                           version=seen if seen is not None else version,
                           changed=site is not None and seen is not None and version != seen,
                           worker_error=worker_error(), checking=checking,
                           checked=not checking and request.args.get("c") == "1")


def _image(jpeg: bytes) -> Response:
    resp = Response(jpeg, mimetype="image/jpeg")
    resp.headers["Cache-Control"] = "private, max-age=31536000, immutable"  # content-addressed
    return resp


@bp.route("/photos/<sha>/thumb")
def thumb(sha: str):
    try:
        return _image(store_photos.thumbnail(get_store(), _sha(sha), "thumb"))
    except StoreError:
        abort(404)


@bp.route("/photos/<sha>/large")
def large(sha: str):
    try:
        return _image(store_photos.thumbnail(get_store(), _sha(sha), "large"))
    except (StoreError, FileNotFoundError):
        abort(404)


@bp.route("/photos/<sha>/original")
def original(sha: str):
    st, row = _stored_photo(sha)
    from flask import send_file

    return send_file(store_photos.original_path(st, sha, row["ext"]), as_attachment=True,
                     download_name=safe_file_part(row["name"], "photo", 160))  # no CR/LF in a header


@bp.route("/photos/<sha>")
def photo(sha: str):
    st, p = _stored_photo(sha)
    m = store_spots.current(st, sha)
    view = views.site_view(st, p["site_id"]) if p["site_id"] is not None else None
    spot = None
    siblings: list[dict] = []
    if view is not None and m is not None:
        if m["spot_id"] is not None:
            spot = next((s for s in view["spots"] if s["id"] == m["spot_id"]), None)
            siblings = spot["photos"] if spot else []
            if spot:
                spot["label"] = spot_label(g.lang, spot)
        else:
            siblings = view["unassigned"]
    idx = next((k for k, s in enumerate(siblings) if s["sha256"] == sha), None)
    prev_sha = siblings[idx - 1]["sha256"] if idx else None
    next_sha = siblings[idx + 1]["sha256"] if idx is not None and idx + 1 < len(siblings) else None
    return render_template("photos/photo.html", p=p, m=m, view=view, spot=spot, prev_sha=prev_sha,
                           next_sha=next_sha)
