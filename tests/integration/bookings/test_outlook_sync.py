"""Two-way booking sync: a booking event moved or deleted in Outlook (the sandbox notifies the dev
host, the processor re-reads Graph, the bookings listener follows) updates the booking, its locks
and tells the product through the outbox."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin, dt
from lib.adapters.storage import storage_account
from lib.features.bookings.records import (
    BookingRecord,
    BookingStatus,
    HostBookingRecord,
    SlotLockRecord,
)
from lib.features.connections.records import ConnectionRecord, ConnectionStatus
from lib.features.outbox.records import OutboxRecord
from tests.integration.availability.helpers import link_body, new_slug, next_monday, put_link
from tests.integration.connect.helpers import connect
from tests.integration.sync.helpers import Host, wait_for

from .helpers import at, book, events


def _booking(booking_id: str) -> BookingRecord:
    return storage_account().table(BookingRecord).get(booking_id, "booking")


def _outbox(user_id: str) -> dict[str, OutboxRecord]:
    return {m.type: m for m in storage_account().table(OutboxRecord).query(partition=user_id)}


@dataclass(frozen=True)
class _Booked:
    host: Host
    slug: str
    monday: date
    booking_id: str
    token: str
    event: dict[str, Any]


def _book_at_ten(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session, *, settled: bool = False
) -> _Booked:
    """A connected host, a one-host link and a booking at 10:00 next Monday; with `settled`, once
    the booking's own event has come back through the sync (so a fault meets only what follows)."""
    host = Host(devhost, admin, sandbox_http)
    host.wait_synced()
    slug = new_slug()
    put_link(devhost, slug, link_body([(host.user_id, "microsoft")]))
    monday = next_monday()
    created = book(devhost, slug, at(monday, 10))
    assert created.status_code == 201, created.text
    [event] = events(admin, host.email)
    if settled:
        wait_for(lambda: event["id"] in host.cached(), what="the booking's event in the busy cache")
        host.wait_synced()
    answer = created.json()
    return _Booked(host, slug, monday, answer["bookingId"], answer["manageToken"], event)


