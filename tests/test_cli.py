"""The edge-app command, run as a real process on a generated site folder."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_pipeline import same_partition, write_site


def edge_app(*args, cwd=None, check=True):
    env = dict(os.environ, XDG_CACHE_HOME=str(Path(cwd or ".") / ".cache"))
    p = subprocess.run([sys.executable, "-m", "edge_app.cli", *map(str, args)], capture_output=True, text=True,
                       cwd=cwd, env=env, timeout=600)
    if check and p.returncode != 0:
        raise AssertionError(f"edge-app {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli") / "site-7"
    truth = write_site(folder, spots=(5, 6), shots=3, lone=None)
    (folder / "scan.jpg").write_bytes(b"%PDF-1.4 this is not a jpeg")
    (folder / "spot0_0 (copy).jpg").write_bytes((folder / "spot0_0.jpg").read_bytes())
    truth["spot0_0 (copy).jpg"] = truth["spot0_0.jpg"]
    (folder / "readme.txt").write_text("x")
    return folder, truth


def test_cluster_prints_groups_and_writes_json_and_html(site, tmp_path):
    folder, truth = site
    out_json, out_html = tmp_path / "g.json", tmp_path / "g.html"
    p = edge_app("cluster", folder, "--json", out_json, "--html", out_html, "--explain", cwd=tmp_path)
    assert "7 photos: 2 groups, 0 unassigned, 1 unreadable" in p.stdout
    assert "spot0_0.jpg = spot0_0 (copy).jpg" in p.stdout or "spot0_0 (copy).jpg = spot0_0.jpg" in p.stdout
    assert "scan.jpg: not an image" in p.stdout
    assert "explain:" in p.stdout and "strongest links" in p.stdout
    assert "analysing" in p.stderr and "done in" in p.stderr
    groups = json.loads(out_json.read_text())
    assert set(groups) == set(truth) | {"scan.jpg"}  # every image file, readable or not
    assert groups["scan.jpg"] is None
    assert same_partition({k: v for k, v in groups.items() if k != "scan.jpg"}, truth)
    assert all(v in (1, 2) for k, v in groups.items() if k != "scan.jpg")
    page = out_html.read_text()
    assert page.count("<figure>") == 7 and page.count("data:image/jpeg;base64,") == 7
    assert "그룹 1 / Group 1" in page and "scan.jpg" in page
    assert "http://" not in page and "https://" not in page  # nothing fetched when opened offline


def test_cluster_uses_the_feature_cache_on_the_second_run(site, tmp_path):
    folder, _ = site
    edge_app("cluster", folder, "--cache", tmp_path / "c", "-q", cwd=tmp_path)
    first = sorted(p.stat().st_mtime_ns for p in (tmp_path / "c").rglob("*.npz"))
    edge_app("cluster", folder, "--cache", tmp_path / "c", "-q", cwd=tmp_path)
    again = sorted(p.stat().st_mtime_ns for p in (tmp_path / "c").rglob("*.npz"))
    assert len(first) == 6 and first == again  # nothing rewritten (the copy shares its entry)


def test_cluster_errors_are_clear(tmp_path):
    p = edge_app("cluster", tmp_path / "missing", check=False, cwd=tmp_path)
    assert p.returncode == 2 and "is not a folder" in p.stderr
    (tmp_path / "empty").mkdir()
    p = edge_app("cluster", tmp_path / "empty", check=False, cwd=tmp_path)
    assert p.returncode == 1 and "no photos" in p.stderr


def test_every_command_has_help_with_an_example():
    for cmd in ("cluster", "eval", "models"):
        p = edge_app(cmd, "--help")
        assert "example:" in p.stdout


def test_models_command_checks_the_bundled_models():
    p = edge_app("models")
    assert "embedding" in p.stdout and "local_features" in p.stdout and "ok (" in p.stdout


def test_eval_command_on_a_tiny_generated_set(tmp_path):
    from PIL import Image

    from scenes import views_of

    root = tmp_path / "tiny"
    (root / "images").mkdir(parents=True)
    rows = ["filename,group"]
    for g, seed in enumerate((3, 4, 8, 9)):
        for i, img in enumerate(views_of(seed, 3)):
            Image.fromarray(img).save(root / "images" / f"s{g}_{i}.jpg", quality=90)
            rows.append(f"s{g}_{i}.jpg,spot{g}")
    (root / "groundtruth.csv").write_text("\n".join(rows) + "\n")
    p = edge_app("eval", root, "--batches", "2", "--seed", "1", "--json", tmp_path / "e.json", cwd=tmp_path)
    assert "overall" in p.stdout and "ARI" in p.stdout
    summary = json.loads((tmp_path / "e.json").read_text())
    assert summary["overall"]["batches"] == 2 and summary["overall"]["ari"] > 0.9
