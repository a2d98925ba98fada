"""Rebuild the dev photo sets in ``devsets/<set>/images/`` from their recipes.

Each ``devsets/<set>/recipe.json`` names, per source, a public GitHub repository, the commit
the photos were read at, its licence, and for every photo the path in that repository, the
local file name it becomes and the sha256 of the source blob. The photos themselves are never
committed (``/devsets/*/images/`` is git-ignored); this script brings them back from local
git mirrors of the source repositories.

A mirror is a bare git directory under ``--mirror`` (default ``/work/.mirror``), laid out as
``<mirror>/<owner>+<name>/...`` (what the research tools' ``fetch`` produces). When one is
missing the script says which repository and commit to fetch, and goes on with the others.

For every photo: the blob is read at the recorded commit, its sha256 is checked against the
recipe, it is written as JPEG with the long side at most ``max_long_side`` (1600 px), and its
EXIF block (orientation, capture time, GPS) is carried over unchanged. A photo whose output
already exists and was built from the same blob is left alone, so running it twice is cheap;
photos the recipe no longer lists are removed.

Usage::

    .venv/bin/python scripts/build_devsets.py [--only NAME] [--mirror DIR] [--force]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
DEVSETS = ROOT / "devsets"
STAMP = ".built.json"  # name -> sha256 of the source blob each output was made from


def find_git_dir(mirror: Path, repo: str) -> Path | None:
    """The bare git directory for ``owner/name`` under ``mirror``, or ``None``."""
    base = mirror / repo.replace("/", "+")
    if not base.is_dir():
        return None
    for cand in [base, base / "repo", *sorted(p for p in base.iterdir() if p.is_dir())]:
        if (cand / "objects").is_dir() and (cand / "HEAD").is_file():
            return cand
    return None


def read_blob(git_dir: Path, commit: str, path: str) -> bytes:
    return subprocess.run(
        ["git", "--git-dir", str(git_dir), "cat-file", "blob", f"{commit}:{path}"],
        check=True, capture_output=True,
    ).stdout


def to_jpeg(data: bytes, max_side: int) -> bytes:
    """Source bytes -> JPEG bytes, long side <= ``max_side``, EXIF kept as it was."""
    im = Image.open(io.BytesIO(data))
    exif = im.info.get("exif")
    if im.mode != "RGB":
        im = im.convert("RGB")
    if max(im.size) > max_side:
        im.thumbnail((max_side, max_side), Image.LANCZOS)
    out = io.BytesIO()
    kwargs = {"exif": exif} if exif else {}
    im.save(out, "JPEG", quality=92, **kwargs)
    return out.getvalue()


def build_set(set_dir: Path, mirror: Path, force: bool) -> tuple[int, int, list[str]]:
    """Build one set; returns (written, kept, problems)."""
    recipe = json.loads((set_dir / "recipe.json").read_text())
    max_side = int(recipe.get("max_long_side", 1600))
    out_dir = set_dir / "images"
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp_path = out_dir / STAMP
    stamps = json.loads(stamp_path.read_text()) if stamp_path.exists() else {}
    written = kept = 0
    problems: list[str] = []
    for src in recipe["sources"]:
        repo, commit = src["repo"], src["commit"]
        git_dir = find_git_dir(mirror, repo)
        if git_dir is None:
            problems.append(
                f"{set_dir.name}: no mirror of {repo} under {mirror}; fetch github:{repo} "
                f"(commit {commit}) and run again ({len(src['files'])} photos skipped)"
            )
            continue
        for f in src["files"]:
            target = out_dir / f["name"]
            if not force and target.exists() and stamps.get(f["name"]) == f["sha256"]:
                kept += 1
                continue
            try:
                data = read_blob(git_dir, commit, f["path"])
            except subprocess.CalledProcessError:
                problems.append(f"{set_dir.name}: {repo}@{commit[:12]} has no {f['path']!r} (fetch a newer snapshot?)")
                continue
            digest = hashlib.sha256(data).hexdigest()
            if digest != f["sha256"]:
                problems.append(f"{set_dir.name}: sha256 mismatch for {repo}:{f['path']} ({digest} != {f['sha256']})")
                continue
            target.write_bytes(to_jpeg(data, max_side))
            stamps[f["name"]] = digest
            written += 1
    wanted = {f["name"] for src in recipe["sources"] for f in src["files"]}
    for stale in sorted(out_dir.glob("*.jpg")):  # photos a former recipe listed
        if stale.name not in wanted:
            stale.unlink()
            stamps.pop(stale.name, None)
    stamp_path.write_text(json.dumps(stamps, indent=1, sort_keys=True))
    return written, kept, problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="build only this set (folder name under devsets/)")
    ap.add_argument("--mirror", type=Path, default=Path("/work/.mirror"), help="folder holding the git mirrors")
    ap.add_argument("--force", action="store_true", help="rewrite outputs even when up to date")
    args = ap.parse_args(argv)
    sets = sorted(p.parent for p in DEVSETS.glob("*/recipe.json"))
    if args.only:
        sets = [s for s in sets if s.name == args.only]
        if not sets:
            print(f"no set named {args.only!r} under {DEVSETS}", file=sys.stderr)
            return 2
    all_problems: list[str] = []
    for s in sets:
        written, kept, problems = build_set(s, args.mirror, args.force)
        print(f"{s.name}: {written} written, {kept} already up to date, {len(problems)} problems")
        all_problems += problems
    for p in all_problems:
        print("  " + p, file=sys.stderr)
    return 1 if all_problems else 0


if __name__ == "__main__":
    sys.exit(main())
