"""The scheduling rules of one booking link, as immutable values, and their validation.

Times of day are minutes since local midnight so that a range can end at 24:00 and can cross
midnight (22:00-02:00) without special types. A range belongs to the local date it starts on:
Friday 22:00-02:00 runs from Friday 22:00 to Saturday 02:00, and a date override for Saturday
does not touch it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from lib.core.errors import FieldError, ValidationFailed
from lib.core.timezones import is_iana_zone_name

MINUTES_PER_DAY = 24 * 60
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# Bounds that keep a link sensible and the engine's output bounded (90 days at a 5-minute step
# is ~26k candidates per host).
MIN_DURATION_MINUTES = 5
MIN_SLOT_STEP_MINUTES = 5
MAX_BUFFER_MINUTES = MINUTES_PER_DAY
MAX_MINIMUM_NOTICE_MINUTES = 365 * MINUTES_PER_DAY
MAX_HORIZON_DAYS = 730
MAX_DAILY_CAP = 1000
MAX_RANGES_PER_DAY = 24
MAX_DATE_OVERRIDES = 1000


@dataclass(frozen=True, slots=True, order=True)
class TimeRange:
    """Local wall-clock hours [start, end). `end_minute <= start_minute` means it ends the next day."""

    start_minute: int  # 0..1439
    end_minute: int  # 1..1440 (1440 = midnight at the end of the day)

    @classmethod
    def parse(cls, start: str, end: str) -> TimeRange:
        """From "HH:MM" strings; "24:00" is accepted as an end. Raises ValueError if malformed."""
        return cls(parse_clock_minutes(start, allow_24=False), parse_clock_minutes(end, allow_24=True))

    @property
    def crosses_midnight(self) -> bool:
        return self.end_minute <= self.start_minute

    @property
    def length_minutes(self) -> int:
        if self.crosses_midnight:
            return MINUTES_PER_DAY - self.start_minute + self.end_minute
        return self.end_minute - self.start_minute

    @property
    def end_offset_minutes(self) -> int:
        """The end as minutes after the start date's midnight (beyond 1440 when crossing)."""
        return self.start_minute + self.length_minutes


def parse_clock_minutes(text: str, *, allow_24: bool) -> int:
    """ "09:30" -> 570. Strict HH:MM so that "9:3" or "09:30:00" are rejected, not guessed."""
    # ASCII digits only: str.isdigit() also takes "²" and other scripts' digits.
    if len(text) != 5 or text[2] != ":" or not (text.isascii() and text[:2].isdigit() and text[3:].isdigit()):
        raise ValueError(f"{text!r} is not a time of day in HH:MM form")
    hours, minutes = int(text[:2]), int(text[3:])
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes != 0 or not allow_24)):
        raise ValueError(f"{text!r} is not a valid time of day")
    return hours * 60 + minutes


def format_clock_minutes(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """Ranges per weekday, Monday first (index = `date.weekday()`)."""

    ranges_by_weekday: tuple[tuple[TimeRange, ...], ...] = ((),) * 7

    @classmethod
    def from_mapping(cls, ranges: Mapping[int, Iterable[TimeRange]]) -> WeeklyHours:
        return cls(tuple(tuple(sorted(ranges.get(day, ()))) for day in range(7)))

    def for_weekday(self, weekday: int) -> tuple[TimeRange, ...]:
        return self.ranges_by_weekday[weekday]


class OverrideKind(enum.Enum):
    DAY_OFF = "dayOff"  # no hours start on that date
    REPLACE = "replace"  # these ranges instead of the weekday's
    ADD = "add"  # these ranges on top of the weekday's


@dataclass(frozen=True, slots=True)
class DateOverride:
    on: date
    kind: OverrideKind
    ranges: tuple[TimeRange, ...] = ()


@dataclass(frozen=True, slots=True)
class LinkRules:
    duration_minutes: int
    slot_step_minutes: int
    weekly_hours: WeeklyHours
    time_zone: str  # IANA name
    date_overrides: tuple[DateOverride, ...] = ()
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    minimum_notice_minutes: int = 0
    horizon_days: int = 60
    daily_cap: int | None = None  # max bookings per local day per host; None = no cap
    # Built once: date -> override, so the engine looks a date up in O(1).
    overrides_by_date: Mapping[date, DateOverride] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "overrides_by_date", {o.on: o for o in self.date_overrides})

    def ranges_starting_on(self, day: date) -> tuple[TimeRange, ...]:
        """The hours that start on this local date, overrides applied."""
        override = self.overrides_by_date.get(day)
        weekly = self.weekly_hours.for_weekday(day.weekday())
        if override is None:
            return weekly
        if override.kind is OverrideKind.DAY_OFF:
            return ()
        if override.kind is OverrideKind.REPLACE:
            return override.ranges
        return tuple(sorted(weekly + override.ranges))


