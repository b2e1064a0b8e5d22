"""Per-link calendars through the dev host and the sandbox: a link's host entry may name its own
conflict calendars and write calendar, instead of the user's calendar settings. Two links of one
host each check only their own calendars (availability and the booking's live re-check), a
booking's event lands in its link's write calendar, and calendars the host cannot see or cannot
write are refused at PUT time with nothing stored."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin, dt
from tests.fixtures.sandbox import unique_email
from tests.integration.connect.helpers import BACKEND, connect

from .helpers import Host, link_body, new_slug, next_monday, put_link, slot_starts


@pytest.fixture()
def host(devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session) -> Host:
    return Host(devhost, admin, sandbox_http)


def _body(host: Host, **calendars: Any) -> dict[str, Any]:
    body = link_body([(host.user_id, "microsoft")])
    body["hosts"][0].update(calendars)
    return body


def _events_by_calendar(admin: SandboxAdmin, email: str) -> dict[str, list[str]]:
    return {c["id"]: [e["subject"] for e in c["events"]] for c in admin.mailbox(email)["calendars"]}


def test_two_links_of_one_host_check_their_own_calendars_and_write_to_their_own(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    team = admin.add_calendar(host.email, "Team")
    side = admin.add_calendar(host.email, "Side projects")
    clients = admin.add_calendar(host.email, "Client meetings")
    host.set_conflict_calendars(team["id"])  # the user's settings: Team, writes to the default
    monday = next_monday()
    admin.add_event(
        host.email,
        subject="team",
        start=dt(f"{monday}T10:00:00"),
        end=dt(f"{monday}T11:00:00"),
        calendar_id=team["id"],
    )
    admin.add_event(
        host.email,
        subject="side",
        start=dt(f"{monday}T12:00:00"),
        end=dt(f"{monday}T13:00:00"),
        calendar_id=side["id"],
    )
    usual, own = new_slug(), new_slug()
    put_link(devhost, usual, _body(host))
    stored = put_link(
        devhost,
        own,
        _body(host, conflictCalendars=[host.ref(side["id"])], writeCalendar=host.ref(clients["id"])),
    )
    assert stored["hosts"][0]["conflictCalendars"] == [host.ref(side["id"])]
    assert stored["hosts"][0]["writeCalendar"] == host.ref(clients["id"])

    # Busy in Team blocks the link that uses the user's settings only; busy in Side the other.
    _, usual_starts = slot_starts(devhost, usual, monday)
    _, own_starts = slot_starts(devhost, own, monday)
    assert f"{monday}T10:00" not in usual_starts and f"{monday}T12:00" in usual_starts
    assert f"{monday}T10:00" in own_starts and f"{monday}T12:00" not in own_starts

    # Booking re-checks the link's calendars live: 10:00 is free on this link, 12:00 is not.
    attendee = {"name": "Ann Example", "email": "ann@example.com"}
    busy = requests.post(
        f"{devhost.api_url}/links/{own}/bookings",
        json={"start": f"{monday}T12:00:00Z", "attendee": attendee},
        timeout=60,
    )
    assert busy.status_code == 409 and busy.json()["code"] == "slot_unavailable", busy.text
    booked = requests.post(
        f"{devhost.api_url}/links/{own}/bookings",
        json={"start": f"{monday}T10:00:00Z", "attendee": attendee},
        timeout=60,
    )
    assert booked.status_code == 201, booked.text

    # The event is in the link's write calendar, not the user's (the default calendar).
    events = _events_by_calendar(admin, host.email)
    assert events[clients["id"]] == ["Intro call with Ann Example"]
    assert events[host.default_calendar_id] == []


def _put(devhost: DevHost, slug: str, body: dict[str, Any]) -> requests.Response:
    return requests.put(f"{devhost.api_url}/links/{slug}", json=body, headers=BACKEND, timeout=30)


def _nothing_stored(devhost: DevHost, slug: str) -> bool:
    return requests.get(f"{devhost.api_url}/links/{slug}", timeout=10).status_code == 404


def test_calendars_the_host_cannot_see_are_refused_and_nothing_is_stored(
    devhost: DevHost, admin: SandboxAdmin, host: Host, sandbox_http: requests.Session
) -> None:
    other = Host(devhost, admin, sandbox_http)
    slug = new_slug()
    r = _put(
        devhost,
        slug,
        _body(
            host,
            conflictCalendars=[host.ref(), host.ref("no-such-calendar"), other.ref()],
            writeCalendar=other.ref(),
        ),
    )
    assert r.status_code == 400 and r.headers["Content-Type"] == "application/problem+json", r.text
    assert r.json()["code"] == "validation_error"
    assert {e["field"] for e in r.json()["errors"]} == {
        "hosts[0].conflictCalendars[1]",
        "hosts[0].conflictCalendars[2]",
        "hosts[0].writeCalendar",
    }
    assert _nothing_stored(devhost, slug)


def test_a_write_calendar_the_host_cannot_edit_is_refused_and_nothing_is_stored(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    shared = admin.add_calendar(
        host.email, "Boss", can_edit=False, owner_name="Boss", owner_address="boss@example.com"
    )
    slug = new_slug()
    r = _put(
        devhost,
        slug,
        _body(host, conflictCalendars=[host.ref(shared["id"])], writeCalendar=host.ref(shared["id"])),
    )
    assert r.status_code == 409 and r.json()["code"] == "calendar_not_writable", r.text
    assert _nothing_stored(devhost, slug)
    # Read-only is fine for conflicts.
    assert _put(devhost, slug, _body(host, conflictCalendars=[host.ref(shared["id"])])).status_code == 201


@pytest.mark.parametrize(
    ("calendars", "field"),
    [
        ({"conflictCalendars": "all"}, "hosts[0].conflictCalendars"),
        ({"conflictCalendars": [{"connectionId": "c"}]}, "hosts[0].conflictCalendars[0]"),
        ({"writeCalendar": ["c", "k"]}, "hosts[0].writeCalendar"),
    ],
)
def test_a_malformed_calendar_choice_is_a_validation_error(
    devhost: DevHost, calendars: dict[str, Any], field: str
) -> None:
    body = link_body([("someone", "microsoft")])
    body["hosts"][0].update(calendars)
    slug = new_slug()
    r = _put(devhost, slug, body)
    assert r.status_code == 400 and r.json()["code"] == "validation_error", r.text
    assert field in {e["field"] for e in r.json()["errors"]}
    assert _nothing_stored(devhost, slug)


def test_a_host_whose_provider_reads_no_calendars_cannot_name_any(devhost: DevHost) -> None:
    body = link_body([("someone", "none")])
    body["hosts"][0]["conflictCalendars"] = []
    r = _put(devhost, new_slug(), body)
    assert r.status_code == 400 and [e["field"] for e in r.json()["errors"]] == ["hosts[0]"], r.text


def test_a_link_whose_own_calendars_are_of_an_account_since_disconnected_fails_closed(
    devhost: DevHost, admin: SandboxAdmin, host: Host, sandbox_http: requests.Session
) -> None:
    """The link names calendars of account A only; the host keeps account B connected and
    disconnects A. Checking none of the link's calendars would offer the weekly hours unchecked
    and writing to none would book with no event: the host is degraded like one with no account."""
    second_email = unique_email("second")
    second = admin.add_account(second_email, time_zone="UTC")
    assert connect(devhost, sandbox_http, host.user_id, second["id"]).status_code == 200
    monday = next_monday()
    conflicts_only, writes_only = new_slug(), new_slug()
    put_link(devhost, conflicts_only, _body(host, conflictCalendars=[host.ref()]))
    put_link(devhost, writes_only, _body(host, writeCalendar=host.ref()))
    assert len(slot_starts(devhost, conflicts_only, monday)[1]) == 8

    r = requests.delete(
        f"{devhost.api_url}/users/{host.user_id}/connections/{host.connection_id}",
        headers=BACKEND,
        timeout=30,
    )
    assert r.status_code == 204
    attendee = {"name": "Ann Example", "email": "ann@example.com"}
    for slug in (conflicts_only, writes_only):
        body, starts = slot_starts(devhost, slug, monday)
        assert starts == set(), slug
        assert body["complete"] is False and body["degradedHosts"] == [
            {"hostIndex": 0, "reason": "unavailable"}
        ], body
        [link] = [item for item in _get_links(devhost, host.user_id) if item["slug"] == slug]
        assert link["hostStatus"] == [{"userId": host.user_id, "status": "not_connected"}]
        booked = requests.post(
            f"{devhost.api_url}/links/{slug}/bookings",
            json={"start": f"{monday}T10:00:00Z", "attendee": attendee},
            timeout=60,
        )
        assert booked.status_code == 503 and booked.json()["code"] == "outlook_unavailable", booked.text
    # Nor does the product's meeting that skips the live check book it with no event.
    meeting = requests.post(
        f"{devhost.api_url}/links/{writes_only}/meetings",
        json={"start": f"{monday}T11:00:00Z", "attendees": [attendee], "skipLiveCheck": True},
        headers=BACKEND,
        timeout=60,
    )
    assert meeting.status_code == 503 and meeting.json()["code"] == "outlook_unavailable", meeting.text
    assert all(not c["events"] for c in admin.mailbox(second_email)["calendars"])


def _get_links(devhost: DevHost, user_id: str) -> list[dict[str, Any]]:
    r = requests.get(f"{devhost.api_url}/links", params={"userId": user_id}, headers=BACKEND, timeout=30)
    assert r.status_code == 200, r.text
    return list(r.json()["links"])


def test_disconnecting_the_account_of_the_chosen_calendars_falls_back_to_the_other_accounts_default(
    devhost: DevHost, admin: SandboxAdmin, host: Host, sandbox_http: requests.Session
) -> None:
    """The user's settings check and write A's calendar; the host keeps account B and disconnects A.
    An emptied list would offer every weekly hour unchecked and book with no event: B's default
    calendar takes the empty places, as at a first connect."""
    second_email = unique_email("second")
    second = admin.add_account(second_email, time_zone="UTC")
    assert connect(devhost, sandbox_http, host.user_id, second["id"]).status_code == 200
    monday = next_monday()
    admin.add_event(
        second_email, subject="busy in B", start=dt(f"{monday}T10:00:00"), end=dt(f"{monday}T11:00:00")
    )
    slug = new_slug()
    put_link(devhost, slug, _body(host))
    assert f"{monday}T10:00" in slot_starts(devhost, slug, monday)[1]  # only A is checked

    r = requests.delete(
        f"{devhost.api_url}/users/{host.user_id}/connections/{host.connection_id}",
        headers=BACKEND,
        timeout=30,
    )
    assert r.status_code == 204
    body, starts = slot_starts(devhost, slug, monday)
    assert body["complete"] is True, body
    assert f"{monday}T10:00" not in starts and f"{monday}T11:00" in starts
    booked = requests.post(
        f"{devhost.api_url}/links/{slug}/bookings",
        json={
            "start": f"{monday}T11:00:00Z",
            "attendee": {"name": "Ann Example", "email": "ann@example.com"},
        },
        timeout=60,
    )
    assert booked.status_code == 201, booked.text
    subjects = [s for found in _events_by_calendar(admin, second_email).values() for s in found]
    assert len(subjects) == 2 and "busy in B" in subjects, subjects  # the booking's event is in B
