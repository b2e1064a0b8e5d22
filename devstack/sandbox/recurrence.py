"""Expansion of Graph's patternedRecurrence into occurrence dates. Pure: no state, no I/O.

Dates are local dates in the series' time zone; the caller puts the series' wall-clock start time
on each of them and converts to absolute time. Supported patterns: daily, weekly, absoluteMonthly,
relativeMonthly, absoluteYearly, relativeYearly; ranges: endDate, numbered, noEnd.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from typing import Any

DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
INDEXES = {"first": 0, "second": 1, "third": 2, "fourth": 3, "last": -1}
PATTERN_TYPES = {"daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly"}
RANGE_TYPES = {"endDate", "noEnd", "numbered"}

# A guard against runaway series (noEnd daily with a far window): about 30 years of days.
MAX_CANDIDATES = 11_000


class RecurrenceError(ValueError):
    """The recurrence object is not one Graph would accept."""


def _weekday(name: str) -> int:
    try:
        return DAYS.index(name.lower())
    except ValueError:
        raise RecurrenceError(f"unknown day of week: {name!r}") from None


def validate(recurrence: Mapping[str, Any]) -> None:
    pattern = recurrence.get("pattern") or {}
    rng = recurrence.get("range") or {}
    ptype = pattern.get("type")
    if ptype not in PATTERN_TYPES:
        raise RecurrenceError(f"unsupported recurrence pattern type: {ptype!r}")
    interval = pattern.get("interval", 1)
    if int(1 if interval is None else interval) < 1:
        raise RecurrenceError("interval must be at least 1")
    if ptype in ("weekly", "relativeMonthly", "relativeYearly") and not pattern.get("daysOfWeek"):
        raise RecurrenceError(f"{ptype} needs daysOfWeek")
    for d in pattern.get("daysOfWeek") or []:
        _weekday(d)
    if ptype in ("absoluteMonthly", "absoluteYearly") and not pattern.get("dayOfMonth"):
        raise RecurrenceError(f"{ptype} needs dayOfMonth")
    if ptype in ("absoluteYearly", "relativeYearly") and not pattern.get("month"):
        raise RecurrenceError(f"{ptype} needs month")
    rtype = rng.get("type")
    if rtype not in RANGE_TYPES:
        raise RecurrenceError(f"unsupported recurrence range type: {rtype!r}")
    if not rng.get("startDate"):
        raise RecurrenceError("range.startDate is required")
    date.fromisoformat(rng["startDate"])
    if rtype == "endDate":
        if not rng.get("endDate"):
            raise RecurrenceError("range.endDate is required for an endDate range")
        if date.fromisoformat(rng["endDate"]) < date.fromisoformat(rng["startDate"]):
            raise RecurrenceError("range.endDate is before range.startDate")
    if rtype == "numbered" and int(rng.get("numberOfOccurrences", 0) or 0) < 1:
        raise RecurrenceError("range.numberOfOccurrences must be at least 1")


def _add_months(d: date, months: int) -> tuple[int, int]:
    total = d.year * 12 + (d.month - 1) + months
    return total // 12, total % 12 + 1


def _relative_day(year: int, month: int, weekdays: set[int], index: int) -> date | None:
    days = [
        date(year, month, day)
        for day in range(1, calendar.monthrange(year, month)[1] + 1)
        if date(year, month, day).weekday() in weekdays
    ]
    if not days:
        return None
    if index == -1:
        return days[-1]
    return days[index] if index < len(days) else None


def _absolute_day(year: int, month: int, day: int) -> date | None:
    # A month without that day (31st in April) has no occurrence, as in Outlook.
    if day > calendar.monthrange(year, month)[1]:
        return None
    return date(year, month, day)


def _candidates(pattern: Mapping[str, Any], start: date) -> Iterator[date]:
    """Dates that fit the pattern, in order, from the range start on (unbounded)."""
    ptype = pattern["type"]
    interval = int(pattern.get("interval", 1) or 1)
    weekdays = {_weekday(d) for d in pattern.get("daysOfWeek") or []}
    index = INDEXES.get(str(pattern.get("index", "first")).lower(), 0)
    if ptype == "daily":
        d = start
        while True:
            yield d
            d += timedelta(days=interval)
    elif ptype == "weekly":
        first = _weekday(pattern.get("firstDayOfWeek") or "sunday")
        week_start = start - timedelta(days=(start.weekday() - first) % 7)
        for _ in range(MAX_CANDIDATES):
            for offset in range(7):
                d = week_start + timedelta(days=offset)
                if d >= start and d.weekday() in weekdays:
                    yield d
            week_start += timedelta(weeks=interval)
    elif ptype in ("absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly"):
        yearly = ptype.endswith("Yearly")
        step = 12 * interval if yearly else interval
        anchor = date(start.year, int(pattern["month"]), 1) if yearly else date(start.year, start.month, 1)
        if anchor < date(start.year, start.month, 1):
            anchor = date(start.year + 1, anchor.month, 1)
        months = 0
        # Bounded: a pattern that never matches (30 February) must not spin forever.
        for _ in range(MAX_CANDIDATES):
            year, month = _add_months(anchor, months)
            if ptype.startswith("absolute"):
                found = _absolute_day(year, month, int(pattern["dayOfMonth"]))
            else:
                found = _relative_day(year, month, weekdays, index)
            if found is not None and found >= start:
                yield found
            months += step
    else:
        raise RecurrenceError(f"unsupported recurrence pattern type: {ptype!r}")


def occurrence_dates(
    recurrence: Mapping[str, Any], *, until: date | None = None, limit: int = MAX_CANDIDATES
) -> list[date]:
    """Local dates of the series' occurrences, stopping at the range end or after `until`."""
    validate(recurrence)
    pattern = recurrence["pattern"]
    rng = recurrence["range"]
    start = date.fromisoformat(rng["startDate"])
    end = date.fromisoformat(rng["endDate"]) if rng["type"] == "endDate" else None
    count = int(rng.get("numberOfOccurrences", 0) or 0) if rng["type"] == "numbered" else None
    out: list[date] = []
    for n, d in enumerate(_candidates(pattern, start)):
        if n >= limit:
            break
        if end is not None and d > end:
            break
        if until is not None and d > until:
            break
        out.append(d)
        if count is not None and len(out) >= count:
            break
    return out
