"""How the page names a site and a spot when the lead gave it no name ("6월 3일 현장",
"지점 4"): one place for every blueprint (the site page, a photo's page, the messages that
name a spot)."""

from __future__ import annotations

import re

from ..pages.i18n import format_local, translate


def site_title(lang: str, s: dict) -> str:
    """A site's name, or its first day ("<date> 현장"; with its first photo's time where
    another site would have the same title, :func:`tell_apart`), or its number."""
    if s.get("name"):
        return s["name"]
    first = s.get("first_local")
    if first:
        return translate(lang, "site_auto_name", date=format_local(lang, first, with_time=bool(s.get("same_day"))))
    return translate(lang, "site_no_date", id=s["id"])


def tell_apart(sites: list[dict]) -> list[dict]:
    """Sites of :func:`~edge_app.store.sites.list_sites` whose title would be one day's
    ("5월 4일 현장") shared with another (a site split from it, two jobs on one day) are
    marked ``same_day``: their title then says their first photo's time too."""
    days: dict[str, int] = {}
    for s in sites:
        if not s.get("name") and s.get("first_local"):
            days[s["first_local"][:10]] = days.get(s["first_local"][:10], 0) + 1
    for s in sites:
        s["same_day"] = bool(not s.get("name") and s.get("first_local") and days[s["first_local"][:10]] > 1)
    return sites


def split_name(name: str | None, taken: set[str]) -> str | None:
    """The name a site split off from a site named ``name`` starts with: that name and the
    first free number ("2026-12-07 사진 (2)"), so the two are told apart and the new one says
    where it came from. An unnamed site's split stays unnamed (titled by its own photos'
    dates, :func:`site_title`, or its number)."""
    if not name:
        return None
    base = re.sub(r" \(\d+\)$", "", name)  # a split of "X (2)" is "X (3)", not "X (2) (2)"
    k = 2
    while f"{base} ({k})" in taken:
        k += 1
    return f"{base} ({k})"


def spot_label(lang: str, sp: dict) -> str:
    """A spot's name, or "지점 N" with its stable number."""
    return sp["name"] or translate(lang, "spot_auto_name", n=sp["number"])
