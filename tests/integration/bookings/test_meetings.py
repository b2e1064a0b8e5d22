"""Meetings the product (API key) or a host (user token) schedules on a link, through the dev host
against the sandbox: several attendees on the Outlook event, Teams per meeting, the request's
subject and text, times outside the link's slots only when asked (never in the past), the live
re-check unless skipped, no double booking against an attendee's booking of the same time, and
Idempotency-Key replay."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin, dt
from lib.adapters.storage import storage_account
from lib.core.auth import issue_user_token
from lib.features.bookings.records import BookingRecord, SlotLockRecord
from tests.fixtures.devhost import USER_TOKEN_KEY
from tests.integration.availability.helpers import Host, new_user, next_monday
from tests.integration.connect.helpers import BACKEND

from .helpers import EVENTS_POST, at, book, booking_body, events, manage, new_link

pytestmark = pytest.mark.integration


def meeting_body(start: str, *emails: str, **extra: Any) -> dict[str, Any]:
    people = emails or ("ada@example.com",)
    return {
        "start": start,
        "attendees": [{"name": f"Person {n}", "email": e} for n, e in enumerate(people)],
    } | extra


def schedule(
    devhost: DevHost,
    slug: str,
    body: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
    key: str | None = None,
) -> requests.Response:
    sent = dict(headers if headers is not None else BACKEND)
    if key:
        sent["Idempotency-Key"] = key
    return requests.post(f"{devhost.api_url}/links/{slug}/meetings", json=body, headers=sent, timeout=60)


def user_headers(user_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_user_token(USER_TOKEN_KEY, user_id)}"}


def _stored(booking_id: str) -> BookingRecord:
    return storage_account().table(BookingRecord).get(booking_id, "booking")


def _event_of(admin: SandboxAdmin, host: Host, booking_id: str) -> dict[str, Any]:
    [event] = [e for e in events(admin, host.email) if e.get("transactionId") == f"slotbridge-{booking_id}"]
    return event


def test_a_meeting_invites_every_attendee_with_its_subject_body_and_teams_choice(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    slug = new_link(devhost, (host.user_id, "microsoft"), teamsMeeting=False, location="Room 4")
    monday = next_monday()
    with_teams = schedule(
        devhost,
        slug,
        meeting_body(
            at(monday, 10),
            "ada@example.com",
            "charles@example.com",
            "mary@example.com",
            durationMinutes=45,
            teamsMeeting=True,
            subject="Quarterly review",
            body="Agenda:\n1. Numbers\n2. Plans",
        ),
    )
    without_teams = schedule(
        devhost,
        slug,
        meeting_body(at(monday, 14), "grace@example.com", "alan@example.com", teamsMeeting=False),
        headers=user_headers(host.user_id),
    )

    assert with_teams.status_code == 201, with_teams.text
    first = with_teams.json()
    assert first["endUtc"] == at(monday, 10, 45) and first["joinUrl"].startswith(
        "https://teams.microsoft.com/"
    )
    assert first["manageToken"] and first["status"] == "confirmed"
    event = _event_of(admin, host, first["bookingId"])
    invited = [a["emailAddress"]["address"] for a in event["attendees"]]
    assert invited == ["ada@example.com", "charles@example.com", "mary@example.com"]
    assert event["subject"] == "Quarterly review"
    assert event["body"]["content"] == "Agenda:\n1. Numbers\n2. Plans"
    assert event["isOnlineMeeting"] and event["onlineMeetingProvider"] == "teamsForBusiness"
    assert event["end"]["dateTime"].startswith(f"{monday}T10:45:00")
    stored = _stored(first["bookingId"])
    assert (stored.attendee_email, stored.created_by) == ("ada@example.com", "product")
    assert stored.guests == [
        {"name": "Person 1", "email": "charles@example.com"},
        {"name": "Person 2", "email": "mary@example.com"},
    ]

    assert without_teams.status_code == 201, without_teams.text
    second = without_teams.json()
    assert second["joinUrl"] is None and second["endUtc"] == at(monday, 15)  # the link's 60 minutes
    event = _event_of(admin, host, second["bookingId"])
    assert not event["isOnlineMeeting"] and event["location"]["displayName"] == "Room 4"
    assert [a["emailAddress"]["address"] for a in event["attendees"]] == [
        "grace@example.com",
        "alan@example.com",
    ]
    assert event["subject"] == "Intro call with Person 0"  # no subject: the link's template
    # No body: Slotbridge's text - without the manage link, which the guest would get too.
    assert event["body"]["content"] == "Intro call - booked through Slotbridge."
    assert _stored(second["bookingId"]).created_by == "host"

    # The product sees who made each meeting and every attendee.
    product_view = requests.get(
        f"{devhost.api_url}/bookings/{first['bookingId']}", headers=BACKEND, timeout=30
    )
    assert product_view.status_code == 200, product_view.text
    assert product_view.json()["createdBy"] == "product"
    assert product_view.json()["attendee"] == {"name": "Person 0", "email": "ada@example.com"}
    assert product_view.json()["guests"] == [
        {"name": "Person 1", "email": "charles@example.com"},
        {"name": "Person 2", "email": "mary@example.com"},
    ]
    host_view = requests.get(
        f"{devhost.api_url}/bookings/{second['bookingId']}", headers=user_headers(host.user_id), timeout=30
    )
    assert (host_view.json()["createdBy"], len(host_view.json()["guests"])) == ("host", 1)


def test_only_the_product_or_the_host_themselves_may_schedule(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    stranger = new_user()
    pool = new_link(devhost, (host.user_id, "microsoft"), (stranger, "none"))
    start = at(next_monday(), 11)

    assert schedule(devhost, pool, meeting_body(start), headers={}).status_code == 401
    # A user who hosts the link may book only their own time.
    r = schedule(devhost, pool, meeting_body(start, hostUserId=host.user_id), headers=user_headers(stranger))
    assert r.status_code == 403 and r.json()["code"] == "unauthorized", r.text
    # A user who does not host the link at all.
    r = schedule(
        devhost, pool, meeting_body(start, hostUserId=host.user_id), headers=user_headers(new_user())
    )
    assert r.status_code == 403, r.text
    # A pool needs the host named, and one of its own.
    r = schedule(devhost, pool, meeting_body(start))
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "hostUserId", r.text
    r = schedule(devhost, pool, meeting_body(start, hostUserId=new_user()))
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "hostUserId", r.text
    assert events(admin, host.email) == []

    r = schedule(devhost, pool, meeting_body(start, hostUserId=stranger), headers=user_headers(stranger))
    assert r.status_code == 201, r.text
    assert _stored(r.json()["bookingId"]).host_user_id == stranger


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"attendees": []}, "attendees"),
        ({"attendees": [{"name": "A", "email": f"a{n}@example.com"} for n in range(21)]}, "attendees"),
        (
            {"attendees": [{"name": "A", "email": "a@example.com"}, {"name": "B", "email": "A@example.com"}]},
            "attendees[1].email",
        ),
        ({"attendees": [{"name": "A", "email": "not-an-email"}]}, "attendees[0].email"),
        ({"durationMinutes": 4}, "durationMinutes"),
        ({"durationMinutes": True}, "durationMinutes"),
        ({"subject": "two\nlines"}, "subject"),
        ({"body": "b" * 4001}, "body"),
        ({"teamsMeeting": "yes"}, "teamsMeeting"),
        ({"skipLiveCheck": 1}, "skipLiveCheck"),
        ({"notes": "x"}, "notes"),
    ],
)
def test_a_bad_meeting_request_names_its_field_and_stores_nothing(
    devhost: DevHost, admin: SandboxAdmin, host: Host, change: dict[str, Any], field: str
) -> None:
    slug = new_link(devhost, (host.user_id, "microsoft"))
    r = schedule(devhost, slug, {**meeting_body(at(next_monday(), 10)), **change})

    assert r.status_code == 400 and r.headers["Content-Type"] == "application/problem+json", r.text
    assert field in [e["field"] for e in r.json()["errors"]]
    assert events(admin, host.email) == []
    assert list(storage_account().table(SlotLockRecord).query(partition=host.user_id)) == []


def test_a_time_outside_the_slots_needs_outside_offered_slots_and_never_is_in_the_past(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    slug = new_link(devhost, (host.user_id, "microsoft"))  # weekdays 09:00-17:00 UTC
    monday = next_monday()
    evening = at(monday, 19, 10)

    refused = schedule(devhost, slug, meeting_body(evening))
    assert refused.status_code == 409 and refused.json()["code"] == "slot_unavailable", refused.text
    assert events(admin, host.email) == []

    made = schedule(devhost, slug, meeting_body(evening, outsideOfferedSlots=True))
    assert made.status_code == 201, made.text
    assert made.json()["startUtc"] == evening
    assert len(events(admin, host.email)) == 1

    past = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:00Z")
    for outside in (True, False):
        r = schedule(devhost, slug, meeting_body(past, outsideOfferedSlots=outside))
        assert r.status_code == 422 and r.json()["code"] == "start_in_past", r.text
    assert len(events(admin, host.email)) == 1


def test_busy_in_outlook_is_refused_unless_the_live_check_is_skipped(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    slug = new_link(devhost, (host.user_id, "microsoft"))
    monday = next_monday()
    admin.add_event(
        host.email, subject="Dentist", start=dt(f"{monday}T10:00:00"), end=dt(f"{monday}T11:00:00")
    )

    busy = schedule(devhost, slug, meeting_body(at(monday, 10)))
    assert busy.status_code == 409 and busy.json()["code"] == "slot_unavailable", busy.text
    assert len(events(admin, host.email)) == 1  # the dentist only

    made = schedule(devhost, slug, meeting_body(at(monday, 10), skipLiveCheck=True))
    assert made.status_code == 201, made.text
    assert len(events(admin, host.email)) == 2


def test_a_meeting_and_attendee_bookings_of_the_same_time_book_once(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    slug = new_link(devhost, (host.user_id, "microsoft"))
    start = at(next_monday(), 15)

    def attempt(n: int) -> requests.Response:
        if n % 2:
            return book(devhost, slug, body=booking_body(start, name=f"A {n}"))
        # Outside the slots and without the live check: still never through another booking's lock.
        body = meeting_body(start, f"m{n}@example.com", outsideOfferedSlots=True, skipLiveCheck=True)
        return schedule(devhost, slug, body)

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(attempt, range(20)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 19, [r.text for r in responses if r.status_code not in (201, 409)]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"slot_unavailable"}
    assert len(events(admin, host.email)) == 1
    winner = next(r.json() for r in responses if r.status_code == 201)
    locks = list(storage_account().table(SlotLockRecord).query(partition=host.user_id))
    assert {lock.booking_id for lock in locks} == {winner["bookingId"]}

    # Later, overlapping the booking that won: refused the same way.
    late = schedule(devhost, slug, meeting_body(at(next_monday(), 15, 30), outsideOfferedSlots=True))
    assert late.status_code == 409 and late.json()["code"] == "slot_unavailable", late.text


def test_the_same_idempotency_key_answers_the_first_meeting(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    slug = new_link(devhost, (host.user_id, "microsoft"))
    body = meeting_body(at(next_monday(), 9), "ada@example.com", "bob@example.com", subject="Kick-off")

    first = schedule(devhost, slug, body, key="meet-1")
    again = schedule(devhost, slug, dict(reversed(list(body.items()))), key="meet-1")
    other = schedule(devhost, slug, {**body, "subject": "Other"}, key="meet-1")

    assert first.status_code == 201 and again.status_code == 201, again.text
    assert again.json() == first.json()  # manage token included
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert len(events(admin, host.email)) == 1
    # The booking page's keys are its own: the same key there books afresh (another time).
    page = book(devhost, slug, body=booking_body(at(next_monday(), 11)), key="meet-1")
    assert page.status_code == 201, page.text
    assert len(events(admin, host.email)) == 2


def test_a_host_key_never_replays_the_products_meeting(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    slug = new_link(devhost, (host.user_id, "microsoft"))
    body = meeting_body(at(next_monday(), 13))

    product = schedule(devhost, slug, body, key="shared-key")
    by_host = schedule(devhost, slug, body, headers=user_headers(host.user_id), key="shared-key")

    assert product.status_code == 201, product.text
    # Not the product's answer (and its manage token) again: a request of its own, whose time is taken.
    assert by_host.status_code == 409 and by_host.json()["code"] == "slot_unavailable", by_host.text
    assert len(events(admin, host.email)) == 1


def test_a_retry_with_the_same_key_finishes_a_meeting_whose_event_write_was_lost(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    slug = new_link(devhost, (host.user_id, "microsoft"))
    monday = next_monday()
    busy = admin.add_event(
        host.email, subject="Focus time", start=dt(f"{monday}T18:00:00"), end=dt(f"{monday}T19:00:00")
    )
    body = meeting_body(
        at(monday, 18),
        "ada@example.com",
        "bob@example.com",
        durationMinutes=30,
        teamsMeeting=True,
        subject="Late review",
        outsideOfferedSlots=True,
        skipLiveCheck=True,
    )
    for method in ("POST", "GET"):  # the write's answer and the look-up by tag both fail
        admin.add_fault("unavailable", method=method, path=EVENTS_POST, account=host.email, count=1000)

    first = schedule(devhost, slug, body, key="lost-meeting")
    assert first.status_code == 503 and first.json()["code"] == "outlook_unavailable", first.text
    [pending] = [
        b
        for b in storage_account()
        .table(BookingRecord)
        .query(where="host_user_id eq @h", parameters={"h": host.user_id})
    ]
    assert pending.status.value == "pending"

    admin.clear_faults()
    retry = schedule(devhost, slug, body, key="lost-meeting")

    # The same booking, finished as the meeting asked: not re-checked live (the host is busy then),
    # its attendees, length, subject and Teams.
    assert retry.status_code == 201, retry.text
    assert retry.json()["bookingId"] == pending.booking_id and retry.json()["endUtc"] == at(monday, 18, 30)
    event = _event_of(admin, host, pending.booking_id)
    assert [a["emailAddress"]["address"] for a in event["attendees"]] == [
        "ada@example.com",
        "bob@example.com",
    ]
    assert event["subject"] == "Late review" and event["isOnlineMeeting"]
    assert {e["id"] for e in events(admin, host.email)} == {busy["id"], event["id"]}


def test_a_rescheduled_meeting_keeps_its_own_length(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    slug = new_link(devhost, (host.user_id, "microsoft"))  # 60-minute slots
    monday = next_monday()
    made = schedule(devhost, slug, meeting_body(at(monday, 10), durationMinutes=30))
    assert made.status_code == 201, made.text
    booking = made.json()

    moved = manage(devhost, booking["bookingId"], "reschedule", booking["manageToken"], start=at(monday, 13))

    assert moved.status_code == 200, moved.text
    assert (moved.json()["startUtc"], moved.json()["endUtc"]) == (at(monday, 13), at(monday, 13, 30))
    event = _event_of(admin, host, booking["bookingId"])
    assert event["end"]["dateTime"].startswith(f"{monday}T13:30:00")
