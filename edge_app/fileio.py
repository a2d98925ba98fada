"""Durable file writes: what is on disk after a power cut is the old file or the new one,
never half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def fsync_dir(path: str | Path) -> None:
    """Make a rename inside ``path`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(dest: str | Path, data: bytes, tmp_dir: str | Path | None = None, mode: int | None = None) -> Path:
    """Write ``data`` to ``dest``: a temporary file in ``tmp_dir`` (default: dest's folder,
    which must be on the same file system), fsynced, renamed over ``dest``, the folder
    fsynced. ``mode``: permissions of the new file (e.g. 0o444 for a file never modified)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=tmp_dir or dest.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(dest.parent)
    return dest
