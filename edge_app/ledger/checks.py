"""What to look at before a ledger is exported: shown on the page next to the export
buttons, never printed in the documents.

:func:`ledger_warnings` reads a ledger's spots (:class:`~.model.LedgerSpot`, any source)
and says, spot by spot in page order:

- ``after_early``: a photo given the last stage (시공 후) was taken before a photo given the
  first (시공 전): a stage set by hand on the wrong photo, or a camera clock that was off;
- ``no_after``: the spot has no photo of the last stage (its cell prints "사진 없음");
- ``no_date``: photos of the spot have no capture time at all (neither EXIF nor a file
  name that carries one): no date is printed under them and the engine could not give
  them a stage.

Times are compared as the camera's own clock (``taken_local``), so a photo whose EXIF
holds a time-zone offset and one whose time came from its file name compare as a person
reads them; a time read from a name that holds the day only compares by the day.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from .model import LedgerPhoto, LedgerSpot

#: The kinds of warning, in the order they are listed.
KINDS = ("after_early", "no_after", "no_date")


@dataclass(frozen=True)
class LedgerWarning:
    """One line of the list. ``photos``: the sha256s concerned; for ``after_early`` the
    earliest such 후 photo and the latest 전 photo it precedes (``after`` / ``before``:
    their ``taken_local``, ``after_day_only`` / ``before_day_only``: only the day is known);
    ``count``: how many photos (``no_date``)."""

    kind: str
    spot_id: int
    photos: tuple[str, ...] = ()
    count: int = 0
    after: str | None = None
    before: str | None = None
    after_day_only: bool = False
    before_day_only: bool = False


def _day_only(p: LedgerPhoto) -> bool:
    return p.taken_from == "file name date"


def _earlier(a: LedgerPhoto, b: LedgerPhoto) -> bool:
    """Whether ``a`` was taken before ``b`` (both with a ``taken_local``); by the day when
    either's time of day is unknown."""
    if _day_only(a) or _day_only(b):
        return a.taken_local[:10] < b.taken_local[:10]
    return a.taken_local[:19] < b.taken_local[:19]


def spot_warnings(spot: LedgerSpot) -> list[LedgerWarning]:
    """The warnings of one spot, in :data:`KINDS` order."""
    out = []
    timed = [p for p in spot.photos if p.taken_local]
    befores = [p for p in timed if p.stage == "before"]
    afters = sorted((p for p in timed if p.stage == "after"), key=lambda p: p.taken_local)
    for a in afters:
        later = [b for b in befores if _earlier(a, b)]
        if later:
            b = max(later, key=lambda p: p.taken_local)
            out.append(LedgerWarning("after_early", spot.id, (a.sha256, b.sha256), 2, a.taken_local, b.taken_local,
                                     _day_only(a), _day_only(b)))
            break
    if not any(p.stage == "after" for p in spot.photos):
        out.append(LedgerWarning("no_after", spot.id))
    undated = [p.sha256 for p in spot.photos if not p.taken_local and p.taken_at is None]
    if undated:
        out.append(LedgerWarning("no_date", spot.id, tuple(undated), len(undated)))
    return out


def ledger_warnings(spots: Iterable[LedgerSpot]) -> list[LedgerWarning]:
    """Every warning of ``spots`` (see the module's text): grouped by kind (:data:`KINDS`),
    each kind in the spots' order."""
    found = [w for sp in spots for w in spot_warnings(sp)]
    return sorted(found, key=lambda w: KINDS.index(w.kind))  # stable: spot order within a kind
