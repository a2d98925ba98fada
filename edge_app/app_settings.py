"""The app's knobs, in one table: each with its default, unit, environment variable and meaning.

    from edge_app import app_settings
    app_settings.value("worker.step_photos")        # 6, or what $EDGE_APP_WORKER_STEP_PHOTOS says
    app_settings.check()                            # every variable set: parsed, or SettingError;
                                                    # an EDGE_APP_ name of no knob: a warning on stderr

    python -m edge_app.app_settings                 # the effective values (the secret masked)
    python -m edge_app.app_settings --markdown      # docs/settings.md

A knob is an operating choice of the site app or head office (how long the worker waits,
how often the sender retries, how large an upload may be), not a model parameter: those are
the engine's :class:`edge_app.engine.config.Settings`, part of the feature cache's key, and
stay there. The environment overrides the default; an empty variable counts as unset; a
value that does not parse is a :class:`SettingError` naming the variable. The command line
checks every variable at start (``edge-app`` then ends with that one line), and a command's
option, where it has one (``--port``), wins over both. A misspelt variable (``_URI`` for
``_URL``) is not ignored in silence: the check writes a warning naming the nearest knob, and
the command goes on.

Floor 0: imports nothing of edge_app.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from typing import Any, Mapping

#: The parts of the app, in the order docs/settings.md lists them: a knob's name begins with its part.
PARTS = {
    "site": "the site app's server (`edge-app serve`, and the data folder of every site command)",
    "web": "the site app's pages",
    "worker": "the background worker (`edge-app serve`, `edge-app add`)",
    "thorough": "the thorough pass, as the worker runs it",
    "sync": "the device's sender to head office (`edge-app serve`, `edge-app sync`)",
    "hq": "head office (`edge-app hq ...`)",
    "ledger": "the photo ledger's export, on the site app and at head office",
    "engine": "where the engine finds its model files",
}

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class SettingError(ValueError):
    """An environment variable of a knob that does not parse; the message names it."""


@dataclass(frozen=True)
class Knob:
    """One knob. name: ``part.key``; type: int, float, bool, str or list (comma separated
    in the environment); default: None for "unset" (``doc`` says what that means); minimum:
    the smallest number it takes; secret: never printed."""

    name: str
    default: Any
    type: type
    env: str
    unit: str
    doc: str
    minimum: float = 0
    secret: bool = False

    @property
    def part(self) -> str:
        """Which part of the app reads it (a key of :data:`PARTS`)."""
        return self.name.split(".", 1)[0]

    def parse(self, text: str) -> Any:
        """The value of the environment's ``text``; SettingError when it does not parse."""
        if self.type is str:
            return text
        if self.type is list:
            return [n.strip() for n in text.split(",") if n.strip()]
        word = text.strip().lower()
        if self.type is bool:
            if word in _TRUE + _FALSE:
                return word in _TRUE
            raise self._bad(text, "is not one of " + ", ".join(f"{t}/{f}" for t, f in zip(_TRUE, _FALSE)))
        try:
            number = int(word) if self.type is int else float(word)
        except ValueError:
            raise self._bad(text, "is not a whole number" if self.type is int else "is not a number") from None
        if not math.isfinite(number) or number < self.minimum:
            raise self._bad(text, f"is below {show(self.minimum)}" if math.isfinite(number) else "is not finite")
        return number

    def _bad(self, text: str, why: str) -> SettingError:
        return SettingError(f"${self.env}={text[:40]!r} {why}; {self.name} (default {show(self.default)}): {self.doc}")


MiB = 1024 * 1024

