"""``edge-app export``: a site's photo ledger as XLSX, PDF or a ZIP of the originals.

    edge-app export --data DIR --site ID --format xlsx|pdf|zip [--out FILE] [--template FILE.xlsx]
                    [--all-photos] [--include-unconfirmed] [--keep-during] [--layout row|2up|4up] [--no-map]
                    [--lang ko|en]

Exit status: 0 written; 1 nothing to write (no confirmed spot); 2 a bad request (unknown
site, unreadable template, missing data folder).
"""

from __future__ import annotations

import sys
from pathlib import Path

from .common import data_option, open_data


def default_out(site_id: int, fmt: str) -> Path:
    return Path(f"ledger-site{site_id}{'-originals' if fmt == 'zip' else ''}.{fmt}")


def cmd_export(args) -> int:
    from ..store import StoreError
    from ..ledger import build_ledger, write
    from ..ledger.xlsx import TemplateError

    if args.template and args.format != "xlsx":
        print("error: --template is for --format xlsx", file=sys.stderr)
        return 2
    if args.layout != "row" and args.format == "zip":
        print("error: --layout 2up / 4up is for --format pdf or xlsx", file=sys.stderr)
        return 2
    if args.layout != "row" and args.template:
        print("error: a --template prints rows; --layout 2up / 4up use the built-in layout", file=sys.stderr)
        return 2
    if args.template and not Path(args.template).is_file():
        print(f"error: no template file {args.template}", file=sys.stderr)
        return 2
    st = open_data(args)
    try:
        try:
            ledger = build_ledger(st, args.site, lang=args.lang, include_unconfirmed=args.include_unconfirmed,
                                  all_photos=args.all_photos, keep_during=args.keep_during, layout=args.layout,
                                  location_map=not args.no_map)
        except StoreError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        if not ledger.spots:
            more = (f" ({ledger.unconfirmed_left_out} not confirmed yet: confirm them, or add --include-unconfirmed)"
                    if ledger.unconfirmed_left_out else "")
            print(f"error: site {args.site} has no confirmed spot with photos{more}", file=sys.stderr)
            return 1
        out = Path(args.out) if args.out else default_out(args.site, args.format)
        if not out.parent.is_dir():
            print(f"error: no folder {out.parent}", file=sys.stderr)
            return 2
        try:
            rep = write(ledger, args.format, out, args.template)
        except TemplateError as e:
            print(f"error: template {args.template} cannot be used: {e}", file=sys.stderr)
            return 2
    finally:
        st.close()
    for note in rep.get("notes", []):
        print(f"warning: photo left empty: {note}", file=sys.stderr)
    what = f"{rep['files']} originals" if args.format == "zip" else f"{rep['photos']} photos, {rep['pages']} pages"
    left = f"; {ledger.unconfirmed_left_out} unconfirmed spots left out" if ledger.unconfirmed_left_out else ""
    print(f"wrote {out}: {len(ledger.spots)} spots, {what}{left}")
    return 0


def add_commands(sub) -> None:
    """Register ``edge-app export`` on the ``edge-app`` subcommand parser."""
    p = sub.add_parser("export", help="a site's photo ledger (사진대지) as XLSX, PDF or a ZIP of originals",
                       description="Write the photo ledger of a site's confirmed spots: before / during / after "
                                   "per spot with location, caption and dates (XLSX to work in, PDF to submit), "
                                   "or the originals, byte-identical, in a ZIP with a CSV index.",
                       epilog="example: edge-app export --data edge-data --site 3 --format pdf --out 사진대지.pdf")
    data_option(p)
    p.add_argument("--site", type=int, required=True, metavar="ID", help="the site (see: edge-app status)")
    p.add_argument("--format", required=True, choices=("xlsx", "pdf", "zip"))
    p.add_argument("--out", metavar="FILE", help="where to write (default: ledger-site<ID>.<format>)")
    p.add_argument("--template", metavar="FILE.xlsx",
                   help="XLSX only: a company's template with named cells (see edge_app/ledger/xlsx.py)")
    p.add_argument("--all-photos", action="store_true",
                   help="every photo of each stage, not only the cover or first one")
    p.add_argument("--include-unconfirmed", action="store_true", help="also spots not confirmed yet (marked)")
    p.add_argument("--keep-during", action="store_true",
                   help="print the 'during' column even when no spot has a 'during' photo (it is dropped then)")
    p.add_argument("--layout", choices=("row", "2up", "4up"), default="row",
                   help="PDF and XLSX: row (a spot a row, its stages side by side; default), 2up or 4up (A4 "
                        "portrait, two or four large photos a page with 사진번호, 구분, 공종, 위치, 일자 and 내용 under "
                        "each; the XLSX in the built-in layout)")
    p.add_argument("--no-map", action="store_true",
                   help="leave out the 위치도 (location map: the spots placed by their photos' GPS, after the cover "
                        "of the PDF, a sheet of the XLSX); it is made only when a spot has GPS")
    p.add_argument("--lang", choices=("ko", "en"), default="ko", help="language of the document (default ko)")
    p.set_defaults(func=cmd_export)
