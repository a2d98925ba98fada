"""The photo ledger as a PDF (fpdf2): a cover page with the site's summary, then A4
portrait pages of four spots each, before / during / after side by side.

fpdf2 because it is pure Python (no Cairo / Pango to build on a Jetson, unlike
WeasyPrint), maintained, embeds a TrueType font as a subset with its ToUnicode map (so
the Korean text is searchable and ``pdftotext`` reads it back), and takes the JPEGs made
here as they are (DCT, no second compression). The font is the app's subset of
NanumGothic ("EdgeApp Gothic", ``web/static/fonts``); the characters it lacks (✓, ✕, emoji)
are replaced by ones it has.

Layout (mm), the same as the XLSX: on each page a header (사진대지, 공사명 / 회사명, 공종 /
기간, then the column heads 번호 / 시공 전 / 시공 중 / 시공 후), then blocks: a photo row
(60 x 45 mm boxes), a row with each photo's capture time, and a caption row with 위치,
내용 and 일자. Page breaks fall between spots (:func:`model.paginate`).

Memory: the photos are made one at a time at print resolution (:mod:`.images`); fpdf2
keeps those small JPEGs (about 40 KB each) until the file is written, never an original.
"""

from __future__ import annotations

import functools
import io
import os
from datetime import datetime
from pathlib import Path

from fpdf import FPDF

from .images import ImageError, print_image
from .model import Block, Ledger, paginate
from .words import format_date, format_period

FONT_DIR = Path(__file__).resolve().parents[1] / "web" / "static" / "fonts"
FONT_REGULAR = FONT_DIR / "NanumGothic-Regular.subset.ttf"
FONT_BOLD = FONT_DIR / "NanumGothic-Bold.subset.ttf"
FONT = "EdgeAppGothic"

PAGE_W, PAGE_H = 210.0, 297.0
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 10.0, 10.0, 12.0
CONTENT_W = PAGE_W - 2 * MARGIN_X                  # 190
NO_W = 10.0                                        # 번호 column
PHOTO_W = (CONTENT_W - NO_W) / 3                   # 60


def photo_w(columns: int) -> float:
    """The width of a photo column when ``columns`` stage columns are printed (mm)."""
    return (CONTENT_W - NO_W) / columns


TITLE_H, INFO_H, COLHEAD_H = 10.0, 6.0, 7.0
HEAD_H = TITLE_H + 2 * INFO_H + COLHEAD_H          # 29
PHOTO_H, DATE_H, CAPTION_H = 45.0, 5.5, 10.5
BLOCK_H = PHOTO_H + DATE_H + CAPTION_H             # 61: four blocks a page
PAD = 1.2                                          # photo inside its box
PAGE_ROOM = PAGE_H - MARGIN_TOP - MARGIN_BOTTOM - HEAD_H

GRID = (90, 90, 90)
HEAD_FILL = (232, 232, 226)
MUTED = (90, 90, 90)
UNKNOWN_INK = (170, 80, 0)  # "단계 미상": a photo without a stage

#: Characters the font lacks, and what is printed instead.
SUBSTITUTES = {"\u2713": "\u221a", "\u2714": "\u221a", "\u2715": "\u00d7", "\u2717": "\u00d7", "\u2718": "\u00d7",
               "\u00a0": " "}


@functools.lru_cache(maxsize=2)
def _codepoints(path: str) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True) as f:
        return frozenset(f.getBestCmap())


def printable(text: str, font_path: Path = FONT_REGULAR) -> str:
    """``text`` with every character the font lacks replaced (see :data:`SUBSTITUTES`; '?'
    for the rest), so nothing prints as an empty box."""
    have = _codepoints(str(font_path))
    out = []
    for ch in text:
        ch = SUBSTITUTES.get(ch, ch)
        out.append(ch if ord(ch) in have or ch in "\n" else "?")
    return "".join(out)


