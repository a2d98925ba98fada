"""Durable file writes: what is on disk after a power cut is the old file or the new one,
never half of one."""

from __future__ import annotations

import os
import stat
import tempfile
import time
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


def user_cache_dir(name: str) -> Path:
    """The folder ``name`` of the app's per-user cache: ``$XDG_CACHE_HOME/edge_app/<name>``
    (``~/.cache/edge_app/<name>``); not created here."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edge_app" / name


def sharded_path(root: str | Path, key: str, suffix: str = ".npz") -> Path:
    """Where a cache keeps the file of ``key`` (a hex hash): ``root/<key[:2]>/<key><suffix>``,
    so that no folder holds more than a 256th of the files."""
    return Path(root) / key[:2] / f"{key}{suffix}"


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


#: A temporary file of :func:`write_atomic` untouched for this long is left over from a
#: write that was killed (a power cut, kill -9): a live write renames its file within
#: seconds (even a 256 MB original), and every write moves the file's mtime on.
STALE_TMP_S = 3600.0


def remove_stale_temp(folder: str | Path, pattern: str = ".tmp-*", older_than_s: float = STALE_TMP_S,
                      recursive: bool = False) -> int:
    """Remove the files matching ``pattern`` in ``folder`` (and below it when ``recursive``)
    not modified for ``older_than_s`` seconds: half-written temporary files of killed
    writes. Younger ones may belong to a write in progress in another process and are kept.
    Never raises (a read-only or vanished folder removes nothing). Returns how many."""
    folder = Path(folder)
    now = time.time()
    n = 0
    try:
        found = list(folder.rglob(pattern) if recursive else folder.glob(pattern))
    except OSError:
        return 0
    for p in found:
        try:
            st = p.lstat()
            if stat.S_ISREG(st.st_mode) and now - st.st_mtime >= older_than_s:
                p.unlink()
                n += 1
        except OSError:
            continue
    return n
