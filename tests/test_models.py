"""models/manifest.json and edge_app.engine.vision.models: real files, real onnxruntime, no mocks."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from edge_app.engine.vision.models import (
    PREFERRED_PROVIDERS,
    LoadedModel,
    ModelError,
    default_models_dir,
    find_entry,
    load_manifest,
    load_model,
    optimized_cache_dir,
    sha256_file,
)

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
REQUIRED_KEYS = ("name", "role", "file", "sha256", "source", "licence", "input", "output", "parity", "latency")


@pytest.fixture(scope="module")
def manifest() -> dict:
    return load_manifest(MODELS)


def _copy_models(tmp_path: Path, with_files: bool = True) -> Path:
    dst = tmp_path / "models"
    dst.mkdir()
    shutil.copyfile(MODELS / "manifest.json", dst / "manifest.json")
    if with_files:
        entry = find_entry(load_manifest(MODELS), role="embedding")
        shutil.copyfile(MODELS / entry["file"], dst / entry["file"])
    return dst


# --------------------------------------------------------------------------- manifest content


def test_default_models_dir_is_repo_models():
    assert default_models_dir() == MODELS or default_models_dir().resolve() == MODELS.resolve()


def test_manifest_format(manifest):
    assert manifest["version"] == 1
    names = [e["name"] for e in manifest["models"]]
    assert len(names) == len(set(names)), "model names must be unique"
    for e in manifest["models"]:  # every model, whoever exported it
        for k in ("name", "role", "file", "sha256", "source", "licence", "input", "output"):
            assert k in e, f"{e.get('name')}: missing {k}"
        assert "package" in e["source"] and "version" in e["source"]


def test_embedding_entry_format(manifest):
    e = find_entry(manifest, role="embedding")
    for k in REQUIRED_KEYS + ("pooling", "retrieval", "quantization", "build"):
        assert k in e, f"{e['name']}: missing {k}"
    for k in ("package", "version", "file", "sha256"):
        assert k in e["source"], f"{e['name']}: source.{k} missing"
    for k in ("name", "shape", "dtype", "layout", "color", "mean", "std", "resize"):
        assert k in e["input"], f"{e['name']}: input.{k} missing"
    for k in ("name", "shape", "meaning"):
        assert k in e["output"]


def test_every_listed_file_matches_sha256(manifest):
    for e in manifest["models"]:
        path = MODELS / e["file"]
        assert path.is_file(), f"{path} listed in the manifest but absent"
        assert sha256_file(path) == e["sha256"], f"{path} does not match its sha256"


def test_one_default_embedding(manifest):
    embs = [e for e in manifest["models"] if e["role"] == "embedding"]
    assert embs and sum(bool(e.get("default")) for e in embs) == 1


def test_embedding_entry_budget_and_quality(manifest):
    e = find_entry(manifest, role="embedding")
    assert (MODELS / e["file"]).stat().st_size <= 6_000_000, "int8 embedding must stay <= ~6 MB"
    assert e["parity"]["mean_cosine"] >= 0.98
    lat = e["latency"]
    for t in (1, 2):
        assert lat[f"int8_ms_{t}t"] <= lat[f"fp32_ms_{t}t"], "int8 must not be slower than fp32"
    assert len(e.get("comparison", [])) >= 2, "comparison of at least two options recorded"
    assert e["input"]["resize"] in ("squash", "center_crop", "letterbox")
    assert len(e["output"]["shape"]) == 4, "embedding model outputs a spatial feature map [1, C, h, w]"


def test_models_dir_size_budget(manifest):
    """The models the fast path needs stay within 10 MB; the cascade's optional models (the
    thorough pass, docs/models.md) have a budget of their own, 18 MB."""
    optional = {e["file"] for e in manifest["models"] if e.get("optional")}
    files = sorted((p for p in MODELS.rglob("*") if p.is_file() and p.name not in optional),
                   key=lambda p: -p.stat().st_size)
    total = sum(p.stat().st_size for p in files)
    listing = ", ".join(f"{p.name} {p.stat().st_size / 1e6:.2f} MB" for p in files[:6])
    assert total <= 10_000_000, f"models/ is {total / 1e6:.2f} MB > 10 MB budget: {listing}"
    extra = sum((MODELS / f).stat().st_size for f in optional if (MODELS / f).is_file())
    assert extra <= 18_000_000, f"optional models are {extra / 1e6:.2f} MB > 18 MB"
    assert {e["role"] for e in manifest["models"] if e.get("optional")} <= {"cascade_features", "cascade_matcher"}


#: Words of each licence's own text, by the SPDX id a manifest entry's "licence" names it with.
LICENCE_TEXT = {"Apache-2.0": "Apache License", "MIT": "Permission is hereby granted",
                "BSD-3-Clause": "Redistribution and use in source and binary forms"}


def test_every_model_names_its_licence_file_and_the_file_holds_that_licence(manifest):
    """Each shipped model (whoever exported it) says under which licence it is shipped, names
    the file in models/ that holds the licence's text, and that file is there with the text of
    every licence named; no licence file is left in models/ that no model names."""
    named = set()
    for e in manifest["models"]:
        files = re.findall(r"LICENSE-[\w.-]+?\.txt", e["licence"])
        assert files, f"{e['name']}: its licence {e['licence']!r} names no LICENSE-*.txt of models/"
        for f in files:
            assert (MODELS / f).is_file(), f"{e['name']}: {f} is named but not in models/"
        text = "".join((MODELS / f).read_text(encoding="utf-8") for f in files)
        ids = [k for k in LICENCE_TEXT if re.search(rf"(?<![\w-]){re.escape(k)}(?![\w-])", e["licence"])]
        assert ids, f"{e['name']}: its licence {e['licence']!r} names none of {sorted(LICENCE_TEXT)}"
        for k in ids:
            assert LICENCE_TEXT[k] in text, f"{e['name']}: {', '.join(files)} lack the text of {k}"
        named.update(files)
    assert {p.name for p in MODELS.glob("LICENSE-*")} == named


# --------------------------------------------------------------------------- loading


def test_load_default_embedding_runs():
    m = load_model(role="embedding", threads=1)
    assert isinstance(m, LoadedModel)
    assert m.provider == "CPUExecutionProvider" or m.provider in ort.get_available_providers()
    shape = m.entry["input"]["shape"]
    assert m.input_shape == shape
    x = np.zeros(shape, np.float32)
    (y,) = m.run(x)
    assert list(y.shape) == m.entry["output"]["shape"]
    assert y.dtype == np.float32 and np.isfinite(y).all()


def test_load_by_name(manifest):
    e = find_entry(manifest, role="embedding")
    m = load_model(name=e["name"], threads=1)
    assert m.name == e["name"]


#: Execution providers an onnxruntime build may offer; the ones this build lacks are the
#: unavailable ones the fallback is tested with (on a CPU build: all of them).
KNOWN_PROVIDERS = ("CUDAExecutionProvider", "TensorrtExecutionProvider", "ROCMExecutionProvider",
                   "MIGraphXExecutionProvider", "OpenVINOExecutionProvider", "CoreMLExecutionProvider",
                   "DmlExecutionProvider")


def _unavailable_provider() -> str:
    missing = [p for p in KNOWN_PROVIDERS if p not in ort.get_available_providers()]
    if not missing:
        pytest.skip("this onnxruntime offers every known execution provider")
    return missing[0]


def _runs_as_declared(m: LoadedModel) -> None:
    """The model answers a zero input with outputs of the manifest's shape, and the provider
    it reports is the one its session runs on (onnxruntime may fall back by itself)."""
    assert m.session.get_providers()[0] == m.provider
    (y,) = m.run(np.zeros(m.entry["input"]["shape"], np.float32))
    assert list(y.shape) == m.entry["output"]["shape"] and np.isfinite(y).all()


def test_an_unavailable_provider_asked_first_falls_back_to_the_cpu_and_runs():
    """[a provider this onnxruntime lacks (CUDA on a CPU build), CPU]: the first is passed
    over, the model opens on the CPU and runs there."""
    m = load_model(role="embedding", providers=[_unavailable_provider(), "CPUExecutionProvider"], threads=1)
    assert m.provider == "CPUExecutionProvider"
    assert m.session.get_providers() == ["CPUExecutionProvider"]
    _runs_as_declared(m)


@pytest.mark.parametrize("asked", ["unavailable", "BogusExecutionProvider"])
def test_only_unavailable_providers_asked_still_run_on_the_cpu(asked):
    """The documented behaviour (edge_app.engine.vision.models): a machine without the
    accelerator asked for falls back to the CPU, which is always tried last; no error."""
    provider = _unavailable_provider() if asked == "unavailable" else asked
    m = load_model(role="embedding", providers=[provider], threads=1)
    assert m.provider == "CPUExecutionProvider"
    assert m.session.get_providers() == ["CPUExecutionProvider"]
    _runs_as_declared(m)


def test_the_default_order_opens_on_the_best_provider_that_runs():
    """Without ``providers``: TensorRT, CUDA, CPU, of those this onnxruntime offers, the first
    that really runs; the one reported is the session's (on a CPU build: the CPU)."""
    m = load_model(role="embedding", threads=1)
    offered = [p for p in PREFERRED_PROVIDERS if p in ort.get_available_providers()]
    assert m.provider in offered
    if offered == ["CPUExecutionProvider"]:
        assert m.session.get_providers() == ["CPUExecutionProvider"]
    _runs_as_declared(m)


