import os
import re
from pathlib import Path

import pytest

from edge_app.web import create_app
from needs import skip_or_fail

PIN = "482913"
REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("EDGE_APP_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


@pytest.fixture
def app(tmp_path):
    return create_app({"DATA_DIR": str(tmp_path / "data"), "TESTING": True, "LOGIN_LOCK_S": 1})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def lead(client):
    """A client logged in as the crew lead (the PIN chosen on the first visit)."""
    tok = csrf_of(client.get("/setup").text)
    r = client.post("/setup", data={"pin": PIN, "pin2": PIN, "csrf": tok, "name": "김반장"})
    assert r.status_code == 302
    client.csrf = csrf_of(client.get("/").text)
    return client


# The browser tests' Chromium (Debian's, driven by Playwright), one a test module, for every
# test_*_browser.py here (issue 16: they imported these from test_browser before). Without
# Playwright or Chromium they skip, or fail where EDGE_APP_REQUIRE_BROWSER=1 (CI).
@pytest.fixture(scope="module")
def playwright_api():
    try:
        from playwright.sync_api import sync_playwright as sp
    except ImportError:
        skip_or_fail("playwright is not installed (pip install -e '.[test]')", "EDGE_APP_REQUIRE_BROWSER")
    if not CHROMIUM.exists():
        skip_or_fail(f"no Chromium at {CHROMIUM} (apt-get install chromium)", "EDGE_APP_REQUIRE_BROWSER")
    return sp


@pytest.fixture(scope="module")
def browser(playwright_api):
    with playwright_api() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def artefacts() -> Path:
    """Where the browser tests' screenshots go: $EDGE_APP_ARTEFACTS, else out/screenshots/."""
    d = Path(os.environ.get("EDGE_APP_ARTEFACTS") or REPO / "out" / "screenshots")
    d.mkdir(parents=True, exist_ok=True)
    return d
