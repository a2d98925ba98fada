"""The pages' languages now live in :mod:`edge_app.pages.i18n` (shared with head office);
these names stay importable here for the site app's blueprints that still import them."""

from ..pages.i18n import (APP_REASONS, CATALOGUE, DEFAULT_LANG, LANGS, format_iso, format_local, pick_lang,
                          reason_text, translate)

__all__ = ["APP_REASONS", "CATALOGUE", "DEFAULT_LANG", "LANGS", "format_iso", "format_local", "pick_lang",
           "reason_text", "translate"]
