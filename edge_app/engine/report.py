"""Human-readable outputs of a grouping: the text listing, ``--explain`` and the HTML page.

The HTML page is one self-contained file (thumbnails inline as JPEG data URIs, no script,
no font or stylesheet fetched), so it opens on a laptop or tablet with no network. It has a
row per group in capture order and the unassigned photos last, labelled in Korean and
English.

File names are shown through :func:`display_name`: a name holding a newline, a terminal
escape sequence or a right-to-left override prints as escapes, never as what it would do
to the terminal or the page. Every value of a photo's metadata is shown safely, whatever
it holds.
"""

from __future__ import annotations

import base64
import html
import io
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from .analyze import AnalysisError, PhotoAnalysis
from .decode import ImageError, decode_image, reason_ko
from .result import GroupResult
from ..display import display_name  # noqa: F401 - the report's names, and the CLI's

def group_order(labels: Sequence[int | None]) -> list[tuple[int | None, list[int]]]:
    """[(label, member indices)] with groups in label order and unassigned (None) last."""
    groups: dict[int, list[int]] = {}
    alone: list[int] = []
    for i, lab in enumerate(labels):
        (alone if lab is None else groups.setdefault(lab, [])).append(i)
    out: list[tuple[int | None, list[int]]] = [(k, groups[k]) for k in sorted(groups)]
    if alone:
        out.append((None, alone))
    return out


def _fmt_time(t) -> str:
    """A capture time as "YYYY-MM-DD HH:MM" UTC; "" for none or anything unprintable."""
    try:
        if t is None or not math.isfinite(float(t)):
            return ""
        return datetime.fromtimestamp(float(t), tz=timezone.utc).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError, OverflowError, OSError):
        return ""


def _time_key(t) -> float | None:
    try:
        t = float(t)
    except (TypeError, ValueError, OverflowError):
        return None
    return t if math.isfinite(t) else None


def _by_time(idx: list[int], analyses: Sequence[PhotoAnalysis], names: Sequence[str]) -> list[int]:
    """Capture order, photos without a capture time last, then by name."""
    def key(i):
        t = _time_key(analyses[i].meta.taken_at)
        return (t is None, t or 0.0, str(names[i]))

    return sorted(idx, key=key)


def format_text(names: Sequence[str], analyses: Sequence[PhotoAnalysis], result: GroupResult,
                errors: Sequence[AnalysisError] = (), duplicates: Sequence[tuple[int, int]] = (),
                skipped: Sequence[tuple[str, str]] = ()) -> str:
    """The listing printed by ``edge-app cluster``; ``duplicates``: (i, first) pairs of
    photos with identical bytes (both stay in the grouping); ``skipped``: (name, reason)
    of the folder's entries that were not taken as photos. Names are shown through
    :func:`display_name`."""
    show = display_name
    lines = []
    order = group_order(result.labels)
    n_groups = sum(1 for lab, _ in order if lab is not None)
    n_alone = sum(len(m) for lab, m in order if lab is None)
    lines.append(f"{len(names)} photos: {n_groups} groups, {n_alone} unassigned, {len(errors)} unreadable"
                 + (f", {len(skipped)} skipped" if skipped else ""))
    for lab, members in order:
        head = f"group {lab + 1} ({len(members)} photos)" if lab is not None else f"unassigned ({len(members)})"
        lines.append("")
        lines.append(head)
        for i in _by_time(members, analyses, names):
            t = _fmt_time(analyses[i].meta.taken_at)
            lines.append(f"  {show(names[i])}" + (f"  {t}" if t else ""))
    if errors:
        lines.append("")
        lines.append(f"unreadable ({len(errors)})")
        for e in errors:
            lines.append(f"  {show(Path(e.path).name)}: {e.reason}" + (f" ({show(e.detail)})" if e.detail else ""))
    if skipped:
        lines.append("")
        lines.append(f"skipped, not photos ({len(skipped)})")
        for name, reason in skipped:
            lines.append(f"  {show(name)}: {reason}")
    if duplicates:
        lines.append("")
        lines.append(f"identical copies ({len(duplicates)})")
        for i, first in duplicates:
            lines.append(f"  {show(names[i])} = {show(names[first])}")
    return "\n".join(lines)


