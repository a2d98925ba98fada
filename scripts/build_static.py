#!/usr/bin/env python3
"""Rebuild the offline front-end assets under edge_app/web/static/.

What it writes
  edge_app/web/static/fonts/   Korean web font (woff2) and the same glyph set as
                               TTF (for fpdf2), OFL.txt, README.md, fonts.css
  edge_app/web/static/vendor/  htmx-<version>.min.js, htmx.LICENSE, README.md

Prerequisites (build time only; none of them is a run-time dependency of edge_app)
  * Debian package fonts-nanum (OFL-1.1): the source TTFs in
    /usr/share/fonts/truetype/nanum/ and the licence text in
    /usr/share/doc/fonts-nanum/copyright. If the package is missing and this
    runs as root, it runs `apt-get install -y fonts-nanum`; otherwise it stops
    and says so.
  * fontTools and brotli in the Python that runs this script. They are not in
    the project's .venv on purpose; use a throwaway venv:
        python3 -m venv /tmp/fontvenv
        /tmp/fontvenv/bin/pip install fonttools==4.68.0 brotli==1.2.1
        /tmp/fontvenv/bin/python scripts/build_static.py
  * npm with access to the npm registry (for `npm pack htmx.org@<version>`).
    Nothing is installed into the repository: the tarball is packed and read
    in a temporary directory.

Usage
  build_static.py            rebuild every asset in place
  build_static.py --check    rebuild into a temporary directory and compare
                             with the committed files, byte for byte. The font
                             files are byte-stable for a given fontTools +
                             brotli + fonts-nanum version (the 'modified'
                             timestamp is kept from the source font). Only
                             when the installed fontTools/brotli/fonts-nanum
                             differ from the pinned ones below does --check fall
                             back, for the font files and the fonts README, to
                             comparing glyph coverage (cmap), glyph count,
                             names and sizes (within 10 %), and says so. If npm
                             cannot reach the registry, --check verifies the
                             committed htmx file against the sha256 in the
                             vendor README instead, and says so.
Exit status 0 when everything is built (or matches), 1 otherwise.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STATIC = REPO / "edge_app" / "web" / "static"

# ---- pins ---------------------------------------------------------------------------

HTMX_VERSION = "2.0.11"  # latest 2.0.x on npm; htmx 4 changed headers/errors: stay on 2.x
FONTTOOLS_VERSION = "4.68.0"
BROTLI_VERSION = "1.2.1"
FONTS_NANUM_VERSION = "20200506-1"  # Debian bookworm

NANUM_DIR = Path("/usr/share/fonts/truetype/nanum")
NANUM_COPYRIGHT = Path("/usr/share/doc/fonts-nanum/copyright")

# family name inside the subset fonts and in fonts.css. "Nanum", "NanumGothic" and
# "나눔고딕" are Reserved Font Names of the OFL licence: a subset is a Modified
# Version, which may not be presented to users under those names.
FAMILY = "EdgeApp Gothic"
PS_FAMILY = "EdgeAppGothic"

# (source file, output stem, style name, CSS weight)
WEIGHTS = [
    ("NanumGothic.ttf", "NanumGothic-Regular", "Regular", 400),
    ("NanumGothicBold.ttf", "NanumGothic-Bold", "Bold", 700),
]

# TrueType hinting is dropped: tablet browsers (Chrome on Android via FreeType
# light hinting, Safari on iPadOS) ignore TrueType bytecode, and so do PDF viewers.
# Keeping it would double the woff2 (measured in the fonts README).
HINTING = False

# Ship all 11,172 Hangul syllables when each weight's woff2 stays under this,
# otherwise only the 2,350 KS X 1001 syllables.
FULL_HANGUL_LIMIT = 700_000  # bytes

UI_BLOCKS = [
    (0x0020, 0x007E, "Basic Latin"),
    (0x00A0, 0x00FF, "Latin-1 Supplement"),
    (0x2000, 0x206F, "General Punctuation"),
    (0x20A0, 0x20CF, "Currency Symbols (₩ €)"),
    (0x2100, 0x214F, "Letterlike Symbols (℃ № ™)"),
    (0x2150, 0x218F, "Number Forms (Ⅰ Ⅱ ⅓)"),
    (0x2190, 0x21FF, "Arrows (← → ↑ ↓ ⇒)"),
    (0x2200, 0x22FF, "Mathematical Operators (≤ ≥ ≠ √ ∼)"),
    (0x2460, 0x24FF, "Enclosed Alphanumerics (① ②)"),
    (0x25A0, 0x25FF, "Geometric Shapes (▶ ● ○ ■ □ ▲)"),
    (0x2600, 0x26FF, "Miscellaneous Symbols (★ ☎)"),
    (0x2700, 0x27BF, "Dingbats (✖ ❶)"),
    (0x3000, 0x303F, "CJK Symbols and Punctuation (「」〈〉、。)"),
    (0x3130, 0x318F, "Hangul Compatibility Jamo"),
    (0x3200, 0x32FF, "Enclosed CJK Letters and Months (㈜ ㉠)"),
    (0x3300, 0x33FF, "CJK Compatibility (㎡ ㎏ ㎜)"),
    (0xFF01, 0xFF5E, "Fullwidth ASCII variants"),
    (0xFFE0, 0xFFE6, "Fullwidth signs (￦)"),
]
# symbols the UI asked for by name; reported when the source font lacks them
REQUESTED_SYMBOLS = "·→←✓✕▶●○…₩№℃±"

HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3


def ks_x_1001_hangul() -> list[int]:
    """The 2,350 precomposed Hangul syllables of KS X 1001 (EUC-KR rows 0xB0-0xC8)."""
    out = []
    for hi in range(0xB0, 0xC9):
        for lo in range(0xA1, 0xFF):
            try:
                ch = bytes((hi, lo)).decode("euc-kr")
            except UnicodeDecodeError:
                continue
            if HANGUL_FIRST <= ord(ch) <= HANGUL_LAST:
                out.append(ord(ch))
    assert len(out) == 2350, len(out)
    return out


def ui_codepoints() -> list[int]:
    return [c for a, b, _ in UI_BLOCKS for c in range(a, b + 1)]


# ---- helpers --------------------------------------------------------------------


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def kib(n: int) -> str:
    return f"{n / 1024:.1f} KiB"


def dpkg_version(pkg: str) -> str | None:
    try:
        r = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", pkg],
            capture_output=True, text=True, check=False,
        )
    except FileNotFoundError:
        return None
    return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else None


def ensure_fonts_nanum() -> str:
    version = dpkg_version("fonts-nanum")
    if version is None or not (NANUM_DIR / WEIGHTS[0][0]).exists():
        if os.geteuid() == 0 and shutil.which("apt-get"):
            log("fonts-nanum missing: apt-get install -y fonts-nanum")
            subprocess.run(["apt-get", "install", "-y", "fonts-nanum"], check=True)
            version = dpkg_version("fonts-nanum")
        if version is None:
            sys.exit("fonts-nanum is not installed: run `apt-get install -y fonts-nanum` as root")
    return version


def import_fonttools():
    try:
        import brotli  # noqa: F401  (woff2 needs it)
        import fontTools
        from fontTools import subset
        from fontTools.ttLib import TTFont
    except ImportError:
        sys.exit(
            "fontTools and brotli are needed at build time only:\n"
            "  python3 -m venv /tmp/fontvenv && /tmp/fontvenv/bin/pip install "
            f"fonttools=={FONTTOOLS_VERSION} brotli=={BROTLI_VERSION}\n"
            "  /tmp/fontvenv/bin/python scripts/build_static.py"
        )
    from importlib.metadata import version

    return fontTools, subset, TTFont, version("fonttools"), version("brotli")


# ---- fonts ----------------------------------------------------------------------


def rename(font, style: str, src_version: str) -> None:
    """Replace the name table: no Reserved Font Name, licence and origin kept."""
    name = font["name"]
    copyright_ = name.getDebugName(0)
    manufacturer = name.getDebugName(8)
    designer = name.getDebugName(9)
    name.names = []
    records = {
        0: copyright_,
        1: FAMILY,
        2: style,
        3: f"{FAMILY} {style}; {src_version}; edge_app subset",
        4: f"{FAMILY} {style}",
        5: f"Version {src_version}; edge_app subset",
        6: f"{PS_FAMILY}-{style}",
        8: manufacturer,
        9: designer,
        10: (
            "Modified Version (subset, renamed) of NanumGothic by NAVER Corporation "
            f"(formerly NHN Corporation), from Debian fonts-nanum {FONTS_NANUM_VERSION}."
        ),
        13: "This Font Software is licensed under the SIL Open Font License, Version 1.1.",
        14: "https://openfontlicense.org",
    }
    for nid, text in records.items():
        if text:
            name.setName(text, nid, 3, 1, 0x409)


def subset_font(subset, src: Path, unicodes: list[int], flavor: str | None, hinting: bool,
                style: str | None = None):
    opts = subset.Options()
    opts.flavor = flavor
    opts.hinting = hinting
    opts.name_IDs = ["*"]
    opts.name_languages = [0x409]
    opts.notdef_outline = True
    opts.recalc_timestamp = False
    font = subset.load_font(str(src), opts, dontLoadGlyphNames=True)
    # name ID 5 ("Version 3.021;...") is what NanumGothic calls its version; head.fontRevision says 4.0
    m = re.match(r"Version ([0-9.]+)", font["name"].getDebugName(5) or "")
    src_version = m.group(1) if m else f"{font['head'].fontRevision:.3f}"
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=unicodes)
    sub.subset(font)
    if style:
        rename(font, style, src_version)
    buf = io.BytesIO()
    subset.save_font(font, buf, opts)
    return buf.getvalue(), font


def build_fonts(out: Path) -> dict:
    import logging

    logging.getLogger("fontTools").setLevel(logging.ERROR)
    _, subset, TTFont, ft_version, br_version = import_fonttools()
    nanum_version = ensure_fonts_nanum()
    fonts_dir = out / "fonts"
    fonts_dir.mkdir(parents=True, exist_ok=True)

    ks = ks_x_1001_hangul()
    full = list(range(HANGUL_FIRST, HANGUL_LAST + 1))
    ui = ui_codepoints()

    # measure: both Hangul sets, hinted and not, per weight
    sizes: dict = {}
    for src_name, stem, style, _ in WEIGHTS:
        src = NANUM_DIR / src_name
        for label, hangul in (("ks", ks), ("full", full)):
            for hint in (False, True):
                data, _ = subset_font(subset, src, ui + hangul, "woff2", hint, style)
                sizes[(stem, label, hint)] = len(data)
                log(f"measured {stem} {label} {'hinted' if hint else 'unhinted'}: {kib(len(data))}")
    use_full = all(sizes[(stem, "full", HINTING)] < FULL_HANGUL_LIMIT for _, stem, _, _ in WEIGHTS)
    hangul = full if use_full else ks
    hangul_label = "all 11,172 Hangul syllables" if use_full else "the 2,350 KS X 1001 Hangul syllables"

    info = {
        "nanum_version": nanum_version, "fonttools": ft_version, "brotli": br_version,
        "sizes": sizes, "use_full": use_full, "files": {}, "missing": {}, "sources": {},
    }
    for src_name, stem, style, weight in WEIGHTS:
        src = NANUM_DIR / src_name
        info["sources"][src_name] = sha256(src.read_bytes())
        for flavor, ext in (("woff2", "woff2"), (None, "ttf")):
            data, font = subset_font(subset, src, ui + hangul, flavor, HINTING, style)
            path = fonts_dir / f"{stem}.subset.{ext}"
            path.write_bytes(data)
            cmap = font.getBestCmap()
            info["files"][path.name] = {
                "bytes": len(data), "sha256": sha256(data), "glyphs": len(font.getGlyphOrder()),
                "codepoints": len(cmap),
                "hangul": sum(1 for c in cmap if HANGUL_FIRST <= c <= HANGUL_LAST),
            }
            assert all(c in cmap for c in ks), f"{path.name}: KS X 1001 syllable missing"
            info["missing"][stem] = [c for c in map(ord, REQUESTED_SYMBOLS) if c not in cmap]
            info["latin1_missing"] = [c for c in range(0xA1, 0x100) if c not in cmap]
        log(f"wrote {stem}.subset.woff2/.ttf")

    (fonts_dir / "OFL.txt").write_text(ofl_text(), encoding="utf-8")
    (fonts_dir / "fonts.css").write_text(fonts_css(), encoding="utf-8")
    (fonts_dir / "README.md").write_text(fonts_readme(info, hangul_label), encoding="utf-8")
    return info


def ofl_text() -> str:
    """The OFL-1.1 paragraph of the Debian copyright file, de-indented."""
    text = NANUM_COPYRIGHT.read_text(encoding="utf-8")
    m = re.search(r"^License: OFL-1\.1\n((?: .*\n?)+)", text, re.M)
    if not m:
        sys.exit(f"no OFL-1.1 licence paragraph in {NANUM_COPYRIGHT}")
    lines = []
    for line in m.group(1).splitlines():
        line = line[1:].rstrip()
        lines.append("" if line == "." else line)
    return "\n".join(lines).strip() + "\n"


def fonts_css() -> str:
    rules = [
        "/* Generated by scripts/build_static.py -- do not edit by hand.\n"
        f" * \"{FAMILY}\": subset of NanumGothic (SIL OFL 1.1, see OFL.txt), renamed because\n"
        " * \"Nanum\"/\"NanumGothic\" are Reserved Font Names of that licence.\n"
        " * Use:  font-family: \"" + FAMILY + "\", sans-serif;\n"
        " * Not in the font (the browser takes them from a system font): ✓ ✕ and the\n"
        " * other code points listed in README.md. */\n"
    ]
    for _, stem, _, weight in WEIGHTS:
        rules.append(
            "@font-face {\n"
            f"  font-family: \"{FAMILY}\";\n"
            "  font-style: normal;\n"
            f"  font-weight: {weight};\n"
            "  font-display: swap;\n"
            f"  src: url(\"{stem}.subset.woff2\") format(\"woff2\");\n"
            "}\n"
        )
    return "\n".join(rules)


def fonts_readme(info: dict, hangul_label: str) -> str:
    s = info["sizes"]
    rows = []
    for _, stem, _, _ in WEIGHTS:
        rows.append(
            f"| {stem} | {kib(s[(stem, 'ks', False)])} | {kib(s[(stem, 'full', False)])} "
            f"| {kib(s[(stem, 'ks', True)])} | {kib(s[(stem, 'full', True)])} |"
        )
    files = []
    for name, f in info["files"].items():
        files.append(
            f"| {name} | {f['bytes']:,} ({kib(f['bytes'])}) | {f['glyphs']:,} | {f['codepoints']:,} "
            f"| {f['hangul']:,} | `{f['sha256']}` |"
        )
    sources = "\n".join(f"| {n} | `{h}` |" for n, h in info["sources"].items())
    blocks = "\n".join(f"- U+{a:04X}–U+{b:04X} {label}" for a, b, label in UI_BLOCKS)
    missing = sorted({c for v in info["missing"].values() for c in v})
    missing_txt = ", ".join(f"{chr(c)} U+{c:04X}" for c in missing) or "none"
    limit = f"{FULL_HANGUL_LIMIT:,} bytes"
    choice = (
        f"Both weights stay under {limit} with all syllables, so all 11,172 are shipped "
        "(names, addresses and rare syllables such as 똠, 믜, 햏 then render in the web font too)."
        if info["use_full"]
        else f"The full set exceeds {limit} for a weight, so only KS X 1001 is shipped."
    )
    return f"""# Fonts

