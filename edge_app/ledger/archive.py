"""The originals of a ledger's spots as a ZIP, with a CSV index.

Layout::

    <site>/index.csv
    <site>/<NNN>_<위치>/<위치>_<stage>_<YYYYMMDD-HHMMSS>_<n>.jpg

Every photo of every spot in the ledger is there (not only the one a sheet shows),
byte-identical to the original as received (stored, not recompressed; the extension is
the original's). ``<stage>`` is the site's stage word without spaces (시공전, 작업중, 준공;
단계미상 when a photo has none: the stage the PDF and the XLSX print, see
:func:`.model.place_photos`), ``<n>`` counts the photos of that spot and stage in ledger
order (:meth:`.model.LedgerSpot.ordered_photos`), and a photo without a capture time gets ``00000000-000000``. Names keep their Korean
(NFC) and are safe on Windows: no ``<>:"/\\|?*`` or control characters, no trailing dots,
no device names, short enough for the 260-character path limit; Python's zipfile sets the
UTF-8 flag (bit 11) on every non-ASCII name.

``index.csv`` (UTF-8 with a BOM, so Excel reads the Korean) lists every file with its
sha256, spot, stage, 사진번호 (``photo_no``, as printed in the ledger), capture time
and GPS. Entries are written one by one from the
original files in 1 MB chunks: memory does not grow with the site.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import zipfile
from datetime import datetime
from pathlib import Path

from .model import Ledger
from .words import csv_cell, parse_local, safe_file_part

INDEX_COLUMNS = ("path", "sha256", "bytes", "spot_no", "spot_id", "location", "asset_no", "caption", "stage",
                 "stage_word", "taken_local", "lat", "lon", "alt", "original_name", "confirmed", "photo_no",
                 "taken_from")
CHUNK = 1 << 20


def _stamp(taken_local: str | None) -> str:
    dt = parse_local(taken_local)
    return dt.strftime("%Y%m%d-%H%M%S") if dt else "00000000-000000"


def _zip_time(taken_local: str | None) -> tuple[int, int, int, int, int, int]:
    dt = parse_local(taken_local)
    if dt is None or dt.year < 1980:
        return (1980, 1, 1, 0, 0, 0)
    return (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second)


def entries(ledger: Ledger) -> list[dict]:
    """What the ZIP holds, in order: [{"path", "photo", "spot", "stage_word", "photo_no"}]."""
    site = safe_file_part(ledger.title_name, fallback=f"site-{ledger.site_id}", max_len=60)
    out = []
    for sp in ledger.spots:
        loc = safe_file_part(sp.location, fallback=f"spot-{sp.id}", max_len=40)
        folder = f"{site}/{sp.number:03d}_{loc}"
        counts: dict[str, int] = {}
        used: set[str] = set()
        numbers = sp.photo_numbers()
        for p in sp.ordered_photos():
            word = safe_file_part(ledger.stage_word(p.stage).replace(" ", ""), fallback="stage", max_len=20)
            counts[word] = counts.get(word, 0) + 1
            ext = p.suffix if re.fullmatch(r"\.[a-z0-9]{1,6}", p.suffix) else ".jpg"
            n = counts[word]
            name = f"{loc}_{word}_{_stamp(p.taken_local)}_{n}{ext}"
            while name in used:  # two photos of one second (cannot happen with n, but be sure)
                n += 1
                name = f"{loc}_{word}_{_stamp(p.taken_local)}_{n}{ext}"
            used.add(name)
            out.append({"path": f"{folder}/{name}", "photo": p, "spot": sp, "stage_word": word,
                        "photo_no": numbers[p.sha256]})
    return out


def write_zip(ledger: Ledger, out: str | Path) -> dict:
    """Write the ZIP to ``out`` (atomically). Returns {"files", "bytes", "index"}."""
    out = Path(out)
    items = entries(ledger)
    site = safe_file_part(ledger.title_name, fallback=f"site-{ledger.site_id}", max_len=60)
    part = out.with_name(f".{out.name}.part")
    total = 0
    rows = []
    try:
        with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            for it in items:
                p = it["photo"]
                info = zipfile.ZipInfo(it["path"], date_time=_zip_time(p.taken_local))
                info.compress_type = zipfile.ZIP_STORED  # JPEGs do not compress
                info.external_attr = 0o644 << 16
                size = os.path.getsize(p.path)
                info.file_size = size
                with open(p.path, "rb") as src, zf.open(info, "w", force_zip64=size > 0x7FFF0000) as dst:
                    shutil.copyfileobj(src, dst, CHUNK)
                total += size
                sp = it["spot"]
                rows.append({"path": it["path"], "sha256": p.sha256, "bytes": size, "spot_no": sp.number,
                             "spot_id": sp.id, "location": sp.location, "asset_no": sp.asset_no,
                             "caption": sp.caption, "stage": p.stage or "", "stage_word": it["stage_word"],
                             "taken_local": p.taken_local or "",
                             "lat": "" if p.lat is None else f"{p.lat:.7f}",
                             "lon": "" if p.lon is None else f"{p.lon:.7f}",
                             "alt": "" if p.alt is None else f"{p.alt:.1f}", "original_name": p.name,
                             "confirmed": "yes" if sp.confirmed else "no", "photo_no": it["photo_no"],
                             "taken_from": (p.taken_from or "") if p.taken_local else ""})
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\r\n")
            w.writerow(INDEX_COLUMNS)
            for r in rows:
                w.writerow([csv_cell(r[c]) for c in INDEX_COLUMNS])
            info = zipfile.ZipInfo(f"{site}/index.csv", date_time=datetime.now().timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, "\ufeff" + buf.getvalue())
        os.replace(part, out)
    finally:
        if part.exists():
            part.unlink()
    return {"files": len(items), "bytes": total, "index": f"{site}/index.csv"}