def test_moving_and_deleting_the_event_in_outlook_updates_the_booking(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session
) -> None:
    booked = _book_at_ten(devhost, admin, sandbox_http)
    host, slug, monday, booking_id, event = (
        booked.host,
        booked.slug,
        booked.monday,
        booked.booking_id,
        booked.event,
    )

    admin.update_event(host.email, event["id"], start=dt(f"{monday}T13:00:00"), end=dt(f"{monday}T14:30:00"))
    moved = wait_for(
        lambda: (b := _booking(booking_id)).start_utc.hour == 13 and b,
        timeout=20,
        what="the booking to follow the moved event",
    )
    assert moved.status is BookingStatus.CONFIRMED
    assert moved.end_utc - moved.start_utc == timedelta(minutes=90)
    assert moved.history[-1]["by"] == "outlook" and moved.history[-1]["fromStartUtc"] == at(monday, 10)
    message = wait_for(lambda: _outbox(host.user_id).get("booking.moved_in_outlook"), what="moved message")
    booking = message.data["booking"]  # the booking events' payload (lib/features/bookings/events.py)
    assert booking["bookingId"] == booking_id and booking["startUtc"] == at(monday, 13)
    cells = {
        lock.cell_start for lock in storage_account().table(SlotLockRecord).query(partition=host.user_id)
    }
    assert min(cells) == at(monday, 13) and at(monday, 10) not in cells
    # The old time is bookable again; the new one is not.
    assert book(devhost, slug, at(monday, 10)).status_code == 201
    assert book(devhost, slug, at(monday, 14)).json()["code"] == "slot_unavailable"

    admin.delete_event(host.email, event["id"])
    cancelled = wait_for(
        lambda: (b := _booking(booking_id)).status is BookingStatus.CANCELLED_IN_OUTLOOK and b,
        timeout=20,
        what="the booking to be cancelled_in_outlook",
    )
    assert cancelled.cancelled_in_outlook_at is not None
    # Cancelled in Outlook is `booking.cancelled` by outlook (it was `booking.cancelled_in_outlook`).
    message = wait_for(lambda: _outbox(host.user_id).get("booking.cancelled"), what="cancelled message")
    assert message.message_id == f"booking_cancelled.{booking_id}"
    assert (message.data["by"], message.data["booking"]["status"]) == ("outlook", "cancelled_in_outlook")
    locks = list(storage_account().table(SlotLockRecord).query(partition=host.user_id))
    assert booking_id not in {lock.booking_id for lock in locks}
    assert book(devhost, slug, at(monday, 14)).status_code == 201
    # The manage token now answers the booking as it stands.
    r = requests.post(
        f"{devhost.api_url}/bookings/{booking_id}/cancel",
        headers={"Authorization": f"Bearer {booked.token}"},
        timeout=30,
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled_in_outlook"


def test_an_event_deleted_while_the_attendee_reschedules_still_cancels_the_booking(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session
) -> None:
    """Found by the soak: the listener skipped a change while a manage operation held the booking's
    lease (even one that then failed, e.g. a reschedule to a taken slot), and no later sync round
    reports that event again - the booking stayed confirmed with no event. It now waits for the lease."""
    booked = _book_at_ten(devhost, admin, sandbox_http)
    host, booking_id, event = booked.host, booked.booking_id, booked.event
    table = storage_account().table(BookingRecord)
    held = _booking(booking_id)
    held.operation_until = datetime.now(UTC) + timedelta(minutes=2)  # an attendee's operation runs
    table.update(held)
    admin.delete_event(host.email, event["id"])
    time.sleep(2)  # the notification is processed meanwhile; the listener meets the lease
    released = _booking(booking_id)
    assert released.status is BookingStatus.CONFIRMED
    released.operation_until = None  # the operation ends (it changed nothing)
    table.update(released)
    cancelled = wait_for(
        lambda: (b := _booking(booking_id)).status is BookingStatus.CANCELLED_IN_OUTLOOK and b,
        timeout=20,
        what="the booking to be cancelled_in_outlook after the operation",
    )
    assert cancelled.cancelled_in_outlook_at is not None


def test_a_move_that_graph_failed_to_show_us_is_applied_by_the_recheck(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session
) -> None:
    """Regression (found by the soak): the listener's read of a moved booking event hit a 503
    storm, and nothing reported the change again - the booking kept its old time for good."""
    booked = _book_at_ten(devhost, admin, sandbox_http, settled=True)
    host, monday, booking_id, event = booked.host, booked.monday, booked.booking_id, booked.event
    # Every attempt of the listener's one read fails (the client's whole retry budget).
    admin.add_fault("unavailable", method="GET", path="/v1.0/me/events/*", account=host.email, count=5)

    admin.update_event(host.email, event["id"], start=dt(f"{monday}T13:00:00"), end=dt(f"{monday}T14:00:00"))

    moved = wait_for(
        lambda: (b := _booking(booking_id)).start_utc.hour == 13 and b,
        timeout=45,
        what="the recheck to move the booking",
    )
    assert moved.status is BookingStatus.CONFIRMED
    assert admin.faults() == []  # the storm really met the first read
    assert wait_for(lambda: _outbox(host.user_id).get("booking.moved_in_outlook"), what="moved message")


def test_an_event_deleted_between_read_back_and_patch_cancels_the_booking_with_a_409(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session
) -> None:
    """Regression (found by the soak): the host deleted the event after the reschedule read it
    back and before its PATCH landed; Graph's 404 reached the attendee as 404 `not_found`."""
    from concurrent.futures import ThreadPoolExecutor

    booked = _book_at_ten(devhost, admin, sandbox_http)
    host, slug, monday, event = booked.host, booked.slug, booked.monday, booked.event
    booking_id, token = booked.booking_id, booked.token
    admin.add_fault("latency", method="PATCH", path="/v1.0/me/events/*", account=host.email, latency_ms=1500)

    with ThreadPoolExecutor(max_workers=1) as pool:
        moving = pool.submit(
            requests.post,
            f"{devhost.api_url}/bookings/{booking_id}/reschedule",
            json={"start": at(monday, 14)},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        wait_for(lambda: admin.faults() == [], what="the PATCH to be under way")
        admin.delete_event(host.email, event["id"])
        answer = moving.result()

    assert answer.status_code == 409, answer.text
    assert "deleted" in answer.json()["detail"]
    assert _booking(booking_id).status is BookingStatus.CANCELLED_IN_OUTLOOK
    assert book(devhost, slug, at(monday, 10)).status_code == 201  # its time is free again


def test_a_deletion_followed_while_an_attendee_touched_the_booking_is_not_lost(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session
) -> None:
    """Regression (found by the soak): the listener read the booking, an attendee's operation then
    changed it (took and gave back its lease: a reschedule to a taken slot), and the listener's
    ETag-guarded write lost - the change was dropped and the booking stayed confirmed, eventless."""
    booked = _book_at_ten(devhost, admin, sandbox_http, settled=True)
    host, booking_id, event = booked.host, booked.booking_id, booked.event
    # The listener's read-back of the event is slow; the attendee's operation lands meanwhile.
    admin.add_fault("latency", method="GET", path="/v1.0/me/events/*", account=host.email, latency_ms=1500)

    admin.delete_event(host.email, event["id"])
    wait_for(lambda: admin.faults() == [], what="the listener to read the event back")
    table = storage_account().table(BookingRecord)
    touched = _booking(booking_id)
    touched.operation_until = datetime.now(UTC) - timedelta(seconds=1)  # taken and given back
    table.update(touched)

    cancelled = wait_for(
        lambda: (b := _booking(booking_id)).status is BookingStatus.CANCELLED_IN_OUTLOOK and b,
        timeout=30,
        what="the booking to be cancelled_in_outlook after all",
    )
    assert cancelled.cancelled_in_outlook_at is not None


def test_a_move_whose_recheck_died_with_the_grant_is_applied_when_the_host_reconnects(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session
) -> None:
    """The listener's read of the moved event fails; before its recheck runs, the host's grant
    breaks, so the recheck is dropped (nothing can read that mailbox). The busy cache already holds
    the move, so no later round reports it: reconnecting's full resync compares the bookings."""
    booked = _book_at_ten(devhost, admin, sandbox_http, settled=True)
    host, monday, booking_id, event = booked.host, booked.monday, booked.booking_id, booked.event
    admin.add_fault("unavailable", method="GET", path="/v1.0/me/events/*", account=host.email, count=5)

    admin.update_event(host.email, event["id"], start=dt(f"{monday}T13:00:00"), end=dt(f"{monday}T14:00:00"))
    wait_for(
        lambda: (row := host.cached().get(event["id"])) is not None and row.start_utc.hour == 13,
        what="the move in the busy cache",
    )
    admin.revoke_grant(host.email)
    admin.expire_access_tokens(host.email)
    connections = storage_account().table(ConnectionRecord)
    wait_for(
        lambda: connections.get(host.user_id, host.connection_id).status is ConnectionStatus.NEEDS_RECONNECT,
        timeout=30,
        what="the recheck to meet the broken grant",
    )
    admin.clear_faults()
    time.sleep(2)  # whatever was queued for this calendar has run by now
    assert _booking(booking_id).start_utc.hour == 10  # out of step while the grant is broken

    assert connect(devhost, sandbox_http, host.user_id, host.account_id).status_code == 200

    moved = wait_for(
        lambda: (b := _booking(booking_id)).start_utc.hour == 13 and b,
        timeout=45,
        what="the reconnect's full resync to move the booking",
    )
    assert moved.status is BookingStatus.CONFIRMED and moved.history[-1]["by"] == "outlook"
    assert wait_for(lambda: _outbox(host.user_id).get("booking.moved_in_outlook"), what="moved message")


def test_a_move_in_outlook_whose_list_row_cannot_be_stored_holds_no_new_time(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    """The host's bookings list (`hostbookings`) is gone while the event is moved in Outlook (a
    real storage failure: Azurite answers 404): the booking stays as it was and the cells taken at
    the new time are let go - no time is held for a move not made (a recheck follows it later)."""
    booked = _book_at_ten(devhost, admin, sandbox_http, settled=True)
    host, monday, booking_id = booked.host, booked.monday, booked.booking_id
    account = storage_account()
    index_table = account.table_name(HostBookingRecord)
    account.table_service.delete_table(index_table)
    try:
        with caplog.at_level(logging.WARNING, logger="slotbridge.bookings.sync"):
            admin.update_event(
                host.email, booked.event["id"], start=dt(f"{monday}T13:00:00"), end=dt(f"{monday}T14:00:00")
            )
            wait_for(
                lambda: any("Outlook change not applied" in r.getMessage() for r in caplog.records),
                what="the move to fail",
            )
        assert _booking(booking_id).start_utc.hour == 10
        cells = {
            lock.cell_start[11:13]
            for lock in account.table(SlotLockRecord).query(partition=host.user_id)
            if lock.booking_id == booking_id
        }
        assert cells == {"10"}
    finally:
        account.table_service.create_table_if_not_exists(index_table)
