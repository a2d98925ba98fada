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


def _commands(parser, prefix=()):
    """Every command path of the real parser, e.g. ("hq", "add-device")."""
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                if any(isinstance(a, argparse._SubParsersAction) for a in sub._actions):
                    yield from _commands(sub, (*prefix, name))
                else:
                    yield (*prefix, name)


def test_every_command_has_help_with_an_example(capsys):
    from edge_app.cli import build_parser, main

    commands = list(_commands(build_parser()))
    assert ("cluster",) in commands and ("hq", "set-password",) in commands and ("export",) in commands
    assert len(commands) >= 17
    for cmd in commands:
        with pytest.raises(SystemExit) as stop:
            main([*cmd, "--help"])
        out = capsys.readouterr().out
        assert stop.value.code == 0 and "example:" in out, cmd


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


def test_cluster_reports_the_mode_it_took_and_why(site, tmp_path):
    """``--report``: the groups (as ``--json``) and the thorough pass's mode and why, decided
    from counts alone; the cascade is not loaded when it does not run (here the undecided
    pairs cost more than the budget by count, so the answer is the fast path's)."""
    folder, _ = site
    p = edge_app("cluster", folder, "--json", tmp_path / "g.json", "--report", tmp_path / "r.json", "--explain",
                 cwd=tmp_path)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["groups"] == json.loads((tmp_path / "g.json").read_text())
    band = report["thorough"]
    pairs, photos = band["band_pairs"], band["band_photos"]
    assert pairs > 0 and photos > 0
    cost = round(photos * 0.47 + pairs * 0.0315, 2)
    reason = (f"{pairs} undecided pairs over {photos} photos: {photos} x 0.47 s + {pairs} x 0.0315 s = "
              f"{cost:.2f} s by count > budget 2 s")
    assert band == {"mode": "fast", "reason": reason, "band_pairs": pairs, "band_photos": photos, "cost_s": cost,
                    "budget_s": 2.0, "sessions": 1, "cascade_loaded": False, "cascade_links": 0}
    assert f"mode: fast ({reason}" in p.stdout and "mode: fast" in p.stderr
    p = edge_app("cluster", folder, "--no-cascade", "--report", tmp_path / "r.json", "--explain", cwd=tmp_path)
    off = json.loads((tmp_path / "r.json").read_text())["thorough"]
    assert off["mode"] == "fast" and off["reason"] == "--no-cascade: the fast path only"
    assert "mode: fast (--no-cascade: the fast path only)" in p.stdout
    (tmp_path / "empty").mkdir()
    edge_app("cluster", tmp_path / "empty", "--report", tmp_path / "e.json", check=False, cwd=tmp_path)
    assert json.loads((tmp_path / "e.json").read_text()) == {"groups": {}, "thorough": None}


def test_cluster_gives_the_same_mode_and_groups_with_a_cold_or_a_warm_cache(eval_root, tmp_path):
    """Issue 20: the default decides from counts whether the cascade runs. Before, a folder
    whose cascade features were cached (by a --thorough run) was estimated cheap enough and
    got the cascade, the same folder on a cold cache did not; and the models were loaded on
    every run. Eight wxbs photos: 4 undecided pairs over 6 photos, 2.95 s by count > 2 s."""
    folder = tmp_path / "w"
    folder.mkdir()
    for name in sorted(os.listdir(eval_root / "wxbs" / "images"))[:8]:
        os.symlink(eval_root / "wxbs" / "images" / name, folder / name)
    edge_app("cluster", folder, "--no-cache", "--report", tmp_path / "cold.json", "-q", cwd=tmp_path)
    cold = json.loads((tmp_path / "cold.json").read_text())
    assert cold["thorough"]["mode"] == "fast" and "> budget 2 s" in cold["thorough"]["reason"]
    assert not cold["thorough"]["cascade_loaded"]
    edge_app("cluster", folder, "--cache", tmp_path / "c" / "features", "--thorough", "--report",
             tmp_path / "on.json", "-q", cwd=tmp_path)
    on = json.loads((tmp_path / "on.json").read_text())["thorough"]
    if not on["cascade_loaded"]:
        pytest.skip(f"no cascade models: {on['reason']}")
    assert on["mode"] == "thorough" and len(list((tmp_path / "c" / "cascade").rglob("*.npz"))) == 6
    p = edge_app("cluster", folder, "--cache", tmp_path / "c" / "features", "--report", tmp_path / "warm.json",
                 "--explain", cwd=tmp_path)
    assert json.loads((tmp_path / "warm.json").read_text()) == cold
    assert "mode: fast (4 undecided pairs over 6 photos" in p.stdout and "--thorough runs the cascade" in p.stderr
