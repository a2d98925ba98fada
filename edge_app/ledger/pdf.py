"""The photo ledger as a PDF (fpdf2): a cover page with the site's summary, then A4
portrait pages of four spots each, before / during / after side by side, then the index
(사진 목록: every photo printed, its 사진번호, spot, stage, capture time and short sha256).

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

Memory: the photos are made at print resolution two at a time, a few ahead of the page
that draws them (:class:`.images.PrintImages`); fpdf2 keeps those small JPEGs (20 to 40 KB
each: a 12 MP photo in a 4-up box is its 1/8 scale, 500 px, :func:`.images.print_side`) until
the file is written, never an original.
"""

from __future__ import annotations

import functools
import io
import itertools
import os
from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.output import OutputProducer, PDFXObject

from .images import TRIM_EVERY, ImageError, PrintImages, print_image, trim_heap
from .model import Block, IndexRow, Ledger, index_rows, paginate
from .sitemap import MAP_INK, MARKER_R, SiteMap, has_gps, layout_map, legend, marker_pt
from .words import format_date, format_period, photo_time

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


def photo_h(columns: int) -> float:
    """The height of a photo box: 45 mm with three columns (four spots a page), 64 mm with
    two (before / after: larger photos, three spots a page)."""
    return PHOTO_H if columns >= 3 else 64.0


TITLE_H, INFO_H, COLHEAD_H = 10.0, 6.0, 7.0
HEAD_H = TITLE_H + 2 * INFO_H + COLHEAD_H          # 29
PHOTO_H, DATE_H, CAPTION_H = 45.0, 5.0, 5.5         # a caption row's least height
BLOCK_H = PHOTO_H + DATE_H + 2 * CAPTION_H         # 61: four blocks a page (short texts)
PAD = 1.2                                          # photo inside its box
PAGE_ROOM = PAGE_H - MARGIN_TOP - MARGIN_BOTTOM - HEAD_H
#: Font sizes (pt): body text never below BODY_PT, 공사명 never below WORKS_PT; longer text wraps.
BODY_PT, WORKS_PT, SMALL_PT = 9.0, 11.0, 8.0
LINE = 0.42                                        # line height, mm per pt
TEXT_PAD, V_PAD = 1.0, 0.6                         # text inside its box (mm)
LABEL_W = 12.0                                     # 위치 / 내용 / 일자 labels
LEGEND_H = 4.0                                     # the line under the blocks saying what "(파일명)" means
DATES_W = 58.0                                     # the 일자 cell beside 위치

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
        self.name_marks = False  # a date read from a file name is printed on this page
        self._fits: dict[tuple, tuple[float, list]] = {}  # fit_text's answers (the index repeats its words)
        self.print_images: PrintImages | None = None  # the photos' print images, made ahead (write_pdf)
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
        if self.name_marks:  # a date on this page was read from a file name: say what the mark means
            self.set_font(FONT, "", SMALL_PT)
            self.set_text_color(*MUTED)
            self.set_xy(MARGIN_X, PAGE_H - MARGIN_BOTTOM - LEGEND_H + 0.4)
            self.cell(CONTENT_W, LEGEND_H - 0.4, printable(self.ledger.label("name_legend")), align="L")
            self.name_marks = False
        self.set_font(FONT, "", 8)
        self.set_text_color(*MUTED)
        self.set_xy(MARGIN_X, PAGE_H - 9)
        self.cell(CONTENT_W, 4, self.ledger.label("page", n=self.page_no(), total="{nb}"), align="C")
        self.set_text_color(0, 0, 0)

    # -- text helpers ------------------------------------------------------------------
    def fit_text(self, text, w, size=BODY_PT, bold=False, max_lines=1, min_size=BODY_PT):
        """(size, lines) of ``text`` in a box ``w`` mm wide: shrunk from ``size`` down to
        ``min_size`` pt (never below: :data:`BODY_PT`, :data:`WORKS_PT`) until it takes at most
        ``max_lines`` lines, then wrapped onto as many lines as it needs. Nothing is cut."""
        key = (text, w, size, bold, max_lines, min_size)
        if key not in self._fits:
            self._fits[key] = self._fit_text(*key)
        return self._fits[key]

    def _fit_text(self, text, w, size, bold, max_lines, min_size):
        text = printable(text or "")
        if not text:
            return size, []
        style = "B" if bold else ""
        if "\n" not in text:  # the common case, quickly: one line at the first size
            self.set_font(FONT, style, size)
            if self.get_string_width(text) <= w - 2 * TEXT_PAD - 0.05:
                return size, [text]
        while True:
            self.set_font(FONT, style, size)
            lines = self.multi_cell(w - 2 * TEXT_PAD, size * LINE, text, dry_run=True, output="LINES")
            if len(lines) <= max_lines or size <= min_size:
                return size, lines
            size = max(min_size, size - 0.5)

    def text_height(self, text, w, size=BODY_PT, bold=False, max_lines=1, min_size=BODY_PT, min_h=0.0):
        """The height (mm) a box ``w`` mm wide needs to hold ``text`` (:meth:`fit_text`)."""
        size, lines = self.fit_text(text, w, size, bold, max_lines, min_size)
        return max(min_h, len(lines) * size * LINE + 2 * V_PAD)

    def text_box(self, x, y, w, h, text, size=BODY_PT, bold=False, align="C", max_lines=1, min_size=BODY_PT,
                 fill=False, border=True, color=None):
        """``text`` inside the box (x, y, w, h), centred vertically: shrunk down to
        ``min_size`` pt to fit ``max_lines`` lines, then wrapped (:meth:`fit_text`). The box
        must be as high as :meth:`text_height` says; text is never cut."""
        if fill:
            self.set_fill_color(*HEAD_FILL)
        if border or fill:
            self.rect(x, y, w, h, style=("DF" if fill else "D") if border else "F")
        size, lines = self.fit_text(text, w, size, bold, max_lines, min_size)
        if not lines:
            return
        self.set_font(FONT, "B" if bold else "", size)
        lh = size * LINE
        top = y + (h - lh * len(lines)) / 2
        if color:
            self.set_text_color(*color)
        for k, line in enumerate(lines):
            self.set_xy(x + TEXT_PAD, top + k * lh)
            self.cell(w - 2 * TEXT_PAD, lh, line, align=align)
        if color:
            self.set_text_color(0, 0, 0)

    def label_value(self, x, y, w, h, lab, value, label_w=18.0, size=BODY_PT, max_lines=1, min_size=BODY_PT,
                    bold=False):
        self.text_box(x, y, label_w, h, lab, size=min(size, BODY_PT + 1), bold=True, fill=True, min_size=BODY_PT)
        self.text_box(x + label_w, y, w - label_w, h, value, size=size, align="L", max_lines=max_lines,
                      min_size=min_size, bold=bold)


