"""`lib.core.parallel.map_concurrently`: the one way the app reads several hosts, mailboxes or batch
chunks at once."""

from __future__ import annotations

import contextvars
import threading
import time

import pytest

from lib.core import parallel
from lib.core.parallel import map_concurrently


def test_results_come_back_in_item_order() -> None:
    def slow_for_small(n: int) -> int:
        time.sleep(0.002 * (10 - n))  # later items finish first
        return n * n

    assert map_concurrently(slow_for_small, range(10), limit=4) == [n * n for n in range(10)]


def test_items_really_run_at_once_up_to_the_limit() -> None:
    barrier = threading.Barrier(3, timeout=5)  # breaks (raises) unless 3 items meet
    running, peak, lock = 0, 0, threading.Lock()

    def meet(_: int) -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        try:
            barrier.wait()
            time.sleep(0.01)
        finally:
            with lock:
                running -= 1

    map_concurrently(meet, range(6), limit=3)
    assert peak == 3


def test_every_item_runs_then_the_first_failure_in_item_order_is_raised() -> None:
    ran: list[int] = []

    def flaky(n: int) -> int:
        ran.append(n)
        if n in (2, 5):
            raise ValueError(f"item {n}")
        return n

    with pytest.raises(ValueError, match="item 2"):
        map_concurrently(flaky, range(8), limit=3)
    assert sorted(ran) == list(range(8))


def test_nested_calls_finish_with_every_pool_thread_busy() -> None:
    # More outer items than pool threads, each nesting a call of its own: a pool per call would
    # start hundreds of threads, a plain shared pool would deadlock.
    def inner(n: int) -> int:
        time.sleep(0.001)
        return n

    def outer(n: int) -> int:
        return sum(map_concurrently(inner, range(8), limit=8)) + n

    outers = parallel.POOL_THREADS * 2
    done: list[list[int]] = []
    worker = threading.Thread(
        target=lambda: done.append(map_concurrently(outer, range(outers), limit=outers)), daemon=True
    )
    worker.start()
    worker.join(timeout=30)
    assert done == [[28 + n for n in range(outers)]]


def test_the_callers_context_follows_the_work() -> None:
    correlation: contextvars.ContextVar[str] = contextvars.ContextVar("correlation", default="-")
    correlation.set("req-42")
    assert map_concurrently(lambda _: correlation.get(), range(5), limit=5) == ["req-42"] * 5


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        map_concurrently(str, [1, 2], limit=0)
