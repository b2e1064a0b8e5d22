"""The slot engine on ordinary days: hours, busy time, buffers, notice, horizon, overrides, caps."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import ClassVar

import pytest

from lib.core.errors import ValidationFailed
from lib.engine import (
    BusyInterval,
    DateOverride,
    OverrideKind,
    ShowAs,
    ShowAsPolicy,
    Slot,
    TimeRange,
    free_slots,
)
from tests.unit.availability._builders import (
    FRIDAY,
    MONDAY,
    TUESDAY,
    WEDNESDAY,
    busy,
    hours,
    rules,
    shown,
    slots_on,
    starts,
    utc,
)

# 2026-06-15 is a Monday.
MONDAY_15 = date(2026, 6, 15)
BERLIN = "Europe/Berlin"


def test_weekly_hours_with_two_ranges_a_day_on_a_step_grid() -> None:
    link = rules({MONDAY: hours(("09:00", "10:00"), ("13:00", "14:00"))}, BERLIN, duration=30, step=15)
    assert shown(slots_on(link, MONDAY_15), BERLIN) == [
        "09:00+02:00-09:30+02:00",
        "09:15+02:00-09:45+02:00",
        "09:30+02:00-10:00+02:00",
        "13:00+02:00-13:30+02:00",
        "13:15+02:00-13:45+02:00",
        "13:30+02:00-14:00+02:00",
    ]


def test_grid_is_aligned_to_each_range_start() -> None:
    link = rules({MONDAY: hours(("09:10", "10:10"))}, "UTC", duration=20, step=20)
    assert starts(slots_on(link, MONDAY_15), "UTC") == [
        "2026-06-15 09:10",
        "2026-06-15 09:30",
        "2026-06-15 09:50",
    ]


def test_days_without_hours_offer_nothing() -> None:
    link = rules({MONDAY: hours(("09:00", "17:00"))}, BERLIN)
    assert slots_on(link, date(2026, 6, 16)) == []


def test_hours_crossing_midnight_belong_to_the_day_they_start() -> None:
    link = rules({FRIDAY: hours(("22:00", "02:00"))}, BERLIN, duration=60)
    # Friday 2026-06-19 and Saturday 2026-06-20 asked together.
    assert starts(slots_on(link, date(2026, 6, 19), days=2), BERLIN) == [
        "2026-06-19 22:00",
        "2026-06-19 23:00",
        "2026-06-20 00:00",
        "2026-06-20 01:00",
    ]


def test_after_midnight_part_is_offered_when_only_the_next_day_is_asked() -> None:
    link = rules({FRIDAY: hours(("22:00", "02:00"))}, BERLIN, duration=60)
    assert starts(slots_on(link, date(2026, 6, 20)), BERLIN) == ["2026-06-20 00:00", "2026-06-20 01:00"]


def test_hours_until_midnight_with_24_00() -> None:
    link = rules({MONDAY: hours(("22:00", "24:00"))}, "UTC", duration=60)
    assert starts(slots_on(link, MONDAY_15, days=2), "UTC") == ["2026-06-15 22:00", "2026-06-15 23:00"]


class TestBusy:
    link = rules({MONDAY: hours(("09:00", "13:00"))}, "UTC", duration=30)

    def test_busy_interval_is_half_open(self) -> None:
        taken = [busy("2026-06-15T10:00", "2026-06-15T11:00")]
        assert starts(slots_on(self.link, MONDAY_15, busy_intervals=taken), "UTC") == [
            "2026-06-15 09:00",
            "2026-06-15 09:30",  # ends exactly when the meeting starts
            "2026-06-15 11:00",  # starts exactly when it ends
            "2026-06-15 11:30",
            "2026-06-15 12:00",
            "2026-06-15 12:30",
        ]

    def test_buffers_keep_time_free_before_and_after_the_booking(self) -> None:
        link = rules(
            {MONDAY: hours(("09:00", "13:00"))},
            "UTC",
            duration=30,
            buffer_before_minutes=15,
            buffer_after_minutes=15,
        )
        taken = [busy("2026-06-15T10:00", "2026-06-15T11:00")]
        assert starts(slots_on(link, MONDAY_15, busy_intervals=taken), "UTC") == [
            "2026-06-15 09:00",  # 09:30 + 15 min after = 09:45, clear of 10:00
            # 09:30 would need 10:00-10:15 free; 11:00 would need 10:45-11:00 free
            "2026-06-15 11:30",
            "2026-06-15 12:00",
            "2026-06-15 12:30",
        ]

    def test_only_the_buffer_before_counts_before_a_slot(self) -> None:
        link = rules({MONDAY: hours(("09:00", "13:00"))}, "UTC", duration=30, buffer_before_minutes=60)
        taken = [busy("2026-06-15T10:00", "2026-06-15T11:00")]
        assert starts(slots_on(link, MONDAY_15, busy_intervals=taken), "UTC") == [
            "2026-06-15 09:00",
            "2026-06-15 09:30",
            "2026-06-15 12:00",
            "2026-06-15 12:30",
        ]

    def test_overlapping_and_unsorted_busy_intervals(self) -> None:
        taken = [
            busy("2026-06-15T12:10", "2026-06-15T12:20"),
            busy("2026-06-15T09:00", "2026-06-15T09:45"),
            busy("2026-06-15T09:40", "2026-06-15T10:05"),
            busy("2026-06-14T00:00", "2026-06-14T23:00"),
        ]
        assert starts(slots_on(self.link, MONDAY_15, busy_intervals=taken), "UTC") == [
            "2026-06-15 10:30",
            "2026-06-15 11:00",
            "2026-06-15 11:30",
            "2026-06-15 12:30",
        ]

    def test_show_as_decides_what_blocks(self) -> None:
        taken = [
            busy("2026-06-15T09:00", "2026-06-15T10:00", ShowAs.FREE),
            busy("2026-06-15T10:00", "2026-06-15T11:00", ShowAs.WORKING_ELSEWHERE),
            busy("2026-06-15T11:00", "2026-06-15T12:00", ShowAs.TENTATIVE),
            busy("2026-06-15T12:00", "2026-06-15T12:30", ShowAs.UNKNOWN),
            busy("2026-06-15T12:30", "2026-06-15T13:00", ShowAs.OOF),
        ]
        assert starts(slots_on(self.link, MONDAY_15, busy_intervals=taken), "UTC") == [
            "2026-06-15 09:00",
            "2026-06-15 09:30",
            "2026-06-15 10:00",
            "2026-06-15 10:30",
        ]

    def test_a_user_can_let_tentative_events_not_block(self) -> None:
        taken = [busy("2026-06-15T09:00", "2026-06-15T12:30", ShowAs.TENTATIVE)]
        policy = ShowAsPolicy.from_names(["busy", "oof", "unknown"])
        offered = slots_on(self.link, MONDAY_15, busy_intervals=taken, show_as_policy=policy)
        assert len(offered) == 8


def test_minimum_notice_counts_from_now() -> None:
    link = rules({MONDAY: hours(("09:00", "13:00"))}, "UTC", duration=30, minimum_notice_minutes=60)
    offered = slots_on(link, MONDAY_15, now=utc("2026-06-15T09:10"))
    assert starts(offered, "UTC")[:2] == ["2026-06-15 10:30", "2026-06-15 11:00"]
    assert len(offered) == 5


def test_past_slots_are_never_offered() -> None:
    link = rules({MONDAY: hours(("09:00", "11:00"))}, "UTC", duration=30)
    assert starts(slots_on(link, MONDAY_15, now=utc("2026-06-15T10:00")), "UTC") == [
        "2026-06-15 10:00",
        "2026-06-15 10:30",
    ]


def test_horizon_counts_whole_local_days_from_today() -> None:
    every_day = {day: hours(("09:00", "10:00")) for day in range(7)}
    link = rules(every_day, BERLIN, duration=60, horizon_days=2)
    # 23:30 in Berlin on 2026-06-15 is 21:30 UTC: "today" is the 15th in the link's zone.
    offered = slots_on(link, date(2026, 6, 15), days=7, now=utc("2026-06-15T21:30"))
    assert starts(offered, BERLIN) == ["2026-06-16 09:00"]


def test_horizon_of_one_day_is_today_only() -> None:
    every_day = {day: hours(("09:00", "10:00")) for day in range(7)}
    link = rules(every_day, "UTC", duration=60, horizon_days=1)
    offered = slots_on(link, MONDAY_15, days=3, now=utc("2026-06-15T00:00"))
    assert starts(offered, "UTC") == ["2026-06-15 09:00"]


class TestDateOverrides:
    weekly: ClassVar[dict[int, list[TimeRange]]] = {
        MONDAY: hours(("09:00", "11:00")),
        FRIDAY: hours(("22:00", "02:00")),
    }

    def test_day_off(self) -> None:
        link = rules(
            self.weekly, "UTC", duration=60, overrides=[DateOverride(MONDAY_15, OverrideKind.DAY_OFF)]
        )
        assert slots_on(link, MONDAY_15) == []
        assert len(slots_on(link, date(2026, 6, 22))) == 2  # the next Monday is untouched

    def test_replacement_hours(self) -> None:
        override = DateOverride(MONDAY_15, OverrideKind.REPLACE, tuple(hours(("14:00", "15:00"))))
        link = rules(self.weekly, "UTC", duration=60, overrides=[override])
        assert starts(slots_on(link, MONDAY_15), "UTC") == ["2026-06-15 14:00"]

    def test_extra_hours_on_a_day_without_weekly_hours(self) -> None:
        saturday = date(2026, 6, 20)
        override = DateOverride(saturday, OverrideKind.ADD, tuple(hours(("10:00", "11:00"))))
        link = rules(self.weekly, "UTC", duration=60, overrides=[override])
        # Friday's 22:00-02:00 spills into Saturday too.
        assert starts(slots_on(link, saturday), "UTC") == [
            "2026-06-20 00:00",
            "2026-06-20 01:00",
            "2026-06-20 10:00",
        ]

    def test_extra_hours_on_top_of_weekly_hours(self) -> None:
        override = DateOverride(MONDAY_15, OverrideKind.ADD, tuple(hours(("18:00", "19:00"))))
        link = rules(self.weekly, "UTC", duration=60, overrides=[override])
        assert starts(slots_on(link, MONDAY_15), "UTC") == [
            "2026-06-15 09:00",
            "2026-06-15 10:00",
            "2026-06-15 18:00",
        ]

    def test_day_off_does_not_cut_the_previous_nights_hours(self) -> None:
        saturday = date(2026, 6, 20)
        link = rules(
            self.weekly, "UTC", duration=60, overrides=[DateOverride(saturday, OverrideKind.DAY_OFF)]
        )
        assert starts(slots_on(link, saturday), "UTC") == ["2026-06-20 00:00", "2026-06-20 01:00"]


class TestDailyCap:
    weekly: ClassVar[dict[int, list[TimeRange]]] = {
        day: hours(("09:00", "11:00")) for day in (MONDAY, TUESDAY, WEDNESDAY)
    }

    def test_days_that_reached_the_cap_offer_nothing(self) -> None:
        link = rules(self.weekly, BERLIN, duration=60, daily_cap=2)
        booked = {date(2026, 6, 16): 2, date(2026, 6, 17): 1}
        offered = slots_on(link, MONDAY_15, days=3, bookings_per_local_date=booked)
        assert starts(offered, BERLIN) == [
            "2026-06-15 09:00",
            "2026-06-15 10:00",
            "2026-06-17 09:00",
            "2026-06-17 10:00",
        ]

    def test_without_a_cap_bookings_counts_are_ignored(self) -> None:
        link = rules(self.weekly, BERLIN, duration=60)
        offered = slots_on(link, MONDAY_15, days=3, bookings_per_local_date={date(2026, 6, 16): 50})
        assert len(offered) == 6

    def test_cap_counts_the_local_date_of_the_slot_start(self) -> None:
        link = rules({FRIDAY: hours(("22:00", "02:00"))}, BERLIN, duration=60, daily_cap=1)
        offered = slots_on(link, date(2026, 6, 19), days=2, bookings_per_local_date={date(2026, 6, 20): 1})
        assert starts(offered, BERLIN) == ["2026-06-19 22:00", "2026-06-19 23:00"]


class TestWindow:
    link = rules({MONDAY: hours(("09:00", "12:00"))}, "UTC", duration=60)

    def test_slots_whose_start_lies_in_the_window(self) -> None:
        offered = free_slots(
            self.link, [], utc("2026-06-15T09:30"), utc("2026-06-15T11:00"), utc("2026-06-01T00:00")
        )
        assert offered == [Slot(utc("2026-06-15T10:00"), utc("2026-06-15T11:00"))]

    def test_empty_or_inverted_window(self) -> None:
        now = utc("2026-06-01T00:00")
        assert free_slots(self.link, [], utc("2026-06-15T12:00"), utc("2026-06-15T09:00"), now) == []

    def test_naive_datetimes_are_refused(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            free_slots(self.link, [], datetime(2026, 6, 15), utc("2026-06-16T00:00"), utc("2026-06-01T00:00"))
        with pytest.raises(ValueError, match="timezone-aware"):
            BusyInterval(datetime(2026, 6, 15, 9), datetime(2026, 6, 15, 10, tzinfo=UTC))

    def test_invalid_rules_are_refused_not_looped_over(self) -> None:
        broken = replace(self.link, slot_step_minutes=0)
        with pytest.raises(ValidationFailed) as raised:
            free_slots(broken, [], utc("2026-06-15T00:00"), utc("2026-06-16T00:00"), utc("2026-06-01T00:00"))
        assert [e.field for e in raised.value.errors] == ["slotStepMinutes"]

    def test_unknown_link_zone_is_a_validation_error(self) -> None:
        broken = replace(self.link, time_zone="Mars/Olympus_Mons")
        with pytest.raises(ValidationFailed):
            free_slots(broken, [], utc("2026-06-15T00:00"), utc("2026-06-16T00:00"), utc("2026-06-01T00:00"))