def _photo(doc: _Doc, photo, x, y, w, h, notes: list[str]) -> bool:
    """Draw a photo centred in the box; False (and a note) when the original is unreadable."""
    bw, bh = w - 2 * PAD, h - 2 * PAD
    try:
        img = doc.print_images.get(photo, bw, bh) if doc.print_images is not None else print_image(photo, bw, bh)
    except (ImageError, OSError) as e:
        notes.append(f"{photo.name}: {getattr(e, 'reason', e)}")
        return False
    iw, ih = img.size
    doc.image(io.BytesIO(img.jpeg), x=x + (w - iw) / 2, y=y + (h - ih) / 2, w=iw, h=ih)
    return True


def _header_rows(doc: _Doc) -> list:
    """The page header's info rows: [(height, [(x, w, label, value, size, min_size)])]."""
    led = doc.ledger
    x, half = MARGIN_X, CONTENT_W / 2
    works = led.works_name or led.site_name
    h1 = doc.text_height(works, CONTENT_W - 18.0, WORKS_PT, min_size=WORKS_PT, min_h=INFO_H)
    h2 = max(doc.text_height(v, half - 18.0, min_h=INFO_H) for v in (led.company, led.work_type))
    return [(h1, [(x, CONTENT_W, led.label("works_name"), works, WORKS_PT, WORKS_PT)]),
            (h2, [(x, half, led.label("company"), led.company, BODY_PT, BODY_PT),
                  (x + half, half, led.label("work_type"), led.work_type, BODY_PT, BODY_PT)])]


def header_height(doc: _Doc) -> float:
    return TITLE_H + sum(h for h, _ in _header_rows(doc)) + COLHEAD_H


def _header(doc: _Doc) -> float:
    led = doc.ledger
    x, y = MARGIN_X, MARGIN_TOP
    doc.text_box(x, y, CONTENT_W, TITLE_H, led.label("title"), size=15, bold=True, border=False, min_size=15)
    y += TITLE_H
    for h, cells in _header_rows(doc):
        for cx, w, lab, value, size, min_size in cells:
            doc.label_value(cx, y, w, h, lab, value, size=size, min_size=min_size, max_lines=1)
        y += h
    pw = photo_w(len(led.columns))
    doc.text_box(x, y, NO_W, COLHEAD_H, led.label("no"), size=8.5, bold=True, fill=True, min_size=8.5)
    for k, word in enumerate(led.stage_word(c) for c in led.columns):
        doc.text_box(x + NO_W + k * pw, y, pw, COLHEAD_H, word, size=10, bold=True, fill=True)
    return y + COLHEAD_H


