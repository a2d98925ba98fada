"""The grouping engine: photo files in, groups of photos of the same spot out.

It imports nothing of the app around it (store, web, sync, hq, ledger, cli); the app
calls it through :class:`Pipeline`. Stages, in the order a folder goes through them:
decode -> metadata -> analyze -> sessions -> pairs -> group (fast, then thorough) ->
assign; :mod:`.grouping` is the pure maths, :mod:`.config` the one ``Settings``.

The public names are imported on first use, so that ``from edge_app.engine.decode
import ...`` (the upload route's size limit) does not load OpenCV and the models' code.
"""

from __future__ import annotations

import importlib

_PUBLIC = {"Pipeline": ".pipeline", "Settings": ".config", "GroupResult": ".result"}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
