"""Per-photo analysis: decode, metadata, transient mask, embedding, local features.

:class:`Analyzer` owns the models (loaded once, lazily) and turns a photo file into a
:class:`PhotoAnalysis`. :class:`FeatureCache` keeps analyses on disk keyed by the file's
content hash and :meth:`Settings.feature_version`, so regrouping after a new photo or an
edit never recomputes an old photo's features.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
import json
import math
import os
import tempfile
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np
from threadpoolctl import threadpool_limits

from .config import Settings
from ..fileio import sharded_path, write_atomic
from .decode import Decoded, ImageError, decode_image, read_photo_bytes
from .metadata import PhotoMeta, read_meta
from .threads import side_by_side
from .vision.features import LocalFeatures, XFeatExtractor, extract_features, normalise_contrast, to_gray


log = logging.getLogger(__name__)


@dataclass
class PhotoAnalysis:
    """Everything the grouping needs about one photo.

    key:        sha256 of the file's bytes (hex).
    size:       (width, height) of the upright original, pixels.
    meta:       capture time and GPS (both optional).
    embedding:  float32 [D], L2-normalised global descriptor (masked pooling).
    features:   local features of the work image (transient objects removed).
    transient:  share of the work image covered by transient objects, 0..1.
    structure:  :func:`structure_score` of the work image; below 1 the photo has almost
                no structure (noise, a flat field, a test pattern) and never forms a spot.
    notes:      what decoding warned about or ignored (see :attr:`Decoded.notes`).
    """

    key: str
    size: tuple[int, int]
    meta: PhotoMeta
    embedding: np.ndarray
    features: LocalFeatures
    transient: float = 0.0
    structure: float = 1.0
    notes: list[str] = field(default_factory=list)


@dataclass
class AnalysisError:
    """A photo that could not be analysed, with a short user-facing reason."""

    path: str
    reason: str
    detail: str = ""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


#: Thresholds of :func:`structure_score` (each test scores 1 at its threshold). Measured on
#: the 340 photos of ../shared/eval at work size (docs/quality.md): the flattest has a
#: 1/8-scale standard deviation of 22.8 grey levels, the most noise-like a variance ratio
#: of 0.78, the smoothest a detail ratio of 0.107, the most one-directional a 2-D ratio of
#: 0.043, the most periodic a correlation of 0.90; white noise gives 0.25, gradients and
#: vignettes 0.007-0.023, stripes and ramps 0.000-0.007, checkerboards >= 0.97.
STRUCTURE_FLAT_STD = 0.75
STRUCTURE_MIN_OCTAVE_RATIO = 0.5
STRUCTURE_MIN_DETAIL = 0.05
STRUCTURE_MIN_2D = 0.012
STRUCTURE_MAX_PERIODIC = 0.96


def no_features(kind: str, size: tuple[int, int]) -> LocalFeatures:
    """No keypoints, with the descriptor shape of ``kind`` ("xfeat", "orb", "sift")."""
    dim, dtype = {"orb": (32, np.uint8), "sift": (128, np.float32)}.get(kind, (64, np.float32))
    return LocalFeatures(np.zeros((0, 2), np.float32), np.zeros((0, dim), dtype), size, kind)


def structure_score(gray: np.ndarray) -> float:
    """How clearly a photo shows structure a spot could be recognised by; < 1: almost none.

    The minimum over five tests, each scaled so that its threshold scores 1:

    * flat: standard deviation of the image averaged over 8x8 blocks (a flat field, a
      black pocket shot, a fog with nothing in it) >= STRUCTURE_FLAT_STD grey levels;
    * noise: variance kept from 4x4 to 8x8 block averages >= STRUCTURE_MIN_OCTAVE_RATIO.
      Photos keep most of it (their detail is spatially coherent: 0.78-0.99 measured),
      white noise keeps a quarter, fine patterns (stripes, grids) almost nothing;
    * smooth: mid-scale detail (difference of Gaussians at 192 px) over overall contrast
      >= STRUCTURE_MIN_DETAIL (a gradient, a vignette, a fog with nothing in it);
    * one direction: mean smaller / larger eigenvalue of the local structure tensor at
      192 px >= STRUCTURE_MIN_2D (stripes, colour bars, ramps and gradients have edges in
      one direction only);
    * periodic: highest correlation of the band-passed image with a shifted copy of itself
      <= STRUCTURE_MAX_PERIODIC (checkerboards, grids).

    gray: uint8 [H, W] work image. Images with a side under 48 px score 1 (too small to tell).
    """
    g = np.asarray(gray, np.float32)
    h, w = g.shape[:2]
    if min(h, w) < 48:
        return 1.0
    b4 = cv2.resize(g, (w // 4, h // 4), interpolation=cv2.INTER_AREA)
    b8 = cv2.resize(g, (w // 8, h // 8), interpolation=cv2.INTER_AREA)
    v4, v8 = float(b4.var()), float(b8.var())
    flat = math.sqrt(v8) / STRUCTURE_FLAT_STD
    octave = (v8 / v4 if v4 > 0 else 0.0) / STRUCTURE_MIN_OCTAVE_RATIO
    s = 192 / max(h, w)
    m = cv2.resize(g, (max(8, round(w * s)), max(8, round(h * s))), interpolation=cv2.INTER_AREA)
    gx = cv2.Sobel(m, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(m, cv2.CV_32F, 0, 1)
    jxx = cv2.GaussianBlur(gx * gx, (0, 0), 2)
    jyy = cv2.GaussianBlur(gy * gy, (0, 0), 2)
    jxy = cv2.GaussianBlur(gx * gy, (0, 0), 2)
    half = (jxx + jyy) / 2
    disc = np.sqrt(np.maximum(half * half - (jxx * jyy - jxy * jxy), 0))
    big = float((half + disc).mean())
    two_d = (float((half - disc).mean()) / big if big > 0 else 0.0) / STRUCTURE_MIN_2D
    band = (cv2.GaussianBlur(m, (0, 0), 1) - cv2.GaussianBlur(m, (0, 0), 4)).astype(np.float64)
    contrast = float(m.std())
    detail = (float(band.std()) / contrast if contrast > 0 else 0.0) / STRUCTURE_MIN_DETAIL
    band -= band.mean()
    periodic = (1.0 - _self_similarity(band)) / (1.0 - STRUCTURE_MAX_PERIODIC)
    return float(min(flat, octave, detail, two_d, periodic))


def _self_similarity(band: np.ndarray, min_shift: int = 6) -> float:
    """Highest normalised autocorrelation of ``band`` at shifts of more than ``min_shift``
    px where the shifted copies overlap by at least half."""
    hh, ww = band.shape
    energy = float((band * band).mean())
    if energy <= 1e-12:
        return 0.0
    spec = np.fft.rfft2(band, s=(2 * hh, 2 * ww))
    ac = np.fft.fftshift(np.fft.irfft2(spec * np.conj(spec), s=(2 * hh, 2 * ww)))
    dy = np.abs(np.arange(2 * hh) - hh)[:, None]
    dx = np.abs(np.arange(2 * ww) - ww)[None, :]
    overlap = np.maximum(hh - dy, 0) * np.maximum(ww - dx, 0)
    valid = (overlap >= 0.5 * hh * ww) & (dy * dy + dx * dx > min_shift * min_shift)
    if not valid.any():
        return 0.0
    corr = ac[valid] / overlap[valid] / energy
    return float(corr.max())


class FeatureCache:
    """Analyses on disk: ``root/<feature_version>/<key[:2]>/<key>.npz``.

    Writes go to a temporary file renamed into place, so a power cut leaves either the
    old entry or the new one, never half a file; an unreadable entry counts as a miss.
    """

    def __init__(self, root: str | Path, version: str):
        self.dir = Path(root) / version

    def _path(self, key: str) -> Path:
        return sharded_path(self.dir, key)

    def has(self, key: str) -> bool:
        return self._path(key).is_file()

    def get(self, key: str) -> PhotoAnalysis | None:
        p = self._path(key)
        if not p.is_file():
            return None
        try:
            with np.load(p, allow_pickle=False) as z:
                info = json.loads(str(z["info"]))
                feats = LocalFeatures(z["xy"], z["desc"], tuple(info["work_size"]), info["kind"])
                meta = PhotoMeta(info["taken_at"], tuple(info["gps"]) if info["gps"] else None, info["camera"])
                return PhotoAnalysis(key, tuple(info["size"]), meta, z["embedding"], feats, info["transient"],
                                     float(info["structure"]), [str(n) for n in info.get("notes", [])])
        except Exception:  # noqa: BLE001 - a damaged cache entry is a miss
            return None

    def put(self, a: PhotoAnalysis) -> None:
        p = self._path(a.key)
        p.parent.mkdir(parents=True, exist_ok=True)
        info = {"size": list(a.size), "work_size": list(a.features.size), "kind": a.features.kind,
                "taken_at": a.meta.taken_at, "gps": list(a.meta.gps) if a.meta.gps else None,
                "camera": a.meta.camera, "transient": a.transient, "structure": a.structure,
                "notes": list(a.notes)}
        buf = io.BytesIO()
        np.savez(buf, info=np.array(json.dumps(info)), xy=a.features.xy, desc=a.features.desc, embedding=a.embedding)
        write_atomic(p, buf.getvalue())


class SpilledFeatures:
    """Local features kept outside memory (a :class:`FeatureSpill`'s file or a
    :class:`FeatureShelf`'s cache): the keypoint count, work-image size and kind stay in
    memory; ``xy`` and ``desc`` are read back when used (see
    :class:`~edge_app.engine.vision.features.LocalFeatures`, which this stands in for). ``ref`` is
    where the source finds them (a file offset, a photo key)."""

    __slots__ = ("spill", "ref", "n", "dim", "dtype", "size", "kind")

    def __init__(self, spill, ref, n: int, dim: int, dtype: str, size, kind: str):
        self.spill, self.ref, self.n, self.dim, self.dtype, self.size, self.kind = (
            spill, ref, n, dim, dtype, size, kind)

    def __len__(self) -> int:
        return self.n

    def load(self) -> LocalFeatures:
        return self.spill.load(self)

    @property
    def xy(self) -> np.ndarray:
        return self.load().xy

    @property
    def desc(self) -> np.ndarray:
        return self.load().desc

    def head(self, k: int) -> LocalFeatures:
        return self.load().head(k)


class _KeptFeatures:
    """The most recently used :class:`LocalFeatures`, at most ``keep_bytes`` of them (always
    at least one). Thread-safe."""

    def __init__(self, keep_bytes: int):
        self.keep_bytes = keep_bytes
        self._lock = threading.Lock()
        self._kept: OrderedDict[object, LocalFeatures] = OrderedDict()
        self._held = 0

    def get(self, ref) -> LocalFeatures | None:
        with self._lock:
            hit = self._kept.get(ref)
            if hit is not None:
                self._kept.move_to_end(ref)
            return hit

    def __len__(self) -> int:
        return len(self._kept)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
            self._held = 0

    def put(self, ref, f: LocalFeatures) -> None:
        with self._lock:
            if ref in self._kept:
                return
            self._kept[ref] = f
            self._held += f.xy.nbytes + f.desc.nbytes
            while self._held > self.keep_bytes and len(self._kept) > 1:
                _, old = self._kept.popitem(last=False)
                self._held -= old.xy.nbytes + old.desc.nbytes


class FeatureSpill:
    """Local features of many photos in one temporary file (unlinked at once, gone with the
    process), read back through a small in-memory cache of ``keep_bytes``.

    A photo's features are 0.27 MB (1000 XFeat keypoints): a 3000-photo session would hold
    0.8 GB of them. Spilled, the process holds only those in use; the file's pages stay in
    the operating system's cache, which gives them up under memory pressure. Thread-safe.
    """

    def __init__(self, folder: str | Path | None = None, keep_bytes: int = 48 << 20):
        self._file = tempfile.TemporaryFile(dir=folder, prefix="edge-app-features-")
        self._end = 0
        self._lock = threading.Lock()
        self._kept = _KeptFeatures(keep_bytes)

    def park(self, f: LocalFeatures) -> SpilledFeatures:
        """Write ``f`` to the file; returns the stand-in that reads it back."""
        xy = np.ascontiguousarray(f.xy, np.float32)
        desc = np.ascontiguousarray(f.desc)
        blob = xy.tobytes() + desc.tobytes()
        with self._lock:
            offset = self._end
            self._end += len(blob)
        os.pwrite(self._file.fileno(), blob, offset)
        return SpilledFeatures(self, offset, len(xy), desc.shape[1], desc.dtype.str, tuple(f.size), f.kind)

    def load(self, h: SpilledFeatures) -> LocalFeatures:
        hit = self._kept.get(h.ref)
        if hit is not None:
            return hit
        dtype = np.dtype(h.dtype)
        nbytes = h.n * 8 + h.n * h.dim * dtype.itemsize
        raw = os.pread(self._file.fileno(), nbytes, h.ref)
        xy = np.frombuffer(raw, np.float32, h.n * 2).reshape(h.n, 2)
        desc = np.frombuffer(raw, dtype, h.n * h.dim, h.n * 8).reshape(h.n, h.dim)
        f = LocalFeatures(xy, desc, h.size, h.kind)
        self._kept.put(h.ref, f)
        return f


class FeatureShelf:
    """Local features left in a :class:`FeatureCache` and read back from it when used, for a
    long-lived process that keeps many photos at hand (the site app's worker).

    :meth:`shelve` turns an analysis into one whose features are a :class:`SpilledFeatures`
    stand-in (the embedding and metadata stay in memory: a few kB a photo, against 0.27 MB
    with the features). ``keep_bytes`` of recently used features stay in memory.
    recover(key): the features again when the cache entry is gone or damaged (e.g. the
    photo analysed anew); without them the photo's keypoints match nothing (its stand-in
    keeps its length: callers size arrays by it).
    """

    def __init__(self, cache: FeatureCache, recover: Callable[[str], LocalFeatures | None] | None = None,
                 keep_bytes: int = 48 << 20):
        self.cache = cache
        self.recover = recover
        self._kept = _KeptFeatures(keep_bytes)

    def shelve(self, a: PhotoAnalysis) -> PhotoAnalysis:
        """``a`` with its features on the shelf; unchanged when the cache lacks its entry."""
        f = a.features
        if isinstance(f, SpilledFeatures) or not self.cache.has(a.key):
            return a
        return dataclasses.replace(a, features=SpilledFeatures(
            self, a.key, len(f), int(f.desc.shape[1]), f.desc.dtype.str, tuple(f.size), f.kind))

    def forget(self) -> None:
        """Drop the features kept in memory (they are read from the cache again)."""
        self._kept.clear()

    def load(self, h: SpilledFeatures) -> LocalFeatures:
        hit = self._kept.get(h.ref)
        if hit is not None:
            return hit
        a = self.cache.get(h.ref)
        f = a.features if a is not None else None
        if f is None or len(f) != h.n:
            log.warning("features of %s missing from the cache", h.ref[:12])
            f = self.recover(h.ref) if self.recover is not None else None
            f = _exactly(f, h)
        self._kept.put(h.ref, f)
        return f


def _exactly(f: LocalFeatures | None, h: SpilledFeatures) -> LocalFeatures:
    """``f`` with exactly the ``h.n`` keypoints its stand-in promised (callers size arrays by
    ``len``): cut to the best ``h.n``, or filled up with zero descriptors, which match nothing;
    none at all when ``f`` is None (the photo has no usable features any more)."""
    dtype = np.dtype(h.dtype)
    if f is None:
        return LocalFeatures(np.zeros((h.n, 2), np.float32), np.zeros((h.n, h.dim), dtype), h.size, h.kind)
    if len(f) >= h.n:
        return f.head(h.n)
    pad = h.n - len(f)
    return LocalFeatures(np.concatenate([np.asarray(f.xy, np.float32), np.zeros((pad, 2), np.float32)]),
                         np.concatenate([np.asarray(f.desc, dtype), np.zeros((pad, h.dim), dtype)]), h.size, h.kind)


#: Photos :class:`ReadAhead` may hold prepared and not yet taken in
#: :meth:`Analyzer.analyze_many` (768 px work images: 1.3 MB each). Loading the models
#: takes as long as decoding about 10 camera originals.
READ_AHEAD = 16


@dataclass
class Prepared:
    """A photo before its models: ``key`` (sha256 of its bytes), and its analysis from the
    cache (``hit``) or its decoded work image (``decoded``)."""

    key: str
    hit: PhotoAnalysis | None = None
    decoded: Decoded | None = None


class ReadAhead:
    """Photos prepared in order on a thread of its own (read, looked up in the cache,
    decoded: libjpeg and OpenCV let go of the GIL), at most ``depth`` of them held, while
    the caller does something else (loads the models). :meth:`take` hands a photo over;
    a photo the thread has not begun is left to the one who asks for it. Thread-safe.

    prepare(path) -> :class:`Prepared`; what it raises is raised again by :meth:`take`.
    """

    def __init__(self, prepare: Callable[[str | Path], Prepared], paths: Sequence[str | Path], depth: int):
        self._prepare = prepare
        self._paths = paths
        self._depth = depth
        self._cond = threading.Condition()
        self._owner: list[str | None] = [None] * len(paths)  # "ahead" or "caller", once claimed
        self._held: dict[int, tuple[Prepared | None, BaseException | None]] = {}
        self._next = 0
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="edge-app-read-ahead", daemon=True)
        self._thread.start()

    def _claim(self) -> int | None:
        """The next photo nobody claimed, claimed for the thread, once there is room; None
        when there is none or the thread was stopped."""
        with self._cond:
            self._cond.wait_for(lambda: self._stopped or len(self._held) < self._depth)
            while self._next < len(self._paths) and self._owner[self._next] is not None:
                self._next += 1
            if self._stopped or self._next >= len(self._paths):
                return None
            self._owner[self._next] = "ahead"
            return self._next

    def _run(self) -> None:
        while (i := self._claim()) is not None:
            try:
                got = (self._prepare(self._paths[i]), None)
            except BaseException as e:  # noqa: BLE001 - raised again in the thread that takes it
                got = (None, e)
            with self._cond:
                self._held[i] = got
                self._cond.notify_all()

    def take(self, i: int) -> Prepared | None:
        """Photo ``i`` prepared (waiting while the thread works on it), or None when the
        thread has not begun it: the caller prepares it. Raises what preparing it raised."""
        with self._cond:
            if self._owner[i] is None:
                self._owner[i] = "caller"
                return None
            self._cond.wait_for(lambda: i in self._held)
            prep, err = self._held.pop(i)
            self._cond.notify_all()
        if err is not None:
            raise err
        return prep

    def stop(self) -> None:
        """Begin no other photo (those begun or held can still be taken)."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def close(self) -> None:
        """Stop, wait for the thread, drop what nobody took."""
        self.stop()
        self._thread.join()
        with self._cond:
            self._held.clear()


class Analyzer:
    """Runs the per-photo stages with models loaded once.

    settings: the pipeline settings; cache: optional :class:`FeatureCache` (or anything
    with ``get(key)`` / ``put(analysis)``). Thread-safe: :meth:`analyze_many` runs photos
    on ``settings.threads`` worker threads (onnxruntime and OpenCV release the GIL).
    """

    def __init__(self, settings: Settings | None = None, cache: FeatureCache | None = None, models_dir=None):
        self.settings = settings or Settings()
        self.cache = cache
        self.models_dir = models_dir
        self._lock = threading.Lock()
        #: Seconds spent per stage ("decode", "mask", "embed", "features"), one entry per photo.
        self.stage_seconds: dict[str, list[float]] = {}
        self._embedder = None
        self._segmenter = None
        self._xfeat = None

    # -- models (lazy, one load per process) -------------------------------------------
    def _threads_per_model(self) -> int:
        return 1 if self.workers() > 1 else 0

    def workers(self) -> int:
        return self.settings.threads or os.cpu_count() or 1

    def _model(self, attr: str, build):
        """The model object in ``attr``, built once by ``build(threads)`` under the lock."""
        with self._lock:
            if getattr(self, attr) is None:
                setattr(self, attr, build(self._threads_per_model() or None))
            return getattr(self, attr)

    @property
    def embedder(self):
        from .vision.embed import Embedder
        from .vision.models import load_model

        return self._model("_embedder", lambda t: Embedder(load_model("embedding", models_dir=self.models_dir,
                                                                      threads=t)))

    @property
    def segmenter(self):
        from .vision.models import load_model
        from .vision.segment import Segmenter

        return self._model("_segmenter", lambda t: Segmenter(load_model("segmentation", models_dir=self.models_dir,
                                                                        threads=t)))

    @property
    def xfeat(self) -> XFeatExtractor:
        from .vision.models import load_model

        return self._model("_xfeat", lambda t: XFeatExtractor(
            load_model("local_features", models_dir=self.models_dir, threads=t),
            max_side=self.settings.xfeat_max_side))

    def load_models(self) -> None:
        """Load every model now (a server does this at start-up, not on the first photo)."""
        _ = self.embedder
        if self.settings.use_segmentation:
            _ = self.segmenter
        if self.settings.local_features == "xfeat":
            _ = self.xfeat

    # -- one photo -------------------------------------------------------------------
    def _timed(self, stage: str, t0: float) -> float:
        t1 = time.perf_counter()
        self.stage_seconds.setdefault(stage, []).append(t1 - t0)
        return t1

    def analyze_decoded(self, key: str, dec: Decoded) -> PhotoAnalysis:
        """The analysis of a decoded photo. A photo with almost no structure (noise, a flat
        field, a test pattern: :func:`structure_score` < 1) can never form a spot, so it
        gets its embedding but neither the person mask nor local features (no keypoints)."""
        s = self.settings
        rgb = dec.rgb
        gray = to_gray(rgb)
        structure = structure_score(gray)
        t = time.perf_counter()
        bare = structure < 1.0
        mask = self.segmenter.mask(rgb) if s.use_segmentation and not bare else None
        transient = float((mask >= s.mask_threshold).mean()) if mask is not None else 0.0
        t = self._timed("mask", t)
        if s.embed_grey_clahe and self.embedder.spec.resize == "squash":
            # Normalise at the network's input size: same result, a third of the cost.
            spec = self.embedder.spec
            small = cv2.resize(gray, (spec.width, spec.height), interpolation=cv2.INTER_AREA)
            emb_in = np.repeat(normalise_contrast(small)[:, :, None], 3, axis=2)
        elif s.embed_grey_clahe:
            emb_in = np.repeat(normalise_contrast(gray)[:, :, None], 3, axis=2)
        else:
            emb_in = rgb
        emb = self.embedder.embed(emb_in, mask)
        t = self._timed("embed", t)
        if bare:
            feats = no_features(s.local_features, (gray.shape[1], gray.shape[0]))
        elif s.local_features == "xfeat":
            g = normalise_contrast(gray) if s.features_clahe else gray
            feats = self.xfeat(g, mask, s.max_keypoints, s.mask_threshold)
        else:
            feats = extract_features(gray, mask, s.local_features, s.max_keypoints, clahe=s.features_clahe,
                                     mask_threshold=s.mask_threshold)
        self._timed("features", t)
        return PhotoAnalysis(key, dec.full_size, read_meta(dec.exif), emb.astype(np.float32), feats, transient,
                             structure, list(dec.notes))

    def prepare_bytes(self, data: bytes, name: str = "<bytes>") -> Prepared:
        """What comes before the models: the photo's key, then its analysis from the cache
        or its decoded work image. Raises ImageError."""
        key = sha256_bytes(data)
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                return Prepared(key, hit=hit)
        t = time.perf_counter()
        try:
            dec = decode_image(data, self.settings.work_max_side)
        except ImageError as e:
            raise ImageError(name, e.reason, e.detail) from None
        self._timed("decode", t)
        return Prepared(key, decoded=dec)

    def prepare_path(self, path: str | Path) -> Prepared:
        """:meth:`prepare_bytes` of a photo file. Raises ImageError."""
        return self.prepare_bytes(read_photo_bytes(path), str(path))

    def finish(self, prep: Prepared) -> PhotoAnalysis:
        """The analysis of a prepared photo: the cache's, else made by the models (and kept
        in the cache)."""
        if prep.hit is not None:
            return prep.hit
        a = self.analyze_decoded(prep.key, prep.decoded)
        if self.cache is not None:
            self.cache.put(a)
        return a

    def analyze_bytes(self, data: bytes, name: str = "<bytes>") -> PhotoAnalysis:
        """Analyse one photo given its file bytes (cache first). Raises ImageError."""
        return self.finish(self.prepare_bytes(data, name))

    def analyze_path(self, path: str | Path) -> PhotoAnalysis:
        return self.analyze_bytes(read_photo_bytes(path), str(path))

    def analyze_many(
        self, paths: Sequence[str | Path], progress: Callable[[int, int], None] | None = None,
        spill: FeatureSpill | None = None,
    ) -> tuple[list[PhotoAnalysis | None], list[AnalysisError]]:
        """Analyse many photos on worker threads.

        Returns (analyses, errors): ``analyses[i]`` is None for a photo that failed, and
        ``errors`` lists those with their reason. One bad file never stops the others.
        spill: keep each photo's local features there, not in memory (many photos).
        With several workers the first photos are read and decoded (:class:`ReadAhead`)
        while the models load, on a core that would wait otherwise.
        """
        workers = self.workers()
        with side_by_side(workers):
            ahead = ReadAhead(self.prepare_path, paths, READ_AHEAD) if workers > 1 else None
            try:
                self.load_models()
                if ahead is not None:
                    ahead.stop()
                return self._analyze_all(paths, progress, spill, ahead)
            finally:
                if ahead is not None:
                    ahead.close()

    def _analyze_all(self, paths, progress, spill, ahead: ReadAhead | None):
        """:meth:`analyze_many` once the models are loaded; a photo ``ahead`` prepared is
        taken from it, the others are prepared by the worker."""
        out: list[PhotoAnalysis | None] = [None] * len(paths)
        errors: list[AnalysisError] = []
        done = 0

        def work(i):
            try:
                prep = ahead.take(i) if ahead is not None else None
                a = self.finish(prep if prep is not None else self.prepare_path(paths[i]))
                return i, a if spill is None else dataclasses.replace(a, features=spill.park(a.features)), None
            except ImageError as e:
                return i, None, AnalysisError(str(paths[i]), e.reason, e.detail)
            except MemoryError:
                return i, None, AnalysisError(str(paths[i]), "too large to process", "out of memory")
            except Exception as e:  # noqa: BLE001 - one photo must not stop the others
                log.exception("analysing %s failed", paths[i])
                return i, None, AnalysisError(str(paths[i]), "could not be analysed", f"{type(e).__name__}: {e}")

        n = self.workers()
        with ThreadPoolExecutor(max(1, min(n, len(paths)))) as ex, threadpool_limits(1 if n > 1 else None):
            for i, a, err in ex.map(work, range(len(paths))):
                out[i] = a
                if err:
                    errors.append(err)
                done += 1
                if progress:
                    progress(done, len(paths))
        return out, errors