#: Every knob (docs/settings.md lists each; tests/test_app_settings.py checks it does).
KNOBS: dict[str, Knob] = {k.name: k for k in (
    # -- site: `edge-app serve` and the data folder ------------------------------------------------------
    Knob("site.data", "edge-data", str, "EDGE_APP_DATA", "path",
       "The site app's data folder (photos, database) when --data is not given."),
    Knob("site.host", "127.0.0.1", str, "EDGE_APP_HOST", "address",
       "The address `edge-app serve` listens on (--host); 0.0.0.0 is the whole LAN."),
    Knob("site.port", 8080, int, "EDGE_APP_PORT", "", "The port `edge-app serve` listens on (--port)."),
    Knob("site.watch", None, str, "EDGE_APP_WATCH", "path",
       "A folder whose new photos are taken too (--watch: an SD card, a sync folder); unset: none."),
    Knob("site.allowed_hosts", (), list, "EDGE_APP_ALLOWED_HOSTS", "names",
       "Further Host names the page answers (comma separated; .example.org: every name under it)."),
    Knob("site.http_threads", 6, int, "EDGE_APP_HTTP_THREADS", "threads",
       "The web server's threads (--http-threads).", minimum=1),
    Knob("site.connection_limit", 500, int, "EDGE_APP_CONNECTION_LIMIT", "connections",
       "Open connections waitress keeps (a slow client holds a connection, not a thread).", minimum=1),
    Knob("site.channel_timeout_s", 60, int, "EDGE_APP_CHANNEL_TIMEOUT_S", "s",
       "A connection silent this long is closed.", minimum=1),
    Knob("site.backlog", 1024, int, "EDGE_APP_BACKLOG", "connections",
       "Connections waiting to be accepted (the listening socket's backlog).", minimum=1),
    Knob("site.per_address_connections", 64, int, "EDGE_APP_PER_ADDRESS_CONNECTIONS", "connections",
       "Open connections one client address may hold; the rest are closed at once.", minimum=1),
    Knob("site.setup_code", False, bool, "EDGE_APP_SETUP_CODE", "",
       "While no PIN is set, `edge-app serve` prints a one-time code (8 digits) at start and the first visit "
       "may choose the PIN only with it (--setup-code); off: whoever reaches the page first chooses it."),
    Knob("site.watch_settle_s", 2.0, float, "EDGE_APP_WATCH_SETTLE_S", "s",
       "A file in the watched folder is taken once it is this old and unchanged since the last scan (a copy in "
       "progress waits)."),
    Knob("site.watch_interval_s", 5.0, float, "EDGE_APP_WATCH_INTERVAL_S", "s",
       "How often the watched folder is scanned.", minimum=0.1),
    # -- web: the site app's pages ---------------------------------------------------------------------
    Knob("web.max_upload_bytes", 256 * MiB, int, "EDGE_APP_WEB_MAX_UPLOAD_BYTES", "bytes",
       "The largest request body: one photo a request (256 MiB).", minimum=1),
    Knob("web.session_h", 12.0, float, "EDGE_APP_WEB_SESSION_H", "h",
       "A signed-in session ends after this long without a request."),
    Knob("web.login_max_failures", 5, int, "EDGE_APP_WEB_LOGIN_MAX_FAILURES", "tries",
       "Wrong PINs from one client address before it must wait."),
    Knob("web.login_max_failures_all", 30, int, "EDGE_APP_WEB_LOGIN_MAX_FAILURES_ALL", "tries",
       "Wrong PINs from every address together before the PIN must wait."),
    Knob("web.login_lock_s", 30.0, float, "EDGE_APP_WEB_LOGIN_LOCK_S", "s",
       "The first wait after too many wrong PINs; it doubles with each further one."),
    Knob("web.login_lock_cap_s", 900.0, float, "EDGE_APP_WEB_LOGIN_LOCK_CAP_S", "s",
       "The longest wait after wrong PINs (a guesser cannot lock the PIN for days)."),
    Knob("web.lang_cookie_s", 3600 * 24 * 365, int, "EDGE_APP_WEB_LANG_COOKIE_S", "s",
       "How long the browser keeps the language chosen on the pages (a year: it outlives every session; "
       "head office's pages too)."),
    # -- worker ------------------------------------------------------------------------------------------
    Knob("worker.batch_idle_s", 90.0, float, "EDGE_APP_WORKER_BATCH_IDLE_S", "s",
       "A batch nobody finished (a tablet gone mid-upload) counts as finished after this long without a file."),
    Knob("worker.step_photos", 6, int, "EDGE_APP_WORKER_STEP_PHOTOS", "photos",
       "Photos analysed per step before their places are written (the page shows them).", minimum=1),
    Knob("worker.heartbeat_s", 2.0, float, "EDGE_APP_WORKER_HEARTBEAT_S", "s",
       "The running worker's heartbeat, and its poll when idle; `edge-app add` hands its work to a worker "
       "whose heartbeat is younger than 3 times this.", minimum=0.01),
    Knob("worker.analyses_kept", 20000, int, "EDGE_APP_WORKER_ANALYSES_KEPT", "analyses",
       "Analyses kept in memory between steps, least recently used out first (a few kB each).", minimum=1),
    Knob("worker.place_by_look_recent", 2000, int, "EDGE_APP_WORKER_PLACE_BY_LOOK_RECENT", "photos",
       "How many of the newest placed photos a photo without metadata is compared with to find its site."),
    Knob("worker.learn_from_edits", True, bool, "EDGE_APP_WORKER_LEARN_FROM_EDITS", "",
       "The lead's fixes teach the engine: a site whose grouping a person changed is regrouped at once with "
       "those edits as constraints (photos a person separated are never grouped together again); off: only "
       "new batches and the second look regroup."),
    Knob("worker.after_edit_s", 1.5, float, "EDGE_APP_WORKER_AFTER_EDIT_S", "s",
       "Quiet time after a person's last grouping edit before the site is regrouped (a burst of taps is one "
       "regroup)."),
    # -- the thorough pass ----------------------------------------------------------------------------
    Knob("thorough.after_edit_s", 30.0, float, "EDGE_APP_THOROUGH_AFTER_EDIT_S", "s",
       "After a person's edit put a thorough pass off, it waits this long before trying again."),
    Knob("thorough.chunk_pairs", 256, int, "EDGE_APP_THOROUGH_CHUNK_PAIRS", "pairs",
       "Pairs verified between two checks whether the pass must give way (about 0.5 s on 2 cores).",
       minimum=1),
    # -- sync: the device's sender --------------------------------------------------------------------
    Knob("sync.hq_url", "", str, "EDGE_APP_HQ_URL", "URL",
       "Head office, e.g. https://hq.example.com (--hq-url; or the settings page); empty: work offline."),
    Knob("sync.device", "", str, "EDGE_APP_DEVICE", "name", "This device's name at head office (--device)."),
    Knob("sync.secret", "", str, "EDGE_APP_SECRET", "",
       "This device's secret from `edge-app hq add-device` (--secret; keep it in the env file).", secret=True),
    Knob("sync.hq_ca", None, str, "EDGE_APP_HQ_CA", "path",
       "A CA certificate (PEM) to trust for head office's https; unset: the system's CAs."),
    Knob("sync.timeout_s", 30.0, float, "EDGE_APP_SYNC_TIMEOUT_S", "s",
       "One request to head office without an answer this long: offline.", minimum=0.1),
    Knob("sync.backoff_base_s", 5.0, float, "EDGE_APP_SYNC_BACKOFF_BASE_S", "s",
       "The wait after head office refused an entry, doubling with each attempt (+-50 % jitter)."),
    Knob("sync.backoff_max_s", 1800.0, float, "EDGE_APP_SYNC_BACKOFF_MAX_S", "s",
       "The longest wait between two attempts of a refused entry."),
    Knob("sync.offline_max_s", 300.0, float, "EDGE_APP_SYNC_OFFLINE_MAX_S", "s",
       "The longest wait while head office cannot be reached (no attempt counted)."),
    Knob("sync.max_attempts", 8, int, "EDGE_APP_SYNC_MAX_ATTEMPTS", "attempts",
       "Refused attempts after which an entry needs attention (\"sync now\" tries it again).", minimum=1),
    Knob("sync.poll_s", 10.0, float, "EDGE_APP_SYNC_POLL_S", "s",
       "The sender looks for due entries at least this often (a confirm wakes it at once).", minimum=0.2),
    # -- head office ----------------------------------------------------------------------------------
    Knob("hq.data", "hq-data", str, "EDGE_APP_HQ_DATA", "path",
       "Head office's data folder (photos; the SQLite database) when --data is not given."),
    Knob("hq.db", None, str, "EDGE_APP_HQ_DB", "URL",
       "postgresql://user@host/db for head office's database (--db); unset: SQLite in the data folder."),
    Knob("hq.host", "127.0.0.1", str, "EDGE_APP_HQ_HOST", "address", "The address `edge-app hq serve` listens on."),
    Knob("hq.port", 8090, int, "EDGE_APP_HQ_PORT", "", "The port `edge-app hq serve` listens on."),
    Knob("hq.cert", None, str, "EDGE_APP_HQ_CERT", "path",
       "TLS certificate (PEM); with hq.key, head office serves https; unset: http."),
    Knob("hq.key", None, str, "EDGE_APP_HQ_KEY", "path", "TLS private key (PEM) of hq.cert."),
    Knob("hq.proxy", False, bool, "EDGE_APP_HQ_PROXY", "",
       "Behind a reverse proxy: trust its X-Forwarded-* headers (--proxy)."),
    Knob("hq.setup_code", False, bool, "EDGE_APP_HQ_SETUP_CODE", "",
       "While no password is set, `edge-app hq serve` prints a one-time code (8 digits) at start and the first "
       "visit may choose the password only with it (--setup-code); off: whoever reaches the pages first chooses "
       "it."),
    Knob("hq.allowed_hosts", (), list, "EDGE_APP_HQ_ALLOWED_HOSTS", "names",
       "Further Host names head office answers (comma separated), besides localhost and its addresses."),
    Knob("hq.threads", 32, int, "EDGE_APP_HQ_THREADS", "threads", "cheroot's worker threads (--threads).",
       minimum=1),
    Knob("hq.header_timeout_s", 10.0, float, "EDGE_APP_HQ_HEADER_TIMEOUT_S", "s",
       "A connection whose request line and headers are not complete this long after it began is closed "
       "(--header-timeout).", minimum=0.1),
    Knob("hq.per_address_connections", 32, int, "EDGE_APP_HQ_PER_ADDRESS_CONNECTIONS", "connections",
       "Open connections one client address may hold at head office; a further one is closed at once. Head "
       "office runs this many worker threads beyond hq.threads, so an address at its cap leaves hq.threads to "
       "the others. 0: no cap; off with --proxy (every connection comes from the proxy: cap it there)."),
    Knob("hq.read_timeout_s", 20, int, "EDGE_APP_HQ_READ_TIMEOUT_S", "s",
       "A read of a request that gets nothing this long ends the connection.", minimum=1),
    Knob("hq.max_blob_bytes", 256 * MiB, int, "EDGE_APP_HQ_MAX_BLOB_BYTES", "bytes",
       "The largest photo head office accepts (256 MiB).", minimum=1),
    Knob("hq.max_manifest_bytes", 8 * MiB, int, "EDGE_APP_HQ_MAX_MANIFEST_BYTES", "bytes",
       "The largest spot manifest head office accepts (8 MiB).", minimum=1),
    Knob("hq.in_flight_lease_s", 120.0, float, "EDGE_APP_HQ_IN_FLIGHT_LEASE_S", "s",
       "A manifest whose first request has not finished after this long is taken over by a retry."),
    Knob("hq.session_h", 12.0, float, "EDGE_APP_HQ_SESSION_H", "h",
       "A clerk's session ends after this long without a request."),
    Knob("hq.login_max_failures", 5, int, "EDGE_APP_HQ_LOGIN_MAX_FAILURES", "tries",
       "Wrong passwords from one client address before it must wait."),
    Knob("hq.login_max_failures_all", 20, int, "EDGE_APP_HQ_LOGIN_MAX_FAILURES_ALL", "tries",
       "Wrong passwords from every address together before the password must wait."),
    Knob("hq.login_lock_s", 1.0, float, "EDGE_APP_HQ_LOGIN_LOCK_S", "s",
       "The first wait after too many wrong passwords; it doubles with each further one."),
    Knob("hq.login_lock_cap_s", 300.0, float, "EDGE_APP_HQ_LOGIN_LOCK_CAP_S", "s",
       "The longest wait of one client address after wrong passwords."),
    Knob("hq.login_lock_cap_all_s", 60.0, float, "EDGE_APP_HQ_LOGIN_LOCK_CAP_ALL_S", "s",
       "The longest wait of the password after wrong ones from every address together."),
    # -- engine: model files --------------------------------------------------------------------------
    Knob("ledger.template_max_bytes", 10 * MiB, int, "EDGE_APP_LEDGER_TEMPLATE_MAX_BYTES", "bytes",
         "The largest company Excel layout (.xlsx) accepted for the ledger, as uploaded (10 MiB).", minimum=1),
    Knob("ledger.template_unpacked_max_bytes", 100 * MiB, int, "EDGE_APP_LEDGER_TEMPLATE_UNPACKED_MAX_BYTES",
         "bytes", "The most a company Excel layout may unpack to (100 MiB): a ZIP bomb is refused before it is "
         "read.", minimum=1),
    Knob("engine.models", None, str, "EDGE_APP_MODELS", "path",
       "The models' folder (manifest.json); unset: those shipped in the package, else models/ of a checkout."),
    Knob("engine.trt_cache", None, str, "EDGE_APP_TRT_CACHE", "path",
       "Where TensorRT keeps its built engines; unset: $XDG_CACHE_HOME/edge_app/trt (~/.cache/edge_app/trt)."),
    Knob("engine.cascade_models", None, str, "EDGE_APP_CASCADE_MODELS", "path",
       "The research ALIKED + LightGlue folder of the probes; unset: export/_work/lightglue of a checkout."),
)}


