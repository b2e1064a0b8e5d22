"""Pure expansion of Graph recurrence patterns."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from devstack.sandbox.recurrence import RecurrenceError, occurrence_dates


def rec(pattern: dict[str, Any], **rng: Any) -> dict[str, Any]:
    return {
        "pattern": {"interval": 1, **pattern},
        "range": {"type": "noEnd", "startDate": "2026-01-01", **rng},
    }


def test_daily_numbered() -> None:
    got = occurrence_dates(rec({"type": "daily", "interval": 2}, type="numbered", numberOfOccurrences=3))
    assert got == [date(2026, 1, 1), date(2026, 1, 3), date(2026, 1, 5)]


def test_weekly_end_date_with_interval_respects_first_day_of_week() -> None:
    r = rec(
        {"type": "weekly", "interval": 2, "daysOfWeek": ["monday", "thursday"], "firstDayOfWeek": "sunday"},
        type="endDate",
        startDate="2026-01-01",
        endDate="2026-01-31",
    )
    # Week of Sun 28 Dec: Thu 1 Jan; skip the week of 4 Jan; week of 11 Jan: Mon 12, Thu 15; ...
    assert occurrence_dates(r) == [date(2026, 1, d) for d in (1, 12, 15, 26, 29)]


def test_absolute_monthly_skips_short_months() -> None:
    r = rec({"type": "absoluteMonthly", "dayOfMonth": 31}, type="numbered", numberOfOccurrences=4)
    assert occurrence_dates(r) == [date(2026, 1, 31), date(2026, 3, 31), date(2026, 5, 31), date(2026, 7, 31)]


@pytest.mark.parametrize(("index", "expected"), [("first", 6), ("second", 13), ("fourth", 27), ("last", 27)])
def test_relative_monthly(index: str, expected: int) -> None:
    r = rec({"type": "relativeMonthly", "daysOfWeek": ["tuesday"], "index": index})
    assert occurrence_dates(r, until=date(2026, 1, 31)) == [date(2026, 1, expected)]


def test_relative_monthly_any_weekday_last() -> None:
    r = rec(
        {
            "type": "relativeMonthly",
            "index": "last",
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
        }
    )
    assert occurrence_dates(r, until=date(2026, 3, 31)) == [
        date(2026, 1, 30),
        date(2026, 2, 27),
        date(2026, 3, 31),
    ]


def test_yearly_patterns() -> None:
    absolute = rec(
        {"type": "absoluteYearly", "month": 2, "dayOfMonth": 29}, type="numbered", numberOfOccurrences=2
    )
    assert occurrence_dates(absolute) == [date(2028, 2, 29), date(2032, 2, 29)]
    relative = rec({"type": "relativeYearly", "month": 11, "daysOfWeek": ["thursday"], "index": "fourth"})
    assert occurrence_dates(relative, until=date(2027, 12, 31)) == [date(2026, 11, 26), date(2027, 11, 25)]


def test_no_end_stops_at_until_and_never_matching_pattern_terminates() -> None:
    daily = occurrence_dates(rec({"type": "daily"}), until=date(2026, 1, 3))
    assert daily == [date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)]
    assert occurrence_dates(rec({"type": "absoluteYearly", "month": 2, "dayOfMonth": 30})) == []


@pytest.mark.parametrize(
    "bad",
    [
        {"pattern": {"type": "hourly"}, "range": {"type": "noEnd", "startDate": "2026-01-01"}},
        {"pattern": {"type": "weekly", "interval": 1}, "range": {"type": "noEnd", "startDate": "2026-01-01"}},
        {"pattern": {"type": "daily", "interval": 0}, "range": {"type": "noEnd", "startDate": "2026-01-01"}},
        {"pattern": {"type": "daily"}, "range": {"type": "endDate", "startDate": "2026-01-01"}},
        {"pattern": {"type": "daily"}, "range": {"type": "numbered", "startDate": "2026-01-01"}},
        {
            "pattern": {"type": "weekly", "daysOfWeek": ["funday"]},
            "range": {"type": "noEnd", "startDate": "2026-01-01"},
        },
    ],
)
def test_invalid(bad: dict[str, Any]) -> None:
    with pytest.raises(RecurrenceError):
        occurrence_dates(bad)
