"""The pure parts of bookings: lock cells, request validation, the event JSON, manage tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lib.core.auth import Forbidden
from lib.core.errors import Unauthorized, ValidationFailed
from lib.features.bookings import locks
from lib.features.bookings.manage_tokens import manage_url, new_token, require_token, token_hash
from lib.features.bookings.validation import (
    body_fingerprint,
    manage_token_from,
    parse_booking_request,
    parse_idempotency_key,
)
from lib.features.links.templates import render
from lib.providers.base import EventContent
from lib.providers.microsoft.outlook_event import BOOKING_ID_PROPERTY, event_json, graph_time


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _overlap(a: tuple[datetime, datetime, int, int], b: tuple[datetime, datetime, int, int]) -> bool:
    cells_a = set(locks.cells(*locks.lock_span(*a)))
    cells_b = set(locks.cells(*locks.lock_span(*b)))
    return bool(cells_a & cells_b)


def test_lock_span_covers_the_slot_and_the_larger_buffer_in_whole_cells() -> None:
    start, end = locks.lock_span(utc("2030-01-07T10:00"), utc("2030-01-07T10:30"), 10, 5)
    assert (start, end) == (utc("2030-01-07T10:00"), utc("2030-01-07T10:40"))
    start, end = locks.lock_span(utc("2030-01-07T10:03"), utc("2030-01-07T10:33"), 0, 0)
    assert (start, end) == (utc("2030-01-07T10:00"), utc("2030-01-07T10:35"))
    assert locks.cells(start, end)[:2] == ["2030-01-07T10:00:00Z", "2030-01-07T10:05:00Z"]


@pytest.mark.parametrize("gap", [0, 5, 10, 15, 20, 25, 30, 45])
def test_two_bookings_conflict_exactly_when_their_gap_is_below_the_larger_buffer(gap: int) -> None:
    buffer_before, buffer_after = 10, 20
    first = utc("2030-01-07T09:00")
    first_end = first + timedelta(minutes=60)
    second = first_end + timedelta(minutes=gap)
    a = (first, first_end, buffer_before, buffer_after)
    b = (second, second + timedelta(minutes=30), buffer_before, buffer_after)
    assert _overlap(a, b) == (gap < max(buffer_before, buffer_after))


def test_overlapping_slots_of_different_lengths_share_a_cell() -> None:
    hour = (utc("2030-01-07T10:00"), utc("2030-01-07T11:00"), 0, 0)
    assert _overlap(hour, (utc("2030-01-07T10:30"), utc("2030-01-07T11:00"), 0, 0))
    assert not _overlap(hour, (utc("2030-01-07T11:00"), utc("2030-01-07T11:30"), 0, 0))


def _body(**change: object) -> dict[str, object]:
    return {
        "start": "2030-01-07T10:00:00Z",
        "attendee": {"name": "Ada", "email": "ada@example.com"},
        **change,
    }


def test_a_valid_request_is_parsed_to_utc() -> None:
    parsed = parse_booking_request(_body(start="2030-01-07T11:00:00+01:00", timezone="Europe/Berlin"))
    assert parsed.start_utc == utc("2030-01-07T10:00") and parsed.time_zone == "Europe/Berlin"
    assert parsed.attendee.name == "Ada" and parsed.notes == ""


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"start": "2030-01-07T10:00:00"}, "start"),
        ({"start": "2030-01-07T10:00:30Z"}, "start"),
        ({"attendee": {"name": "Ada\u0000", "email": "ada@example.com"}}, "attendee.name"),
        ({"attendee": {"name": "Ada", "email": "Ada <ada@example.com>"}}, "attendee.email"),
        ({"attendee": {"name": "Ada", "email": "ada@localhost"}}, "attendee.email"),
        ({"attendee": {"name": "Ada", "email": "ada@example.com", "phone": "1"}}, "attendee.phone"),
        ({"notes": 5}, "notes"),
    ],
)
def test_invalid_fields_are_named(change: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        parse_booking_request(_body(**change))
    assert field in {e.field for e in raised.value.errors}


def test_idempotency_keys_and_fingerprints() -> None:
    assert parse_idempotency_key(None) is None
    assert parse_idempotency_key("abc-123") == "abc-123"
    for bad in ("", "a b", "x" * 256, "caf\u00e9"):
        with pytest.raises(ValidationFailed):
            parse_idempotency_key(bad)
    assert body_fingerprint({"a": 1, "b": [1, 2]}) == body_fingerprint({"b": [1, 2], "a": 1})
    assert body_fingerprint({"a": 1}) != body_fingerprint({"a": 2})


def test_manage_tokens_are_checked_in_constant_time_against_their_hash() -> None:
    token = new_token()
    stored = token_hash(token)
    assert token not in stored and len(stored) == 64
    require_token(stored, token)
    with pytest.raises(Forbidden):
        require_token(stored, new_token())
    with pytest.raises(Unauthorized):
        require_token(stored, None)
    assert manage_token_from({"Authorization": "Bearer abc"}, {}) == "abc"
    assert manage_token_from({}, {"token": "xyz"}) == "xyz"
    assert manage_token_from({}, {"token": 5}) is None
    assert (
        manage_url("https://sb.example/", "b-1", "t/1")
        == "https://sb.example/api/book/manage/b-1#token=t%2F1"
    )


def test_the_event_carries_the_tag_transaction_id_attendee_and_link_zone() -> None:
    content = EventContent(
        subject=render("{title} with {attendeeName}", {"title": "Intro", "attendeeName": "Ada"}),
        body_text="manage: https://x",
        start_utc=utc("2030-07-01T08:00"),
        end_utc=utc("2030-07-01T08:30"),
        time_zone="Europe/Berlin",
        attendee_name="Ada",
        attendee_email="ada@example.com",
        location="",
        teams=True,
    )
    event = event_json("b-1", content)
    assert event["subject"] == "Intro with Ada"
    assert event["start"] == {"dateTime": "2030-07-01T10:00:00", "timeZone": "W. Europe Standard Time"}
    assert event["transactionId"] == "slotbridge-b-1"
    assert event["singleValueExtendedProperties"] == [{"id": BOOKING_ID_PROPERTY, "value": "b-1"}]
    assert (event["isOnlineMeeting"], event["onlineMeetingProvider"]) == (True, "teamsForBusiness")
    assert "sensitivity" not in event  # private only when the link asks
    assert event["attendees"][0]["emailAddress"] == {"address": "ada@example.com", "name": "Ada"}
    # A zone with no Windows id goes as UTC (the same instant).
    assert graph_time(utc("2030-07-01T08:00"), "Antarctica/Troll") == {
        "dateTime": "2030-07-01T08:00:00",
        "timeZone": "UTC",
    }
