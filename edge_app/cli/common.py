"""What the command groups share: the engine's options and settings, the data folder
and its store, who is acting, secrets read from a terminal or stdin, progress lines.

Nothing here registers a command; :mod:`edge_app.cli` builds the parser from the groups.
"""

from __future__ import annotations

import errno
import getpass
import os
import sqlite3
import sys
from pathlib import Path

from .. import app_settings


class Progress:
    """``analysing 12/30`` on stderr, rewritten in place on a terminal, every 10% otherwise."""

    def __init__(self, label: str, quiet: bool = False):
        self.label = label
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        if self.quiet:
            return
        if self.tty:
            end = "\n" if done == total else ""
            print(f"\r{self.label} {done}/{total}", end=end, file=sys.stderr, flush=True)
        else:
            step = max(1, total // 10)
            if done == total or done // step != self.last:
                self.last = done // step
                print(f"{self.label} {done}/{total}", file=sys.stderr, flush=True)


def engine_options(p) -> None:
    """--features/--threads/--no-mask/--fast/-q: how the engine runs (cluster, eval, serve, add)."""
    p.add_argument("--features", choices=["xfeat", "orb", "sift"], help="local features (default: xfeat)")
    p.add_argument("--threads", type=int, help="worker threads (default: all cores)")
    p.add_argument("--no-mask", action="store_true", help="do not mask people/vehicles")
    p.add_argument("--fast", action="store_true", help="smaller work images for a weak CPU (see docs/quality.md)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def engine_settings(args):
    """The engine's :class:`~edge_app.engine.config.Settings` from :func:`engine_options`."""
    from ..engine.config import Settings

    kw = {}
    if getattr(args, "features", None):
        kw["local_features"] = args.features
    if getattr(args, "threads", None):
        kw["threads"] = args.threads
    if getattr(args, "no_mask", False):
        kw["use_segmentation"] = False
    return Settings.fast(**kw) if getattr(args, "fast", False) else Settings(**kw)


def data_option(p) -> None:
    """--data: the site app's data folder (default: the setting ``site.data``, beside where
    the app is started)."""
    default = app_settings.value("site.data")
    p.add_argument("--data", default=default, metavar="DIR",
                   help=f"the app's data folder (default: {default}, or $EDGE_APP_DATA)")


def who() -> str:
    """The actor written in the store's edit log for a command: ``cli:<user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user name in a container
        return "cli"


def open_data(args, create: bool = False):
    """The store of ``--data``; a folder that holds none, or that cannot be written (a
    read-only file system, no permission, a full disk), ends the command with one line."""
    from ..store import StoreError, open_store

    try:
        return open_store(args.data, create=create)
    except StoreError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    except (OSError, sqlite3.OperationalError) as e:
        print(f"error: {storage_problem(args.data, e)}", file=sys.stderr)
        raise SystemExit(2) from None


def storage_problem(data, e: Exception) -> str:
    """One line saying why the data folder cannot be used (for an OSError or SQLite's
    error while opening or writing it)."""
    root = Path(data)
    code = getattr(e, "errno", None)
    why = getattr(e, "strerror", None) or str(e)
    if code == errno.ENOSPC or "disk is full" in str(e):
        return f"the disk of the data folder {root} is full ({why}); free some space and try again"
    read_only = code == errno.EROFS
    try:
        read_only = read_only or bool(os.statvfs(root).f_flag & os.ST_RDONLY) or not os.access(root, os.W_OK)
    except OSError:
        pass
    if read_only or code in (errno.EACCES, errno.EPERM):
        return (f"the data folder {root} is read-only ({why}); edge-app writes its database and photos there: "
                f"make it writable or give --data another folder")
    return f"cannot use the data folder {root} ({why})"


def read_secret(prompt: str) -> str | None:
    """A PIN or password: asked twice on a terminal (None when they differ, said on
    stderr), else one line of stdin (a script: ``echo 482913 | edge-app set-pin``)."""
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("again: ") != first:
            print("error: the two entries differ", file=sys.stderr)
            return None
        return first
    return sys.stdin.readline().rstrip("\n").strip()


def write_text(path: Path, text: str, errors: str = "strict") -> None:
    """Write UTF-8 text through a temporary file; ``errors``: for characters UTF-8 cannot
    hold (lone surrogates from file names that are not UTF-8)."""
    from ..fileio import write_atomic

    write_atomic(path, text.encode("utf-8", errors))
