"""``edge-app``: the command line, a thin layer over the library, one module per group.

    edge-app cluster | eval | models              the engine on a folder        (cli/engine.py)
    edge-app serve | add | status | move | merge | confirm | set-pin
                                                  the site app and its store     (cli/site.py)
    edge-app export                               the photo ledger (사진대지)     (cli/export.py)
    edge-app sync | hq serve | hq add-device | hq revoke-device | hq status | hq set-password
                                                  sync and head office           (cli/sync.py)

Shared options and helpers are in :mod:`edge_app.cli.common`; ``python -m edge_app.cli``
is the same as ``edge-app``. :data:`COMMAND_GROUPS` is the command table: the parser is
built from it, and the help test walks the parser it builds. The options' defaults that
come from the environment (``$EDGE_APP_PORT``, ...) are settings of
:mod:`edge_app.app_settings` (docs/settings.md); a value that does not parse ends any
command at start with one line naming its variable.
"""

from __future__ import annotations

import argparse
import os
import sys

from .. import app_settings
from . import engine, export, site, sync

#: Every command group, in the order ``edge-app --help`` lists them.
COMMAND_GROUPS = (engine, site, export, sync)


class _PrintVersions(argparse.Action):
    """``--version``: one unwrapped line (argparse's own action wraps it)."""

    def __init__(self, option_strings, dest, **kw):
        super().__init__(option_strings, dest, nargs=0, **kw)

    def __call__(self, parser, namespace, values, option_string=None):
        from ..versions import describe  # here: its importlib.metadata would cost every start 40 ms

        print(describe())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="edge-app", description="Group site photos that show the same spot.")
    ap.add_argument("--version", action=_PrintVersions, help="edge-app's version and those of the libraries "
                    "that feed the grouping")
    sub = ap.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.add_commands(sub)
    return ap


def main(argv=None) -> int:
    try:
        app_settings.check()
    except app_settings.SettingError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    args = build_parser().parse_args(argv)
    if getattr(sys.stdout, "errors", None) == "strict" and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")  # a file name that is not valid UTF-8
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into head, less, ...: not an error
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
