"""The receiving end of the sync protocol (``docs/sync.md``): blobs and spot manifests.

    HEAD /blobs/<sha256>      200 head office has the photo, 404 it does not
    PUT  /blobs/<sha256>      the photo's bytes; re-hashed, refused (422) on a mismatch
    POST /manifests           a spot version, with an Idempotency-Key header

Every request is signed by its device (:mod:`edge_app.sync.signing`): unknown or revoked
devices, bad signatures, stale timestamps and replayed nonces get 401.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import math
import os
import random
import re
import tempfile
import time
from pathlib import Path

from flask import Blueprint, current_app, g, jsonify, request

from .. import app_settings
from ..fileio import fsync_dir, sharded_path
from ..sync.signing import H_BODY, H_DEVICE, H_NONCE, H_TIME, MAX_SKEW_S, verify
from . import received
from .db import Conn, now_iso
from .devices import NAME_RE, active_secret, note_contact

log = logging.getLogger("edge_app.hq")

bp = Blueprint("api", __name__)

SHA_RE = re.compile(r"^[0-9a-f]{64}$")
KEY_RE = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")
#: The defaults of the largest photo and manifest accepted (bytes); the routes read the
#: settings ``hq.max_blob_bytes`` and ``hq.max_manifest_bytes``.
MAX_BLOB_BYTES = app_settings.knob("hq.max_blob_bytes").default
MAX_MANIFEST_BYTES = app_settings.knob("hq.max_manifest_bytes").default


def _err(status: int, message: str, **extra):
    resp = jsonify({"error": message, **extra})
    resp.status_code = status
    resp.headers["X-Edge-Error"] = message  # a HEAD answer has no body
    return resp


def conn() -> Conn:
    if "hq_conn" not in g:
        g.hq_conn = current_app.config["HQ_DB"].connect()
    return g.hq_conn


def blob_path(sha: str) -> Path:
    return sharded_path(Path(current_app.config["HQ_DATA"]) / "blobs", sha, "")


def _signed_path() -> str:
    qs = request.query_string.decode("latin-1")
    return request.script_root + request.path + (f"?{qs}" if qs else "")


def _authenticate(body_sha256: str | None = None):
    """The device name when the request line and headers are signed by an active device,
    else a 401 response. ``body_sha256`` None: the signed ``X-Edge-Content-SHA256`` is taken
    as the body's hash, which the caller then checks while reading the body
    (:func:`_read_signed_body`): nothing of an unauthenticated body is read."""
    device = request.headers.get(H_DEVICE, "")
    c = conn()
    secret = active_secret(c, Path(current_app.config["HQ_DATA"]), device) if NAME_RE.match(device) else None
    if secret is None:
        log.warning("refused %s %s: unknown or revoked device %r", request.method, request.path, device[:64])
        return None, _err(401, "unknown or revoked device")
    claimed = request.headers.get(H_BODY, "") if body_sha256 is None else body_sha256
    why = verify(secret, request.method, _signed_path(), request.headers, claimed)
    if why:
        log.warning("refused %s %s from %s: %s", request.method, request.path, device, why)
        return None, _err(401, why)
    with c.tx():
        if random.random() < 0.02:  # forget nonces older than any acceptable timestamp
            c.execute("DELETE FROM nonces WHERE ts < ?", (int(time.time()) - 2 * MAX_SKEW_S,))
        fresh = c.execute("INSERT INTO nonces (device, nonce, ts) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                          (device, request.headers[H_NONCE], int(request.headers[H_TIME]))).rowcount
        if not fresh:
            log.warning("refused %s %s from %s: replayed request", request.method, request.path, device)
            return None, _err(401, "replayed request")
        note_contact(c, device, request.remote_addr)
    return device, None


def _read_signed_body(limit: int):
    """The body of an authenticated request, read up to ``limit`` bytes (by its declared or
    its streamed length), else an error response: 413 beyond the limit, 401 when the bytes
    do not match the signed hash."""
    stream, h, parts, got = request.stream, hashlib.sha256(), [], 0
    while True:
        chunk = stream.read(min(1 << 16, limit + 1 - got))
        if not chunk:
            break
        got += len(chunk)
        if got > limit:
            return None, _err(413, "manifest too large")
        h.update(chunk)
        parts.append(chunk)
    if h.hexdigest() != request.headers.get(H_BODY):
        log.warning("refused %s %s: body does not match its hash", request.method, request.path)
        return None, _err(401, "body does not match its hash")
    return b"".join(parts), None


@bp.teardown_app_request
def _close(exc=None):
    c = g.pop("hq_conn", None)
    if c is not None:
        c.close()


@bp.route("/blobs/<sha>", methods=["HEAD"])
def blob_head(sha: str):
    if not SHA_RE.match(sha):
        return _err(400, "not a sha256")
    device, fail = _authenticate(hashlib.sha256(b"").hexdigest())
    if fail:
        return fail
    have = conn().scalar("SELECT bytes FROM blobs WHERE sha256 = ?", (sha,))
    if have is None or not blob_path(sha).is_file():
        return "", 404
    return "", 200, {"X-Blob-Bytes": str(have)}


@bp.route("/blobs/<sha>", methods=["PUT"])
def blob_put(sha: str):
    if not SHA_RE.match(sha):
        return _err(400, "not a sha256")
    length = request.content_length
    if length is None:
        return _err(411, "Content-Length required")
    if length > app_settings.value("hq.max_blob_bytes"):
        return _err(413, "photo too large")
    # the signature covers the claimed hash; the bytes are checked against it below
    device, fail = _authenticate()
    if fail:
        return fail
    if request.headers.get("X-Edge-Content-SHA256") != sha:
        return _err(422, "the signed hash is not the blob's name")
    root = Path(current_app.config["HQ_DATA"])
    dest = blob_path(sha)
    tmpdir = root / "tmp"
    tmpdir.mkdir(exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=tmpdir, prefix="blob-")
    h = hashlib.sha256()
    got = 0
    try:
        with os.fdopen(fd, "wb") as f:
            stream = request.stream
            while got < length:
                chunk = stream.read(min(1 << 20, length - got))
                if not chunk:
                    break
                h.update(chunk)
                f.write(chunk)
                got += len(chunk)
            f.flush()
            os.fsync(f.fileno())
        if got != length:
            return _err(400, "body shorter than Content-Length")
        if h.hexdigest() != sha:
            log.warning("refused blob %s from %s: content hash mismatch", sha[:12], device)
            return _err(422, "content does not match its sha256")
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(tmp, 0o444)
        os.replace(tmp, dest)
        tmp = None
        fsync_dir(dest.parent)
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    c = conn()
    with c.tx():
        c.execute("INSERT INTO blobs (sha256, bytes, device, received_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                  (sha, got, device, now_iso()))
    log.info("blob %s (%d bytes) from %s", sha[:12], got, device)
    return jsonify({"sha256": sha, "bytes": got}), 201


def clean_temp(root: Path) -> list[str]:
    """Remove the half-written files of writes killed mid-way (``tmp/blob-*``, ``tmp/ledger-*``)
    in head office's data folder; the names removed. Run at start. A second process serving
    the same folder keeps its temp files: every process holds a shared lock on
    ``tmp/.in-use`` for its lifetime, and only one that can take it exclusively (so is
    alone) removes files younger than a day."""
    tmpdir = Path(root) / "tmp"
    tmpdir.mkdir(parents=True, exist_ok=True)
    fd = os.open(tmpdir / ".in-use", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        alone = True
    except OSError:
        alone = False
    fcntl.flock(fd, fcntl.LOCK_SH)  # held (fd left open) until the process ends
    _IN_USE.append(fd)
    cutoff = time.time() - (0 if alone else 86400)
    removed = []
    for p in [*tmpdir.glob("blob-*"), *tmpdir.glob("ledger-*")]:
        try:
            if p.stat().st_mtime <= cutoff:
                p.unlink()
                removed.append(p.name)
        except OSError:
            pass
    if removed:
        log.info("removed %d half-written temp file(s) in %s", len(removed), tmpdir)
    return removed


_IN_USE: list[int] = []


#: Integers the database stores as BIGINT (ids) and INTEGER (versions): SQLite and PostgreSQL alike.
INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1
#: The fields head office copies into its own columns, with the type each must have
#: (None always allowed): a wrong type is 422 before the database, on SQLite as on PostgreSQL.
SPOT_FIELDS = {"name": str, "confirmed_at": str, "cover": str, "lat": float, "lon": float}
SITE_FIELDS = {"id": int, "name": str}
PHOTO_FIELDS = {"taken_local": str, "phase": str, "taken_from": str}


def _is_int(v, top: int = INT64_MAX) -> bool:
    """An integer (not a bool) the database can hold."""
    return isinstance(v, int) and not isinstance(v, bool) and -top - 1 <= v <= top


def _is_text(v) -> bool:
    """A string PostgreSQL's TEXT and SQLite's UTF-8 both take (no NUL, no lone surrogate)."""
    if not isinstance(v, str) or "\x00" in v:
        return False
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _fits(v, kind) -> bool:
    if v is None:
        return True
    if kind is int:
        return _is_int(v)
    if kind is float:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    return _is_text(v)


def _bad_field(obj: dict, fields: dict, where: str) -> str | None:
    for key, kind in fields.items():
        if not _fits(obj.get(key), kind):
            return f"{where}.{key} must be {'a number' if kind is float else kind.__name__} or null"
    return None


def _validate(m) -> str | None:
    """Why a manifest cannot be recorded (422), or None."""
    if not isinstance(m, dict) or not isinstance(m.get("spot"), dict) or not isinstance(m.get("photos"), list):
        return "manifest needs spot and photos"
    if not isinstance(m.get("site") or {}, dict):
        return "site must be an object"
    spot = m["spot"]
    if not _is_int(spot.get("id")) or not _is_int(spot.get("version"), INT32_MAX):
        return "spot needs an integer id and version"
    if not m["photos"]:
        return "a spot without photos"
    why = _bad_field(spot, SPOT_FIELDS, "spot") or _bad_field(m.get("site") or {}, SITE_FIELDS, "site")
    if why:
        return why
    for p in m["photos"]:
        if not isinstance(p, dict) or not SHA_RE.match(str(p.get("sha256", ""))) or not _is_text(p.get("name")):
            return "every photo needs a sha256 and a name"
        why = _bad_field(p, PHOTO_FIELDS, "photos[]")
        if why:
            return why
    return None


@bp.route("/manifests", methods=["POST"])
def manifest_post():
    key = request.headers.get("Idempotency-Key", "")
    if not KEY_RE.match(key):
        return _err(400, "Idempotency-Key header required (8-128 of A-Z a-z 0-9 _ . : -)")
    limit = app_settings.value("hq.max_manifest_bytes")
    if (request.content_length or 0) > limit:
        return _err(413, "manifest too large")
    device, fail = _authenticate()  # the request line and headers; not one byte of the body yet
    if fail:
        return fail
    body, fail = _read_signed_body(limit)
    if fail:
        return fail
    body_sha = hashlib.sha256(body).hexdigest()
    c = conn()
    now = time.time()
    with c.tx():
        row = c.one("SELECT device, body_sha256, state, started_at, status, response FROM idempotency WHERE key = ?",
                    (key,))
        if row is None:
            c.execute("INSERT INTO idempotency (key, device, body_sha256, state, started_at) VALUES (?, ?, ?, ?, ?)",
                      (key, device, body_sha, "in_flight", now))
        elif row["device"] != device or row["body_sha256"] != body_sha:
            return _err(422, "this Idempotency-Key was used with a different request")
        elif row["state"] == "done":
            return current_app.response_class(row["response"], status=200, mimetype="application/json")
        elif now - float(row["started_at"]) < app_settings.value("hq.in_flight_lease_s"):
            return _err(409, "the first request with this key is still in flight")
        else:  # a first attempt that died mid-way (crash): take it over
            c.execute("UPDATE idempotency SET started_at = ? WHERE key = ?", (now, key))
    try:
        status, payload = _store_manifest(c, device, key, body)
    except Exception:
        with c.tx():
            c.execute("DELETE FROM idempotency WHERE key = ? AND state = 'in_flight'", (key,))
        raise
    return current_app.response_class(json.dumps(payload), status=status, mimetype="application/json")


def _store_manifest(c: Conn, device: str, key: str, body: bytes) -> tuple[int, dict]:
    """Validate and record one spot version; the idempotency row becomes 'done' in the
    same transaction. A retryable refusal (missing photos) releases the key."""
    try:
        m = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # not UTF-8, not JSON, nested beyond reason
        m = None
    why = _validate(m)
    if why:
        with c.tx():
            c.execute("DELETE FROM idempotency WHERE key = ?", (key,))
        return 422, {"error": why}
    shas = list(dict.fromkeys(p["sha256"] for p in m["photos"]))
    have = set()
    for k in range(0, len(shas), 500):
        part = shas[k:k + 500]
        have |= {r["sha256"] for r in c.query(
            f"SELECT sha256 FROM blobs WHERE sha256 IN ({','.join('?' * len(part))})", part)}
    missing = [s for s in shas if s not in have or not blob_path(s).is_file()]
    if missing:
        with c.tx():
            c.execute("DELETE FROM idempotency WHERE key = ?", (key,))
        return 409, {"error": "photos missing at head office", "missing": missing}
    spot = m["spot"]
    content = hashlib.sha256(json.dumps({k: v for k, v in m.items() if k != "spot"} | {
        "spot": {k: v for k, v in spot.items() if k != "version"}}, sort_keys=True).encode()).hexdigest()
    with c.tx():
        existing = received.find_version(c, device, spot["id"], spot["version"])
        if existing is not None:  # the same version under another key (a device that re-sent it)
            if existing["content_sha256"] != content:
                c.execute("DELETE FROM idempotency WHERE key = ?", (key,))
                return 422, {"error": "this spot version exists with other content"}
            vid = existing["id"]
        else:
            vid = received.record_version(c, device, m, body.decode("utf-8"), content, key)
        payload = {"id": vid, "device": device, "spot": spot["id"], "version": spot["version"], "photos": len(shas)}
        c.execute("UPDATE idempotency SET state = 'done', finished_at = ?, status = ?, response = ? WHERE key = ?",
                  (now_iso(), 201, json.dumps(payload), key))
    log.info("spot %s v%s (%d photos) from %s", spot["id"], spot["version"], len(shas), device)
    return 201, payload
