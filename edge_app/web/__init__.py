"""The crew lead's site app (Flask): sites, spots, photos, upload, review and confirm.

    app = create_app({"DATA_DIR": "edge-data"})              # the page only
    app = create_app({"DATA_DIR": "edge-data"}, worker=w)    # with a background Worker

Shaped like Flask's tutorial app: an app factory; ``db.py`` opens the store of each request
and checks the ids the routes take; ``background.py`` holds the page's handles on the worker
and sync threads; one blueprint per area (``auth``, ``photos``, ``spots``, ``sync``,
``ledger``), templates per blueprint; ``labels.py`` names unnamed sites and spots for all of
them. The pieces head office shares (language, login, the ledger's export routes) come from
:mod:`edge_app.pages`. Every asset is served from ``static/`` (pinned htmx, CSS, the subset
Korean font).
``edge-app serve`` runs it under waitress, never Flask's development server.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask, g, render_template, request
from jinja2 import ChoiceLoader, FileSystemLoader

from .. import app_settings
from ..access.hosts import AllowedHosts
from ..pages import TEMPLATE_DIR, i18n
from .db import RecordId

def create_app(test_config: dict | None = None, worker=None) -> Flask:
    """The app for the data folder ``DATA_DIR`` (config key, or the setting ``site.data``:
    ``$EDGE_APP_DATA``). The upload limit, session lifetime and PIN throttle come from the
    ``web.*`` settings of :mod:`edge_app.app_settings`; ``test_config`` overrides any key."""
    app = Flask(__name__)
    app.jinja_loader = ChoiceLoader([app.jinja_loader, FileSystemLoader(TEMPLATE_DIR)])  # its own, then pages/...
    setting = app_settings.value
    app.config.from_mapping(
        DATA_DIR=setting("site.data"),
        # the largest request body: one upload request (the page sends one photo per request)
        MAX_CONTENT_LENGTH=setting("web.max_upload_bytes"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="edge_app_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=setting("web.session_h")),
        LOGIN_MAX_FAILURES=setting("web.login_max_failures"),
        LOGIN_MAX_FAILURES_ALL=setting("web.login_max_failures_all"),
        LOGIN_LOCK_S=setting("web.login_lock_s"),
        LOGIN_LOCK_CAP_S=setting("web.login_lock_cap_s"),
        SEND_FILE_MAX_AGE_DEFAULT=timedelta(days=1),
        # Host names the page answers besides localhost (access/hosts.py); serve adds its address
        ALLOWED_HOSTS=[],
        # () -> the machine's addresses, when serve listens on every interface (None: fixed names)
        LOCAL_ADDRESSES=None,
        # the one-time code /setup asks for (access/setup_code.py; `serve --setup-code`); None: none asked
        SETUP_CODE=None,
    )
    if test_config:
        app.config.update(test_config)
    app.config["DATA_DIR"] = str(Path(app.config["DATA_DIR"]))
    # the pinned htmx of static/vendor (see static/vendor/README.md)
    app.config["HTMX_FILE"] = "vendor/" + sorted(p.name for p in (Path(app.static_folder) / "vendor").glob(
        "htmx-*.min.js"))[-1]

    from . import db

    app.url_map.converters["int"] = RecordId  # <int:...> ids beyond SQLite's integers: 404, not 500
    db.init_app(app)
    app.extensions["edge_worker"] = worker
    if not app.config.get("SECRET_KEY"):
        from ..store import settings as store_settings

        with db.open_app_store(app) as st:
            app.config["SECRET_KEY"] = store_settings.secret_key(st)

    hosts = AllowedHosts(app.config["ALLOWED_HOSTS"], app.config["LOCAL_ADDRESSES"])

    @app.before_request
    def _lang():
        g.lang = i18n.pick_lang()
        if not hosts.allows(request.headers.get("Host", "")):  # before any other handler
            return render_template("error.html", message=i18n.translate(g.lang, "host_not_allowed")), 400

    from . import auth, photos, spots, sync

    app.register_blueprint(auth.bp)
    app.register_blueprint(photos.bp)
    app.register_blueprint(spots.bp)
    app.register_blueprint(sync.bp)
    from .ledger import bp as ledger_bp  # the photo ledger (사진대지): exports and its fields
    app.register_blueprint(ledger_bp)

    @app.context_processor
    def _helpers():
        lang = getattr(g, "lang", i18n.DEFAULT_LANG)
        return {
            "lang": lang,
            "t": lambda key, **kw: i18n.translate(lang, key, **kw),
            "when": lambda s, with_time=True: i18n.format_local(lang, s, with_time),
            "when_iso": lambda s: i18n.format_iso(lang, s),
            "reason": lambda r: i18n.reason_text(lang, r),
        }

    @app.errorhandler(404)
    def _not_found(e):
        return render_template("error.html", message=i18n.translate(g.get("lang", "ko"), "not_found")), 404

    @app.errorhandler(413)
    def _too_big(e):
        if request.path.startswith("/batches") or request.accept_mimetypes.best == "application/json":
            return {"error": "too large"}, 413
        return render_template("error.html", message=i18n.translate(g.get("lang", "ko"), "too_big_upload")), 413

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
                                "script-src 'self'; connect-src 'self'; font-src 'self'; frame-ancestors 'none'")
        return resp

    return app
