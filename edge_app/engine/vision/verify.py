"""Match local features between two photos and verify them geometrically.

The result of one pair is a :class:`PairScore`: how many tentative matches survived the
ratio and mutual tests, how many of them agree with one epipolar geometry (fundamental
matrix, any static 3-D scene) and with one homography (a plane, or a small viewpoint
change), and how much of *each* frame those inliers cover. Coverage is what tells "two
shots of the same spot" (inliers spread over most of both frames) from "two sides of one
container" (a few dozen inliers on one object, a small part of each frame).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np

from ..config import VerifyConfig
from .features import LocalFeatures


@dataclass
class PairScore:
    """Geometric evidence that two photos show the same scene.

    matches:     tentative matches after the ratio and mutual-nearest tests.
    inliers_f:   matches consistent with the fundamental matrix (MAGSAC), 0 if none.
    inliers_h:   matches consistent with a homography.
    inlier_ratio: inliers / matches (0 when there are no matches).
    coverage_a, coverage_b: share of the grid cells of each frame that hold an inlier,
                 counted over the cells that hold any keypoint at all (0..1).
    distinct:    inliers whose match is unambiguous: no other keypoint of either photo (away
                 from the matched point) looks nearly as much like the partner
                 (:func:`distinct_matches`). A match between two rows of identical windows
                 is an inlier, but not a distinct one. -1: not measured (every inlier
                 counts as distinct).
    """

    matches: int = 0
    inliers_f: int = 0
    inliers_h: int = 0
    inlier_ratio: float = 0.0
    coverage_a: float = 0.0
    coverage_b: float = 0.0
    distinct: int = -1

    @property
    def coverage(self) -> float:
        """The smaller of the two frames' coverages."""
        return min(self.coverage_a, self.coverage_b)

    def swapped(self) -> "PairScore":
        """The same evidence seen from the other photo (the coverages exchange places)."""
        return dataclasses.replace(self, coverage_a=self.coverage_b, coverage_b=self.coverage_a)


_BF_HAMMING = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=False)
_BF_L2 = cv2.BFMatcher(cv2.NORM_L2, crossCheck=False)


def match_descriptors(a: LocalFeatures, b: LocalFeatures, ratio: float = 0.85, min_similarity: float = 0.82) -> np.ndarray:
    """Tentative matches: int32 [M, 2] index pairs (i in a, j in b).

    ORB/SIFT: mutual nearest neighbours that pass Lowe's ratio test (nearest distance <
    ratio * second nearest) in the a -> b direction. XFeat (L2-normalised float
    descriptors): mutual nearest neighbours by cosine, cosine >= min_similarity.
    """
    if len(a) < 2 or len(b) < 2:
        return np.zeros((0, 2), np.int32)
    if a.kind == "xfeat":
        sim = a.desc @ b.desc.T
        ab = sim.argmax(1)
        idx = np.arange(len(ab))
        best = sim[idx, ab]
        # mutual: a's best in b is also b's best in a (a column max is a fast reduction;
        # a column argmax is not)
        ok = (best >= sim.max(0)[ab]) & (best >= min_similarity)
        return np.stack([idx[ok], ab[ok]], 1).astype(np.int32)
    bf = _BF_HAMMING if a.kind == "orb" else _BF_L2
    ab = bf.knnMatch(a.desc, b.desc, k=2)
    ba = bf.match(b.desc, a.desc)
    back = np.full(len(b), -1, np.int64)
    for m in ba:
        back[m.queryIdx] = m.trainIdx
    out = []
    for pair in ab:
        if len(pair) < 2:
            continue
        m, n = pair
        if m.distance < ratio * n.distance and back[m.trainIdx] == m.queryIdx:
            out.append((m.queryIdx, m.trainIdx))
    return np.array(out, np.int32).reshape(-1, 2)


def grid_coverage(xy: np.ndarray, all_xy: np.ndarray, size: tuple[int, int], cells: int = 8) -> float:
    """Share of grid cells holding a point of ``xy`` among cells holding a point of ``all_xy``.

    xy, all_xy: float [N, 2] pixel coordinates; size: (width, height); cells per side.
    """
    if len(xy) == 0 or len(all_xy) == 0:
        return 0.0
    w, h = size

    def occupied(p: np.ndarray) -> np.ndarray:
        c = (p * cells / np.array([w, h], p.dtype)).astype(np.intp)
        np.clip(c, 0, cells - 1, out=c)
        occ = np.zeros(cells * cells, bool)
        occ[c[:, 1] * cells + c[:, 0]] = True
        return occ

    base = occupied(all_xy)
    return float((occupied(xy) & base).sum() / max(1, base.sum()))


def point_spread(p: np.ndarray) -> float:
    """How far points p float [M, 2] are from lying on one line: the smaller over the larger
    standard deviation along their principal axes (0 = on a line, 1 = a round cloud)."""
    if len(p) < 2:
        return 0.0
    # singular values of the centred points = sqrt(n * eigenvalues of their 2x2 covariance)
    d = p - p.mean(0)
    sxx, syy, sxy = float(d[:, 0] @ d[:, 0]), float(d[:, 1] @ d[:, 1]), float(d[:, 0] @ d[:, 1])
    mid, rad = 0.5 * (sxx + syy), float(np.hypot(0.5 * (sxx - syy), sxy))
    big, small = mid + rad, max(mid - rad, 0.0)
    return float(np.sqrt(small / big)) if big > 0 else 0.0


