"""What blocks a host: the showAs policy, all-day events in the mailbox's zone, cancelled events."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lib.engine import DEFAULT_SHOW_AS_POLICY, ShowAs, ShowAsPolicy, all_day_busy_interval
from lib.engine.busy import blocked_spans
from tests.unit.availability._builders import MONDAY, busy, hours, rules, shown, slots_on, utc

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = "America/New_York"


class TestShowAsPolicy:
    @pytest.mark.parametrize(
        ("show_as", "blocks"),
        [
            (ShowAs.BUSY, True),
            (ShowAs.OOF, True),
            (ShowAs.TENTATIVE, True),
            (ShowAs.UNKNOWN, True),
            (ShowAs.FREE, False),
            (ShowAs.WORKING_ELSEWHERE, False),
        ],
    )
    def test_default_policy(self, show_as: ShowAs, blocks: bool) -> None:
        assert DEFAULT_SHOW_AS_POLICY.blocks(show_as) is blocks

    def test_cancelled_events_never_block(self) -> None:
        assert not DEFAULT_SHOW_AS_POLICY.blocks(ShowAs.BUSY, is_cancelled=True)
        assert not ShowAsPolicy(frozenset(ShowAs)).blocks(ShowAs.OOF, is_cancelled=True)

    def test_a_user_can_choose_the_blocking_statuses(self) -> None:
        policy = ShowAsPolicy.from_names(["busy", "workingElsewhere"])
        assert policy.blocks(ShowAs.WORKING_ELSEWHERE)
        assert not policy.blocks(ShowAs.TENTATIVE)
        assert ShowAsPolicy.from_names(None) == DEFAULT_SHOW_AS_POLICY

    def test_unknown_stored_status_is_refused(self) -> None:
        with pytest.raises(ValueError):
            ShowAsPolicy.from_names(["busy", "sleeping"])

    @pytest.mark.parametrize(
        ("graph_value", "show_as"),
        [
            ("busy", ShowAs.BUSY),
            ("workingElsewhere", ShowAs.WORKING_ELSEWHERE),
            ("WorkingElsewhere", ShowAs.WORKING_ELSEWHERE),
            ("oof", ShowAs.OOF),
            ("somethingNew", ShowAs.UNKNOWN),  # fails closed: unknown blocks
            (None, ShowAs.UNKNOWN),
        ],
    )
    def test_graph_values_are_parsed(self, graph_value: str | None, show_as: ShowAs) -> None:
        assert ShowAs.parse(graph_value) is show_as


class TestAllDayEvents:
    def test_all_day_blocks_the_mailbox_owners_local_day(self) -> None:
        interval = all_day_busy_interval(date(2026, 6, 15), date(2026, 6, 16), TOKYO)
        assert (interval.start_utc, interval.end_utc) == (utc("2026-06-14T15:00"), utc("2026-06-15T15:00"))
        assert interval.show_as is ShowAs.BUSY

    def test_graph_midnight_datetimes_are_accepted(self) -> None:
        interval = all_day_busy_interval(datetime(2026, 6, 15), datetime(2026, 6, 16), TOKYO, ShowAs.OOF)
        assert interval.start_utc == utc("2026-06-14T15:00")
        assert interval.show_as is ShowAs.OOF

    def test_multi_day_event_spanning_a_dst_change(self) -> None:
        london = ZoneInfo("Europe/London")
        interval = all_day_busy_interval(date(2026, 3, 28), date(2026, 3, 30), london)
        assert (interval.start_utc, interval.end_utc) == (utc("2026-03-28T00:00"), utc("2026-03-29T23:00"))
        assert interval.end_utc - interval.start_utc == timedelta(hours=47)

    def test_day_starting_with_a_skipped_midnight(self) -> None:
        # Chile springs forward at midnight: 2026-09-06 begins at 01:00 (-03:00).
        interval = all_day_busy_interval(date(2026, 9, 6), date(2026, 9, 7), ZoneInfo("America/Santiago"))
        assert interval.start_utc == utc("2026-09-06T04:00")
        assert interval.end_utc == utc("2026-09-07T03:00")

    def test_bad_end_still_blocks_the_first_day(self) -> None:
        interval = all_day_busy_interval(date(2026, 6, 15), date(2026, 6, 15), TOKYO)
        assert interval.end_utc - interval.start_utc == timedelta(days=1)

    def test_tokyo_host_all_day_event_on_a_new_york_link(self) -> None:
        # The host's mailbox is in Tokyo; the link offers 09:00-17:00 New York time. The Tokyo
        # day of 2026-06-15 ends at 11:00 New York time on the 15th.
        link = rules({MONDAY: hours(("09:00", "17:00"))}, NEW_YORK, duration=60)
        day_off_in_tokyo = all_day_busy_interval(date(2026, 6, 15), date(2026, 6, 16), TOKYO)
        offered = slots_on(link, date(2026, 6, 15), busy_intervals=[day_off_in_tokyo])
        assert [s[:5] for s in shown(offered, NEW_YORK)] == [
            "11:00",
            "12:00",
            "13:00",
            "14:00",
            "15:00",
            "16:00",
        ]


class TestBlockedSpans:
    def test_merges_touching_and_overlapping_and_drops_non_blocking(self) -> None:
        spans = blocked_spans(
            [
                busy("2026-06-15T11:00", "2026-06-15T12:00"),
                busy("2026-06-15T09:00", "2026-06-15T10:00"),
                busy("2026-06-15T10:00", "2026-06-15T10:30", ShowAs.TENTATIVE),
                busy("2026-06-15T09:15", "2026-06-15T09:30"),
                busy("2026-06-15T13:00", "2026-06-15T14:00", ShowAs.FREE),
                busy("2026-06-15T15:00", "2026-06-15T15:00"),  # empty: ignored
            ]
        )
        assert spans == [
            (utc("2026-06-15T09:00"), utc("2026-06-15T10:30")),
            (utc("2026-06-15T11:00"), utc("2026-06-15T12:00")),
        ]

    def test_widening(self) -> None:
        spans = blocked_spans(
            [busy("2026-06-15T09:00", "2026-06-15T10:00")],
            widen_before=timedelta(minutes=10),
            widen_after=timedelta(minutes=5),
        )
        assert spans == [(utc("2026-06-15T08:50"), utc("2026-06-15T10:05"))]
