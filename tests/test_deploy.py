"""Deployment: the systemd units verify and their exact command lines start services that
answer; a built wheel installed into a fresh venv carries its models and groups photos;
TensorRT would cache its engines."""

import os
import shlex
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from live_server import free_port
from photo_files import spot_photos, write

REPO = Path(__file__).resolve().parents[1]
UNITS = REPO / "systemd"


def parse_unit(path: Path) -> dict:
    """{"Environment": {k: v}, "EnvironmentFile": [...], "ExecStart": str, ...} of [Service]."""
    out: dict = {"Environment": {}, "EnvironmentFile": []}
    section = None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line
            continue
        if section != "[Service]":
            continue
        k, _, v = line.partition("=")
        if k == "Environment":
            ek, _, ev = v.partition("=")
            out["Environment"][ek] = ev
        elif k == "EnvironmentFile":
            out["EnvironmentFile"].append(v)
        else:
            out[k] = v
    return out


def installed_copy(unit: Path, tmp: Path) -> Path:
    """The unit as installed on a machine where the venv lives in this repository."""
    exe = Path(sys.executable).parent / "edge-app"
    text = unit.read_text().replace("/opt/edge-app/bin/edge-app", str(exe))
    out = tmp / unit.name
    out.write_text(text)
    return out


@pytest.mark.parametrize("unit", ["edge-app.service", "edge-app-hq.service"])
def test_units_pass_systemd_analyze_verify_and_are_hardened(unit, tmp_path):
    u = parse_unit(UNITS / unit)
    assert u["DynamicUser"] == "yes" and u["NoNewPrivileges"] == "yes" and u["ProtectSystem"] == "strict"
    assert u["Restart"] == "on-failure" and u["EnvironmentFile"][0].startswith("-/etc/edge-app/")
    assert u["StateDirectory"] in ("edge-app", "edge-app-hq")
    if not shutil.which("systemd-analyze"):
        if os.environ.get("EDGE_APP_REQUIRE_BROWSER"):  # CI installs systemd
            pytest.fail("systemd-analyze missing")
        pytest.skip("systemd-analyze not installed (Debian: systemd)")
    p = subprocess.run(["systemd-analyze", "verify", str(installed_copy(UNITS / unit, tmp_path))],
                       capture_output=True, text=True, timeout=60)
    problems = [ln for ln in (p.stdout + p.stderr).splitlines() if unit in ln or "edge-app" in ln]
    assert p.returncode == 0 and not problems, p.stdout + p.stderr


def _start_like_systemd(unit: str, env_file: Path, overrides: dict, tmp: Path) -> subprocess.Popen:
    u = parse_unit(UNITS / unit)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp)} | u["Environment"]
    from edge_app.sync import read_env_file

    env |= read_env_file(env_file)
    env |= overrides  # the StateDirectory / CacheDirectory systemd would create
    argv = shlex.split(u["ExecStart"])
    assert argv[0] == "/opt/edge-app/bin/edge-app"
    argv[0] = str(Path(sys.executable).parent / "edge-app")
    return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp)


def _answers(url: str, timeout: float = 60.0) -> int:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


def test_each_service_starts_with_its_units_command_line_and_environment(tmp_path):
    dev_env = tmp_path / "device.env"
    shutil.copy(UNITS / "device.env.example", dev_env)
    port, hq_port = free_port(), free_port()
    dev = _start_like_systemd("edge-app.service", dev_env, {
        "EDGE_APP_DATA": str(tmp_path / "var-lib-edge-app"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "EDGE_APP_TRT_CACHE": str(tmp_path / "cache" / "trt"), "EDGE_APP_PORT": str(port),
        "EDGE_APP_HOST": "127.0.0.1"}, tmp_path)
    hq_env = tmp_path / "hq.env"
    shutil.copy(UNITS / "hq.env.example", hq_env)
    hq = _start_like_systemd("edge-app-hq.service", hq_env, {
        "EDGE_APP_HQ_DATA": str(tmp_path / "var-lib-edge-app-hq"), "EDGE_APP_HQ_PORT": str(hq_port),
        "EDGE_APP_HQ_HOST": "127.0.0.1"}, tmp_path)
    try:
        assert _answers(f"http://127.0.0.1:{port}/") == 200  # redirected to the first-visit PIN page
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/setup", timeout=30) as r:
            assert r.status == 200 and "PIN" in r.read().decode()
        assert _answers(f"http://127.0.0.1:{hq_port}/login") == 200
        assert (tmp_path / "var-lib-edge-app" / "edge_app.db").is_file()
        assert (tmp_path / "var-lib-edge-app-hq" / "hq.db").is_file()
    finally:
        for p in (dev, hq):
            p.terminate()
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
    assert dev.returncode == 0 and hq.returncode == 0, (dev.stderr.read(), hq.stderr.read())


def test_a_built_wheel_installs_into_a_fresh_venv_with_its_models_and_groups(tmp_path):
    whl_dir = tmp_path / "dist"
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(whl_dir), str(REPO)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    (wheel,) = whl_dir.glob("edge_app-*.whl")
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "edge_app/models/manifest.json" in names and any(n.endswith(".onnx") for n in names)
    assert any(n.endswith(".woff2") for n in names) and any("templates/spots/site.html" in n for n in names)
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    p = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], capture_output=True, text=True,
                       timeout=1200)
    assert p.returncode == 0, p.stderr[-3000:]
    photos = tmp_path / "photos"
    write(photos, spot_photos(11, 3, None) + spot_photos(22, 3, None))
    run = subprocess.run([str(venv / "bin" / "edge-app"), "cluster", str(photos), "--json", str(tmp_path / "g.json"),
                          "--no-cache", "-q"], capture_output=True, text=True, timeout=600, cwd=tmp_path,
                         env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)})
    assert run.returncode == 0, run.stderr[-3000:]
    assert "6 photos: 2 groups" in run.stdout
    m = subprocess.run([str(venv / "bin" / "edge-app"), "models"], capture_output=True, text=True, timeout=300,
                       cwd=tmp_path, env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)})
    assert m.returncode == 0 and str(venv) in m.stdout  # the models inside the installed package


def test_tensorrt_engines_are_cached_between_starts(tmp_path, monkeypatch):
    from edge_app.engine.vision.models import provider_options

    monkeypatch.setenv("EDGE_APP_TRT_CACHE", str(tmp_path / "trt"))
    opts = provider_options("TensorrtExecutionProvider")
    assert opts["trt_engine_cache_enable"] == "True" and opts["trt_engine_cache_path"] == str(tmp_path / "trt")
    assert opts["trt_fp16_enable"] == "True" and (tmp_path / "trt").is_dir()
    assert provider_options("CPUExecutionProvider") == {}
