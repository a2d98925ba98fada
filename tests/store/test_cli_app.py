"""The operator verbs from a shell: add, status --json, move, merge, confirm, set-pin."""

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from edge_app.store import open_store
from edge_app.store import settings as store_settings
from photo_files import spot_photos, write

DAY = datetime(2026, 5, 4, 9, 0, 0)


def edge_app(*args, stdin: str | None = None, cwd: Path):
    env = dict(os.environ, XDG_CACHE_HOME=str(cwd / ".cache"))
    return subprocess.run([sys.executable, "-m", "edge_app.cli", *map(str, args)], capture_output=True, text=True,
                          input=stdin, cwd=cwd, env=env, timeout=600)


@pytest.fixture(scope="module")
def added(tmp_path_factory):
    """A data folder after `edge-app add` of a card with two spots and a broken file."""
    tmp = tmp_path_factory.mktemp("cli")
    card = tmp / "DCIM" / "100CANON"
    write(card, spot_photos(11, 3, DAY) + spot_photos(22, 3, DAY))
    (card / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe1 not really")
    (card / ".hidden.jpg").write_bytes(b"x")
    p = edge_app("add", "--data", tmp / "data", tmp / "DCIM", "-q", cwd=tmp)
    return tmp, p


def status(tmp) -> dict:
    p = edge_app("status", "--data", tmp / "data", "--json", cwd=tmp)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_add_stores_analyses_and_places_a_folder_and_lists_refusals(added):
    tmp, p = added
    assert p.returncode == 1  # something was refused
    assert "refused: broken.jpg: truncated or corrupt" in p.stderr
    assert "refused: .hidden.jpg: hidden" in p.stderr
    assert "6 added, 0 already in the store, 2 refused; 6 analysed" in p.stdout
    s = status(tmp)
    (site,) = s["sites"]
    assert sorted(len(sp["photos"]) for sp in site["spots"]) == [3, 3]
    assert s["waiting"] == 0 and sorted(r["name"] for r in s["refused"]) == [".hidden.jpg", "broken.jpg"]
    again = edge_app("add", "--data", tmp / "data", tmp / "DCIM" / "100CANON" / "spot11_0.jpg", cwd=tmp)
    assert again.returncode == 0 and "0 added, 1 already in the store" in again.stdout


def test_move_merge_confirm_from_the_command_line(added):
    tmp, _ = added
    site = status(tmp)["sites"][0]
    a, b = site["spots"]
    photo = a["photos"][0]["sha256"]
    p = edge_app("move", "--data", tmp / "data", photo[:10], "none", cwd=tmp)
    assert p.returncode == 0, p.stderr
    assert [x["sha256"] for x in status(tmp)["sites"][0]["unassigned"]] == [photo]
    assert edge_app("move", "--data", tmp / "data", photo, str(b["id"]), cwd=tmp).returncode == 0
    p = edge_app("merge", "--data", tmp / "data", a["id"], b["id"], cwd=tmp)
    assert p.returncode == 0, p.stderr
    (merged,) = status(tmp)["sites"][0]["spots"]
    assert len(merged["photos"]) == 6 and merged["id"] == a["id"]
    p = edge_app("confirm", "--data", tmp / "data", "--all", cwd=tmp)
    assert p.returncode == 0 and json.loads(p.stdout)["confirmed"] == [a["id"]]
    assert status(tmp)["sites"][0]["spots"][0]["confirmed"] is True
    bad = edge_app("move", "--data", tmp / "data", "0000", "new", cwd=tmp)
    assert bad.returncode == 1 and "at least 8" in bad.stderr
    assert edge_app("merge", "--data", tmp / "data", 999, 998, cwd=tmp).returncode == 1


def test_set_pin_reads_stdin_and_stores_a_hash(tmp_path):
    p = edge_app("set-pin", "--data", tmp_path / "d", stdin="482913\n", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    with open_store(tmp_path / "d") as st:
        assert store_settings.check_pin(st, "482913") and not store_settings.check_pin(st, "482914")
    assert edge_app("set-pin", "--data", tmp_path / "d", stdin="12ab\n", cwd=tmp_path).returncode == 1


def test_status_of_a_folder_without_data_is_a_clear_error(tmp_path):
    p = edge_app("status", "--data", tmp_path / "nothing", cwd=tmp_path)
    assert p.returncode == 2 and "no edge-app data" in p.stderr
