"""Running one function over a few items at once (hosts, mailboxes, calendars, `$batch` chunks) on
one long-lived, process-wide pool of threads.

Why not a `ThreadPoolExecutor` per call: starting threads costs milliseconds per thread while the
GIL is busy, which was most of a cached availability answer, and churning threads grows the
process's memory (allocator arenas). Why the caller works too: calls nest (hosts -> mailboxes ->
batch chunks), and a nested call waiting on a saturated shared pool would deadlock. Here the
caller claims items like any helper, helpers that start late find nothing left, and the caller
only ever waits for items a running thread has already claimed - so every call finishes even
with every pool thread busy. The log correlation id (a context variable) follows the work.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

POOL_THREADS = 32

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _shared_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=POOL_THREADS, thread_name_prefix="slotbridge-parallel")
        return _pool


def map_concurrently(fn: Callable[[T], R], items: Iterable[T], *, limit: int) -> list[R]:
    """`[fn(item) for item in items]`, with up to `limit` items running at once (the calling
    thread included). Every item runs to the end; then the first failure in item order, if any,
    is raised - as `[fn(x) for x in items]` would, but without skipping the rest."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    work = list(items)
    if len(work) <= 1 or limit == 1:
        return [fn(item) for item in work]

    results: list[R | None] = [None] * len(work)
    errors: list[BaseException | None] = [None] * len(work)
    state = {"next": 0, "left": len(work)}
    finished = threading.Condition()

    def claim() -> int | None:
        with finished:
            index = state["next"]
            if index >= len(work):
                return None
            state["next"] = index + 1
            return index

    def work_off() -> None:
        while (index := claim()) is not None:
            try:
                results[index] = fn(work[index])
            except BaseException as error:  # handed to the caller below
                errors[index] = error
            with finished:
                state["left"] -= 1
                if state["left"] == 0:
                    finished.notify_all()

    pool = _shared_pool()
    for _ in range(min(limit, len(work)) - 1):
        pool.submit(contextvars.copy_context().run, work_off)
    work_off()
    with finished:
        finished.wait_for(lambda: state["left"] == 0)
    for error in errors:
        if error is not None:
            raise error
    return results  # type: ignore[return-value]  # every slot was filled: no error was raised


A = TypeVar("A")
B = TypeVar("B")


def run_both(first: Callable[[], A], second: Callable[[], B]) -> tuple[A, B]:
    """`(first(), second())`, run at once: two independent reads cost the slower one's time."""
    results = map_concurrently(lambda call: call(), (first, second), limit=2)
    return results[0], results[1]  # type: ignore[return-value]  # in order: an A, then a B
