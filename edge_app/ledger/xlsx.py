"""The photo ledger as an XLSX workbook (openpyxl), to work in: A4 portrait, one block of
rows per spot with 전 / 중 / 후 photo columns, photos embedded and fitted to their cells,
page breaks between spots and print titles repeated on every page.

Every workbook is a filled *template*. The built-in one (:func:`default_template`) and a
company's own (``--template FILE.xlsx``) are filled by the same code, through named cells
(workbook- or sheet-scoped defined names):

=================  =====================================================================
header (once)      ``WORKS_NAME`` 공사명, ``COMPANY`` 회사명, ``WORK_TYPE`` 공종, ``CLIENT``
                   발주처, ``CONTRACT_NO`` 계약번호, ``CONTRACT_PERIOD`` 공사기간 (as entered),
                   ``PERIOD`` 기간, ``SITE_NAME`` 현장, ``PREPARED`` 작성일,
                   ``STAGE_BEFORE`` / ``STAGE_DURING`` / ``STAGE_AFTER`` (the stage words)
spot block         ``PHOTO_BEFORE`` / ``PHOTO_DURING`` / ``PHOTO_AFTER`` (a cell or a merged
                   range: the photo is fitted inside it), ``DATE_BEFORE`` / ``DATE_DURING``
                   / ``DATE_AFTER`` (capture time), ``SPOT_NO``, ``LOCATION`` 위치/측점,
                   ``ASSET_NO``, ``CAPTION`` 내용, ``DATES`` 일자 (the spot's first to last day)
=================  =====================================================================

The rows spanned by the spot-block names are the *block*: it must be the template's last
rows, and at least one ``PHOTO_*`` name is needed. The block is repeated below itself for
every spot (values, styles, row heights, merged cells), then filled. A template without
``ASSET_NO`` gets the asset number after the location. Page breaks are computed from the
template's own page setup (paper, orientation, margins, scale or fit-to-width) and its
print titles, so that every page holds whole spots.

Photos are embedded as JPEGs made for their cell at :data:`images.PRINT_DPI` (or an
original's 1/8 scale, :func:`images.print_side`), written to a temporary folder one at a
time; openpyxl reads each back only while saving, so memory stays bounded whatever the
number of photos. The cells are laid out first (text, row heights, page rows), then the
photos are placed in order, made a few ahead on threads as the PDF's are
(:class:`images.PrintImages`).
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from copy import copy
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import MergedCell
from openpyxl.drawing.image import Image as XLImage
from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, OneCellAnchor
from openpyxl.drawing.xdr import XDRPositiveSize2D
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.pagebreak import Break

from .images import ImageError, PrintImages
from .model import IndexRow, Ledger, LedgerPhoto, index_rows, paginate, place_photos
from .words import format_period, parse_local

HEADER_NAMES = ("WORKS_NAME", "COMPANY", "WORK_TYPE", "PERIOD", "SITE_NAME", "PREPARED", "STAGE_BEFORE",
                "STAGE_DURING", "STAGE_AFTER", "CLIENT", "CONTRACT_NO", "CONTRACT_PERIOD")
BLOCK_NAMES = ("PHOTO_BEFORE", "PHOTO_DURING", "PHOTO_AFTER", "DATE_BEFORE", "DATE_DURING", "DATE_AFTER",
               "SPOT_NO", "LOCATION", "ASSET_NO", "CAPTION", "DATES")

EMU_PER_PX = 9525          # at 96 dpi
PX_PER_PT = 96 / 72
#: Pixels per unit of column width (Excel's default font, Calibri 11: maximum digit width 7 px).
PX_PER_WIDTH = 7.0
#: Photo inset from its cell's border, pixels.
PHOTO_INSET_PX = 4
#: Share of a page's height the breaks may fill (room for renderers' rounding).
PAGE_SAFETY = 0.985

#: Paper sizes (Excel's paperSize codes) in inches (width, height), portrait.
PAPER_IN = {1: (8.5, 11.0), 5: (8.5, 14.0), 8: (11.69, 16.54), 9: (8.27, 11.69), 11: (5.83, 8.27),
            13: (7.17, 10.12), 70: (4.13, 5.83)}

FONT_NAME = "맑은 고딕"
DATE_FORMAT = "yyyy.mm.dd hh:mm"

# the built-in template (pixels for columns, points for rows)
_COL_PX = {"A": 30, "B": 213, "C": 213, "D": 213}
_COL_PX_TWO, _PHOTO_PT_TWO = 320, 175.0     # before / after only
_ROW_PT = {1: 30.0, 2: 18.0, 3: 18.0, 4: 21.0, 5: 120.0, 6: 15.0, 7: 15.0, 8: 15.0}


class TemplateError(ValueError):
    """A template the export cannot fill; the message says what is missing. ``key`` and
    ``values``: the same for a page to say in its own language (``tpl_<key>`` in
    :mod:`edge_app.pages.i18n`)."""

    def __init__(self, message: str, key: str | None = None, **values):
        super().__init__(message)
        self.key, self.values = key, values


@dataclass
class _Named:
    ws: object
    min_col: int
    min_row: int
    max_col: int
    max_row: int


def _text_format(prefix: str) -> str:
    """A number format that shows ``prefix`` before a text value (the cell holds the value)."""
    return '"' + prefix.replace('"', "") + '"@'


def default_template(ledger: Ledger) -> Workbook:
    """The built-in ledger layout as a template with the names of this module."""
    wb = Workbook()
    ws = wb.active
    ws.title = ledger.label("title")[:31]
    thin = Side(style="thin", color="5A5A5A")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    head_fill = PatternFill("solid", fgColor="E8E8E2")
    font = Font(name=FONT_NAME, size=10)
    bold = Font(name=FONT_NAME, size=10, bold=True)
    for col, px in _COL_PX.items():
        ws.column_dimensions[col].width = round(px / PX_PER_WIDTH, 2)
    for row, pt in _ROW_PT.items():
        ws.row_dimensions[row].height = pt

    def cell(ref, value=None, *, f=font, align="center", fmt=None, fill=None, border=box, wrap=False):
        c = ws[ref]
        if value is not None:
            c.value = value
        c.font = f
        c.alignment = Alignment(horizontal=align, vertical="center", wrap_text=wrap)
        if border is not None:
            c.border = border
        if fill is not None:
            c.fill = fill
        if fmt:
            c.number_format = fmt
        return c

    cols = "BCD"[:len(ledger.columns)]      # the photo columns: 전 / 중 / 후, or 전 / 후
    last = cols[-1]
    if len(cols) == 2:  # before / after only: wider, taller photos
        for col in cols:
            ws.column_dimensions[col].width = round(_COL_PX_TWO / PX_PER_WIDTH, 2)
        ws.row_dimensions[5].height = _PHOTO_PT_TWO
    cell("A1", ledger.label("title"), f=Font(name=FONT_NAME, size=16, bold=True), border=None)
    ws.merge_cells(f"A1:{last}1")
    # 공사명 across the page (it wraps, and its row grows), then 회사명 and 공종
    cell("A2", align="left", wrap=True, f=Font(name=FONT_NAME, size=11, bold=True),
         fmt=_text_format(ledger.label("works_name") + ": "))
    for col in cols:
        cell(f"{col}2")
    ws.merge_cells(f"A2:{last}2")
    mid = "B" if len(cols) == 3 else "A"
    for ref, end, key in (("A3", f"{mid}3", "company"), (f"{chr(ord(mid) + 1)}3", f"{last}3", "work_type")):
        cell(ref, align="left", wrap=True, fmt=_text_format(ledger.label(key) + ": "))
        cell(end, align="left")
        if ref != end:
            ws.merge_cells(f"{ref}:{end}")
    cell("A4", ledger.label("no"), f=bold, fill=head_fill)
    for col in cols:
        cell(f"{col}4", f=Font(name=FONT_NAME, size=11, bold=True), fill=head_fill)
    for r in (5, 6, 7, 8):
        cell(f"A{r}", f=Font(name=FONT_NAME, size=11, bold=True))
    ws.merge_cells("A5:A8")
    for col in cols:
        cell(f"{col}5")
        cell(f"{col}6", f=Font(name=FONT_NAME, size=9, color="5A5A5A"), fmt=DATE_FORMAT)
    # 위치 and 일자 side by side, 내용 across the row: they wrap, and their rows grow
    text = Font(name=FONT_NAME, size=9)
    for ref, key in (("B7", "location"), (f"{last}7", "date"), ("B8", "caption")):
        cell(ref, align="left", wrap=True, f=text, fmt=_text_format(ledger.label(key) + ": "))
    for col in cols[1:]:
        cell(f"{col}8", align="left", wrap=True, f=text)
    if len(cols) == 3:
        cell("C7", align="left", wrap=True, f=text)
        ws.merge_cells("B7:C7")
    ws.merge_cells(f"B8:{last}8")
    names = {"WORKS_NAME": "$A$2", "COMPANY": "$A$3", "WORK_TYPE": f"${chr(ord(mid) + 1)}$3", "SPOT_NO": "$A$5",
             "LOCATION": "$B$7", "CAPTION": "$B$8", "DATES": f"${last}$7"}
    for col, stage in zip(cols, ledger.columns):
        key = stage.upper()
        names.update({f"STAGE_{key}": f"${col}$4", f"PHOTO_{key}": f"${col}$5", f"DATE_{key}": f"${col}$6"})
    quoted = "'" + ws.title.replace("'", "''") + "'"
    for name, ref in names.items():
        wb.defined_names[name] = DefinedName(name, attr_text=f"{quoted}!{ref}")
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_PORTRAIT
    # fit the columns to the page width: where a spreadsheet's default font is wider than
    # Excel's Calibri the page is scaled down, so the breaks computed here still hold
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top, ws.page_margins.bottom = 0.5, 0.6
    ws.page_margins.header, ws.page_margins.footer = 0.25, 0.3
    ws.print_options.horizontalCentered = True
    ws.print_title_rows = "1:4"
    ws.oddFooter.center.text = "&P / &N"
    ws.oddFooter.center.size = 9
    ws.sheet_view.showGridLines = False
    return wb


# --------------------------------------------------------------------------- geometry


def _merged_range(ws, col: int, row: int) -> tuple[int, int, int, int]:
    for mr in ws.merged_cells.ranges:
        if mr.min_col <= col <= mr.max_col and mr.min_row <= row <= mr.max_row:
            return mr.min_col, mr.min_row, mr.max_col, mr.max_row
    return col, row, col, row


def _col_width(ws, col: int) -> float:
    for dim in ws.column_dimensions.values():
        lo, hi = dim.min or 0, dim.max or 0
        if lo and hi and lo <= col <= hi and dim.width:
            return float(dim.width)
    dim = ws.column_dimensions.get(get_column_letter(col))
    if dim is not None and dim.width:
        return float(dim.width)
    return float(ws.sheet_format.defaultColWidth or (ws.sheet_format.baseColWidth or 8) + 0.43)


def col_px(ws, col: int) -> float:
    return round(_col_width(ws, col) * PX_PER_WIDTH)


def row_pt(ws, row: int) -> float:
    dim = ws.row_dimensions.get(row)
    if dim is not None and dim.height:
        return float(dim.height)
    return float(ws.sheet_format.defaultRowHeight or 15.0)


def _box_px(ws, n: _Named, row_offset: int) -> tuple[float, float]:
    c0, r0, c1, r1 = n.min_col, n.min_row, n.max_col, n.max_row
    if (c0, r0) == (c1, r1):
        c0, r0, c1, r1 = _merged_range(ws, c0, r0)
    w = sum(col_px(ws, c) for c in range(c0, c1 + 1))
    h = sum(row_pt(ws, r + row_offset) * PX_PER_PT for r in range(r0, r1 + 1))
    return w, h


def _marker(ws, col: int, row: int, dx_px: float, dy_px: float) -> AnchorMarker:
    """The cell and offset (EMU) a point dx, dy pixels right of / below (col, row) lies in."""
    while dx_px >= col_px(ws, col) and col < 16384:
        dx_px -= col_px(ws, col)
        col += 1
    while dy_px >= row_pt(ws, row) * PX_PER_PT and row < 1048576:
        dy_px -= row_pt(ws, row) * PX_PER_PT
        row += 1
    return AnchorMarker(col=col - 1, colOff=int(dx_px * EMU_PER_PX), row=row - 1, rowOff=int(dy_px * EMU_PER_PX))


def _printable(ws) -> tuple[float, float]:
    """(printable height in points at the sheet's scale, width in points) of one page."""
    ps = ws.page_setup
    try:
        paper = PAPER_IN.get(int(ps.paperSize or 9), PAPER_IN[9])
    except (TypeError, ValueError):
        paper = PAPER_IN[9]
    pw, ph = paper if ps.orientation != "landscape" else paper[::-1]
    m = ws.page_margins
    height = (ph - (m.top or 0) - (m.bottom or 0)) * 72
    width = (pw - (m.left or 0) - (m.right or 0)) * 72
    return height, width


def _scale(ws, last_col: int) -> float:
    """The print scale Excel will use: fit-to-width computed from the columns, else the
    sheet's scale."""
    _, width_pt = _printable(ws)
    props = ws.sheet_properties.pageSetUpPr
    if props is not None and props.fitToPage:
        content_pt = sum(col_px(ws, c) for c in range(1, last_col + 1)) / PX_PER_PT
        fit_w = ws.page_setup.fitToWidth
        if fit_w in (None, 0, "0"):
            return 1.0
        return min(1.0, width_pt * int(fit_w) / content_pt) if content_pt else 1.0
    try:
        return (int(ws.page_setup.scale or 100)) / 100
    except (TypeError, ValueError):
        return 1.0


def _title_rows(ws) -> tuple[int, int] | None:
    t = ws.print_title_rows
    if not t:
        return None
    a, _, b = str(t).replace("$", "").partition(":")
    try:
        return int(a), int(b or a)
    except ValueError:
        return None


# --------------------------------------------------------------------------- names


def _names(wb) -> dict[str, _Named]:
    out: dict[str, _Named] = {}

    def take(name, dn):
        key = name.upper()
        if key not in HEADER_NAMES + BLOCK_NAMES:
            return
        for title, ref in dn.destinations:
            if title not in wb.sheetnames:
                continue
            c0, r0, c1, r1 = range_boundaries(ref.replace("$", ""))
            out[key] = _Named(wb[title], c0, r0, c1, r1)
            return

    for name, dn in wb.defined_names.items():
        take(name, dn)
    for ws in wb.worksheets:
        for name, dn in ws.defined_names.items():
            take(name, dn)
    return out


def _set(ws, col: int, row: int, value, fmt: str | None = None, prefix: str | None = None,
         suffix: str | None = None, day_only: bool = False) -> None:
    """Write ``value``; ``fmt``: its number format unless the template's cell has its own;
    ``prefix`` / ``suffix``: text shown before / after a date (the 사진번호; the "(파일명)"
    mark), put around whichever format; ``day_only``: a date whose time of day is unknown
    (the format's time is taken out)."""
    c = ws.cell(row=row, column=col)
    if isinstance(c, MergedCell):
        c0, r0, _, _ = _merged_range(ws, col, row)
        c = ws.cell(row=r0, column=c0)
    template_format = c.number_format
    c.value = value
    if isinstance(value, str):
        c.data_type = "s"  # text typed on a tablet is never a formula
    if fmt and value is not None and template_format in ("General", "@"):
        c.number_format = fmt  # the template's own format wins
    if day_only and isinstance(value, datetime):
        c.number_format = re.sub(r"\s*\[?h+\]?:mm(:ss)?(\s*AM/PM)?", "", c.number_format, flags=re.IGNORECASE)
    if prefix and isinstance(value, datetime):
        c.number_format = '"' + prefix.replace('"', "") + '"' + c.number_format
    if suffix and isinstance(value, datetime):
        c.number_format = c.number_format + '"' + suffix.replace('"', "") + '"'


def _photo_label(led: Ledger, b, p) -> str:
    """사진번호, and "단계 미상" in a row of photos without a stage (see :func:`.pdf.photo_line`)."""
    label = b.spot.photo_no(p)
    return f"{label}  {led.stage_word(None)}" if b.unknown else label


@dataclass
class _PhotoCell:
    """A photo to embed: fitted and centred in the box of ``bw`` x ``bh`` pixels whose
    top-left cell is (col, row)."""

    photo: LedgerPhoto
    col: int
    row: int
    bw: float
    bh: float

    def box_mm(self) -> tuple[float, float]:
        """The photo's room in the box (inside its inset), mm: what its print image is made for."""
        return (self.bw - 2 * PHOTO_INSET_PX) / 96 * 25.4, (self.bh - 2 * PHOTO_INSET_PX) / 96 * 25.4


def _photo_plan(cells: list[_PhotoCell]) -> list[tuple]:
    """The print images :func:`_put_photo` will ask for, in order (:class:`.images.PrintImages`)."""
    return [(c.photo, *c.box_mm()) for c in cells]


def _put_photo(ws, cell: _PhotoCell, images: PrintImages, path: Path, notes: list[str]) -> bool:
    """Embed the cell's photo, as a JPEG made for it (``images``, written to ``path``); False
    (and a note) when the original is unreadable."""
    p, col, row, bw, bh = cell.photo, cell.col, cell.row, cell.bw, cell.bh
    try:
        img = images.get(p, *cell.box_mm())
    except (ImageError, OSError) as e:
        notes.append(f"{p.name}: {getattr(e, 'reason', e)}")
        return False
    path.write_bytes(img.jpeg)
    w_px, h_px = img.size[0] / 25.4 * 96, img.size[1] / 25.4 * 96
    xl = XLImage(str(path))
    xl.width, xl.height = round(w_px), round(h_px)
    xl.anchor = OneCellAnchor(_from=_marker(ws, col, row, (bw - w_px) / 2, (bh - h_px) / 2),
                              ext=XDRPositiveSize2D(int(w_px * EMU_PER_PX), int(h_px * EMU_PER_PX)))
    ws.add_image(xl)
    return True


def _copy_block(ws, r0: int, r1: int, off: int, last_col: int, merges: list) -> None:
    for r in range(r0, r1 + 1):
        src_dim = ws.row_dimensions.get(r)
        if src_dim is not None and src_dim.height:
            ws.row_dimensions[r + off].height = src_dim.height
        for c in range(1, last_col + 1):
            src = ws.cell(row=r, column=c)
            dst = ws.cell(row=r + off, column=c)
            if src.has_style:
                dst._style = copy(src._style)
            if not isinstance(src, MergedCell) and src.value is not None:
                dst.value = src.value
    for c0, mr0, c1, mr1 in merges:
        ws.merge_cells(start_row=mr0 + off, start_column=c0, end_row=mr1 + off, end_column=c1)


# --------------------------------------------------------------------------- text height


def _char_em(ch: str) -> float:
    """A character's width in ems, roughly, in a Korean UI font (맑은 고딕, Excel's metrics)."""
    if ch == " ":
        return 0.3
    o = ord(ch)
    if o >= 0x1100 and (0x1100 <= o <= 0x11FF or 0x2E80 <= o <= 0xD7FF or 0xF900 <= o <= 0xFFDC):
        return 1.0
    if ch in "il.,:;'|!":
        return 0.3
    if ch.isupper() or ch in "mwMW@%":
        return 0.72
    return 0.58


def text_lines(text: str, width_px: float, size_pt: float) -> int:
    """How many lines ``text`` takes when wrapped in a cell ``width_px`` wide at ``size_pt``
    (by word, as Excel wraps; a word longer than the line breaks anywhere). An estimate
    that errs long: a row made this high never clips its text."""
    em = size_pt * PX_PER_PT
    room = max(em, width_px - 8)  # the cell's inner margins
    lines = 0
    for para in str(text).split("\n"):
        lines += 1
        used = 0.0
        for word in para.split(" "):
            w = sum(_char_em(c) for c in word) * em * 1.04
            gap = 0.3 * em if used else 0.0
            if used and used + gap + w > room:
                lines += 1
                used = 0.0
                gap = 0.0
            while w > room:  # a long word (or Korean without spaces) breaks anywhere
                lines += 1
                w -= room
            used += gap + w
    return max(1, lines)


def _grow_row(ws, n: "_Named", row_offset: int, text: str | None) -> None:
    """Make the row of a named cell (a wrapping cell, one row high) tall enough for ``text``
    and the prefix its number format shows; rows only grow."""
    if not text:
        return
    c0, r0, c1, r1 = _merged_range(ws, n.min_col, n.min_row + row_offset)
    cell = ws.cell(row=r0, column=c0)
    if r0 != r1 or not (cell.alignment and cell.alignment.wrap_text):
        return
    fmt = cell.number_format or ""
    prefix = fmt.split('"')[1] if fmt.startswith('"') and fmt.count('"') >= 2 else ""
    size = float(cell.font.sz or 11) if cell.font else 11.0
    width = sum(col_px(ws, c) for c in range(c0, c1 + 1))
    need = text_lines(prefix + str(text), width, size) * size * 1.3 + 3
    if need > row_pt(ws, r0):
        ws.row_dimensions[r0].height = round(need, 1)


# --------------------------------------------------------------------------- writing


def _load_template(path: str | Path):
    try:
        return load_workbook(path)
    except Exception as e:  # noqa: BLE001 - zipfile, XML and openpyxl errors alike
        raise TemplateError(f"not an XLSX workbook openpyxl can read ({type(e).__name__}: {e})", "not_xlsx") from None


def _layout(wb):
    """(names, sheet, first and last row of the spot block, last column, merged ranges of the
    block) of a template; raises :class:`TemplateError` saying what is wrong."""
    names = _names(wb)
    photo_names = [n for n in ("PHOTO_BEFORE", "PHOTO_DURING", "PHOTO_AFTER") if n in names]
    if not photo_names:
        raise TemplateError("the template has no PHOTO_BEFORE / PHOTO_DURING / PHOTO_AFTER named cell", "no_photo")
    ws = names[photo_names[0]].ws
    block = {k: v for k, v in names.items() if k in BLOCK_NAMES}
    if any(v.ws is not ws for v in block.values()):
        raise TemplateError("the spot block's named cells must all be on one sheet", "one_sheet")
    r0 = min(v.min_row for v in block.values())
    r1 = max(v.max_row for v in block.values())
    last_col = max(ws.max_column, max(v.max_col for v in block.values()))
    # merged ranges that start in the block (they may reach down into it from its first row)
    merges = [(m.min_col, m.min_row, m.max_col, m.max_row) for m in ws.merged_cells.ranges
              if r0 <= m.min_row <= r1]
    r1 = max([r1] + [m[3] for m in merges])
    for row in ws.iter_rows(min_row=r1 + 1, max_row=ws.max_row):
        if any(c.value is not None for c in row):
            raise TemplateError(f"the spot block (rows {r0}-{r1}) must be the template's last rows", "last_rows",
                                r0=r0, r1=r1)
    return names, ws, r0, r1, last_col, merges


def check_template(path: str | Path) -> list[str]:
    """The names a company's template fills (sorted); raises :class:`TemplateError` when the
    export could not fill it, saying why."""
    return sorted(_layout(_load_template(path))[0])


def _a4_portrait(ws) -> None:
    """A4 portrait, one page wide (the columns scaled to fit), centred, "page / pages" below."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_PORTRAIT
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.print_options.horizontalCentered = True
    ws.oddFooter.center.text = "&P / &N"


#: The index sheet's columns: (label key, width in Excel units); the last (the whole hash)
#: is outside the print area.
INDEX_COLS = (("index_photo_no", 10.0), ("index_location", 34.0), ("index_stage", 12.0), ("index_taken", 25.0),
              ("index_sha", 16.0), ("index_sha_full", 70.0))


def _index_sheet(wb, led: Ledger, rows: list[IndexRow]):
    """A sheet "사진 목록": one line per photo printed (사진번호, 지점 · 위치, 구분, 촬영일시
    with the "(파일명)" mark, the sha256's first 12 digits, and the whole sha256 beside the
    print area), A4 portrait, its heads repeated on every page."""
    ws = wb.create_sheet(led.label("index_title")[:31])
    thin = Side(style="thin", color="5A5A5A")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    font, bold = Font(name=FONT_NAME, size=10), Font(name=FONT_NAME, size=10, bold=True)
    for k, (_, width) in enumerate(INDEX_COLS, 1):
        ws.column_dimensions[get_column_letter(k)].width = width
    last_printed = get_column_letter(len(INDEX_COLS) - 1)
    ws["A1"] = led.label("index_title")
    ws["A1"].font = Font(name=FONT_NAME, size=16, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.merge_cells(f"A1:{last_printed}1")
    ws.row_dimensions[1].height = 30
    ws["A2"] = led.label("index_note")
    ws["A2"].data_type = "s"
    ws["A2"].font = Font(name=FONT_NAME, size=9, color="5A5A5A")
    ws["A2"].alignment = Alignment(horizontal="left", vertical="center", wrap_text=True)
    ws.merge_cells(f"A2:{last_printed}2")
    ws.row_dimensions[2].height = 15.0 * text_lines(led.label("index_note"),
                                                    sum(w for _, w in INDEX_COLS[:-1]) * PX_PER_WIDTH, 9) + 4
    fill = PatternFill("solid", fgColor="E8E8E2")
    for k, (key, _) in enumerate(INDEX_COLS, 1):
        c = ws.cell(row=3, column=k, value=led.label(key))
        c.font, c.fill, c.border = bold, fill, box
        c.alignment = Alignment(horizontal="center", vertical="center")
    for n, r in enumerate(rows, 4):
        p = r.photo
        when = parse_local(p.taken_local)
        values = [r.photo_no, f"{r.spot.number}. {r.spot.location}", led.stage_word(r.stage), when, r.short_sha,
                  p.sha256]
        for k, value in enumerate(values, 1):
            c = ws.cell(row=n, column=k, value=value)
            if isinstance(value, str):
                c.data_type = "s"
            c.font, c.border = font, box
            c.alignment = Alignment(horizontal="left" if k in (2, 6) else "center", vertical="center",
                                    wrap_text=k == 2)
        if when is not None:
            fmt = "yyyy.mm.dd" if p.taken_from == "file name date" else DATE_FORMAT
            ws.cell(row=n, column=4).number_format = fmt + (
                '" ' + led.label("name_mark") + '"' if p.time_from_name else "")
        lines = text_lines(values[1], INDEX_COLS[1][1] * PX_PER_WIDTH, 10)
        if lines > 1:
            ws.row_dimensions[n].height = 15.0 * lines + 2
    ws.print_title_rows = "3:3"
    ws.print_area = f"A1:{last_printed}{max(3, len(rows) + 3)}"
    _a4_portrait(ws)
    if led.times_from_names():
        ws.oddFooter.left.text = led.label("name_legend").replace("&", "&&")
        ws.oddFooter.left.size = 8
    ws.sheet_view.showGridLines = False
    return ws


#: The 위치도 sheet: the map's size (mm, drawn at MAP_DPI) and the legend's columns (label
#: key, width in Excel units); the four columns are as wide as the map.
MAP_BOX_MM, MAP_DPI = (190.0, 140.0), 150
MAP_COLS = (("map_no", 9.0), ("map_location", 48.0), ("map_gps", 30.0), ("map_photos", 15.0))


def _map_sheet(wb, led: Ledger, tmp: Path):
    """A sheet "위치도" when a spot has GPS (and ``led.location_map``): the map drawn as the
    PDF's (:func:`.sitemap.render_png`), then the legend: 번호, 위치, 좌표 or "위치 정보 없음",
    사진 수; A4 portrait, one page wide. None when there is no map."""
    from .pdf import FONT_BOLD, FONT_REGULAR
    from .sitemap import layout_map, legend, render_png

    if not led.location_map:
        return None
    m = layout_map(led, (0.0, 0.0, *MAP_BOX_MM))
    if m is None:
        return None
    ws = wb.create_sheet(led.label("map_title")[:31], index=1)  # after the ledger's sheet, as the PDF's page
    for k, (_, width) in enumerate(MAP_COLS, 1):
        ws.column_dimensions[get_column_letter(k)].width = width
    last = get_column_letter(len(MAP_COLS))
    ws["A1"] = led.label("map_title")
    ws["A1"].font = Font(name=FONT_NAME, size=16, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.merge_cells(f"A1:{last}1")
    ws.row_dimensions[1].height = 30
    ws["A2"] = led.works_name or led.site_name
    ws["A2"].data_type = "s"
    ws["A2"].number_format = _text_format(led.label("works_name") + ": ")
    ws["A2"].font = Font(name=FONT_NAME, size=11, bold=True)
    ws["A2"].alignment = Alignment(horizontal="left", vertical="center", wrap_text=True)
    ws.merge_cells(f"A2:{last}2")
    width_px = sum(w for _, w in MAP_COLS) * PX_PER_WIDTH
    ws.row_dimensions[2].height = 15.0 * text_lines(led.label("works_name") + ": " + ws["A2"].value, width_px, 11) + 4
    # the map: a picture as wide as the columns, over rows of 15 pt
    png = tmp / "map.png"
    w_px, h_px = render_png(m, png, FONT_REGULAR, FONT_BOLD, dpi=MAP_DPI)
    shown_w = width_px
    shown_h = shown_w * h_px / w_px
    img = XLImage(str(png))
    img.width, img.height = round(shown_w), round(shown_h)
    img.anchor = OneCellAnchor(_from=AnchorMarker(col=0, colOff=0, row=2, rowOff=int(2 * EMU_PER_PX)),
                               ext=XDRPositiveSize2D(int(shown_w * EMU_PER_PX), int(shown_h * EMU_PER_PX)))
    ws.add_image(img)
    map_rows = math.ceil((shown_h + 6) / PX_PER_PT / 15.0)
    for r in range(3, 3 + map_rows):
        ws.row_dimensions[r].height = 15.0
    row = 3 + map_rows
    ws.cell(row=row, column=1, value=led.label("map_note")).data_type = "s"
    ws.cell(row=row, column=1).font = Font(name=FONT_NAME, size=9, color="5A5A5A")
    ws.cell(row=row, column=1).alignment = Alignment(horizontal="left", vertical="center", wrap_text=True)
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(MAP_COLS))
    ws.row_dimensions[row].height = 15.0 * text_lines(led.label("map_note"), width_px, 9) + 4
    thin = Side(style="thin", color="5A5A5A")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    fill = PatternFill("solid", fgColor="E8E8E2")
    row += 1
    head = row
    for k, (key, _) in enumerate(MAP_COLS, 1):
        c = ws.cell(row=row, column=k, value=led.label(key))
        c.font, c.fill, c.border = Font(name=FONT_NAME, size=10, bold=True), fill, box
        c.alignment = Alignment(horizontal="center", vertical="center")
    for number, location, gps, count, placed in legend(led):
        row += 1
        for k, value in enumerate((number, location, gps, count), 1):
            c = ws.cell(row=row, column=k, value=value)
            if isinstance(value, str):
                c.data_type = "s"
            c.font, c.border = Font(name=FONT_NAME, size=10, color=None if placed or k != 3 else "5A5A5A"), box
            c.alignment = Alignment(horizontal="left" if k == 2 else "center", vertical="center", wrap_text=k == 2)
        lines = text_lines(location, MAP_COLS[1][1] * PX_PER_WIDTH, 10)
        if lines > 1:
            ws.row_dimensions[row].height = 15.0 * lines + 2
    ws.print_area = f"A1:{last}{row}"
    ws.print_title_rows = f"{head}:{head}"
    _a4_portrait(ws)
    ws.sheet_view.showGridLines = False
    return ws


# --------------------------------------------------------------------------- 2-up / 4-up

#: The cards of the 2-up and 4-up layouts, as the PDF's (:data:`.pdf.CARDS`): cards across,
#: the photo row's height (pt: 88 and 78 mm), and each card's columns (label, value; Excel
#: units); 4-up has a narrow gap column between its two cards.
XL_CARDS = {"2up": (1, 249.0, (14.0, 90.0)), "4up": (2, 221.0, (11.0, 40.0))}
CARD_GAP_COL = 2.0
CARD_GAP_PT = 8.0        # between rows of cards
CARD_TEXT_PT = 15.0      # a text row's least height
CARD_SHRINK = 0.75       # a card's photo row at the least, at a page's foot (as the PDF's)


def _card_fields(led: Ledger, r: IndexRow) -> list[tuple[str, object]]:
    """What a card says under its photo, as the PDF's cards: (label key, value)."""
    sp = r.spot
    location = sp.location + ("" if sp.confirmed else f" ({led.label('unconfirmed')})")
    if sp.asset_no:
        location += f" / {led.label('asset_no')} {sp.asset_no}"
    out = [("index_photo_no", r.photo_no), ("index_stage", led.stage_word(r.stage))]
    if led.work_type:
        out.append(("work_type", led.work_type))
    return out + [("location", location), ("date", r.photo), ("caption", sp.caption)]


def _cards_sheet(wb, led: Ledger, rows: list[IndexRow], tmp: Path, notes: list[str]) -> dict:
    """The 2-up / 4-up layout on the workbook's first sheet: the photos the rows print, in
    사진번호 order, as cards (the photo in a merged cell as wide as the card, then 사진번호,
    구분, 공종, 위치, 일자, 내용 under it, each a row as high as its text), one or two a row
    of cards; A4 portrait, the title and 공사명 repeated on every page, page breaks between
    rows of cards. Returns the writer's report's parts."""
    across, photo_pt, (label_w, value_w) = XL_CARDS[led.layout]
    ws = wb.active
    ws.title = led.label("title")[:31]
    thin = Side(style="thin", color="5A5A5A")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    fill = PatternFill("solid", fgColor="E8E8E2")
    bold = Font(name=FONT_NAME, size=10, bold=True)
    card_cols = []  # (label column, value column) of each card across
    col = 1
    for k in range(across):
        if k:
            ws.column_dimensions[get_column_letter(col)].width = CARD_GAP_COL
            col += 1
        ws.column_dimensions[get_column_letter(col)].width = label_w
        ws.column_dimensions[get_column_letter(col + 1)].width = value_w
        card_cols.append((col, col + 1))
        col += 2
    last_col = col - 1
    last = get_column_letter(last_col)
    ws["A1"] = led.label("title")
    ws["A1"].font = Font(name=FONT_NAME, size=16, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.merge_cells(f"A1:{last}1")
    ws.row_dimensions[1].height = 30
    works = led.works_name or led.site_name
    _set(ws, 1, 2, works)
    ws["A2"].number_format = _text_format(led.label("works_name") + ": ")
    ws["A2"].font = Font(name=FONT_NAME, size=11, bold=True)
    ws["A2"].alignment = Alignment(horizontal="left", vertical="center", wrap_text=True)
    ws.merge_cells(f"A2:{last}2")
    width_px = sum(col_px(ws, c) for c in range(1, last_col + 1))
    ws.row_dimensions[2].height = max(18.0, text_lines(led.label("works_name") + ": " + works, width_px, 11) * 11 * 1.3 + 3)
    _a4_portrait(ws)
    ws.page_margins.top, ws.page_margins.bottom = 0.5, 0.6
    ws.page_margins.header, ws.page_margins.footer = 0.25, 0.3
    ws.print_title_rows = "1:2"
    page_h, _ = _printable(ws)
    room = page_h / _scale(ws, last_col) * PAGE_SAFETY - row_pt(ws, 1) - row_pt(ws, 2)
    cards, breaks, photos = [], [], []  # photos: (its cell, its card's photo cell)
    row, used = 3, 0.0
    for k in range(0, len(rows), across):
        line = rows[k:k + across]
        fields = [_card_fields(led, r) for r in line]
        needs = [max([CARD_TEXT_PT] + [text_lines(str(f[i][1]), col_px(ws, card_cols[j][1]), 10) * 10 * 1.3 + 2
                                       for j, f in enumerate(fields) if f[i][0] != "date" and f[i][1]])
                 for i in range(len(fields[0]))]
        text_h = sum(needs)
        # as the PDF: a row of cards that does not fit goes to the next page; at a page's foot a
        # long 내용 gets a smaller photo (down to CARD_SHRINK), never cut text
        if used and used + CARD_SHRINK * photo_pt + text_h > room:
            ws.row_breaks.append(Break(id=row - 1))
            breaks.append(row - 1)
            used = 0.0
        box_pt = max(CARD_SHRINK * photo_pt, min(photo_pt, room - used - text_h))
        ws.row_dimensions[row].height = round(box_pt, 1)
        for j, r in enumerate(line):
            c0, c1 = card_cols[j]
            for c in (c0, c1):
                ws.cell(row=row, column=c).border = box
            ws.merge_cells(start_row=row, start_column=c0, end_row=row, end_column=c1)
            photos.append(_PhotoCell(r.photo, c0, row, col_px(ws, c0) + col_px(ws, c1), row_pt(ws, row) * PX_PER_PT))
            cards.append({"photo_no": r.photo_no, "sha256": r.photo.sha256, "photo": (c0, row), "text_rows": []})
        for i, need in enumerate(needs):
            row += 1
            ws.row_dimensions[row].height = round(need, 1)
            for j, r in enumerate(line):
                c0, c1 = card_cols[j]
                key, value = fields[j][i]
                lab = ws.cell(row=row, column=c0, value=led.label(key))
                lab.font, lab.fill, lab.border = bold, fill, box
                lab.alignment = Alignment(horizontal="center", vertical="center")
                if key == "date":
                    _set(ws, c1, row, parse_local(value.taken_local), DATE_FORMAT,
                         suffix=" " + led.label("name_mark") if value.time_from_name else None,
                         day_only=value.taken_from == "file name date")
                else:
                    _set(ws, c1, row, value or None)
                v = ws.cell(row=row, column=c1)
                v.font = Font(name=FONT_NAME, size=10, color="AA5000" if key == "index_stage" and r.stage is None else None)
                v.border = box
                v.alignment = Alignment(horizontal="left", vertical="center", wrap_text=True)
                cards[-len(line) + j]["text_rows"].append(row)
        row += 1
        ws.row_dimensions[row].height = CARD_GAP_PT  # the gap under a row of cards
        row += 1
        used += box_pt + text_h + CARD_GAP_PT
    last_row = max(3, row - 2)
    ws.print_area = f"A1:{last}{last_row}"
    placed = 0
    with PrintImages(_photo_plan(photos)) as images:
        for cell in photos:
            if _put_photo(ws, cell, images, tmp / f"card{placed:05d}.jpg", notes):
                placed += 1
            else:
                _set(ws, cell.col, cell.row, led.label("unreadable"))
    if led.times_from_names():
        ws.oddFooter.left.text = led.label("name_legend").replace("&", "&&")
        ws.oddFooter.left.size = 8
    ws.sheet_view.showGridLines = False
    pages = len(breaks) + 1
    return {"photos": placed, "pages": pages, "cards": cards, "breaks": breaks, "last_row": last_row}


def _save(wb, out: Path) -> None:
    """Save atomically: a partial file never has the name."""
    part = out.with_name(f".{out.name}.part")
    try:
        wb.save(part)
        os.replace(part, out)
    finally:
        if part.exists():
            part.unlink()


def _write_cards(led: Ledger, out: Path, template) -> dict:
    """The 2-up / 4-up workbook: the cards' sheet, the 위치도 and the index (as the rows')."""
    if template:
        raise TemplateError("a company's Excel layout prints rows; 2-up and 4-up use the built-in layout",
                            "cards_layout")
    wb = Workbook()
    notes: list[str] = []
    rows = index_rows(led.blocks(), led.columns)
    with tempfile.TemporaryDirectory(prefix=".ledger-", dir=out.parent) as tmp:
        rep = _cards_sheet(wb, led, rows, Path(tmp), notes)
        _index_sheet(wb, led, rows)
        map_ws = _map_sheet(wb, led, Path(tmp))
        wb.properties.title = f"{led.label('title')} - {led.title_name}"
        wb.properties.creator = "edge-app"
        _save(wb, out)
    return {"spots": len(led.spots), "photos": rep["photos"], "pages": rep["pages"], "cards": rep["cards"],
            "breaks": rep["breaks"], "notes": notes,
            "index": [{"photo_no": r.photo_no, "sha256": r.photo.sha256} for r in rows],
            "map_sheet": map_ws.title if map_ws is not None else None}


def write_xlsx(ledger: Ledger, out: str | Path, template: str | Path | None = None) -> dict:
    """Write the ledger to ``out`` (atomically), filling ``template`` (a company's .xlsx with
    the names above) or the built-in layout. Returns {"spots", "photos", "pages", "blocks":
    [{"spot", "part", "rows": (first, last)}], "breaks": [rows], "notes": [unreadable photos]}."""
    out = Path(out)
    if ledger.layout in XL_CARDS:
        return _write_cards(ledger, out, template)
    wb = _load_template(template) if template else default_template(ledger)
    names, ws, r0, r1, last_col, merges = _layout(wb)
    height = r1 - r0 + 1

    # header
    led = ledger
    header = {"WORKS_NAME": led.works_name or led.site_name, "COMPANY": led.company, "WORK_TYPE": led.work_type,
              "PERIOD": led.period_text(), "SITE_NAME": led.site_name, "CLIENT": led.client,
              "CONTRACT_NO": led.contract_no, "CONTRACT_PERIOD": led.contract_period,
              "PREPARED": datetime.now().replace(microsecond=0),
              **{f"STAGE_{c.upper()}": led.stage_word(c) for c in led.columns}}
    for key, value in header.items():
        if key in names:
            n = names[key]
            _set(n.ws, n.min_col, n.min_row, value, "yyyy.mm.dd" if key == "PREPARED" else None)
            if isinstance(value, str):
                _grow_row(n.ws, n, 0, value)
    if led.times_from_names() and not ws.oddFooter.left.text:  # what the "(파일명)" mark means
        ws.oddFooter.left.text = led.label("name_legend").replace("&", "&&")
        ws.oddFooter.left.size = 8
    wb.properties.title = f"{led.label('title')} - {led.title_name}"
    wb.properties.creator = "edge-app"
    if led.company:
        wb.properties.subject = led.company

    # the stage columns this layout prints (a company's may lack "during")
    columns = tuple(c for c in led.columns if f"PHOTO_{c.upper()}" in names)
    blocks = [b for sp in led.spots for b in place_photos(sp, columns, led.all_photos)]
    for k in range(1, len(blocks)):
        _copy_block(ws, r0, r1, k * height, last_col, merges)

    notes: list[str] = []
    placed = 0
    info = []
    photos = []  # (its cell, the name of its photo cell, the block's row offset)
    with tempfile.TemporaryDirectory(prefix=".ledger-", dir=out.parent) as tmp:
        for k, b in enumerate(blocks):
            off = k * height
            sp = b.spot

            def put(key, value, fmt=None):
                if key in names:
                    n = names[key]
                    _set(ws, n.min_col, n.min_row + off, value, fmt)

            location = sp.location + ("" if sp.confirmed else f" ({led.label('unconfirmed')})")
            if sp.asset_no and "ASSET_NO" not in names:
                location += f" / {led.label('asset_no')} {sp.asset_no}"
            put("SPOT_NO", sp.number)
            texts = {"LOCATION": location, "ASSET_NO": sp.asset_no or None, "CAPTION": sp.caption or None,
                     "DATES": format_period(*sp.first_last(), led.lang) or None}
            for key, value in texts.items():
                put(key, value)
                if key in names:
                    _grow_row(ws, names[key], off, value)
            for stage in columns:
                p = b.photos.get(stage)
                key = stage.upper()
                if p is not None and f"DATE_{key}" in names:
                    when, label = parse_local(p.taken_local), _photo_label(led, b, p)
                    n = names[f"DATE_{key}"]
                    _set(ws, n.min_col, n.min_row + off, when or label, DATE_FORMAT, prefix=label + "  ",
                         suffix=" " + led.label("name_mark") if p.time_from_name else None,
                         day_only=p.taken_from == "file name date")
                if p is None:
                    if b.marks_missing:
                        put(f"PHOTO_{key}", led.label("no_photo"))
                    continue
                n = names[f"PHOTO_{key}"]
                bw, bh = _box_px(ws, n, off)  # this block's rows are as high as its text made them
                c0, rr0, _, _ = (n.min_col, n.min_row, n.max_col, n.max_row) \
                    if (n.min_col, n.min_row) != (n.max_col, n.max_row) else _merged_range(ws, n.min_col, n.min_row)
                photos.append((_PhotoCell(p, c0, rr0 + off, bw, bh), n, off))
            info.append({"spot": sp.id, "part": b.part, "rows": (r0 + off, r1 + off)})

        # the photos, in the blocks' order, made a few ahead on threads
        with PrintImages(_photo_plan([c for c, _, _ in photos])) as images:
            for cell, n, off in photos:
                if _put_photo(ws, cell, images, Path(tmp) / f"{placed:05d}.jpg", notes):
                    placed += 1
                else:
                    _set(ws, n.min_col, n.min_row + off, led.label("unreadable"))

        # page breaks between spots
        last_row = r1 + (len(blocks) - 1) * height if blocks else r1
        scale = _scale(ws, last_col)
        page_h, _ = _printable(ws)
        room = page_h / scale * PAGE_SAFETY
        titles = _title_rows(ws)
        title_h = sum(row_pt(ws, r) for r in range(titles[0], titles[1] + 1)) if titles else 0.0
        above = sum(row_pt(ws, r) for r in range(1, r0))
        groups: list[list[float]] = []
        for k, b in enumerate(blocks):
            if b.part == 0:
                groups.append([])
            groups[-1].append(sum(row_pt(ws, r + k * height) for r in range(r0, r1 + 1)))
        pages = paginate(groups, room - above, room - title_h) if blocks else [[]]
        breaks = []
        for page in pages[:-1]:
            row = r1 + page[-1] * height
            ws.row_breaks.append(Break(id=row))
            breaks.append(row)
        rows = index_rows(blocks, columns)
        _index_sheet(wb, led, rows)
        map_ws = _map_sheet(wb, led, Path(tmp))
        if not ws.print_area or not template:
            ws.print_area = f"A1:{get_column_letter(last_col)}{last_row}"
        else:
            c0, pr0, c1, _ = range_boundaries(str(ws.print_area).split("!")[-1].replace("$", "").split(",")[0])
            ws.print_area = f"{get_column_letter(c0)}{pr0}:{get_column_letter(c1)}{last_row}"
        _save(wb, out)
    return {"spots": len(led.spots), "photos": placed, "pages": len(pages), "blocks": info, "breaks": breaks,
            "notes": notes, "index": [{"photo_no": r.photo_no, "sha256": r.photo.sha256} for r in rows],
            "map_sheet": map_ws.title if map_ws is not None else None}