def photo_line(led: Ledger, b: Block, p) -> str:
    """The line under a photo: its 사진번호 and capture time; in a row of photos without a
    stage, "단계 미상" before the time."""
    if p is None:
        return ""
    parts = [b.spot.photo_no(p)]
    if b.unknown:
        parts.append(led.stage_word(None))
    parts.append(photo_time(p.taken_local, p.taken_from, led.lang))
    return "  ".join(x for x in parts if x)


def _caption_cells(doc: _Doc, b: Block) -> list:
    """The spot's text rows under its photos: [(height, [(x, w, label, value)])]: 위치 and
    일자 side by side, then 내용 across the row; each row as high as its text needs."""
    led, sp = doc.ledger, b.spot
    location = sp.location + ("" if sp.confirmed else f" ({led.label('unconfirmed')})")
    if sp.asset_no:
        location += f" / {led.label('asset_no')} {sp.asset_no}"
    x0, w = MARGIN_X + NO_W, CONTENT_W - NO_W
    loc_w = w - DATES_W
    dates = format_period(*sp.first_last(), led.lang)
    h1 = max(doc.text_height(location, loc_w - LABEL_W, min_h=CAPTION_H),
             doc.text_height(dates, DATES_W - LABEL_W, min_h=CAPTION_H))
    rows = [(h1, [(x0, loc_w, led.label("location"), location), (x0 + loc_w, DATES_W, led.label("date"), dates)])]
    h2 = doc.text_height(sp.caption, w - LABEL_W, min_h=CAPTION_H)
    rows.append((h2, [(x0, w, led.label("caption"), sp.caption)]))
    return rows


def block_height(doc: _Doc, b: Block) -> float:
    """A block's height: its photos and their lines, and, on a spot's last block, the
    spot's text rows (as high as the text needs)."""
    h = photo_h(len(doc.ledger.columns)) + DATE_H
    if b.part == b.parts - 1:
        h += sum(rh for rh, _ in _caption_cells(doc, b))
    return h


def _block(doc: _Doc, b: Block, y: float, notes: list[str]) -> float:
    """Draw a block at ``y``; returns its height."""
    led = doc.ledger
    x = MARGIN_X
    height = block_height(doc, b)
    doc.text_box(x, y, NO_W, height, b.number_text, size=10, bold=True, min_size=10)
    pw, ph = photo_w(len(led.columns)), photo_h(len(led.columns))
    for k, stage in enumerate(led.columns):
        px = x + NO_W + k * pw
        doc.rect(px, y, pw, ph)
        p = b.photos.get(stage)
        if p is None:
            doc.text_box(px, y, pw, ph, led.label("no_photo") if b.marks_missing else "", border=False,
                         color=(150, 150, 150))
        elif not _photo(doc, p, px, y, pw, ph, notes):
            doc.text_box(px, y, pw, ph, led.label("unreadable"), border=False, color=(164, 22, 26))
        doc.text_box(px, y + ph, pw, DATE_H, photo_line(led, b, p), size=SMALL_PT, min_size=SMALL_PT,
                     color=UNKNOWN_INK if b.unknown and p else MUTED, max_lines=3)
        doc.name_marks |= p is not None and p.time_from_name
    if b.part == b.parts - 1:
        cy = y + ph + DATE_H
        for rh, cells in _caption_cells(doc, b):
            for cx, w, lab, value in cells:
                doc.label_value(cx, cy, w, rh, lab, value, label_w=LABEL_W)
            cy += rh
    return height


