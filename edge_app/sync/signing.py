"""Request signing between a device and head office (HMAC-SHA256), both ends.

Each device has its own secret. A request carries::

    X-Edge-Device     the device's name
    X-Edge-Timestamp  Unix seconds when it was signed
    X-Edge-Nonce      32 random hex characters, never reused
    X-Edge-Content-SHA256  hex sha256 of the body (of b"" when there is none)
    X-Edge-Signature  hex HMAC-SHA256(secret, canonical string)

    canonical = METHOD \\n PATH?QUERY \\n CONTENT-SHA256 \\n TIMESTAMP \\n NONCE \\n DEVICE

Head office recomputes the body hash from the bytes it received, refuses a timestamp more
than ``MAX_SKEW_S`` away from its clock, and refuses a nonce it has seen within that
window (a replay). TLS protects the content in transit; the signature proves who sent it
and that nothing was changed, even behind a TLS-terminating proxy. The secret itself never
travels and is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

MAX_SKEW_S = 300
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

H_DEVICE = "X-Edge-Device"
H_TIME = "X-Edge-Timestamp"
H_NONCE = "X-Edge-Nonce"
H_BODY = "X-Edge-Content-SHA256"
H_SIG = "X-Edge-Signature"


def canonical(method: str, path: str, body_sha256: str, timestamp: str, nonce: str, device: str) -> bytes:
    return "\n".join((method.upper(), path, body_sha256, timestamp, nonce, device)).encode("utf-8")


def sign(secret: str, method: str, path: str, body_sha256: str, device: str, timestamp: int | None = None,
         nonce: str | None = None) -> dict[str, str]:
    """The headers that sign one request."""
    ts = str(int(time.time() if timestamp is None else timestamp))
    nonce = nonce or secrets.token_hex(16)
    mac = hmac.new(secret.encode("utf-8"), canonical(method, path, body_sha256, ts, nonce, device), hashlib.sha256)
    return {H_DEVICE: device, H_TIME: ts, H_NONCE: nonce, H_BODY: body_sha256, H_SIG: mac.hexdigest()}


def verify(secret: str, method: str, path: str, headers, body_sha256: str, now: float | None = None) -> str | None:
    """None when the signature is good and fresh, else a short reason (for the log and the
    401 answer; never the expected value)."""
    try:
        ts, nonce, device = headers[H_TIME], headers[H_NONCE], headers[H_DEVICE]
        sig, claimed = headers[H_SIG], headers[H_BODY]
    except KeyError:
        return "unsigned request"
    if claimed != body_sha256:
        return "body does not match its hash"
    try:
        t = int(ts)
    except ValueError:
        return "bad timestamp"
    if abs((time.time() if now is None else now) - t) > MAX_SKEW_S:
        return "stale or future timestamp"
    if not (16 <= len(nonce) <= 64) or any(c not in "0123456789abcdef" for c in nonce):
        return "bad nonce"
    want = hmac.new(secret.encode("utf-8"), canonical(method, path, body_sha256, ts, nonce, device), hashlib.sha256)
    if not hmac.compare_digest(want.hexdigest(), sig):
        return "bad signature"
    return None
