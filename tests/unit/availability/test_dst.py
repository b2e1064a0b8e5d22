"""Slots on DST change days: what a booking page in the link's zone shows, slot by slot.

Rules under test: a wall time skipped by spring-forward is not offered; a wall time repeated by
fall-back is offered once, at its first occurrence; slot lengths are real elapsed minutes; the
grid stays aligned to the range start on the wall clock.
"""

from __future__ import annotations

from datetime import date

from tests.unit.availability._builders import SATURDAY, SUNDAY, hours, rules, shown, slots_on

NEW_YORK = "America/New_York"
LONDON = "Europe/London"
LORD_HOWE = "Australia/Lord_Howe"


class TestNewYork:
    # 2026-03-08 (Sunday): 02:00 EST -> 03:00 EDT. 2026-11-01 (Sunday): 02:00 EDT -> 01:00 EST.

    def test_spring_forward_skips_the_missing_hour(self) -> None:
        link = rules({SUNDAY: hours(("00:00", "04:00"))}, NEW_YORK, duration=30)
        assert shown(slots_on(link, date(2026, 3, 8)), NEW_YORK) == [
            "00:00-05:00-00:30-05:00",
            "00:30-05:00-01:00-05:00",
            "01:00-05:00-01:30-05:00",
            "01:30-05:00-03:00-04:00",  # 30 real minutes, across the jump
            "03:00-04:00-03:30-04:00",
            "03:30-04:00-04:00-04:00",
        ]

    def test_spring_forward_slot_lengths_are_real_minutes(self) -> None:
        link = rules({SUNDAY: hours(("00:00", "04:00"))}, NEW_YORK, duration=60, step=30)
        assert shown(slots_on(link, date(2026, 3, 8)), NEW_YORK) == [
            "00:00-05:00-01:00-05:00",
            "00:30-05:00-01:30-05:00",
            "01:00-05:00-03:00-04:00",
            "01:30-05:00-03:30-04:00",
            "03:00-04:00-04:00-04:00",
        ]

    def test_fall_back_offers_the_repeated_hour_once_at_first_occurrence(self) -> None:
        link = rules({SUNDAY: hours(("00:00", "04:00"))}, NEW_YORK, duration=30)
        assert shown(slots_on(link, date(2026, 11, 1)), NEW_YORK) == [
            "00:00-04:00-00:30-04:00",
            "00:30-04:00-01:00-04:00",
            "01:00-04:00-01:30-04:00",
            "01:30-04:00-01:00-05:00",  # ends at the second 01:00: still 30 real minutes
            "02:00-05:00-02:30-05:00",
            "02:30-05:00-03:00-05:00",
            "03:00-05:00-03:30-05:00",
            "03:30-05:00-04:00-05:00",
        ]

    def test_hours_ending_inside_the_skipped_hour_end_at_the_jump(self) -> None:
        # Saturday 22:00-02:30 crosses into the spring-forward night; 02:30 never shows on the
        # clock, so the hours end when the clock jumps (03:00 EDT).
        link = rules({SATURDAY: hours(("22:00", "02:30"))}, NEW_YORK, duration=30)
        assert shown(slots_on(link, date(2026, 3, 7), days=2), NEW_YORK) == [
            "22:00-05:00-22:30-05:00",
            "22:30-05:00-23:00-05:00",
            "23:00-05:00-23:30-05:00",
            "23:30-05:00-00:00-05:00",
            "00:00-05:00-00:30-05:00",
            "00:30-05:00-01:00-05:00",
            "01:00-05:00-01:30-05:00",
            "01:30-05:00-03:00-04:00",
        ]

    def test_ordinary_day_hours_follow_the_wall_clock_across_the_change(self) -> None:
        link = rules({SUNDAY: hours(("09:00", "10:00"))}, NEW_YORK, duration=60)
        before = slots_on(link, date(2026, 3, 1))
        after = slots_on(link, date(2026, 3, 8))
        assert shown(before, NEW_YORK) == ["09:00-05:00-10:00-05:00"]
        assert shown(after, NEW_YORK) == ["09:00-04:00-10:00-04:00"]
        assert before[0].start_utc.hour == 14 and after[0].start_utc.hour == 13


class TestLondon:
    # 2026-03-29: 01:00 GMT -> 02:00 BST. 2026-10-25: 02:00 BST -> 01:00 GMT.

    def test_spring_forward(self) -> None:
        link = rules({SUNDAY: hours(("00:00", "03:00"))}, LONDON, duration=30)
        assert shown(slots_on(link, date(2026, 3, 29)), LONDON) == [
            "00:00+00:00-00:30+00:00",
            "00:30+00:00-02:00+01:00",
            "02:00+01:00-02:30+01:00",
            "02:30+01:00-03:00+01:00",
        ]

    def test_fall_back(self) -> None:
        link = rules({SUNDAY: hours(("00:00", "03:00"))}, LONDON, duration=30)
        assert shown(slots_on(link, date(2026, 10, 25)), LONDON) == [
            "00:00+01:00-00:30+01:00",
            "00:30+01:00-01:00+01:00",
            "01:00+01:00-01:30+01:00",
            "01:30+01:00-01:00+00:00",
            "02:00+00:00-02:30+00:00",
            "02:30+00:00-03:00+00:00",
        ]

    def test_viewer_in_new_york_sees_london_slots_in_their_own_offsets(self) -> None:
        link = rules({SUNDAY: hours(("09:00", "10:00"))}, LONDON, duration=60)
        # 2026-03-22: New York is already on EDT, London still on GMT (4 hours apart, not 5).
        assert shown(slots_on(link, date(2026, 3, 22)), "America/New_York") == ["05:00-04:00-06:00-04:00"]


class TestLordHowe:
    # A 30-minute DST shift. 2026-04-05: 02:00 (+11:00) -> 01:30 (+10:30).
    # 2026-10-04: 02:00 (+10:30) -> 02:30 (+11:00).

    def test_spring_forward_skips_half_an_hour(self) -> None:
        link = rules({SUNDAY: hours(("01:00", "03:30"))}, LORD_HOWE, duration=30, step=15)
        assert shown(slots_on(link, date(2026, 10, 4)), LORD_HOWE) == [
            "01:00+10:30-01:30+10:30",
            "01:15+10:30-01:45+10:30",
            "01:30+10:30-02:30+11:00",
            "01:45+10:30-02:45+11:00",
            # 02:00 and 02:15 do not exist
            "02:30+11:00-03:00+11:00",
            "02:45+11:00-03:15+11:00",
            "03:00+11:00-03:30+11:00",
        ]

    def test_fall_back_repeats_half_an_hour_offered_once(self) -> None:
        link = rules({SUNDAY: hours(("01:00", "03:00"))}, LORD_HOWE, duration=30, step=15)
        assert shown(slots_on(link, date(2026, 4, 5)), LORD_HOWE) == [
            "01:00+11:00-01:30+11:00",
            "01:15+11:00-01:45+11:00",
            "01:30+11:00-01:30+10:30",
            "01:45+11:00-01:45+10:30",
            "02:00+10:30-02:30+10:30",
            "02:15+10:30-02:45+10:30",
            "02:30+10:30-03:00+10:30",
        ]