def _cover(doc: _Doc, notes: list[str]) -> None:
    led = doc.ledger
    doc.add_page()
    doc.text_box(MARGIN_X, 28, CONTENT_W, 16, led.label("title"), size=30, bold=True, border=False, min_size=30)
    th = doc.text_height(led.title_name, CONTENT_W, 15, bold=True, max_lines=1, min_size=WORKS_PT, min_h=10)
    doc.text_box(MARGIN_X, 46, CONTENT_W, th, led.title_name, size=15, bold=True, border=False, min_size=WORKS_PT)
    # what the client reads, as entered; nothing about how the ledger was made
    rows = [(led.label("works_name"), led.works_name or led.site_name), (led.label("client"), led.client),
            (led.label("contractor"), led.company), (led.label("contract_no"), led.contract_no),
            (led.label("contract_period"), led.contract_period),
            (led.label("prepared"), format_date(datetime.now().strftime("%Y-%m-%d %H:%M:%S"), led.lang, False))]
    x, w, y = 25.0, PAGE_W - 50.0, max(66.0, 46 + th + 8)
    for lab, value in rows:
        h = doc.text_height(value, w - 34, 10, min_size=BODY_PT, min_h=8.5)
        doc.label_value(x, y, w, h, lab, value, label_w=34, size=10)
        y += h
    # the first spot's finished state as the cover picture (its "after", else its last photo)
    first = led.spots[0] if led.spots else None
    box_w, box_h = 140.0, min(105.0, PAGE_H - 34 - 8 - (y + 10))
    if first is not None and box_h >= 40:
        pick = (first.stage_photos("after") or first.ordered_photos()[-1:])[0]
        _photo(doc, pick, (PAGE_W - box_w) / 2, y + 10, box_w, box_h, notes)
        doc.text_box(MARGIN_X, y + 10 + box_h + 1, CONTENT_W, 6,
                     f"{first.location} · {led.stage_word(pick.stage)}", size=8.5, border=False, color=MUTED)
    if led.company:
        doc.text_box(MARGIN_X, PAGE_H - 32, CONTENT_W, 10, led.company, size=16, bold=True, border=False)


#: The index's columns: (label key, width mm); 위치 takes what is left.
INDEX_COLS = (("photo_no", 18.0), ("location", 0.0), ("stage", 24.0), ("taken", 46.0), ("sha", 32.0))
INDEX_HEAD_H = 7.0


def _index_widths() -> list[float]:
    fixed = sum(w for _, w in INDEX_COLS)
    return [w or CONTENT_W - fixed for _, w in INDEX_COLS]


def _index_cells(led: Ledger, r: IndexRow) -> list[str]:
    sp = r.spot
    return [r.photo_no, f"{sp.number}. {sp.location}", led.stage_word(r.stage),
            photo_time(r.photo.taken_local, r.photo.taken_from, led.lang), r.short_sha]


def _index_head(doc: _Doc) -> float:
    """The index page's head: its title, 공사명, what the hash is, the column heads; returns
    the y below it."""
    led = doc.ledger
    x, y = MARGIN_X, MARGIN_TOP
    doc.text_box(x, y, CONTENT_W, TITLE_H, led.label("index_title"), size=15, bold=True, border=False, min_size=15)
    y += TITLE_H
    works = led.works_name or led.site_name
    h = doc.text_height(works, CONTENT_W - 18.0, WORKS_PT, min_size=WORKS_PT, min_h=INFO_H)
    doc.label_value(x, y, CONTENT_W, h, led.label("works_name"), works, size=WORKS_PT, min_size=WORKS_PT)
    y += h
    note = led.label("index_note")
    nh = doc.text_height(note, CONTENT_W, SMALL_PT, min_size=SMALL_PT, min_h=5.0)
    doc.text_box(x, y, CONTENT_W, nh, note, size=SMALL_PT, min_size=SMALL_PT, border=False, align="L", color=MUTED)
    y += nh
    for (key, _), w in zip(INDEX_COLS, _index_widths()):
        doc.text_box(x, y, w, INDEX_HEAD_H, led.label(f"index_{key}"), size=BODY_PT, bold=True, fill=True)
        x += w
    return y + INDEX_HEAD_H


def _index(doc: _Doc, rows: list[IndexRow], bottom: float) -> list[int]:
    """The index pages (사진 목록): one line per photo printed, as many pages as it takes,
    the head on each; a line grows with its 위치. Returns the pages' numbers."""
    led = doc.ledger
    pages: list[int] = []
    y = bottom
    widths = _index_widths()
    for r in rows:
        cells = _index_cells(led, r)
        h = max(doc.text_height(c, w, min_h=5.6) for c, w in zip(cells, widths))
        if not pages or y + h > bottom + 1e-6:
            doc.add_page()
            pages.append(doc.page_no())
            y = _index_head(doc)
        x = MARGIN_X
        for k, (c, w) in enumerate(zip(cells, widths)):
            doc.text_box(x, y, w, h, c, align="L" if k == 1 else "C")
            x += w
        doc.name_marks |= r.photo.time_from_name
        y += h
    return pages


