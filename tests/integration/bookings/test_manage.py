"""Managing a booking with its manage token: reschedule patches the same Outlook event, cancel
deletes it, one booking's token does nothing to another; hosts without a calendar, daily caps and
round-robin pools."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin
from lib.adapters.storage import storage_account
from lib.features.bookings.records import (
    BookingAuditRecord,
    BookingRecord,
    HostBookingRecord,
    SlotLockRecord,
)
from tests.integration.availability.helpers import (
    Host,
    new_user,
    next_monday,
    slot_starts,
)
from tests.integration.sync.helpers import wait_for

from .helpers import at, book, events, manage, new_link


def _lock_rows(user_id: str) -> list[SlotLockRecord]:
    return list(storage_account().table(SlotLockRecord).query(partition=user_id))


def test_reschedule_moves_the_same_event_and_cancel_deletes_it(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    slug = new_link(devhost, (host.user_id, "microsoft"))
    monday = next_monday()
    created = book(devhost, slug, at(monday, 10)).json()
    booking_id, token = created["bookingId"], created["manageToken"]
    [event] = events(admin, host.email)

    moved = manage(devhost, booking_id, "reschedule", token, start=at(monday, 14))

    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert (body["status"], body["startUtc"], body["endUtc"]) == ("confirmed", at(monday, 14), at(monday, 15))
    assert body["history"][0]["fromStartUtc"] == at(monday, 10) and body["history"][0]["by"] == "attendee"
    assert "rescheduledAt" in body and "manageToken" not in body
    [patched] = events(admin, host.email)
    assert patched["id"] == event["id"] and patched["start"]["dateTime"].startswith(f"{monday}T14:00:00")
    assert {lock.cell_start[11:16] for lock in _lock_rows(host.user_id)} == {
        f"{14 + m // 60}:{m % 60:02d}" for m in range(0, 60, 5)
    }
    _, starts = slot_starts(devhost, slug, monday)
    assert f"{monday}T10:00" in starts and f"{monday}T14:00" not in starts

    # Moving by half an hour overlaps its own time: still fine.
    slug_half = new_link(devhost, (host.user_id, "microsoft"), slotStepMinutes=30)
    other = book(devhost, slug_half, at(monday, 9)).json()
    shifted = manage(devhost, other["bookingId"], "reschedule", other["manageToken"], start=at(monday, 9, 30))
    assert shifted.status_code == 200, shifted.text

    cancelled = manage(devhost, booking_id, "cancel", token)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert "cancelledAt" in cancelled.json()
    [left] = events(admin, host.email)  # only the other booking's event is left
    assert storage_account().table(BookingRecord).get(other["bookingId"], "booking").event_id == left["id"]
    assert {lock.booking_id for lock in _lock_rows(host.user_id)} == {other["bookingId"]}
    again = manage(devhost, booking_id, "cancel", token)
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    late = manage(devhost, booking_id, "reschedule", token, start=at(monday, 11))
    assert late.status_code == 409 and late.json()["code"] == "conflict"
    operations = [
        (a.operation, a.outcome)
        for a in storage_account().table(BookingAuditRecord).query(partition=booking_id)
    ]
    assert operations == [("create", "ok"), ("reschedule", "ok"), ("cancel", "ok")]


def test_an_event_deleted_in_outlook_counts_as_gone_on_cancel(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    slug = new_link(devhost, (host.user_id, "microsoft"))
    created = book(devhost, slug, at(next_monday(), 11)).json()
    [event] = events(admin, host.email)
    # Graph's answer is 404 now (what the sync listener may not have noticed yet).
    admin.delete_event(host.email, event["id"])
    r = manage(devhost, created["bookingId"], "cancel", created["manageToken"])
    assert r.status_code == 200 and r.json()["status"] in ("cancelled", "cancelled_in_outlook")


def test_rescheduling_a_booking_whose_event_the_host_deleted_cancels_it_instead_of_leaving_it_confirmed(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    """Found by the soak: the reschedule answered 409 `event_gone` but left the booking `confirmed`
    with no event, holding its slot for good (the sync listener had skipped it, or never heard)."""
    slug = new_link(devhost, (host.user_id, "microsoft"))
    monday = next_monday()
    created = book(devhost, slug, at(monday, 11)).json()
    booking_id, token = created["bookingId"], created["manageToken"]
    [event] = events(admin, host.email)
    admin.delete_event(host.email, event["id"])
    r = manage(devhost, booking_id, "reschedule", token, start=at(monday, 14))
    assert r.status_code == 409 and r.json()["code"] == "conflict", r.text
    shown = requests.get(
        f"{devhost.api_url}/bookings/{booking_id}", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert shown.json()["status"] == "cancelled_in_outlook"
    # Neither the old time nor the new one stays held. When the change hook ends the booking first
    # (the reschedule then answers 409 from the status alone), it releases the cells just after
    # storing the status: wait for that release, as a booking page would see it moments later.
    wait_for(lambda: _lock_rows(host.user_id) == [], timeout=10, what="the booking's cells released")
    _, starts = slot_starts(devhost, slug, monday)
    assert f"{monday}T11:00" in starts


def test_an_event_that_is_not_the_bookings_is_never_changed_by_reschedule_or_cancel(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    """The event at the booking's id now carries another tag (the host reused it, or another tool
    rewrote it): reschedule is refused and leaves it alone; cancel ends the booking without
    deleting it."""
    from lib.providers.microsoft.outlook_event import BOOKING_ID_PROPERTY

    slug = new_link(devhost, (host.user_id, "microsoft"))
    monday = next_monday()
    created = book(devhost, slug, at(monday, 10)).json()
    booking_id, token = created["bookingId"], created["manageToken"]
    [event] = events(admin, host.email)
    other_tag = str(uuid.uuid4())
    admin.update_event(
        host.email,
        event["id"],
        singleValueExtendedProperties=[{"id": BOOKING_ID_PROPERTY, "value": other_tag}],
    )

    moved = manage(devhost, booking_id, "reschedule", token, start=at(monday, 14))

    assert moved.status_code == 409 and moved.json()["code"] == "conflict", moved.text
    assert "not one Slotbridge created for this booking" in moved.json()["detail"]
    [untouched] = events(admin, host.email)
    assert untouched["id"] == event["id"] and untouched["start"] == event["start"]
    stored = storage_account().table(BookingRecord).get(booking_id, "booking")
    assert (stored.status.value, stored.start_utc.hour) == ("confirmed", 10)
    # The new time's cells were given back; the old ones are still the booking's.
    assert {lock.cell_start[11:13] for lock in _lock_rows(host.user_id)} == {"10"}

    cancelled = manage(devhost, booking_id, "cancel", token)

    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", cancelled.text
    [kept] = events(admin, host.email)  # not ours to delete
    assert kept["id"] == event["id"] and not kept.get("isCancelled")
    assert _lock_rows(host.user_id) == []
    audit = sorted(
        storage_account().table(BookingAuditRecord).query(partition=booking_id), key=lambda a: a.entry_id
    )
    assert [(a.operation, a.outcome, a.code) for a in audit] == [
        ("create", "ok", None),
        ("reschedule", "skipped", "not_ours"),
        ("cancel", "skipped", "not_ours"),
    ]


def test_one_bookings_token_cannot_touch_another(devhost: DevHost, admin: SandboxAdmin, host: Host) -> None:
    slug = new_link(devhost, (host.user_id, "microsoft"))
    monday = next_monday()
    a = book(devhost, slug, at(monday, 9)).json()
    b = book(devhost, slug, at(monday, 12)).json()

    wrong = manage(devhost, b["bookingId"], "cancel", a["manageToken"])
    assert wrong.status_code == 403 and wrong.json()["code"] == "unauthorized"
    assert wrong.headers["Content-Type"] == "application/problem+json"
    wrong = manage(devhost, b["bookingId"], "reschedule", a["manageToken"], start=at(monday, 15))
    assert wrong.status_code == 403
    missing = manage(devhost, b["bookingId"], "cancel", None)
    assert missing.status_code == 401 and missing.json()["code"] == "unauthorized"
    unknown = manage(devhost, "00000000-0000-4000-8000-000000000000", "cancel", a["manageToken"])
    assert unknown.status_code == 404
    assert manage(devhost, "../etc", "cancel", a["manageToken"]).status_code == 404
    # The token in the body works as well as the header.
    r = requests.post(
        f"{devhost.api_url}/bookings/{b['bookingId']}/cancel", json={"token": b["manageToken"]}, timeout=30
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    stored = storage_account().table(BookingRecord).get(a["bookingId"], "booking")
    assert stored.status.value == "confirmed" and len(events(admin, host.email)) == 1


def test_a_host_without_calendar_gets_the_booking_stored_without_event(devhost: DevHost) -> None:
    user = new_user()
    slug = new_link(devhost, (user, "none"))
    monday = next_monday()
    r = book(devhost, slug, at(monday, 10))
    assert r.status_code == 201, r.text
    assert [w["code"] for w in r.json()["warnings"]] == ["no_calendar_event"]
    stored = storage_account().table(BookingRecord).get(r.json()["bookingId"], "booking")
    assert stored.event_id is None and stored.connection_id is None
    # Its time is taken all the same: not offered, not bookable twice.
    _, starts = slot_starts(devhost, slug, monday)
    assert f"{monday}T10:00" not in starts and f"{monday}T11:00" in starts
    assert book(devhost, slug, at(monday, 10)).json()["code"] == "slot_unavailable"
    moved = manage(
        devhost, r.json()["bookingId"], "reschedule", r.json()["manageToken"], start=at(monday, 13)
    )
    assert moved.status_code == 200
    assert manage(devhost, r.json()["bookingId"], "cancel", r.json()["manageToken"]).status_code == 200
    _, starts = slot_starts(devhost, slug, monday)
    assert {f"{monday}T10:00", f"{monday}T13:00"} <= starts


def test_the_daily_cap_counts_bookings_in_availability_and_at_booking(devhost: DevHost) -> None:
    user = new_user()
    slug = new_link(devhost, (user, "none"), dailyCap=2)
    monday = next_monday()
    assert book(devhost, slug, at(monday, 9)).status_code == 201
    _, starts = slot_starts(devhost, slug, monday, monday + timedelta(days=1))
    assert f"{monday}T12:00" in starts
    assert book(devhost, slug, at(monday, 12)).status_code == 201

    _, starts = slot_starts(devhost, slug, monday, monday + timedelta(days=1))
    assert not any(s.startswith(str(monday)) for s in starts)
    assert any(s.startswith(str(monday + timedelta(days=1))) for s in starts)
    full = book(devhost, slug, at(monday, 15))
    assert full.status_code == 409 and full.json()["code"] == "slot_unavailable"
    # The cap is per host across links.
    other = new_link(devhost, (user, "none"))
    assert book(devhost, other, at(monday, 16)).status_code == 201
    assert book(devhost, slug, at(monday + timedelta(days=1), 9)).status_code == 201


def test_round_robin_books_the_free_host_booked_least_recently(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session
) -> None:
    first, second = Host(devhost, admin, sandbox_http), Host(devhost, admin, sandbox_http)
    slug = new_link(devhost, (first.user_id, "microsoft"), (second.user_id, "microsoft"))
    monday = next_monday()

    def host_of(response: requests.Response) -> str:
        assert response.status_code == 201, response.text
        return (
            storage_account().table(BookingRecord).get(response.json()["bookingId"], "booking").host_user_id
        )

    assert host_of(book(devhost, slug, at(monday, 9))) == first.user_id  # never booked: link order
    assert host_of(book(devhost, slug, at(monday, 9))) == second.user_id  # same slot, other host
    assert book(devhost, slug, at(monday, 9)).json()["code"] == "slot_unavailable"
    assert host_of(book(devhost, slug, at(monday, 10))) == first.user_id  # least recently booked
    # The least recently booked host is busy in Outlook: the other one gets it.
    from devstack.sandbox.admin_client import dt

    admin.add_event(
        second.email, subject="Busy", start=dt(f"{monday}T11:00:00"), end=dt(f"{monday}T12:00:00")
    )
    assert host_of(book(devhost, slug, at(monday, 11))) == first.user_id
    assert len(events(admin, first.email)) == 3 and len(events(admin, second.email)) == 2


def test_attendees_booking_a_pool_at_once_are_spread_over_its_hosts(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session
) -> None:
    """Attendees booking distinct slots at the same moment all read the same rotation; each must
    still go to a host no other booking is under way with (one mailbox takes only 4 Graph
    requests at a time, so a pool that sent them all to one host would book no faster than it)."""
    hosts = [Host(devhost, admin, sandbox_http) for _ in range(4)]
    slug = new_link(devhost, *[(h.user_id, "microsoft") for h in hosts])
    monday = next_monday()
    for h in hosts:  # slow Graph, so that the four bookings are surely under way together
        admin.add_fault("latency", path="/v1.0/*", account=h.email, latency_ms=300, count=10)
    together = threading.Barrier(len(hosts))

    def attendee(hour: int) -> requests.Response:
        together.wait()
        return book(devhost, slug, at(monday, hour))

    with ThreadPoolExecutor(len(hosts)) as pool:
        answers = list(pool.map(attendee, range(9, 9 + len(hosts))))
    assert all(a.status_code == 201 for a in answers), [a.text for a in answers]
    booked = storage_account().table(BookingRecord)
    chosen = [booked.get(a.json()["bookingId"], "booking").host_user_id for a in answers]
    assert sorted(chosen) == sorted(h.user_id for h in hosts)


def test_a_booking_stuck_pending_gives_its_slot_back_to_the_reconciler(devhost: DevHost) -> None:
    from datetime import UTC, datetime

    from lib.features.bookings import locks, release
    from lib.features.bookings.manage_tokens import token_hash

    user = new_user()
    slug = new_link(devhost, (user, "none"))
    monday = next_monday()
    start = datetime.fromisoformat(at(monday, 10).replace("Z", "+00:00"))
    span = locks.lock_span(start, start + timedelta(hours=1), 0, 0)
    now = datetime.now(UTC)
    stuck = BookingRecord(
        booking_id="11111111-2222-4333-8444-555555555555",
        slug=slug,
        link_title="Intro call",
        host_user_id=user,
        start_utc=start,
        end_utc=start + timedelta(hours=1),
        time_zone="UTC",
        attendee_name="Ada",
        attendee_email="ada@example.com",
        lock_start_utc=span[0],
        lock_end_utc=span[1],
        manage_token_sha256=token_hash("x"),
        created_at=now,
        updated_at=now,
    )
    storage_account().table(BookingRecord).create(stuck)
    locks.acquire(user, stuck.booking_id, start, locks.cells(*span))  # then the worker "crashed"
    assert book(devhost, slug, at(monday, 10)).json()["code"] == "slot_unavailable"

    assert release.release_stale_pending(now=now + timedelta(minutes=5)) == 0  # not stale yet
    assert release.release_stale_pending(now=now + timedelta(minutes=11)) >= 1

    assert storage_account().table(BookingRecord).get(stuck.booking_id, "booking").status.value == "failed"
    assert book(devhost, slug, at(monday, 10)).status_code == 201


def test_housekeeping_removes_slot_locks_a_week_past_and_keeps_the_rest(devhost: DevHost) -> None:
    from datetime import UTC, datetime

    from lib.features.bookings import locks
    from lib.features.housekeeping.reconcile import housekeeping

    now = datetime.now(UTC)
    hosts = [f"sweep-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    # 150 old cells for the first host (more than one transaction), a few for the second.
    old = locks.cells(now - timedelta(days=20), now - timedelta(days=20) + 150 * locks.CELL)
    recent = locks.cells(now - timedelta(days=3), now - timedelta(days=3) + 6 * locks.CELL)
    future = locks.cells(now + timedelta(days=2), now + timedelta(days=2) + 6 * locks.CELL)
    for keys in (old[:100], old[100:], recent, future):
        locks.acquire(hosts[0], "booking-a", now, keys)
    locks.acquire(hosts[1], "booking-b", now, old[:4] + future)

    housekeeping()

    table = storage_account().table(SlotLockRecord)
    left = {host: sorted(lock.cell_start for lock in table.query(partition=host)) for host in hosts}
    assert left == {hosts[0]: sorted(recent + future), hosts[1]: sorted(future)}
    assert locks.sweep_past() == 0  # nothing left to do


def test_a_reschedule_whose_list_row_cannot_be_stored_moves_nothing_and_holds_no_new_time(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    """The host's bookings list (`hostbookings`) is gone while the attendee reschedules (a real
    storage failure: Azurite answers 404): the move is refused before the Outlook event changes,
    so event and booking stay at the old time, and the new time's lock cells are let go."""
    slug = new_link(devhost, (host.user_id, "microsoft"))
    monday = next_monday()
    created = book(devhost, slug, at(monday, 10)).json()
    booking_id, token = created["bookingId"], created["manageToken"]
    account = storage_account()
    index_table = account.table_name(HostBookingRecord)
    account.table_service.delete_table(index_table)
    try:
        moved = manage(devhost, booking_id, "reschedule", token, start=at(monday, 14))
    finally:
        account.table_service.create_table_if_not_exists(index_table)
    # (The adapter reads Azurite's 404 for the missing table as a missing record: `not_found`.)
    assert moved.status_code != 200, moved.text
    assert moved.headers["Content-Type"] == "application/problem+json"

    [event] = events(admin, host.email)
    assert event["start"]["dateTime"].startswith(f"{monday}T10:00:00")
    assert account.table(BookingRecord).get(booking_id, "booking").start_utc.hour == 10
    assert {lock.cell_start[11:13] for lock in _lock_rows(host.user_id)} == {"10"}
    # Once storage is back, the same move goes through.
    again = manage(devhost, booking_id, "reschedule", token, start=at(monday, 14))
    assert again.status_code == 200, again.text
    [event] = events(admin, host.email)
    assert event["start"]["dateTime"].startswith(f"{monday}T14:00:00")
