"""The dev photo sets under devsets/: recipes agree with their ground truth (no images needed),
and, where the images were built, every listed photo is there and decodes."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from PIL import Image

DEVSETS = Path(__file__).resolve().parent.parent / "devsets"
SETS = sorted(p.parent.name for p in DEVSETS.glob("*/recipe.json"))

# Repositories whose photos are a hidden test of quality: never a dev-set source.
OFF_LIMITS = {
    "nicktrinh/vpr_tutorial", "yq1ngz/before-after-streetscape", "gct-wdpkr/gct-wdpkr.github.io",
    "briandunnington/briandunnington.com", "cvg/hierarchical-localization",
    "magicleap/supergluepretrainednetwork", "shiaoming/aliked", "cvg/lightglue",
    "mizzade/diplomarbeit", "openmvg/sfm_quality_evaluation", "vincentqyw/image-matching-webui",
    "mapillary/opensfm", "jonathanhexner/sim-bench", "jacksonhardaker/renovation",
    "fortune1991/fortune1991.github.io", "graymalkin/graymalkin.github.io",
}


def _recipe(name: str) -> dict:
    return json.loads((DEVSETS / name / "recipe.json").read_text())


def _truth(name: str) -> dict[str, str]:
    with open(DEVSETS / name / "groundtruth.csv", newline="") as f:
        reader = csv.reader(f)
        assert next(reader) == ["filename", "group"]
        rows = list(reader)
    names = [r[0] for r in rows]
    assert len(names) == len(set(names)), "a photo listed twice in groundtruth.csv"
    return dict(rows)


def test_there_are_sets():
    assert {"lookalike", "changed"} <= set(SETS)


@pytest.mark.parametrize("name", SETS)
def test_recipe_matches_groundtruth(name):
    recipe, truth = _recipe(name), _truth(name)
    files = [f for src in recipe["sources"] for f in src["files"]]
    listed = [f["name"] for f in files]
    assert len(listed) == len(set(listed)), "two recipe entries make the same file"
    assert set(listed) == set(truth), "recipe and groundtruth.csv name different photos"
    for f in files:
        assert re.fullmatch(r"[A-Za-z0-9_.-]+\.jpg", f["name"]), f["name"]
        assert re.fullmatch(r"[0-9a-f]{64}", f["sha256"]), f["name"]
        assert f["path"] and not f["path"].startswith("/")
    for group in truth.values():
        assert re.fullmatch(r"[a-z0-9_]{2,60}", group), f"odd group label {group!r}"
    sizes: dict[str, int] = {}
    for group in truth.values():
        sizes[group] = sizes.get(group, 0) + 1
    assert max(sizes.values()) <= 6, "a spot with more than 6 photos"
    assert sum(1 for n in sizes.values() if n >= 2) >= 7, "too few spots with two or more photos"


@pytest.mark.parametrize("name", SETS)
def test_sources_are_pinned_licensed_and_allowed(name):
    for src in _recipe(name)["sources"]:
        assert re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", src["repo"])
        assert src["repo"].lower() not in OFF_LIMITS, f"{src['repo']} is off limits"
        assert re.fullmatch(r"[0-9a-f]{40}", src["commit"])
        assert src["licence"].strip()
    provenance = (DEVSETS / name / "PROVENANCE.txt").read_text()
    for src in _recipe(name)["sources"]:
        assert src["repo"] in provenance and src["commit"] in provenance


@pytest.mark.parametrize("name", SETS)
def test_built_images_exist_and_decode(name):
    images = DEVSETS / name / "images"
    if not images.is_dir() or not any(images.glob("*.jpg")):
        pytest.skip(f"devsets/{name}/images not built (scripts/build_devsets.py)")
    for fname in _truth(name):
        path = images / fname
        assert path.is_file(), f"{fname} missing: run scripts/build_devsets.py"
        with Image.open(path) as im:
            im.load()
            assert max(im.size) <= _recipe(name).get("max_long_side", 1600)
