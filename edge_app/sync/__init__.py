"""Confirmed spots to head office: the outbox's sender.

    conf = SyncConfig.from_sources(store, hq_url=..., device=..., secret=...)
    report = run_once(store, conf)          # what `edge-app sync --once` and "sync now" do
    run_forever(data_dir, conf_getter, stop_event, wake_event)   # inside `edge-app serve`

For each due entry of the outbox, oldest first: every photo of its manifest head office
lacks is uploaded (``HEAD /blobs/<sha256>``, then ``PUT``), then the manifest is posted with
its ``Idempotency-Key``. A broken transfer costs at most the photo in flight; a manifest
re-sent after a lost answer is acknowledged once. The protocol is in ``docs/sync.md``.

Failures: when head office cannot be reached, the entry waits (back-off up to
``sync.offline_max_s``) and no attempt is counted, so a device offline for a week is
"waiting", not "failed". When head office answers with an error, the attempt counts; the
wait doubles from ``sync.backoff_base_s`` (with jitter, at most ``sync.backoff_max_s``) and
after ``sync.max_attempts`` the entry needs attention. These knobs are settings of
:mod:`edge_app.app_settings` (docs/settings.md).
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .. import app_settings
from ..store import Store, now_iso, open_store
from ..store import outbox
from ..store import photos as store_photos
from ..store import settings as store_settings
from .transport import HQClient, Offline, Refused

log = logging.getLogger(__name__)

#: The default of ``sync.max_attempts`` (the sender reads the setting; tests count up to this).
MAX_ATTEMPTS = app_settings.knob("sync.max_attempts").default


@dataclass
class SyncConfig:
    """Where and as whom to sync. Empty ``hq_url``: the device works offline and keeps its
    outbox. Sources, later ones winning: the store's settings (the page), an environment
    file / environment (``EDGE_APP_HQ_URL``, ``EDGE_APP_DEVICE``, ``EDGE_APP_SECRET``),
    command-line options."""

    hq_url: str = ""
    device: str = ""
    secret: str = ""
    timeout_s: float = field(default_factory=lambda: app_settings.value("sync.timeout_s"))

    @property
    def enabled(self) -> bool:
        return bool(self.hq_url and self.device and self.secret)

    def __repr__(self) -> str:  # never the secret
        return f"SyncConfig(hq_url={self.hq_url!r}, device={self.device!r}, secret={'***' if self.secret else ''})"

    @classmethod
    def from_sources(cls, st: Store | None = None, env: dict | None = None, **options) -> "SyncConfig":
        env = os.environ if env is None else env
        vals = {"hq_url": "", "device": "", "secret": ""}
        if st is not None:
            saved = store_settings.get(st, "sync", {}) or {}
            vals.update({k: saved.get(k) or "" for k in vals})
        for k in vals:  # the settings sync.hq_url, sync.device, sync.secret
            vals[k] = app_settings.value(f"sync.{k}", env) or vals[k]
        vals.update({k: v for k, v in options.items() if v})
        return cls(**vals)


def read_env_file(path: str | Path) -> dict[str, str]:
    """KEY=VALUE lines (systemd EnvironmentFile style; # comments, optional quotes)."""
    out = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        k, v = line.split("=", 1)
        v = v.strip()
        if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
            v = v[1:-1]
        out[k.strip()] = v
    return out


def backoff_s(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after ``attempts`` counted failures: exponential, capped, +-50 % jitter."""
    r = (rng or random).uniform(0.5, 1.5)
    base_s, max_s = app_settings.value("sync.backoff_base_s"), app_settings.value("sync.backoff_max_s")
    return min(max_s, base_s * 2 ** max(0, attempts - 1)) * r


def _note_failure(st: Store, entry_id: int, error: str, counted: bool) -> None:
    """One failed send of the entry, in one transaction: counted (head office answered with
    an error) it may be the last try; offline, it only waits."""
    with st.write():
        attempts = outbox.attempts(st, entry_id) + (1 if counted else 0)
        if counted and attempts >= app_settings.value("sync.max_attempts"):
            outbox.needs_attention(st, entry_id, attempts, error)
            return
        wait = backoff_s(attempts) if counted else min(app_settings.value("sync.offline_max_s"),
                                                       backoff_s(max(1, attempts + 1)))
        outbox.retry_later(st, entry_id, attempts, time.time() + wait, error)


def _send_photos(st: Store, hq: HQClient, entry, m: dict, report: dict) -> None:
    """Upload every photo of the manifest head office lacks (HEAD, then PUT), skipping those
    it is recorded to hold; the entry's progress is written after each."""
    key = hq_key(hq)
    for done, p in enumerate(m["photos"], 1):
        sha = p["sha256"]
        if not outbox.hq_holds(st, sha, key):
            if hq.request("HEAD", f"/blobs/{sha}").status == 404:
                path = store_photos.original_path(st, sha, p["ext"])
                hq.request("PUT", f"/blobs/{sha}", body=path, body_sha256=sha,
                           headers={"Content-Type": "application/octet-stream"})
                report["photos_sent"] += 1
                report["bytes_sent"] += path.stat().st_size
            outbox.note_hq_holds(st, sha, key)
        outbox.set_photos_done(st, entry["id"], done)


def _missing(r, m: dict) -> list[str]:
    """The photos of manifest ``m`` a 409 answer says head office lacks (others ignored)."""
    try:
        said = (r.json() or {}).get("missing") or []
    except (ValueError, AttributeError):
        return []
    mine = {p["sha256"] for p in m["photos"]}
    return [s for s in said if isinstance(s, str) and s in mine]


def _send_entry(st: Store, hq: HQClient, entry, report: dict) -> None:
    """Send one outbox entry: its photos, then its manifest. A 409 naming photos head office
    lacks (it lost them: restored from an older backup) makes the sender forget it held
    them and send them again, once, in the same round; a second 409 is a refusal."""
    m = json.loads(entry["manifest"])
    body = json.dumps(m, ensure_ascii=False, sort_keys=True).encode("utf-8")
    for resend in (False, True):
        _send_photos(st, hq, entry, m, report)
        r = hq.request("POST", "/manifests", body=body, headers={"Idempotency-Key": entry["key"],
                                                                "Content-Type": "application/json"})
        if r.status != 409:
            break
        missing = _missing(r, m)
        if resend or not missing:
            try:
                error = (r.json() or {}).get("error", "in flight")
            except (ValueError, AttributeError):
                error = "in flight"
            raise Refused(409, error + (f" ({len(missing)} photos missing)" if missing else ""))
        log.warning("head office lacks %d photos it had; sending them again", len(missing))
        outbox.forget_hq_holds(st, missing, hq_key(hq))
        report["photos_resent"] += len(missing)
    outbox.mark_sent(st, entry["id"])
    report["spots_sent"] += 1


def hq_key(hq: HQClient) -> str:
    return f"{hq.scheme}://{hq.host}:{hq.port or ''}{hq.prefix}"


def run_once(st: Store, conf: SyncConfig, now: float | None = None) -> dict:
    """Send every due outbox entry. Returns {"spots_sent", "photos_sent", "photos_resent" (named
    missing by a 409 though recorded as held; sent again), "bytes_sent" (photo
    bytes), "wire_bytes" (everything sent: headers, HEADs, manifests), "offline", "failed",
    "pending", "attention"}."""
    report = {"spots_sent": 0, "photos_sent": 0, "photos_resent": 0, "bytes_sent": 0, "wire_bytes": 0,
              "offline": False, "failed": 0}
    if conf.enabled:
        hq = HQClient(conf.hq_url, conf.device, conf.secret, conf.timeout_s)
        now = time.time() if now is None else now
        for entry in outbox.due(st, now):
            try:
                _send_entry(st, hq, entry, report)
            except Offline as e:
                _note_failure(st, entry["id"], f"offline: {e}", counted=False)
                report["offline"] = True
                break  # the others would wait on the same link
            except Refused as e:
                _note_failure(st, entry["id"], str(e), counted=True)
                report["failed"] += 1
            except FileNotFoundError as e:
                _note_failure(st, entry["id"], f"original missing on this device: {e.filename}", counted=True)
                report["failed"] += 1
        report["wire_bytes"] = hq.bytes_out
        store_settings.put(st, "sync.last_run", {"at": now_iso(), "offline": report["offline"],
                                                 "spots_sent": report["spots_sent"]})
    counts = outbox.entry_counts(st)
    report.update(pending=counts.get("pending", 0), attention=counts.get("attention", 0))
    return report


def run_now(st: Store, conf: SyncConfig) -> dict:
    """What "sync now" on the page and ``edge-app sync --once`` do: every unsent entry is due
    at once (back-off reset, those needing attention included), then one round of
    :func:`run_once`."""
    outbox.retry_all(st)
    return run_once(st, conf)


def left_unsent(st: Store, report: dict) -> str | None:
    """None when head office has every entry; else one line saying how many are left and
    why (head office unreachable, or the last error it answered)."""
    left = outbox.unsent(st)
    if not left["count"]:
        return None
    n = left["count"]
    what = f"{n} spot version{'s' if n != 1 else ''} not sent"
    if report.get("offline"):
        return f"{what}: head office unreachable ({left['last_error'] or 'no answer'})"
    return f"{what}: {left['last_error'] or 'not tried (not due)'}"


def run_forever(data_dir: str | Path, conf: Callable[[Store], SyncConfig], stop: threading.Event,
                wake: threading.Event | None = None, poll_s: float | None = None) -> None:
    """The sync thread of ``edge-app serve`` (and ``edge-app sync`` without ``--once``):
    ``run_once`` whenever something is due, on ``wake`` (a confirm, "sync now"), or every
    ``poll_s`` seconds (default ``sync.poll_s``). ``conf(store)`` is read each round, so the
    settings page applies at once."""
    wake = wake or threading.Event()
    poll_s = app_settings.value("sync.poll_s") if poll_s is None else poll_s
    st = open_store(data_dir)
    try:
        while not stop.is_set():
            try:
                run_once(st, conf(st))
            except Exception:  # noqa: BLE001 - sync must outlive one bad round
                log.exception("sync round failed")
            nxt = outbox.next_due_at(st)
            wait = poll_s if nxt is None else max(0.2, min(poll_s, nxt - time.time()))
            wake.wait(wait)
            wake.clear()
    finally:
        st.close()