def _rows(doc: _Doc, blocks: list[Block], notes: list[str], room: float) -> list[dict]:
    """The "row" pages: the blocks (a spot's stages side by side), page breaks between spots
    (:func:`model.paginate`), ``room`` mm for blocks on each page. Returns the layout (as
    :func:`write_pdf`'s)."""
    led = doc.ledger
    groups: list[list[float]] = []
    for b in blocks:
        if b.part == 0:
            groups.append([])
        groups[-1].append(block_height(doc, b))
    layout = []
    pw, ph = photo_w(len(led.columns)), photo_h(len(led.columns))
    for page in paginate(groups, room, room) if blocks else []:
        doc.add_page()
        y = _header(doc)
        for i in page:
            b = blocks[i]
            h = _block(doc, b, y, notes)
            for k, stage in enumerate(led.columns):
                if b.photos.get(stage) is not None:
                    layout.append({"page": doc.page_no(), "spot": b.spot.id, "part": b.part,
                                   "stage": None if b.unknown else stage, "sha256": b.photos[stage].sha256,
                                   "photo_no": b.spot.photo_no(b.photos[stage]),
                                   "box": (MARGIN_X + NO_W + k * pw, y, pw, ph)})
            y += h
    return layout


# --------------------------------------------------------------------------- 2-up / 4-up

#: Cards across a page and the height of a card's photo box (mm): "2up" one large photo a
#: row (190 x 88 mm, two a page), "4up" two a row (93 x 78 mm, four a page). A card whose
#: text is long gets a photo box down to CARD_SHRINK of that, to stay on its page.
CARDS = {"2up": (1, 88.0), "4up": (2, 78.0)}
CARD_SHRINK = 0.75
CARD_GAP = 4.0         # between cards, across and down
CARD_LABEL_W = 20.0    # the labels under a card's photo
CARD_ROW_H = 6.0       # a text row's least height


def _card_rows(doc: _Doc, r: IndexRow, w: float) -> list:
    """The text under a card's photo: [(height, [(dx, cell w, label, value, ink)])]:
    사진번호 and 구분 side by side, then 공종 (when the site has one), 위치, 일자 (the photo's
    capture time) and 내용, each across the card and as high as its text needs."""
    led, sp, p = doc.ledger, r.spot, r.photo
    location = sp.location + ("" if sp.confirmed else f" ({led.label('unconfirmed')})")
    if sp.asset_no:
        location += f" / {led.label('asset_no')} {sp.asset_no}"
    half = w / 2
    stage = led.stage_word(r.stage)
    h0 = max(doc.text_height(r.photo_no, half - CARD_LABEL_W, min_h=CARD_ROW_H),
             doc.text_height(stage, half - CARD_LABEL_W, min_h=CARD_ROW_H))
    rows = [(h0, [(0.0, half, led.label("index_photo_no"), r.photo_no, None),
                  (half, half, led.label("index_stage"), stage, UNKNOWN_INK if r.stage is None else None)])]
    fields = [("work_type", led.work_type)] if led.work_type else []
    fields += [("location", location), ("date", photo_time(p.taken_local, p.taken_from, led.lang)),
               ("caption", sp.caption)]
    for key, value in fields:
        rows.append((doc.text_height(value, w - CARD_LABEL_W, min_h=CARD_ROW_H), [(0.0, w, led.label(key), value, None)]))
    return rows


def _card(doc: _Doc, r: IndexRow, x: float, y: float, w: float, ph: float, rows: list, notes: list[str]) -> None:
    """One photo as a card: its box (``ph`` mm high), then its text rows."""
    doc.rect(x, y, w, ph)
    if not _photo(doc, r.photo, x, y, w, ph, notes):
        doc.text_box(x, y, w, ph, doc.ledger.label("unreadable"), border=False, color=(164, 22, 26))
    cy = y + ph
    for h, cells in rows:
        for dx, cw, lab, value, ink in cells:
            doc.text_box(x + dx, cy, CARD_LABEL_W, h, lab, bold=True, fill=True)
            doc.text_box(x + dx + CARD_LABEL_W, cy, cw - CARD_LABEL_W, h, value, align="L", color=ink)
        cy += h
    doc.name_marks |= r.photo.time_from_name


