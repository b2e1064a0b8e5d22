"""The busy cache's in-memory window finds the intervals overlapping a span by bisection: it must
agree with a pass over every interval, for any mix of short, long and nested intervals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from lib.engine.busy import BusyInterval
from lib.features.availability.cached_source import _Window

EPOCH = datetime(2026, 6, 1, tzinfo=UTC)
minutes = st.integers(min_value=0, max_value=60 * 24 * 30)
lengths = st.integers(min_value=0, max_value=60 * 24 * 10)


@settings(max_examples=300, deadline=None)
@given(
    intervals=st.lists(st.tuples(minutes, lengths), max_size=40),
    span=st.tuples(minutes, lengths),
)
def test_overlapping_agrees_with_a_pass_over_the_whole_window(
    intervals: list[tuple[int, int]], span: tuple[int, int]
) -> None:
    busy = [
        BusyInterval(EPOCH + timedelta(minutes=s), EPOCH + timedelta(minutes=s + n)) for s, n in intervals
    ]
    start = EPOCH + timedelta(minutes=span[0])
    end = start + timedelta(minutes=span[1])
    expected = sorted(
        (i for i in busy if i.start_utc < end and i.end_utc > start), key=lambda i: (i.start_utc, i.end_utc)
    )
    assert list(_Window.of(busy).overlapping(start, end)) == expected
