"""A Google host end to end through the app and the Google stand-in: availability from all-day,
timed, transparent, declined and recurring events; a booking written as one Google event (our id,
our private tag, attendees invited, Meet when the link asks for video), a lost answer re-sent ->
still one event, reschedule and cancel reaching the event; a Google calendar that cannot be read
fails closed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests

from devstack.funchost import DevHost
from devstack.google.admin_client import GoogleAdmin
from lib.adapters.storage import storage_account
from lib.features.bookings.records import BookingRecord
from lib.providers.google.google_event import event_id as google_event_id
from tests.integration.availability.helpers import next_monday, slot_starts
from tests.integration.bookings.helpers import at, book, booking_body, manage, new_link
from tests.integration.connect.helpers import BACKEND
from tests.integration.google.helpers import GoogleHost

pytestmark = pytest.mark.usefixtures("devhost")

EVENTS_POST = "/calendar/v3/calendars/*/events"


@pytest.fixture()
def ghost(devhost: DevHost, gadmin: GoogleAdmin, ghttp: requests.Session) -> GoogleHost:
    return GoogleHost(devhost, gadmin, ghttp, time_zone="UTC")


def _when(day: Any, hour: int, minute: int = 0) -> dict[str, str]:
    return {"dateTime": f"{day.isoformat()}T{hour:02d}:{minute:02d}:00Z"}


def _live(gadmin: GoogleAdmin, calendar_id: str) -> list[dict[str, Any]]:
    return [e for e in gadmin.events(calendar_id) if not e.get("_deleted") and e.get("status") != "cancelled"]


def test_availability_reads_all_day_timed_transparent_declined_and_recurring_events(
    devhost: DevHost, gadmin: GoogleAdmin, ghost: GoogleHost
) -> None:
    monday = next_monday()
    tuesday, wednesday = monday + timedelta(days=1), monday + timedelta(days=2)
    cal = ghost.calendar_id
    gadmin.add_event(cal, summary="Busy", start=_when(monday, 9), end=_when(monday, 10))
    gadmin.add_event(
        cal, summary="Lunch", start=_when(monday, 12), end=_when(monday, 13), transparency="transparent"
    )
    gadmin.add_event(
        cal,
        summary="Declined",
        start=_when(monday, 13),
        end=_when(monday, 14),
        attendees=[{"email": ghost.email, "responseStatus": "declined"}, {"email": "x@example.com"}],
    )
    gadmin.add_event(
        cal, summary="Offsite", start={"date": tuesday.isoformat()}, end={"date": wednesday.isoformat()}
    )
    gadmin.add_event(
        cal,
        summary="Standup",
        start={"dateTime": f"{monday.isoformat()}T15:00:00", "timeZone": "UTC"},
        end={"dateTime": f"{monday.isoformat()}T15:30:00", "timeZone": "UTC"},
        recurrence=["RRULE:FREQ=DAILY;COUNT=5"],
    )
    slug = new_link(devhost, (ghost.user_id, "google"))

    body, starts = slot_starts(devhost, slug, monday, wednesday)

    assert body["complete"] is True, body
    assert f"{monday}T09:00" not in starts  # timed event
    assert f"{monday}T12:00" in starts  # transparent: shown as available
    assert f"{monday}T13:00" in starts  # declined by the host
    assert f"{monday}T15:00" not in starts and f"{wednesday}T15:00" not in starts  # each occurrence
    assert f"{monday}T11:00" in starts and f"{wednesday}T10:00" in starts
    assert not any(s.startswith(str(tuesday)) for s in starts)  # the all-day event


def test_a_booking_is_one_google_event_with_our_id_tag_attendees_and_meet(
    devhost: DevHost, gadmin: GoogleAdmin, ghost: GoogleHost
) -> None:
    slug = new_link(devhost, (ghost.user_id, "google"), teamsMeeting=True, location="")
    monday = next_monday()

    r = book(devhost, slug, body=booking_body(at(monday, 10), name="Ada Lovelace", email="ada@example.com"))

    assert r.status_code == 201, r.text
    booking = r.json()
    assert booking["warnings"] == [] and booking["joinUrl"].startswith("https://meet.google.com/")
    [event] = _live(gadmin, ghost.calendar_id)
    assert event["id"] == google_event_id(booking["bookingId"])
    assert set(event["id"]) <= set("abcdefghijklmnopqrstuv0123456789")
    assert event["extendedProperties"]["private"]["slotbridgeBookingId"] == booking["bookingId"]
    assert [a["email"] for a in event["attendees"]] == ["ada@example.com"]
    assert event["conferenceData"]["conferenceSolution"]["key"]["type"] == "hangoutsMeet"
    stored = storage_account().table(BookingRecord).get(booking["bookingId"], "booking")
    assert stored.event_id == f"{ghost.calendar_id}/{event['id']}"
    # The invitation went out (sendUpdates=all).
    assert any("ada@example.com" in str(m.get("to")) for m in gadmin.mail())
    # The slot is no longer offered.
    _, starts = slot_starts(devhost, slug, monday)
    assert f"{monday}T10:00" not in starts


def test_an_insert_whose_answer_was_lost_is_sent_again_and_still_makes_one_event(
    devhost: DevHost, gadmin: GoogleAdmin, ghost: GoogleHost
) -> None:
    slug = new_link(devhost, (ghost.user_id, "google"))
    gadmin.add_fault("reset_after_write", method="POST", path=EVENTS_POST, account=ghost.email)

    r = book(devhost, slug, at(next_monday(), 11))

    assert r.status_code == 201, r.text
    [event] = _live(gadmin, ghost.calendar_id)
    assert event["extendedProperties"]["private"]["slotbridgeBookingId"] == r.json()["bookingId"]
    # The re-sent insert (same id) was answered 409 duplicate, and the first event read back.
    inserts = [
        e["status"]
        for e in gadmin.request_log()["entries"]
        if e["route"].startswith("POST") and e["path"].endswith("/events")
    ]
    assert 409 in inserts


def test_reschedule_and_cancel_move_and_delete_the_google_event(
    devhost: DevHost, gadmin: GoogleAdmin, ghost: GoogleHost
) -> None:
    # The link's event content reaches Google too: a private event whose text names its times.
    slug = new_link(
        devhost,
        (ghost.user_id, "google"),
        privateEvent=True,
        subjectTemplate="{title} at {start}",
        bodyTemplate="Starts {start}. Manage: {manageUrl}",
    )
    monday = next_monday()
    booked = book(devhost, slug, at(monday, 10))
    assert booked.status_code == 201, booked.text
    booking_id, token = booked.json()["bookingId"], booked.json()["manageToken"]
    [event] = _live(gadmin, ghost.calendar_id)
    assert event["visibility"] == "private"
    assert "10:00" in event["summary"] and "10:00" in event["description"], event

    moved = manage(devhost, booking_id, "reschedule", token, start=at(monday, 14))
    assert moved.status_code == 200, moved.text
    [event] = _live(gadmin, ghost.calendar_id)
    assert event["start"]["dateTime"].startswith(f"{monday}T14:00") or event["start"]["dateTime"].startswith(
        f"{monday}T14:00:00"
    ), event["start"]
    # Re-rendered with the new time; the manage link in it still works.
    assert "14:00" in event["summary"] and "14:00" in event["description"], event
    assert "10:00" not in event["summary"]

    cancelled = manage(devhost, booking_id, "cancel", token)
    assert cancelled.status_code == 200, cancelled.text
    assert _live(gadmin, ghost.calendar_id) == []


def test_an_unreadable_google_calendar_fails_closed(
    devhost: DevHost, gadmin: GoogleAdmin, ghost: GoogleHost
) -> None:
    slug = new_link(devhost, (ghost.user_id, "google"))
    gadmin.add_fault(
        "unavailable", method="GET", path="/calendar/v3/calendars/*/events", account=ghost.email, count=50
    )
    monday = next_monday()

    body, starts = slot_starts(devhost, slug, monday)

    assert starts == set()
    assert body["complete"] is False and body["degradedHosts"] == [
        {"hostIndex": 0, "reason": "unavailable"}
    ], body
    r = book(devhost, slug, at(monday, 10))
    assert r.status_code == 503 and r.json()["code"] in ("google_unavailable", "outlook_unavailable"), r.text


def test_a_throttled_read_is_retried_and_availability_stays_complete(
    devhost: DevHost, gadmin: GoogleAdmin, ghost: GoogleHost
) -> None:
    slug = new_link(devhost, (ghost.user_id, "google"))
    gadmin.add_fault(
        "error",
        method="GET",
        path="/calendar/v3/calendars/*/events",
        account=ghost.email,
        status=403,
        code="rateLimitExceeded",
    )
    gadmin.add_fault("throttle", method="GET", path="/calendar/v3/calendars/*/events", account=ghost.email)

    body, starts = slot_starts(devhost, slug, next_monday())

    assert body["complete"] is True and starts, body


def test_a_free_busy_only_shared_calendar_is_a_conflict_calendar(
    devhost: DevHost, gadmin: GoogleAdmin, ghost: GoogleHost
) -> None:
    colleague = f"colleague-{ghost.user_id}@gmail.com"
    gadmin.add_user(colleague, time_zone="UTC")
    shared = gadmin.add_calendar(
        ghost.email, "Colleague", access_role="freeBusyReader", owner_email=colleague
    )
    monday = next_monday()
    gadmin.add_event(shared["id"], summary="Secret", start=_when(monday, 14), end=_when(monday, 15))
    listed = {c["calendarId"]: c for c in ghost.calendars()}
    assert listed[shared["id"]]["canEdit"] is False
    r = requests.put(
        f"{devhost.api_url}/users/{ghost.user_id}/calendar-settings",
        json={"conflictCalendars": [ghost.ref(), ghost.ref(shared["id"])], "writeCalendar": ghost.ref()},
        headers=BACKEND,
        timeout=30,
    )
    assert r.status_code == 200, r.text
    slug = new_link(devhost, (ghost.user_id, "google"))

    body, starts = slot_starts(devhost, slug, monday)

    assert body["complete"] is True and f"{monday}T14:00" not in starts and f"{monday}T13:00" in starts


def test_a_meet_link_google_is_still_creating_is_read_again(
    devhost: DevHost, gadmin: GoogleAdmin, ghost: GoogleHost
) -> None:
    before = gadmin.settings()
    gadmin.settings(conference_pending_reads=2)
    try:
        slug = new_link(devhost, (ghost.user_id, "google"), teamsMeeting=True)
        r = book(devhost, slug, at(next_monday(), 9))
    finally:
        gadmin.settings(conference_pending_reads=before.get("conference_pending_reads", 0))
    assert r.status_code == 201, r.text
    assert r.json()["joinUrl"].startswith("https://meet.google.com/")


def test_a_google_write_calendar_deleted_in_google_is_refused_in_words_that_fit_google(
    devhost: DevHost, gadmin: GoogleAdmin, ghost: GoogleHost
) -> None:
    # The host books into a second calendar of theirs, then deletes it in Google.
    bookings_cal = str(gadmin.add_calendar(ghost.email, "Bookings")["id"])
    r = requests.put(
        f"{devhost.api_url}/users/{ghost.user_id}/calendar-settings",
        json={"conflictCalendars": [ghost.ref()], "writeCalendar": ghost.ref(bookings_cal)},
        headers=BACKEND,
        timeout=30,
    )
    assert r.status_code == 200, r.text
    slug = new_link(devhost, (ghost.user_id, "google"))
    gadmin.delete_calendar(bookings_cal)

    refused = book(devhost, slug, at(next_monday(), 10))

    assert refused.status_code == 409 and refused.json()["code"] == "write_calendar_missing", refused.text
    # The attendee and the product read this: a Google host's calendar is not "in Outlook".
    assert "Outlook" not in refused.json()["detail"], refused.json()["detail"]