def distinct_matches(a: LocalFeatures, b: LocalFeatures, m: np.ndarray, margin: float, radius: float) -> np.ndarray:
    """bool [M]: which matches ``m`` (int [M, 2], i in a, j in b) are unambiguous.

    A match (i, j) is ambiguous when some keypoint of b that is not within ``radius``
    pixels of j resembles i nearly as much as j does (cosine within ``margin``), or some
    keypoint of a away from i resembles j as much: the point is one of a repeated pattern
    (a row of windows, a fence, tiles), and the match says little about *which* building.
    Float (XFeat, RootSIFT) descriptors only; binary ones count every match as distinct.
    """
    if len(m) == 0 or a.desc.dtype == np.uint8:
        return np.ones(len(m), bool)
    da, db = a.desc[m[:, 0]], b.desc[m[:, 1]]
    best = np.einsum("md,md->m", da, db)

    def runner_up(d: np.ndarray, other: LocalFeatures, at: np.ndarray) -> np.ndarray:
        sim = d @ other.desc.T                                        # [M, N]
        dx = other.xy[None, :, 0] - at[:, None, 0]
        dy = other.xy[None, :, 1] - at[:, None, 1]
        sim[dx * dx + dy * dy <= radius * radius] = -1.0              # the matched point itself
        return sim.max(1)

    second = np.maximum(runner_up(da, b, b.xy[m[:, 1]]), runner_up(db, a, a.xy[m[:, 0]]))
    return best - second >= margin


def verify_pair(a: LocalFeatures, b: LocalFeatures, config: VerifyConfig = VerifyConfig(),
                coarse: bool = False) -> PairScore | None:
    """Match ``a`` and ``b`` and fit a homography and a fundamental matrix with MAGSAC.

    Thresholds are fractions of each image's diagonal (resolution independent);
    ``config.h_max_iters`` / ``f_max_iters`` cap MAGSAC's iterations. When the homography
    already has ``config.skip_f_above_h`` inliers the fundamental matrix is not fitted (its
    inliers are reported equal to the homography's), which saves time on obvious pairs.
    Matches whose points lie (nearly) on one line in either frame (``point_spread`` below
    ``config.min_spread``: a strip a few pixels high, a panorama of 60:1) are degenerate:
    almost any F or H fits them, so they count as no inliers.

    coarse: the first step of :func:`verify_two_step`: the pair is decided when the
    homography has ``config.coarse_accept_inliers`` inliers (F is then skipped) or there
    are fewer than ``config.coarse_reject_matches`` matches; otherwise None is returned
    at once, and the caller verifies again with more keypoints.
    """
    c = config
    strong_h = c.coarse_accept_inliers if coarse else c.skip_f_above_h

    def undecided(matches: int, inliers_h: int) -> bool:
        return coarse and not (inliers_h >= c.coarse_accept_inliers or matches < c.coarse_reject_matches)

    m = match_descriptors(a, b, c.match_ratio, c.min_descriptor_similarity)
    score = PairScore(matches=len(m))
    if len(m) < c.min_matches:
        return None if undecided(len(m), 0) else score
    pa = a.xy[m[:, 0]].astype(np.float64)
    pb = b.xy[m[:, 1]].astype(np.float64)
    if min(point_spread(pa), point_spread(pb)) < c.min_spread:
        return None if undecided(len(m), 0) else score
    diag = 0.5 * (np.hypot(*a.size) + np.hypot(*b.size))
    inl_h = np.zeros(len(m), bool)
    try:
        H, mh = cv2.findHomography(pa, pb, cv2.USAC_MAGSAC, c.h_threshold * diag, maxIters=c.h_max_iters,
                                   confidence=0.999)
        if H is not None and mh is not None:
            inl_h = mh.ravel().astype(bool)
    except cv2.error:
        pass
    if undecided(len(m), int(inl_h.sum())):
        return None
    inl_f = np.zeros(len(m), bool)
    if inl_h.sum() >= strong_h:
        # Decided already: a homography explains this many matches. Epipolar geometry
        # could only add parallax inliers; count the homography's inliers for both.
        inl_f = inl_h
    else:
        try:
            F, mf = cv2.findFundamentalMat(pa, pb, cv2.USAC_MAGSAC, c.f_threshold * diag, 0.999, c.f_max_iters)
            if F is not None and mf is not None and F.shape == (3, 3):
                inl_f = mf.ravel().astype(bool)
        except cv2.error:
            pass
    # Too few F inliers are not evidence: 7 points always fit some F.
    if inl_f.sum() < c.min_matches:
        inl_f = np.zeros(len(m), bool)
    inl = inl_f if inl_f.sum() >= inl_h.sum() else inl_h
    score.inliers_f = int(inl_f.sum())
    score.inliers_h = int(inl_h.sum())
    score.inlier_ratio = float(inl.sum() / len(m))
    score.coverage_a = grid_coverage(pa[inl], a.xy, a.size, c.coverage_cells)
    score.coverage_b = grid_coverage(pb[inl], b.xy, b.size, c.coverage_cells)
    if c.measure_distinct:
        score.distinct = int(distinct_matches(a, b, m[inl], c.distinct_margin, c.distinct_radius * diag).sum())
    return score


def verify_two_step(a: LocalFeatures, b: LocalFeatures, config: VerifyConfig = VerifyConfig()) -> PairScore:
    """:func:`verify_pair` on the best ``config.coarse_keypoints`` of each photo first, and
    again with all keypoints only when that step leaves the pair undecided (about 1 pair
    in 5 on the dev sets)."""
    k = config.coarse_keypoints
    if k and (len(a) > k or len(b) > k):
        sc = verify_pair(a.head(k), b.head(k), config, coarse=True)
        if sc is not None:
            return sc
    return verify_pair(a, b, config)
