import re

import pytest

from edge_app.web import create_app

PIN = "482913"


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
