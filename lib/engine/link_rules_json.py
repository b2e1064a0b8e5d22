"""Booking-link rules from / to the JSON shape of `PUT /links/{slug}`, with field-addressed errors.

Shape (camelCase, as the HTTP contract):
    {"durationMinutes": 30, "slotStepMinutes": 15, "timeZone": "Europe/Berlin",
     "weeklyHours": {"monday": [{"start": "09:00", "end": "17:00"}], ...},
     "dateOverrides": [{"date": "2026-12-24", "kind": "dayOff"},
                       {"date": "2026-12-27", "kind": "add", "ranges": [{"start": "22:00", "end": "02:00"}]}],
     "bufferBeforeMinutes": 0, "bufferAfterMinutes": 0, "minimumNoticeMinutes": 0,
     "horizonDays": 60, "dailyCap": null}
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from lib.core.errors import FieldError, ValidationFailed
from lib.core.input_rules import day_in_range
from lib.engine.link_rules import (
    WEEKDAY_NAMES,
    DateOverride,
    LinkRules,
    OverrideKind,
    TimeRange,
    WeeklyHours,
    format_clock_minutes,
    link_rules_problems,
    parse_clock_minutes,
)

_DEFAULTS: dict[str, int] = {
    "bufferBeforeMinutes": 0,
    "bufferAfterMinutes": 0,
    "minimumNoticeMinutes": 0,
    "horizonDays": 60,
}
_KNOWN_FIELDS = frozenset(
    {"durationMinutes", "slotStepMinutes", "timeZone", "weeklyHours", "dateOverrides", "dailyCap", *_DEFAULTS}
)


class _Collector:
    """Reads fields out of untrusted JSON, noting a FieldError instead of raising at the first."""

    def __init__(self) -> None:
        self.problems: list[FieldError] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(FieldError(path, message))

    def integer(self, data: Mapping[str, Any], key: str, default: int | None = None) -> int:
        value = data.get(key, default)
        if value is None:
            self.fail(key, "is required")
            return 0
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, "must be a whole number")
            return 0
        return value

    def time_range(self, path: str, value: Any) -> TimeRange | None:
        if not isinstance(value, Mapping):
            self.fail(path, 'must be an object like {"start": "09:00", "end": "17:00"}')
            return None
        start, end = value.get("start"), value.get("end")
        try:
            start_minute = _clock(start, allow_24=False)
        except ValueError as error:
            self.fail(f"{path}.start", str(error))
            return None
        try:
            end_minute = _clock(end, allow_24=True)
        except ValueError as error:
            self.fail(f"{path}.end", str(error))
            return None
        return TimeRange(start_minute, end_minute)

    def ranges(self, path: str, value: Any) -> tuple[TimeRange, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.fail(path, "must be a list of ranges")
            return ()
        parsed = [self.time_range(f"{path}[{i}]", item) for i, item in enumerate(value)]
        # Keep the user's order: validation messages refer to the indexes they sent.
        return tuple(r for r in parsed if r is not None)


def _clock(value: Any, *, allow_24: bool) -> int:
    if not isinstance(value, str):
        raise ValueError("must be a time of day in HH:MM form")
    return parse_clock_minutes(value, allow_24=allow_24)


def link_rules_from_json(data: Any) -> LinkRules:
    """Parse and validate; raises `ValidationFailed` listing every bad field."""
    if not isinstance(data, Mapping):
        raise ValidationFailed("The body must be a JSON object.", [FieldError("", "must be an object")])
    read = _Collector()
    for key in sorted(set(data) - _KNOWN_FIELDS):
        read.fail(str(key)[:64], "is not a known field")  # echoed back: keep it short

    weekly = data.get("weeklyHours")
    ranges_by_weekday: list[tuple[TimeRange, ...]] = [()] * 7
    if not isinstance(weekly, Mapping):
        read.fail("weeklyHours", 'must be an object like {"monday": [{"start": "09:00", "end": "17:00"}]}')
    else:
        for key in sorted(set(weekly) - set(WEEKDAY_NAMES)):
            read.fail(f"weeklyHours.{str(key)[:64]}", "is not a weekday (monday ... sunday)")
        for weekday, name in enumerate(WEEKDAY_NAMES):
            ranges_by_weekday[weekday] = read.ranges(f"weeklyHours.{name}", weekly.get(name))

    overrides: list[DateOverride] = []
    raw_overrides = data.get("dateOverrides", [])
    if not isinstance(raw_overrides, list):
        read.fail("dateOverrides", "must be a list")
        raw_overrides = []
    for index, item in enumerate(raw_overrides):
        override = _date_override(read, f"dateOverrides[{index}]", item)
        if override is not None:
            overrides.append(override)

    time_zone = data.get("timeZone")
    if not isinstance(time_zone, str):
        read.fail("timeZone", "is required: an IANA time zone name such as 'Europe/Berlin'")
        time_zone = ""
    daily_cap = data.get("dailyCap")
    if daily_cap is not None and (isinstance(daily_cap, bool) or not isinstance(daily_cap, int)):
        read.fail("dailyCap", "must be a whole number or null")
        daily_cap = None

    rules = LinkRules(
        duration_minutes=read.integer(data, "durationMinutes"),
        slot_step_minutes=read.integer(data, "slotStepMinutes", data.get("durationMinutes")),
        weekly_hours=WeeklyHours(tuple(ranges_by_weekday)),
        time_zone=time_zone,
        date_overrides=tuple(overrides),
        buffer_before_minutes=read.integer(data, "bufferBeforeMinutes", _DEFAULTS["bufferBeforeMinutes"]),
        buffer_after_minutes=read.integer(data, "bufferAfterMinutes", _DEFAULTS["bufferAfterMinutes"]),
        minimum_notice_minutes=read.integer(data, "minimumNoticeMinutes", _DEFAULTS["minimumNoticeMinutes"]),
        horizon_days=read.integer(data, "horizonDays", _DEFAULTS["horizonDays"]),
        daily_cap=daily_cap,
    )
    # Report shape problems and rule problems together, but not twice for the same field.
    shape_fields = {p.field for p in read.problems}
    problems = read.problems + [p for p in link_rules_problems(rules) if p.field not in shape_fields]
    if problems:
        raise ValidationFailed("The booking link's scheduling rules are not valid.", problems)
    return rules


def _date_override(read: _Collector, path: str, item: Any) -> DateOverride | None:
    if not isinstance(item, Mapping):
        read.fail(path, 'must be an object like {"date": "2026-12-24", "kind": "dayOff"}')
        return None
    raw_date, raw_kind = item.get("date"), item.get("kind")
    try:
        on = date.fromisoformat(raw_date) if isinstance(raw_date, str) and len(raw_date) == 10 else None
    except ValueError:
        on = None
    if on is None:
        read.fail(f"{path}.date", "must be a date in YYYY-MM-DD form")
    elif not day_in_range(on, f"{path}.date", read.problems):
        on = None
    try:
        kind = OverrideKind(raw_kind)
    except ValueError:
        read.fail(f"{path}.kind", "must be one of: " + ", ".join(k.value for k in OverrideKind))
        return None
    ranges = read.ranges(f"{path}.ranges", item.get("ranges"))
    return DateOverride(on, kind, ranges) if on is not None else None


def link_rules_to_json(rules: LinkRules) -> dict[str, Any]:
    """The inverse of `link_rules_from_json` (for storage and `GET /links`)."""

    def ranges(items: tuple[TimeRange, ...]) -> list[dict[str, str]]:
        return [
            {"start": format_clock_minutes(r.start_minute), "end": format_clock_minutes(r.end_minute)}
            for r in items
        ]

    return {
        "durationMinutes": rules.duration_minutes,
        "slotStepMinutes": rules.slot_step_minutes,
        "timeZone": rules.time_zone,
        "weeklyHours": {
            name: ranges(rules.weekly_hours.for_weekday(day)) for day, name in enumerate(WEEKDAY_NAMES)
        },
        "dateOverrides": [
            {"date": o.on.isoformat(), "kind": o.kind.value}
            | ({"ranges": ranges(o.ranges)} if o.ranges else {})
            for o in rules.date_overrides
        ],
        "bufferBeforeMinutes": rules.buffer_before_minutes,
        "bufferAfterMinutes": rules.buffer_after_minutes,
        "minimumNoticeMinutes": rules.minimum_notice_minutes,
        "horizonDays": rules.horizon_days,
        "dailyCap": rules.daily_cap,
    }
