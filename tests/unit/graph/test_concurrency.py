"""The per-mailbox limiter: all-or-nothing weighted acquire, timeouts, independence of mailboxes."""

from __future__ import annotations

import threading
import time
import uuid

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
