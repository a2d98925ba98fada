"""The photo ledger on the site page: the works details of a site (공사명, 회사명, 공종,
stage words), each spot's 위치/측점, asset number and 내용, and the export downloads.

Edits are plain form POSTs that redirect back (audit log, undo, like every edit); the
export is a GET that answers the file (``/sites/<id>/ledger?format=pdf``), built in the
data folder's ``tmp/`` and removed as soon as it is sent (the parts head office's export
shares: :mod:`edge_app.pages.ledger_routes`). The templates read the fields
through the helpers this blueprint adds to every template (``ledger_spot``,
``ledger_site``, ``ledger_suggest``), so the site page's own view needs no change.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, request, url_for

from ..ledger import FORMATS, build_ledger
from ..ledger import templates as ledger_templates
from ..ledger.checks import ledger_warnings as check_ledger
from ..ledger.words import STAGE_WORDS
from ..pages.i18n import format_local, store_error_text, translate
from ..pages.ledger_routes import requested_options, send_ledger, template_remove, template_upload
from ..store import StoreError
from ..store import ledger_fields
from ..store import sites as store_sites
from ..store import spots as store_spots
from .auth import who
from .db import get_store
from .labels import spot_label

bp = Blueprint("ledger", __name__)


def _back(site_id: int, anchor: str):
    return redirect(url_for("spots.site", site_id=site_id) + f"#{anchor}")


def _spot_rows(site_id: int | None = None) -> dict[int, dict]:
    cache = g.setdefault("_ledger_spots", {})
    if site_id not in cache:
        cache[site_id] = ledger_fields.spots_fields(get_store(), site_id)
    return cache[site_id]


def ledger_spot(spot_id: int, site_id: int | None = None) -> dict:
    """{"location", "asset_no", "caption"} of a spot (empty strings when unset)."""
    if site_id is None:
        site_id = ledger_fields.site_of_spot(get_store(), spot_id)
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


def ledger_warnings(view: dict) -> list[dict]:
    """What to check before exporting the site of ``view`` (the site page's view), never
    printed (:func:`edge_app.ledger.checks.ledger_warnings`, over every spot, unconfirmed
    ones too): [{"kind", "spot_id", "label" (as the page names the spot), "confirmed", "text"}]."""
    if "_ledger_warnings" in g:
        return g._ledger_warnings
    lang = getattr(g, "lang", "ko")
    try:
        led = build_ledger(get_store(), view["site"]["id"], lang=lang, include_unconfirmed=True)
    except StoreError:
        led = None
    spots = {sp["id"]: sp for sp in view.get("spots", [])}
    out = []
    for w in check_ledger(led.spots if led else []):
        sp = spots.get(w.spot_id)
        if sp is None:
            continue
        words = {"after": led.stage_word("after"), "before": led.stage_word("before")}
        if w.kind == "after_early":
            text = translate(lang, "ledger_warn_after_early", **words,
                             after_at=format_local(lang, w.after, not w.after_day_only),
                             before_at=format_local(lang, w.before, not w.before_day_only))
        elif w.kind == "no_after":
            text = translate(lang, "ledger_warn_no_after", **words)
        else:
            text = translate(lang, "ledger_warn_no_date", n=w.count)
        out.append({"kind": w.kind, "spot_id": w.spot_id, "label": sp.get("label") or spot_label(lang, sp),
                    "confirmed": bool(sp.get("confirmed")), "text": text})
    g._ledger_warnings = out
    return out


@bp.app_context_processor
def _ctx():
    lang = getattr(g, "lang", "ko")
    choices = [(k, " · ".join(v["ko" if lang == "ko" else "en"])) for k, v in STAGE_WORDS.items()]
    return {"ledger_spot": ledger_spot, "ledger_site": ledger_site, "ledger_suggest": ledger_suggest,
            "ledger_warnings": ledger_warnings,
            "ledger_stage_choices": choices, "ledger_formats": FORMATS,
            "ledger_template": lambda: ledger_templates.info(current_app.config["DATA_DIR"])}


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
        flash(store_error_text(g.lang, e), "error")
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
        flash(store_error_text(g.lang, e), "error")
    return _back(site_id, f"spot-{spot_id}")


@bp.route("/sites/<int:site_id>/ledger")
def export(site_id: int):
    """The site's ledger as a download: ?format=pdf|xlsx|zip[&unconfirmed=1][&all=1][&during=1]
    [&layout=row|2up|4up][&nomap=1] (``during``: keep the 시공 중 column even when no spot has
    such a photo; ``layout``: the PDF's and the XLSX's (a company's Excel layout prints
    rows: 2-up / 4-up then use the built-in one), ignored for the ZIP; ``nomap``: no 위치도)."""
    opts = requested_options()  # the one parser head office's export uses too
    st = get_store()
    try:
        ledger = build_ledger(st, site_id, lang=g.lang, **opts.build_kwargs())
    except StoreError:
        abort(404)
    if not ledger.spots:
        flash(translate(g.lang, "ledger_nothing"), "error")
        return _back(site_id, "ledger")
    try:
        return send_ledger(ledger, opts.fmt, st.root, st.tmp, g.lang)
    except Exception as e:  # noqa: BLE001 - a person gets a reason, the page stays
        flash(translate(g.lang, "ledger_failed", e=str(e)[:200]), "error")
        return _back(site_id, "ledger")
