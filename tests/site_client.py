"""The site app under Flask's test client (issue 16): a data folder's app, a page's CSRF
token and the crew lead's first visit (the PIN chosen at /setup), for the tests that
read the site page without a browser or a server process."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from edge_app.store import open_store
from edge_app.web import create_app

PIN = "482913"  # any 4-12 digits


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def site_app(data: Path, build) -> Flask:
    """The site app (testing) of the data folder ``data``, its sites made first by
    ``build(store)``; what ``build`` returns is kept as ``app.info``."""
    with open_store(data) as st:
        info = build(st)
    app = create_app({"DATA_DIR": str(data), "TESTING": True})
    app.info = info
    return app


def first_visit(app: Flask, name: str | None = "김반장") -> FlaskClient:
    """A test client that chose the PIN on the app's first visit (as ``name``, or unnamed),
    logged in since, with the site page's CSRF token as ``.csrf``."""
    c = app.test_client()
    form = {"pin": PIN, "pin2": PIN, "csrf": csrf_of(c.get("/setup").text)}
    if name is not None:
        form["name"] = name
    assert c.post("/setup", data=form).status_code == 302
    c.csrf = csrf_of(c.get("/").text)
    return c
