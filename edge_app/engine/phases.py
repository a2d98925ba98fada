"""Before / during / after of one spot's photos from their capture times alone: the
engine's stage of a photo no person labelled (the store writes it,
:func:`edge_app.store.spots.set_engine_phases`; migration 13 applies it to photos whose
time came later, from their file names)."""

from __future__ import annotations

import math
from typing import Sequence

#: A capture-time gap longer than this separates visits of one spot (before / during / after).
PHASE_GAP_S = 15 * 60.0


def engine_phases(times: Sequence[float | None], gap_s: float = PHASE_GAP_S) -> list[str | None]:
    """Before / during / after from capture times alone (one spot's photos, any order).

    Photos are split into visits where consecutive capture times are more than ``gap_s``
    apart: one visit is "before" (nothing done yet), two are before and after, three or
    more are before, during..., after. A photo without a time gets None.
    """
    order = sorted((t, i) for i, t in enumerate(times) if t is not None and math.isfinite(t))
    out: list[str | None] = [None] * len(times)
    if not order:
        return out
    visit = [0]
    for (t0, _), (t1, _) in zip(order, order[1:]):
        visit.append(visit[-1] + (1 if t1 - t0 > gap_s else 0))
    k = visit[-1] + 1
    for v, (_, i) in zip(visit, order):
        out[i] = "before" if v == 0 else ("after" if v == k - 1 else "during")
    return out


def phase_changes(photos: Sequence[tuple[str, float | None, str | None, str | None]]) -> list[tuple[str, str | None]]:
    """The stage writes one spot needs: ``photos`` are (key, capture time, stage, who set it:
    "engine" | "person" | None) of each of its photos; returns (key, new stage) for each photo
    no person labelled whose stage :func:`engine_phases` gives otherwise (or gives the same
    one that no engine set yet)."""
    new = engine_phases([p[1] for p in photos])
    return [(key, ph) for (key, _, phase, by), ph in zip(photos, new)
            if by != "person" and not (phase == ph and (ph is None or by == "engine"))]
