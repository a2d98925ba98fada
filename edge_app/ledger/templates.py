"""A company's own XLSX ledger template, kept in a data folder (the site app's or head
office's): uploaded once from a page, then used by every XLSX export of that folder.

    root/templates/ledger.xlsx        the template in use
    root/templates/ledger.json        {"name": the uploaded file's name, "saved_at", "names": [...]}
    root/templates/old/<time>-ledger.xlsx   templates replaced or taken out (never deleted)

A file is checked before it is used (:func:`edge_app.ledger.xlsx.check_template`: it must
have the named cells the export fills), and as a ZIP before openpyxl opens it (its unpacked
size is bounded, so a crafted file cannot fill the memory).
"""

from __future__ import annotations

import io
import json
import os
import uuid
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from .. import app_settings
from ..fileio import write_atomic
from .xlsx import TemplateError, check_template

def max_bytes() -> int:
    """The largest template accepted, as uploaded (the setting ``ledger.template_max_bytes``)."""
    return app_settings.value("ledger.template_max_bytes")


def max_unpacked_bytes() -> int:
    """The most a template may unpack to (``ledger.template_unpacked_max_bytes``)."""
    return app_settings.value("ledger.template_unpacked_max_bytes")


def folder(root: str | Path) -> Path:
    return Path(root) / "templates"


def current(root: str | Path) -> Path | None:
    """The template in use, or None (the built-in layout)."""
    p = folder(root) / "ledger.xlsx"
    return p if p.is_file() else None


def info(root: str | Path) -> dict | None:
    """{"name", "saved_at", "names"} of the template in use, or None."""
    if current(root) is None:
        return None
    try:
        return json.loads((folder(root) / "ledger.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"name": "ledger.xlsx", "saved_at": None, "names": []}


def save(root: str | Path, data: bytes, name: str) -> list[str]:
    """Check ``data`` (an .xlsx file's bytes) and make it the template in use; the previous
    one moves to ``old/``. Returns the names it fills; raises :class:`TemplateError` saying
    why a file cannot be used (nothing changes then)."""
    limit, unpacked = max_bytes(), max_unpacked_bytes()
    if len(data) > limit:
        raise TemplateError(f"larger than {limit >> 20} MB", "too_big", mb=limit >> 20)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if sum(i.file_size for i in z.infolist()) > unpacked:
                raise TemplateError(f"unpacks to more than {unpacked >> 20} MB", "too_big", mb=unpacked >> 20)
    except zipfile.BadZipFile:
        raise TemplateError("not an XLSX workbook (not a ZIP file)", "not_xlsx") from None
    d = folder(root)
    d.mkdir(parents=True, exist_ok=True)
    tmp = d / f"upload-{uuid.uuid4().hex}.xlsx"
    try:
        write_atomic(tmp, data)
        names = check_template(tmp)
        _retire(d)
        os.replace(tmp, d / "ledger.xlsx")
    finally:
        tmp.unlink(missing_ok=True)
    meta = {"name": Path(name or "ledger.xlsx").name[:200], "saved_at": _now(), "names": names}
    write_atomic(d / "ledger.json", json.dumps(meta, ensure_ascii=False).encode())
    return names


def remove(root: str | Path) -> bool:
    """Go back to the built-in layout; the template moves to ``old/``. False when none was set."""
    d = folder(root)
    if current(root) is None:
        return False
    _retire(d)
    (d / "ledger.json").unlink(missing_ok=True)
    return True


def _retire(d: Path) -> None:
    p = d / "ledger.xlsx"
    if p.is_file():
        (d / "old").mkdir(exist_ok=True)
        os.replace(p, d / "old" / f"{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%fZ')}-ledger.xlsx")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
