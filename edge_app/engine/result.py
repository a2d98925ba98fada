"""What grouping a set of analysed photos gives: :class:`GroupResult`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

import numpy as np

from .vision.verify import PairScore

if TYPE_CHECKING:
    from scipy import sparse


@dataclass
class GroupResult:
    """Grouping of N analysed photos.

    labels: group index (0..K-1, in capture order) or None (unassigned), per photo.
    P:      float64 [N, N] sparse (scipy CSR, symmetric), p(same spot) of the pairs with
            evidence (verified, or lifted by the mutual-best bonus); a pair not stored was
            never verified and has only its look (p below 0.04 with the fitted models).
    cos:    float64 [N, N] sparse, embedding cosine of the same pairs.
    scores: PairScore of each verified pair (i < j).
    """

    labels: list[int | None]
    P: sparse.csr_array
    cos: sparse.csr_array
    scores: dict[tuple[int, int], PairScore]
    timings: dict[str, float] = field(default_factory=dict)
    #: Site sessions (lists of photo indices) the photos were split into before grouping.
    sessions: list[list[int]] = field(default_factory=list)
    #: The thorough pass (:mod:`edge_app.engine.thorough`): pairs (i < j) the cascade linked, pairs
    #: flagged for a person, and pairs whose evidence rests on a machine (i, j, p before,
    #: p after); empty without it.
    cascade_links: list[tuple[int, int]] = field(default_factory=list)
    review: list[tuple[int, int]] = field(default_factory=list)
    discounted: list[tuple[int, int, float, float]] = field(default_factory=list)

    def links(self, i: int, js: Sequence[int]) -> np.ndarray:
        """float64 [K] p between photo i and those of ``js`` it has a stored pair with."""
        lo, hi = self.P.indptr[i], self.P.indptr[i + 1]
        cols, vals = self.P.indices[lo:hi], self.P.data[lo:hi]
        return vals[np.isin(cols, np.asarray(js, np.intp))]

    def mean_p(self, i: int, js: Sequence[int]) -> float:
        """Mean p between photo i and photos ``js`` over the pairs with evidence (0 if none)."""
        v = self.links(i, js)
        return float(v.mean()) if len(v) else 0.0

    def max_p(self, i: int, js: Sequence[int]) -> float:
        """Highest p between photo i and photos ``js`` over the pairs with evidence (0 if none)."""
        v = self.links(i, js)
        return float(v.max()) if len(v) else 0.0


def pair_matrix(n: int, i: np.ndarray, j: np.ndarray, v: np.ndarray) -> sparse.csr_array:
    """Symmetric float64 [n, n] CSR holding v at (i, j) and (j, i). (SciPy is imported here,
    not with the module: a cold start analyses photos before it groups them.)"""
    from scipy import sparse

    return sparse.csr_array((np.r_[v, v], (np.r_[i, j], np.r_[j, i])), shape=(n, n))