def test_env_override_models_dir(tmp_path, monkeypatch):
    d = _copy_models(tmp_path)
    monkeypatch.setenv("EDGE_APP_MODELS", str(d))
    m = load_model(role="embedding", threads=1)
    assert m.path.parent == d


# --------------------------------------------------------------------------- the CPU's optimised graphs, kept


def _kept(cache: Path) -> list[Path]:
    return sorted((cache / "edge_app" / "ort").glob("*.onnx"))


def _answers(m: LoadedModel, seed: int = 3) -> list[np.ndarray]:
    shape = [1 if d == "N" else 480 if d == "H" else 640 if d == "W" else d for d in m.entry["input"]["shape"]]
    x = np.random.default_rng(seed).random(shape, dtype=np.float32)
    x *= 255.0 if m.entry["role"] == "segmentation" else 1.0
    return m.run(x)


@pytest.mark.parametrize("role", ["embedding", "segmentation", "local_features"])
def test_a_kept_optimised_graph_answers_bit_for_bit_as_the_model(tmp_path, monkeypatch, role):
    """The first load keeps the graph onnxruntime optimised the model into; the next reads
    it back instead of optimising again, and answers exactly as a model opened afresh."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert optimized_cache_dir() == tmp_path / "edge_app" / "ort"
    first = load_model(role, threads=1)
    kept = _kept(tmp_path)
    assert len(kept) == 1 and Path(f"{kept[0]}.sha256").read_text().strip() == sha256_file(kept[0])
    again = load_model(role, threads=1)
    assert _kept(tmp_path) == kept and again.provider == "CPUExecutionProvider"
    afresh = load_model(role, threads=1, verify=False)  # no verified sha256: nothing kept or read
    for a, b, c in zip(_answers(first), _answers(again), _answers(afresh)):
        assert np.array_equal(a, b) and np.array_equal(a, c)


def test_a_damaged_kept_graph_is_made_again(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    want = _answers(load_model("embedding", threads=1))
    (kept,) = _kept(tmp_path)
    data = bytearray(kept.read_bytes())
    data[len(data) // 2] ^= 0xFF
    kept.write_bytes(bytes(data))
    got = _answers(load_model("embedding", threads=1))
    assert all(np.array_equal(g, w) for g, w in zip(got, want))
    assert Path(f"{kept}.sha256").read_text().strip() == sha256_file(kept)  # whole again


def test_other_session_settings_keep_a_graph_of_their_own(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    load_model("embedding", threads=1)
    load_model("embedding", threads=1, arena=False)
    assert len(_kept(tmp_path)) == 2


def test_a_cache_folder_that_cannot_be_made_only_costs_the_keeping(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    m = load_model("embedding", threads=1)
    assert m.provider == "CPUExecutionProvider"
    _runs_as_declared(m)


# --------------------------------------------------------------------------- failures


def test_missing_model_file(tmp_path):
    d = _copy_models(tmp_path, with_files=False)
    with pytest.raises(ModelError) as ei:
        load_model(role="embedding", models_dir=d)
    entry = find_entry(load_manifest(d), role="embedding")
    assert "missing" in str(ei.value) and str(d / entry["file"]) in str(ei.value)


def test_corrupted_model_file(tmp_path):
    d = _copy_models(tmp_path)
    entry = find_entry(load_manifest(d), role="embedding")
    path = d / entry["file"]
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    for i in range(mid, mid + 16):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError) as ei:
        load_model(role="embedding", models_dir=d)
    msg = str(ei.value)
    assert "sha256" in msg and str(path) in msg


def test_truncated_model_file_unverified_is_model_error(tmp_path):
    d = _copy_models(tmp_path)
    entry = find_entry(load_manifest(d), role="embedding")
    path = d / entry["file"]
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ModelError) as ei:
        load_model(role="embedding", models_dir=d, verify=False)
    assert str(path) in str(ei.value)


def test_manifest_missing(tmp_path):
    with pytest.raises(ModelError) as ei:
        load_model(role="embedding", models_dir=tmp_path)
    assert "manifest" in str(ei.value) and str(tmp_path / "manifest.json") in str(ei.value)


def test_manifest_invalid_json(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_manifest(tmp_path)


def test_manifest_without_role(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"version": 1, "models": []}))
    with pytest.raises(ModelError, match="role 'embedding'"):
        load_model(role="embedding", models_dir=tmp_path)


# --------------------------------------------------------------------------- the same numbers on every CPU


def _export_common():
    import importlib.util

    spec = importlib.util.spec_from_file_location("export_common", REPO / "export" / "common.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("name", ["xfeat-int8", "embedding-lite0-224-int8", "segmentation-ssdlite-person-int8"])
def test_int8_models_compute_exactly_on_this_cpu(tmp_path, manifest, name):
    """The same photo gives the same features on every CPU (issue 21). The shipped model, run
    as the app runs it, equals bit for bit its twin whose weights are stored unsigned (uint8 x
    uint8 products have no 16-bit step to saturate; signed weights without the app's session
    setting differ on an AVX2 CPU without VNNI, e.g. by 0.19 on XFeat's keypoint heatmap)."""
    pytest.importorskip("onnx")
    twin = tmp_path / f"{name}.onnx"
    shutil.copyfile(MODELS / f"{name}.onnx", twin)
    assert _export_common().unsigned_weights(twin) > 0
    entry = find_entry(manifest, name=name)
    shape = [1 if d == "N" else 480 if d == "H" else 640 if d == "W" else d for d in entry["input"]["shape"]]
    x = np.random.default_rng(7).random(shape, dtype=np.float32) * (255.0 if name.startswith("segmentation") else 1.0)
    app = load_model(name=name, threads=1, models_dir=MODELS)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    plain = ort.InferenceSession(str(twin), so, providers=["CPUExecutionProvider"])
    got = app.run(x)
    want = plain.run(app.output_names, {app.input_name: x})
    for g, w in zip(got, want):
        assert np.array_equal(g, w)


def test_the_cascade_matcher_ships_unsigned_weights(tmp_path):
    """LightGlue's dynamic int8 MatMuls (one weight serves both images) are stored unsigned,
    since onnxruntime's load-time shift refuses a weight used twice: nothing left to shift."""
    pytest.importorskip("onnx")
    if not (MODELS / "lightglue-aliked-int8.onnx").is_file():
        pytest.skip("the cascade's optional models are not in models/")
    copy = tmp_path / "lg.onnx"
    shutil.copyfile(MODELS / "lightglue-aliked-int8.onnx", copy)
    assert _export_common().unsigned_weights(copy) == 0
