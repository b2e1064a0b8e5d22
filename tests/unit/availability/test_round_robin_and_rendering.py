"""Round-robin pools and how slots are shown to a viewer."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from lib.core.timezones import UnknownTimeZone
from lib.engine import (
    HostBusyTime,
    PooledSlot,
    ShowAs,
    ShowAsPolicy,
    Slot,
    free_slots_by_host,
    pool_free_slots,
    render_slot,
    render_slots,
)
from tests.unit.availability._builders import MONDAY, busy, hours, rules, slots_on, utc


def slot(hour: int) -> Slot:
    return Slot(utc(f"2026-06-15T{hour:02d}:00"), utc(f"2026-06-15T{hour + 1:02d}:00"))


class TestRoundRobin:
    def test_a_slot_is_offered_if_any_host_is_free_and_names_the_free_hosts(self) -> None:
        pooled = pool_free_slots({"bob": [slot(10), slot(12)], "alice": [slot(9), slot(10), slot(11)]})
        assert [(p.slot, p.free_host_ids) for p in pooled] == [
            (slot(9), ("alice",)),
            (slot(10), ("alice", "bob")),
            (slot(11), ("alice",)),
            (slot(12), ("bob",)),
        ]

    def test_no_hosts_or_no_free_time(self) -> None:
        assert pool_free_slots({}) == []
        assert pool_free_slots({"alice": [], "bob": []}) == []

    def test_with_the_engine(self) -> None:
        link = rules({MONDAY: hours(("09:00", "12:00"))}, "UTC", duration=60)
        day = date(2026, 6, 15)
        per_host = {
            "alice": slots_on(link, day, busy_intervals=[busy("2026-06-15T09:00", "2026-06-15T11:00")]),
            "bob": slots_on(link, day, busy_intervals=[busy("2026-06-15T10:00", "2026-06-15T12:00")]),
            "carol": slots_on(link, day, busy_intervals=[busy("2026-06-15T09:00", "2026-06-15T12:00")]),
        }
        assert pool_free_slots(per_host) == [
            PooledSlot(utc("2026-06-15T09:00"), utc("2026-06-15T10:00"), ("bob",)),
            PooledSlot(utc("2026-06-15T11:00"), utc("2026-06-15T12:00"), ("alice",)),
        ]

    def test_each_host_keeps_its_own_show_as_policy_and_daily_cap(self) -> None:
        link = rules({MONDAY: hours(("09:00", "11:00"))}, "UTC", duration=60, daily_cap=1)
        tentative = [busy("2026-06-15T09:00", "2026-06-15T10:00", ShowAs.TENTATIVE)]
        per_host = free_slots_by_host(
            link,
            {
                "alice": HostBusyTime(tentative),
                "bob": HostBusyTime(tentative, ShowAsPolicy.from_names(["busy"])),
                "carol": HostBusyTime([], bookings_per_local_date={date(2026, 6, 15): 1}),
            },
            utc("2026-06-15T00:00"),
            utc("2026-06-16T00:00"),
            utc("2026-06-01T00:00"),
        )
        assert pool_free_slots(per_host) == [
            PooledSlot(utc("2026-06-15T09:00"), utc("2026-06-15T10:00"), ("bob",)),
            PooledSlot(utc("2026-06-15T10:00"), utc("2026-06-15T11:00"), ("alice", "bob")),
        ]


class TestRendering:
    def test_iso_8601_with_the_viewers_offset(self) -> None:
        view = render_slots([slot(14)], "Australia/Lord_Howe")[0]
        assert view.to_json() == {"start": "2026-06-16T00:30:00+10:30", "end": "2026-06-16T01:30:00+10:30"}

    def test_utc_viewer(self) -> None:
        assert render_slot(slot(9), ZoneInfo("UTC")).start == "2026-06-15T09:00:00+00:00"

    def test_unknown_viewer_zone_is_a_validation_error_on_the_timezone_parameter(self) -> None:
        with pytest.raises(UnknownTimeZone) as raised:
            render_slots([slot(9)], "Nowhere/Special")
        assert raised.value.code == "validation_error"
        assert raised.value.errors[0].field == "timezone"
