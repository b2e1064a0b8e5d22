"""Booking-link rules: JSON in and out, and field-addressed validation errors."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from lib.core.errors import ValidationFailed
from lib.engine import (
    DateOverride,
    LinkRules,
    OverrideKind,
    TimeRange,
    WeeklyHours,
    link_rules_from_json,
    link_rules_to_json,
    validate_link_rules,
)
from lib.engine.link_rules import parse_clock_minutes


def valid_json(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "durationMinutes": 30,
        "slotStepMinutes": 15,
        "timeZone": "Europe/Berlin",
        "weeklyHours": {
            "monday": [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}],
            "friday": [{"start": "22:00", "end": "02:00"}],
            "sunday": [{"start": "00:00", "end": "24:00"}],
        },
        "dateOverrides": [
            {"date": "2026-12-24", "kind": "dayOff"},
            {"date": "2026-12-27", "kind": "add", "ranges": [{"start": "10:00", "end": "11:00"}]},
        ],
        "bufferBeforeMinutes": 5,
        "bufferAfterMinutes": 10,
        "minimumNoticeMinutes": 120,
        "horizonDays": 30,
        "dailyCap": 4,
    }
    return body | changes


def problems_of(body: Any) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as raised:
        link_rules_from_json(body)
    assert raised.value.code == "validation_error"
    assert raised.value.extensions["errors"] == [
        {"field": e.field, "message": e.message} for e in raised.value.errors
    ]
    return {e.field: e.message for e in raised.value.errors}


def test_json_round_trip() -> None:
    rules = link_rules_from_json(valid_json())
    assert rules.weekly_hours.for_weekday(4) == (TimeRange(22 * 60, 2 * 60),)
    assert rules.weekly_hours.for_weekday(4)[0].crosses_midnight
    assert rules.weekly_hours.for_weekday(6) == (TimeRange(0, 1440),)
    assert rules.date_overrides[0] == DateOverride(date(2026, 12, 24), OverrideKind.DAY_OFF)
    assert link_rules_to_json(rules) == valid_json() | {
        "weeklyHours": valid_json()["weeklyHours"]
        | {"tuesday": [], "wednesday": [], "thursday": [], "saturday": []}
    }


def test_defaults() -> None:
    rules = link_rules_from_json(
        {
            "durationMinutes": 45,
            "timeZone": "UTC",
            "weeklyHours": {"monday": [{"start": "09:00", "end": "17:00"}]},
        }
    )
    assert (rules.slot_step_minutes, rules.horizon_days, rules.daily_cap) == (45, 60, None)
    assert (rules.buffer_before_minutes, rules.minimum_notice_minutes) == (0, 0)


def test_every_problem_is_reported_with_its_field() -> None:
    body = valid_json(
        durationMinutes=0,
        slotStepMinutes="15",
        timeZone="Europe/Atlantis",
        horizonDays=5000,
        dailyCap=True,
        colour="red",
        weeklyHours={
            "monday": [{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "13:00"}],
            "tuesday": [{"start": "9:00", "end": "17:00"}],
            "wednesday": [{"start": "09:00", "end": "25:00"}],
            "thursday": [{"start": "10:00", "end": "10:00"}],
            "funday": [],
        },
        dateOverrides=[
            {"date": "2026-12-24", "kind": "dayOff", "ranges": [{"start": "10:00", "end": "11:00"}]},
            {"date": "2026-12-24", "kind": "replace"},
            {"date": "24.12.2026", "kind": "add", "ranges": [{"start": "10:00", "end": "11:00"}]},
            {"date": "2026-12-25", "kind": "holiday"},
        ],
    )
    assert problems_of(body) == {
        "colour": "is not a known field",
        "durationMinutes": "must be a whole number from 5 to 1440",
        "slotStepMinutes": "must be a whole number",
        "timeZone": "must be an IANA time zone name such as 'Europe/Berlin'",
        "horizonDays": "must be a whole number from 1 to 730",
        "dailyCap": "must be a whole number or null",
        "weeklyHours.monday[1]": "overlaps another range of the same day",
        "weeklyHours.tuesday[0].start": "'9:00' is not a time of day in HH:MM form",
        "weeklyHours.wednesday[0].end": "'25:00' is not a valid time of day",
        "weeklyHours.thursday[0].end": "must differ from start",
        "weeklyHours.funday": "is not a weekday (monday ... sunday)",
        "dateOverrides[0].ranges": "a day off has no hours",
        "dateOverrides[1].date": "another override has the same date",
        "dateOverrides[1].ranges": "needs at least one range of hours",
        "dateOverrides[2].date": "must be a date in YYYY-MM-DD form",
        "dateOverrides[3].kind": "must be one of: dayOff, replace, add",
    }


def test_missing_required_fields() -> None:
    problems = problems_of({})
    assert set(problems) == {"durationMinutes", "slotStepMinutes", "timeZone", "weeklyHours"}


def test_not_an_object() -> None:
    assert problems_of([1, 2]) == {"": "must be an object"}


def test_crossing_range_overlapping_a_later_range_of_the_same_day() -> None:
    body = valid_json(
        weeklyHours={"friday": [{"start": "22:00", "end": "02:00"}, {"start": "23:00", "end": "23:30"}]}
    )
    assert problems_of(body) == {"weeklyHours.friday[1]": "overlaps another range of the same day"}


def test_24_00_only_as_an_end() -> None:
    body = valid_json(weeklyHours={"monday": [{"start": "24:00", "end": "24:00"}]})
    assert problems_of(body) == {"weeklyHours.monday[0].start": "'24:00' is not a valid time of day"}


def test_validate_link_rules_on_dataclasses() -> None:
    good = LinkRules(30, 30, WeeklyHours.from_mapping({0: [TimeRange.parse("09:00", "17:00")]}), "UTC")
    assert validate_link_rules(good) is good
    bad = LinkRules(30, 3, WeeklyHours(((),) * 6), "UTC", buffer_after_minutes=-1)
    with pytest.raises(ValidationFailed) as raised:
        validate_link_rules(bad)
    assert {e.field for e in raised.value.errors} == {"slotStepMinutes", "bufferAfterMinutes", "weeklyHours"}


def test_time_range_lengths() -> None:
    assert TimeRange.parse("22:00", "02:00").length_minutes == 240
    assert TimeRange.parse("09:00", "17:30").length_minutes == 510
    assert TimeRange.parse("00:00", "24:00").length_minutes == 1440
    with pytest.raises(ValueError):
        TimeRange.parse("09:00", "17:60")


@pytest.mark.parametrize(
    "text", ["\u0660\u0669:\u0663\u0660", "1\u00b2:00", "09:\u00b30", "\uff10\uff19:\uff13\uff10"]
)
def test_a_time_of_day_is_ascii_digits_only(text: str) -> None:
    # str.isdigit() takes these; int() would read some of them as 09:30 and refuse the others.
    with pytest.raises(ValueError, match="HH:MM"):
        parse_clock_minutes(text, allow_24=False)
