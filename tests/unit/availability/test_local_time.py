"""Wall clock <-> UTC: the DST decisions in one place."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from lib.engine.local_time import start_of_local_day_utc, wall_bound_to_utc, wall_time_to_utc
from tests.unit.availability._builders import utc

NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")


def test_skipped_wall_time_has_no_instant() -> None:
    assert wall_time_to_utc(datetime(2026, 3, 8, 2, 30), NEW_YORK) is None
    assert wall_time_to_utc(datetime(2026, 10, 4, 2, 15), LORD_HOWE) is None


def test_repeated_wall_time_is_its_first_occurrence() -> None:
    assert wall_time_to_utc(datetime(2026, 11, 1, 1, 30), NEW_YORK) == utc("2026-11-01T05:30")
    assert wall_time_to_utc(datetime(2026, 4, 5, 1, 45), LORD_HOWE) == utc("2026-04-04T14:45")


def test_bound_in_a_gap_is_the_moment_of_the_jump() -> None:
    assert wall_bound_to_utc(datetime(2026, 3, 8, 2, 30), NEW_YORK) == utc("2026-03-08T07:00")
    assert wall_bound_to_utc(datetime(2026, 10, 4, 2, 15), LORD_HOWE) == utc("2026-10-03T15:30")
    assert wall_bound_to_utc(datetime(2026, 3, 8, 1, 0), NEW_YORK) == utc("2026-03-08T06:00")


def test_start_of_local_day() -> None:
    assert start_of_local_day_utc(date(2026, 6, 15), NEW_YORK) == utc("2026-06-15T04:00")
    # Chile skips midnight: the day starts at 01:00.
    assert start_of_local_day_utc(date(2026, 9, 6), ZoneInfo("America/Santiago")) == utc("2026-09-06T04:00")
