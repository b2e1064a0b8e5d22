"""An event write that lands after the app stopped waiting (Graph took longer than the app's Graph
timeout, then created the event all the same): the booking stays `pending` with its slot held,
a retry with the same Idempotency-Key finishes it with that event, the reconciler adopts it when
nobody retries, and an event landing after the reconciler gave up is deleted - never an Outlook
invitation without a confirmed booking behind it."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin
from lib.adapters.storage import storage_account
from lib.features.bookings.records import (
    BookingAuditRecord,
    BookingEventRecord,
    BookingRecord,
    SlotLockRecord,
)
from lib.features.outbox.records import OutboxRecord
from lib.providers.microsoft.outlook_event import BOOKING_ID_PROPERTY
from tests.integration.availability.helpers import Host, next_monday, slot_starts

from .helpers import EVENTS_POST, at, book, booking_body, events, manage, new_link

GRAPH_TIMEOUT_S = 3


@pytest.fixture(scope="module")
def app_env(app_env: dict[str, str]) -> dict[str, str]:
    # A short Graph timeout, so that a write the sandbox delays past it keeps the tests fast.
    return {**app_env, "SLOTBRIDGE_GRAPH_TIMEOUT_SECONDS": str(GRAPH_TIMEOUT_S)}


def _write_late(admin: SandboxAdmin, host: Host, seconds: float) -> None:
    """The next event POST of the host is handled (the event created) only after `seconds` - past
    the app's Graph timeout, so the app never sees the answer."""
    admin.add_fault(
        "latency", method="POST", path=EVENTS_POST, account=host.email, latency_ms=int(seconds * 1000)
    )


