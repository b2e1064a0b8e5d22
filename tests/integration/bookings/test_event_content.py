"""A link's event content through the dev host and the sandbox: the Outlook event carries the link's
rendered subject and text (the product's prep link with the booking's id, the manage link in its
fragment form, times in the link's and the attendee's zones), is private when the link asks, and is
rendered again when the booking moves - whoever moves it; a meeting's own subject stays. Bad
templates are refused when the link is saved, and nothing is stored."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin
from lib.adapters.storage import storage_account
from lib.features.links.records import BookingLinkRecord
from tests.integration.availability.helpers import Host, link_body, new_slug, next_monday, put_link
from tests.integration.connect.helpers import BACKEND

from .helpers import book, booking_body, events

pytestmark = pytest.mark.integration

LINK_ZONE, ATTENDEE_ZONE = "Europe/Berlin", "America/New_York"
CONTENT = {
    "subjectTemplate": "{title}: {attendeeName}, {start}",
    "bodyTemplate": (
        "Hello {attendeeName},\n\nPrepare here: {productUrl}\n"
        "Your time: {attendeeStart} - {attendeeEnd} ({attendeeTimeZone})\n"
        "Change it: {manageUrl}"
    ),
    "productUrl": "https://product.example/prep/{bookingId}?src=calendar",
}


def _local(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(LINK_ZONE))


def _shown(instant: datetime, zone: str) -> str:
    local = instant.astimezone(ZoneInfo(zone))
    return f"{local:%A} {local.day} {local:%B} {local.year}, {local:%H:%M}"


def _event(admin: SandboxAdmin, host: Host, booking_id: str) -> dict[str, Any]:
    [event] = [e for e in events(admin, host.email) if e.get("transactionId") == f"slotbridge-{booking_id}"]
    return event


def _expected_body(booking_id: str, manage_url: str, start: datetime) -> str:
    end = start.replace(hour=start.hour + 1)
    return (
        "Hello Ada Lovelace,\n\n"
        f"Prepare here: https://product.example/prep/{booking_id}?src=calendar\n"
        f"Your time: {_shown(start, ATTENDEE_ZONE)} - {_shown(end, ATTENDEE_ZONE)} ({ATTENDEE_ZONE})\n"
        f"Change it: {manage_url}"
    )


def test_the_event_has_the_links_rendered_text_is_private_and_is_rendered_again_when_moved(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    slug = new_slug()
    put_link(
        devhost,
        slug,
        link_body([(host.user_id, "microsoft")], time_zone=LINK_ZONE, privateEvent=True, **CONTENT),
    )
    monday = next_monday()
    first = _local(monday, 10)
    made = book(
        devhost,
        slug,
        body=booking_body(first.isoformat(), "Ada Lovelace", "ada@example.com", timezone=ATTENDEE_ZONE),
    )
    assert made.status_code == 201, made.text
    booking_id, manage_url = made.json()["bookingId"], made.json()["manageUrl"]
    assert "#token=" in manage_url and "?" not in manage_url  # the token in the fragment only

    event = _event(admin, host, booking_id)
    assert event["subject"] == f"Intro call: Ada Lovelace, {_shown(first, LINK_ZONE)}"
    assert event["body"] == {"contentType": "text", "content": _expected_body(booking_id, manage_url, first)}
    assert event["sensitivity"] == "private"

    # The product moves it (it holds no manage token): subject and text follow the new time, and
    # the manage link in it still works as the attendee's.
    later = _local(monday, 14)
    moved = requests.post(
        f"{devhost.api_url}/bookings/{booking_id}/reschedule",
        json={"start": later.isoformat(), "reason": "Host double-booked"},
        headers=BACKEND,
        timeout=60,
    )
    assert moved.status_code == 200, moved.text
    event = _event(admin, host, booking_id)
    assert event["subject"] == f"Intro call: Ada Lovelace, {_shown(later, LINK_ZONE)}"
    assert event["body"]["content"] == _expected_body(booking_id, manage_url, later)
    assert event["sensitivity"] == "private"
    token = manage_url.split("#token=", 1)[1]
    seen = requests.get(
        f"{devhost.api_url}/bookings/{booking_id}", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert seen.status_code == 200 and seen.json()["startUtc"].startswith(
        later.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M")
    )


def test_a_plain_link_keeps_slotbridges_text_and_a_normal_event(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    slug = new_slug()
    put_link(devhost, slug, link_body([(host.user_id, "microsoft")]))
    made = book(devhost, slug, body=booking_body(f"{next_monday()}T10:00:00Z", "Ada", notes="Agenda: Q3"))
    assert made.status_code == 201, made.text
    event = _event(admin, host, made.json()["bookingId"])
    assert event["subject"] == "Intro call with Ada"
    assert event["body"]["content"] == (
        f"Intro call - booked through Slotbridge.\n\nReschedule or cancel: {made.json()['manageUrl']}"
        "\n\nNotes from the attendee:\nAgenda: Q3"
    )
    assert event["sensitivity"] == "normal"


def test_a_meetings_own_subject_stays_when_it_moves_and_the_links_text_follows(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    slug = new_slug()
    put_link(devhost, slug, link_body([(host.user_id, "microsoft")], time_zone=LINK_ZONE, **CONTENT))
    monday = next_monday()
    first, later = _local(monday, 10), _local(monday, 15)
    made = requests.post(
        f"{devhost.api_url}/links/{slug}/meetings",
        json={
            "start": first.isoformat(),
            "attendees": [{"name": "Ada Lovelace", "email": "ada@example.com"}],
            "timezone": ATTENDEE_ZONE,
            "subject": "Quarterly review",
        },
        headers=BACKEND,
        timeout=60,
    )
    assert made.status_code == 201, made.text
    booking_id, manage_url = made.json()["bookingId"], made.json()["manageUrl"]
    assert _event(admin, host, booking_id)["body"]["content"] == _expected_body(booking_id, manage_url, first)

    moved = requests.post(
        f"{devhost.api_url}/bookings/{booking_id}/reschedule",
        json={"start": later.isoformat()},
        headers={"Authorization": f"Bearer {made.json()['manageToken']}"},
        timeout=60,
    )

    assert moved.status_code == 200, moved.text
    event = _event(admin, host, booking_id)
    assert event["subject"] == "Quarterly review"
    assert event["body"]["content"] == _expected_body(booking_id, manage_url, later)


def test_bad_templates_are_refused_when_saved_and_nothing_is_stored(devhost: DevHost, host: Host) -> None:
    slug = new_slug()
    good = link_body([(host.user_id, "microsoft")], **CONTENT)
    put_link(devhost, slug, good)
    before = storage_account().table(BookingLinkRecord).get(slug, "link")
    fresh = new_slug()
    bad = {
        **good,
        "title": "Renamed",
        "subjectTemplate": "{title} with {attendee}",
        "bodyTemplate": "Hi {attendeeName",
        "productUrl": "https://product.example/prep/{meetingId}",
        "privateEvent": "yes",
    }
    for target in (slug, fresh):
        answer = requests.put(f"{devhost.api_url}/links/{target}", json=bad, headers=BACKEND, timeout=30)
        assert answer.status_code == 400, answer.text
        assert answer.headers["Content-Type"] == "application/problem+json"
        problem = answer.json()
        assert problem["code"] == "validation_error"
        errors = {e["field"]: e["message"] for e in problem["errors"]}
        assert set(errors) == {"subjectTemplate", "bodyTemplate", "productUrl", "privateEvent"}
        assert "{attendee} is not known" in errors["subjectTemplate"]
        assert "unbalanced brace" in errors["bodyTemplate"]
        assert "{meetingId} is not known" in errors["productUrl"]
    # Nothing stored: the existing link is as it was, the new slug has no link.
    after = storage_account().table(BookingLinkRecord).get(slug, "link")
    assert (after.title, after.subject_template, after.body_template, after.product_url, after.etag) == (
        before.title,
        before.subject_template,
        before.body_template,
        before.product_url,
        before.etag,
    )
    assert storage_account().table(BookingLinkRecord).find(fresh, "link") is None
    gone = requests.get(f"{devhost.api_url}/links/{fresh}", timeout=30)
    assert gone.status_code == 404


def test_a_meeting_with_guests_puts_no_manage_link_in_the_event(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    """Every guest gets the event's text: the first attendee's manage link in it would let any
    guest cancel or move the meeting. It renders empty (also when the meeting moves); the product
    has it from the 201."""
    slug = new_slug()
    put_link(devhost, slug, link_body([(host.user_id, "microsoft")], time_zone=LINK_ZONE, **CONTENT))
    first, later = _local(next_monday(), 10), _local(next_monday(), 15)
    made = requests.post(
        f"{devhost.api_url}/links/{slug}/meetings",
        json={
            "start": first.isoformat(),
            "attendees": [
                {"name": "Ada Lovelace", "email": "ada@example.com"},
                {"name": "Charles Babbage", "email": "charles@example.com"},
            ],
            "timezone": ATTENDEE_ZONE,
        },
        headers=BACKEND,
        timeout=60,
    )
    assert made.status_code == 201, made.text
    booking_id, manage_url = made.json()["bookingId"], made.json()["manageUrl"]
    assert manage_url  # the product holds it
    assert _event(admin, host, booking_id)["body"]["content"] == _expected_body(booking_id, "", first)

    moved = requests.post(
        f"{devhost.api_url}/bookings/{booking_id}/reschedule",
        json={"start": later.isoformat()},
        headers=BACKEND,
        timeout=60,
    )
    assert moved.status_code == 200, moved.text
    assert _event(admin, host, booking_id)["body"]["content"] == _expected_body(booking_id, "", later)


def test_a_subject_template_may_not_carry_the_manage_link(devhost: DevHost, host: Host) -> None:
    """Titles are seen by more than the attendee (apps with Calendars.ReadBasic, people who see
    only titles on a shared calendar): a manage link there would hand out the booking."""
    slug = new_slug()
    body = link_body([(host.user_id, "microsoft")], subjectTemplate="{title} - manage: {manageUrl}")
    answer = requests.put(f"{devhost.api_url}/links/{slug}", json=body, headers=BACKEND, timeout=30)
    assert answer.status_code == 400, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    problem = answer.json()
    assert problem["code"] == "validation_error"
    assert [e["field"] for e in problem["errors"]] == ["subjectTemplate"]
    assert "{manageUrl}" in problem["errors"][0]["message"]
    assert storage_account().table(BookingLinkRecord).find(slug, "link") is None
