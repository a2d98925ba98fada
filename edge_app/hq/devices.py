"""Devices that may sync into head office, and their secrets.

A device's secret is ``HMAC-SHA256(master key, "<name>:<generation>")``: the master key is
one file in head office's data folder (``master.key``, mode 0600), so the database alone
(a backup, a PostgreSQL server shared with other teams) never holds a usable secret.
Revoking a device marks it; adding it again gives a new generation and so a new secret.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from .db import Conn, now_iso

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


class DeviceError(ValueError):
    pass


def master_key(root: Path) -> bytes:
    """The master key (made on first use, readable by the owner only)."""
    path = Path(root) / "master.key"
    if not path.exists():
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
            f.flush()
            os.fsync(f.fileno())
    return path.read_bytes()


def secret_for(root: Path, name: str, generation: int) -> str:
    return hmac.new(master_key(root), f"{name}:{generation}".encode(), hashlib.sha256).hexdigest()


def add_device(c: Conn, root: Path, name: str) -> str:
    """Register (or re-admit) a device; returns its new secret."""
    if not NAME_RE.match(name or ""):
        raise DeviceError("a device name is 1-63 letters, digits, '.', '_' or '-'")
    with c.tx():
        row = c.one("SELECT generation, revoked_at FROM devices WHERE name = ?", (name,))
        if row is None:
            gen = 1
            c.execute("INSERT INTO devices (name, generation, created_at) VALUES (?, ?, ?)", (name, gen, now_iso()))
        else:
            gen = int(row["generation"]) + 1  # a new secret; the old one stops working
            c.execute("UPDATE devices SET generation = ?, revoked_at = NULL WHERE name = ?", (gen, name))
    return secret_for(root, name, gen)


def revoke_device(c: Conn, name: str) -> bool:
    with c.tx():
        return c.execute("UPDATE devices SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                         (now_iso(), name)).rowcount > 0


def active_secret(c: Conn, root: Path, name: str) -> str | None:
    """The secret of an active device, None for an unknown or revoked one."""
    row = c.one("SELECT generation, revoked_at FROM devices WHERE name = ?", (name,))
    if row is None or row["revoked_at"] is not None:
        return None
    return secret_for(root, name, int(row["generation"]))


def note_contact(c: Conn, name: str, address: str | None) -> None:
    """A signed request of ``name`` came from ``address`` now (inside the caller's
    transaction): the devices list's last contact."""
    c.execute("UPDATE devices SET last_seen_at = ?, last_address = ? WHERE name = ?", (now_iso(), address, name))


def list_devices(c: Conn) -> list[dict]:
    return c.query("SELECT name, generation, created_at, revoked_at, last_seen_at, last_address FROM devices "
                   "ORDER BY name")
