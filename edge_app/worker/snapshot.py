"""What the engine read of a site, and the check before it writes that no person changed it.

The engine reads a site's places (:func:`read_site`), computes for a while (a photo's
online placement: verifications; a regroup: seconds to minutes), then writes in one
transaction that first reads the places again (:func:`check_unchanged`): a person who moved
a photo in between wins, the engine's answer is not written (:class:`RegroupStale`) and it
judges again from the new state.
"""

from __future__ import annotations

from ..store import Store
from ..store.spots import analysed_places


class RegroupStale(Exception):
    """A person changed the site while the engine was regrouping it: the engine's answer
    was computed from an older state and is not written (a person's edit always wins)."""


def read_site(st: Store, site_id: int, exclude: str | None = None) -> list:
    """The site's analysed photos with their places and their spots' flags
    (:func:`edge_app.store.spots.analysed_places`); exclude: a photo left out."""
    return analysed_places(st, site_id, exclude)


def check_unchanged(st: Store, site_id: int, seen: list, exclude: str | None = None) -> None:
    """Raise :class:`RegroupStale` when the site's places differ from ``seen`` (what
    :func:`read_site` gave before). Call inside the write transaction."""
    if [tuple(r) for r in analysed_places(st, site_id, exclude)] != [tuple(r) for r in seen]:
        raise RegroupStale(site_id)