def format_mode(thorough: dict, flag_off: str = "--no-cascade", flag_on: str = "--thorough") -> str:
    """One line on the thorough pass's mode and why (``FolderResult.thorough``: see
    :meth:`edge_app.engine.thorough.Thorough.summary`), e.g. ``mode: fast (12 undecided pairs over 9
    photos: 9 x 0.47 s + 12 x 0.0315 s = 4.61 s by count > budget 2 s; --thorough runs the
    cascade)``. The same folder and flags always give the same line (it is decided from counts)."""
    reason = thorough.get("reason") or ""
    if reason == "thorough pass off":
        reason = f"{flag_off}: the fast path only"
    elif thorough.get("mode") != "thorough" and "> budget" in reason:
        reason += f"; {flag_on} runs the cascade"
    return f"mode: {thorough.get('mode', 'fast')} ({display_name(reason)})"


def _pair_line(names, result: GroupResult, i: int, j: int) -> str:
    a, b = min(i, j), max(i, j)
    names = {a: display_name(names[a]), b: display_name(names[b])}
    session = {k: s for s, members in enumerate(result.sessions) for k in members}
    if session.get(a) != session.get(b):
        return f"{names[a]} ~ {names[b]}: different site sessions (GPS / capture time), never compared"
    sc = result.scores.get((a, b))
    geo = (f"inliers {max(sc.inliers_f, sc.inliers_h)} (H {sc.inliers_h}) of {sc.matches} matches, "
           f"coverage {sc.coverage_a:.2f}/{sc.coverage_b:.2f}") if sc else "not verified (far in embedding)"
    return f"{names[a]} ~ {names[b]}: p={result.P[a, b]:.2f} cos={result.cos[a, b]:.2f} {geo}"


def format_explain(names: Sequence[str], result: GroupResult, per_group: int = 3,
                   thorough: dict | None = None) -> str:
    """Why photos were joined or kept apart: the strongest pairs inside each group, each
    unassigned photo's best candidate, and the strongest link between different groups
    (among the pairs with evidence: :attr:`GroupResult.P` stores those); first, given
    ``thorough`` (``FolderResult.thorough``), the thorough pass's mode and why."""
    labels = result.labels
    P = result.P
    n = len(labels)
    lab_of = np.array([-1 if lab is None else lab for lab in labels], np.intp)

    def row(i: int) -> tuple[np.ndarray, np.ndarray]:
        """Partners of photo i with evidence (ascending) and their p."""
        lo, hi = P.indptr[i], P.indptr[i + 1]
        order = np.argsort(P.indices[lo:hi], kind="stable")
        return P.indices[lo:hi][order], P.data[lo:hi][order]

    out = ["explain: p = probability of same spot (groups merge while the mean p of their pairs is high enough)"]
    if thorough is not None:
        out.append(format_mode(thorough))
    for lab, members in group_order(labels):
        if lab is None:
            out.append("unassigned photos, best candidate each:")
            for i in members:
                cols, vals = row(i)
                if len(cols):
                    j = int(cols[np.argmax(vals)])
                elif n > 1:
                    j = 1 if i == 0 else 0  # no pair with evidence: any other photo says why
                else:
                    continue
                out.append("  " + _pair_line(names, result, i, j))
            continue
        out.append(f"group {lab + 1}: strongest links")
        inside = []
        for i in members:
            cols, vals = row(i)
            keep = (lab_of[cols] == lab) & (cols > i)
            inside += zip(vals[keep].tolist(), [i] * int(keep.sum()), cols[keep].tolist())
        for _, i, j in sorted(inside, reverse=True)[:per_group]:
            out.append("  " + _pair_line(names, result, i, j))
        weakest = min(members, key=lambda i: result.mean_p(i, [j for j in members if j != i]))
        mean = result.mean_p(weakest, [j for j in members if j != weakest])
        out.append(f"  weakest member: {display_name(names[weakest])} (mean p to the group {mean:.2f})")
        links = []
        for i in members:
            cols, vals = row(i)
            keep = lab_of[cols] != lab
            links += zip(vals[keep].tolist(), [i] * int(keep.sum()), cols[keep].tolist())
        if links:
            _, i, j = max(links)
            out.append("  strongest link outside (kept apart): " + _pair_line(names, result, i, j))
    return "\n".join(out)