def _wait_for_events(admin: SandboxAdmin, host: Host, count: int, timeout_s: float = 20) -> list[Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        found = events(admin, host.email)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def _created_messages(host: Host, booking_id: str) -> int:
    """How many `booking.created` messages the product has for this booking."""
    return sum(
        1
        for m in storage_account().table(OutboxRecord).query(partition=host.user_id)
        if m.type == "booking.created" and m.data["booking"]["bookingId"] == booking_id
    )


def _tag(event: dict[str, Any]) -> str | None:
    props = event.get("singleValueExtendedProperties") or []
    return next((p["value"] for p in props if p["id"].lower() == BOOKING_ID_PROPERTY.lower()), None)


def _only_booking(host: Host) -> BookingRecord:
    table = storage_account().table(BookingRecord)
    [booking] = table.query(where="host_user_id eq @h", parameters={"h": host.user_id})
    return booking


def _stored(booking_id: str) -> BookingRecord:
    return storage_account().table(BookingRecord).get(booking_id, "booking")


def _held_by(host: Host) -> set[str]:
    return {lock.booking_id for lock in storage_account().table(SlotLockRecord).query(partition=host.user_id)}


def _audit(booking_id: str) -> list[tuple[str, str, str | None]]:
    entries = storage_account().table(BookingAuditRecord).query(partition=booking_id)
    return [(a.operation, a.outcome, a.code) for a in sorted(entries, key=lambda a: a.entry_id)]


def _left_pending(
    devhost: DevHost, admin: SandboxAdmin, host: Host, hour: int, late_s: float
) -> tuple[str, date, BookingRecord]:
    """A booking at `hour` next Monday whose event write lands `late_s` seconds later, long after
    the app answered 503: the link's slug, the day and the pending booking."""
    slug = new_link(devhost, (host.user_id, "microsoft"))
    monday = next_monday()
    _write_late(admin, host, late_s)
    first = book(devhost, slug, at(monday, hour))
    assert first.status_code == 503, first.text
    return slug, monday, _only_booking(host)


def _no_orphan_invitations(admin: SandboxAdmin, host: Host) -> None:
    for event in events(admin, host.email):
        tag = _tag(event)
        if tag is not None and not event.get("isCancelled"):
            assert _stored(tag).status.value == "confirmed", f"event of {tag} without a confirmed booking"


@pytest.mark.parametrize("retry_when", ["after-it-lands", "before-it-lands"])
def test_a_late_event_write_keeps_the_booking_pending_and_a_same_key_retry_finishes_it(
    devhost: DevHost, admin: SandboxAdmin, host: Host, retry_when: str
) -> None:
    slug = new_link(devhost, (host.user_id, "microsoft"))
    monday = next_monday()
    body = booking_body(at(monday, 11))
    late_s = GRAPH_TIMEOUT_S + 3
    _write_late(admin, host, late_s)
    started = time.monotonic()

    first = book(devhost, slug, body=body, key="late")

    assert first.status_code == 503 and first.json()["code"] == "outlook_unavailable", first.text
    pending = _only_booking(host)
    # Unknown, not failed: the booking waits with its slot held, so nobody else is offered it.
    assert pending.status.value == "pending"
    assert _held_by(host) == {pending.booking_id}
    _, starts = slot_starts(devhost, slug, monday)
    assert f"{monday}T11:00" not in starts and f"{monday}T13:00" in starts
    taken = book(devhost, slug, body=booking_body(at(monday, 11)))
    assert taken.status_code == 409 and taken.json()["code"] == "slot_unavailable", taken.text
    if retry_when == "after-it-lands":
        assert len(_wait_for_events(admin, host, 1)) == 1

    retry = book(devhost, slug, body=body, key="late")

    assert retry.status_code == 201, retry.text
    assert retry.json()["bookingId"] == pending.booking_id  # that booking, finished
    time.sleep(max(0.0, started + late_s + 0.5 - time.monotonic()))  # the late write has landed
    [event] = events(admin, host.email)  # one invitation: the late write and the retry are one event
    stored = _stored(pending.booking_id)
    assert (stored.status.value, stored.event_id) == ("confirmed", event["id"])
    assert storage_account().table(BookingEventRecord).find(stored.connection_id, event["id"]) is not None
    assert book(devhost, slug, body=body, key="late").json() == retry.json()
    _no_orphan_invitations(admin, host)
    assert _created_messages(host, pending.booking_id) == 1  # announced once, when it was finished


def test_without_a_retry_the_reconciler_adopts_the_late_event_and_the_attendee_can_manage_it(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    from lib.features.bookings.release import STALE_PENDING, release_stale_pending

    _, _, pending = _left_pending(devhost, admin, host, 14, GRAPH_TIMEOUT_S + 2)
    [event] = _wait_for_events(admin, host, 1)  # the invitation reached the attendee
    assert _stored(pending.booking_id).status.value == "pending"
    assert _created_messages(host, pending.booking_id) == 0  # not made yet: nothing announced
    assert release_stale_pending(now=pending.created_at + STALE_PENDING / 2) == 0  # still in its window

    assert release_stale_pending(now=pending.created_at + STALE_PENDING + timedelta(minutes=1)) == 1

    stored = _stored(pending.booking_id)
    assert (stored.status.value, stored.event_id) == ("confirmed", event["id"])
    assert _held_by(host) == {pending.booking_id}
    assert storage_account().table(BookingEventRecord).find(stored.connection_id, event["id"]) is not None
    assert ("release", "ok", "late_event_adopted") in _audit(pending.booking_id)
    assert _created_messages(host, pending.booking_id) == 1  # an adopted booking is announced too
    _no_orphan_invitations(admin, host)
    # The invitation's manage link (the only place the attendee got the token) works.
    match = re.search(r"token=([A-Za-z0-9_\-]+)", event["body"]["content"])
    assert match, event["body"]["content"]
    shown = requests.get(
        f"{devhost.api_url}/bookings/{pending.booking_id}",
        headers={"Authorization": f"Bearer {match.group(1)}"},
        timeout=30,
    )
    assert shown.status_code == 200 and shown.json()["status"] == "confirmed", shown.text
    cancelled = manage(devhost, pending.booking_id, "cancel", match.group(1))
    assert cancelled.status_code == 200 and events(admin, host.email) == []


def test_an_event_landing_after_the_reconciler_gave_up_is_deleted_by_a_later_sweep(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    from lib.features.bookings.release import delete_late_events, release_stale_pending

    slug, monday, pending = _left_pending(devhost, admin, host, 15, GRAPH_TIMEOUT_S + 5)
    assert events(admin, host.email) == []  # still on its way

    # The window has passed and the event is not there: the booking fails and frees its slot.
    assert release_stale_pending(now=pending.created_at + timedelta(hours=1)) == 1
    assert _stored(pending.booking_id).status.value == "failed" and _held_by(host) == set()
    [late] = _wait_for_events(admin, host, 1)  # ... then Graph creates the event after all
    assert _tag(late) == pending.booking_id

    assert delete_late_events() == 1

    assert events(admin, host.email) == []  # deleted: Outlook sends the attendee a cancellation
    assert ("release", "ok", "late_event_deleted") in _audit(pending.booking_id)
    assert delete_late_events() == 0
    _, starts = slot_starts(devhost, slug, monday)
    assert f"{monday}T15:00" in starts


def test_a_late_event_whose_slot_someone_else_holds_now_is_deleted_and_the_booking_fails(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    import uuid

    from lib.features.bookings import locks
    from lib.features.bookings.release import STALE_PENDING, release_stale_pending

    _, _, pending = _left_pending(devhost, admin, host, 16, GRAPH_TIMEOUT_S + 1)
    [late] = _wait_for_events(admin, host, 1)  # the invitation reached the attendee
    # A release that failed half-way freed the booking's cells, and another booking took them.
    locks.release_span(host.user_id, pending.booking_id, pending.lock_start_utc, pending.lock_end_utc)
    other = str(uuid.uuid4())
    cells = locks.cells(pending.lock_start_utc, pending.lock_end_utc)
    locks.acquire(host.user_id, other, pending.start_utc, cells, datetime.now(UTC))

    assert release_stale_pending(now=pending.created_at + STALE_PENDING + timedelta(minutes=1)) == 1

    # The invitation cannot stand: deleted (Outlook sends the attendee a cancellation), the
    # booking failed, and the slot stays the other booking's.
    assert events(admin, host.email) == []
    assert _stored(pending.booking_id).status.value == "failed"
    assert ("release", "ok", "late_event_deleted") in _audit(pending.booking_id)
    assert ("release", "ok", "late_event_adopted") not in _audit(pending.booking_id)
    assert _held_by(host) == {other}
    assert storage_account().table(BookingEventRecord).find(pending.connection_id or "", late["id"]) is None
    _no_orphan_invitations(admin, host)


def test_a_late_write_landing_after_the_finished_booking_was_cancelled_is_deleted(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    """Found by the soak: the first POST is slow, a same-key retry writes the event (the first one
    has not landed, so its transactionId matches nothing), the attendee cancels - which deletes
    that event - and then the first POST lands: a second invitation, of a cancelled booking."""
    from lib.features.bookings.release import delete_late_events

    slug = new_link(devhost, (host.user_id, "microsoft"))
    monday = next_monday()
    body = booking_body(at(monday, 15))
    late_s = GRAPH_TIMEOUT_S + 4
    _write_late(admin, host, late_s)
    started = time.monotonic()
    assert book(devhost, slug, body=body, key="late-cancel").status_code == 503
    retry = book(devhost, slug, body=body, key="late-cancel")
    assert retry.status_code == 201, retry.text
    booking_id, token = retry.json()["bookingId"], retry.json()["manageToken"]
    cancelled = manage(devhost, booking_id, "cancel", token)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", cancelled.text
    time.sleep(max(0.0, started + late_s + 0.5 - time.monotonic()))  # the first POST has landed
    [late] = [e for e in events(admin, host.email) if _tag(e) == booking_id]

    assert delete_late_events() == 1

    assert [e for e in events(admin, host.email) if _tag(e) == booking_id] == []
    assert ("release", "ok", "late_event_deleted") in _audit(booking_id), late["id"]
    _no_orphan_invitations(admin, host)


def test_an_adopted_late_booking_counts_in_the_round_robin(
    devhost: DevHost, admin: SandboxAdmin, host: Host, sandbox_http: requests.Session
) -> None:
    """Adopted by housekeeping, a pool's booking is its host's latest, as one booked at once is:
    the link's next booking goes to the other host."""
    from lib.features.bookings.release import STALE_PENDING, release_stale_pending

    other = Host(devhost, admin, sandbox_http)
    slug = new_link(devhost, (host.user_id, "microsoft"), (other.user_id, "microsoft"))
    monday = next_monday()
    _write_late(admin, host, GRAPH_TIMEOUT_S + 1)  # the first host in the link's order: never booked
    assert book(devhost, slug, at(monday, 10)).status_code == 503
    pending = _only_booking(host)
    _wait_for_events(admin, host, 1)
    assert release_stale_pending(now=pending.created_at + STALE_PENDING + timedelta(minutes=1)) == 1
    assert _stored(pending.booking_id).status.value == "confirmed"

    nxt = book(devhost, slug, at(monday, 13))

    assert nxt.status_code == 201, nxt.text
    assert _stored(nxt.json()["bookingId"]).host_user_id == other.user_id
