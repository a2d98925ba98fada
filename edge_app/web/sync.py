"""Sync on the tablet page: status ("3 spots waiting (offline)", "uploading 3 of 12 photos",
"all synced at 14:02", "needs attention: ..."), "sync now", and the head-office settings."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from ..store import outbox
from ..store import settings as store_settings
from ..sync import SyncConfig
from ..pages.i18n import translate
from .background import wake_sync
from .db import get_store

bp = Blueprint("sync", __name__)


def sync_state(st) -> dict:
    """What the status line shows: {"kind": "off" | "offline" | "uploading" | "waiting" |
    "synced" | "attention" | "idle", ...counts}."""
    from flask import current_app

    s = outbox.summary(st)
    ext = current_app.extensions.get("edge_sync")
    conf = ext["conf"](st) if ext else SyncConfig.from_sources(st)
    last = store_settings.get(st, "sync.last_run") or {}
    if s["attention"]:
        kind = "attention"
    elif not conf.enabled:
        kind = "off"
    elif s["pending"] and last.get("offline"):
        kind = "offline"
    elif s["pending"] and s["photos_done"]:
        kind = "uploading"
    elif s["pending"]:
        kind = "waiting"
    elif s["sent"]:
        kind = "synced"
    else:
        kind = "idle"
    return s | {"kind": kind, "configured": conf.enabled}


@bp.app_context_processor
def _ctx():
    return {"sync_state": lambda: sync_state(get_store())}


@bp.route("/sync/status")
def status():
    return render_template("sync/_status.html")


@bp.route("/sync/now", methods=["POST"])
def now():
    outbox.retry_all(get_store())
    wake_sync()
    flash(translate(g.lang, "sync_started"), "ok")
    return redirect(request.referrer if (request.referrer or "").startswith(request.host_url) else url_for("photos.home"))


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    st = get_store()
    saved = store_settings.get(st, "sync", {}) or {}
    if request.method == "POST":
        url = (request.form.get("hq_url") or "").strip()
        device = (request.form.get("device") or "").strip()
        secret = (request.form.get("secret") or "").strip() or saved.get("secret", "")
        if request.form.get("clear_secret"):
            secret = ""
        if url and not url.startswith(("http://", "https://")):
            flash(translate(g.lang, "hq_url_invalid"), "error")
        else:
            store_settings.put(st, "sync", {"hq_url": url, "device": device, "secret": secret})
            flash(translate(g.lang, "settings_saved"), "ok")
            wake_sync()
            return redirect(url_for("sync.settings"))
    return render_template("sync/settings.html", saved=saved)