def thumbnail_data_uri(path: str | Path, max_side: int = 256, quality: int = 70) -> str | None:
    """A small JPEG of the photo as a ``data:`` URI, or None when it cannot be decoded
    (a panorama's thumbnail may be a few pixels high: still shown)."""
    try:
        dec = decode_image(path, max_side, min_side=1)
    except ImageError:
        return None
    buf = io.BytesIO()
    Image.fromarray(dec.rgb).save(buf, "JPEG", quality=quality, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


_CSS = """
body{font-family:"EdgeApp Gothic",system-ui,-apple-system,"Noto Sans KR","Malgun Gothic",sans-serif;margin:0;background:#f4f4f1;color:#1d1d1b}
header{padding:16px 20px;background:#23413a;color:#fff}
header h1{margin:0;font-size:1.3rem}
header p{margin:4px 0 0;opacity:.85}
section{margin:14px 20px;padding:12px;background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
section h2{margin:0 0 8px;font-size:1.05rem}
section.alone{background:#fff7e6}
section.errors{background:#fdecea}
.row{display:flex;flex-wrap:wrap;gap:10px}
figure{margin:0;width:200px}
figure img{width:200px;height:150px;object-fit:cover;border-radius:6px;background:#ddd;display:block}
figcaption{font-size:.8rem;word-break:break-all;margin-top:3px}
.noimg{width:200px;height:150px;display:flex;align-items:center;justify-content:center;background:#ddd;border-radius:6px}
"""


def embedded_font_css() -> str:
    """@font-face of the app's Korean web font (the subset of NanumGothic the site page
    serves, ``web/static/fonts``) as a data: URI, so the self-contained page shows Hangul
    on a bare Jetson or Linux browser too; "" when the font file is missing."""
    path = Path(__file__).resolve().parents[1] / "web" / "static" / "fonts" / "NanumGothic-Regular.subset.woff2"
    try:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError:
        return ""
    return ('@font-face{font-family:"EdgeApp Gothic";font-weight:400 700;font-display:swap;'
            f'src:url(data:font/woff2;base64,{data}) format("woff2")}}')


def render_html(paths: Sequence[str | Path], analyses: Sequence[PhotoAnalysis], result: GroupResult,
                errors: Sequence[AnalysisError] = (), title: str = "", thumb_side: int = 256,
                skipped: Sequence[tuple[str, str]] = ()) -> str:
    """One self-contained HTML page of the grouping (thumbnails inline); ``skipped``:
    (name, reason) of the entries that were not taken as photos. Names are shown through
    :func:`display_name`, reasons in Korean and English."""
    names = [display_name(Path(p).name) for p in paths]
    title = display_name(title)
    order = group_order(result.labels)
    n_groups = sum(1 for lab, _ in order if lab is not None)
    n_alone = sum(len(m) for lab, m in order if lab is None)
    esc = html.escape
    parts = [
        "<!doctype html><html lang=\"ko\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">",
        f"<title>{esc(title or '사진 그룹 / Photo groups')}</title><style>{embedded_font_css()}{_CSS}</style></head><body>",
        f"<header><h1>사진 그룹 / Photo groups{(' — ' + esc(title)) if title else ''}</h1>",
        f"<p>사진 {len(names)}장 · 그룹 {n_groups}개 · 미분류 {n_alone}장 / "
        f"{len(names)} photos · {n_groups} groups · {n_alone} unassigned</p></header>",
    ]
    for lab, members in order:
        if lab is None:
            parts.append("<section class=\"alone\"><h2>미분류 / Unassigned</h2><div class=\"row\">")
        else:
            parts.append(f"<section><h2>그룹 {lab + 1} / Group {lab + 1} "
                         f"<small>({len(members)}장 / photos)</small></h2><div class=\"row\">")
        for i in _by_time(members, analyses, names):
            uri = thumbnail_data_uri(paths[i], thumb_side)
            t = _fmt_time(analyses[i].meta.taken_at)
            img = f"<img src=\"{uri}\" alt=\"{esc(names[i])}\">" if uri else "<div class=\"noimg\">?</div>"
            parts.append(f"<figure>{img}<figcaption>{esc(names[i])}{('<br>' + t) if t else ''}</figcaption></figure>")
        parts.append("</div></section>")
    if errors:
        parts.append("<section class=\"errors\"><h2>읽을 수 없는 파일 / Unreadable files</h2><ul>")
        for e in errors:
            parts.append(f"<li>{esc(display_name(Path(e.path).name))}: {esc(reason_ko(e.reason))} / "
                         f"{esc(e.reason)}</li>")
        parts.append("</ul></section>")
    if skipped:
        parts.append("<section class=\"alone\"><h2>건너뛴 항목 / Skipped, not photos</h2><ul>")
        for name, reason in skipped:
            parts.append(f"<li>{esc(display_name(name))}: {esc(reason_ko(reason))} / {esc(reason)}</li>")
        parts.append("</ul></section>")
    parts.append("</body></html>")
    return "\n".join(parts)
