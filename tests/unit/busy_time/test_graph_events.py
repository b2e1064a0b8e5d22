"""Graph calendarView items -> busy intervals: UTC times with 7 digits, all-day events in the
mailbox's zone, cancelled events, showAs, and malformed items failing loudly."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from lib.engine import ShowAs
from lib.providers.microsoft.graph_events import (
    EVENT_FIELDS,
    MalformedEvent,
    busy_interval_from_event,
    busy_intervals_from_events,
    parse_graph_datetime,
)

TOKYO = ZoneInfo("Asia/Tokyo")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def event(start: str, end: str, **fields: object) -> dict[str, object]:
    return {
        "start": {"dateTime": start, "timeZone": "UTC"},
        "end": {"dateTime": end, "timeZone": "UTC"},
        "showAs": "busy",
        "isAllDay": False,
        "isCancelled": False,
        "type": "singleInstance",
        **fields,
    }


def test_only_the_fields_availability_needs_are_selected() -> None:
    assert set(EVENT_FIELDS.split(",")) == {"start", "end", "showAs", "isAllDay", "isCancelled", "type"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"dateTime": "2026-03-08T09:30:00.0000000", "timeZone": "UTC"}, utc("2026-03-08T09:30:00")),
        ({"dateTime": "2026-03-08T09:30:00.1234567", "timeZone": "UTC"}, utc("2026-03-08T09:30:00.123456")),
        ({"dateTime": "2026-03-08T09:30:00", "timeZone": "UTC"}, utc("2026-03-08T09:30:00")),
        ({"dateTime": "2026-03-08T09:30:00Z"}, utc("2026-03-08T09:30:00")),
        # Prefer ignored: a Windows or IANA zone is still understood.
        (
            {"dateTime": "2026-07-01T09:00:00.0000000", "timeZone": "Pacific Standard Time"},
            utc("2026-07-01T16:00"),
        ),
        ({"dateTime": "2026-07-01T09:00:00.0000000", "timeZone": "Europe/Berlin"}, utc("2026-07-01T07:00")),
    ],
)
def test_graph_date_times(value: dict[str, str], expected: datetime) -> None:
    assert parse_graph_datetime(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        {},
        {"dateTime": 5},
        {"dateTime": "yesterday", "timeZone": "UTC"},
        {"dateTime": "2026-03-08T09:30:00.x", "timeZone": "UTC"},
        {"dateTime": "2026-03-08T09:30:00", "timeZone": "Customized Time Zone"},
    ],
)
def test_malformed_date_times(value: object) -> None:
    with pytest.raises(MalformedEvent):
        parse_graph_datetime(value)


def test_timed_event_blocks_exactly_its_span_even_across_days() -> None:
    interval = busy_interval_from_event(
        event("2026-03-08T22:00:00.0000000", "2026-03-10T06:00:00.0000000"), TOKYO
    )
    assert interval is not None
    assert (interval.start_utc, interval.end_utc) == (utc("2026-03-08T22:00"), utc("2026-03-10T06:00"))


def test_all_day_events_block_the_mailbox_owners_days() -> None:
    item = event("2026-06-15T00:00:00.0000000", "2026-06-17T00:00:00.0000000", isAllDay=True, showAs="oof")
    interval = busy_interval_from_event(item, TOKYO)
    assert interval is not None
    assert (interval.start_utc, interval.end_utc) == (utc("2026-06-14T15:00"), utc("2026-06-16T15:00"))
    assert interval.show_as is ShowAs.OOF


def test_cancelled_events_do_not_block_and_show_as_is_kept() -> None:
    items = [
        event("2026-03-08T09:00:00", "2026-03-08T10:00:00", isCancelled=True),
        event("2026-03-08T10:00:00", "2026-03-08T11:00:00", showAs="tentative"),
        event("2026-03-08T11:00:00", "2026-03-08T12:00:00", showAs="workingElsewhere", type="occurrence"),
        event("2026-03-08T12:00:00", "2026-03-08T13:00:00", showAs="somethingNew"),
    ]
    shown = [i.show_as for i in busy_intervals_from_events(items, TOKYO)]
    assert shown == [ShowAs.TENTATIVE, ShowAs.WORKING_ELSEWHERE, ShowAs.UNKNOWN]


def test_an_event_ending_before_it_starts_is_malformed() -> None:
    with pytest.raises(MalformedEvent):
        busy_interval_from_event(event("2026-03-08T10:00:00", "2026-03-08T09:00:00"), TOKYO)
    with pytest.raises(MalformedEvent):
        busy_intervals_from_events([{"showAs": "busy"}], TOKYO)
