"""The page's handles on the two background threads of ``edge-app serve``: the worker
(``app.extensions["edge_worker"]``: analysis and grouping) and the sync sender
(``app.extensions["edge_sync"]``: the outbox to head office). Without them (the page
alone, in tests) each call does nothing and reports nothing."""

from __future__ import annotations

from flask import current_app


def wake_worker() -> None:
    """New photos are stored: the worker looks now, not at its next poll."""
    w = current_app.extensions.get("edge_worker")
    if w is not None:
        w.wake()


def worker_error() -> str | None:
    """The worker's last error (shown on the page), or None."""
    w = current_app.extensions.get("edge_worker")
    return getattr(w, "last_error", None)


def worker_checking() -> list[int]:
    """Sites the worker's thorough pass is going over or will go over next."""
    w = current_app.extensions.get("edge_worker")
    return w.checking() if w is not None else []


def wake_sync() -> None:
    """Something may be due for head office (a confirm, an edit, "sync now")."""
    s = current_app.extensions.get("edge_sync")
    if s is not None:
        s["wake"].set()
