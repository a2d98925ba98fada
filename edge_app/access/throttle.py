"""The one password throttle of both servers (the site app's PIN, head office's password):
a guesser is told to wait (429 with ``Retry-After``), never made to wait inside a worker
thread (no ``time.sleep`` anywhere here).

Every try is counted before the secret is checked, so parallel guessers cannot slip
through while the first ones are still being verified. Each key kind (a client address,
and the one account) has its :class:`Limit`: ``free`` tries, then each further try must
wait twice as long as the one before (``first_wait_s``, twice that, ... up to ``cap_s``).
A right secret clears its keys; ``forget_s`` of quiet forgets a key; under a flood of
addresses the keys least recently seen go first (never a blocked one, never the account,
which every try touches).

    thr = Throttle({"address": Limit(5, 30, 900), "account": Limit(30, 30, 900)})
    tried = thr.attempt({"address": ip, "account": "pin"}, lambda: check(pin))
    if tried.ok: ...            # in
    elif tried.wait: ...        # 429, Retry-After: tried.wait
    else: ...                   # 401, wrong
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Callable, Mapping, NamedTuple


@dataclass(frozen=True)
class Limit:
    """``free`` tries per key, then a wait of ``first_wait_s``, doubling with each further
    try, at most ``cap_s``."""

    free: int
    first_wait_s: float = 1.0
    cap_s: float = 300.0

    def wait_after(self, count: int) -> float:
        """The wait a key has after its ``count``-th try (0 while within ``free``)."""
        if count < self.free:
            return 0.0
        return min(self.cap_s, self.first_wait_s * 2.0 ** min(count - self.free, 40))


class Attempt(NamedTuple):
    """The outcome of :meth:`Throttle.attempt`: ``ok`` (the secret was right), else ``wait``:
    whole seconds to wait before the next try (0: a plain wrong secret)."""

    ok: bool
    wait: int


@dataclass
class _Tries:
    count: int = 0
    blocked_until: float = 0.0
    last: float = 0.0


class Throttle:
    """Tries per key, in memory (a restart does not help a guesser who cannot restart the
    server). ``keys`` are ``{kind: key}``, a kind being one of ``limits``. Thread-safe."""

    def __init__(self, limits: Mapping[str, Limit], forget_s: float = 3600.0, max_keys: int = 4096,
                 clock: Callable[[], float] = time.monotonic):
        self.limits, self.forget_s, self.max_keys, self.clock = dict(limits), forget_s, max_keys, clock
        self._lock = threading.Lock()
        self._tries: dict[tuple[str, str], _Tries] = {}
        self._tidied = clock()

    def begin(self, keys: Mapping[str, str]) -> int:
        """Count one try under every key, unless one of them is blocked: then the whole
        seconds to wait (nothing counted); 0 when the try may go on."""
        now = self.clock()
        with self._lock:
            self._tidy(now)
            entries = {(kind, key): self._tries.setdefault((kind, key), _Tries()) for kind, key in keys.items()}
            wait = max(e.blocked_until - now for e in entries.values())
            if wait > 0:
                return max(1, math.ceil(wait))
            for (kind, _), e in entries.items():
                e.count += 1
                e.last = now
                lock = self.limits[kind].wait_after(e.count)
                if lock:
                    e.blocked_until = now + lock
            return 0

    def wait_s(self, keys: Mapping[str, str]) -> int:
        """Whole seconds until a try under these keys may go on (0: now); counts nothing."""
        now = self.clock()
        with self._lock:
            ends = [e.blocked_until for k in keys.items() if (e := self._tries.get(k)) is not None]
        wait = max(ends, default=0.0) - now
        return max(1, math.ceil(wait)) if wait > 0 else 0

    def succeeded(self, keys: Mapping[str, str]) -> None:
        """The right secret: forget the tries under these keys."""
        with self._lock:
            for k in keys.items():
                self._tries.pop(k, None)

    def attempt(self, keys: Mapping[str, str], check: Callable[[], bool]) -> Attempt:
        """One try: refused at once while blocked (``check`` not called), else counted and
        checked; a wrong secret that starts a wait says so (``wait`` > 0)."""
        wait = self.begin(keys)
        if wait:
            return Attempt(False, wait)
        if check():
            self.succeeded(keys)
            return Attempt(True, 0)
        return Attempt(False, self.wait_s(keys))

    def _tidy(self, now: float) -> None:
        """Forget quiet keys (at most once a minute), and under a flood of keys the least
        recently seen unblocked ones, down to half of ``max_keys``."""
        if len(self._tries) <= self.max_keys and now - self._tidied < 60.0:
            return
        self._tidied = now
        for k in [k for k, e in self._tries.items() if e.blocked_until <= now and now - e.last > self.forget_s]:
            del self._tries[k]
        if len(self._tries) > self.max_keys:
            free = sorted((e.last, k) for k, e in self._tries.items() if e.blocked_until <= now)
            for _, k in free[:len(self._tries) - self.max_keys // 2]:
                del self._tries[k]
