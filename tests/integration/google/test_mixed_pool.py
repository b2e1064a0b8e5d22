"""A round-robin pool mixing a Microsoft host, a Google host and a host without a calendar:
availability is the union of what each host's own service says; a booking re-verifies the chosen
host live on its own provider and writes there; twenty concurrent bookings of one slot make one."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from devstack.funchost import DevHost
from devstack.google.admin_client import GoogleAdmin
from devstack.sandbox.admin_client import SandboxAdmin, dt
from tests.integration.availability.helpers import Host, new_user, next_monday, slot_starts
from tests.integration.bookings.helpers import at, book, booking_body, events, new_link
from tests.integration.connect.helpers import BACKEND, connections
from tests.integration.google.helpers import GoogleHost, connect_google

pytestmark = pytest.mark.usefixtures("devhost")


def _google_events(gadmin: GoogleAdmin, host: GoogleHost) -> list[dict[str, object]]:
    return [
        e
        for e in gadmin.events(host.calendar_id)
        if not e.get("_deleted") and e.get("status") != "cancelled" and "extendedProperties" in e
    ]


def _outlook_bookings(admin: SandboxAdmin, host: Host) -> list[dict[str, object]]:
    return [e for e in events(admin, host.email) if e.get("transactionId")]


def test_a_pool_of_microsoft_and_google_hosts_offers_the_union_and_books_on_the_free_hosts_service(
    devhost: DevHost,
    admin: SandboxAdmin,
    sandbox_http: requests.Session,
    gadmin: GoogleAdmin,
    ghttp: requests.Session,
) -> None:
    ms = Host(devhost, admin, sandbox_http)
    google = GoogleHost(devhost, gadmin, ghttp, time_zone="UTC")
    monday = next_monday()
    day = monday.isoformat()
    admin.add_event(ms.email, subject="MS busy", start=dt(f"{day}T10:00:00"), end=dt(f"{day}T11:00:00"))
    admin.add_event(ms.email, subject="Both", start=dt(f"{day}T13:00:00"), end=dt(f"{day}T14:00:00"))
    for start, end in (("11", "12"), ("13", "14")):
        gadmin.add_event(
            google.calendar_id,
            summary="G busy",
            start={"dateTime": f"{day}T{start}:00:00Z"},
            end={"dateTime": f"{day}T{end}:00:00Z"},
        )
    slug = new_link(devhost, (ms.user_id, "microsoft"), (google.user_id, "google"))

    body, starts = slot_starts(devhost, slug, monday)

    assert body["complete"] is True, body
    assert {f"{day}T10:00", f"{day}T11:00"} <= starts  # one host or the other is free
    assert f"{day}T13:00" not in starts  # both are busy

    # At 10:00 only the Google host is free: the booking is checked and written in Google.
    r = book(devhost, slug, at(monday, 10))
    assert r.status_code == 201, r.text
    assert len(_google_events(gadmin, google)) == 1 and _outlook_bookings(admin, ms) == []
    # At 11:00 only the Microsoft host is: checked and written in Outlook.
    r = book(devhost, slug, at(monday, 11))
    assert r.status_code == 201, r.text
    assert len(_outlook_bookings(admin, ms)) == 1 and len(_google_events(gadmin, google)) == 1


def test_twenty_concurrent_bookings_of_one_slot_in_a_mixed_pool_make_one(
    devhost: DevHost,
    admin: SandboxAdmin,
    sandbox_http: requests.Session,
    gadmin: GoogleAdmin,
    ghttp: requests.Session,
) -> None:
    ms = Host(devhost, admin, sandbox_http)
    google = GoogleHost(devhost, gadmin, ghttp, time_zone="UTC")
    nobody = new_user()
    # Only one host is free at 15:00: the others are busy in their own calendars.
    monday = next_monday()
    day = monday.isoformat()
    admin.add_event(ms.email, subject="busy", start=dt(f"{day}T15:00:00"), end=dt(f"{day}T16:00:00"))
    slug = new_link(devhost, (ms.user_id, "microsoft"), (google.user_id, "google"), (nobody, "none"))
    start = at(monday, 15)

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(
            pool.map(lambda n: book(devhost, slug, body=booking_body(start, name=f"A {n}")), range(20))
        )

    statuses = sorted(r.status_code for r in responses)
    # Two hosts are free at 15:00 (Google, none): at most one booking each, never more.
    assert statuses.count(201) == 2 and statuses.count(409) == 18, [
        r.text for r in responses if r.status_code >= 500
    ]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"slot_unavailable"}
    assert len(_google_events(gadmin, google)) == 1
    assert _outlook_bookings(admin, ms) == []
    warnings = [w["code"] for r in responses if r.status_code == 201 for w in r.json()["warnings"]]
    assert warnings == ["no_calendar_event"]  # the host without a calendar got the other one


def test_one_host_checks_outlook_and_google_and_books_into_google(
    devhost: DevHost,
    admin: SandboxAdmin,
    sandbox_http: requests.Session,
    gadmin: GoogleAdmin,
    ghttp: requests.Session,
) -> None:
    ms = Host(devhost, admin, sandbox_http)
    user = gadmin.add_user(f"also-{ms.user_id}@gmail.com", time_zone="UTC")
    assert connect_google(devhost, ghttp, ms.user_id, str(user["sub"])).status_code == 200
    google = next(c for c in connections(devhost, ms.user_id) if c["provider"] == "google")
    google_cal = {"connectionId": google["connectionId"], "calendarId": str(user["email"]).lower()}
    r = requests.put(
        f"{devhost.api_url}/users/{ms.user_id}/calendar-settings",
        json={"conflictCalendars": [ms.ref(), google_cal], "writeCalendar": google_cal},
        headers=BACKEND,
        timeout=30,
    )
    assert r.status_code == 200, r.text
    monday = next_monday()
    day = monday.isoformat()
    admin.add_event(ms.email, subject="Outlook", start=dt(f"{day}T10:00:00"), end=dt(f"{day}T11:00:00"))
    gadmin.add_event(
        google_cal["calendarId"],
        summary="Google",
        start={"dateTime": f"{day}T11:00:00Z"},
        end={"dateTime": f"{day}T12:00:00Z"},
    )
    slug = new_link(devhost, (ms.user_id, "microsoft"))

    body, starts = slot_starts(devhost, slug, monday)

    assert body["complete"] is True, body
    assert f"{day}T10:00" not in starts and f"{day}T11:00" not in starts and f"{day}T13:00" in starts
    booked = book(devhost, slug, at(monday, 13))
    assert booked.status_code == 201, booked.text
    assert _outlook_bookings(admin, ms) == []
    [event] = [
        e
        for e in gadmin.events(google_cal["calendarId"])
        if "extendedProperties" in e and not e.get("_deleted")
    ]
    assert event["extendedProperties"]["private"]["slotbridgeBookingId"] == booked.json()["bookingId"]
