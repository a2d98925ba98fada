"""The password throttle of head office's login: a guesser is told to wait (429 with
``Retry-After``), never made to wait inside a worker thread.

Every try is counted before the password is checked, so parallel guessers cannot slip
through while the first ones are still being verified. Each key (a client address, and
the one account) gets ``free`` tries; after that each further try must wait twice as long
as the one before (1 s, 2 s, 4 s ... up to ``cap_s``). A right password clears its keys;
``forget_s`` of quiet forgets a key.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass
class _Tries:
    count: int = 0
    blocked_until: float = 0.0
    last: float = 0.0


class Throttle:
    """``begin(keys)``: 0 when this try may go on (and counts it), else the seconds to wait.
    ``free``/``cap_s`` per key prefix, e.g. ``{"addr": (5, 300), "account": (20, 60)}``."""

    def __init__(self, limits: dict[str, tuple[int, float]], forget_s: float = 900.0, clock=time.monotonic):
        self.limits, self.forget_s, self.clock = limits, forget_s, clock
        self._lock = threading.Lock()
        self._tries: dict[tuple[str, str], _Tries] = {}

    def begin(self, keys: dict[str, str]) -> int:
        """Count one try under every key, unless one of them is blocked: then the whole
        seconds to wait (nothing counted)."""
        now = self.clock()
        with self._lock:
            self._forget_old(now)
            entries = {(kind, key): self._tries.setdefault((kind, key), _Tries()) for kind, key in keys.items()}
            wait = max(e.blocked_until - now for e in entries.values())
            if wait > 0:
                return max(1, math.ceil(wait))
            for (kind, _), e in entries.items():
                self._count(kind, e, now)
            return 0

    def succeeded(self, keys: dict[str, str]) -> None:
        """The right password: forget the tries under these keys."""
        with self._lock:
            for kind, key in keys.items():
                self._tries.pop((kind, key), None)

    def _count(self, kind: str, e: _Tries, now: float) -> None:
        free, cap_s = self.limits[kind]
        e.count += 1
        e.last = now
        if e.count >= free:
            e.blocked_until = now + min(cap_s, 2.0 ** (e.count - free))

    def _forget_old(self, now: float) -> None:
        if len(self._tries) < 1024:
            stale = [k for k, e in self._tries.items() if now - e.last > self.forget_s and e.blocked_until < now]
        else:  # under a flood of addresses: keep the table small
            stale = [k for k, e in self._tries.items() if e.blocked_until < now]
        for k in stale:
            del self._tries[k]
