"""The watched-folder door (``edge-app serve --watch DIR``): an SD card or a phone's sync folder.

The folder is scanned every few seconds (polling works on every file system, USB cards and
network shares included). A file is taken once its size and modification time have stayed
the same for one scan and it is older than the setting ``site.watch_settle_s`` (2 s; a copy
in progress is left for later); the scans are ``site.watch_interval_s`` (5 s) apart. Files
already taken are remembered by path, size and mtime (``watch_seen``), so a rescan costs a
``stat`` per file, and the same photo under another name is one photo by its content hash.
The files of one scan form one batch.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from . import app_settings
from .store import Store, open_store
from .store import photos as store_photos

log = logging.getLogger(__name__)


def scan_once(st: Store, folder: str | Path, who: str = "watch", pending: dict | None = None,
              settle_s: float | None = None) -> list:
    """Take the settled, unseen photo files under ``folder``; returns their arrivals.

    pending: {path: (size, mtime_ns)} seen on the previous scan but not settled yet (the
    caller keeps it between scans); settle_s: how old an unchanged file must be (default:
    the setting ``site.watch_settle_s``)."""
    pending = {} if pending is None else pending
    settle_s = app_settings.value("site.watch_settle_s") if settle_s is None else settle_s
    folder = Path(folder)
    now = time.time()
    ready = []
    reasons = []
    for path, why in store_photos.iter_photo_files([folder]):
        try:
            stt = path.stat()
        except OSError:
            continue
        key = str(path)
        sig = (stt.st_size, stt.st_mtime_ns)
        if store_photos.watch_seen(st, key) == sig:
            continue
        if pending.get(key) != sig or now - stt.st_mtime < settle_s:
            pending[key] = sig
            continue
        pending.pop(key, None)
        (reasons if why else ready).append((path, sig, why))
    if not ready and not reasons:
        return []
    batch = store_photos.start_batch(st, "watch", who)
    out = []
    for path, sig, why in reasons + ready:
        if why:
            a = store_photos.refuse(st, path.name, why, source="watch", who=who, batch_id=batch)
        else:
            a = store_photos.add_path(st, path, source="watch", who=who, batch_id=batch)
        store_photos.note_watch_seen(st, str(path), sig[0], sig[1], a.sha256)
        out.append(a)
    store_photos.finish_batch(st, batch)
    return out


class Watcher:
    """Scans ``folder`` every ``interval_s`` seconds (default: the setting
    ``site.watch_interval_s``) in a thread; ``on_new`` is called after a scan that took files
    (e.g. ``worker.wake``)."""

    def __init__(self, data_dir: str | Path, folder: str | Path, on_new=None, interval_s: float | None = None):
        self.data_dir, self.folder, self.on_new = Path(data_dir), Path(folder), on_new
        self.interval_s = app_settings.value("site.watch_interval_s") if interval_s is None else interval_s
        self._stop = threading.Event()
        self._pending: dict = {}

    def run(self) -> None:
        st = open_store(self.data_dir)
        while not self._stop.is_set():
            try:
                if self.folder.is_dir() and os.access(self.folder, os.R_OK):
                    if scan_once(st, self.folder, pending=self._pending) and self.on_new:
                        self.on_new()
            except Exception:  # noqa: BLE001 - a card pulled out mid-scan must not stop the app
                log.exception("scanning %s failed", self.folder)
            self._stop.wait(self.interval_s)
        st.close()

    def start(self) -> threading.Thread:
        t = threading.Thread(target=self.run, name="edge-app-watch", daemon=True)
        t.start()
        return t

    def stop(self) -> None:
        self._stop.set()
