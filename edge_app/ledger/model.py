"""What a photo ledger holds, read into plain dataclasses, and how it is cut into pages.

The writers (:mod:`.xlsx`, :mod:`.pdf`, :mod:`.archive`) only see a :class:`Ledger`; they
never query a database. A ledger is built from any *source* with the three methods of
:class:`LedgerSource`, so head office can build the same documents from its own records:
:class:`StoreSource` is the device's (a :class:`edge_app.store.Store`),
:class:`edge_app.hq.ledger_source.HeadOfficeSource` head office's (the spot versions it received).

Which spots go in: confirmed spots, in the order of the site page (first photo's capture
time); unconfirmed spots only when asked (``include_unconfirmed``), marked as such;
photos in the unassigned tray never.

Which photo stands in which cell is decided in one place, :func:`place_photos`, for the
PDF, the XLSX and the ZIP alike (the ZIP's names and ``index.csv`` carry the same stage
and the same photo number):

- a photo is printed only under the stage it was given (by a person, or by the engine from
  its capture time); among the photos of a stage the spot's cover comes first, then the
  photos whose stage a person set, then the engine's, in capture order;
- a photo without a stage never displaces a staged one and is never printed under a stage:
  it gets a row of its own, each cell marked "단계 미상" (stage unknown); one such row per
  spot (as many photos as there are columns), the rest with ``all_photos``;
- with ``all_photos`` every photo is printed: a spot with three "before" photos takes three
  rows.

Every photo of a spot has a number (사진번호 ``3-2``: spot 3, photo 2) from that order
(before, during, after, then stage unknown), the same in every document.

Columns: before / during / after, or before / after when no spot of the ledger has a
"during" photo (``keep_during`` keeps it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from functools import partial
from typing import Callable, Iterable, Mapping, Protocol, Sequence

from . import words
from .words import STAGES, clean_text

#: The layouts of the PDF and the XLSX: 'row' (a spot a row: before / during / after side by side), '2up' and
#: '4up' (A4 portrait, two or four large photos a page, the text under each).
LAYOUTS = ("row", "2up", "4up")


@dataclass(frozen=True)
class LedgerPhoto:
    """One photo of a spot. ``stage``: 'before' | 'during' | 'after' | None (not set)."""

    sha256: str
    name: str
    stage: str | None
    taken_local: str | None
    taken_at: float | None
    path: Path
    width: int | None = None        # upright size of the original, pixels
    height: int | None = None
    bytes: int | None = None
    lat: float | None = None
    lon: float | None = None
    alt: float | None = None
    ext: str | None = None          # the original's extension ('.jpg', '.heic'), when known
    stage_by: str | None = None     # who set the stage: 'person' | 'engine' | None
    taken_from: str | None = None   # where the capture time comes from: 'exif' | 'file name' |
                                    # 'file name date' (the day only) | None (see words.photo_time)
    #: Reads the smallest print preview of the photo whose long side is at least the pixels
    #: given (JPEG bytes of its 1/8 or 1/4 scale, upright) when the source keeps one (the
    #: device's store, :func:`edge_app.store.photos.print_preview`), else None.
    preview: Callable[[int], bytes | None] | None = field(default=None, repr=False, compare=False)

    def load_preview(self, least_side: int = 0) -> bytes | None:
        """The bytes of the smallest print preview at least ``least_side`` pixels long, or
        None (none kept that large, or it could not be read: the original is printed from
        instead)."""
        if self.preview is None:
            return None
        try:
            return self.preview(least_side)
        except Exception:  # noqa: BLE001 - a preview is an optimisation; the original stays the truth
            return None

    @property
    def time_from_name(self) -> bool:
        """Whether the capture time was read from the file name (printed with a mark)."""
        return bool(self.taken_local) and self.taken_from in words.NAME_SOURCES

    @property
    def suffix(self) -> str:
        return (self.ext or self.path.suffix or ".jpg").lower()


@dataclass
class LedgerSpot:
    """One spot. ``number``: its place in the ledger (1, 2, ...); ``label``: the name the
    site page shows ("지점 3" when unnamed); ``location``: 위치/측점 as printed (the
    location typed, else the spot's name, else the label)."""

    id: int
    number: int
    label: str
    location: str
    asset_no: str
    caption: str
    confirmed: bool
    cover: str | None
    photos: list[LedgerPhoto]

    def stage_photos(self, stage: str) -> list[LedgerPhoto]:
        """The photos given ``stage``, in the order they are printed: the cover first when it
        is one of them, then those whose stage a person set, then the engine's, each in
        capture order. Photos without a stage are never among them (:meth:`unknown_photos`)."""
        ph = [p for p in self.photos if p.stage == stage]
        return sorted(ph, key=lambda p: (p.sha256 != self.cover, p.stage_by != "person"))  # stable

    def unknown_photos(self) -> list[LedgerPhoto]:
        """The photos without a stage (no capture time and nobody set one: e.g. sent through
        a messenger that strips EXIF), the cover first, then in capture order."""
        return sorted((p for p in self.photos if p.stage not in STAGES), key=lambda p: p.sha256 != self.cover)

    def ordered_photos(self) -> list[LedgerPhoto]:
        """Every photo of the spot in ledger order: before, during, after, then stage unknown."""
        return [p for st in STAGES for p in self.stage_photos(st)] + self.unknown_photos()

    def photo_numbers(self) -> dict[str, str]:
        """{sha256: 사진번호} ("3-1", "3-2", ...) in :meth:`ordered_photos` order."""
        return {p.sha256: f"{self.number}-{k}" for k, p in enumerate(self.ordered_photos(), 1)}

    def photo_no(self, photo: LedgerPhoto) -> str:
        return self.photo_numbers().get(photo.sha256, "")

    def first_last(self) -> tuple[str | None, str | None]:
        times = sorted(p.taken_local for p in self.photos if p.taken_local)
        return (times[0], times[-1]) if times else (None, None)


@dataclass
class Ledger:
    """A site's photo ledger, ready to write. ``layout``: how the PDF and the XLSX print it
    (see :data:`LAYOUTS`; a company's XLSX layout prints rows)."""

    site_id: int
    site_name: str
    works_name: str
    company: str
    work_type: str
    stage_words_key: str
    lang: str
    spots: list[LedgerSpot]
    unconfirmed_left_out: int = 0
    unconfirmed_included: int = 0
    all_photos: bool = False
    keep_during: bool = False
    client: str = ""            # 발주처
    contract_no: str = ""       # 계약번호
    contract_period: str = ""   # 공사기간, as entered
    layout: str = "row"         # the PDF's and XLSX's: 'row' | '2up' | '4up' (LAYOUTS)
    location_map: bool = True   # a 위치도 page / sheet when a spot has GPS (:mod:`.sitemap`)

    @property
    def columns(self) -> tuple[str, ...]:
        """The stage columns printed: before / during / after, or before / after when no spot
        has a "during" photo and ``keep_during`` is not set (a column of "사진 없음" reads as
        missing photos)."""
        if self.keep_during or any(p.stage == "during" for s in self.spots for p in s.photos):
            return STAGES
        return ("before", "after")

    @property
    def stage_words(self) -> tuple[str, str, str]:
        return words.stage_words(self.stage_words_key, self.lang)

    def stage_word(self, stage: str | None) -> str:
        return words.stage_word(self.stage_words_key, self.lang, stage)

    def label(self, key: str, **kw) -> str:
        return words.label(self.lang, key, **kw)

    @property
    def title_name(self) -> str:
        """The name a document and a file are called by: 공사명, else the site's name."""
        return self.works_name or self.site_name

    def period(self) -> tuple[str | None, str | None]:
        times = sorted(p.taken_local for s in self.spots for p in s.photos if p.taken_local)
        return (times[0], times[-1]) if times else (None, None)

    def period_text(self) -> str:
        return words.format_period(*self.period(), self.lang)

    def times_from_names(self) -> bool:
        """Whether any photo's capture time was read from its file name (the legend is printed)."""
        return any(p.time_from_name for s in self.spots for p in s.photos)

    def photo_count(self) -> int:
        return sum(len(s.photos) for s in self.spots)

    def blocks(self) -> list["Block"]:
        """The rows of the ledger in order (see :class:`Block` and :func:`place_photos`)."""
        out = []
        for s in self.spots:
            out.extend(place_photos(s, self.columns, self.all_photos))
        return out


@dataclass
class Block:
    """One row of the ledger: a spot's photos per column (None: no photo), its part
    ``part`` of ``parts``. ``unknown``: a row of photos without a stage (each cell is
    marked "단계 미상"; the keys of ``photos`` are then only the columns they fill)."""

    spot: LedgerSpot
    part: int
    parts: int
    photos: dict[str, LedgerPhoto | None] = field(default_factory=dict)
    unknown: bool = False

    @property
    def number_text(self) -> str:
        return str(self.spot.number)

    @property
    def marks_missing(self) -> bool:
        """Whether an empty cell of this row reads "사진 없음": only in a spot's first row of
        stages (the stage has no photo at all). The further rows ``all_photos`` adds for a
        stage with more photos leave the other cells blank: they miss nothing."""
        return not self.unknown and self.part == 0


def place_photos(spot: LedgerSpot, columns: Sequence[str] = STAGES, all_photos: bool = False) -> list[Block]:
    """THE rule for which photo stands in which cell (PDF and XLSX; the ZIP names the same
    stages and numbers). Rows of ``columns`` (stage keys):

    - stage rows: in each column the photos given that stage (:meth:`LedgerSpot.stage_photos`:
      the cover, then a person's, then the engine's); one row, or with ``all_photos`` as
      many as the column with the most photos; none when the spot has no staged photo;
    - then rows of the photos without a stage, one per cell from the left, each cell marked
      "단계 미상": one row (as many photos as columns), or with ``all_photos`` all of them.

    A photo is never placed under a stage it was not given, and a photo without a stage
    never takes a staged photo's place."""
    per_stage = {st: spot.stage_photos(st) for st in columns}
    rows: list[tuple[bool, dict]] = []
    n = max((len(v) for v in per_stage.values()), default=0)
    for k in range(min(n, 1) if not all_photos else n):
        rows.append((False, {st: (v[k] if k < len(v) else None) for st, v in per_stage.items()}))
    unknown = spot.unknown_photos()
    width = len(columns)
    if unknown:
        if not all_photos:
            unknown = unknown[:width]
        for k in range(0, len(unknown), width):
            chunk = unknown[k:k + width]
            rows.append((True, {columns[j]: p for j, p in enumerate(chunk)}))
    if not rows:  # a spot whose only photos are in columns not printed (cannot happen with the columns above)
        rows.append((False, {st: None for st in columns}))
    return [Block(spot, k, len(rows), photos, unknown=u) for k, (u, photos) in enumerate(rows)]


#: Hex digits of a photo's sha256 printed in the index (the ZIP's index.csv holds all 64).
SHORT_SHA = 12


@dataclass(frozen=True)
class IndexRow:
    """One line of the index (사진 목록): a photo printed in the ledger, its 사진번호, its spot,
    the stage it is printed under (None: a "단계 미상" cell) and its short sha256."""

    photo_no: str
    spot: LedgerSpot
    stage: str | None
    photo: LedgerPhoto

    @property
    def short_sha(self) -> str:
        return self.photo.sha256[:SHORT_SHA]


def index_rows(blocks: Sequence[Block], columns: Sequence[str]) -> list[IndexRow]:
    """Every photo ``blocks`` print (in ``columns``), each once, in 사진번호 order (spot by
    spot, then before, during, after, stage unknown)."""
    out: dict[str, IndexRow] = {}
    for b in blocks:
        numbers = b.spot.photo_numbers()
        for st in columns:
            p = b.photos.get(st)
            if p is not None and p.sha256 not in out:
                out[p.sha256] = IndexRow(numbers.get(p.sha256, ""), b.spot, None if b.unknown else st, p)
    order: dict[int, int] = {}
    for b in blocks:
        order.setdefault(id(b.spot), len(order))
    return sorted(out.values(), key=lambda r: (order.get(id(r.spot), 0), _no_key(r.photo_no)))


def _no_key(photo_no: str) -> int:
    tail = photo_no.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class LedgerSource(Protocol):
    """What a ledger is read from (the device's store, or head office's records).

    ``ledger_site(site_id)``: {"id", "name", "works_name", "company", "work_type",
    "stage_words", "first_local"}; raises LookupError (or StoreError) for an unknown site.
    ``ledger_spots(site_id)``: the site's spots in page order, each {"id", "name",
    "location", "asset_no", "caption", "cover", "confirmed": bool, "photos": [{"sha256",
    "name", "phase", "taken_local", "taken_at", "width", "height", "bytes", "lat", "lon",
    "alt", "ext", "taken_from" (optional)}] in capture order}.
    ``original_path(sha256)``: the original file of a photo.
    ``print_preview(sha256, least_side)`` (optional): JPEG bytes of the photo's smallest
    print preview at least ``least_side`` pixels long, or None.
    """

    def ledger_site(self, site_id: int) -> Mapping: ...

    def ledger_spots(self, site_id: int) -> Iterable[Mapping]: ...

    def original_path(self, sha256: str) -> Path: ...


class StoreSource:
    """:class:`LedgerSource` over the device's store."""

    def __init__(self, st):
        self.st = st

    def ledger_site(self, site_id: int) -> dict:
        from ..store import ledger_fields, sites

        row = dict(sites.site(self.st, site_id))
        row["first_local"] = ledger_fields.first_capture_local(self.st, site_id)
        return row

    def ledger_spots(self, site_id: int) -> list[dict]:
        from ..store import ledger_fields, views

        view = views.site_view(self.st, site_id)
        extra = ledger_fields.spots_fields(self.st, site_id)
        detail = ledger_fields.photo_details(self.st, site_id)
        out = []
        for sp in view["spots"]:
            e = extra[sp["id"]]
            photos = []
            for p in sp["photos"]:
                d = detail[p["sha256"]]
                photos.append({**{k: p.get(k) for k in ("sha256", "name", "phase", "phase_by", "taken_local",
                                                        "taken_at", "width", "height")},
                               **{k: d[k] for k in ("bytes", "lat", "lon", "alt", "ext", "taken_from")}})
            out.append({"id": sp["id"], "name": sp["name"], "location": e["location"], "asset_no": e["asset_no"],
                        "caption": e["caption"], "cover": sp["cover"], "confirmed": sp["confirmed"],
                        "photos": photos})
        return out

    def original_path(self, sha256: str, ext: str | None = None) -> Path:
        from ..store import photos

        return photos.original_path(self.st, sha256, ext)

    def print_preview(self, sha256: str, least_side: int = 0) -> bytes | None:
        from ..store import photos

        return photos.print_preview(self.st, sha256, least_side)


def site_display_name(site: Mapping, lang: str) -> str:
    """The site's name, else its first day ("2026.05.04 현장"), else "현장 12"."""
    name = clean_text(site.get("name"))
    if name:
        return name
    day = words.format_date(site.get("first_local"), lang, with_time=False)
    if day:
        return f"{day} {words.label(lang, 'site')}" if words.lang_of(lang) == "ko" else f"Site of {day}"
    return words.label(lang, "site_auto", id=site["id"])


def build_ledger(source, site_id: int, *, lang: str = "ko", include_unconfirmed: bool = False,
                 all_photos: bool = False, spot_ids: Sequence[int] | None = None, keep_during: bool = False,
                 layout: str = "row", location_map: bool = True) -> Ledger:
    """Read a site's ledger from ``source`` (a :class:`LedgerSource`, or a Store).

    ``spot_ids``: only these spots (still in page order). The spot numbers of the ledger
    are 1, 2, ... over the spots it holds. ``keep_during``: print the "during" column even
    when no spot has a "during" photo. ``layout``: :data:`LAYOUTS`. ``location_map``: a 위치도
    (location map) when a spot's photos carry GPS; False leaves it out."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}")
    if not hasattr(source, "ledger_spots"):
        source = StoreSource(source)
    lang = words.lang_of(lang)
    site = source.ledger_site(site_id)
    previews = getattr(source, "print_preview", None)
    spots: list[LedgerSpot] = []
    left_out = included_open = 0
    wanted = None if spot_ids is None else set(spot_ids)
    for k, sp in enumerate(source.ledger_spots(site_id), 1):
        if wanted is not None and sp["id"] not in wanted:
            continue
        if not sp["photos"]:
            continue
        if not sp["confirmed"]:
            if not include_unconfirmed:
                left_out += 1
                continue
            included_open += 1
        label = clean_text(sp.get("name")) or (f"지점 {k}" if lang == "ko" else f"Spot {k}")
        photos = [LedgerPhoto(sha256=p["sha256"], name=p["name"], stage=p.get("phase") if p.get("phase") in STAGES
                              else None, taken_local=p.get("taken_local"), taken_at=p.get("taken_at"),
                              path=_path(source, p), width=p.get("width"), height=p.get("height"),
                              bytes=p.get("bytes"), lat=p.get("lat"), lon=p.get("lon"), alt=p.get("alt"),
                              ext=p.get("ext"), stage_by=p.get("phase_by"), taken_from=p.get("taken_from"),
                              preview=partial(previews, p["sha256"]) if previews else None)
                  for p in sp["photos"]]
        spots.append(LedgerSpot(id=sp["id"], number=len(spots) + 1, label=label,
                                location=clean_text(sp.get("location")) or label,
                                asset_no=clean_text(sp.get("asset_no")), caption=clean_text(sp.get("caption")),
                                confirmed=bool(sp["confirmed"]), cover=sp.get("cover"), photos=photos))
    return Ledger(site_id=site_id, site_name=site_display_name(site, lang),
                  works_name=clean_text(site.get("works_name")), company=clean_text(site.get("company")),
                  work_type=clean_text(site.get("work_type")),
                  stage_words_key=site.get("stage_words") or words.DEFAULT_STAGE_WORDS, lang=lang, spots=spots,
                  unconfirmed_left_out=left_out, unconfirmed_included=included_open, all_photos=all_photos,
                  keep_during=keep_during, client=clean_text(site.get("client")),
                  contract_no=clean_text(site.get("contract_no")),
                  contract_period=clean_text(site.get("contract_period")), layout=layout,
                  location_map=location_map)


def _path(source, p: Mapping) -> Path:
    if p.get("ext") is not None and isinstance(source, StoreSource):
        return source.original_path(p["sha256"], p["ext"])
    return Path(source.original_path(p["sha256"]))


def paginate(groups: Sequence[Sequence[float]], first_page: float, other_pages: float) -> list[list[int]]:
    """Cut blocks into pages so that a page break falls between spots, never through one.

    groups: per spot, the heights of its blocks (any unit); first_page / other_pages: the
    height each page has for blocks. Returns, per page, the indexes of its blocks (counted
    over all groups). A spot taller than a page is the only one broken, between its blocks."""
    pages: list[list[int]] = [[]]
    room = first_page
    idx = 0
    for heights in groups:
        total = sum(heights)
        if total > room + 1e-6 and pages[-1] and total <= other_pages + 1e-6:
            pages.append([])
            room = other_pages
        for h in heights:
            if h > room + 1e-6 and pages[-1]:
                pages.append([])
                room = other_pages
            pages[-1].append(idx)
            room -= h
            idx += 1
    return [p for p in pages if p] or [[]]
