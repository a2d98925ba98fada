"""The PIN, sessions and CSRF.

* No PIN yet: every page leads to ``/setup``, where the first visitor chooses it (or
  ``edge-app set-pin``). It is stored as a salted scrypt hash.
* Wrong PINs are rate-limited per client address: after ``LOGIN_MAX_FAILURES`` failures the
  address waits ``LOGIN_LOCK_S`` seconds, doubling with each further failure; and for the
  one PIN from every address together (``LOGIN_MAX_FAILURES_ALL``: a guesser with many
  addresses). A locked try is answered at once, 429 with ``Retry-After``: no request thread
  ever sleeps.
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

import secrets
import threading
import time
from urllib.parse import urlparse

from flask import (Blueprint, abort, current_app, flash, g, make_response, redirect, render_template, request,
                   session, url_for)

from ..pages.i18n import LANGS, translate
from ..store import StoreError
from ..store import settings as store_settings
from .db import get_store

bp = Blueprint("auth", __name__)

_OPEN_ENDPOINTS = {"auth.login", "auth.setup", "auth.set_lang", "static"}
#: The throttle's key for every address together (the site app has one PIN).
ACCOUNT = "*every address*"
#: The longest a lock lasts (a guesser locking the PIN for everyone cannot lock it for days).
LOCK_CAP_S = 900


class _Throttle:
    """Failed PIN attempts per client address (in memory: a restart does not help a guesser
    who cannot restart the server)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._fails: dict[str, tuple[int, float]] = {}

    def wait_s(self, who: str) -> int:
        with self._lock:
            _, until = self._fails.get(who, (0, 0.0))
        return max(0, int(until - time.monotonic() + 0.999))

    def failed(self, who: str, max_failures: int, lock_s: float) -> None:
        with self._lock:
            n, _ = self._fails.get(who, (0, 0.0))
            n += 1
            lock = min(LOCK_CAP_S, lock_s * 2 ** min(n - max_failures, 30))
            until = time.monotonic() + lock if n >= max_failures else 0.0
            self._fails[who] = (n, until)

    def ok(self, who: str) -> None:
        with self._lock:
            self._fails.pop(who, None)


def _throttle() -> _Throttle:
    return current_app.extensions.setdefault("edge_login_throttle", _Throttle())


def csrf_token() -> str:
    tok = session.get("csrf")
    if not tok:
        tok = session["csrf"] = secrets.token_urlsafe(24)
    return tok


def who() -> str:
    """The person for the audit log: the name given at login, else "lead"."""
    return session.get("name") or "lead"


def _safe_next(target: str | None) -> str:
    if not target:
        return url_for("photos.home")
    u = urlparse(target)
    if u.scheme or u.netloc or not target.startswith("/"):
        return url_for("photos.home")
    return target


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
    if not session.get("auth") or session.get("epoch") != store_settings.session_epoch(st):
        if session.get("auth"):  # ended by a logout or a new PIN elsewhere
            session.pop("auth", None)
        return _to_login("session_expired" if request.method == "POST" or session.get("was_in") else None)
    session.permanent = True
    if request.method == "POST":
        return _check_csrf()
    return None


def _check_csrf(login_form: bool = False):
    sent = request.form.get("csrf") or request.headers.get("X-CSRF-Token")
    good = session.get("csrf")
    if good and sent and secrets.compare_digest(sent, good):
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
        return redirect(url_for("auth.login"))
    error = None
    if request.method == "POST":
        pin, again = request.form.get("pin", ""), request.form.get("pin2", "")
        if pin != again:
            error = translate(g.lang, "pins_differ")
        else:
            try:
                first = store_settings.set_first_pin(st, pin)
            except StoreError as e:
                error = str(e) if g.lang == "en" else "PIN 번호는 숫자 4~12자리입니다"
            else:
                if not first:  # someone chose it meanwhile: theirs stands, log in with it
                    return redirect(url_for("auth.login"))
                session.clear()
                session.update(auth=True, was_in=True, epoch=store_settings.session_epoch(st),
                               name=(request.form.get("name") or "").strip()[:40] or None)
                session.permanent = True
                flash(translate(g.lang, "pin_set"), "ok")
                return redirect(url_for("photos.home"))
    return render_template("auth/setup.html", error=error), 400 if error else 200


@bp.route("/login", methods=["GET", "POST"])
def login():
    st = get_store()
    if not store_settings.has_pin(st):
        return redirect(url_for("auth.setup"))
    error = None
    client = request.remote_addr or "?"
    thr = _throttle()
    cfg = current_app.config
    status, wait = 200, 0
    if request.method == "POST":
        wait = max(thr.wait_s(client), thr.wait_s(ACCOUNT))
        if wait:
            error = translate(g.lang, "too_many_tries", s=wait)
            status = 429
        elif store_settings.check_pin(st, request.form.get("pin", "")):
            thr.ok(client)
            thr.ok(ACCOUNT)  # the lead got in: the crew's typos are forgotten
            name = (request.form.get("name") or "").strip()[:40] or None
            csrf = session.get("csrf")
            session.clear()
            session.update(auth=True, was_in=True, name=name, csrf=csrf or secrets.token_urlsafe(24),
                           epoch=store_settings.session_epoch(st))
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")))
        else:
            thr.failed(client, cfg["LOGIN_MAX_FAILURES"], cfg["LOGIN_LOCK_S"])
            thr.failed(ACCOUNT, cfg["LOGIN_MAX_FAILURES_ALL"], cfg["LOGIN_LOCK_S"])
            wait = max(thr.wait_s(client), thr.wait_s(ACCOUNT))
            error = translate(g.lang, "too_many_tries", s=wait) if wait else translate(g.lang, "wrong_pin")
            status = 429 if wait else 401
    resp = make_response(render_template("auth/login.html", error=error), status)
    if status == 429:
        resp.headers["Retry-After"] = str(wait)
    return resp


@bp.route("/logout", methods=["POST"])
def logout():
    store_settings.end_sessions(get_store())  # a copy of this cookie must not open the page either
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>")
def set_lang(code: str):
    if code not in LANGS:
        abort(404)
    resp = redirect(_safe_next(request.args.get("next") or urlparse(request.referrer or "/").path))
    resp.set_cookie("lang", code, max_age=3600 * 24 * 365, samesite="Lax", httponly=True)
    return resp
