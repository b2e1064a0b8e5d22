"""Google Calendar events.list items -> busy intervals: all-day dates in the calendar's zone,
timed dateTimes with offsets, transparent and declined events that do not block, occurrences of a
recurring series each blocking on their own, and malformed items failing loudly."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from lib.engine import ShowAs
from lib.engine.busy import BusyInterval
from lib.providers.google.google_events import (
    EVENT_FIELDS,
    MalformedEvent,
    busy_interval_from_event,
    busy_intervals_from_events,
    calendar_zone,
)

SYDNEY = ZoneInfo("Australia/Sydney")
BERLIN = ZoneInfo("Europe/Berlin")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def timed(start: str, end: str, **fields: object) -> dict[str, object]:
    return {
        "id": "e1",
        "status": "confirmed",
        "start": {"dateTime": start},
        "end": {"dateTime": end},
        **fields,
    }


def test_only_what_availability_needs_is_asked_for() -> None:
    assert "summary" not in EVENT_FIELDS and "description" not in EVENT_FIELDS
    assert "email" not in EVENT_FIELDS  # of attendees: only whether one is the owner, and its answer


def test_a_timed_event_blocks_exactly_its_instants_whatever_its_offset() -> None:
    interval = busy_interval_from_event(
        timed("2026-03-09T09:00:00-05:00", "2026-03-09T10:30:00-05:00"), BERLIN
    )
    assert interval == BusyInterval(utc("2026-03-09T14:00:00"), utc("2026-03-09T15:30:00"), ShowAs.BUSY)
    z = busy_interval_from_event(timed("2026-03-09T09:00:00Z", "2026-03-09T10:00:00Z"), BERLIN)
    assert z is not None and z.start_utc == utc("2026-03-09T09:00:00")


def test_a_timed_event_without_an_offset_is_read_in_its_own_zone_else_the_calendars() -> None:
    own = {"dateTime": "2026-03-09T09:00:00", "timeZone": "Europe/Berlin"}
    event = {"status": "confirmed", "start": own, "end": {**own, "dateTime": "2026-03-09T10:00:00"}}
    assert busy_interval_from_event(event, SYDNEY) == BusyInterval(
        utc("2026-03-09T08:00:00"), utc("2026-03-09T09:00:00")
    )
    bare = timed("2026-03-09T09:00:00", "2026-03-09T10:00:00")
    assert busy_interval_from_event(bare, BERLIN) == BusyInterval(
        utc("2026-03-09T08:00:00"), utc("2026-03-09T09:00:00")
    )


def test_an_all_day_event_blocks_the_calendars_local_days() -> None:
    event = {"status": "confirmed", "start": {"date": "2026-03-09"}, "end": {"date": "2026-03-11"}}
    # Two Sydney days (UTC+11 in March), not two UTC days.
    assert busy_interval_from_event(event, SYDNEY) == BusyInterval(
        utc("2026-03-08T13:00:00"), utc("2026-03-10T13:00:00"), ShowAs.BUSY
    )


def test_transparent_declined_cancelled_and_working_location_items_do_not_block() -> None:
    slot = ("2026-03-09T09:00:00Z", "2026-03-09T10:00:00Z")
    assert busy_interval_from_event(timed(*slot, transparency="transparent"), BERLIN) is None
    assert busy_interval_from_event(timed(*slot, status="cancelled"), BERLIN) is None
    assert busy_interval_from_event(timed(*slot, eventType="workingLocation"), BERLIN) is None
    declined = [{"responseStatus": "accepted"}, {"self": True, "responseStatus": "declined"}]
    assert busy_interval_from_event(timed(*slot, attendees=declined), BERLIN) is None
    # Someone else declining changes nothing for the owner.
    others = [{"responseStatus": "declined"}, {"self": True, "responseStatus": "accepted"}]
    assert busy_interval_from_event(timed(*slot, attendees=others), BERLIN) is not None
    assert busy_interval_from_event(timed(*slot, transparency="opaque"), BERLIN) is not None


def test_show_as_follows_the_event_and_the_owners_answer() -> None:
    slot = ("2026-03-09T09:00:00Z", "2026-03-09T10:00:00Z")
    maybe = [{"self": True, "responseStatus": "tentative"}]

    def show_as(**fields: object) -> ShowAs:
        interval = busy_interval_from_event(timed(*slot, **fields), BERLIN)
        assert interval is not None
        return interval.show_as

    assert show_as() is ShowAs.BUSY
    assert show_as(status="tentative") is ShowAs.TENTATIVE
    assert show_as(attendees=maybe) is ShowAs.TENTATIVE
    assert show_as(eventType="outOfOffice") is ShowAs.OOF


def test_occurrences_of_a_recurring_series_each_block_and_a_cancelled_one_does_not() -> None:
    # singleEvents=true: each occurrence is its own item; an occurrence removed from the series
    # comes as a cancelled instance.
    items = [
        timed(f"2026-03-{day}T09:00:00Z", f"2026-03-{day}T09:30:00Z", recurringEventId="r1")
        for day in ("09", "10", "11")
    ]
    items[1]["status"] = "cancelled"
    intervals = busy_intervals_from_events(items, BERLIN)
    assert [i.start_utc.day for i in intervals] == [9, 11]


@pytest.mark.parametrize(
    "event",
    [
        {"status": "confirmed", "end": {"dateTime": "2026-03-09T10:00:00Z"}},
        timed("yesterday", "2026-03-09T10:00:00Z"),
        timed("2026-03-09T10:00:00Z", "2026-03-09T09:00:00Z"),
        {"status": "confirmed", "start": {"date": "2026-03-09"}, "end": {"dateTime": "2026-03-10T00:00:00Z"}},
        {"status": "confirmed", "start": {"date": "9 March"}, "end": {"date": "2026-03-10"}},
        {
            "status": "confirmed",
            "start": {"dateTime": "2026-03-09T09:00:00", "timeZone": "Mars/Olympus"},
            "end": {"dateTime": "2026-03-09T10:00:00", "timeZone": "Mars/Olympus"},
        },
    ],
)
def test_an_event_that_cannot_be_understood_fails_loudly(event: dict[str, object]) -> None:
    with pytest.raises(MalformedEvent):
        busy_interval_from_event(event, BERLIN)


def test_the_calendars_zone_falls_back_when_unreadable() -> None:
    assert calendar_zone("Australia/Sydney", BERLIN) == SYDNEY
    assert calendar_zone("../../etc/passwd", BERLIN) == BERLIN
    assert calendar_zone(None, BERLIN) == BERLIN
