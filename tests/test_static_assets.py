"""The offline front-end assets under edge_app/web/static (built by scripts/build_static.py).

Needs no network and no fontTools: the TTF cmap and name tables are read with the small
sfnt reader below. Only the woff2-vs-TTF cmap comparison needs fontTools + brotli and is
skipped without them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import struct
from html.parser import HTMLParser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STATIC = REPO / "edge_app" / "web" / "static"
FONTS = STATIC / "fonts"
VENDOR = STATIC / "vendor"

FAMILY = "EdgeApp Gothic"
STEMS = ["NanumGothic-Regular", "NanumGothic-Bold"]
TTFS = [FONTS / f"{s}.subset.ttf" for s in STEMS]
WOFF2S = [FONTS / f"{s}.subset.woff2" for s in STEMS]
UI_SYMBOLS = "·→←▶●○…₩№℃±"


def build_static():
    """scripts/build_static.py itself (loaded from its path: scripts/ is not a package), so
    the tests check the helpers the build runs, not a copy of them. Only the standard library
    is imported at its top; fontTools is needed only when it builds."""
    spec = importlib.util.spec_from_file_location("build_static", REPO / "scripts" / "build_static.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def ks_x_1001_hangul() -> set[int]:
    """The syllables the build script subsets the fonts to at least."""
    return set(build_static().ks_x_1001_hangul())


# ---- a tiny sfnt reader -------------------------------------------------------------


def sfnt_tables(data: bytes) -> dict[str, bytes]:
    assert data[:4] in (b"\x00\x01\x00\x00", b"true"), "not a TrueType font"
    (num,) = struct.unpack(">H", data[4:6])
    tables = {}
    for i in range(num):
        tag, _, off, length = struct.unpack(">4sIII", data[12 + 16 * i: 28 + 16 * i])
        tables[tag.decode("latin-1")] = data[off: off + length]
    return tables


def _cmap_format4(t: bytes) -> set[int]:
    (seg_x2,) = struct.unpack(">H", t[6:8])
    n = seg_x2 // 2
    ends = struct.unpack(f">{n}H", t[14: 14 + seg_x2])
    starts = struct.unpack(f">{n}H", t[16 + seg_x2: 16 + 2 * seg_x2])
    deltas = struct.unpack(f">{n}h", t[16 + 2 * seg_x2: 16 + 3 * seg_x2])
    ro_pos = 16 + 3 * seg_x2
    range_offsets = struct.unpack(f">{n}H", t[ro_pos: ro_pos + seg_x2])
    out = set()
    for i in range(n):
        for c in range(starts[i], ends[i] + 1):
            if c == 0xFFFF:
                continue
            if range_offsets[i] == 0:
                g = (c + deltas[i]) & 0xFFFF
            else:
                at = ro_pos + 2 * i + range_offsets[i] + 2 * (c - starts[i])
                (g,) = struct.unpack(">H", t[at: at + 2])
                if g:
                    g = (g + deltas[i]) & 0xFFFF
            if g:
                out.add(c)
    return out


def _cmap_format12(t: bytes) -> set[int]:
    (groups,) = struct.unpack(">I", t[12:16])
    out = set()
    for i in range(groups):
        start, end, glyph = struct.unpack(">III", t[16 + 12 * i: 28 + 12 * i])
        out.update(c for c in range(start, end + 1) if glyph + c - start)
    return out


def cmap_codepoints(font: bytes) -> set[int]:
    """Code points the font maps to a glyph other than .notdef (Unicode subtables)."""
    cmap = sfnt_tables(font)["cmap"]
    (n,) = struct.unpack(">H", cmap[2:4])
    out: set[int] = set()
    for i in range(n):
        pid, eid, off = struct.unpack(">HHI", cmap[4 + 8 * i: 12 + 8 * i])
        if not (pid == 0 or (pid == 3 and eid in (1, 10))):
            continue
        (fmt,) = struct.unpack(">H", cmap[off: off + 2])
        if fmt == 4:
            out |= _cmap_format4(cmap[off:])
        elif fmt == 12:
            out |= _cmap_format12(cmap[off:])
    assert out, "no Unicode cmap subtable of format 4 or 12"
    return out


def name_records(font: bytes) -> dict[int, str]:
    """Windows-platform (3, 1) English name records by name ID."""
    t = sfnt_tables(font)["name"]
    _, count, string_off = struct.unpack(">HHH", t[:6])
    out = {}
    for i in range(count):
        pid, eid, lang, nid, length, off = struct.unpack(">6H", t[6 + 12 * i: 18 + 12 * i])
        if (pid, eid, lang) == (3, 1, 0x409):
            raw = t[string_off + off: string_off + off + length]
            out[nid] = raw.decode("utf-16-be")
    return out


# ---- fonts -----------------------------------------------------------------------


def test_the_build_scripts_ks_x_1001_has_2350_syllables():
    """The build script's own list (scripts/build_static.py), checked against what KS X 1001
    is: 2,350 distinct precomposed syllables from 가 to 힝, in code order, each with its
    two-byte EUC-KR code in rows 0xB0-0xC8."""
    ks = build_static().ks_x_1001_hangul()
    assert len(ks) == len(set(ks)) == 2350
    assert ks == sorted(ks)
    assert ks[0] == ord("가") and ks[-1] == ord("힝")
    assert all(0xAC00 <= c <= 0xD7A3 for c in ks)
    for c in ks:
        hi, lo = chr(c).encode("euc-kr")
        assert 0xB0 <= hi <= 0xC8 and 0xA1 <= lo <= 0xFE, hex(c)
    assert {ord(c) for c in "각닭힝"} <= set(ks) and not {ord(c) for c in "똠믜햏"} & set(ks)  # rare: not in it


@pytest.fixture(scope="module")
def ttf_cmaps() -> dict[str, set[int]]:
    return {p.name: cmap_codepoints(p.read_bytes()) for p in TTFS}


@pytest.mark.parametrize("path", TTFS, ids=lambda p: p.name)
def test_ttf_covers_the_glyph_set(path, ttf_cmaps):
    cps = ttf_cmaps[path.name]
    missing = ks_x_1001_hangul() - cps
    assert not missing, f"{len(missing)} KS X 1001 syllables missing, e.g. {chr(min(missing))}"
    hangul = {c for c in cps if 0xAC00 <= c <= 0xD7A3}
    assert len(hangul) in (2350, 11172)
    assert set(range(0x20, 0x7F)) <= cps, "Basic Latin"
    assert set(range(0x3131, 0x318F)) <= cps, "Hangul Compatibility Jamo"
    assert {ord(c) for c in UI_SYMBOLS} <= cps
    assert not {c for c in cps if 0x4E00 <= c <= 0x9FFF}, "Hanja should be subset away"


@pytest.mark.parametrize("path", TTFS, ids=lambda p: p.name)
def test_every_word_of_the_ui_has_its_glyphs(path, ttf_cmaps):
    """Every character of the page's texts (Korean and English) is in the shipped font, so
    a new message never falls back to whatever font a tablet happens to have."""
    from edge_app.pages.i18n import CATALOGUE

    used = {c for ko, en in CATALOGUE.values() for c in ko + en if not c.isspace()}
    missing = sorted(c for c in used if ord(c) not in ttf_cmaps[path.name])
    assert not missing, missing


def test_regular_and_bold_have_the_same_code_points(ttf_cmaps):
    a, b = (ttf_cmaps[p.name] for p in TTFS)
    assert a == b


@pytest.mark.parametrize("path", TTFS, ids=lambda p: p.name)
def test_ttf_is_renamed_away_from_reserved_font_names(path):
    names = name_records(path.read_bytes())
    assert names[1] == FAMILY
    assert names[2] in ("Regular", "Bold")
    for nid in (1, 3, 4, 6, 16, 17, 18, 21, 22):
        text = names.get(nid, "")
        assert "nanum" not in text.lower() and "나눔" not in text, (nid, text)
    assert "Open Font License" in names[13]
    assert "NHN" in names[0]  # the copyright notice is kept


@pytest.mark.parametrize("path", WOFF2S, ids=lambda p: p.name)
def test_woff2_header(path):
    data = path.read_bytes()
    sig, flavor, length, num_tables = struct.unpack(">4sIIH", data[:14])
    assert sig == b"wOF2"
    assert flavor == 0x00010000  # TrueType outlines
    assert length == len(data)
    assert num_tables >= 8


@pytest.mark.parametrize("stem", STEMS)
def test_woff2_matches_ttf_cmap(stem, ttf_cmaps):
    pytest.importorskip("brotli", reason="brotli (build-time only) is needed to read woff2")
    ttlib = pytest.importorskip("fontTools.ttLib", reason="fontTools is a build-time tool only")
    font = ttlib.TTFont(str(FONTS / f"{stem}.subset.woff2"))
    assert set(font.getBestCmap()) == ttf_cmaps[f"{stem}.subset.ttf"]


def test_font_readme_records_the_shipped_files():
    readme = (FONTS / "README.md").read_text(encoding="utf-8")
    for p in TTFS + WOFF2S:
        assert f"`{hashlib.sha256(p.read_bytes()).hexdigest()}`" in readme, p.name
    assert re.search(r"fonts-nanum` \d{8}-\d", readme)


def test_ofl_licence_is_shipped():
    text = (FONTS / "OFL.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE" in text and "Version 1.1" in text
    assert "NAVER Corporation" in text and "Reserved Font Name" in text


def test_fonts_css():
    css = (FONTS / "fonts.css").read_text(encoding="utf-8")
    faces = re.findall(r"@font-face\s*{([^}]*)}", css)
    assert len(faces) == 2
    weights = set()
    for face in faces:
        assert re.search(rf'font-family:\s*"{FAMILY}"', face)
        assert re.search(r"font-display:\s*swap", face)
        weights.add(re.search(r"font-weight:\s*(\d+)", face).group(1))
        urls = re.findall(r'url\(\s*["\']?([^"\')]+)["\']?\s*\)\s*format\("woff2"\)', face)
        assert len(urls) == 1
        assert "/" not in urls[0] and (FONTS / urls[0]).is_file(), urls[0]
    assert weights == {"400", "700"}


# ---- htmx ------------------------------------------------------------------------


def test_htmx_is_pinned_2_0_and_matches_readme():
    files = sorted(VENDOR.glob("htmx-*.min.js"))
    assert len(files) == 1, files
    version = re.fullmatch(r"htmx-(\d+\.\d+\.\d+)\.min\.js", files[0].name).group(1)
    assert version.startswith("2.0."), "stay on htmx 2.0.x"
    data = files[0].read_bytes()
    assert f'version:"{version}"'.encode() in data
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    m = re.search(r"\| sha256 \| `([0-9a-f]{64})` \|", readme)
    assert m and m.group(1) == hashlib.sha256(data).hexdigest()
    assert re.search(rf"\| version \| {re.escape(version)} \|", readme)
    assert re.search(r"\| npm dist\.integrity \| `sha512-[A-Za-z0-9+/=]+` \|", readme)
    assert (VENDOR / "htmx.LICENSE").read_text(encoding="utf-8").strip()


# ---- nothing fetched from the internet ----------------------------------------------

REMOTE = re.compile(r"^\s*(?:https?:)?//", re.I)


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("src", "href", "srcset", "poster", "data") and v:
                self.refs.append(v)


def css_refs(css: str) -> list[str]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    refs = re.findall(r"url\(\s*[\"']?([^\"')]+)", css)
    refs += re.findall(r"@import\s+[\"']([^\"']+)", css)
    return refs


def static_refs() -> list[tuple[str, str]]:
    out = []
    for p in sorted(STATIC.rglob("*")):
        if p.suffix.lower() == ".css":
            out += [(str(p.relative_to(STATIC)), r) for r in css_refs(p.read_text(encoding="utf-8"))]
        elif p.suffix.lower() in (".html", ".htm"):
            parser = _Refs()
            parser.feed(p.read_text(encoding="utf-8"))
            for r in parser.refs:
                out += [(str(p.relative_to(STATIC)), u.split()[0]) for u in r.split(",") if u.strip()]
            # inline <style> blocks
            for block in re.findall(r"<style[^>]*>(.*?)</style>", p.read_text(encoding="utf-8"), re.S | re.I):
                out += [(str(p.relative_to(STATIC)), r) for r in css_refs(block)]
    return out


def test_reference_scanner_sees_remote_urls():
    assert css_refs('a{background:url("https://x.example/a.png")} @import "//cdn/x.css";') == [
        "https://x.example/a.png", "//cdn/x.css"]
    parser = _Refs()
    parser.feed('<script src="https://unpkg.com/htmx.org"></script><a href="/local">x</a>')
    assert [r for r in parser.refs if REMOTE.match(r)] == ["https://unpkg.com/htmx.org"]


def test_no_static_file_fetches_from_the_internet():
    refs = static_refs()
    assert refs, "expected at least the url()s of fonts.css"
    remote = [(f, r) for f, r in refs if REMOTE.match(r)]
    assert not remote, remote


def test_the_html_report_embeds_the_korean_font():
    # a bare Jetson or Linux browser has no Hangul font: the self-contained report brings its own
    from edge_app.engine.report import embedded_font_css

    css = embedded_font_css()
    assert css.startswith("@font-face") and 'font-family:"EdgeApp Gothic"' in css
    assert "data:font/woff2;base64," in css and "http" not in css
