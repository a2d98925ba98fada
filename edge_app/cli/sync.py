"""Commands for sync and head office (thin layers over :mod:`edge_app.sync` and :mod:`edge_app.hq`).

    edge-app sync --data DIR [--once] [--hq-url URL --device NAME --secret SECRET] [--env-file F]
    edge-app hq serve --data HQDIR [--host 127.0.0.1] [--port 8090] [--db postgresql://...] [--cert C --key K]
                      [--setup-code]
    edge-app hq add-device NAME --data HQDIR          # prints the device's secret, one line
    edge-app hq revoke-device NAME --data HQDIR
    edge-app hq status --data HQDIR [--json]
    edge-app hq set-password --data HQDIR             # reads it from stdin
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path

from .. import app_settings
from .common import data_option, open_data, read_secret


def sync_options(p) -> None:
    """--hq-url/--device/--secret/--env-file, shared by `serve` and `sync`."""
    p.add_argument("--hq-url", help="head office, e.g. https://hq.example.com (or $EDGE_APP_HQ_URL)")
    p.add_argument("--device", help="this device's name at head office (or $EDGE_APP_DEVICE)")
    p.add_argument("--secret", help="this device's secret (or $EDGE_APP_SECRET; prefer the env file)")
    p.add_argument("--env-file", help="KEY=VALUE file with EDGE_APP_HQ_URL, EDGE_APP_DEVICE, EDGE_APP_SECRET")


def sync_config_getter(args):
    """A function store -> SyncConfig that re-reads the page's settings each time."""
    from ..sync import SyncConfig, read_env_file

    env = dict(os.environ)
    if getattr(args, "env_file", None):
        env.update(read_env_file(args.env_file))
    opts = {"hq_url": getattr(args, "hq_url", None), "device": getattr(args, "device", None),
            "secret": getattr(args, "secret", None)}
    return lambda st: SyncConfig.from_sources(st, env=env, **opts)


def cmd_sync(args) -> int:
    from ..sync import left_unsent, run_forever, run_now

    st = open_data(args)
    conf = sync_config_getter(args)
    if not conf(st).enabled:
        print("error: no head office set (give --hq-url, --device and --secret, an --env-file, or set them on the "
              "settings page); the outbox is kept", file=sys.stderr)
        return 2
    if args.once:  # every unsent entry now, as "sync now" does; 0 only when none is left
        rep = run_now(st, conf(st))
        print(json.dumps(rep))
        why = left_unsent(st, rep)
        if why:
            print(f"error: {why}", file=sys.stderr)
        return 1 if why else 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    try:
        run_forever(args.data, conf, stop)
    except KeyboardInterrupt:
        pass
    return 0


def _hq_db(args):
    from ..hq.db import HQDatabase

    return HQDatabase.open(args.data, getattr(args, "db", None) or app_settings.value("hq.db"))


