"""One settings object for the whole pipeline, every default documented.

``Settings()`` gives the defaults that the eval figures in ``docs/quality.md`` were
measured with. Change a field with ``Settings(local_features="orb")`` or
``settings.replace(...)``; the verification knobs are one :class:`VerifyConfig`,
``settings.verify``. :meth:`Settings.feature_version` hashes every field except those
declared with :func:`later` (used only after the per-photo analysis), so the feature cache
never serves stale features after a change, and a new field is in the hash unless it says
otherwise.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

from .grouping import PairModel

#: Pair model for :meth:`Settings.fast` (384 px features), fitted like the default one.
FAST_PAIR_MODEL = PairModel(weights=(-10.364, 7.053, 1.211, 1.218, 1.712), context_weight=2.400,
                            context_margin=0.701)

#: Bump when the per-photo feature code changes in a way the settings do not capture.
FEATURE_CODE_VERSION = 3


def later(**kw):
    """A settings field used only after the per-photo analysis (matching, pairs, grouping,
    resources): changing it keeps the cached features valid. Every other field is part of
    :meth:`Settings.feature_version`."""
    return field(metadata={"per_photo": False}, **kw)


@dataclass(frozen=True)
class VerifyConfig:
    """The knobs of matching and geometric verification (:mod:`edge_app.engine.vision.verify`)."""

    #: Lowe ratio for ORB/SIFT matches; XFeat uses mutual nearest neighbours above
    #: ``min_descriptor_similarity`` (cosine).
    match_ratio: float = 0.85
    min_descriptor_similarity: float = 0.82
    #: RANSAC (MAGSAC) thresholds as fractions of the image diagonal.
    f_threshold: float = 0.004
    h_threshold: float = 0.012
    #: MAGSAC iteration caps. An unrelated pair (few of its matches fit anything) runs to
    #: the cap; true pairs stop far earlier. Homography 1000 (was 2000): with
    #: ``skip_f_above_h`` 60, verification 0.32 -> 0.28 s CPU per 30-photo batch, 0.01
    #: lower precision before the pair model was refitted. F stays at 2000: capped at 500
    #: precision fell further (seed 7: 0.937 vs 0.950, docs/quality.md).
    h_max_iters: int = 1000
    f_max_iters: int = 2000
    #: Skip the fundamental matrix once a homography has this many inliers (the pair is
    #: decided; epipolar geometry would only add parallax inliers). 60, 80, 100 and 150
    #: group the dev sets identically; 60 saves about 10 % of the verification time.
    skip_f_above_h: int = 60
    #: Fewer tentative matches (or F inliers) than this are no evidence: 7 points always
    #: fit some fundamental matrix.
    min_matches: int = 8
    #: Matches whose points lie (nearly) on one line in either frame (spread below this,
    #: :func:`edge_app.engine.vision.verify.point_spread`) count as no inliers.
    min_spread: float = 0.05
    #: Cells per side of the coverage grid.
    coverage_cells: int = 8
    #: Two-step verification: match the best ``coarse_keypoints`` first; the pair is
    #: decided there when the homography has ``coarse_accept_inliers`` inliers or there
    #: are fewer than ``coarse_reject_matches`` matches, else it is verified again with all
    #: keypoints. About 4 in 5 pairs are decided by the cheap step (dev sets), and the
    #: grouping is as good as with all keypoints for every pair. 0 disables the first step.
    coarse_keypoints: int = 512
    coarse_accept_inliers: int = 60
    coarse_reject_matches: int = 15
    #: Count distinct inliers (:func:`edge_app.engine.vision.verify.distinct_matches`; the
    #: look-alike guard's measure, ``PairModel.ambiguous_weight``): an inlier is distinct when
    #: no keypoint farther than ``distinct_radius`` (fraction of the image diagonal) from the
    #: matched point comes within ``distinct_margin`` (cosine) of the match's similarity. Off:
    #: it costs about half again the verification time, and a refit on the look-alike dev set
    #: gained nothing from it over the refit alone (docs/quality.md, issue 20); the fit
    #: script can still measure it (``--guard``).
    measure_distinct: bool = False
    distinct_margin: float = 0.05
    distinct_radius: float = 0.02


@dataclass(frozen=True)
class Settings:
    # --- decode ---------------------------------------------------------------------
    #: Long side of the work image in pixels (JPEGs decode at reduced size straight to
    #: about this; smaller photos are never upscaled).
    work_max_side: int = 768

    # --- transient objects --------------------------------------------------------------
    #: Run the segmentation model and ignore people/vehicles in features and embeddings.
    use_segmentation: bool = True
    #: A pixel counts as transient above this probability.
    mask_threshold: float = 0.5

    # --- global embedding --------------------------------------------------------------
    #: Embed a contrast-normalised grey image (CLAHE on luma, as 3 channels) instead of
    #: the colour photo: day/night and season change colour far more than structure
    #: (same-spot retrieval mAP on the dev sets 0.852 vs 0.812 with colour).
    embed_grey_clahe: bool = True
    #: Compare embeddings after removing the batch's mean embedding (what every photo of
    #: the site shares). Off: on the dev sets it gained +0.003 ARI on average over 20 seeds
    #: (noise level) and it weakens a session dominated by one spot, where the mean *is*
    #: that spot.
    centre_embeddings: bool = later(default=False)

    # --- local features --------------------------------------------------------------------
    #: "xfeat" (learned, robust to light change; default), "orb" (fastest), "sift".
    local_features: str = "xfeat"
    #: Keypoints kept per photo.
    max_keypoints: int = 1000
    #: Long side of the XFeat network input (multiples of 32). 448 px: on the dev sets as
    #: good as 480 once the pair model is refitted on each (20-seed ARI 0.873 vs 0.857 at
    #: the same fit settings) and 18 % cheaper; 416 px loses wxbs pairs (docs/quality.md).
    xfeat_max_side: int = 448
    #: Contrast-normalise (CLAHE) the grey image before local features.
    features_clahe: bool = False

    # --- matching and verification ---------------------------------------------------------
    verify: VerifyConfig = later(default_factory=VerifyConfig)

    # --- candidate pairs ----------------------------------------------------------------
    #: Verify every pair when a site has at most this many photos ...
    all_pairs_up_to: int = later(default=12)
    #: ... else each photo's ``knn`` nearest photos by embedding cosine.
    knn: int = later(default=6)
    #: Every pair inside a set of photos linked by likely pairs is verified when the set
    #: has at most this many photos, so a session of up to this size is grouped as if every
    #: pair were verified (the dev batches have 10-30 photos) ...
    dense_up_to: int = later(default=32)
    #: ... in a larger set, two groups merge on the mean over at least this many verified
    #: cross pairs (all of them when they have fewer; random ones are verified where too few
    #: are), not on all of theirs: the cost grows with the photos, not their square
    #: (docs/quality.md, "Scale").
    link_evidence: int = later(default=12)

    # --- metadata ---------------------------------------------------------------------
    #: Photos farther apart than this (both with GPS) are never in one group; also the
    #: radius of one site when a folder spans several.
    site_radius_m: float = later(default=300.0)
    #: A photo without GPS joins the session of the located photo nearest in capture time
    #: when within this gap; otherwise it is placed by look. Capture time never separates
    #: photos (before and after of one spot are often days apart: issue 11).
    session_gap_s: float = later(default=4 * 3600.0)

    # --- the thorough pass (issue 11; edge_app/engine/thorough.py): after the fast grouping ---------
    #: Every pair of a session of up to this many photos is verified ...
    check_all_up_to: int = later(default=64)
    #: ... in a larger one, each photo's mutual nearest photos by look up to this rank.
    mutual_knn: int = later(default=16)
    #: The undecided band: pairs not grouped with p >= band_low, grouped with p < band_high,
    #: or with a cosine in the session's top (1 - band_look_quantile) and p < band_high.
    band_low: float = later(default=0.1)
    band_high: float = later(default=0.9)
    band_look_quantile: float = later(default=0.9)
    #: At most this many band pairs per session go to the cascade (ungrouped ones first).
    cascade_max_pairs: int = later(default=48)
    #: p of a pair the cascade links (docs/cascade.md: the measured rule admits 0 of 931
    #: hard negatives on the dev sets).
    cascade_p: float = later(default=0.95)
    #: ... unless it would join two fast groups on that pair alone (no other cascade link
    #: between them) while the fast path gave it under this: then it is not linked, only
    #: listed for review (look-alike facades and identical doors; docs/quality.md, stop 21).
    cascade_lone_p: float = later(default=0.7)
    #: The machine check needs at least this many keypoints of the partner that its
    #: group-mates also show (else they barely see its spot: a night or an aerial shot).
    machine_min_seen: int = later(default=20)
    #: ... and a link counts as resting on a machine when its share of supported inliers is
    #: under this times the share of the partner's keypoints its mates show, on a region
    #: under ``machine_max_area`` of the partner's frame (docs/quality.md).
    machine_max_ratio: float = later(default=0.35)
    machine_max_area: float = later(default=0.35)
    #: ``edge-app cluster`` runs the cascade by default in a session only when its cost *by
    #: count* is within this many seconds: the band's photos x ``cascade_photo_s`` + its pairs
    #: x ``cascade_pair_s`` (:func:`edge_app.engine.thorough.cascade_cost_s`; ``--thorough``: always;
    #: ``--no-cascade``: no thorough pass). Every photo counts as new, whatever the cascade's
    #: cache holds, and no time measured while running is used: the same folder and flags
    #: give the same mode on a busy machine or an idle one, warm cache or cold (issue 20).
    #: The cascade's models are loaded only when it runs.
    thorough_budget_s: float = later(default=2.0)
    #: The fixed costs of that decision, measured on the 2-core dev CPU (docs/quality.md):
    #: ALIKED on one photo (both cores, decoded at 1280 px) ...
    cascade_photo_s: float = later(default=0.47)
    #: ... and LightGlue on one pair (0.063 s on one core, two pairs side by side). The same
    #: on every machine (an accelerator is faster: ``--thorough`` runs it there).
    cascade_pair_s: float = later(default=0.0315)

    # --- grouping ----------------------------------------------------------------------
    pair_model: PairModel = later(default_factory=PairModel)
    #: Average-linkage cut: groups merge while the mean same-spot probability of their
    #: cross pairs is at least this.
    group_threshold: float = later(default=0.5)
    #: Smallest group reported; smaller ones become unassigned.
    min_group_size: int = later(default=2)
    #: Online assignment: join a group when the mean probability to its photos is at least this.
    assign_threshold: float = later(default=0.5)

    # --- resources -------------------------------------------------------------------
    #: Worker threads for decoding and features (0 = number of CPU cores).
    threads: int = later(default=0)
    #: A folder of more photos keeps their local features in a temporary file while it is
    #: grouped (:class:`edge_app.engine.analyze.FeatureSpill`), not in memory (0.27 MB a photo).
    features_in_memory_up_to: int = later(default=256)

    @classmethod
    def fast(cls, **changes) -> "Settings":
        """For a weak CPU: work image and XFeat at 384 px (JPEGs decode at 1/8 scale),
        with a pair model fitted on those features (``scripts/fit_pair_model.py --fast``).
        About 6 % faster per batch than the defaults; on the dev sets 0.014 lower ARI,
        0.008 lower precision over 20 seeds (docs/quality.md)."""
        fast = {"work_max_side": 384, "xfeat_max_side": 384, "pair_model": FAST_PAIR_MODEL}
        return cls(**(fast | changes))

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)

    def feature_version(self) -> str:
        """Short hash of every field that is not declared :func:`later` (cache key part)."""
        per_photo = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                     if f.metadata.get("per_photo", True)}
        blob = json.dumps(per_photo | {"code": FEATURE_CODE_VERSION}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)