Generated by `scripts/build_static.py`; do not edit these files by hand.

## Source

- Debian package `fonts-nanum` {info['nanum_version']} (`dpkg -s fonts-nanum`),
  NanumGothic 3.021 Regular and Bold, © NAVER Corporation (formerly NHN), SIL Open Font
  License 1.1: see `OFL.txt`, copied from `/usr/share/doc/fonts-nanum/copyright`.
- Built with fontTools {info['fonttools']} and brotli {info['brotli']}.

| source file | sha256 |
| --- | --- |
{sources}

## Name

The subset fonts are a Modified Version under the OFL, and "Nanum", "NanumGothic" and
"나눔고딕" are Reserved Font Names, so the fonts' internal names are replaced: family
**"{FAMILY}"** (PostScript `{PS_FAMILY}-Regular` / `-Bold`). Copyright, designer and
licence records are kept; the description record names the origin. `fonts.css` uses
the same family name. The file names keep "NanumGothic" only to say where they come from.

## Glyph set

Woff2 (web) and TTF (for fpdf2 PDF export) hold the same glyphs:

{blocks}
- Hangul: {hangul_label}; the 2,350 KS X 1001 syllables are enumerated by decoding every
  EUC-KR code 0xB0A1–0xC8FE and keeping the Hangul syllables.

