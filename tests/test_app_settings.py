"""The app's settings registry, edge_app/app_settings.py, and docs/settings.md (issue 16).

As datasette checks that each of its settings is documented: every knob has its row in
docs/settings.md with its environment variable and default; every ``EDGE_APP_`` variable the
package (or a systemd example file) names is a knob; every knob is read somewhere; a value
from the environment takes effect, and one that does not parse is an error naming its
variable.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from edge_app import app_settings
from edge_app.app_settings import KNOBS, PARTS, Knob, SettingError, show, value

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "settings.md"
REGENERATE = "python -m edge_app.app_settings --markdown > docs/settings.md"


def undocumented(knobs, text: str) -> list[str]:
    """The knobs without a row in ``text`` that starts with their name, variable and default."""
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    return [k.name for k in knobs if not any(r.startswith(f"| `{k.name}` | `{k.env}` | `{show(k.default)}` |")
                                             for r in rows)]


@pytest.mark.parametrize("name", list(KNOBS))
def test_every_setting_is_documented(name):
    assert undocumented([KNOBS[name]], DOC.read_text(encoding="utf-8")) == [], \
        f"{name} has no row with its variable and default in docs/settings.md; run: {REGENERATE}"


def test_the_doc_is_what_the_registry_writes():
    """Units and meanings too: the page is written from the registry, never edited by hand."""
    assert DOC.read_text(encoding="utf-8") == app_settings.markdown(), f"docs/settings.md is stale; run: {REGENERATE}"


def test_the_check_sees_an_undocumented_setting():
    """The documentation test fails for a knob added without its row, and for a default
    changed without the page."""
    text = DOC.read_text(encoding="utf-8")
    new = Knob("worker.new_knob", 3, int, "EDGE_APP_WORKER_NEW_KNOB", "s", "A knob nobody documented.")
    assert undocumented([*KNOBS.values(), new], text) == ["worker.new_knob"]
    moved = dataclasses.replace(KNOBS["sync.max_attempts"], default=9)
    assert undocumented([moved], text) == ["sync.max_attempts"]
    without_row = "\n".join(line for line in text.splitlines() if "`EDGE_APP_HQ_THREADS`" not in line)
    assert undocumented(KNOBS.values(), without_row) == ["hq.threads"]


def _names_in(paths) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for p in paths:
        for name in set(re.findall(r"EDGE_APP_[A-Z0-9_]*[A-Z0-9]", p.read_text(encoding="utf-8"))):
            found.setdefault(name, []).append(str(p.relative_to(ROOT)))
    return found


def test_every_environment_variable_of_the_app_is_a_setting():
    """Every ``EDGE_APP_`` name in edge_app/ and in the systemd examples is in the registry
    (the tests' own switches, EDGE_APP_EVAL and the like, live in tests/ and are not settings:
    the registry names them only in its list of them, NOT_KNOBS)."""
    used = _names_in([*(ROOT / "edge_app").rglob("*.py"), *(ROOT / "edge_app").rglob("*.html"),
                      *(ROOT / "systemd").iterdir()])
    used = {n: where for n, where in used.items() if not (where == ["edge_app/app_settings.py"]
                                                          and n in app_settings.NOT_KNOBS)}
    known = {k.env for k in KNOBS.values()}
    assert {n: where for n, where in used.items() if n not in known} == {}


def test_every_setting_is_read_somewhere():
    """No dead knob: its name (``app_settings.value("part.key")``) or its variable appears in
    edge_app/ outside the registry."""
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "edge_app").rglob("*.py")
                        if p.name != "app_settings.py")
    assert [k.name for k in KNOBS.values() if f'"{k.name}"' not in sources and k.env not in sources] == []


def test_names_variables_and_defaults_are_well_formed():
    envs = [k.env for k in KNOBS.values()]
    assert len(set(envs)) == len(envs)
    for name, k in KNOBS.items():
        assert k.name == name and k.part in PARTS and re.fullmatch(r"[a-z]+\.[a-z0-9_]+", name), name
        assert re.fullmatch(r"EDGE_APP_[A-Z0-9_]+", k.env), k.env
        assert k.type in (int, float, bool, str, list), name
        assert k.doc.endswith(".") and "|" not in k.doc and "\n" not in k.doc, name
        if k.default is not None:
            assert isinstance(k.default, tuple if k.type is list else k.type), name
        if k.type in (int, float, bool):  # the default, written as the page shows it, reads back as itself
            assert k.parse(show(k.default)) == k.default, name
            assert k.type is bool or k.default >= k.minimum, name
    assert list(PARTS) == list(dict.fromkeys(k.part for k in KNOBS.values()))  # the page's order


def test_the_defaults_are_the_constants_they_replaced():
    """With no variable set, behaviour is unchanged: the values the modules had."""
    assert {n: value(n, {}) for n in (
        "site.data", "site.host", "site.port", "site.http_threads", "site.connection_limit",
        "site.channel_timeout_s", "site.backlog", "site.per_address_connections", "site.watch_settle_s",
        "site.watch_interval_s", "site.setup_code", "hq.setup_code", "web.lang_cookie_s",
        "web.max_upload_bytes", "web.session_h", "web.login_max_failures", "web.login_max_failures_all",
        "web.login_lock_s", "web.login_lock_cap_s",
        "worker.batch_idle_s", "worker.step_photos", "worker.heartbeat_s", "worker.analyses_kept",
        "worker.place_by_look_recent", "thorough.after_edit_s", "thorough.chunk_pairs",
        "sync.timeout_s", "sync.backoff_base_s", "sync.backoff_max_s", "sync.offline_max_s", "sync.max_attempts",
        "sync.poll_s", "hq.data", "hq.host", "hq.port", "hq.proxy", "hq.threads", "hq.header_timeout_s",
        "hq.read_timeout_s", "hq.max_blob_bytes", "hq.max_manifest_bytes", "hq.in_flight_lease_s", "hq.session_h",
        "hq.login_max_failures", "hq.login_max_failures_all", "hq.login_lock_s", "hq.login_lock_cap_s",
        "hq.login_lock_cap_all_s", "ledger.template_max_bytes", "ledger.template_unpacked_max_bytes")} == {
        "site.data": "edge-data", "site.host": "127.0.0.1", "site.port": 8080, "site.http_threads": 6,
        "site.connection_limit": 500, "site.channel_timeout_s": 60, "site.backlog": 1024,
        "site.per_address_connections": 64, "site.watch_settle_s": 2.0, "site.watch_interval_s": 5.0,
        "site.setup_code": False, "hq.setup_code": False, "web.lang_cookie_s": 3600 * 24 * 365,
        "web.max_upload_bytes": 256 * 1024 * 1024, "web.session_h": 12, "web.login_max_failures": 5,
        "web.login_max_failures_all": 30, "web.login_lock_s": 30, "web.login_lock_cap_s": 900,
        "worker.batch_idle_s": 90.0, "worker.step_photos": 6, "worker.heartbeat_s": 2.0, "worker.analyses_kept": 20000,
        "worker.place_by_look_recent": 2000, "thorough.after_edit_s": 30.0, "thorough.chunk_pairs": 256,
        "sync.timeout_s": 30.0, "sync.backoff_base_s": 5.0, "sync.backoff_max_s": 1800.0, "sync.offline_max_s": 300.0,
        "sync.max_attempts": 8, "sync.poll_s": 10.0, "hq.data": "hq-data", "hq.host": "127.0.0.1", "hq.port": 8090,
        "hq.proxy": False, "hq.threads": 32, "hq.header_timeout_s": 10.0, "hq.read_timeout_s": 20,
        "hq.max_blob_bytes": 256 * 1024 * 1024, "hq.max_manifest_bytes": 8 * 1024 * 1024,
        "hq.in_flight_lease_s": 120.0, "hq.session_h": 12, "hq.login_max_failures": 5,
        "hq.login_max_failures_all": 20, "hq.login_lock_s": 1.0, "hq.login_lock_cap_s": 300.0,
        "hq.login_lock_cap_all_s": 60.0, "ledger.template_max_bytes": 10 << 20,
        "ledger.template_unpacked_max_bytes": 100 << 20}
    for n in ("site.watch", "sync.hq_ca", "hq.db", "hq.cert", "hq.key", "engine.models", "engine.trt_cache",
              "engine.cascade_models"):
        assert value(n, {}) is None, n
    assert value("site.allowed_hosts", {}) == [] and value("hq.allowed_hosts", {}) == []


def test_the_environment_overrides_the_default(monkeypatch):
    monkeypatch.setenv("EDGE_APP_WORKER_STEP_PHOTOS", "2")
    assert value("worker.step_photos") == 2
    monkeypatch.setenv("EDGE_APP_WORKER_STEP_PHOTOS", "")  # empty: unset
    assert value("worker.step_photos") == 6
    assert value("sync.backoff_max_s", {"EDGE_APP_SYNC_BACKOFF_MAX_S": " 2.5 "}) == 2.5
    assert value("hq.allowed_hosts", {"EDGE_APP_HQ_ALLOWED_HOSTS": " a.example, ,.b.example "}) == [
        "a.example", ".b.example"]
    assert value("hq.proxy", {"EDGE_APP_HQ_PROXY": "1"}) is True
    assert value("hq.proxy", {"EDGE_APP_HQ_PROXY": "off"}) is False
    assert value("site.watch", {"EDGE_APP_WATCH": "/media/sd"}) == "/media/sd"


def test_an_override_takes_effect_where_the_knob_is_used(monkeypatch, tmp_path):
    from edge_app.cli import build_parser
    from edge_app.hq.server import make_server
    from edge_app.sync import SyncConfig, backoff_s
    from edge_app.web import create_app

    monkeypatch.setenv("EDGE_APP_SYNC_BACKOFF_MAX_S", "2")
    assert max(backoff_s(30) for _ in range(20)) <= 3.0
    monkeypatch.setenv("EDGE_APP_SYNC_TIMEOUT_S", "4")
    assert SyncConfig().timeout_s == 4.0
    monkeypatch.setenv("EDGE_APP_PORT", "9123")
    monkeypatch.setenv("EDGE_APP_HTTP_THREADS", "3")
    monkeypatch.setenv("EDGE_APP_HQ_PROXY", "yes")
    monkeypatch.setenv("EDGE_APP_DATA", str(tmp_path / "site"))
    args = build_parser().parse_args(["serve"])
    assert (args.port, args.http_threads, args.data) == (9123, 3, str(tmp_path / "site"))
    assert build_parser().parse_args(["hq", "serve"]).proxy is True
    assert build_parser().parse_args(["serve", "--port", "8081"]).port == 8081  # the option wins
    monkeypatch.setenv("EDGE_APP_WEB_MAX_UPLOAD_BYTES", "1000")
    monkeypatch.setenv("EDGE_APP_WEB_SESSION_H", "1.5")
    app = create_app({"TESTING": True})
    assert app.config["DATA_DIR"] == str(tmp_path / "site")
    assert app.config["MAX_CONTENT_LENGTH"] == 1000 and app.config["PERMANENT_SESSION_LIFETIME"].seconds == 5400
    monkeypatch.setenv("EDGE_APP_HQ_THREADS", "5")
    monkeypatch.setenv("EDGE_APP_HQ_MAX_BLOB_BYTES", "2048")
    server = make_server(lambda env, start: [], "127.0.0.1", 0)
    assert server.requests.min == 5 and server.max_request_body_size == 2048 + (1 << 20)
    assert "Max-Age=31536000" in app.test_client().get("/lang/en").headers["Set-Cookie"]  # a year, as before
    monkeypatch.setenv("EDGE_APP_WEB_LANG_COOKIE_S", "60")
    assert "Max-Age=60" in app.test_client().get("/lang/en").headers["Set-Cookie"]
    from edge_app.watch import Watcher

    assert Watcher(tmp_path / "site", tmp_path / "sd").interval_s == 5.0
    monkeypatch.setenv("EDGE_APP_WATCH_INTERVAL_S", "0.5")
    assert Watcher(tmp_path / "site", tmp_path / "sd").interval_s == 0.5


@pytest.mark.parametrize("name, text, why", [
    ("sync.max_attempts", "eight", "is not a whole number"),
    ("sync.max_attempts", "8.5", "is not a whole number"),
    ("sync.max_attempts", "0", "is below 1"),
    ("worker.batch_idle_s", "ninety", "is not a number"),
    ("worker.batch_idle_s", "-1", "is below 0"),
    ("worker.batch_idle_s", "nan", "is not finite"),
    ("hq.proxy", "maybe", "is not one of 1/0, true/false, yes/no, on/off"),
])
def test_a_bad_value_is_an_error_naming_its_variable(name, text, why):
    k = KNOBS[name]
    with pytest.raises(SettingError) as e:
        value(name, {k.env: text})
    assert str(e.value).startswith(f"${k.env}={text!r} {why}; {name} (default {show(k.default)}): ")


def test_a_bad_value_ends_the_command_with_one_line(monkeypatch, capsys):
    from edge_app.cli import main

    monkeypatch.setenv("EDGE_APP_PORT", "80a")
    monkeypatch.setenv("EDGE_APP_SYNC_POLL_S", "soon")
    assert main(["status"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: $EDGE_APP_PORT='80a' is not a whole number; site.port (default 8080)")
    assert "$EDGE_APP_SYNC_POLL_S='soon' is not a number" in err and "Traceback" not in err
    with pytest.raises(SettingError, match="EDGE_APP_PORT"):
        app_settings.check()


def test_an_unknown_setting_is_a_key_error_naming_the_page():
    with pytest.raises(KeyError, match="docs/settings.md"):
        value("worker.no_such_knob")


def test_the_values_in_effect_are_printed_with_the_secret_masked(monkeypatch, capsys):
    monkeypatch.setenv("EDGE_APP_SECRET", "s3cr3t-value")
    monkeypatch.setenv("EDGE_APP_WORKER_STEP_PHOTOS", "3")
    assert app_settings.main([]) == 0
    out = capsys.readouterr().out
    assert "s3cr3t" not in out and "sync.secret = ***   ($EDGE_APP_SECRET)" in out
    assert "worker.step_photos = 3 photos   ($EDGE_APP_WORKER_STEP_PHOTOS)" in out


# -- a variable that names no knob (a misspelling) ------------------------------------------------


def test_a_misspelt_variable_is_a_warning_naming_the_nearest_setting_and_the_command_goes_on(
        monkeypatch, capsys, tmp_path):
    from edge_app.cli import main
    from edge_app.store import open_store

    open_store(tmp_path / "data").close()
    monkeypatch.setenv("EDGE_APP_HQ_URI", "https://hq.example.com")  # meant: EDGE_APP_HQ_URL
    monkeypatch.setenv("EDGE_APP_WORKER_STEP_PHOTO", "3")  # meant: EDGE_APP_WORKER_STEP_PHOTOS
    monkeypatch.setenv("EDGE_APP_COFFEE", "strong")  # close to nothing
    assert main(["status", "--data", str(tmp_path / "data")]) == 0
    out, err = capsys.readouterr()
    assert "waiting for analysis: 0" in out  # the command ran
    assert err.splitlines() == [
        "warning: $EDGE_APP_COFFEE is no setting of edge-app and is ignored; the settings are in docs/settings.md",
        "warning: $EDGE_APP_HQ_URI is no setting of edge-app and is ignored; did you mean $EDGE_APP_HQ_URL "
        "(sync.hq_url)?",
        "warning: $EDGE_APP_WORKER_STEP_PHOTO is no setting of edge-app and is ignored; did you mean "
        "$EDGE_APP_WORKER_STEP_PHOTOS (worker.step_photos)?",
    ]


def test_only_names_of_no_knob_are_reported():
    env = {"EDGE_APP_PORT": "8081", "EDGE_APP_EVAL": "/data/eval", "EDGE_APP_REQUIRE_BROWSER": "1", "PATH": "/bin",
           "EDGE_APPX": "1", "EDGE_APP_HQ_PORTT": "1"}
    assert app_settings.unknown_variables(env) == [
        "$EDGE_APP_HQ_PORTT is no setting of edge-app and is ignored; did you mean $EDGE_APP_HQ_PORT (hq.port)?"]
    assert app_settings.unknown_variables({k.env: "1" for k in KNOBS.values()}) == []


def test_an_unknown_variable_is_a_warning_not_an_error(capsys):
    values = app_settings.check({"EDGE_APP_SYNC_POLL": "soon"})  # not parsed: it is no knob
    assert values["sync.poll_s"] == 10.0
    assert capsys.readouterr().err.startswith("warning: $EDGE_APP_SYNC_POLL is no setting")
    app_settings.check({"EDGE_APP_SYNC_POLL": "soon"}, warn=False)
    assert capsys.readouterr().err == ""


def test_every_variable_the_tests_ci_and_scripts_read_is_a_knob_or_named_as_none():
    """The tests' own switches (EDGE_APP_EVAL, EDGE_APP_REQUIRE_BROWSER, ...) are read outside
    the table; they are listed in app_settings.NOT_KNOBS, so `edge-app` does not warn about them
    (test_hostile_files sets two for the `edge-app` it runs). This file's made-up names aside."""
    files = [p for d in ("tests", "export", "benchmarks", "scripts") for p in (ROOT / d).rglob("*.py")
             if p.name != "test_app_settings.py"]
    used = _names_in([*files, ROOT / ".ci" / "run"])
    known = {k.env for k in KNOBS.values()} | set(app_settings.NOT_KNOBS)
    assert {n: where for n, where in used.items() if n not in known} == {}
    assert [n for n in app_settings.NOT_KNOBS if n not in used] == []  # none listed that nothing reads
    assert not set(app_settings.NOT_KNOBS) & {k.env for k in KNOBS.values()}
