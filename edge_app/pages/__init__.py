"""Page pieces both servers use, the site app (:mod:`edge_app.web`) and head office
(:mod:`edge_app.hq`), so that neither imports the other:

* :mod:`.i18n`: the Korean/English catalogue, the page's language, dates;
* :mod:`.login`: the password/PIN login: sessions with their epoch, CSRF, the ``next``
  target, the language switch, the throttled try (:mod:`edge_app.access.throttle`);
* :mod:`.ledger_routes`: what the ledger's export routes of both share: the formats, the
  download's name, sending the built file, the company template's upload and removal.

``STATIC_DIR``: the pages' offline assets (htmx, CSS, the Korean font), served by both.
``TEMPLATE_DIR``: the templates both servers render (``pages/ledger_export.html``, the
ledger's export form; ``pages/ledger_template.html``, the company template's upload and
removal forms), a template folder of each app after its own.
Nothing here imports the store, the site app or head office.
"""

from pathlib import Path

#: The offline front-end assets both servers serve under ``/static`` (built by
#: ``scripts/build_static.py``; kept beside the site app's blueprints).
STATIC_DIR = Path(__file__).resolve().parents[1] / "web" / "static"

#: The shared templates (``pages/...``); each app's factory adds this folder after its own.
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
