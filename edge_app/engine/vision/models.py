"""Load the ONNX models listed in ``models/manifest.json`` with onnxruntime.

The manifest is the single place that names the model files. Each entry::

    {"name": "embedding-lite0-int8", "role": "embedding", "default": true,
     "file": "embedding-lite0-int8.onnx", "sha256": "...",
     "input": {"name": "image", "shape": [1, 3, 256, 256], "dtype": "float32",
               "layout": "NCHW", "color": "RGB", "mean": [...], "std": [...]},
     "output": {"name": "features", "shape": [1, 320, 8, 8]}, ...}

:func:`load_model` picks the default entry for a role, checks the file's sha256,
and opens an ``onnxruntime.InferenceSession`` on the first execution provider that
really runs a test inference (TensorRT, then CUDA, then CPU), so a Jetson build of
onnxruntime uses its GPU and a laptop falls back to the CPU.

On the CPU, the graph onnxruntime optimises a verified model into (two thirds of what
opening it costs) is kept on disk for the next start (:func:`optimized_cache_dir`), as
TensorRT keeps its engines: keyed by the model's sha256, onnxruntime's version, the
session's settings and the CPU, and checked against its own sha256 when read back.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ... import app_settings
from ...fileio import user_cache_dir

log = logging.getLogger(__name__)

#: Order in which execution providers are tried; only those the installed
#: onnxruntime offers are considered.
PREFERRED_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")


class ModelError(RuntimeError):
    """A model file is missing, corrupted, or does not match the manifest."""


def default_models_dir() -> Path:
    """The setting ``engine.models`` (``$EDGE_APP_MODELS``) if set; else the models shipped
    inside the installed package (``edge_app/models``, copied there when a wheel is built);
    else the top-level ``models/`` folder of a source checkout (an editable install), which
    is their source."""
    env = app_settings.value("engine.models")
    if env:
        return Path(env)
    packaged = Path(__file__).resolve().parents[2] / "models"
    if (packaged / "manifest.json").is_file():
        return packaged
    return Path(__file__).resolve().parents[3] / "models"


def trt_cache_dir() -> Path:
    """Where TensorRT keeps its built engines between starts: the setting
    ``engine.trt_cache`` (``$EDGE_APP_TRT_CACHE``), else ``$XDG_CACHE_HOME/edge_app/trt``
    (``~/.cache/edge_app/trt``)."""
    env = app_settings.value("engine.trt_cache")
    if env:
        return Path(env)
    return user_cache_dir("trt")


def optimized_cache_dir() -> Path:
    """Where the CPU's optimised model graphs are kept between starts (:func:`open_session`):
    ``$XDG_CACHE_HOME/edge_app/ort`` (``~/.cache/edge_app/ort``)."""
    return user_cache_dir("ort")


@functools.lru_cache(maxsize=1)
def cpu_identity() -> str:
    """The CPU as far as onnxruntime's optimised graphs depend on it: the architecture and
    the model name and instruction-set flags of its first core (``/proc/cpuinfo``)."""
    keys = ("model name", "flags", "features", "cpu part", "cpu implementer")
    lines = []
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break  # the first core only
                if line.split(":")[0].strip().lower() in keys:
                    lines.append(" ".join(line.split()))
    except OSError:
        pass
    return "|".join([platform.machine(), platform.processor()] + lines)


def optimized_key(digest: str, threads: int | None, arena: bool) -> str:
    """Name (hex) of the optimised graph of the model with sha256 ``digest`` opened with
    :func:`_session_options` ``(threads, arena)`` on this CPU by this onnxruntime."""
    import onnxruntime as ort

    parts = [digest, ort.__version__, ort.get_device(), cpu_identity(), repr(EXACT_INT8), "ORT_ENABLE_ALL",
             str(threads), str(arena)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _read_optimized(path: Path) -> bool:
    """Whether the optimised graph at ``path`` is whole: its sha256 is the one written
    beside it (``<path>.sha256``) when it was made."""
    try:
        want = Path(f"{path}.sha256").read_text().strip()
    except OSError:
        return False
    return path.is_file() and sha256_file(path) == want


def _publish_optimized(tmp: Path, path: Path) -> None:
    """Move the graph onnxruntime wrote to ``tmp`` to ``path``, with its sha256 beside it
    (written first: a reader sees either no graph or a whole one with its digest)."""
    side = Path(f"{path}.sha256")
    side_tmp = Path(f"{tmp}.sha256")
    side_tmp.write_text(sha256_file(tmp) + "\n")
    os.replace(side_tmp, side)
    os.replace(tmp, path)


def _remove_quietly(*paths: Path) -> None:
    """Remove what of ``paths`` there is, ignoring any error."""
    for p in paths:
        try:
            p.unlink(missing_ok=True)
        except OSError:
            pass


def _cpu_session(path: Path, digest: str | None, threads: int | None, arena: bool):
    """An onnxruntime CPU session of ``path``: from its optimised graph kept by an earlier
    start when there is a whole one (read as it is, no optimisation again), else optimised
    here and its graph kept for the next start (when ``digest``, the verified sha256 of
    ``path``, is known and the cache folder can be written)."""
    import onnxruntime as ort

    if digest is None:
        return ort.InferenceSession(str(path), sess_options=_session_options(threads, arena),
                                    providers=["CPUExecutionProvider"])
    folder = optimized_cache_dir()
    kept = folder / f"{optimized_key(digest, threads, arena)}.onnx"
    if _read_optimized(kept):
        so = _session_options(threads, arena)
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        try:
            return ort.InferenceSession(str(kept), sess_options=so, providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 - made anew below
            log.info("kept optimised graph %s not usable: %s", kept, e)
    tmp = folder / f"{kept.stem}.{os.getpid()}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        so = _session_options(threads, arena)
        so.optimized_model_filepath = str(tmp)
        sess = ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - the session without keeping its graph
        log.info("optimised graph of %s cannot be kept in %s: %s", path.name, folder, e)
        _remove_quietly(tmp)
        return ort.InferenceSession(str(path), sess_options=_session_options(threads, arena),
                                    providers=["CPUExecutionProvider"])
    try:
        _publish_optimized(tmp, kept)
    except OSError as e:
        log.info("optimised graph of %s not kept in %s: %s", path.name, folder, e)
        _remove_quietly(tmp, Path(f"{tmp}.sha256"))
    return sess


def provider_options(provider: str) -> dict:
    """Options for an execution provider. TensorRT: engines and timing data cached on disk
    (a reboot reuses them instead of rebuilding for minutes), FP16 where the GPU has it."""
    if provider != "TensorrtExecutionProvider":
        return {}
    cache = trt_cache_dir()
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:
        log.warning("TensorRT cache folder %s cannot be made; engines are rebuilt at each start", cache)
    return {"trt_engine_cache_enable": "True", "trt_engine_cache_path": str(cache), "trt_timing_cache_enable": "True",
            "trt_timing_cache_path": str(cache), "trt_fp16_enable": "True"}


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def load_manifest(models_dir: Path | None = None) -> dict:
    """Read ``manifest.json``; raises :class:`ModelError` naming the path when absent or invalid."""
    models_dir = Path(models_dir) if models_dir else default_models_dir()
    path = models_dir / "manifest.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(f"model manifest not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelError(f"model manifest is not valid JSON: {path}: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise ModelError(f"model manifest has no 'models' list: {path}")
    return data


def find_entry(manifest: dict, role: str | None = None, name: str | None = None) -> dict:
    """The manifest entry with ``name``, or the default (else only) entry for ``role``."""
    entries = manifest["models"]
    if name is not None:
        for e in entries:
            if e.get("name") == name:
                return e
        raise ModelError(f"no model named {name!r} in the manifest")
    cands = [e for e in entries if e.get("role") == role]
    if not cands:
        raise ModelError(f"no model with role {role!r} in the manifest")
    defaults = [e for e in cands if e.get("default")]
    return (defaults or cands)[0]


@dataclass
class LoadedModel:
    """An open onnxruntime session and its manifest entry."""

    entry: dict
    session: Any
    provider: str
    path: Path
    input_name: str = field(init=False)
    output_names: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [o.name for o in self.session.get_outputs()]

    @property
    def name(self) -> str:
        return self.entry["name"]

    @property
    def input_shape(self) -> list:
        """Declared input shape, e.g. ``[1, 3, 256, 256]`` (strings for dynamic axes)."""
        return list(self.session.get_inputs()[0].shape)

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        """Run on one input array; returns every output, in manifest order."""
        return self.session.run(self.output_names, {self.input_name: x})


#: onnxruntime's session setting that computes int8 layers exactly on every x86 CPU.
#: The models store signed int8 weights (TensorRT needs them so). On a CPU without VNNI
#: (AVX2, AVX-512 without VNNI: most laptops and older servers) onnxruntime's default int8
#: kernel adds pairs of uint8 x int8 products in 16 bits, which saturate: the same photo
#: then gets other features and embeddings than on a VNNI CPU or an ARM board, and the
#: grouping differs (dev sets, seed 7, fast path: ARI 0.833 saturated vs 0.854 exact on an
#: AVX2 CPU; issue 21). With this set, such CPUs use the exact uint8 x uint8 kernels (the
#: weights shifted by 128 at load time); CPUs that cannot saturate are not affected.
EXACT_INT8 = ("session.x64quantprecision", "1")


def exact_int8(so):
    """``so`` (onnxruntime.SessionOptions) with :data:`EXACT_INT8` set; returned for chaining."""
    so.add_session_config_entry(*EXACT_INT8)
    return so


def _session_options(threads: int | None, arena: bool = True):
    import onnxruntime as ort

    so = exact_int8(ort.SessionOptions())
    # Without the arena, what one inference allocates is given back after it (ALIKED holds
    # 0.6 GB of activations at 640x480: with the arena a session keeps 0.8-1.4 GB for good).
    so.enable_cpu_mem_arena = arena
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    if threads:
        so.intra_op_num_threads = int(threads)
        so.inter_op_num_threads = 1
    return so


_ORT_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(int64)": np.int64,
               "tensor(int32)": np.int32, "tensor(uint8)": np.uint8, "tensor(int8)": np.int8}


def _test_feed(session) -> dict[str, np.ndarray]:
    """Small zero inputs for every graph input: batch 1, and 64 for any other dynamic axis."""
    feed = {}
    for inp in session.get_inputs():
        shape = [d if isinstance(d, int) and d > 0 else (1 if k == 0 else 64) for k, d in enumerate(inp.shape)]
        feed[inp.name] = np.zeros(shape, _ORT_DTYPES.get(inp.type, np.float32))
    return feed


def open_session(path: Path, providers: Sequence[str] | None = None, threads: int | None = None,
                 arena: bool = True, digest: str | None = None, cpu_test: bool = True):
    """Open ``path`` on the first provider in ``providers`` that runs a test inference
    (``arena``: onnxruntime's CPU memory arena, see :func:`_session_options`). On the CPU,
    with ``digest`` (the sha256 ``path`` was verified to have) its optimised graph is kept
    between starts (:func:`_cpu_session`). cpu_test: False skips the test inference on the
    CPU, where a session that opens also runs (a GPU provider is always tested: that is where
    a missing library or a rejected op shows); for a large fixed-size graph it is a whole
    inference (ALIKED at 640x480: 0.5 s).

    Returns ``(session, provider)``, the provider the session runs on. A provider that fails to create the session or to run
    a zero input (a missing CUDA library, an op TensorRT rejects) is skipped with a log line.
    """
    import onnxruntime as ort

    available = set(ort.get_available_providers())
    wanted = [p for p in (providers or PREFERRED_PROVIDERS) if p in available]
    if "CPUExecutionProvider" not in wanted:
        wanted.append("CPUExecutionProvider")
    last_err: Exception | None = None
    for prov in wanted:
        try:
            opts = provider_options(prov)
            if prov == "CPUExecutionProvider":
                sess = _cpu_session(path, digest, threads, arena)
            else:
                sess = ort.InferenceSession(str(path), sess_options=_session_options(threads, arena),
                                            providers=[(prov, opts) if opts else prov])
            if prov != "CPUExecutionProvider" or cpu_test:
                sess.run(None, _test_feed(sess))
            # the provider the session really runs on: a GPU build of onnxruntime without a
            # working CUDA falls back to the CPU by itself, and the app must say so
            return sess, sess.get_providers()[0]
        except Exception as e:  # noqa: BLE001 - any failure means: try the next provider
            log.info("provider %s rejected %s: %s", prov, path.name, e)
            last_err = e
    raise ModelError(f"model {path} could not be opened on any provider ({', '.join(wanted)}): {last_err}")


def load_model(
    role: str | None = None,
    *,
    name: str | None = None,
    models_dir: Path | None = None,
    providers: Sequence[str] | None = None,
    threads: int | None = None,
    verify: bool = True,
    arena: bool = True,
    cpu_test: bool = True,
) -> LoadedModel:
    """Load the default model for ``role`` (or the model ``name``) from the manifest
    (``arena``: keep onnxruntime's CPU memory arena, :func:`_session_options`; ``cpu_test``:
    :func:`open_session`'s).

    Raises :class:`ModelError` with the path when the file is missing, its sha256 differs
    from the manifest (corrupted or swapped), or onnxruntime cannot open it.
    """
    models_dir = Path(models_dir) if models_dir else default_models_dir()
    entry = find_entry(load_manifest(models_dir), role=role, name=name)
    path = models_dir / entry["file"]
    if not path.is_file():
        raise ModelError(f"model file missing: {path} (listed in {models_dir / 'manifest.json'})")
    digest = None
    if verify and entry.get("sha256"):
        digest = sha256_file(path)
        if digest != entry["sha256"]:
            raise ModelError(
                f"model file {path} does not match the manifest: sha256 {digest[:12]}... "
                f"!= {entry['sha256'][:12]}... (corrupted or replaced; rebuild with export/)"
            )
    sess, prov = open_session(path, providers=providers, threads=threads, arena=arena, digest=digest,
                              cpu_test=cpu_test)
    return LoadedModel(entry=entry, session=sess, provider=prov, path=path)


def models_fingerprint(models_dir: Path | None = None) -> str:
    """Short hash of the default model of every role (their sha256s): part of the feature
    cache key, so replacing a model never serves features computed by the old one. Optional
    models (``"optional": true``: the cascade's, which keep a cache of their own) do not count."""
    try:
        manifest = load_manifest(models_dir)
    except ModelError:
        return "nomodels"
    parts = sorted(f"{e.get('role')}:{e.get('sha256')}" for e in manifest["models"]
                   if e.get("default") and not e.get("optional"))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:8]
