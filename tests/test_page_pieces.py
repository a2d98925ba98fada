"""The page pieces both servers share (issue 16): head office imports nothing of the site
app, the shared package imports neither app nor the store, one Korean text for each
refusal reason, one rule for where a login may lead, one safe file name."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "edge_app"


def imported_modules(path: Path) -> set[str]:
    """The absolute names of the edge_app modules a file imports (relative ones resolved)."""
    package = ["edge_app", *path.relative_to(PKG).parent.parts]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            mod = ".".join([*base, *([node.module] if node.module else [])])
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in node.names}
    return {m for m in out if m == "edge_app" or m.startswith("edge_app.")}


def _below(mods: set[str], prefix: str) -> set[str]:
    return {m for m in mods if m == prefix or m.startswith(prefix + ".")}


@pytest.mark.parametrize("path", sorted((PKG / "hq").glob("*.py")), ids=lambda p: p.name)
def test_head_office_imports_nothing_of_the_site_app(path):
    assert not _below(imported_modules(path), "edge_app.web")


@pytest.mark.parametrize("path", sorted((PKG / "pages").glob("*.py")), ids=lambda p: p.name)
def test_the_shared_pieces_import_neither_app_nor_the_store(path):
    mods = imported_modules(path)
    for above in ("edge_app.web", "edge_app.hq", "edge_app.store", "edge_app.sync", "edge_app.cli"):
        assert not _below(mods, above), (path.name, above)


def test_the_site_app_and_head_office_use_the_shared_login_and_languages():
    for app in ("web/auth.py", "hq/pages.py"):
        mods = imported_modules(PKG / app)
        assert "edge_app.pages.login" in mods and "edge_app.pages.i18n" in mods, app


def test_one_korean_text_for_each_refusal_reason():
    from edge_app.engine.decode import REASONS
    from edge_app.pages.i18n import APP_REASONS, reason_text

    assert not set(APP_REASONS) & set(REASONS)  # the engine's reasons are written only there
    for key, ko in {**REASONS, **APP_REASONS}.items():
        assert reason_text("ko", key) == ko
        assert reason_text("en", key) == key
    assert reason_text("ko", "something new") == "something new"


@pytest.mark.parametrize("target, expected", [
    ("/sites/3", "/sites/3"), ("/sites/3?batch=2", "/sites/3?batch=2"), (None, "/"), ("", "/"),
    ("https://evil.example/", "/"), ("//evil.example/x", "/"), ("/\\evil.example", "/"), ("/x\\y", "/"),
    ("sites/3", "/"), ("/x\r\nSet-Cookie: a=b", "/"), ("javascript:alert(1)", "/"),
])
def test_a_login_leads_only_to_a_path_on_this_server(target, expected):
    from edge_app.pages.login import safe_next

    assert safe_next(target) == expected


def test_head_office_names_downloads_by_the_site_apps_rule():
    from edge_app.hq.pages import _safe_zip_name
    from edge_app.ledger.words import safe_file_part

    for name in ("IMG 0001.jpg", "줄\n바꿈.jpg", "CON.jpg", "a/b\\c:d.jpg", "...", "가" * 300):
        assert _safe_zip_name(name) == safe_file_part(name, fallback="photo", max_len=150)


def test_only_the_first_visitor_chooses_head_offices_password(tmp_path):
    from edge_app.hq import settings
    from edge_app.hq.db import HQDatabase

    db = HQDatabase.open(tmp_path, None)
    c = db.connect()
    try:
        with pytest.raises(ValueError):
            settings.set_first_password(c, "short")
        assert not settings.has_password(c)
        assert settings.set_first_password(c, "first-visitor-1")
        epoch = settings.session_epoch(c)
        assert not settings.set_first_password(c, "second-visitor")  # theirs stands
        assert settings.check_password(c, "first-visitor-1") and not settings.check_password(c, "second-visitor")
        assert settings.session_epoch(c) == epoch
    finally:
        c.close()
    assert settings.secret_key(db) == settings.secret_key(db)


def test_the_ledgers_export_form_is_written_once():
    written = sorted(p.relative_to(PKG).as_posix() for p in PKG.rglob("*.html")
                     if "data-ledger-export" in p.read_text(encoding="utf-8"))
    assert written == ["pages/templates/pages/ledger_export.html"]


@pytest.mark.parametrize("server", ["web", "hq"])
def test_each_server_renders_the_shared_export_form(server, tmp_path):
    """Each app finds the pieces' templates after its own; the site app offers unconfirmed
    spots, head office (confirmed spots only) does not; the same names for both parsers."""
    import re

    if server == "web":
        from edge_app.web import create_app

        app = create_app({"DATA_DIR": str(tmp_path / "data"), "TESTING": True})
    else:
        from edge_app.hq import create_hq_app

        app = create_hq_app({"HQ_DATA": str(tmp_path / "hq"), "TESTING": True})
    form = app.jinja_env.get_template("pages/ledger_export.html").make_module({"t": str.upper}).ledger_export
    html = str(form("/sites/7/ledger", unconfirmed=server == "web"))
    assert html.startswith('<form method="get" action="/sites/7/ledger"') and html.endswith("</form>")
    assert re.findall(r'name="format" value="(\w+)" data-ledger="\1">LEDGER_\w+<', html) == ["pdf", "xlsx", "zip"]
    assert re.findall(r'name="layout" value="(\w+)"', html) == ["row", "2up", "4up"]
    boxes = re.findall(r'type="checkbox" name="(\w+)"', html)
    assert boxes == (["unconfirmed"] if server == "web" else []) + ["all", "during", "nomap"]


def test_the_ledgers_template_forms_are_written_once():
    written = sorted(p.relative_to(PKG).as_posix() for p in PKG.rglob("*.html")
                     if 'name="template"' in p.read_text(encoding="utf-8"))
    assert written == ["pages/templates/pages/ledger_template.html"]


@pytest.mark.parametrize("server", ["web", "hq"])
@pytest.mark.parametrize("tpl", [None, {"name": "c.xlsx"}])
def test_each_server_renders_the_shared_template_forms(server, tpl, tmp_path):
    """Upload (head office posts its site filter back), and remove only while a layout is set."""
    import re

    if server == "web":
        from edge_app.web import create_app

        app = create_app({"DATA_DIR": str(tmp_path / "data"), "TESTING": True})
    else:
        from edge_app.hq import create_hq_app

        app = create_hq_app({"HQ_DATA": str(tmp_path / "hq"), "TESTING": True})
    forms = app.jinja_env.get_template("pages/ledger_template.html").make_module(
        {"t": str.upper, "csrf_token": lambda: "CSRF"}).ledger_template_forms
    html = str(forms("/ledger-template", tpl, **({"site": "dev:3"} if server == "hq" else {})))
    assert re.findall(r'<form method="post" action="([^"]+)"', html) == ["/ledger-template"] * (2 if tpl else 1)
    hidden = re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', html)
    assert hidden == ([("csrf", "CSRF")] + ([("site", "dev:3")] if server == "hq" else [])
                      + ([("csrf", "CSRF"), ("remove", "1")] if tpl else []))
    assert 'type="file" name="template" required accept=".xlsx,' in html and ">LEDGER_TEMPLATE_UPLOAD<" in html
    assert (">LEDGER_TEMPLATE_REMOVE<" in html) == bool(tpl)
