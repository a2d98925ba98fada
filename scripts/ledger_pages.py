"""Render one page of each photo-ledger layout for the README: the cover, the 위치도, a page of
rows, a 2-up page and a 4-up page.

    python scripts/ledger_pages.py [--out docs/img] [--dpi 80]

Builds a site in a temporary data folder the way the ledger's tests do
(``tests/ledger/ledger_data.py``: drawn mowing scenes, before / during / after, 12 MP
originals, each spot's photos given GPS somewhere in a park), fills the cover's fields as a
site office would, exports the PDF in each layout through :func:`edge_app.ledger.export`,
renders the pages with poppler's ``pdftoppm`` and saves them as 256-colour PNGs
(``ledger_cover.png``, ``ledger_map.png``, ``ledger_page.png``, ``ledger_2up.png``,
``ledger_4up.png``). Needs poppler-utils.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "ledger"))

import ledger_data  # noqa: E402
from edge_app.ledger import export  # noqa: E402
from edge_app.store import ledger_fields, open_store  # noqa: E402

#: Spots of a park, metres (east, north) from its gate.
PARK = [(0, 0), (120, 40), (124, 43), (60, 150), (200, 90), (15, 70)]
#: (layout, page number, file name): which page of which export is shown.
PAGES = [("row", 1, "ledger_cover.png"), ("row", 2, "ledger_map.png"), ("row", 3, "ledger_page.png"),
         ("2up", 3, "ledger_2up.png"), ("4up", 3, "ledger_4up.png")]


def build(root: Path) -> int:
    with open_store(root) as st:
        info = ledger_data.build_site(st, len(PARK), unconfirmed=0, rotate_first_after=False,
                                      camera_size=(4000, 3000))
        ledger_data.put_spots_at(st, info, PARK)
        ledger_fields.set_site_fields(st, info["site"], "kim", client="○○시 푸른도시과",
                                      contract_no="제2026-0412호", contract_period="2026.05.01 ~ 2026.06.30")
    return info["site"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(REPO / "docs" / "img"))
    ap.add_argument("--dpi", type=int, default=80)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        site = build(tmp / "data")
        with open_store(tmp / "data") as st:
            for layout in sorted({lay for lay, _, _ in PAGES}):
                export(st, site, "pdf", tmp / f"{layout}.pdf", layout=layout)
        for layout, page, name in PAGES:
            stem = tmp / f"{layout}-{page}"
            subprocess.run(["pdftoppm", "-r", str(args.dpi), "-png", "-singlefile", "-f", str(page), "-l", str(page),
                            str(tmp / f"{layout}.pdf"), str(stem)], check=True)
            img = Image.open(f"{stem}.png").convert("RGB").quantize(256, dither=Image.Dither.NONE)
            img.save(out / name, optimize=True)
            print(f"{out / name}: {layout} page {page}, {img.size[0]}x{img.size[1]} px")
    return 0


if __name__ == "__main__":
    sys.exit(main())
