"""How the page names a site and a spot when the lead gave it no name ("6월 3일 현장",
"지점 4"): one place for every blueprint (the site page, a photo's page, the messages that
name a spot)."""

from __future__ import annotations

from ..pages.i18n import format_local, translate


def site_title(lang: str, s: dict) -> str:
    """A site's name, or its first day ("<date> 현장"), or its number."""
    if s.get("name"):
        return s["name"]
    first = s.get("first_local")
    if first:
        return translate(lang, "site_auto_name", date=format_local(lang, first, with_time=False))
    return translate(lang, "site_no_date", id=s["id"])


def spot_label(lang: str, sp: dict) -> str:
    """A spot's name, or "지점 N" with its stable number."""
    return sp["name"] or translate(lang, "spot_auto_name", n=sp["number"])