#: ``EDGE_APP_`` variables that are read, but not by the app: the switches of the tests, of CI
#: (.ci/run) and of the model export scripts (export/). They are no knob and not reported as
#: unknown by :func:`check`; tests/test_app_settings.py checks every name those places read
#: is here or a knob.
NOT_KNOBS = {
    "EDGE_APP_EVAL": "the dev photo sets' folder (tests/conftest.py, export/common.py)",
    "EDGE_APP_ARTEFACTS": "where the browser and ledger tests keep screenshots and rendered pages",
    "EDGE_APP_CHROMIUM": "the Chromium the browser tests drive",
    "EDGE_APP_REQUIRE_BROWSER": "CI: a browser or systemd test that cannot run fails instead of skipping",
    "EDGE_APP_REQUIRE_POPPLER": "CI: the PDF checks fail instead of skipping without poppler-utils",
    "EDGE_APP_REQUIRE_POSTGRES": "CI: the PostgreSQL tests fail instead of skipping without it",
    "EDGE_APP_FULL_CORPUS": "tests/test_hostile_files.py: the full hostile corpus",
    "EDGE_APP_TAG": "tests/test_hostile_files.py: marks the fake Ghostscript's runs (set for `edge-app` it runs)",
    "EDGE_APP_TEST_STATS": "tests/test_hostile_files.py: where the child `edge-app` writes its figures",
}


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """One line for each ``EDGE_APP_`` variable in ``environ`` (default: the process's
    environment) that names no knob, with the nearest knob's variable when one is close
    (a misspelling would otherwise be silently ignored)."""
    import difflib

    env = os.environ if environ is None else environ
    prefix = "EDGE_APP_"
    by_rest = {k.env[len(prefix):]: k for k in KNOBS.values()}  # compared without the prefix all share
    lines = []
    for name in sorted(n for n in env if n.startswith(prefix) and n not in NOT_KNOBS
                       and n[len(prefix):] not in by_rest):
        near = difflib.get_close_matches(name[len(prefix):], sorted(by_rest), n=1, cutoff=0.6)
        hint = (f"; did you mean ${by_rest[near[0]].env} ({by_rest[near[0]].name})?" if near
                else "; the settings are in docs/settings.md")
        lines.append(f"${name} is no setting of edge-app and is ignored{hint}")
    return lines


