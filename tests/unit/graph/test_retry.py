"""The pure retry policy: Retry-After parsing, backoff with jitter, deadline, what may be re-sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from lib.adapters.graph.retry import Deadline, RetryPolicy, backoff_delay, parse_retry_after

NOW = datetime(2026, 11, 20, 9, 0, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.mark.parametrize(
    ("header", "expected"),
    [("5", 5.0), (" 12 ", 12.0), ("0", 0.0), ("-3", 0.0), (None, None), ("", None), ("soon", None)],
)
def test_retry_after_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, NOW) == expected


def test_retry_after_http_date() -> None:
    later = format_datetime(NOW + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(later, NOW) == pytest.approx(30.0)
    earlier = format_datetime(NOW - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(earlier, NOW) == 0.0


def test_backoff_grows_exponentially_up_to_the_cap_with_jitter_in_the_upper_half() -> None:
    low = [backoff_delay(n, base=0.5, cap=8.0, rand=lambda: 0.0) for n in range(1, 8)]
    high = [backoff_delay(n, base=0.5, cap=8.0, rand=lambda: 1.0) for n in range(1, 8)]
    assert high == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert low == [h / 2 for h in high]  # never collapses to zero
    mid = backoff_delay(3, base=0.5, cap=8.0, rand=lambda: 0.5)
    assert low[2] < mid < high[2]


def test_deadline_counts_down_on_its_clock() -> None:
    clock = FakeClock()
    d = Deadline(10.0, clock=clock)
    assert d.remaining() == 10.0 and not d.expired
    clock.t += 4
    assert d.remaining() == 6.0
    assert d.allows_wait(5.0, margin=0.5) and not d.allows_wait(5.0, margin=1.5)
    clock.t += 7
    assert d.remaining() == 0.0 and d.expired


def test_retry_after_is_honoured_over_backoff() -> None:
    policy = RetryPolicy(max_attempts=5)
    d = Deadline(20.0, clock=FakeClock())
    assert policy.next_wait(1, 3.0, d, rand=lambda: 0.0) == 3.0
    assert policy.next_wait(1, None, d, rand=lambda: 1.0) == policy.base_delay


def test_retries_told_the_same_retry_after_come_back_spread_never_sooner() -> None:
    """Requests throttled together and told "1 s" must not all come back at the same moment
    (they were throttled again together until their attempts ran out)."""
    policy = RetryPolicy()
    d = Deadline(20.0, clock=FakeClock())
    waits = [policy.next_wait(1, 1.0, d, rand=lambda v=v: v) for v in (0.0, 0.25, 0.5, 0.99)]
    assert waits == sorted(set(waits))  # all different
    assert all(w is not None and 1.0 <= w < 1.5 for w in waits)
    assert policy.next_wait(1, 0.2, d, rand=lambda: 1.0) == pytest.approx(0.3)  # at most half more
    long = Deadline(60.0, clock=FakeClock())
    assert policy.next_wait(1, 30.0, long, rand=lambda: 1.0) == pytest.approx(30.5)  # at most 0.5 s more


def test_no_wait_when_attempts_are_spent_or_the_deadline_would_pass() -> None:
    policy = RetryPolicy(max_attempts=3)
    clock = FakeClock()
    d = Deadline(5.0, clock=clock)
    assert policy.next_wait(3, 1.0, d) is None  # attempts spent
    assert policy.next_wait(1, 10.0, d) is None  # Graph asks for longer than the time left: fail fast
    clock.t += 4.9
    assert policy.next_wait(1, 0.0, d) is None  # not enough left for another attempt


@pytest.mark.parametrize(
    ("status", "method", "idempotent", "expected"),
    [
        (429, "GET", False, True),
        (429, "POST", False, True),  # refused before anything was done
        (503, "GET", False, True),
        (504, "DELETE", False, True),
        (503, "PATCH", False, True),
        (503, "POST", False, False),  # may have been applied
        (504, "POST", False, False),
        (503, "POST", True, True),  # the caller says repeating is harmless (transactionId)
        (500, "GET", False, False),
        (404, "GET", False, False),
    ],
)
def test_which_statuses_are_retried(status: int, method: str, idempotent: bool, expected: bool) -> None:
    assert RetryPolicy().may_retry_status(status, method, idempotent) is expected


def test_connection_errors_retry_posts_only_when_not_sent_or_idempotent() -> None:
    p = RetryPolicy()
    assert p.may_retry_connection_error("GET", idempotent=False, sent=True)
    assert p.may_retry_connection_error("POST", idempotent=False, sent=False)
    assert not p.may_retry_connection_error("POST", idempotent=False, sent=True)
    assert p.may_retry_connection_error("POST", idempotent=True, sent=True)
