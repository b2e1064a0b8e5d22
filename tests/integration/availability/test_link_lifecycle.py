"""A link's lifecycle through the dev host: paused (`active: false`) and deleted links answer their
own problem codes on every public route - also right after availability remembered them - while
their bookings stay manageable (read, cancel: the Outlook event goes), and a deleted link's slug is
given to a new link only when the caller says so."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin
from lib.core.auth import issue_user_token
from tests.fixtures.devhost import USER_TOKEN_KEY
from tests.integration.bookings.helpers import at, book, events, manage
from tests.integration.connect.helpers import BACKEND

from .helpers import Host, availability, link_body, new_slug, next_monday, put_link, slot_starts


@pytest.fixture()
def host(devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session) -> Host:
    return Host(devhost, admin, sandbox_http)


def _as_user(user_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_user_token(USER_TOKEN_KEY, user_id)}"}


def _public(devhost: DevHost, slug: str) -> requests.Response:
    return requests.get(f"{devhost.api_url}/links/{slug}", timeout=30)


def _listed(devhost: DevHost, user_id: str) -> dict[str, Any]:
    r = requests.get(f"{devhost.api_url}/links", params={"userId": user_id}, headers=BACKEND, timeout=30)
    assert r.status_code == 200, r.text
    return {link["slug"]: link for link in r.json()["links"]}


def _problem(r: requests.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert r.json()["code"] == code


def _booked(devhost: DevHost, slug: str, start: str) -> dict[str, Any]:
    r = book(devhost, slug, start)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _get_booking(devhost: DevHost, booking: dict[str, Any]) -> requests.Response:
    return requests.get(
        f"{devhost.api_url}/bookings/{booking['bookingId']}",
        headers={"Authorization": f"Bearer {booking['manageToken']}"},
        timeout=30,
    )


def test_a_paused_link_offers_nothing_but_its_bookings_stay_manageable(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    monday = next_monday()
    slug = new_slug()
    body = link_body([(host.user_id, "microsoft")])
    put_link(devhost, slug, body)
    booking = _booked(devhost, slug, at(monday, 10))
    assert len(slot_starts(devhost, slug, monday)[1]) == 7  # remembered by availability now

    paused = put_link(devhost, slug, {**body, "active": False}, headers=_as_user(host.user_id))
    assert paused["active"] is False
    assert _listed(devhost, host.user_id)[slug]["active"] is False

    # At once, not after availability's memo runs out.
    _problem(_public(devhost, slug), 409, "link_inactive")
    _problem(availability(devhost, slug, monday), 409, "link_inactive")
    _problem(book(devhost, slug, at(monday, 11)), 409, "link_inactive")

    # The attendee's booking: readable, not movable (the link offers no time), cancellable.
    assert _get_booking(devhost, booking).json()["status"] == "confirmed"
    moved = manage(devhost, booking["bookingId"], "reschedule", booking["manageToken"], start=at(monday, 12))
    _problem(moved, 409, "link_inactive")
    assert len(events(admin, host.email)) == 1
    cancelled = manage(devhost, booking["bookingId"], "cancel", booking["manageToken"])
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert events(admin, host.email) == []

    # A PUT without `active` makes it active again.
    assert put_link(devhost, slug, body)["active"] is True
    assert _public(devhost, slug).status_code == 200
    assert len(slot_starts(devhost, slug, monday)[1]) == 8
    _problem(
        requests.put(
            f"{devhost.api_url}/links/{slug}", json={**body, "active": "no"}, headers=BACKEND, timeout=30
        ),
        400,
        "validation_error",
    )


def test_a_deleted_link_is_gone_its_bookings_stay_and_its_slug_is_not_reused_silently(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    monday = next_monday()
    slug = new_slug()
    body = link_body([(host.user_id, "microsoft")])
    put_link(devhost, slug, body)
    booking = _booked(devhost, slug, at(monday, 10))
    assert len(slot_starts(devhost, slug, monday)[1]) == 7

    stranger = requests.delete(
        f"{devhost.api_url}/links/{slug}", headers=_as_user("someone-else"), timeout=30
    )
    _problem(stranger, 403, "unauthorized")
    assert _public(devhost, slug).status_code == 200

    deleted = requests.delete(f"{devhost.api_url}/links/{slug}", headers=_as_user(host.user_id), timeout=30)
    assert deleted.status_code == 204, deleted.text
    again = requests.delete(f"{devhost.api_url}/links/{slug}", headers=BACKEND, timeout=30)
    assert again.status_code == 204, again.text
    unknown = requests.delete(f"{devhost.api_url}/links/{new_slug()}", headers=BACKEND, timeout=30)
    _problem(unknown, 404, "not_found")

    assert slug not in _listed(devhost, host.user_id)
    _problem(_public(devhost, slug), 410, "link_deleted")
    _problem(availability(devhost, slug, monday), 410, "link_deleted")
    _problem(book(devhost, slug, at(monday, 11)), 410, "link_deleted")

    assert _get_booking(devhost, booking).json()["status"] == "confirmed"
    moved = manage(devhost, booking["bookingId"], "reschedule", booking["manageToken"], start=at(monday, 12))
    _problem(moved, 410, "link_deleted")
    cancelled = manage(devhost, booking["bookingId"], "cancel", booking["manageToken"])
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", cancelled.text
    assert events(admin, host.email) == []

    # The slug: refused unless asked for explicitly (and only by who could manage the deleted link).
    url = f"{devhost.api_url}/links/{slug}"
    _problem(requests.put(url, json=body, headers=BACKEND, timeout=30), 409, "slug_deleted")
    _problem(
        requests.put(url, params={"reuseDeletedSlug": "yes"}, json=body, headers=BACKEND, timeout=30),
        400,
        "validation_error",
    )
    other = link_body([("someone-else", "none")])
    taken = requests.put(
        url, params={"reuseDeletedSlug": "true"}, json=other, headers=_as_user("someone-else"), timeout=30
    )
    _problem(taken, 403, "unauthorized")
    _problem(_public(devhost, slug), 410, "link_deleted")

    reused = requests.put(url, params={"reuseDeletedSlug": "true"}, json=body, headers=BACKEND, timeout=30)
    assert reused.status_code == 201, reused.text
    assert _public(devhost, slug).status_code == 200
    assert slug in _listed(devhost, host.user_id)
    assert len(slot_starts(devhost, slug, monday)[1]) == 8