def _cards_head(doc: _Doc) -> float:
    """A card page's head: the title, 공사명, 회사명 / 공종; returns the y below it."""
    x, y = MARGIN_X, MARGIN_TOP
    doc.text_box(x, y, CONTENT_W, TITLE_H, doc.ledger.label("title"), size=15, bold=True, border=False, min_size=15)
    y += TITLE_H
    for h, cells in _header_rows(doc):
        for cx, w, lab, value, size, min_size in cells:
            doc.label_value(cx, y, w, h, lab, value, size=size, min_size=min_size)
        y += h
    return y + CARD_GAP


def _cards(doc: _Doc, rows: list[IndexRow], notes: list[str], bottom: float) -> list[dict]:
    """The 2-up / 4-up pages: the photos printed, in 사진번호 order, as cards (a large photo,
    then 사진번호, 구분, 공종, 위치, 일자, 내용 under it), one or two a row; a row as high as
    its taller card; a row that does not fit goes to the next page. Returns the layout
    (as :func:`write_pdf`'s)."""
    across, ph = CARDS[doc.ledger.layout]
    w = (CONTENT_W - (across - 1) * CARD_GAP) / across
    layout: list[dict] = []
    y, top = bottom, None
    for k in range(0, len(rows), across):
        line = rows[k:k + across]
        texts = [_card_rows(doc, r, w) for r in line]
        text_h = max(sum(h for h, _ in t) for t in texts)
        if top is None or y + CARD_SHRINK * ph + text_h > bottom + 1e-6:
            doc.add_page()
            y = top = _cards_head(doc)
        box_h = min(ph, max(30.0, bottom - y - text_h))  # long text: a smaller photo, never cut text
        for j, (r, t) in enumerate(zip(line, texts)):
            cx = MARGIN_X + j * (w + CARD_GAP)
            _card(doc, r, cx, y, w, box_h, t, notes)
            layout.append({"page": doc.page_no(), "spot": r.spot.id, "part": 0, "stage": r.stage,
                           "sha256": r.photo.sha256, "photo_no": r.photo_no, "box": (cx, y, w, box_h)})
        y += box_h + text_h + CARD_GAP
    return layout


# --------------------------------------------------------------------------- 위치도 (location map)

#: The map's box height (mm): as tall as the legend below it leaves, between these.
MAP_H_MAX, MAP_H_MIN = 165.0, 110.0
#: The legend's columns: (label key, width mm); 위치 takes what is left.
MAP_COLS = (("map_no", 14.0), ("map_location", 0.0), ("map_gps", 52.0), ("map_photos", 30.0))
MAP_ROW_H = 5.6


def _map_widths() -> list[float]:
    fixed = sum(w for _, w in MAP_COLS)
    return [w or CONTENT_W - fixed for _, w in MAP_COLS]


def _map_legend_rows(doc: _Doc) -> list[tuple[float, list[str]]]:
    """The legend, one line per spot in ledger order: 번호, 위치, 좌표 (or "위치 정보 없음"),
    사진 수; [(height, cells)]."""
    out = []
    for number, location, gps, count, _ in legend(doc.ledger):
        cells = [str(number), location, gps, count]
        h = max(doc.text_height(c, w, min_h=MAP_ROW_H) for c, w in zip(cells, _map_widths()))
        out.append((h, cells))
    return out


def _map_head(doc: _Doc, title: str) -> float:
    """A map page's head: its title and 공사명; returns the y below it."""
    led = doc.ledger
    x, y = MARGIN_X, MARGIN_TOP
    doc.text_box(x, y, CONTENT_W, TITLE_H, title, size=15, bold=True, border=False, min_size=15)
    y += TITLE_H
    works = led.works_name or led.site_name
    h = doc.text_height(works, CONTENT_W - 18.0, WORKS_PT, min_size=WORKS_PT, min_h=INFO_H)
    doc.label_value(x, y, CONTENT_W, h, led.label("works_name"), works, size=WORKS_PT, min_size=WORKS_PT)
    return y + h + 2.0


def _legend_head(doc: _Doc, y: float) -> float:
    x = MARGIN_X
    for (key, _), w in zip(MAP_COLS, _map_widths()):
        doc.text_box(x, y, w, INDEX_HEAD_H, doc.ledger.label(key), bold=True, fill=True)
        x += w
    return y + INDEX_HEAD_H


