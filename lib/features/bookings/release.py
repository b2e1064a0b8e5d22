"""Booking housekeeping's part: bookings stuck `pending` past the search window resolved, and
events landing late for bookings that failed meanwhile deleted."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from lib.adapters.storage.tables import RecordNotFound
from lib.core.errors import Conflict, SlotbridgeError, SlotUnavailable
from lib.features.bookings import audit, host_choice, locks
from lib.features.bookings.host_calendar import pending_events
from lib.features.bookings.lease import operation
from lib.features.bookings.outcome import confirm, hold_locks, mark_failed
from lib.features.bookings.records import BookingRecord, BookingStatus
from lib.features.bookings.store import bookings

log = logging.getLogger("slotbridge.bookings")

# The search window of an event write whose outcome is unknown: the booking stays `pending` (its
# slot held) this long for a same-key retry to finish it; then the booking housekeeping timer
# adopts the event it finds by the tag, or releases the booking.
STALE_PENDING = timedelta(minutes=10)


def release_stale_pending(*, now: datetime | None = None, older_than: timedelta = STALE_PENDING) -> int:
    """Resolve bookings stuck `pending` past the search window (a crash between lock and event, or
    an event write whose outcome was unknown and nobody retried): the event found by its tag is
    adopted - the booking confirmed, since the attendee already has the invitation - if the booking
    still holds its slot, else deleted (Outlook sends the attendee a cancellation); with no event,
    the locks are released and the booking marked `failed`, and `delete_late_events` watches for
    an event landing even later. Graph trouble leaves it for next time. Returns how many were
    resolved."""
    now = now or datetime.now(UTC)
    resolved = 0
    for record in bookings().query(
        where="status eq @status and created_at lt @cutoff",
        parameters={"status": BookingStatus.PENDING.value, "cutoff": now - older_than},
    ):
        try:
            # Under the booking's lease: a client's retry resuming this booking (writing its
            # event) and this release must not both go ahead.
            with operation(record):
                _resolve_pending(record, now)
            resolved += 1
        except Conflict:
            log.info("stale booking %s is being resumed or changed; left for next time", record.booking_id)
        except (SlotbridgeError, RecordNotFound) as error:
            log.warning("stale booking %s not released yet (%s)", record.booking_id, error.code)
    return resolved


def _resolve_pending(record: BookingRecord, now: datetime) -> None:
    events = pending_events(record)
    if events is not None and record.calendar_id is not None:
        found = events.find_by_tag(record.calendar_id, record.booking_id)
        if found is not None:
            try:
                hold_locks(record)  # a release that failed half-way may have freed some cells
            except SlotUnavailable:
                # Someone else has (part of) the slot now: the invitation cannot stand.
                events.delete(found.event_id)
                audit.record(
                    record.booking_id, "release", "ok", event_id=found.event_id, code="late_event_deleted"
                )
            else:
                confirm(record, found, operation="release", code="late_event_adopted")
                # It counts in the link's rotation as a booking made then (a later one wins).
                host_choice.mark_booked(record.slug, record.host_user_id, record.created_at)
                log.info("booking %s: its late event was adopted", record.booking_id)
                return
    locks.release_span(record.host_user_id, record.booking_id, record.lock_start_utc, record.lock_end_utc)
    record.operation_until = None
    mark_failed(record, now, write_unknown=True)


# Bookings that are over: an event of theirs that lands now stands for nothing.
_OVER = (BookingStatus.FAILED, BookingStatus.CANCELLED, BookingStatus.CANCELLED_IN_OUTLOOK)


def delete_late_events(*, now: datetime | None = None) -> int:
    """Bookings that are over (failed, cancelled, cancelled in Outlook) and whose event write may
    still land (an unknown outcome, `outcome.watch_for_late_event` / `mark_failed`): an event found
    by the tag is deleted - an invitation nobody can manage must not stand; Outlook sends the
    attendee a cancellation. Graph trouble leaves it for the next round. Returns how many were
    deleted."""
    now = now or datetime.now(UTC)
    deleted = 0
    over = " or ".join(f"status eq '{status.value}'" for status in _OVER)
    for record in bookings().query(
        where=f"late_event_watch_until gt @now and ({over})", parameters={"now": now}
    ):
        try:
            events = pending_events(record)
            if events is None or record.calendar_id is None:
                continue
            found = events.find_by_tag(record.calendar_id, record.booking_id)
            if found is not None and events.delete(found.event_id):
                audit.record(
                    record.booking_id, "release", "ok", event_id=found.event_id, code="late_event_deleted"
                )
                deleted += 1
        except SlotbridgeError as error:
            log.warning("booking %s: late event not looked for yet (%s)", record.booking_id, error.code)
    return deleted
