"""The PIN, sessions and CSRF of the site app (the rules shared with head office's
password, written once: :mod:`edge_app.pages.login`).

* No PIN yet: every page leads to ``/setup``, where the first visitor chooses it (or
  ``edge-app set-pin``). It is stored as a salted scrypt hash. Started with
  ``--setup-code``, ``/setup`` also asks for the one-time code ``serve`` printed on its
  console (wrong codes throttled as wrong PINs; it expires once the PIN is set).
* Wrong PINs are rate-limited per client address: after ``LOGIN_MAX_FAILURES`` failures the
  address waits ``LOGIN_LOCK_S`` seconds, doubling with each further failure; and for the
  one PIN from every address together (``LOGIN_MAX_FAILURES_ALL``: a guesser with many
  addresses). A locked try is answered at once, 429 with ``Retry-After``: no request thread
  ever sleeps (:class:`edge_app.access.throttle.Throttle`, head office's too).
* Session cookies are HttpOnly and SameSite=Lax and expire after 12 idle hours. Every POST
  carries the session's CSRF token (form field ``csrf`` or header ``X-CSRF-Token``).
* A session carries the store's session epoch (:func:`edge_app.store.settings.session_epoch`):
  logging out, or a new PIN (the page or ``edge-app set-pin``), moves the epoch on and ends
  every session made before, a cookie copied before included.
* The page answers only the host names it is known by (:mod:`edge_app.access.hosts`, before this guard).
* A page left open all day: its next action finds the session gone and leads to the PIN
  page, then back to where the lead was (htmx requests get an ``HX-Redirect``), never to
  a raw error.
"""

from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, flash, g, make_response, redirect, render_template, request, session, url_for

from ..access.throttle import Limit
from ..pages.i18n import store_error_text, translate
from ..pages.login import (SecretLogin, csrf_ok, csrf_token, lang_switch, safe_next, setup_code_asked, setup_code_done,
                           setup_code_refusal, signed_in, start_session)
from ..store import StoreError
from ..store import settings as store_settings
from .db import get_store

bp = Blueprint("auth", __name__)

_OPEN_ENDPOINTS = {"auth.login", "auth.setup", "auth.set_lang", "static"}


def _limits(config) -> dict[str, Limit]:
    """Per client address ``LOGIN_MAX_FAILURES`` free tries, for the one PIN from every address
    together ``LOGIN_MAX_FAILURES_ALL``; then ``LOGIN_LOCK_S``, doubling, at most
    ``LOGIN_LOCK_CAP_S`` (a guesser locking the PIN for everyone cannot lock it for days). The
    app's config takes them from the ``web.login_*`` settings."""
    lock_s, cap_s = config["LOGIN_LOCK_S"], config["LOGIN_LOCK_CAP_S"]
    return {"address": Limit(config["LOGIN_MAX_FAILURES"], lock_s, cap_s),
            "account": Limit(config["LOGIN_MAX_FAILURES_ALL"], lock_s, cap_s)}


#: The PIN's throttled check (the rules shared with head office: :mod:`edge_app.pages.login`).
PIN_LOGIN = SecretLogin("edge_login_throttle", _limits, account="pin", wrong_key="wrong_pin", forget_s=24 * 3600)
#: The first visit's setup code (``serve --setup-code``), its tries throttled with the same limits.
SETUP_CODE = SecretLogin("edge_setup_code_throttle", _limits, account="setup_code", wrong_key="wrong_setup_code",
                         forget_s=24 * 3600)


def who() -> str:
    """The person for the audit log: the name given at login, else "lead"."""
    return session.get("name") or "lead"


def _safe_next(target: str | None) -> str:
    return safe_next(target, url_for("photos.home"))


def _wants_json() -> bool:
    """The page's upload script (JSON answers), not a page navigation."""
    return request.path.startswith("/batches") or request.accept_mimetypes.best == "application/json"


