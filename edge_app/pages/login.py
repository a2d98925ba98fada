"""The login both servers share: the site app's PIN (:mod:`edge_app.web.auth`) and head
office's password (:mod:`edge_app.hq.pages`). Each app keeps its own secret and pages;
the rules are these, written once:

* **Sessions** carry ``auth`` and the secret's session epoch: a new secret or a logout
  moves the epoch on (in each app's store), and every session made before stops working,
  a copied cookie included (:func:`start_session`, :func:`signed_in`).
* **CSRF**: every POST carries the session's token, form field ``csrf`` or header
  ``X-CSRF-Token`` (:func:`csrf_token`, :func:`csrf_ok`).
* **Tries are throttled** per client address and for the one account
  (:class:`SecretLogin`, over :class:`edge_app.access.throttle.Throttle`): a locked try is
  answered at once, 429 with ``Retry-After``; no request thread ever sleeps.
* **Where to go next** is a path on this server only (:func:`safe_next`): no open redirect.
* **The language switch** ``/lang/<code>`` sets the ``lang`` cookie (:func:`lang_switch`).
* **The first visit's setup code**, when the server was started with one (``--setup-code``:
  ``app.config["SETUP_CODE"]``, a :class:`edge_app.access.setup_code.SetupCode`): choosing
  the first PIN or password needs it, tries throttled as the secret's
  (:func:`setup_code_refusal`), and it expires once the secret is set (:func:`setup_code_done`).
"""

from __future__ import annotations

import secrets
from typing import Callable, Mapping
from urllib.parse import urlparse

from flask import abort, current_app, redirect, request, session

from .. import app_settings
from ..access.setup_code import SetupCode
from ..access.throttle import Attempt, Limit, Throttle
from .i18n import LANGS, translate


def csrf_token() -> str:
    """The session's CSRF token (made on first use)."""
    tok = session.get("csrf")
    if not tok:
        tok = session["csrf"] = secrets.token_urlsafe(24)
    return tok


def csrf_ok() -> bool:
    """The request carries the session's CSRF token (form field ``csrf`` or header
    ``X-CSRF-Token``)."""
    sent = request.form.get("csrf") or request.headers.get("X-CSRF-Token")
    good = session.get("csrf")
    return bool(good and sent) and secrets.compare_digest(str(sent), str(good))


def start_session(epoch: str, **extra) -> None:
    """A new session for whoever just gave the right secret (or chose it): the old session's
    contents go (no fixation), its CSRF token stays (other open forms keep working)."""
    csrf = session.get("csrf")
    session.clear()
    session.update(auth=True, epoch=epoch, csrf=csrf or secrets.token_urlsafe(24), **extra)
    session.permanent = True


def signed_in(epoch: str) -> bool:
    """This session was made under the current session ``epoch``."""
    return bool(session.get("auth")) and secrets.compare_digest(str(session.get("epoch", "")), str(epoch))


def safe_next(target: str | None, fallback: str = "/") -> str:
    """``target`` when it is a path on this server, else ``fallback`` (no scheme, no host,
    no ``//`` or ``/\\`` that a browser would take for another host, no control character)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return fallback
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return fallback
    u = urlparse(target)
    if u.scheme or u.netloc:
        return fallback
    return target


def lang_switch(code: str, back: str | None, fallback: str = "/"):
    """The answer of ``/lang/<code>``: the ``lang`` cookie set for the setting
    ``web.lang_cookie_s`` (a year: it outlives every session), back to ``back`` (404 for a
    language the pages do not have)."""
    if code not in LANGS:
        abort(404)
    resp = redirect(safe_next(back, fallback))
    resp.set_cookie("lang", code, max_age=app_settings.value("web.lang_cookie_s"), samesite="Lax", httponly=True)
    return resp


class SecretLogin:
    """The throttled check of one app's secret.

    name: where the app keeps its throttle (``app.extensions[name]``, made on first use);
    limits: ``{"address": Limit, "account": Limit}``, or a function of the app's config
    giving them (read when the throttle is made);
    account: the key of the one account (the PIN, the password);
    wrong_key: the catalogue key of the "wrong secret" message.
    """

    def __init__(self, name: str, limits: Mapping[str, Limit] | Callable[[Mapping], Mapping[str, Limit]],
                 account: str, wrong_key: str, forget_s: float = 3600.0):
        self.name, self.limits, self.account, self.wrong_key, self.forget_s = name, limits, account, wrong_key, forget_s

    def throttle(self) -> Throttle:
        """This app's throttle."""
        thr = current_app.extensions.get(self.name)
        if thr is None:
            limits = self.limits(current_app.config) if callable(self.limits) else self.limits
            thr = current_app.extensions.setdefault(self.name, Throttle(limits, forget_s=self.forget_s))
        return thr

    def keys(self) -> dict[str, str]:
        """The throttle's keys of this request: its client address and the one account."""
        return {"address": request.remote_addr or "?", "account": self.account}

    def attempt(self, check: Callable[[], bool]) -> Attempt:
        """One try of the secret (``check``), throttled: see :meth:`Throttle.attempt`."""
        return self.throttle().attempt(self.keys(), check)

    def refusal(self, tried: Attempt, lang: str) -> tuple[str, int, dict[str, str]]:
        """(message, status, headers) of a refused try: 429 with ``Retry-After`` when it
        must wait, else 401."""
        if tried.wait:
            return translate(lang, "too_many_tries", s=tried.wait), 429, {"Retry-After": str(tried.wait)}
        return translate(lang, self.wrong_key), 401, {}


def setup_code_asked() -> bool:
    """This server asks the first visit for its setup code (started with one, no secret set yet)."""
    code: SetupCode | None = current_app.config.get("SETUP_CODE")
    return code is not None and code.active


def setup_code_refusal(check: SecretLogin, lang: str) -> tuple[str, int, dict[str, str]] | None:
    """None when the setup form may go on (no code asked, or form field ``setup_code`` is
    it), else (message, status, headers) as :meth:`SecretLogin.refusal`: 401, or 429 with
    ``Retry-After`` once ``check``'s throttle says wait (the code is not even compared then)."""
    if not setup_code_asked():
        return None
    code: SetupCode = current_app.config["SETUP_CODE"]
    tried = check.attempt(lambda: code.matches(request.form.get("setup_code", "")))
    return None if tried.ok else check.refusal(tried, lang)


def setup_code_done() -> None:
    """The first secret is set (here, or by the command line): the setup code opens nothing more."""
    code: SetupCode | None = current_app.config.get("SETUP_CODE")
    if code is not None:
        code.expire()
