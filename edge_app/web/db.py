"""The store of each request (on ``g``), closed when the request ends, and the ids the
routes take (those SQLite can hold). The background threads' handles are in
:mod:`.background`."""

from __future__ import annotations

import contextlib

from flask import Flask, current_app, g
from werkzeug.routing import IntegerConverter

from ..store import Store, open_store

#: The largest id SQLite stores (a signed 64-bit integer).
MAX_ID = 2**63 - 1


def record_id(text: str) -> int:
    """A row id from a form field or query argument: ValueError unless 0 <= id <= MAX_ID
    (Flask's ``request.args.get(..., type=record_id)`` then gives the default)."""
    value = int(text)
    if not 0 <= value <= MAX_ID:
        raise ValueError(f"id out of range: {text[:30]}")
    return value


class RecordId(IntegerConverter):
    """``<int:...>`` in the app's routes: ids SQLite can hold; a longer number does not match (404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def open_app_store(app: Flask) -> Store:
    return open_store(app.config["DATA_DIR"])


def get_store() -> Store:
    if "store" not in g:
        g.store = Store(current_app.config["DATA_DIR"])
    return g.store


def close_store(e=None) -> None:
    st = g.pop("store", None)
    if st is not None:
        st.close()


def init_app(app: Flask) -> None:
    with contextlib.closing(open_app_store(app)):  # create / migrate once at start
        pass
    app.teardown_appcontext(close_store)