Only code points that NanumGothic has are in the subset. Asked for but absent from
NanumGothic, so taken by the browser from a system font: {missing_txt}.
Available instead: ✖ U+2716 or × U+00D7 for ✕; ○/× (the Korean O/X marks) or
√ U+221A for ✓. For PDFs, fpdf2 needs a fallback font for those or plain substitutes.
NanumGothic also lacks these Latin-1 characters: {' '.join(map(chr, info['latin1_missing']))}.

TrueType hinting is {'kept' if HINTING else 'dropped'}: tablet browsers (Android Chrome, iPadOS
Safari) and PDF viewers ignore TrueType bytecode, and it roughly doubles the size.

## Sizes (woff2, per weight)

| weight | KS X 1001, unhinted | all 11,172, unhinted | KS X 1001, hinted | all 11,172, hinted |
| --- | --- | --- | --- | --- |
{chr(10).join(rows)}

{choice}

| file | bytes | glyphs | code points | Hangul syllables | sha256 |
| --- | --- | --- | --- | --- | --- |
{chr(10).join(files)}

## Rebuild

```sh
apt-get install -y fonts-nanum            # as root
python3 -m venv /tmp/fontvenv
/tmp/fontvenv/bin/pip install fonttools=={FONTTOOLS_VERSION} brotli=={BROTLI_VERSION}
/tmp/fontvenv/bin/python scripts/build_static.py          # rewrite
/tmp/fontvenv/bin/python scripts/build_static.py --check  # verify
```