def link_rules_problems(rules: LinkRules) -> list[FieldError]:
    """Everything wrong with `rules`, each addressed by its JSON field path (camelCase)."""
    problems: list[FieldError] = []

    def check_int(name: str, value: int, low: int, high: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems.append(FieldError(name, f"must be a whole number from {low} to {high}"))

    check_int("durationMinutes", rules.duration_minutes, MIN_DURATION_MINUTES, MINUTES_PER_DAY)
    check_int("slotStepMinutes", rules.slot_step_minutes, MIN_SLOT_STEP_MINUTES, MINUTES_PER_DAY)
    check_int("bufferBeforeMinutes", rules.buffer_before_minutes, 0, MAX_BUFFER_MINUTES)
    check_int("bufferAfterMinutes", rules.buffer_after_minutes, 0, MAX_BUFFER_MINUTES)
    check_int("minimumNoticeMinutes", rules.minimum_notice_minutes, 0, MAX_MINIMUM_NOTICE_MINUTES)
    check_int("horizonDays", rules.horizon_days, 1, MAX_HORIZON_DAYS)
    if rules.daily_cap is not None:
        check_int("dailyCap", rules.daily_cap, 1, MAX_DAILY_CAP)
    if not isinstance(rules.time_zone, str) or not is_iana_zone_name(rules.time_zone):
        problems.append(FieldError("timeZone", "must be an IANA time zone name such as 'Europe/Berlin'"))

    if len(rules.weekly_hours.ranges_by_weekday) != 7:
        problems.append(FieldError("weeklyHours", "must have hours for 7 weekdays"))
    else:
        for weekday, ranges in enumerate(rules.weekly_hours.ranges_by_weekday):
            problems += _ranges_problems(f"weeklyHours.{WEEKDAY_NAMES[weekday]}", ranges)

    if len(rules.date_overrides) > MAX_DATE_OVERRIDES:
        problems.append(FieldError("dateOverrides", f"at most {MAX_DATE_OVERRIDES} overrides"))
    seen: set[date] = set()
    for index, override in enumerate(rules.date_overrides):
        path = f"dateOverrides[{index}]"
        if override.on in seen:
            problems.append(FieldError(f"{path}.date", "another override has the same date"))
        seen.add(override.on)
        if override.kind is OverrideKind.DAY_OFF and override.ranges:
            problems.append(FieldError(f"{path}.ranges", "a day off has no hours"))
        if override.kind is not OverrideKind.DAY_OFF and not override.ranges:
            problems.append(FieldError(f"{path}.ranges", "needs at least one range of hours"))
        problems += _ranges_problems(f"{path}.ranges", override.ranges)
    return problems


def _ranges_problems(path: str, ranges: tuple[TimeRange, ...]) -> list[FieldError]:
    problems: list[FieldError] = []
    if len(ranges) > MAX_RANGES_PER_DAY:
        problems.append(FieldError(path, f"at most {MAX_RANGES_PER_DAY} ranges a day"))
    for index, time_range in enumerate(ranges):
        if not 0 <= time_range.start_minute < MINUTES_PER_DAY:
            problems.append(FieldError(f"{path}[{index}].start", "must be from 00:00 to 23:59"))
        elif not 0 < time_range.end_minute <= MINUTES_PER_DAY:
            problems.append(FieldError(f"{path}[{index}].end", "must be from 00:01 to 24:00"))
        elif time_range.start_minute == time_range.end_minute:
            # 09:00-09:00 could mean "nothing" or "24 hours"; make the user say which.
            problems.append(FieldError(f"{path}[{index}].end", "must differ from start"))
    covered_until = -1  # furthest end (minutes after this day's midnight) of ranges seen so far
    for index, time_range in sorted(enumerate(ranges), key=lambda item: item[1].start_minute):
        if time_range.start_minute < covered_until:
            problems.append(FieldError(f"{path}[{index}]", "overlaps another range of the same day"))
        covered_until = max(covered_until, time_range.end_offset_minutes)
    return problems


def validate_link_rules(rules: LinkRules) -> LinkRules:
    """`rules` unchanged if valid; `ValidationFailed` listing every problem otherwise."""
    problems = link_rules_problems(rules)
    if problems:
        raise ValidationFailed("The booking link's scheduling rules are not valid.", problems)
    return rules
