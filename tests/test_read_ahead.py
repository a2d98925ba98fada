"""ReadAhead: photos prepared in order on a thread of their own while the models load
(issue 20, the cold CLI); each photo is prepared exactly once, by the thread or by the one
who asks for it."""

from __future__ import annotations

import threading
import time

import pytest

from edge_app.engine.analyze import Prepared, ReadAhead
from edge_app.engine.decode import ImageError


class Recorder:
    """A prepare function that records who prepared what and can be held at a photo."""

    def __init__(self, hold_at: int | None = None):
        self.calls: list[tuple[str, str]] = []
        self.hold_at = hold_at
        self.release = threading.Event()
        self.reached = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, path: str) -> Prepared:
        if path == f"p{self.hold_at}":
            self.reached.set()
            self.release.wait(10)
        with self.lock:
            self.calls.append((threading.current_thread().name, path))
        if path == "bad":
            raise ImageError(path, "truncated or corrupt")
        return Prepared(key=path)


def until(condition, timeout_s: float = 10.0) -> bool:
    """Whether ``condition()`` came true within ``timeout_s`` (asked every 10 ms)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_every_photo_is_prepared_once_and_taken_in_any_order():
    paths = [f"p{i}" for i in range(12)]
    rec = Recorder()
    ahead = ReadAhead(rec, paths, depth=4)
    got = {}
    for i in reversed(range(12)):  # the caller asks out of order: some it prepares itself
        prep = ahead.take(i)
        got[i] = prep.key if prep is not None else rec(paths[i]).key
    ahead.close()
    assert got == {i: f"p{i}" for i in range(12)}
    assert sorted(p for _, p in rec.calls) == sorted(paths)  # each exactly once


def test_the_thread_holds_at_most_depth_photos():
    paths = [f"p{i}" for i in range(10)]
    rec = Recorder()
    ahead = ReadAhead(rec, paths, depth=3)
    assert until(lambda: len(rec.calls) == 3)
    ahead._thread.join(0.2)  # it waits for room, it does not end
    assert ahead._thread.is_alive() and len(rec.calls) == 3
    assert ahead.take(0).key == "p0"  # room for one more
    assert until(lambda: len(rec.calls) == 4)
    ahead._thread.join(0.2)
    assert len(rec.calls) == 4
    ahead.close()
    assert not ahead._thread.is_alive()


def test_after_stop_the_photos_not_begun_are_the_callers():
    paths = [f"p{i}" for i in range(6)]
    rec = Recorder(hold_at=1)
    ahead = ReadAhead(rec, paths, depth=6)
    assert rec.reached.wait(10)  # p0 done, p1 begun
    ahead.stop()
    rec.release.set()
    assert ahead.take(0).key == "p0"
    assert ahead.take(1).key == "p1"  # begun before the stop: waited for
    assert [ahead.take(i) for i in range(2, 6)] == [None] * 4
    ahead.close()
    assert sorted(p for _, p in rec.calls) == ["p0", "p1"]


def test_what_preparing_raised_is_raised_by_take():
    rec = Recorder()
    ahead = ReadAhead(rec, ["p0", "bad", "p2"], depth=3)
    assert ahead.take(0).key == "p0"
    with pytest.raises(ImageError) as e:
        ahead.take(1)
    assert e.value.reason == "truncated or corrupt"
    assert ahead.take(2).key == "p2"
    ahead.close()