class _Doc(FPDF):
    def __init__(self, ledger: Ledger):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.ledger = ledger
        self.set_auto_page_break(False)
        self.set_margins(MARGIN_X, MARGIN_TOP, MARGIN_X)
        self.add_font(FONT, "", str(FONT_REGULAR))
        self.add_font(FONT, "B", str(FONT_BOLD))
        self.set_draw_color(*GRID)
        self.set_line_width(0.2)
        self.set_creator("edge-app")
        self.set_producer("edge-app (fpdf2)")
        self.set_lang("ko-KR" if ledger.lang == "ko" else "en")
        self.set_title(f"{ledger.label('title')} - {ledger.title_name}")
        if ledger.company:
            self.set_author(ledger.company)
        self.set_subject(ledger.site_name)
        self.set_creation_date(datetime.now().astimezone())

    def footer(self):
        if self.page_no() == 1:
            return
        self.set_font(FONT, "", 8)
        self.set_text_color(*MUTED)
        self.set_xy(MARGIN_X, PAGE_H - 9)
        self.cell(CONTENT_W, 4, self.ledger.label("page", n=self.page_no(), total="{nb}"), align="C")
        self.set_text_color(0, 0, 0)

    # -- text helpers ------------------------------------------------------------------
    def text_box(self, x, y, w, h, text, size=9.0, bold=False, align="C", max_lines=1, min_size=6.0,
                 fill=False, border=True, color=None):
        """``text`` inside the box (x, y, w, h): shrunk down to ``min_size`` pt to fit
        ``max_lines`` lines, then cut with an ellipsis; centred vertically."""
        if fill:
            self.set_fill_color(*HEAD_FILL)
        if border or fill:
            self.rect(x, y, w, h, style=("DF" if fill else "D") if border else "F")
        text = printable(text or "")
        if not text:
            return
        style = "B" if bold else ""
        inner = w - 2.0
        lines = None
        while True:
            self.set_font(FONT, style, size)
            lines = self.multi_cell(inner, size * 0.42, text, dry_run=True, output="LINES")
            if len(lines) <= max_lines or size <= min_size:
                break
            size = max(min_size, size - 0.5)
        if len(lines) > max_lines:
            lines = lines[:max_lines]
            last = lines[-1]
            while last and self.get_string_width(last + "…") > inner:
                last = last[:-1]
            lines[-1] = last + "…"
        lh = size * 0.42
        top = y + (h - lh * len(lines)) / 2
        if color:
            self.set_text_color(*color)
        for k, line in enumerate(lines):
            self.set_xy(x + 1.0, top + k * lh)
            self.cell(inner, lh, line, align=align)
        if color:
            self.set_text_color(0, 0, 0)

    def label_value(self, x, y, w, h, lab, value, label_w=18.0, size=9.0, max_lines=1):
        self.text_box(x, y, label_w, h, lab, size=size, bold=True, fill=True)
        self.text_box(x + label_w, y, w - label_w, h, value, size=size, align="L", max_lines=max_lines)


def _photo(doc: _Doc, photo, x, y, w, h, notes: list[str]) -> bool:
    """Draw a photo centred in the box; False (and a note) when the original is unreadable."""
    bw, bh = w - 2 * PAD, h - 2 * PAD
    try:
        img = print_image(photo, bw, bh)
    except (ImageError, OSError) as e:
        notes.append(f"{photo.name}: {getattr(e, 'reason', e)}")
        return False
    iw, ih = img.size
    doc.image(io.BytesIO(img.jpeg), x=x + (w - iw) / 2, y=y + (h - ih) / 2, w=iw, h=ih)
    return True


def _header(doc: _Doc) -> float:
    led = doc.ledger
    x, y = MARGIN_X, MARGIN_TOP
    doc.text_box(x, y, CONTENT_W, TITLE_H, led.label("title"), size=15, bold=True, border=False)
    y += TITLE_H
    half = CONTENT_W / 2
    doc.label_value(x, y, half, INFO_H, led.label("works_name"), led.works_name or led.site_name)
    doc.label_value(x + half, y, half, INFO_H, led.label("company"), led.company)
    y += INFO_H
    doc.label_value(x, y, half, INFO_H, led.label("work_type"), led.work_type)
    doc.label_value(x + half, y, half, INFO_H, led.label("period"), led.period_text())
    y += INFO_H
    doc.text_box(x, y, NO_W, COLHEAD_H, led.label("no"), size=8.5, bold=True, fill=True)
    for k, word in enumerate(led.stage_word(c) for c in led.columns):
        doc.text_box(x + NO_W + k * PHOTO_W, y, PHOTO_W, COLHEAD_H, word, size=10, bold=True, fill=True)
    return y + COLHEAD_H


def photo_line(led: Ledger, b: Block, p) -> str:
    """The line under a photo: its 사진번호 and capture time; in a row of photos without a
    stage, "단계 미상" before the time."""
    if p is None:
        return ""
    parts = [b.spot.photo_no(p)]
    if b.unknown:
        parts.append(led.stage_word(None))
    parts.append(format_date(p.taken_local, led.lang))
    return "  ".join(x for x in parts if x)


