"""The locked installs (issue 21): what the README, scripts/test.sh and CI install is exactly
requirements/*.lock, which agrees with pyproject.toml's ranges; and the versions that feed
the grouping are named by the app."""

import importlib.util
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from edge_app import versions

REPO = Path(__file__).resolve().parents[1]


def lock_module():
    spec = importlib.util.spec_from_file_location("lock", REPO / "scripts" / "lock.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_locks_agree_with_pyproject():
    lock = lock_module()
    assert lock.check() == []
    app, test = lock.read_lock(lock.APP_LOCK), lock.read_lock(lock.TEST_LOCK)
    for name in ("numpy", "onnxruntime", "opencv-python-headless", "scikit-learn"):
        assert app[name] == test[name]
    assert "pytest" in test and "pytest" not in app  # the app's lock carries no test tools


def test_check_finds_a_pin_outside_its_range_and_a_missing_hash(tmp_path):
    lock = lock_module()
    text = lock.APP_LOCK.read_text()
    pinned = re.search(r"^opencv-python-headless==(\S+) \\", text, re.M).group(1)
    bad = tmp_path / "app.lock"
    bad.write_text(text.replace(f"opencv-python-headless=={pinned} \\", "opencv-python-headless==9.0.0.1 \\")
                   + "tabulate==0.9.0\n")
    problems = lock.check(bad, lock.TEST_LOCK)
    assert any("opencv-python-headless==9.0.0.1 is outside" in p for p in problems)
    assert any("pinned without a hash: tabulate==0.9.0" in p for p in problems)
    assert any("app.lock pins opencv-python-headless==9.0.0.1, test.lock" in p for p in problems)


def test_this_environment_runs_the_locked_versions():
    """The tests themselves run on what the lock says (scripts/test.sh installs it)."""
    pins = lock_module().read_lock(REPO / "requirements" / "test.lock")
    for name in ("numpy", "onnxruntime", "opencv-python-headless", "scikit-learn", "scipy", "pillow"):
        assert metadata.version(name) == pins[name], name


def test_every_install_path_uses_the_lock():
    readme = (REPO / "README.md").read_text()
    setup = re.search(r"## Set up and start the site app.*?```sh\n(.*?)```", readme, re.S).group(1)
    assert "scripts/install.sh" in setup
    install = (REPO / "scripts" / "install.sh").read_text()
    assert "--require-hashes -r \"requirements/$which.lock\"" in install and "--no-deps -e ." in install
    assert "scripts/install.sh test" in (REPO / "scripts" / "test.sh").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    assert "scripts/install.sh test" in ci and "exec scripts/test.sh" in ci
    assert "pip install -q -e '.[test]'" not in ci


def test_version_names_the_libraries_that_feed_the_grouping():
    out = subprocess.run([sys.executable, "-m", "edge_app.cli", "--version"], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert "\n" not in out
    for shown, dist in (("numpy", "numpy"), ("onnxruntime", "onnxruntime"), ("opencv", "opencv-python-headless")):
        assert f"{shown} {metadata.version(dist)}" in out


def test_int8_arithmetic_is_read_from_the_cpu_flags():
    assert versions.int8_arithmetic("flags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n") == "x86 VNNI (exact)"
    assert versions.int8_arithmetic("flags\t\t: fpu sse2 avx2\n").startswith("x86 AVX2 without VNNI")
