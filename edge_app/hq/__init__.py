"""Head office: the receiver many devices sync into, and its pages.

    app = create_hq_app({"HQ_DATA": "hq-data"})                     # SQLite in hq-data/
    app = create_hq_app({"HQ_DATA": "hq-data", "HQ_DB_URL": "postgresql://..."})

``edge-app hq serve`` runs it under cheroot (a production WSGI server that also speaks TLS
when given ``--cert/--key``; behind a reverse proxy, leave TLS to the proxy). Photos are
kept content-addressed in ``HQ_DATA/blobs/``; manifests, devices and versions in the
database. The API (``api.py``) is for devices; the pages (``pages.py``) for the clerks.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask, g
from jinja2 import ChoiceLoader, FileSystemLoader
from werkzeug.routing import IntegerConverter

from .. import app_settings
from ..pages import STATIC_DIR, TEMPLATE_DIR, i18n
from .db import HQDatabase
from .hosts import HostCheck, allowed_hosts


class Id64Converter(IntegerConverter):
    """``<id64:x>``: an id the database can hold (a 64-bit integer); beyond it the route does
    not match, so 404 rather than an overflow inside the database driver (500)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


def create_hq_app(test_config: dict | None = None) -> Flask:
    static = STATIC_DIR  # the assets the site app serves too (htmx, CSS, the Korean font)
    app = Flask(__name__, static_folder=str(static), static_url_path="/static")
    app.jinja_loader = ChoiceLoader([app.jinja_loader, FileSystemLoader(TEMPLATE_DIR)])  # hq/..., then pages/...
    app.config.from_mapping(
        HQ_DATA=app_settings.value("hq.data"),  # $EDGE_APP_HQ_DATA
        HQ_DB_URL=app_settings.value("hq.db"),  # $EDGE_APP_HQ_DB
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="edge_hq_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=app_settings.value("hq.session_h")),
        MAX_CONTENT_LENGTH=None,  # blobs are checked against their own limit, streamed
        HQ_LISTEN=None,  # the address `hq serve` listens on (its Host names are allowed)
        HQ_ALLOWED_HOSTS=(),  # more names (--allowed-host), besides $EDGE_APP_HQ_ALLOWED_HOSTS
        SETUP_CODE=None,  # the one-time code the first visit needs (access/setup_code.py; --setup-code)
    )
    if test_config:
        app.config.update(test_config)
    root = Path(app.config["HQ_DATA"])
    db = HQDatabase.open(root, app.config["HQ_DB_URL"])
    app.config["HQ_DB"] = db
    app.config["HTMX_FILE"] = "vendor/" + sorted(p.name for p in (static / "vendor").glob("htmx-*.min.js"))[-1]

    @app.before_request
    def _lang():
        g.lang = i18n.pick_lang()

    from . import api, pages, settings

    app.url_map.converters["id64"] = Id64Converter
    api.clean_temp(root)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = settings.secret_key(db)

    @app.context_processor
    def _helpers():
        lang = getattr(g, "lang", i18n.DEFAULT_LANG)
        return {"lang": lang, "t": lambda key, **kw: i18n.translate(lang, key, **kw),
                "when": lambda s, with_time=True: i18n.format_local(lang, s, with_time),
                "when_iso": lambda s: i18n.format_iso(lang, s)}

    app.wsgi_app = HostCheck(app.wsgi_app, allowed_hosts(app.config["HQ_LISTEN"], app.config["HQ_ALLOWED_HOSTS"]))

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; "
                                "style-src 'self'; script-src 'self'; frame-ancestors 'none'")
        return resp

    return app
