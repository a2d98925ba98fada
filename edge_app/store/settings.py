"""Settings kept in the store (JSON values), and the PIN that guards the page.

The PIN is stored as a salted scrypt hash (``scrypt$n$r$p$salt$hash``), never as text.
Beside it a session epoch: a session cookie carries the epoch it was made in, and a logout
or a new PIN moves the epoch on, so every older cookie (one copied before, too) stops
opening the page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets

from . import Store, StoreError

_SCRYPT = (2**14, 8, 1)  # about 50 ms per check on a 2-core laptop: slow for a guesser

PIN_MIN, PIN_MAX = 4, 12


def get(st: Store, key: str, default=None):
    row = st.one("SELECT value FROM settings WHERE key = ?", (key,))
    return default if row is None else json.loads(row[0])


def put(st: Store, key: str, value) -> None:
    with st.write():
        st.conn.execute("INSERT INTO settings (key, value) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, json.dumps(value)))


def secret_key(st: Store) -> str:
    """The key that signs session cookies: made once per data folder."""
    key = get(st, "web.secret_key")
    if key is None:
        with st.write():
            key = get(st, "web.secret_key")
            if key is None:
                key = secrets.token_hex(32)
                put(st, "web.secret_key", key)
    return key


def check_pin_format(pin: str) -> str:
    pin = (pin or "").strip()
    if not (pin.isdigit() and PIN_MIN <= len(pin) <= PIN_MAX):
        raise StoreError(f"the PIN must be {PIN_MIN} to {PIN_MAX} digits", "pin_digits", low=PIN_MIN, high=PIN_MAX)
    return pin


def hash_pin(pin: str, salt: bytes | None = None) -> str:
    n, r, p = _SCRYPT
    salt = salt or secrets.token_bytes(16)
    h = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${n}${r}${p}${b64(salt)}${b64(h)}"


def verify_pin_hash(pin: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, h = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt((pin or "").encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=32)
        return hmac.compare_digest(got, base64.b64decode(h))
    except (ValueError, TypeError):
        return False


def set_pin(st: Store, pin: str) -> None:
    """Set (or change) the PIN; every session made before ends."""
    pin_hash = hash_pin(check_pin_format(pin))
    with st.write():
        put(st, "auth.pin", pin_hash)
        end_sessions(st)


def set_first_pin(st: Store, pin: str) -> bool:
    """Set the PIN only if there is none yet (the first visit's setup page): False when
    someone else chose one meanwhile (two tabs, or a second visitor), which is kept."""
    pin_hash = hash_pin(check_pin_format(pin))
    with st.write():
        if has_pin(st):
            return False
        put(st, "auth.pin", pin_hash)
        end_sessions(st)
    return True


def session_epoch(st: Store) -> int:
    """The epoch a session must carry to be valid (see the module's docstring)."""
    return int(get(st, "auth.epoch", 0))


def end_sessions(st: Store) -> int:
    """Move the session epoch on: every session made before ends. Returns the new epoch."""
    with st.write():
        epoch = session_epoch(st) + 1
        put(st, "auth.epoch", epoch)
    return epoch


def has_pin(st: Store) -> bool:
    return get(st, "auth.pin") is not None


def check_pin(st: Store, pin: str) -> bool:
    stored = get(st, "auth.pin")
    return stored is not None and verify_pin_hash(pin, stored)
