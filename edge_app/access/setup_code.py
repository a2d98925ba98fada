"""A one-time setup code (issue 19): with ``edge-app serve --setup-code`` (and ``edge-app
hq serve --setup-code``) the first visit may choose the PIN (the password) only with the
code the server printed on its console at start, so someone on the site Wi-Fi who reaches a
fresh install before the crew lead cannot choose it.

    code, text = SetupCode.new()     # text: "1234 5678", printed once on the console
    code.matches("12345678")         # True (spaces and dashes do not count)
    code.expire()                    # the PIN is set: the code opens nothing any more

Eight digits, from :mod:`secrets` (easy to type on a tablet's number pad: two groups of
four). Only a keyed hash of it is kept, in memory (a restart prints a new one); it is used
once: it expires when the PIN is set. Guesses are bounded by the pages' throttle
(:class:`edge_app.pages.login.SecretLogin` over :class:`.throttle.Throttle`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

DIGITS = 8


def _digits(typed: str) -> str:
    """What was typed, without the spaces and dashes a person puts between the groups."""
    return "".join(ch for ch in str(typed) if ch not in " -\t")


class SetupCode:
    """One server's setup code: its keyed hash until it expires."""

    def __init__(self, text: str):
        self._key = secrets.token_bytes(32)
        self._hash: bytes | None = self._mac(_digits(text))

    @classmethod
    def new(cls) -> tuple["SetupCode", str]:
        """A fresh code and its text to print, ``"1234 5678"`` (the only copy of the digits)."""
        digits = "".join(secrets.choice("0123456789") for _ in range(DIGITS))
        return cls(digits), f"{digits[:4]} {digits[4:]}"

    def _mac(self, digits: str) -> bytes:
        return hmac.new(self._key, digits.encode(), hashlib.sha256).digest()

    @property
    def active(self) -> bool:
        """The code is still needed (no PIN was set with it or otherwise)."""
        return self._hash is not None

    def matches(self, typed: str) -> bool:
        """``typed`` is the code (compared in constant time); False once it expired."""
        good = self._hash
        return good is not None and hmac.compare_digest(self._mac(_digits(typed)[:64]), good)

    def expire(self) -> None:
        """The PIN (password) is set: the code opens nothing from now on."""
        self._hash = None
