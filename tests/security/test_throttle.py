"""The one password throttle of both servers (:mod:`edge_app.access.throttle`): free tries,
then doubling waits up to a cap; a blocked try is answered at once and not counted;
parallel guessers cannot slip past it; a flood of addresses cannot reset the account."""

from __future__ import annotations

import threading
import time

from edge_app.access.throttle import Limit, Throttle


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_free_tries_then_doubling_waits_up_to_the_cap():
    clock = Clock()
    thr = Throttle({"address": Limit(3, 30.0, 100.0)}, clock=clock)
    keys = {"address": "10.0.0.1"}
    assert [thr.begin(keys) for _ in range(3)] == [0, 0, 0]  # the third try starts the first wait
    assert thr.wait_s(keys) == 30
    assert thr.begin(keys) == 30  # blocked: answered at once, not counted
    clock.now += 30
    assert thr.begin(keys) == 0 and thr.wait_s(keys) == 60
    clock.now += 60
    assert thr.begin(keys) == 0 and thr.wait_s(keys) == 100  # capped
    thr.succeeded(keys)
    assert thr.wait_s(keys) == 0 and [thr.begin(keys) for _ in range(2)] == [0, 0]


def test_an_attempt_checks_the_secret_only_when_allowed_and_says_when_to_come_back():
    clock = Clock()
    thr = Throttle({"address": Limit(2, 5.0, 60.0), "account": Limit(100, 1.0, 60.0)}, clock=clock)
    keys = {"address": "10.0.0.2", "account": "pin"}
    checked = []

    def wrong():
        checked.append(1)
        return False

    assert thr.attempt(keys, wrong) == (False, 0)  # a plain wrong secret: 401
    assert thr.attempt(keys, wrong) == (False, 5)  # this wrong try starts a wait: 429 at once
    assert thr.attempt(keys, lambda: True) == (False, 5) and len(checked) == 2  # not even checked
    clock.now += 5
    assert thr.attempt(keys, lambda: True) == (True, 0)
    assert thr.wait_s(keys) == 0  # the right secret clears its keys


def test_parallel_guessers_get_exactly_the_free_tries_and_nobody_waits_inside():
    thr = Throttle({"address": Limit(5, 30.0, 300.0), "account": Limit(20, 30.0, 300.0)})
    keys = {"address": "10.0.0.3", "account": "hq"}
    barrier = threading.Barrier(32)
    got: list[tuple[int, float]] = []

    def guess():
        barrier.wait()
        t = time.monotonic()
        w = thr.begin(keys)
        got.append((w, time.monotonic() - t))

    threads = [threading.Thread(target=guess) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sum(1 for w, _ in got if w == 0) == 5
    assert all(w >= 1 for w, _ in got if w) and max(s for _, s in got) < 0.5


def test_a_flood_of_addresses_neither_grows_the_table_nor_resets_the_account():
    clock = Clock()
    thr = Throttle({"address": Limit(5, 1.0, 60.0), "account": Limit(10_000, 1.0, 60.0)}, max_keys=100, clock=clock)
    for k in range(1000):
        clock.now += 0.01
        assert thr.begin({"address": f"10.1.{k // 250}.{k % 250}", "account": "pin"}) == 0
    assert len(thr._tries) <= 101
    assert thr._tries[("account", "pin")].count == 1000  # the account is touched by every try: kept


def test_quiet_keys_are_forgotten_but_blocked_ones_are_not():
    clock = Clock()
    thr = Throttle({"strict": Limit(1, 5000.0, 5000.0), "lax": Limit(3, 1.0, 1.0)}, forget_s=100.0, clock=clock)
    thr.begin({"strict": "10.0.0.4"})  # blocked for 5000 s
    thr.begin({"lax": "10.0.0.5"})  # one try, no wait
    clock.now += 200
    thr.begin({"lax": "10.0.0.6"})
    assert ("lax", "10.0.0.5") not in thr._tries and ("strict", "10.0.0.4") in thr._tries
    assert thr.wait_s({"strict": "10.0.0.4"}) == 4800
