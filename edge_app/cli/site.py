"""The site app's commands (a thin layer over :mod:`edge_app.store` and the worker).

    edge-app serve [--data DIR] [--host 0.0.0.0] [--port 8080] [--watch /media/sdcard] [--setup-code]
    edge-app add --data DIR PHOTO_OR_FOLDER...
    edge-app status --data DIR [--json]
    edge-app move --data DIR PHOTO_SHA256 SPOT_ID|new|none
    edge-app merge --data DIR SPOT_ID SPOT_ID...
    edge-app confirm --data DIR SPOT_ID... | --all [--site ID]
    echo 482913 | edge-app set-pin --data DIR
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from pathlib import Path

from .. import app_settings
from ..display import display_name
from .common import (Progress, data_option, engine_options, engine_settings, open_data, read_secret,
                     storage_problem, who)
from .sync import sync_config_getter, sync_options


def slow_client_limits() -> dict:
    """waitress's limits against slow clients (issue 19), from the settings ``site.*``.
    waitress reads requests in its event loop, so a client dribbling its headers holds a
    connection, not a thread: the page stays answered while fewer than ``connection_limit``
    such connections are open, and a connection silent for ``channel_timeout`` seconds is
    closed (an upload over a weak link still sends every few seconds). poll(), as select()
    cannot watch more than 1024 sockets. Besides, one client address may hold only
    ``site.per_address_connections`` of them (64: one phone cannot use up the 500; a
    tablet's page uses a handful)."""
    setting = app_settings.value
    return {"connection_limit": setting("site.connection_limit"), "channel_timeout": setting("site.channel_timeout_s"),
            "backlog": setting("site.backlog"), "asyncore_use_poll": True}


def listen_on(host: str, port: int) -> dict:
    """waitress's address options: ``::`` is every address, IPv4 and IPv6 (waitress makes
    an IPv6 socket IPv6-only, so both are listed), or IPv4 alone where the machine has no
    IPv6; any other ``host`` as it is."""
    if host != "::":
        return {"host": host, "port": port}
    import socket

    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::", 0))
    except OSError:
        return {"host": "0.0.0.0", "port": port}
    return {"listen": f"0.0.0.0:{port} [::]:{port}"}


def cmd_serve(args) -> int:
    import waitress

    from ..store import settings as store_settings
    from ..watch import Watcher
    from ..web import create_app
    from ..access.connections import limit_per_address
    from ..access.hosts import is_link_local, lan_addresses, url_host
    from ..access.setup_code import SetupCode
    from ..worker import Worker

    st = open_data(args, create=True)
    has_pin = store_settings.has_pin(st)
    st.close()
    code, code_text = SetupCode.new() if args.setup_code and not has_pin else (None, "")
    worker = Worker(args.data, engine_settings(args))
    everywhere = args.host in ("0.0.0.0", "::", "")
    app = create_app({"DATA_DIR": args.data, "ALLOWED_HOSTS": [args.host, *args.allowed_host],
                      "LOCAL_ADDRESSES": lan_addresses if everywhere else None, "SETUP_CODE": code}, worker=worker)
    worker.start()
    from ..sync import run_forever

    sync_stop, sync_wake = threading.Event(), threading.Event()
    conf = sync_config_getter(args)
    app.extensions["edge_sync"] = {"wake": sync_wake, "conf": conf}
    threading.Thread(target=run_forever, args=(args.data, conf, sync_stop, sync_wake), name="edge-app-sync",
                     daemon=True).start()
    watcher = None
    if args.watch:
        watcher = Watcher(args.data, args.watch, on_new=worker.wake)
        watcher.start()

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    host = args.host
    shown = [f"http://{'127.0.0.1' if everywhere else host}:{args.port}/"]
    if everywhere:  # IPv6 ones in brackets; link-local ones are answered but not shown (a URL cannot name them)
        shown += [f"http://{url_host(a)}:{args.port}/" for a in lan_addresses()
                  if not is_link_local(a) and (host == "::" or ":" not in a)]
    shown += [f"http://{url_host(a)}:{args.port}/" for a in args.allowed_host if not a.startswith(".")]
    print(f"edge-app {Path(args.data).resolve()}: open " + "  or  ".join(shown), flush=True)
    if code:
        print(f"no PIN yet: the first visit to the page chooses it with the setup code {code_text} "
              "(or: edge-app set-pin)", flush=True)
    elif not has_pin:
        print("no PIN yet: the first visit to the page chooses it (or: edge-app set-pin)", flush=True)
    if watcher:
        print(f"watching {args.watch} for new photos", flush=True)
    try:
        server = waitress.create_server(app, **listen_on(host, args.port), threads=args.http_threads, ident="edge-app",
                                        max_request_body_size=app.config["MAX_CONTENT_LENGTH"] + (1 << 20),
                                        clear_untrusted_proxy_headers=True, **slow_client_limits())
        limit_per_address(server, app_settings.value("site.per_address_connections"))
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        if watcher:
            watcher.stop()
        sync_stop.set()
        sync_wake.set()
        worker.stop()
    return 0


def _wait_for_worker(st, batch: int, timeout_s: float) -> bool:
    from ..store import photos as store_photos

    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if store_photos.batch_progress(st, batch)["regrouped"]:
            return True
        time.sleep(0.5)
    return False


def cmd_add(args) -> int:
    import sqlite3

    from ..store import photos as store_photos
    from ..worker import Worker, worker_alive

    st = open_data(args, create=True)
    actor = who()
    batch = store_photos.start_batch(st, "cli", actor)
    try:
        arrivals = store_photos.add_paths(st, args.paths, source="cli", who=actor, batch_id=batch,
                                          progress=Progress("storing", args.quiet))
    except (OSError, sqlite3.OperationalError) as e:  # the photos stored before it are kept
        print(f"error: {storage_problem(args.data, e)}", file=sys.stderr)
        return 2
    store_photos.finish_batch(st, batch)
    added = sum(a.outcome == "added" for a in arrivals)
    dups = sum(a.outcome == "duplicate" for a in arrivals)
    refused = [a for a in arrivals if a.outcome == "refused"]
    for a in refused:
        print(f"refused: {display_name(a.name)}: {a.reason}" + (f" ({a.detail})" if a.detail else ""), file=sys.stderr)
    if args.no_wait:
        pass
    elif worker_alive(st):
        if not args.quiet:
            print("handing the photos to the running edge-app serve ...", file=sys.stderr)
        if not _wait_for_worker(st, batch, args.timeout):
            print(f"error: the running worker did not finish within {args.timeout:.0f} s", file=sys.stderr)
            return 1
    else:
        Worker(args.data, engine_settings(args)).run_until_idle()
    prog = store_photos.batch_progress(st, batch)
    sites = store_photos.sites_of_batch(st, batch)
    print(f"{added} added, {dups} already in the store, {len(refused)} refused; "
          f"{prog['analysed']} analysed, {prog['failed']} failed; sites: "
          + (", ".join(str(s) for s in sites) or "-"))
    return 1 if refused or prog["failed"] else 0


def cmd_status(args) -> int:
    from ..store import views

    st = open_data(args)
    s = views.status(st)
    if args.json:
        print(json.dumps(s, indent=2, ensure_ascii=False))
        return 0
    phase = {"before": "전", "during": "중", "after": "후", None: "-"}
    for site in s["sites"]:
        print(f"site {site['id']}: {site['name'] or '(no name)'}")
        for sp in site["spots"]:
            mark = "confirmed" if sp["confirmed"] else "open"
            print(f"  spot {sp['id']} {sp['name'] or ''} [{mark}], {len(sp['photos'])} photos")
            for p in sp["photos"]:
                print(f"    {phase[p['phase']]} {p['sha256'][:12]} {display_name(p['name'])}")
        if site["unassigned"]:
            print(f"  unassigned, {len(site['unassigned'])} photos")
            for p in site["unassigned"]:
                print(f"    {p['sha256'][:12]} {display_name(p['name'])}")
    print(f"waiting for analysis: {s['waiting']}")
    if s["refused"]:
        print(f"refused ({len(s['refused'])}):")
        for r in s["refused"]:
            print(f"  {display_name(r['name'])}: {r['reason']}")
    return 0


def _resolve_photo(st, ref: str) -> str:
    from ..store import StoreError
    from ..store import photos as store_photos

    ref = ref.strip().lower()
    if len(ref) < 8:
        raise StoreError("give at least 8 characters of the photo's sha256")
    rows = store_photos.by_prefix(st, ref, limit=2)
    if len(rows) != 1:
        raise StoreError(f"{'no photo' if not rows else 'more than one photo'} starts with {ref}")
    return rows[0]


def _run_edit(fn) -> int:
    from ..store import StoreError

    try:
        out = fn()
    except StoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if out is not None:
        print(json.dumps(out, ensure_ascii=False))
    return 0


def cmd_move(args) -> int:
    from ..store import spots

    st = open_data(args)

    def go():
        sha = _resolve_photo(st, args.photo)
        target = {"new": spots.NEW, "none": None}.get(args.target, args.target)
        return spots.move(st, [sha], target if target in (None, spots.NEW) else int(target), who())

    return _run_edit(go)


def cmd_merge(args) -> int:
    from ..store import spots

    st = open_data(args)
    return _run_edit(lambda: spots.merge(st, args.spots, who()))


def cmd_confirm(args) -> int:
    from ..store import StoreError, spots
    from ..store.sites import list_sites

    st = open_data(args)

    def go():
        if args.all:
            site_ids = [args.site] if args.site else [s["id"] for s in list_sites(st)]
            return {"confirmed": sum((spots.confirm_all(st, s, who())["spots"] for s in site_ids), [])}
        if not args.spots:
            raise StoreError("give spot ids or --all")
        for s in args.spots:
            spots.confirm(st, s, who())
        return {"confirmed": args.spots}

    return _run_edit(go)


def cmd_set_pin(args) -> int:
    from ..store import StoreError
    from ..store import settings as store_settings

    st = open_data(args, create=True)
    pin = read_secret("new PIN (4-12 digits): ")
    if pin is None:
        return 1
    try:
        store_settings.set_pin(st, pin)
    except StoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print("PIN set", file=sys.stderr)
    return 0


def add_commands(sub) -> None:
    """Register the site app's subcommands on the ``edge-app`` parser."""
    data, common = data_option, engine_options

    p = sub.add_parser("serve", help="run the site app (page + background grouping)",
                       description="Serve the crew lead's page and group new photos in the background.",
                       epilog="example: edge-app serve --data edge-data --host 0.0.0.0 --port 8080 --watch /media/sd")
    data(p)
    setting = app_settings.value  # the defaults: docs/settings.md
    p.add_argument("--host", default=setting("site.host"),
                   help="address to listen on (0.0.0.0 = the whole LAN, :: = the whole LAN over IPv4 and IPv6; "
                        "default 127.0.0.1, this computer only; or $EDGE_APP_HOST)")
    p.add_argument("--port", type=int, default=setting("site.port"),
                   help=f"default {setting('site.port')} (or $EDGE_APP_PORT)")
    p.add_argument("--watch", metavar="DIR", default=setting("site.watch"),
                   help="also take photos that appear in this folder (SD card, sync folder; or $EDGE_APP_WATCH)")
    p.add_argument("--http-threads", type=int, default=setting("site.http_threads"),
                   help=f"web server threads (default {setting('site.http_threads')}, or $EDGE_APP_HTTP_THREADS)")
    p.add_argument("--allowed-host", action="append", metavar="NAME", default=setting("site.allowed_hosts"),
                   help="a further name the page answers to (repeatable; .example.org: every name under it; "
                        "or $EDGE_APP_ALLOWED_HOSTS, comma separated). Besides localhost and the addresses it "
                        "listens on, every other Host gets 400 (DNS rebinding)")
    p.add_argument("--setup-code", action="store_true", default=setting("site.setup_code"),
                   help="while no PIN is set, print a one-time code at start that the first visit must type to "
                        "choose the PIN (or $EDGE_APP_SETUP_CODE=1)")
    sync_options(p)
    common(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("add", help="add photos (files or folders) to the store and group them",
                       description="Store, analyse and place photos. Hands the work to a running serve if any.",
                       epilog="example: edge-app add --data edge-data /media/sd/DCIM")
    data(p)
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--no-wait", action="store_true", help="only store the photos; the worker groups them later")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for a running worker (default 600)")
    common(p)
    p.set_defaults(func=cmd_add)

    p = sub.add_parser("status", help="sites, spots and photos in the store",
                       description="List sites, spots with their photos, unassigned, waiting and refused files.",
                       epilog="example: edge-app status --data edge-data --json")
    data(p)
    p.add_argument("--json", action="store_true", help="the stable JSON shape (docs in edge_app/store/views.py)")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("move", help="move a photo to a spot, a new spot or the unassigned tray",
                       epilog="example: edge-app move --data edge-data 3f2a9c01 12   (or: new, none)")
    data(p)
    p.add_argument("photo", metavar="PHOTO_SHA256", help="the photo's sha256 (at least 8 first characters)")
    p.add_argument("target", metavar="SPOT_ID|new|none")
    p.set_defaults(func=cmd_move)

    p = sub.add_parser("merge", help="merge spots into the first one given",
                       epilog="example: edge-app merge --data edge-data 4 7")
    data(p)
    p.add_argument("spots", nargs="+", type=int, metavar="SPOT_ID")
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("confirm", help="confirm spots (locked against automatic grouping)",
                       epilog="example: edge-app confirm --data edge-data 4 7   or   --all --site 2")
    data(p)
    p.add_argument("spots", nargs="*", type=int, metavar="SPOT_ID")
    p.add_argument("--all", action="store_true", help="every spot not confirmed yet")
    p.add_argument("--site", type=int, help="with --all: only this site")
    p.set_defaults(func=cmd_confirm)

    p = sub.add_parser("set-pin", help="set the page's PIN (read from stdin)",
                       epilog="example: echo 482913 | edge-app set-pin --data edge-data")
    data(p)
    p.set_defaults(func=cmd_set_pin)
