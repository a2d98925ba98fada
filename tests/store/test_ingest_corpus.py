"""The site app's doors get the same guards as `edge-app cluster`: the hostile corpus of
issue 7 through `photos.add_paths` (what `edge-app add` and the watched folder call) and
through the page's upload; each bad file refused with its reason, the good ones kept."""

import hashlib
import io
import os
import resource

import pytest

from edge_app.engine.decode import REASONS
from edge_app.store import open_store, photos
from hostile_corpus import write_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    folder = root / "card"
    expect = write_corpus(folder, full=False)
    return folder, expect


def test_the_hostile_corpus_through_the_store_refuses_each_bad_file_with_its_reason(corpus, tmp_path):
    folder, expect = corpus
    st = open_store(tmp_path / "data")
    before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    arrivals = photos.add_paths(st, [folder], source="cli", who="test")
    grew_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before_kb) / 1024
    top = {}
    for a in arrivals:
        top.setdefault(a.name, a)
    checked = 0
    for name, e in expect.items():
        shown = os.fsdecode(name) if isinstance(name, bytes) else name
        if e.kind == "skipped" and (folder / shown).is_dir() and not (folder / shown).is_symlink() \
                and not shown.startswith("."):
            continue  # a sub-folder: the store's doors search it (an SD card's DCIM/100CANON)
        a = top.get(shown) or top.get(photos.stored_name(shown))
        assert a is not None, f"{shown!r} has no arrival"
        if e.kind in ("good", "spot", "view", "junk"):
            assert a.outcome in ("added", "duplicate"), (shown, a)
        elif e.kind == "either":
            assert a.outcome in ("added", "duplicate") or a.reason in e.reasons, (shown, a)
        else:  # unreadable, skipped
            assert a.outcome == "refused" and a.reason in e.reasons, (shown, a, e.reasons)
        if a.outcome == "refused":
            assert a.reason in REASONS, a.reason  # a reason the page can show in Korean
        checked += 1
    assert checked >= 100
    # the good photos are kept byte for byte; nothing refused left a file behind
    added = st.query("SELECT sha256, ext FROM photos")
    for r in added:
        data = photos.original_path(st, r["sha256"], r["ext"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == r["sha256"]
    assert len(list(st.originals.rglob("*.*"))) == len(added)
    assert st.scalar("SELECT count(*) FROM photos") == sum(a.outcome == "added" for a in arrivals)
    assert st.scalar("PRAGMA integrity_check") == "ok"
    assert grew_mb < 800, f"ingest grew the process by {grew_mb:.0f} MB"


def test_an_upload_of_bad_files_gets_the_same_reasons(corpus, tmp_path):
    from web.conftest import csrf_of  # noqa: F401 - the web tests' helpers
    from edge_app.web import create_app

    folder, expect = corpus
    app = create_app({"DATA_DIR": str(tmp_path / "data"), "TESTING": True})
    c = app.test_client()
    tok = csrf_of(c.get("/setup").text)
    c.post("/setup", data={"pin": "482913", "pin2": "482913", "csrf": tok})
    h = {"X-CSRF-Token": csrf_of(c.get("/").text)}
    b = c.post("/batches", headers=h).json["id"]
    sent = 0
    for name, e in sorted(expect.items(), key=lambda kv: str(kv[0])):
        shown = os.fsdecode(name) if isinstance(name, bytes) else name
        p = folder / shown
        if not p.is_file() or p.stat().st_size > 50_000_000 or e.kind not in ("unreadable", "good"):
            continue
        r = c.post(f"/batches/{b}/photos", headers=h, data={"photos": (io.BytesIO(p.read_bytes()), "x.jpg")},
                   content_type="multipart/form-data")
        assert r.status_code == 200, shown
        (res,) = r.json["results"]
        if e.kind == "good":
            assert res["outcome"] in ("added", "duplicate")
        else:
            assert res["outcome"] == "refused" and res["reason"] in e.reasons, (shown, res)
            assert res["reason_text"] == REASONS[res["reason"]]  # shown in Korean to who uploaded it
        sent += 1
    assert sent >= 40
