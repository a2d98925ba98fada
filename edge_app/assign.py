"""Online assignment: one new photo into the existing groups of a site (the users'
"version C"), verifying only the new photo's pairs with a few candidates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Sequence

import numpy as np

from . import grouping
from .analyze import PhotoAnalysis
from .config import Settings
from .metadata import haversine_m
from .pairs import PairCache, cosine_matrix, no_spot, verify_candidates


@dataclass
class Assignment:
    """Where one new photo goes (online assignment, the users' "version C").

    group:   label of the existing group it joins, or None.
    partner: when it joins no group, index of an unassigned photo it matches (the caller
             may open a new group of the two), else None. Both None: :attr:`is_new`.
    score:   the winning mean probability (or the best one seen).
    p:       float64 [N], p(same spot) between the new photo and each existing photo.
    """

    group: Hashable | None
    partner: int | None
    score: float
    p: np.ndarray

    @property
    def is_new(self) -> bool:
        """Nothing matched: the photo neither joins a group nor pairs with a photo."""
        return self.group is None and self.partner is None


def assign_new(
    new: PhotoAnalysis,
    analyses: Sequence[PhotoAnalysis],
    labels: Sequence[Hashable | None],
    settings: Settings | None = None,
    pair_cache: PairCache | None = None,
) -> Assignment:
    """Assign one analysed photo to the existing groups using cached features only.

    Candidates are every existing photo of a small site, else the ``knn`` nearest by
    embedding plus the two nearest photos of every group (its representatives for this
    photo), so a group is never judged on embedding alone. Only new-vs-candidate pairs
    are verified. Groups are compared by the mean probability over their photos.
    """
    s = settings or Settings()
    n = len(analyses)
    if n == 0:
        return Assignment(None, None, 0.0, np.zeros(0))
    cos = cosine_matrix([*analyses, new], centred=s.centre_embeddings)[:n, n]
    gps = np.array([haversine_m(new.meta.gps[:2], a.meta.gps[:2]) if (new.meta.gps and a.meta.gps) else np.nan
                    for a in analyses])
    gap = np.array([abs(new.meta.taken_at - a.meta.taken_at) if (new.meta.taken_at is not None and
                    a.meta.taken_at is not None) else np.nan for a in analyses])
    if n <= s.all_pairs_up_to:
        cand = set(range(n))
    else:
        cand = set(int(j) for j in np.argsort(-cos)[: s.knn])
        for members in grouping.group_members(labels).values():
            cand.update(sorted(members, key=lambda j: -cos[j])[:2])
    cand = [j for j in sorted(cand) if not (np.isfinite(gps[j]) and gps[j] > s.site_radius_m)]
    both = list(analyses) + [new]
    scores = verify_candidates(both, [(j, n) for j in cand], s, pair_cache)
    ev = np.zeros((4, n))  # matches, inliers_h, inliers_f, coverage
    for (j, _), sc in scores.items():
        ev[:, j] = (sc.matches, sc.inliers_h, sc.inliers_f, sc.coverage)
    ruled_out = np.array([no_spot(a) for a in analyses], bool) | no_spot(new)
    p = grouping.same_spot_probability(cos, *ev, s.pair_model, gps, gap, ruled_out, s.site_radius_m)
    group, partner, score = grouping.assign_photo(p, labels, s.assign_threshold)
    return Assignment(group, partner, score, p)