def _draw_map(doc: _Doc, m: SiteMap) -> None:
    """The map's box: a light grid every half scale bar, the markers (a white circle with the
    spot's number; a dot and a leader line where it was pushed off its place), the north
    arrow and the scale bar. The same drawing as :func:`.sitemap.render_png`."""
    bx, by, bw, bh = m.box
    xs, ys = m.grid_lines()
    doc.set_line_width(0.15)
    doc.set_draw_color(215, 220, 212)
    for gx in xs:
        doc.line(gx, by, gx, by + bh)
    for gy in ys:
        doc.line(bx, gy, bx + bw, gy)
    doc.set_draw_color(*GRID)
    doc.set_line_width(0.3)
    doc.rect(bx, by, bw, bh)
    doc.set_draw_color(*MAP_INK)
    doc.set_fill_color(*MAP_INK)
    for mk in m.markers:
        if mk.moved:
            doc.set_line_width(0.3)
            doc.line(*mk.anchor, *mk.label)
            doc.ellipse(mk.anchor[0] - 0.8, mk.anchor[1] - 0.8, 1.6, 1.6, style="F")
    doc.set_fill_color(255, 255, 255)
    doc.set_line_width(0.45)
    r = MARKER_R
    for mk in m.markers:
        doc.ellipse(mk.label[0] - r, mk.label[1] - r, 2 * r, 2 * r, style="DF")
        doc.set_font(FONT, "B", marker_pt(mk.number))  # one line, never wrapped (a cell, not a text box)
        doc.set_xy(mk.label[0] - r, mk.label[1] - r)
        doc.cell(2 * r, 2 * r, str(mk.number), align="C")
    # north arrow: a split arrowhead, "N" above its tip
    n = m.north
    half, notch = 2.6, n.top + 0.7 * n.height
    doc.set_draw_color(0, 0, 0)
    doc.set_line_width(0.25)
    doc.set_fill_color(0, 0, 0)
    doc.polygon([(n.x, n.top), (n.x - half, n.top + n.height), (n.x, notch)], style="DF")
    doc.set_fill_color(255, 255, 255)
    doc.polygon([(n.x, n.top), (n.x + half, n.top + n.height), (n.x, notch)], style="DF")
    doc.text_box(n.x - 4, n.top - 5.2, 8, 5, "N", size=10, bold=True, border=False, min_size=10)
    # scale bar: four segments, black and white, "0" and the length under its ends
    sb = m.scale_bar
    seg = sb.length / 4
    for k in range(4):
        doc.set_fill_color(*((0, 0, 0) if k % 2 == 0 else (255, 255, 255)))
        doc.rect(sb.x + k * seg, sb.y, seg, 1.6, style="DF")
    doc.text_box(sb.x - 4, sb.y + 1.8, 8, 4, "0", size=SMALL_PT, border=False, min_size=SMALL_PT)
    doc.text_box(sb.x + sb.length - 10, sb.y + 1.8, 20, 4, sb.text, size=SMALL_PT, border=False, min_size=SMALL_PT)
    doc.set_draw_color(*GRID)
    doc.set_line_width(0.2)
    doc.set_fill_color(*HEAD_FILL)


def _map_pages(doc: _Doc, bottom: float) -> tuple[list[int], SiteMap | None]:
    """The 위치도 page (after the cover) when ``ledger.location_map`` and a spot has GPS: the
    map as tall as the legend below it leaves (:data:`MAP_H_MIN`..:data:`MAP_H_MAX`; the
    tallest when the legend goes on to another page anyway), a note
    on how it is drawn, then the legend; a legend longer than the page goes on under "위치도
    (계속)". Returns (the pages' numbers, the map's geometry)."""
    led = doc.ledger
    if not led.location_map or not has_gps(led):
        return [], None
    doc.add_page()
    top = _map_head(doc, led.label("map_title"))
    note = led.label("map_note")
    nh = doc.text_height(note, CONTENT_W, SMALL_PT, min_size=SMALL_PT, min_h=5.0)
    lines = _map_legend_rows(doc)
    room = bottom - top - nh - INDEX_HEAD_H - 2.0
    need = sum(h for h, _ in lines)
    # the map as tall as the legend leaves; a legend that goes on to another page anyway leaves it whole
    map_h = max(MAP_H_MIN, min(MAP_H_MAX, room - need)) if need <= room - MAP_H_MIN else MAP_H_MAX
    m = layout_map(led, (MARGIN_X, top, CONTENT_W, map_h))
    _draw_map(doc, m)
    y = top + map_h
    doc.text_box(MARGIN_X, y, CONTENT_W, nh, note, size=SMALL_PT, min_size=SMALL_PT, border=False, align="L",
                 color=MUTED)
    y = _legend_head(doc, y + nh + 1.0)
    pages = [doc.page_no()]
    for h, cells in lines:
        if y + h > bottom + 1e-6:
            doc.add_page()
            pages.append(doc.page_no())
            y = _legend_head(doc, _map_head(doc, led.label("map_more")))
        x = MARGIN_X
        for k, (c, w) in enumerate(zip(cells, _map_widths())):
            doc.text_box(x, y, w, h, c, align="L" if k == 1 else "C",
                         color=MUTED if c == led.label("map_none") else None)
            x += w
        y += h
    return pages, m


