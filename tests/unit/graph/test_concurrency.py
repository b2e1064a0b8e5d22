"""The per-mailbox limiter: all-or-nothing weighted acquire, timeouts, independence of mailboxes."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import pytest

from lib.adapters.graph.concurrency import SlotTimeout, WeightedLimiter, mailbox_slots


def test_weighted_acquire_is_all_or_nothing() -> None:
    lim = WeightedLimiter(4)
    assert lim.acquire(3, timeout=0)
    assert not lim.acquire(2, timeout=0.05)  # only 1 free: takes nothing
    assert lim.in_use == 3
    assert lim.acquire(1, timeout=0)
    lim.release(3)
    lim.release(1)
    assert lim.in_use == 0
    assert lim.acquire(10, timeout=0)  # capped at the limit, never unsatisfiable
    assert lim.in_use == 4


def test_waiter_gets_the_slot_when_released() -> None:
    lim = WeightedLimiter(1)
    assert lim.acquire(1, timeout=0)
    threading.Timer(0.1, lim.release, args=(1,)).start()
    t0 = time.monotonic()
    assert lim.acquire(1, timeout=2)
    assert 0.05 < time.monotonic() - t0 < 1.5


def test_mailboxes_are_independent_and_timeout_raises() -> None:
    a, b = f"a-{uuid.uuid4()}", f"b-{uuid.uuid4()}"
    with mailbox_slots(a, 4, timeout=0), mailbox_slots(b, 4, timeout=0):
        held = mailbox_slots(a, 1, timeout=0.05)
        with pytest.raises(SlotTimeout):
            held.__enter__()
    with mailbox_slots(a, 4, timeout=0):  # released on exit
        pass


def _until(condition: Callable[[], bool]) -> None:
    """Wait (at most 5 s) for another thread to reach a state; an ordering aid, not a timing check."""
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.005)


def test_a_batch_waiting_for_two_slots_is_not_overtaken_by_single_requests() -> None:
    """First come, first served: with 1 slot free, a single request arriving after a `$batch`
    that waits for 2 waits behind it (it used to take the slot at once, and the next, and the
    next: a busy host's live check could wait out its deadline)."""
    lim = WeightedLimiter(4)
    for _ in range(3):
        assert lim.acquire(1, timeout=0)
    order: list[str] = []

    def take(name: str, n: int) -> None:
        assert lim.acquire(n, timeout=5)
        order.append(name)

    batch = threading.Thread(target=take, args=("batch", 2))
    batch.start()
    _until(lambda: lim.waiting == 1)
    single = threading.Thread(target=take, args=("single", 1))
    single.start()
    _until(lambda: lim.waiting == 2)
    assert order == []  # 1 slot is free, but the single request is not first in line

    lim.release(1)  # 2 free: the batch's turn
    batch.join(5)
    assert order == ["batch"]
    lim.release(1)  # 1 free: now the single request
    single.join(5)
    assert order == ["batch", "single"]


def test_a_waiter_that_gives_up_lets_the_next_in_line_go() -> None:
    lim = WeightedLimiter(2)
    assert lim.acquire(1, timeout=0)
    gave_up: list[bool] = []
    took: list[bool] = []
    big = threading.Thread(target=lambda: gave_up.append(not lim.acquire(2, timeout=0.2)))
    big.start()
    _until(lambda: lim.waiting == 1)
    small = threading.Thread(target=lambda: took.append(lim.acquire(1, timeout=5)))
    small.start()
    big.join(5)
    small.join(5)
    assert gave_up == [True] and took == [True]
    assert lim.waiting == 0 and lim.in_use == 2