def cmd_hq_serve(args) -> int:
    """Head office under cheroot (:mod:`edge_app.hq.server`: timeouts, threads, header deadline)."""
    import logging

    from ..access.setup_code import SetupCode
    from ..hq import create_hq_app
    from ..hq.hosts import shown_names
    from ..hq.settings import has_password
    from ..hq.server import make_server, serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if bool(args.cert) != bool(args.key):
        print("error: --cert and --key go together", file=sys.stderr)
        return 2
    app = create_hq_app({"HQ_DATA": args.data, "HQ_DB_URL": args.db or app_settings.value("hq.db"),
                         "HQ_LISTEN": args.host, "HQ_ALLOWED_HOSTS": args.allowed_host or ()})
    code_text = ""
    if args.setup_code:
        c = app.config["HQ_DB"].connect()
        try:
            if not has_password(c):  # the first visit's one-time code, printed below
                app.config["SETUP_CODE"], code_text = SetupCode.new()
        finally:
            c.close()
    if args.proxy:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_prefix=1)
    server = make_server(app, args.host, args.port, threads=args.threads, header_timeout_s=args.header_timeout,
                         per_address=0 if args.proxy else None)  # behind a proxy every connection is the proxy's
    scheme = "http"
    if args.cert:
        from ..hq.server import WorkerHandshakeSSL

        server.ssl_adapter = WorkerHandshakeSSL(args.cert, args.key)  # the handshake off the accept thread
        scheme = "https"
    print(f"edge-app hq {Path(args.data).resolve()} ({app.config['HQ_DB'].describe()}): "
          f"{scheme}://{args.host}:{args.port}/", flush=True)
    print("answers the Host names: " + ", ".join(shown_names(args.host, args.allowed_host or ())), flush=True)
    if code_text:
        print(f"no password yet: the first visit to the pages chooses it with the setup code {code_text} "
              "(or: edge-app hq set-password)", flush=True)

    def interrupt(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    serve(server)
    return 0


def cmd_hq_add_device(args) -> int:
    from ..hq.devices import DeviceError, add_device

    db = _hq_db(args)
    c = db.connect()
    try:
        secret = add_device(c, Path(args.data), args.name)
    except DeviceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        c.close()
    print(secret)
    print(f"device {args.name} added; give it this secret once (EDGE_APP_SECRET in its env file)", file=sys.stderr)
    return 0


def cmd_hq_revoke(args) -> int:
    from ..hq.devices import revoke_device

    db = _hq_db(args)
    c = db.connect()
    try:
        ok = revoke_device(c, args.name)
    finally:
        c.close()
    print(f"device {args.name} {'revoked' if ok else 'was not active'}", file=sys.stderr)
    return 0 if ok else 1


def cmd_hq_status(args) -> int:
    from ..hq.pages import status

    s = status(_hq_db(args))
    if args.json:
        print(json.dumps(s, indent=2, ensure_ascii=False))
        return 0
    for d in s["devices"]:
        print(f"device {d['name']}: last contact {d['last_seen_at'] or 'never'}{' (revoked)' if d['revoked'] else ''}")
    for sp in s["spots"]:
        print(f"{sp['device']} spot {sp['spot_id']} v{sp['version']} {sp['name'] or ''} ({sp['site'] or ''}), "
              f"{len(sp['photos'])} photos")
        for p in sp["photos"]:
            print(f"    {p['sha256']} {p['name']}")
    return 0


def cmd_hq_set_password(args) -> int:
    from ..hq.pages import set_password


    pw = read_secret("head-office password (8 characters or more): ")
    if pw is None:
        return 1
    try:
        set_password(_hq_db(args), pw)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("sync", help="send confirmed spots to head office",
                       description="Push the outbox to head office (what `serve` does in the background).",
                       epilog="example: edge-app sync --data edge-data --once --env-file /etc/edge-app/device.env")
    data_option(p)
    p.add_argument("--once", action="store_true",
                   help="try every unsent spot now, then exit (status 1 with the count and the reason if any is left)")
    sync_options(p)
    p.set_defaults(func=cmd_sync)

    hq = sub.add_parser("hq", help="head office: the receiver devices sync into").add_subparsers(dest="hq_command",
                                                                                             required=True)

    setting = app_settings.value  # the defaults: docs/settings.md

    def hq_data(p):
        p.add_argument("--data", default=setting("hq.data"), metavar="HQDIR",
                       help=f"head office's data folder (default: {setting('hq.data')}, or $EDGE_APP_HQ_DATA)")
        p.add_argument("--db", help="postgresql://user@host/db (default: SQLite in HQDIR; or $EDGE_APP_HQ_DB)")

    p = hq.add_parser("serve", help="run the receiver and its pages",
                      epilog="example: edge-app hq serve --data hq-data --host 0.0.0.0 --port 8090 --cert c.pem --key k.pem")
    hq_data(p)
    p.add_argument("--host", default=setting("hq.host"), help="default 127.0.0.1 ($EDGE_APP_HQ_HOST)")
    p.add_argument("--port", type=int, default=setting("hq.port"), help=f"default {setting('hq.port')} "
                                                                         "($EDGE_APP_HQ_PORT)")
    p.add_argument("--cert", default=setting("hq.cert"), help="TLS certificate (PEM); with --key, serves https "
                                                               "($EDGE_APP_HQ_CERT)")
    p.add_argument("--key", default=setting("hq.key"), help="TLS private key (PEM; $EDGE_APP_HQ_KEY)")
    p.add_argument("--proxy", action="store_true", default=setting("hq.proxy"),
                   help="behind a reverse proxy: trust its X-Forwarded-* headers ($EDGE_APP_HQ_PROXY=1)")
    p.add_argument("--allowed-host", action="append", metavar="NAME",
                   help="a name head office is reached by (repeatable; also $EDGE_APP_HQ_ALLOWED_HOSTS, comma "
                        "separated); other Host headers get 400. Always: localhost and the addresses it listens on")
    p.add_argument("--threads", type=int, default=setting("hq.threads"),
                   help=f"worker threads (default {setting('hq.threads')}, or $EDGE_APP_HQ_THREADS)")
    p.add_argument("--header-timeout", type=float, default=setting("hq.header_timeout_s"), metavar="S",
                   help="close a connection whose request line and headers are not complete after S seconds "
                        f"(default {app_settings.show(setting('hq.header_timeout_s'))}, "
                        "or $EDGE_APP_HQ_HEADER_TIMEOUT_S)")
    p.add_argument("--setup-code", action="store_true", default=setting("hq.setup_code"),
                   help="while no password is set, print a one-time code at start that the first visit must type "
                        "to choose it (or $EDGE_APP_HQ_SETUP_CODE=1)")
    p.set_defaults(func=cmd_hq_serve)

    p = hq.add_parser("add-device", help="register a device; prints its secret as one line",
                      epilog="example: edge-app hq add-device jetson-07 --data hq-data")
    p.add_argument("name")
    hq_data(p)
    p.set_defaults(func=cmd_hq_add_device)

    p = hq.add_parser("revoke-device", help="stop accepting a device", epilog="example: edge-app hq revoke-device jetson-07")
    p.add_argument("name")
    hq_data(p)
    p.set_defaults(func=cmd_hq_revoke)

    p = hq.add_parser("status", help="every received spot with its photos' sha256",
                      epilog="example: edge-app hq status --data hq-data --json")
    hq_data(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_hq_status)

    p = hq.add_parser("set-password", help="set the pages' password (read from stdin)",
                      epilog="example: edge-app hq set-password --data hq-data < pw.txt")
    hq_data(p)
    p.set_defaults(func=cmd_hq_set_password)
