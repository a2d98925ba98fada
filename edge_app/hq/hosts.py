"""Which ``Host:`` names head office answers (issue 19: DNS rebinding).

A web page a clerk opens elsewhere could point its own name at head office's address and
then talk to it as that clerk's browser: the browser sends the foreign name as ``Host``.
Head office answers only the addresses it listens on (every address of the machine when it
listens on all of them), ``localhost`` and the loopback addresses, and names given with
``--allowed-host`` / ``$EDGE_APP_HQ_ALLOWED_HOSTS``; anything else gets 400 before any
route runs. Behind a reverse proxy (``--proxy``) both the ``Host`` the proxy sends and the
``X-Forwarded-Host`` it passes on must be allowed. The rules (ports, ``.example.org`` for
every name under it) are the site app's: :class:`edge_app.access.hosts.AllowedHosts`.
"""

from __future__ import annotations

import logging

from .. import app_settings
from ..access.hosts import AllowedHosts, lan_addresses

log = logging.getLogger("edge_app.hq")

WILDCARDS = ("", "0.0.0.0", "::")


def _fixed_names(listen: str | None, names) -> list[str]:
    """``names``, those of the setting ``hq.allowed_hosts`` (``$EDGE_APP_HQ_ALLOWED_HOSTS``,
    comma separated), and ``listen`` unless it is every address."""
    env = app_settings.value("hq.allowed_hosts")
    return [*names, *env, *([listen] if listen is not None and listen not in WILDCARDS else [])]


def allowed_hosts(listen: str | None, names=()) -> AllowedHosts:
    """The names for a server listening on ``listen`` (None: not listening, e.g. tests)."""
    local = lan_addresses if listen in WILDCARDS else None
    return AllowedHosts(_fixed_names(listen, names), local_addresses=local)


def shown_names(listen: str | None, names=()) -> list[str]:
    """The names as `hq serve` lists them at start (the machine's addresses read now)."""
    now = lan_addresses() if listen in WILDCARDS else []
    return list(dict.fromkeys(["localhost", "127.0.0.1", "::1", *now, *_fixed_names(listen, names)]))


class HostCheck:
    """WSGI middleware: 400 for a request whose ``Host`` (and, behind :class:`ProxyFix`, the
    ``Host`` the proxy itself sent) is not allowed. Put it inside ProxyFix."""

    def __init__(self, app, allowed: AllowedHosts):
        self.app, self.allowed = app, allowed

    def __call__(self, environ, start_response):
        hosts = [environ.get("HTTP_HOST", "")]
        original = environ.get("werkzeug.proxy_fix.orig")
        if original:  # ProxyFix replaced HTTP_HOST with X-Forwarded-Host
            hosts.append(original.get("HTTP_HOST", ""))
        if all(self.allowed.allows(h) for h in hosts):
            return self.app(environ, start_response)
        log.warning("refused %s %s: unknown Host %r", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"),
                    " / ".join(hosts)[:200])
        body = b"unknown host: use the address head office is known by (see --allowed-host)\n"
        start_response("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8"),
                                           ("Content-Length", str(len(body))), ("Connection", "close")])
        return [body]
