"""Head office's settings table (``hq_settings``): the key that signs the pages' session
cookies, the clerks' password (a salted scrypt hash, as the device's PIN) and its session
epoch. A new password or a logout moves the epoch on, and every session made before ends
(:func:`edge_app.pages.login.signed_in`).
"""

from __future__ import annotations

import json
import secrets

from ..store.settings import hash_pin, verify_pin_hash
from .db import Conn, HQDatabase

PASSWORD_MIN = 8
_PASSWORD = "auth.password"
_EPOCH = "auth.epoch"
_COOKIE_KEY = "web.secret_key"  # the name it was stored under from the start


def get(c: Conn, key: str):
    """A setting's value (None when unset)."""
    v = c.scalar("SELECT value FROM hq_settings WHERE key = ?", (key,))
    return None if v is None else json.loads(v)


def put(c: Conn, values: dict) -> None:
    """Several settings in one transaction (the password hash and its session epoch)."""
    with c.tx():
        for key, value in values.items():
            c.execute("INSERT INTO hq_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = "
                      "excluded.value", (key, json.dumps(value)))


def secret_key(db: HQDatabase) -> str:
    """The key of the pages' session cookies (made on first use, the same for every process)."""
    c = db.connect()
    try:
        with c.tx():
            c.execute("INSERT INTO hq_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                      (_COOKIE_KEY, json.dumps(secrets.token_hex(32))))
        return get(c, _COOKIE_KEY)
    finally:
        c.close()


def _check_length(password: str) -> None:
    if len(password or "") < PASSWORD_MIN:
        raise ValueError(f"the password needs at least {PASSWORD_MIN} characters")


def set_password(db: HQDatabase, password: str) -> None:
    """A new password (``edge-app hq set-password``); every session made before it ends
    (a new session epoch)."""
    _check_length(password)
    c = db.connect()
    try:
        put(c, {_PASSWORD: hash_pin(password), _EPOCH: secrets.token_hex(16)})
    finally:
        c.close()


def set_first_password(c: Conn, password: str) -> bool:
    """The password chosen on the first visit: False (nothing changed) when one is set
    already, another first visitor's included (theirs stands)."""
    _check_length(password)
    with c.tx():
        cur = c.execute("INSERT INTO hq_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                        (_PASSWORD, json.dumps(hash_pin(password))))
        if cur.rowcount != 1:
            return False
        c.execute("INSERT INTO hq_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = "
                  "excluded.value", (_EPOCH, json.dumps(secrets.token_hex(16))))
    return True


def has_password(c: Conn) -> bool:
    return get(c, _PASSWORD) is not None


def check_password(c: Conn, password: str) -> bool:
    """``password`` is the clerks' password (False when none is set)."""
    stored = get(c, _PASSWORD)
    return stored is not None and verify_pin_hash(password, stored)


def session_epoch(c: Conn) -> str:
    """The current session epoch: a session made under another one opens nothing."""
    return get(c, _EPOCH) or "-"


def end_all_sessions(c: Conn) -> None:
    """Logout: a new epoch, so every session cookie made before now (a copy kept by whoever
    saw it, another browser) stops working."""
    put(c, {_EPOCH: secrets.token_hex(16)})
