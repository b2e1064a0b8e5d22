"""The bookings API for the product: list, get, reschedule, cancel and no-show by API key (the
product) and by the host's user token, never across users; what each change tells the product
through the outbox (booking.created / rescheduled / cancelled, who did it and why, exactly once)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin
from lib.adapters.storage import storage_account
from lib.core.auth import Principal, issue_user_token
from lib.features.bookings import host_index
from lib.features.bookings.manage import Caller, mark_no_show
from lib.features.bookings.records import BookingRecord
from lib.features.outbox.records import OutboxRecord
from tests.fixtures.devhost import API_KEY, USER_TOKEN_KEY
from tests.integration.availability.helpers import Host, new_user, next_monday

from .helpers import at, book, events, manage, new_link

PRODUCT = {"X-Api-Key": API_KEY}


def _as_user(user_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_user_token(USER_TOKEN_KEY, user_id)}"}


def _post(
    devhost: DevHost, booking_id: str, action: str, headers: dict[str, str], **body: Any
) -> requests.Response:
    return requests.post(
        f"{devhost.api_url}/bookings/{booking_id}/{action}", json=body, headers=headers, timeout=60
    )


def _get(devhost: DevHost, path: str, headers: dict[str, str], **params: Any) -> requests.Response:
    return requests.get(f"{devhost.api_url}{path}", params=params, headers=headers, timeout=60)


def _booking_events(user_id: str) -> list[OutboxRecord]:
    return [
        m
        for m in storage_account().table(OutboxRecord).query(partition=user_id)
        if m.type.startswith("booking.")
    ]


def _events_of(user_id: str, booking_id: str, type_: str) -> list[OutboxRecord]:
    return [
        m
        for m in _booking_events(user_id)
        if m.type == type_ and m.data["booking"]["bookingId"] == booking_id
    ]


def _list_all(devhost: DevHost, headers: dict[str, str], **params: Any) -> tuple[list[str], int]:
    """Every booking id the list gives, following nextCursor; and how many pages that took."""
    ids: list[str] = []
    pages, cursor = 0, None
    while True:
        r = _get(devhost, "/bookings", headers, **params, **({"cursor": cursor} if cursor else {}))
        assert r.status_code == 200, r.text
        pages += 1
        ids += [b["bookingId"] for b in r.json()["bookings"]]
        cursor = r.json()["nextCursor"]
        if cursor is None:
            return ids, pages
        assert pages < 50, "the cursor does not end"


def test_the_product_gets_reschedules_and_cancels_a_booking_and_each_change_is_announced_once(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    slug = new_link(devhost, (host.user_id, "microsoft"))
    monday = next_monday()
    created = book(devhost, slug, at(monday, 10)).json()
    booking_id, token = created["bookingId"], created["manageToken"]
    [event] = events(admin, host.email)

    # The product's view, and the attendee's unchanged.
    shown = _get(devhost, f"/bookings/{booking_id}", PRODUCT)
    assert shown.status_code == 200, shown.text
    view = shown.json()
    assert (view["hostUserId"], view["linkTitle"], view["noShow"]) == (host.user_id, "Intro call", False)
    assert view["attendee"]["name"] == "Ada Lovelace" and "manageToken" not in view
    attendee = _get(devhost, f"/bookings/{booking_id}", {"Authorization": f"Bearer {token}"}).json()
    assert "hostUserId" not in attendee and "attendee" not in attendee and attendee["status"] == "confirmed"

    moved = _post(devhost, booking_id, "reschedule", PRODUCT, start=at(monday, 14), reason="Host travels")
    assert moved.status_code == 200, moved.text
    assert moved.json()["history"][-1] | {"at": None} == {
        "at": None,
        "by": "product",
        "reason": "Host travels",
        "fromStartUtc": at(monday, 10),
        "fromEndUtc": at(monday, 11),
        "toStartUtc": at(monday, 14),
        "toEndUtc": at(monday, 15),
    }
    [patched] = events(admin, host.email)  # the same Outlook event, moved
    assert patched["id"] == event["id"] and patched["start"]["dateTime"].startswith(f"{monday}T14:00:00")

    # A start in the past is refused as for the attendee; nothing moves.
    past = _post(devhost, booking_id, "reschedule", PRODUCT, start=at(monday - timedelta(days=14), 10))
    assert past.status_code == 409 and past.json()["code"] == "slot_unavailable", past.text

    cancelled = _post(devhost, booking_id, "cancel", PRODUCT, reason="Host is ill")
    assert cancelled.status_code == 200, cancelled.text
    assert (
        cancelled.json()["status"],
        cancelled.json()["cancelledBy"],
        cancelled.json()["cancelReason"],
    ) == (
        "cancelled",
        "product",
        "Host is ill",
    )
    assert events(admin, host.email) == []  # the Outlook event is deleted
    again = _post(devhost, booking_id, "cancel", PRODUCT)
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    late = _post(devhost, booking_id, "reschedule", PRODUCT, start=at(monday, 15))
    assert late.status_code == 409 and late.json()["code"] == "conflict"

    # Each change once, saying who did it and why; never a token.
    [made] = _events_of(host.user_id, booking_id, "booking.created")
    [rescheduled] = _events_of(host.user_id, booking_id, "booking.rescheduled")
    [cancel] = _events_of(host.user_id, booking_id, "booking.cancelled")
    assert made.data["booking"]["status"] == "confirmed" and made.data["booking"]["startUtc"] == at(
        monday, 10
    )
    assert (rescheduled.data["by"], rescheduled.data["reason"]) == ("product", "Host travels")
    assert rescheduled.data["previous"] == {"startUtc": at(monday, 10), "endUtc": at(monday, 11)}
    assert rescheduled.data["booking"]["startUtc"] == at(monday, 14)
    assert (cancel.data["by"], cancel.data["reason"], cancel.data["booking"]["status"]) == (
        "product",
        "Host is ill",
        "cancelled",
    )
    for message in (made, rescheduled, cancel):
        assert token not in str(message.data) and "eventId" not in message.data["booking"]


def test_the_host_manages_their_own_bookings_with_a_user_token_and_no_one_elses(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    slug = new_link(devhost, (host.user_id, "microsoft"))
    monday = next_monday()
    first = book(devhost, slug, at(monday, 9)).json()["bookingId"]
    second = book(devhost, slug, at(monday, 11)).json()["bookingId"]
    stranger = _as_user(new_user())
    mine = _as_user(host.user_id)

    # Another user: 403 on every route, and nothing changes.
    for r in (
        _get(devhost, f"/bookings/{first}", stranger),
        _get(devhost, "/bookings", stranger, hostUserId=host.user_id),
        _post(devhost, first, "cancel", stranger),
        _post(devhost, first, "reschedule", stranger, start=at(monday, 15)),
        _post(devhost, first, "no-show", stranger, noShow=True),
    ):
        assert r.status_code == 403 and r.json()["code"] == "unauthorized", r.text
    assert _get(devhost, "/bookings", stranger).json() == {"bookings": [], "nextCursor": None}
    assert len(events(admin, host.email)) == 2

    listed = _get(devhost, "/bookings", mine)
    assert listed.status_code == 200, listed.text
    assert [b["bookingId"] for b in listed.json()["bookings"]] == [first, second]  # by start

    moved = _post(devhost, first, "reschedule", mine, start=at(monday, 13), reason="Clash")
    assert moved.status_code == 200 and moved.json()["history"][-1]["by"] == "host", moved.text
    done = _post(devhost, second, "cancel", mine, reason="Double-booked")
    assert done.status_code == 200 and done.json()["cancelledBy"] == "host", done.text
    [rescheduled] = _events_of(host.user_id, first, "booking.rescheduled")
    [cancel] = _events_of(host.user_id, second, "booking.cancelled")
    assert (rescheduled.data["by"], rescheduled.data["reason"]) == ("host", "Clash")
    assert (cancel.data["by"], cancel.data["reason"]) == ("host", "Double-booked")
    # The list follows the move: the first booking now starts after the cancelled second one.
    assert [b["bookingId"] for b in _get(devhost, "/bookings", mine).json()["bookings"]] == [second, first]
    [left] = events(admin, host.email)
    assert left["start"]["dateTime"].startswith(f"{monday}T13:00:00")

    # No-show only once the meeting started; the attendee's manage token cannot mark one.
    early = _post(devhost, first, "no-show", mine, noShow=True)
    assert early.status_code == 409 and early.json()["code"] == "meeting_not_started", early.text
    record = storage_account().table(BookingRecord).get(first, "booking")
    marked = mark_no_show(
        first, Caller.of(Principal(host.user_id)), lambda: True, now=record.start_utc + timedelta(minutes=5)
    )
    assert marked.wire()["noShow"] is True
    assert _get(devhost, f"/bookings/{first}", PRODUCT).json()["noShow"] is True
    cancelled = _post(devhost, second, "no-show", PRODUCT, noShow=True)
    assert cancelled.status_code == 409 and cancelled.json()["code"] == "conflict"


def test_the_list_pages_through_every_booking_once_and_filters(devhost: DevHost) -> None:
    user = new_user()
    slug = new_link(devhost, (user, "none"), slotStepMinutes=30, duration=30)
    other_slug = new_link(devhost, (user, "none"), slotStepMinutes=30, duration=30)
    monday = next_monday(2)
    made = [book(devhost, slug, at(monday, 9 + i // 2, 30 * (i % 2))).json()["bookingId"] for i in range(7)]
    elsewhere = book(devhost, other_slug, at(monday + timedelta(days=1), 9)).json()["bookingId"]

    ids, pages = _list_all(devhost, PRODUCT, hostUserId=user, limit=2)
    assert ids == [*made, elsewhere] and pages >= 4  # each once, none missing, in start order
    assert _list_all(devhost, _as_user(user), limit=3)[0] == [*made, elsewhere]
    assert _list_all(devhost, PRODUCT, hostUserId=user, linkSlug=other_slug)[0] == [elsewhere]
    window = {"from": at(monday, 10), "to": at(monday, 11)}
    assert _list_all(devhost, PRODUCT, hostUserId=user, **window)[0] == made[2:4]

    assert _post(devhost, made[0], "cancel", PRODUCT).status_code == 200
    assert _list_all(devhost, PRODUCT, hostUserId=user, status="cancelled")[0] == [made[0]]
    assert _list_all(devhost, PRODUCT, hostUserId=user, status="confirmed", limit=2)[0] == [
        *made[1:],
        elsewhere,
    ]
    # The product without a host sees this host's bookings among everyone's.
    assert set(made) <= set(_list_all(devhost, PRODUCT, limit=100)[0])

    first = _get(devhost, "/bookings", PRODUCT, hostUserId=user, limit=2).json()
    cursor = first["nextCursor"]
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    for params in (
        {"cursor": tampered},
        {"cursor": "not-a-cursor"},
        {"cursor": cursor, "status": "confirmed"},  # a cursor continues only its own query
    ):
        r = _get(devhost, "/bookings", PRODUCT, hostUserId=user, limit=2, **params)
        assert r.status_code == 400 and r.json()["code"] == "invalid_cursor", (params, r.text)
    for params in (
        {"status": "rescheduled"},
        {"from": "yesterday"},
        {"from": at(monday, 12), "to": at(monday, 10)},
        {"limit": "0"},
        {"limit": "101"},
        {"linkSlug": "Not A Slug"},
        {"colour": "red"},
    ):
        r = _get(devhost, "/bookings", PRODUCT, hostUserId=user, **params)
        assert r.status_code == 400 and r.json()["code"] == "validation_error", (params, r.text)
    assert _get(devhost, "/bookings", {}).status_code == 401


def test_a_manage_token_is_still_the_attendees_and_an_unknown_booking_is_404(devhost: DevHost) -> None:
    user = new_user()
    slug = new_link(devhost, (user, "none"))
    created = book(devhost, slug, at(next_monday(), 10)).json()
    r = manage(devhost, created["bookingId"], "no-show", created["manageToken"], noShow=True)
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    r = _get(devhost, f"/bookings/{uuid.uuid4()}", PRODUCT)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    bad_token = {"Authorization": "Bearer v1.not.valid"}
    assert _get(devhost, f"/bookings/{created['bookingId']}", bad_token).status_code == 401


def test_a_booking_listed_while_it_moves_stays_in_the_list_at_its_new_time(devhost: DevHost) -> None:
    # A move writes the booking's row at its new start, then the booking, then drops the old row
    # (manage.reschedule, outlook_sync). The product listing in between must neither list the
    # booking twice nor lose its new row: once the move is stored the booking is listed once.
    user = new_user()
    slug = new_link(devhost, (user, "none"))
    monday = next_monday()
    booking_id = book(devhost, slug, at(monday, 10)).json()["bookingId"]
    table = storage_account().table(BookingRecord)
    record = table.find(booking_id, "booking")
    assert record is not None
    old_start = record.start_utc
    moved = timedelta(hours=4)
    record.start_utc, record.end_utc = record.start_utc + moved, record.end_utc + moved

    host_index.add(record)  # the move's first step: listed at its new start
    assert _list_all(devhost, PRODUCT, hostUserId=user)[0] == [booking_id]  # still at its stored time
    table.update(record)  # the move is stored
    host_index.remove_start(record, old_start)

    listed = _get(devhost, "/bookings", PRODUCT, hostUserId=user).json()["bookings"]
    assert [(b["bookingId"], b["startUtc"]) for b in listed] == [(booking_id, at(monday, 14))]