def _to_login(message_key: str | None = None):
    nxt = request.full_path if request.method == "GET" else (request.referrer or "/")
    nxt = urlparse(nxt).path + (("?" + urlparse(nxt).query) if urlparse(nxt).query else "")
    if message_key:
        flash(translate(g.lang, message_key), "info")
    target = url_for("auth.login", next=_safe_next(nxt))
    if request.headers.get("HX-Request"):
        resp = make_response("", 200)
        resp.headers["HX-Redirect"] = target
        return resp
    if _wants_json() and request.method == "POST":
        return {"error": "login", "login": target}, 401
    return redirect(target)


@bp.before_app_request
def _guard():
    if request.endpoint in _OPEN_ENDPOINTS or request.endpoint is None:
        if request.method == "POST" and request.endpoint in ("auth.login", "auth.setup"):
            return _check_csrf(login_form=True)
        return None
    st = get_store()
    if not store_settings.has_pin(st):
        return redirect(url_for("auth.setup"))
    if not signed_in(store_settings.session_epoch(st)):
        session.pop("auth", None)  # ended by a logout or a new PIN elsewhere
        return _to_login("session_expired" if request.method == "POST" or session.get("was_in") else None)
    session.permanent = True
    if request.method == "POST":
        return _check_csrf()
    return None


def _check_csrf(login_form: bool = False):
    if csrf_ok():
        return None
    if login_form:  # a login page left open past its session: show it again
        flash(translate(g.lang, "page_outdated"), "info")
        return redirect(request.full_path)
    flash(translate(g.lang, "page_outdated"), "info")
    back = _safe_next(urlparse(request.referrer or "/").path)
    if request.headers.get("HX-Request"):
        resp = make_response("", 200)
        resp.headers["HX-Redirect"] = back
        return resp
    if _wants_json():
        return {"error": "csrf", "login": url_for("auth.login", next=back)}, 403
    return redirect(back)


@bp.app_context_processor
def _csrf_ctx():
    return {"csrf_token": csrf_token}


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    st = get_store()
    if store_settings.has_pin(st):
        setup_code_done()  # chosen here or by `edge-app set-pin`: the code opens nothing more
        return redirect(url_for("auth.login"))
    error, status, headers = None, 200, {}
    if request.method == "POST":
        pin, again = request.form.get("pin", ""), request.form.get("pin2", "")
        refused = setup_code_refusal(SETUP_CODE, g.lang)
        if refused:
            error, status, headers = refused
        elif pin != again:
            error, status = translate(g.lang, "pins_differ"), 400
        else:
            try:
                first = store_settings.set_first_pin(st, pin)
            except StoreError as e:
                error, status = store_error_text(g.lang, e), 400
            else:
                setup_code_done()
                if not first:  # someone chose it meanwhile: theirs stands, log in with it
                    return redirect(url_for("auth.login"))
                start_session(store_settings.session_epoch(st), was_in=True, name=_name())
                flash(translate(g.lang, "pin_set"), "ok")
                return redirect(url_for("photos.home"))
    return make_response(render_template("auth/setup.html", error=error, ask_code=setup_code_asked()), status, headers)


def _name() -> str | None:
    """The name given at login (for the audit log), if any."""
    return (request.form.get("name") or "").strip()[:40] or None


@bp.route("/login", methods=["GET", "POST"])
def login():
    st = get_store()
    if not store_settings.has_pin(st):
        return redirect(url_for("auth.setup"))
    error, status, headers = None, 200, {}
    if request.method == "POST":
        tried = PIN_LOGIN.attempt(lambda: store_settings.check_pin(st, request.form.get("pin", "")))
        if tried.ok:  # the lead got in: the crew's typos are forgotten
            start_session(store_settings.session_epoch(st), was_in=True, name=_name())
            return redirect(_safe_next(request.args.get("next")))
        error, status, headers = PIN_LOGIN.refusal(tried, g.lang)
    return make_response(render_template("auth/login.html", error=error), status, headers)


@bp.route("/logout", methods=["POST"])
def logout():
    store_settings.end_sessions(get_store())  # a copy of this cookie must not open the page either
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>")
def set_lang(code: str):
    return lang_switch(code, request.args.get("next") or urlparse(request.referrer or "/").path,
                       url_for("photos.home"))