def knob(name: str) -> Knob:
    """The knob called ``name``; KeyError naming docs/settings.md for an unknown one."""
    try:
        return KNOBS[name]
    except KeyError:
        raise KeyError(f"no app setting {name!r} (see docs/settings.md)") from None


def value(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """The effective value of knob ``name``: its variable in ``environ`` (default: the
    process's environment) when set and not empty, else its default."""
    k = knob(name)
    text = (os.environ if environ is None else environ).get(k.env, "")
    if text == "":
        return list(k.default) if k.type is list else k.default
    return k.parse(text)


def check(environ: Mapping[str, str] | None = None, warn: bool = True) -> dict[str, Any]:
    """Every knob's effective value; SettingError naming each variable set to a value that
    does not parse (one line each). Each ``EDGE_APP_`` variable that names no knob is a
    ``warning:`` line on stderr (:func:`unknown_variables`; not with ``warn=False``), not an error."""
    if warn:
        for line in unknown_variables(environ):
            print(f"warning: {line}", file=sys.stderr)
    out, bad = {}, []
    for name in KNOBS:
        try:
            out[name] = value(name, environ)
        except SettingError as e:
            bad.append(str(e))
    if bad:
        raise SettingError("\n".join(bad))
    return out


def show(v: Any) -> str:
    """A value as the environment would give it: 90.0 -> 90, True -> 1, () -> (empty), None -> (unset)."""
    if v is None:
        return "(unset)"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (list, tuple)):
        return ",".join(v) if v else "(empty)"
    return "(empty)" if v == "" else str(v)


