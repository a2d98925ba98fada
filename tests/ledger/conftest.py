import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from edge_app.store import open_store  # noqa: E402
import ledger_data  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
POPPLER = ("pdftoppm", "pdffonts", "pdftotext", "pdfimages")


@pytest.fixture(scope="session")
def poppler():
    """poppler-utils (Debian) for reading the PDFs back; CI requires them
    (EDGE_APP_REQUIRE_POPPLER=1), elsewhere the PDF checks skip without them."""
    missing = [t for t in POPPLER if shutil.which(t) is None]
    if missing:
        if os.environ.get("EDGE_APP_REQUIRE_POPPLER"):
            pytest.fail(f"poppler-utils missing ({', '.join(missing)}): apt-get install poppler-utils")
        pytest.skip(f"poppler-utils missing ({', '.join(missing)})")


@pytest.fixture(scope="session")
def artefacts() -> Path:
    """Where rendered pages are kept: $EDGE_APP_ARTEFACTS, else out/ledger/ (git-ignored)."""
    d = Path(os.environ.get("EDGE_APP_ARTEFACTS") or REPO / "out" / "ledger")
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """A data folder with one site: 6 confirmed spots (3 photos each, the first spot with
    2 more "before" photos and its "after" stored turned with EXIF orientation 6) and one
    unconfirmed spot. Returns (data folder, info of ledger_data.build_site)."""
    root = tmp_path_factory.mktemp("ledger") / "data"
    st = open_store(root)
    try:
        info = ledger_data.build_site(st, 6, unconfirmed=1, extra_before=2)
    finally:
        st.close()
    return root, info


@pytest.fixture(scope="session")
def exported(site, tmp_path_factory):
    """The site exported once in each format: {fmt: (path, report)}."""
    from edge_app.ledger import export

    root, info = site
    out = tmp_path_factory.mktemp("exports")
    st = open_store(root)
    try:
        res = {}
        for fmt in ("pdf", "xlsx", "zip"):
            path = out / f"ledger.{fmt}"
            res[fmt] = (path, export(st, info["site"], fmt, path))
    finally:
        st.close()
    return res
