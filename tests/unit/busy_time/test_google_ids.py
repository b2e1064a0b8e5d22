"""Google's side of the ids: a booking's event id in Google's alphabet (deterministic, so a retried
insert is a 409), the `<calendar>/<event>` reference bookings and the change feed share, and a push's
headers read into the channel's subscription id (or refused)."""

from __future__ import annotations

import uuid

import pytest

from lib.providers.google.google_event import compose, event_id, split
from lib.providers.google.push import read_channel_message, subscription_id

ALPHABET = set("abcdefghijklmnopqrstuv0123456789")


def test_a_bookings_event_id_is_deterministic_and_in_googles_alphabet() -> None:
    booking = str(uuid.uuid4())
    assert event_id(booking) == event_id(booking)
    assert event_id(booking) != event_id(str(uuid.uuid4()))
    assert set(event_id(booking)) <= ALPHABET and 5 <= len(event_id(booking)) <= 1024
    assert set(event_id("Ünïcode and spaces!")) <= ALPHABET


def test_an_event_reference_names_its_calendar() -> None:
    ref = compose("team/ops@group.calendar.google.com", "abc123_20260309T090000Z")
    assert split(ref) == ("team/ops@group.calendar.google.com", "abc123_20260309T090000Z")
    with pytest.raises(ValueError):
        split("no-calendar")


def _headers(**values: str) -> dict[str, str]:
    base = {
        "X-Goog-Channel-ID": "chan-1",
        "X-Goog-Resource-ID": "res-1",
        "X-Goog-Resource-State": "exists",
        "X-Goog-Channel-Token": "v1.token",
    }
    return {**base, **values}


def test_a_push_is_read_from_its_headers() -> None:
    message = read_channel_message(_headers().get)
    assert message is not None and message.subscription_id == subscription_id("chan-1", "res-1")
    assert message.client_state == "v1.token" and not message.is_handshake
    sync = read_channel_message(_headers(**{"X-Goog-Resource-State": "sync"}).get)
    assert sync is not None and sync.is_handshake


@pytest.mark.parametrize(
    "changes",
    [
        {"X-Goog-Channel-ID": ""},
        {"X-Goog-Resource-ID": ""},
        {"X-Goog-Resource-State": "deleted"},
        {"X-Goog-Channel-Token": "t" * 2000},
    ],
)
def test_a_push_that_is_not_one_is_refused(changes: dict[str, str]) -> None:
    assert read_channel_message(_headers(**changes).get) is None


def test_logs_and_errors_name_a_google_route_without_its_ids() -> None:
    from lib.providers.google.client import route_of

    assert route_of("/calendars/ada%40gmail.com/events/sb123?syncToken=x") == "/calendars/{id}/events/{id}"
    assert route_of("/calendars/ada%40gmail.com/events/watch") == "/calendars/{id}/events/watch"
