"""Head office's pages: devices with their last contact, received spots (filter by site,
date and device), each spot's versions and photos, and a ZIP of a spot's originals.

Its own login: a password set on the first visit (or ``edge-app hq set-password``), kept
as a salted scrypt hash (:mod:`.settings`); with ``hq serve --setup-code`` the first visit
also needs the one-time code printed on head office's console. The session, CSRF, throttle
and setup-code rules are the device's page's, written once in :mod:`edge_app.pages.login`.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

from flask import (Blueprint, abort, current_app, flash, g, make_response, redirect, render_template, request,
                   send_file, session, url_for)

from .. import app_settings
from ..fileio import sharded_path
from ..access.throttle import Limit
from ..ledger.words import safe_file_part
from ..pages.i18n import translate
from ..pages.login import (SecretLogin, csrf_ok, csrf_token, lang_switch, safe_next, setup_code_asked, setup_code_done,
                           setup_code_refusal, signed_in, start_session)
from . import received, settings
from .api import INT64_MAX, SHA_RE, blob_path, conn
from .db import HQDatabase, now_iso
from .devices import list_devices
from .ledger_source import HeadOfficeSource
from .settings import PASSWORD_MIN, secret_key, set_password  # noqa: F401 - `edge-app hq set-password`, create_hq_app

bp = Blueprint("pages", __name__, template_folder="templates")

_OPEN = {"pages.login", "pages.setup", "pages.set_lang", "static"}


def _limits(config) -> dict[str, Limit]:
    """The settings ``hq.login_*``: per client address 5 tries, then 1 s, doubling up to 5
    minutes; for the one account 20, then up to a minute (the defaults)."""
    setting = app_settings.value
    first_s = setting("hq.login_lock_s")
    return {"address": Limit(setting("hq.login_max_failures"), first_s, setting("hq.login_lock_cap_s")),
            "account": Limit(setting("hq.login_max_failures_all"), first_s, setting("hq.login_lock_cap_all_s"))}


#: The password's throttled check (:mod:`edge_app.pages.login`), with the limits of :func:`_limits`.
PASSWORD_LOGIN = SecretLogin("hq_throttle", _limits, account="hq", wrong_key="wrong_password", forget_s=900.0)
#: The first visit's setup code (``hq serve --setup-code``), its tries throttled with the same limits.
SETUP_CODE = SecretLogin("hq_setup_code_throttle", _limits, account="setup_code", wrong_key="wrong_setup_code",
                         forget_s=900.0)


@bp.app_context_processor
def _ctx():
    return {"csrf_token": csrf_token}


@bp.before_app_request
def _guard():
    if request.blueprint == "api" or request.endpoint in _OPEN or request.endpoint is None:
        if request.method == "POST" and request.endpoint in ("pages.login", "pages.setup") and not csrf_ok():
            flash(translate(g.lang, "page_outdated"), "info")
            return redirect(request.full_path)
        return None
    c = conn()
    if not settings.has_password(c):
        return redirect(url_for("pages.setup"))
    if not signed_in(settings.session_epoch(c)):
        session.pop("auth", None)
        return redirect(url_for("pages.login", next=request.full_path if request.method == "GET" else "/"))
    session.permanent = True
    if request.method == "POST" and not csrf_ok():
        flash(translate(g.lang, "page_outdated"), "info")
        return redirect(url_for("pages.index"))
    return None


def id64(text: str) -> int:
    """A decimal id the database can hold, else -1 (matches nothing)."""
    return int(text) if text.isdigit() and len(text) <= 19 and int(text) <= INT64_MAX else -1


def _next() -> str:
    return safe_next(request.args.get("next"))


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    c = conn()
    if settings.has_password(c):
        setup_code_done()  # chosen here or by `edge-app hq set-password`: the code opens nothing more
        return redirect(url_for("pages.login"))
    error, status, headers = None, 200, {}
    if request.method == "POST":
        refused = setup_code_refusal(SETUP_CODE, g.lang)
        if refused:
            error, status, headers = refused
        elif request.form.get("password") != request.form.get("password2"):
            error, status = translate(g.lang, "pins_differ"), 400
        else:
            try:
                first = settings.set_first_password(c, request.form.get("password", ""))
            except ValueError:  # the only refusal: too short (said in the page's language)
                error, status = translate(g.lang, "hq_password_short", n=PASSWORD_MIN), 400
            else:
                setup_code_done()
                if not first:  # someone chose it meanwhile: theirs stands, log in with it
                    return redirect(url_for("pages.login"))
                start_session(settings.session_epoch(c))
                return redirect(url_for("pages.index"))
    return make_response(render_template("hq/login.html", setup=True, error=error, ask_code=setup_code_asked()),
                         status, headers)


@bp.route("/login", methods=["GET", "POST"])
def login():
    c = conn()
    if not settings.has_password(c):
        return redirect(url_for("pages.setup"))
    if request.method == "GET":
        return render_template("hq/login.html", setup=False, error=None)
    tried = PASSWORD_LOGIN.attempt(lambda: settings.check_password(c, request.form.get("password", "")))
    if tried.ok:
        start_session(settings.session_epoch(c))
        return redirect(_next())
    error, status, headers = PASSWORD_LOGIN.refusal(tried, g.lang)  # at once: a guesser holds no worker thread
    return make_response(render_template("hq/login.html", setup=False, error=error), status, headers)


@bp.route("/logout", methods=["POST"])
def logout():
    settings.end_all_sessions(conn())
    session.clear()
    return redirect(url_for("pages.login"))


@bp.route("/lang/<code>")
def set_lang(code: str):
    return lang_switch(code, request.args.get("next"))


def latest_versions(c, device: str | None = None, site: str | None = None, day_from: str | None = None,
                    day_to: str | None = None) -> list[dict]:
    """The index page's list: :func:`.received.latest_versions` with the filter's text
    ``site`` = 'device:site id'."""
    if site:
        dev, _, sid = site.partition(":")
        return received.latest_versions(c, device, (dev, id64(sid)), day_from, day_to)
    return received.latest_versions(c, device, None, day_from, day_to)


@bp.route("/")
def index():
    c = conn()
    f = {k: (request.args.get(k) or None) for k in ("device", "site", "from", "to")}
    rows = latest_versions(c, f["device"], f["site"], f["from"], f["to"])
    sites = received.sites(c)
    from ..ledger import templates as ledger_templates

    return render_template("hq/index.html", rows=rows, devices=list_devices(c), sites=sites, f=f,
                           tpl=ledger_templates.info(current_app.config["HQ_DATA"]))


@bp.route("/spots/<device>/<id64:spot_id>")
def spot(device: str, spot_id: int):
    c = conn()
    versions = received.versions_of(c, device, spot_id)
    if not versions:
        abort(404)
    want = request.args.get("v", type=int) or versions[0]["version"]
    cur = next((v for v in versions if v["version"] == want), versions[0])
    photos = received.photos_of(c, cur["id"])
    manifest = json.loads(cur["manifest"])
    return render_template("hq/spot.html", versions=versions, cur=cur, photos=photos, manifest=manifest)


@bp.route("/spots/<device>/<id64:spot_id>/v<id64:version>.zip")
def spot_zip(device: str, spot_id: int, version: int):
    """The originals of one spot version, byte-identical, names kept (UTF-8 in the ZIP)."""
    c = conn()
    v = received.version(c, device, spot_id, version)
    if v is None:
        abort(404)
    photos = received.photos_of(c, v["id"])
    tmp = tempfile.SpooledTemporaryFile(max_size=64 << 20)
    used: set[str] = set()
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:
        for p in photos:
            name = _safe_zip_name(p["name"])
            stem, dot, ext = name.rpartition(".")
            k = 1
            while name in used:
                k += 1
                name = f"{stem}_{k}.{ext}" if dot else f"{name}_{k}"
            used.add(name)
            z.write(blob_path(p["sha256"]), name)
    tmp.seek(0)
    label = _safe_zip_name(f"{v['site_name'] or 'site'}_{v['spot_name'] or 'spot'}_{spot_id}_v{version}.zip")
    return send_file(tmp, mimetype="application/zip", as_attachment=True, download_name=label)


def _safe_zip_name(name: str) -> str:
    """A file name safe on Windows, macOS and Linux, Korean kept: the one rule of
    :func:`edge_app.ledger.words.safe_file_part` (the site app names its downloads by it)."""
    return safe_file_part(name, fallback="photo", max_len=150)


@bp.route("/sites/<device>/<id64:site_id>/ledger")
def site_ledger(device: str, site_id: int):
    """The photo ledger (사진대지) of a device's site, from the newest version of each spot
    head office received: the site app's choices, read by the same parser
    (:func:`edge_app.pages.ledger_routes.requested_options`): ?format=pdf|xlsx|zip
    [&layout=row|2up|4up][&all=1][&during=1][&nomap=1]. Every spot here is confirmed, so
    there is no ``unconfirmed``."""
    from ..ledger import build_ledger
    from ..pages.ledger_routes import requested_options, send_ledger

    opts = requested_options(unconfirmed=False)
    root = Path(current_app.config["HQ_DATA"])
    try:
        ledger = build_ledger(HeadOfficeSource(conn(), root, device), site_id, lang=g.lang, **opts.build_kwargs())
    except LookupError:
        abort(404)
    return send_ledger(ledger, opts.fmt, root, root / "tmp", g.lang)


@bp.route("/ledger-template", methods=["POST"])
def ledger_template():
    """The company's XLSX ledger layout for head office's exports: upload, or ``remove``."""
    from ..pages.ledger_routes import template_remove, template_upload

    root = current_app.config["HQ_DATA"]
    if request.form.get("remove"):
        template_remove(root, g.lang)
    else:
        template_upload(root, g.lang)
    return redirect(url_for("pages.index", site=request.form.get("site") or None) + "#ledger-template")


@bp.route("/blobs/<sha>/thumb")
def thumb(sha: str):
    if not SHA_RE.match(sha) or not blob_path(sha).is_file():
        abort(404)
    cache = sharded_path(Path(current_app.config["HQ_DATA"]) / "thumbs", sha, ".jpg")
    if not cache.is_file():
        from PIL import Image

        from ..engine.decode import ImageError, decode_image

        try:
            dec = decode_image(blob_path(sha), 480, min_side=1)
        except ImageError:
            abort(404)
        buf = io.BytesIO()
        Image.fromarray(dec.rgb).save(buf, "JPEG", quality=80)
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        tmp.write_bytes(buf.getvalue())
        tmp.replace(cache)
    resp = send_file(cache, mimetype="image/jpeg")
    resp.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    return resp


@bp.route("/blobs/<sha>/original")
def original(sha: str):
    if not SHA_RE.match(sha) or not blob_path(sha).is_file():
        abort(404)
    name = received.photo_name(conn(), sha) or sha
    return send_file(blob_path(sha), as_attachment=True, download_name=_safe_zip_name(name))


def status(db: HQDatabase) -> dict:
    """Every received spot version with its photos' sha256 (``edge-app hq status --json``)::

        {"devices": [{"name", "last_seen_at", "revoked"}],
         "spots": [{"device", "spot_id", "version", "site", "name", "confirmed_at",
                    "photos": [{"sha256", "name", "phase", "taken_local", "taken_from"}]}]}

    ``taken_from``: 'exif', 'file name' or 'file name date' (the capture time read from the
    file name), or null when the device's manifest did not say (one sent before it did).
    """
    c = db.connect()
    try:
        out = {"devices": [{"name": d["name"], "last_seen_at": d["last_seen_at"], "revoked": d["revoked_at"] is not None}
                           for d in list_devices(c)], "spots": []}
        for v in received.every_version(c):
            ph = [{k: p[k] for k in ("sha256", "name", "phase", "taken_local", "taken_from")}
                  for p in received.photos_of(c, v["id"])]
            out["spots"].append({"device": v["device"], "spot_id": v["spot_id"], "version": v["version"],
                                 "site": v["site_name"], "name": v["spot_name"], "confirmed_at": v["confirmed_at"],
                                 "received_at": v["received_at"], "photos": ph})
        return out
    finally:
        c.close()


__all__ = ["bp", "status", "set_password", "latest_versions", "now_iso", "secret_key"]
