"""Per-mailbox concurrency: Graph allows 4 concurrent requests per app per mailbox and answers
429 beyond that. One process-wide limiter per mailbox key makes every GraphClient of the same
mailbox share the limit; different mailboxes never wait for each other."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

MAILBOX_CONCURRENCY = 4


class SlotTimeout(Exception):
    """No slot became free before the deadline."""


class WeightedLimiter:
    """A counting semaphore whose acquire takes `n` permits at once (all or nothing, so two
    callers taking several permits cannot deadlock on half each), first come first served: a
    caller waits while anyone who came before it still waits. Without the queue a `$batch`
    needing 2 of a mailbox's 4 slots lost every race to single requests taking 1 as soon as it
    was free, and a busy host's live check could wait out its whole deadline."""

    def __init__(self, permits: int) -> None:
        self.permits = permits
        self._free = permits
        self._cond = threading.Condition()
        self._queue: collections.deque[object] = collections.deque()

    def acquire(self, n: int, timeout: float) -> bool:
        n = max(1, min(n, self.permits))
        end = time.monotonic() + timeout
        turn = object()
        with self._cond:
            self._queue.append(turn)
            try:
                while self._queue[0] is not turn or self._free < n:
                    left = end - time.monotonic()
                    if left <= 0:
                        return False
                    self._cond.wait(left)
                self._free -= n
                return True
            finally:
                self._queue.remove(turn)
                self._cond.notify_all()  # the next in line may go now, or its wait ended

    def release(self, n: int) -> None:
        n = max(1, min(n, self.permits))
        with self._cond:
            self._free = min(self.permits, self._free + n)
            self._cond.notify_all()

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._queue)

    @property
    def in_use(self) -> int:
        with self._cond:
            return self.permits - self._free


_registry: dict[str, WeightedLimiter] = {}
_registry_lock = threading.Lock()


def limiter_for(mailbox_key: str, permits: int = MAILBOX_CONCURRENCY) -> WeightedLimiter:
    # Limiters are tiny and mailboxes per process are bounded by the connections it serves, so
    # they are kept for the life of the process rather than reference-counted.
    with _registry_lock:
        limiter = _registry.get(mailbox_key)
        if limiter is None:
            limiter = _registry[mailbox_key] = WeightedLimiter(permits)
        return limiter


@contextmanager
def mailbox_slots(mailbox_key: str, n: int, timeout: float) -> Iterator[None]:
    """Hold `n` of the mailbox's slots for the duration of the block."""
    limiter = limiter_for(mailbox_key)
    if not limiter.acquire(n, timeout):
        raise SlotTimeout(mailbox_key)
    try:
        yield
    finally:
        limiter.release(n)
