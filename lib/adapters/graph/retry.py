"""Pure retry policy for Graph calls: Retry-After parsing, backoff with jitter, an overall deadline
and which failures may be retried for which methods. No I/O, so it is unit-tested directly."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Statuses Graph documents as transient: throttled, unavailable, gateway timeout.
RETRYABLE_STATUSES = frozenset({429, 503, 504})
# Methods whose repetition has the same effect as one call. PATCH of an event sets fields, so it
# is treated as idempotent; POST is not (creating an event twice makes two events).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})

# Jitter from a generator of its own: the global one belongs to whoever seeds it (test frameworks do).
_JITTER = random.Random()


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent or
    unparseable. Negative or past values mean "now" (0)."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        return max(0.0, float(int(text)))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive result means it said so implicitly
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def backoff_delay(attempt: int, base: float, cap: float, rand: Callable[[], float] = _JITTER.random) -> float:
    """Exponential backoff with "equal jitter" for the wait after failed attempt `attempt` (1-based):
    half of min(cap, base * 2**(attempt-1)) fixed, the other half random, so retries of many
    clients spread out but never collapse to zero."""
    ceiling = min(cap, base * 2.0 ** max(0, attempt - 1))
    return ceiling / 2 + rand() * ceiling / 2


@dataclass
class Deadline:
    """An overall time budget, measured on the monotonic clock."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=-1.0)

    def __post_init__(self) -> None:
        if self.started < 0:
            self.started = self.clock()

    def remaining(self) -> float:
        return max(0.0, self.started + self.seconds - self.clock())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def allows_wait(self, delay: float, margin: float = 0.0) -> bool:
        """Whether sleeping `delay` seconds still leaves `margin` seconds for the next attempt."""
        return delay + margin < self.remaining()


# The most a retry waits beyond Graph's Retry-After, spread at random (see `RetryPolicy.delay`).
RETRY_AFTER_SPREAD_S = 0.5


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 8.0
    # Time an attempt needs at least; no point waiting if less than this would be left afterwards.
    min_attempt_time: float = 0.25

    def may_retry_status(self, status: int, method: str, idempotent: bool) -> bool:
        """Whether an answer with `status` may be re-sent. 429 means Graph refused before doing
        anything, so even a POST is safe; 503/504 may come after the work was done, so only
        idempotent requests (or callers who say theirs is) are re-sent."""
        if status not in RETRYABLE_STATUSES:
            return False
        return status == 429 or idempotent or method.upper() in IDEMPOTENT_METHODS

    def may_retry_connection_error(self, method: str, idempotent: bool, sent: bool) -> bool:
        """A request that never left (connect failure) can always be re-sent; one that may have
        reached Graph only if repeating it is harmless."""
        return (not sent) or idempotent or method.upper() in IDEMPOTENT_METHODS

    def delay(
        self, attempt: int, retry_after: float | None, rand: Callable[[], float] = _JITTER.random
    ) -> float:
        """Wait before the attempt after `attempt`: Graph's Retry-After when given (it is what Graph
        wants; waiting less only earns another 429) plus up to half of it (at most 0.5 s) at
        random, else backoff with jitter. Without the spread, requests throttled together (several
        instances over one mailbox's 4 at once, each told "1 s") all came back together and were
        throttled again until their attempts ran out."""
        if retry_after is not None:
            return retry_after + rand() * min(retry_after / 2, RETRY_AFTER_SPREAD_S)
        return backoff_delay(attempt, self.base_delay, self.max_delay, rand)

    def next_wait(
        self,
        attempt: int,
        retry_after: float | None,
        deadline: Deadline,
        rand: Callable[[], float] = _JITTER.random,
    ) -> float | None:
        """The wait before another attempt, or None when the attempts or the deadline are spent
        (including when Graph asks for a wait longer than the time left: fail fast then)."""
        if attempt >= self.max_attempts:
            return None
        wait = self.delay(attempt, retry_after, rand)
        if not deadline.allows_wait(wait, self.min_attempt_time):
            return None
        return wait
