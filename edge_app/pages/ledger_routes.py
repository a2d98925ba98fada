"""What the photo ledger's routes of both servers share: the site app's export
(``/sites/<id>/ledger``, :mod:`edge_app.web.ledger`) and head office's
(``/sites/<device>/<id>/ledger``, :mod:`edge_app.hq.pages`) answer the same formats, under
the same download names, built the same way; both take the company's XLSX template by the
same form.

* :func:`requested_format`: ``?format=pdf|xlsx|zip`` (404 for anything else);
* :func:`requested_options`: the export form's choices (format, layout, all photos, the
  시공 중 column, no 위치도, unconfirmed spots), one parser for both servers, given to
  :func:`edge_app.ledger.build_ledger` as ``**options.build_kwargs()``;
* :func:`send_ledger`: the ledger written into a temp file of the data folder, sent, and
  gone from the disk as soon as it is open (nothing left behind, a failed write included);
* :func:`template_upload` / :func:`template_remove`: the template form's POST.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flask import abort, flash, request, send_file

from ..ledger import FORMATS, LAYOUTS, Ledger, write
from ..ledger import templates as ledger_templates
from ..ledger.words import safe_file_part
from ..ledger.xlsx import TemplateError
from .i18n import translate

MIMETYPES = {"pdf": "application/pdf", "zip": "application/zip",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def requested_format() -> str:
    """The export's ``?format=`` (pdf by default); 404 for a format the ledger has not."""
    fmt = request.args.get("format", "pdf")
    if fmt not in FORMATS:
        abort(404)
    return fmt


@dataclass(frozen=True)
class ExportOptions:
    """What the export form asked for (:func:`requested_options`)."""

    fmt: str = "pdf"
    layout: str = "row"  # :data:`edge_app.ledger.LAYOUTS`; always "row" for the ZIP
    all_photos: bool = False  # every photo of a stage, not only the first
    keep_during: bool = False  # the 시공 중 column even when no spot has such a photo
    location_map: bool = True  # the 위치도 page / sheet when photos carry GPS
    include_unconfirmed: bool = False

    def build_kwargs(self) -> dict:
        """The keywords of :func:`edge_app.ledger.build_ledger` these options set."""
        return {"include_unconfirmed": self.include_unconfirmed, "all_photos": self.all_photos,
                "keep_during": self.keep_during, "layout": self.layout, "location_map": self.location_map}


def requested_options(*, unconfirmed: bool = True) -> ExportOptions:
    """The export's query: ``?format=pdf|xlsx|zip`` (404 for another), ``&layout=row|2up|4up``
    (the PDF's and the XLSX's; anything else, or the ZIP, prints rows), ``&all=1`` (all
    photos), ``&during=1`` (keep the 시공 중 column), ``&nomap=1`` (no 위치도) and, where the
    server has unconfirmed spots (``unconfirmed``), ``&unconfirmed=1``. The site app's form
    and head office's send the same names."""
    fmt = requested_format()
    a = request.args
    layout = a.get("layout", "row")
    layout = layout if fmt in ("pdf", "xlsx") and layout in LAYOUTS else "row"
    return ExportOptions(fmt=fmt, layout=layout, all_photos=bool(a.get("all")), keep_during=bool(a.get("during")),
                         location_map=not a.get("nomap"), include_unconfirmed=unconfirmed and bool(a.get("unconfirmed")))


def download_name(ledger: Ledger, fmt: str, lang: str) -> str:
    """사진대지_<works name>.pdf / photo-ledger_<works name>.xlsx / 원본사진_<...>.zip."""
    stem = "사진대지" if lang == "ko" else "photo-ledger"
    if fmt == "zip":
        stem = "원본사진" if lang == "ko" else "originals"
    return f"{stem}_{safe_file_part(ledger.title_name, fallback=str(ledger.site_id), max_len=60)}.{fmt}"


def send_ledger(ledger: Ledger, fmt: str, root: str | Path, tmpdir: str | Path, lang: str):
    """The download of ``ledger`` as ``fmt`` (XLSX in the company template kept under
    ``root``, if any), built in ``tmpdir``. Raises what the writer raises, leaving no file.

    A ``?token=`` the page's script sent comes back as the cookie ``ledger_done_<token>``:
    "the file is on its way"."""
    tmpdir = Path(tmpdir)
    tmpdir.mkdir(exist_ok=True)
    fd, name = tempfile.mkstemp(dir=tmpdir, prefix="ledger-", suffix=f".{fmt}")
    os.close(fd)
    path = Path(name)
    try:
        # a company's Excel layout prints rows: 2-up / 4-up use the built-in one
        write(ledger, fmt, path, ledger_templates.current(root) if fmt == "xlsx" and ledger.layout == "row" else None)
        fh = open(path, "rb")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    resp = send_file(fh, mimetype=MIMETYPES[fmt], as_attachment=True, download_name=download_name(ledger, fmt, lang),
                     max_age=0)
    try:
        os.unlink(path)  # the open file is still sent (POSIX); nothing is left behind
    except OSError:  # a system that cannot remove an open file: once it is sent
        resp.call_on_close(lambda: path.unlink(missing_ok=True))
    resp.headers["Cache-Control"] = "no-store"
    token = request.args.get("token", "")
    if token.isalnum() and len(token) <= 32:  # the page's script waits for it
        resp.set_cookie(f"ledger_done_{token}", "1", max_age=60, samesite="Strict", httponly=False)
    return resp


def template_upload(root: str | Path, lang: str, where: str = "") -> None:
    """The company-template form's POST: save the file or flash why it cannot be used
    (categories prefixed with ``where``: the site page shows "ledger-" messages inside its
    ledger section, next to the form)."""
    f = request.files.get("template")
    if f is None or not f.filename:
        flash(translate(lang, "no_file_chosen"), where + "info")
        return
    try:
        names = ledger_templates.save(root, f.read(ledger_templates.max_bytes() + 1), f.filename)
        flash(translate(lang, "ledger_template_saved", name=f.filename, n=len(names)), where + "ok")
    except TemplateError as e:
        why = translate(lang, f"tpl_{e.key}", **e.values) if e.key else str(e)[:300]
        flash(translate(lang, "ledger_template_refused", e=why), where + "error")


def template_remove(root: str | Path, lang: str, where: str = "") -> None:
    """The form's ``remove``: back to the built-in layout (the old one is kept)."""
    if ledger_templates.remove(root):
        flash(translate(lang, "ledger_template_removed"), where + "ok")


__all__ = ["FORMATS", "MIMETYPES", "ExportOptions", "download_name", "requested_format", "requested_options",
           "send_ledger", "template_remove",
           "template_upload"]