`--check` compares byte for byte: the output is byte-stable for the same fontTools,
brotli and fonts-nanum versions (the 'modified' timestamp is taken from the source).
With other versions it compares glyph coverage, glyph count, names and size instead,
and says so.
"""


# ---- htmx -----------------------------------------------------------------------


def npm(*args: str, cwd: Path) -> str:
    r = subprocess.run(["npm", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        first = " / ".join(r.stderr.strip().splitlines()[:2])
        raise RuntimeError(f"npm {' '.join(args)} failed: {first}")
    return r.stdout


def build_htmx(out: Path) -> None:
    if not shutil.which("npm"):
        raise RuntimeError("npm is not installed")
    vendor = out / "vendor"
    vendor.mkdir(parents=True, exist_ok=True)
    spec = f"htmx.org@{HTMX_VERSION}"
    with tempfile.TemporaryDirectory(prefix="htmx-pack-") as tmp:
        tmpd = Path(tmp)
        integrity = json.loads(npm("view", spec, "dist.integrity", "--json", cwd=tmpd))
        packed = json.loads(npm("pack", spec, "--json", cwd=tmpd))[0]
        tgz = tmpd / packed["filename"]
        data = tgz.read_bytes()
        own = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
        if not (own == integrity == packed["integrity"]):
            raise RuntimeError(f"integrity mismatch: {own} vs registry {integrity}")
        with tarfile.open(tgz, "r:gz") as tar:
            js = tar.extractfile("package/dist/htmx.min.js").read()
            lic = tar.extractfile("package/LICENSE").read()
            pkg = json.loads(tar.extractfile("package/package.json").read())
    if pkg["version"] != HTMX_VERSION or f'version:"{HTMX_VERSION}"'.encode() not in js:
        raise RuntimeError("htmx version in the tarball does not match the pin")
    for old in vendor.glob("htmx-*.min.js"):
        if old.name != f"htmx-{HTMX_VERSION}.min.js":
            old.unlink()
    (vendor / f"htmx-{HTMX_VERSION}.min.js").write_bytes(js)
    (vendor / "htmx.LICENSE").write_bytes(lic)
    (vendor / "README.md").write_text(
        f"""# Vendored JavaScript