def _block(doc: _Doc, b: Block, y: float, notes: list[str]) -> None:
    led = doc.ledger
    sp = b.spot
    x = MARGIN_X
    doc.text_box(x, y, NO_W, BLOCK_H, b.number_text, size=10 if b.parts == 1 else 8, bold=True)
    for k, stage in enumerate(led.columns):
        px = x + NO_W + k * PHOTO_W
        doc.rect(px, y, PHOTO_W, PHOTO_H)
        p = b.photos.get(stage)
        if p is None:
            doc.text_box(px, y, PHOTO_W, PHOTO_H, "" if b.unknown else led.label("no_photo"), size=9, border=False,
                         color=(150, 150, 150))
        elif not _photo(doc, p, px, y, PHOTO_W, PHOTO_H, notes):
            doc.text_box(px, y, PHOTO_W, PHOTO_H, led.label("unreadable"), size=9, border=False, color=(164, 22, 26))
        doc.text_box(px, y + PHOTO_H, PHOTO_W, DATE_H, photo_line(led, b, p), size=7.5,
                     color=UNKNOWN_INK if b.unknown and p else MUTED)
    cy = y + PHOTO_H + DATE_H
    location = sp.location + ("" if sp.confirmed else f" ({led.label('unconfirmed')})")
    if sp.asset_no:
        location += f" / {led.label('asset_no')} {sp.asset_no}"
    first, last = sp.first_last()
    cells = [(led.label("location"), location), (led.label("caption"), sp.caption),
             (led.label("date"), format_period(first, last, led.lang))]
    for k, (lab, value) in enumerate(cells):
        doc.label_value(x + NO_W + k * PHOTO_W, cy, PHOTO_W, CAPTION_H, lab, value, label_w=9.5, size=8,
                        max_lines=2)


def _cover(doc: _Doc, notes: list[str]) -> None:
    led = doc.ledger
    doc.add_page()
    doc.text_box(MARGIN_X, 28, CONTENT_W, 16, led.label("title"), size=30, bold=True, border=False)
    doc.text_box(MARGIN_X, 46, CONTENT_W, 10, led.title_name, size=15, bold=True, border=False, max_lines=2)
    shown = sum(1 for b in led.blocks() for p in b.photos.values() if p is not None)
    spots_value = led.label("spots_value", n=len(led.spots))
    if led.unconfirmed_included:
        spots_value += f" ({led.label('unconfirmed_note', n=led.unconfirmed_included)})"
    elif led.unconfirmed_left_out:
        spots_value += f" ({led.label('skipped_note', n=led.unconfirmed_left_out)})"
    rows = [(led.label("works_name"), led.works_name), (led.label("company"), led.company),
            (led.label("work_type"), led.work_type), (led.label("site"), led.site_name),
            (led.label("period"), led.period_text()), (led.label("spots"), spots_value),
            (led.label("photos"), led.label("photos_value", shown=shown, total=led.photo_count())),
            (led.label("stage_words"), " / ".join(led.stage_words)),
            (led.label("prepared"), format_date(datetime.now().strftime("%Y-%m-%d %H:%M:%S"), led.lang, False))]
    x, w, y = 25.0, PAGE_W - 50.0, 66.0
    for lab, value in rows:
        doc.label_value(x, y, w, 8.5, lab, value, label_w=34, size=10)
        y += 8.5
    # the first spot's finished state as the cover picture (its "after", else its last photo)
    first = led.spots[0] if led.spots else None
    if first is not None:
        pick = (first.stage_photos("after") or first.ordered_photos()[-1:])[0]
        box_w, box_h = 140.0, 105.0
        _photo(doc, pick, (PAGE_W - box_w) / 2, y + 10, box_w, box_h, notes)
        doc.text_box(MARGIN_X, y + 10 + box_h + 1, CONTENT_W, 6,
                     f"{first.location} · {led.stage_word(pick.stage)}", size=8.5, border=False, color=MUTED)
    if led.company:
        doc.text_box(MARGIN_X, PAGE_H - 32, CONTENT_W, 10, led.company, size=16, bold=True, border=False)


def write_pdf(ledger: Ledger, out: str | Path) -> dict:
    """Write the ledger's PDF to ``out`` (atomically: a partial file never has the name).
    Returns {"pages", "spots", "photos", "notes": [unreadable photos], "layout": [{"page",
    "spot", "stage", "box": (x, y, w, h) mm}]}."""
    out = Path(out)
    doc = _Doc(ledger)
    notes: list[str] = []
    _cover(doc, notes)
    blocks = ledger.blocks()
    groups: list[list[float]] = []
    for b in blocks:
        if b.part == 0:
            groups.append([])
        groups[-1].append(BLOCK_H)
    pages = paginate(groups, PAGE_ROOM, PAGE_ROOM) if blocks else []
    layout = []
    for page in pages:
        doc.add_page()
        y = _header(doc)
        for i in page:
            b = blocks[i]
            _block(doc, b, y, notes)
            for k, stage in enumerate(ledger.columns):
                if b.photos.get(stage) is not None:
                    layout.append({"page": doc.page_no(), "spot": b.spot.id, "part": b.part,
                                   "stage": None if b.unknown else stage, "sha256": b.photos[stage].sha256,
                                   "photo_no": b.spot.photo_no(b.photos[stage]),
                                   "box": (MARGIN_X + NO_W + k * PHOTO_W, y, PHOTO_W, PHOTO_H)})
            y += BLOCK_H
    tmp = out.with_name(f".{out.name}.part")
    try:
        doc.output(str(tmp))
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return {"pages": doc.page_no(), "spots": len(ledger.spots), "photos": len(layout), "notes": notes,
            "layout": layout}
