"""Online assignment: one new photo into the existing groups of a site (the users'
"version C"), verifying only the new photo's pairs with a few candidates, so its cost
hardly grows with the site."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Sequence

import numpy as np

from . import grouping
from .analyze import PhotoAnalysis
from .config import Settings
from .pairs import PairCache, SessionPhotos, evidence_of, verify_candidates
from .blas import matmul

#: Groups with a photo among the new photo's this many nearest by look are candidates.
NEAR_GROUPS_FROM = 32


@dataclass
class Assignment:
    """Where one new photo goes (online assignment, the users' "version C").

    group:   label of the existing group it joins, or None.
    partner: when it joins no group, index of an unassigned photo it matches (the caller
             may open a new group of the two), else None. Both None: :attr:`is_new`.
    score:   the winning mean probability (or the best one seen).
    p:       float64 [N], p(same spot) between the new photo and each existing photo (by
             look and metadata alone for the photos it was not verified with).
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
    workers: int = 1,
) -> Assignment:
    """Assign one analysed photo to the existing groups using cached features only.

    Candidates are every existing photo of a small site (``all_pairs_up_to``), else the
    ``knn`` nearest by embedding plus the two nearest photos of every group that has a
    photo among the new photo's NEAR_GROUPS_FROM nearest, so a group is never judged on
    embedding alone. A group is judged by the mean probability over its verified photos;
    a group that reaches ``assign_threshold`` on fewer than ``link_evidence`` of them (and
    has more) gets that many verified first (random ones), as the batch grouping does.
    Cost: a matrix-vector product over the site's embeddings and a few dozen verifications
    (on ``workers`` threads).
    """
    s = settings or Settings()
    n = len(analyses)
    if n == 0:
        return Assignment(None, None, 0.0, np.zeros(0))
    photos = SessionPhotos.of([*analyses, new], s.centre_embeddings)
    old = np.arange(n)
    cos = matmul(photos.E[:n], photos.E[n])
    gps = photos.gps_m(old, n)
    ruled = photos.ruled_out[:n] | photos.ruled_out[n]
    far = np.nan_to_num(gps, nan=0.0) > s.site_radius_m
    groups = grouping.group_members(labels)
    if n <= s.all_pairs_up_to:
        cand = set(range(n))
    else:
        order = np.argsort(-cos)
        cand = set(order[: s.knn].tolist())
        near = {labels[j] for j in order[:NEAR_GROUPS_FROM].tolist()} - {None}
        for lab in near:
            cand.update(sorted(groups[lab], key=lambda j: -cos[j])[:2])
    both = [*analyses, new]
    ev = np.zeros((5, n))  # matches, inliers_h, inliers_f, coverage, distinct (pairs.evidence_rows)
    known = far.copy()  # photos with evidence: verified, or beyond the site radius (p = 0)

    def verify(js) -> None:
        js = [j for j in sorted(js) if not far[j]]
        for (j, _), sc in verify_candidates(both, [(j, n) for j in js], s, pair_cache, workers).items():
            ev[:, j] = evidence_of(sc)
        known[js] = True

    verify(cand)
    p = grouping.same_spot_probability(cos, *ev[:4], s.pair_model, gps, ruled, s.site_radius_m, distinct=ev[4])
    rng = np.random.default_rng(0)
    checked: set = set()
    while True:  # the best groups on too little evidence get more
        means = {lab: float(p[m][known[m]].mean()) for lab, m in groups.items() if known[m].any()}
        thin = [lab for lab in sorted(means, key=means.get, reverse=True) if means[lab] >= s.assign_threshold
                and lab not in checked and known[groups[lab]].sum() < min(len(groups[lab]), s.link_evidence)]
        if not thin:
            break
        lab = thin[0]
        checked.add(lab)
        m = np.asarray(groups[lab])
        rest = m[~known[m] & ~far[m]]
        verify(rng.permutation(rest)[: min(len(m), s.link_evidence) - int(known[m].sum())].tolist())
        p = grouping.same_spot_probability(cos, *ev[:4], s.pair_model, gps, ruled, s.site_radius_m, distinct=ev[4])
    group, partner, score = grouping.assign_photo(p, labels, s.assign_threshold, known)
    return Assignment(group, partner, score, p)
