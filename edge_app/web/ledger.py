"""The photo ledger on the site page: the works details of a site (공사명, 회사명, 공종,
stage words), each spot's 위치/측점, asset number and 내용, and the export downloads.

Edits are plain form POSTs that redirect back (audit log, undo, like every edit); the
export is a GET that answers the file (``/sites/<id>/ledger?format=pdf``), built in the
data folder's ``tmp/`` and removed as soon as it is sent. The templates read the fields
through the helpers this blueprint adds to every template (``ledger_spot``,
``ledger_site``, ``ledger_suggest``), so the site page's own view needs no change.
"""

from __future__ import annotations

import os
import uuid

from flask import Blueprint, abort, current_app, flash, g, redirect, request, send_file, url_for

from ..ledger import FORMATS, build_ledger, write
from ..ledger import templates as ledger_templates
from ..ledger.xlsx import TemplateError
from ..ledger.words import STAGE_WORDS, safe_file_part
from ..pages.i18n import translate
from ..store import StoreError
from ..store import ledger_fields
from ..store import sites as store_sites
from ..store import spots as store_spots
from .auth import who
from .db import get_store

bp = Blueprint("ledger", __name__)

MIMETYPES = {"pdf": "application/pdf", "zip": "application/zip",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _back(site_id: int, anchor: str):
    return redirect(url_for("spots.site", site_id=site_id) + f"#{anchor}")


def _spot_rows(site_id: int | None = None) -> dict[int, dict]:
    cache = g.setdefault("_ledger_spots", {})
    if site_id not in cache:
        rows = get_store().query("SELECT id, location, asset_no, caption FROM spots WHERE site_id = ?", (site_id,))
        cache[site_id] = {r["id"]: dict(r) for r in rows}
    return cache[site_id]


def ledger_spot(spot_id: int, site_id: int | None = None) -> dict:
    """{"location", "asset_no", "caption"} of a spot (empty strings when unset)."""
    if site_id is None:
        row = get_store().one("SELECT site_id FROM spots WHERE id = ?", (spot_id,))
        site_id = row["site_id"] if row else None
    r = _spot_rows(site_id).get(spot_id) or {}
    return {k: r.get(k) or "" for k in ledger_fields.SPOT_FIELDS}


def ledger_site(site_id: int) -> dict:
    """The site's works details (empty strings when unset; stage_words: a key)."""
    try:
        f = ledger_fields.site_fields(get_store(), site_id)
    except StoreError:
        f = {}
    out = {k: f.get(k) or "" for k in ledger_fields.SITE_FIELDS}
    out["stage_words"] = f.get("stage_words") or "construction"
    return out


def ledger_suggest(site_id: int) -> dict[str, list[str]]:
    if "_ledger_suggest" not in g:
        g._ledger_suggest = ledger_fields.suggestions(get_store(), site_id)
    return g._ledger_suggest


@bp.app_context_processor
def _ctx():
    lang = getattr(g, "lang", "ko")
    choices = [(k, " · ".join(v["ko" if lang == "ko" else "en"])) for k, v in STAGE_WORDS.items()]
    return {"ledger_spot": ledger_spot, "ledger_site": ledger_site, "ledger_suggest": ledger_suggest,
            "ledger_stage_choices": choices, "ledger_formats": FORMATS,
            "ledger_template": lambda: ledger_templates.info(current_app.config["DATA_DIR"])}


def template_upload(root, lang: str, where: str = "") -> None:
    """The company-template form's POST (the site app's and head office's): save the file or
    flash why it cannot be used (categories prefixed with ``where``: the site page shows
    "ledger-" messages inside its ledger section, next to the form)."""
    f = request.files.get("template")
    if f is None or not f.filename:
        flash(translate(lang, "no_file_chosen"), where + "info")
        return
    try:
        names = ledger_templates.save(root, f.read(ledger_templates.MAX_BYTES + 1), f.filename)
        flash(translate(lang, "ledger_template_saved", name=f.filename, n=len(names)), where + "ok")
    except TemplateError as e:
        why = translate(lang, f"tpl_{e.key}", **e.values) if e.key else str(e)[:300]
        flash(translate(lang, "ledger_template_refused", e=why), where + "error")


def template_remove(root, lang: str, where: str = "") -> None:
    if ledger_templates.remove(root):
        flash(translate(lang, "ledger_template_removed"), where + "ok")


@bp.route("/sites/<int:site_id>/ledger-template", methods=["POST"])
def site_template(site_id: int):
    """Upload (or, with ``remove``, take out) the company's XLSX template; it serves every
    site of this device."""
    root = current_app.config["DATA_DIR"]
    if request.form.get("remove"):
        template_remove(root, g.lang, "ledger-")
    else:
        template_upload(root, g.lang, "ledger-")
    return _back(site_id, "ledger")


@bp.route("/sites/<int:site_id>/ledger-fields", methods=["POST"])
def site_fields(site_id: int):
    st = get_store()
    try:
        store_sites.site(st, site_id)
    except StoreError:
        abort(404)
    fields = {k: request.form[k] for k in (*ledger_fields.SITE_FIELDS, "stage_words") if k in request.form}
    try:
        if ledger_fields.set_site_fields(st, site_id, who(), **fields):
            flash(translate(g.lang, "ledger_saved"), "ok")
    except StoreError as e:
        flash(str(e), "error")
    return _back(site_id, "ledger")


@bp.route("/spots/<int:spot_id>/ledger-fields", methods=["POST"])
def spot_fields(spot_id: int):
    st = get_store()
    try:
        site_id = store_spots.spot(st, spot_id)["site_id"]
    except StoreError:
        abort(404)
    fields = {k: request.form[k] for k in ledger_fields.SPOT_FIELDS if k in request.form}
    try:
        ledger_fields.set_spot_fields(st, spot_id, who(), **fields)
    except StoreError as e:
        flash(str(e), "error")
    return _back(site_id, f"spot-{spot_id}")


def download_name(ledger, fmt: str, lang: str) -> str:
    stem = "사진대지" if lang == "ko" else "photo-ledger"
    if fmt == "zip":
        stem = "원본사진" if lang == "ko" else "originals"
    return f"{stem}_{safe_file_part(ledger.title_name, fallback=str(ledger.site_id), max_len=60)}.{fmt}"


@bp.route("/sites/<int:site_id>/ledger")
def export(site_id: int):
    """The site's ledger as a download: ?format=pdf|xlsx|zip[&unconfirmed=1][&all=1][&during=1]
    (``during``: keep the 시공 중 column even when no spot has such a photo)."""
    fmt = request.args.get("format", "pdf")
    if fmt not in FORMATS:
        abort(404)
    st = get_store()
    try:
        ledger = build_ledger(st, site_id, lang=g.lang, include_unconfirmed=bool(request.args.get("unconfirmed")),
                              all_photos=bool(request.args.get("all")), keep_during=bool(request.args.get("during")))
    except StoreError:
        abort(404)
    if not ledger.spots:
        flash(translate(g.lang, "ledger_nothing"), "error")
        return _back(site_id, "ledger")
    st.tmp.mkdir(exist_ok=True)
    path = st.tmp / f"ledger-{uuid.uuid4().hex}.{fmt}"
    try:
        write(ledger, fmt, path, ledger_templates.current(st.root) if fmt == "xlsx" else None)
        fh = open(path, "rb")
    except Exception as e:  # noqa: BLE001 - a person gets a reason, the page stays
        if path.exists():
            path.unlink()
        flash(translate(g.lang, "ledger_failed", e=str(e)[:200]), "error")
        return _back(site_id, "ledger")
    resp = send_file(fh, mimetype=MIMETYPES[fmt], as_attachment=True,
                     download_name=download_name(ledger, fmt, g.lang), max_age=0)
    try:
        os.unlink(path)  # the open file is still sent (POSIX); nothing is left behind
    except OSError:
        resp.call_on_close(lambda: path.unlink(missing_ok=True))
    resp.headers["Cache-Control"] = "no-store"
    token = request.args.get("token", "")
    if token.isalnum() and len(token) <= 32:  # the page's script waits for it: "the file is on its way"
        resp.set_cookie(f"ledger_done_{token}", "1", max_age=60, samesite="Strict", httponly=False)
    return resp