def _photo_plan(led: Ledger, blocks: list[Block], rows: list[IndexRow]) -> list[tuple]:
    """The photos the pages will draw, in order, each with the box :func:`_photo` will fit
    it into (a card whose long text takes room from its photo asks for a smaller one: that
    one is made when asked)."""
    if led.layout in CARDS:
        across, ph = CARDS[led.layout]
        w = (CONTENT_W - (across - 1) * CARD_GAP) / across
        return [(r.photo, w - 2 * PAD, ph - 2 * PAD) for r in rows]
    pw, ph = photo_w(len(led.columns)), photo_h(len(led.columns))
    return [(b.photos[stage], pw - 2 * PAD, ph - 2 * PAD) for b in blocks for stage in led.columns
            if b.photos.get(stage) is not None]


class _ReleasedImage(PDFXObject):
    """An image of the PDF that lets go of its JPEG bytes once they are in the output buffer
    (and, every :data:`.images.TRIM_EVERY` images, gives the freed heap back to the system:
    the buffer grows elsewhere, so the freed bytes would otherwise stay resident)."""

    __slots__ = ()
    _released = itertools.count(1)

    def serialize(self, *args, **kwargs):
        out = super().serialize(*args, **kwargs)
        self._contents = b""
        if next(self._released) % TRIM_EVERY == 0:
            trim_heap()
        return out


class _Output(OutputProducer):
    """fpdf2's output, holding each photo once while it writes: fpdf2 keeps every image's
    bytes in its image cache until the end and builds the whole file in one buffer, so a
    200-spot 2-up ledger held its photos twice at its peak (about 37 MB of JPEG each time,
    much more with real photos). Each image's bytes now leave the cache for its PDF object,
    which lets go of them once they are written into the buffer."""

    def _add_image(self, info):
        obj = super()._add_image(info)
        if type(obj) is PDFXObject:
            obj.__class__ = _ReleasedImage
            info["data"] = b""
        return obj


def write_pdf(ledger: Ledger, out: str | Path) -> dict:
    """Write the ledger's PDF to ``out`` (atomically: a partial file never has the name), in
    ``ledger.layout``: "row" (a spot a row, its stages side by side), "2up" or "4up" (large
    photos, two or four a page, the text under each). Returns {"pages", "spots", "photos",
    "notes": [unreadable photos], "layout": [{"page", "spot", "stage", "sha256", "photo_no",
    "box": (x, y, w, h) mm}], "index_pages", "index", "map_pages": [the 위치도's pages, after the
    cover; none without GPS], "map": its :class:`.sitemap.SiteMap` or None}.

    The 위치도 comes right after the cover, as public-works photo ledgers (준공사진첩) place
    it: the reader sees where the spots are before their photos."""
    out = Path(out)
    notes: list[str] = []
    blocks = ledger.blocks()
    rows = index_rows(blocks, ledger.columns)
    bottom = PAGE_H - MARGIN_BOTTOM - (LEGEND_H if ledger.times_from_names() else 0.0)
    # the photos are made while the fonts are loaded (1.4 s) and the cover, the map and the
    # pages before them are drawn
    with PrintImages(_photo_plan(ledger, blocks, rows)) as images:
        doc = _Doc(ledger)
        doc.print_images = images
        _cover(doc, notes)
        map_pages, site_map = _map_pages(doc, PAGE_H - MARGIN_BOTTOM)
        if ledger.layout in CARDS:
            layout = _cards(doc, rows, notes, bottom)
        else:
            layout = _rows(doc, blocks, notes, bottom - MARGIN_TOP - header_height(doc))
    doc.print_images = None
    index_pages = _index(doc, rows, bottom) if rows else []
    tmp = out.with_name(f".{out.name}.part")
    try:
        doc.output(str(tmp), output_producer_class=_Output)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return {"pages": doc.page_no(), "spots": len(ledger.spots), "photos": len(layout), "notes": notes,
            "layout": layout, "index_pages": index_pages, "map_pages": map_pages, "map": site_map,
            "index": [{"photo_no": r.photo_no, "sha256": r.photo.sha256, "short": r.short_sha} for r in rows]}
