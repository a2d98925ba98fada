"""The photo ledger (사진대지): a site's confirmed spots as XLSX, PDF, or a ZIP of originals.

    from edge_app.ledger import export
    from edge_app.store import open_store

    st = open_store("edge-data")
    export(st, site_id=3, fmt="pdf", out="사진대지.pdf")          # -> {"pages": 14, ...}

Modules: :mod:`.model` (the ledger read into dataclasses from any :class:`~.model.LedgerSource`,
pagination and the index's rows), :mod:`.checks` (what the page warns of before an export),
:mod:`.words` (stage words, labels, safe names), :mod:`.images` (photos at print resolution),
:mod:`.xlsx`, :mod:`.pdf`, :mod:`.archive` (ZIP); the command is ``edge-app export``
(:mod:`edge_app.cli.export`). Head office can build the same documents from its own records by
passing its own source to :func:`build_ledger`.
"""

from __future__ import annotations

from pathlib import Path

from .model import LAYOUTS, Ledger, LedgerSource, StoreSource, build_ledger

FORMATS = ("xlsx", "pdf", "zip")


def write(ledger: Ledger, fmt: str, out: str | Path, template: str | Path | None = None) -> dict:
    """Write ``ledger`` as ``fmt`` ('xlsx' | 'pdf' | 'zip') to ``out``; returns the writer's report."""
    if fmt == "xlsx":
        from .xlsx import write_xlsx

        return write_xlsx(ledger, out, template)
    if template is not None:
        raise ValueError("a template is for the XLSX export only")
    if fmt == "pdf":
        from .pdf import write_pdf

        return write_pdf(ledger, out)
    if fmt == "zip":
        from .archive import write_zip

        return write_zip(ledger, out)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}")


def export(source, site_id: int, fmt: str, out: str | Path, *, lang: str = "ko", include_unconfirmed: bool = False,
           all_photos: bool = False, template: str | Path | None = None, keep_during: bool = False,
           layout: str = "row", location_map: bool = True) -> dict:
    """Build the site's ledger from ``source`` (a Store or a LedgerSource) and write it
    (``layout``: the PDF's and the XLSX's, :data:`LAYOUTS`). The report gains "ledger": the :class:`Ledger` written."""
    if layout != "row" and fmt == "zip":
        raise ValueError("a layout is for the PDF and the XLSX")
    ledger = build_ledger(source, site_id, lang=lang, include_unconfirmed=include_unconfirmed,
                          all_photos=all_photos, keep_during=keep_during, layout=layout, location_map=location_map)
    rep = write(ledger, fmt, out, template)
    rep["ledger"] = ledger
    return rep


__all__ = ["FORMATS", "LAYOUTS", "Ledger", "LedgerSource", "StoreSource", "build_ledger", "export", "write"]