Generated by `scripts/build_static.py`; do not edit these files by hand.

| | |
| --- | --- |
| package | `htmx.org` (npm registry) |
| version | {HTMX_VERSION} |
| licence | {pkg.get('license')} (`htmx.LICENSE`, the package's `LICENSE`) |
| file | `htmx-{HTMX_VERSION}.min.js` = `package/dist/htmx.min.js`, {len(js):,} bytes |
| sha256 | `{sha256(js)}` |
| npm dist.integrity | `{integrity}` |
| npm dist.shasum | `{packed['shasum']}` |

Obtained with `npm pack {spec}` in a temporary directory (no node_modules in the
repository); the tarball's sha512 was checked against `npm view {spec} dist.integrity`
before `package/dist/htmx.min.js` and `package/LICENSE` were extracted.

Pinned to the latest 2.0.x patch on purpose: htmx 4 changed how request headers and
error responses behave, and the app stays on 2.x. To move to a newer 2.0.x, change
`HTMX_VERSION` in `scripts/build_static.py` and run it; it removes the old file.
""",
        encoding="utf-8",
    )
    log(f"wrote vendor/htmx-{HTMX_VERSION}.min.js")


# ---- check ----------------------------------------------------------------------


def committed_files() -> set[str]:
    return {str(p.relative_to(STATIC)) for d in ("fonts", "vendor")
            for p in (STATIC / d).rglob("*") if p.is_file()}


def font_summary(path: Path) -> dict:
    _, _, TTFont, _, _ = import_fonttools()
    f = TTFont(str(path))
    return {
        "cmap": sorted(f.getBestCmap()),
        "glyphs": len(f.getGlyphOrder()),
        "family": f["name"].getDebugName(1),
        "style": f["name"].getDebugName(2),
        "bytes": path.stat().st_size,
    }


def check() -> int:
    ok = True
    with tempfile.TemporaryDirectory(prefix="edge-static-") as tmp:
        out = Path(tmp)
        info = build_fonts(out)
        htmx_rebuilt = True
        try:
            build_htmx(out)
        except RuntimeError as e:
            htmx_rebuilt = False
            log(f"NOTE: htmx not rebuilt ({e}); checking the committed file against its README")
        pinned = (info["fonttools"], info["brotli"], info["nanum_version"]) == (
            FONTTOOLS_VERSION, BROTLI_VERSION, FONTS_NANUM_VERSION)
        if not pinned:
            log(
                "NOTE: fontTools/brotli/fonts-nanum are "
                f"{info['fonttools']}/{info['brotli']}/{info['nanum_version']}, pinned "
                f"{FONTTOOLS_VERSION}/{BROTLI_VERSION}/{FONTS_NANUM_VERSION}: font files are "
                "compared by coverage, glyph count, names and size, not bytes"
            )
        built = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
        committed = committed_files()
        if not htmx_rebuilt:
            built |= {c for c in committed if c.startswith("vendor/")}
        for rel in sorted(built | committed):
            a, b = STATIC / rel, out / rel
            if rel.startswith("vendor/") and not htmx_rebuilt:
                continue
            if not a.exists():
                log(f"MISSING in repo: {rel}")
                ok = False
            elif not b.exists():
                log(f"EXTRA in repo (not built): {rel}")
                ok = False
            elif a.read_bytes() == b.read_bytes():
                log(f"same bytes: {rel}")
            elif not pinned and rel.endswith((".woff2", ".ttf")):
                sa, sb = font_summary(a), font_summary(b)
                same = all(sa[k] == sb[k] for k in ("cmap", "glyphs", "family", "style"))
                close = abs(sa["bytes"] - sb["bytes"]) <= 0.10 * sb["bytes"]
                log(f"{'same coverage' if same and close else 'DIFFERENT'}: {rel} "
                    f"({sa['glyphs']} vs {sb['glyphs']} glyphs, {sa['bytes']} vs {sb['bytes']} bytes)")
                ok &= same and close
            elif not pinned and rel == "fonts/README.md":
                log(f"not compared (records tool versions and sizes): {rel}")
            else:
                log(f"DIFFERENT: {rel}")
                ok = False
        if not htmx_rebuilt:
            readme = (STATIC / "vendor" / "README.md").read_text(encoding="utf-8")
            js = STATIC / "vendor" / f"htmx-{HTMX_VERSION}.min.js"
            good = js.exists() and f"`{sha256(js.read_bytes())}`" in readme
            log(f"{'sha256 matches README' if good else 'DIFFERENT'}: vendor/{js.name}")
            ok &= good
    log("check passed" if ok else "check FAILED")
    return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="rebuild into a temp dir and compare with the committed files")
    args = ap.parse_args()
    if args.check:
        return check()
    build_fonts(STATIC)
    build_htmx(STATIC)
    return 0


if __name__ == "__main__":
    sys.exit(main())