def markdown() -> str:
    """docs/settings.md: every knob by part, with its environment variable, default, unit and meaning."""
    lines = [
        "# Settings",
        "",
        "The site app's and head office's knobs, one table per part. Each is read from its",
        "environment variable when that is set and not empty (in `/etc/edge-app/device.env`,",
        "`/etc/edge-app/hq.env` or the shell), else it has its default; a command-line option,",
        "where there is one, wins over both. A value that does not parse stops `edge-app` at",
        "start with one line naming the variable; an `EDGE_APP_` variable that names no setting",
        "(a misspelling) is a warning at start naming the nearest one, and the command goes on.",
        "`python -m edge_app.app_settings` prints the values in effect.",
        "",
        "The engine's own parameters (features, thresholds, the thorough pass's band and cascade",
        "limits) are not here: they are `edge_app.engine.config.Settings` (its analysis fields key",
        "the feature cache), set by the commands' options (`--features`, `--fast`, `--threads`, ...).",
        "",
        "Written by `python -m edge_app.app_settings --markdown > docs/settings.md` from",
        "`edge_app/app_settings.py`; `tests/test_app_settings.py` checks every setting is here.",
    ]
    for part, title in PARTS.items():
        lines += ["", f"## {part}: {title}", "",
                  "| Setting | Environment | Default | Unit | Meaning |", "|---|---|---|---|---|"]
        for k in KNOBS.values():
            if k.part == part:
                lines.append(f"| `{k.name}` | `{k.env}` | `{show(k.default)}` | {k.unit} | {k.doc} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--markdown"]:
        sys.stdout.write(markdown())
        return 0
    if argv:
        print("usage: python -m edge_app.app_settings [--markdown]", file=sys.stderr)
        return 2
    try:
        values = check()
    except SettingError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for name, v in values.items():
        k = KNOBS[name]
        shown = "***" if k.secret and v else show(v)
        unit = f" {k.unit}" if k.unit and k.type in (int, float) else ""
        print(f"{name} = {shown}{unit}"
              f"{'   ($' + k.env + ')' if os.environ.get(k.env) else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
