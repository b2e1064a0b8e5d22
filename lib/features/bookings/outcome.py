"""How a booking in flight ends: `confirm` (its event indexed and audited), `fail` (its slot given
back; a booking whose event write had an unknown outcome is watched for a late event), and
`hold_locks`, which makes sure it still holds its slot before its event is written or adopted."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from lib.adapters.storage import storage_account
from lib.core.errors import SlotbridgeError
from lib.features.bookings import audit, events, host_index, locks
from lib.features.bookings.records import BookingEventRecord, BookingRecord, BookingStatus
from lib.features.bookings.store import bookings
from lib.providers.base import WrittenEvent

log = logging.getLogger("slotbridge.bookings")

# After such a booking failed, how long housekeeping still deletes an event landing with its tag
# (Graph gives up on a request long before; this bounds the look-ups).
LATE_EVENT_WATCH = timedelta(hours=24)


def confirm(
    record: BookingRecord,
    written: WrittenEvent | None,
    *,
    operation: str = "create",
    code: str | None = None,
) -> BookingRecord:
    """The booking is made: stored `confirmed` with its event, listed under its host, and announced
    (`booking.created`, once per booking whichever way it got here: booked, resumed by a retry,
    or its late event adopted)."""
    confirmed_at = datetime.now(UTC)
    # Listed before it is confirmed: a failure here leaves it pending (housekeeping resolves it),
    # never confirmed and missing from the host's list.
    host_index.add(record)
    record.status = BookingStatus.CONFIRMED
    record.confirmed_at = record.updated_at = confirmed_at
    record.operation_until = None  # a resume's lease ends with this write
    if written is not None:
        record.event_id, record.join_url = written.event_id, written.join_url
    bookings().update(record)
    if written is not None and record.connection_id:
        _index_event(record.connection_id, written.event_id, record.booking_id)
        audit.record(record.booking_id, operation, "ok", event_id=written.event_id, code=code)
    events.created(record)  # never an error: housekeeping posts it if this cannot
    return record


def _index_event(connection_id: str, event_id: str, booking_id: str) -> None:
    try:
        storage_account().table(BookingEventRecord).put(
            BookingEventRecord(
                connection_id=connection_id,
                event_id=event_id,
                booking_id=booking_id,
                created_at=datetime.now(UTC),
            )
        )
    except SlotbridgeError as error:
        log.warning("booking %s: event index not stored (%s)", booking_id, error.code)


def watch_for_late_event(record: BookingRecord) -> None:
    """An event write of this booking had an unknown outcome: whatever becomes of the booking
    (finished by a retry, adopted, failed, then cancelled), that request may still create an event
    later - after the booking's own event was deleted, Graph's transactionId no longer matches it.
    Booking housekeeping watches the booking for `LATE_EVENT_WATCH` once it is no longer live.
    Best effort: the row is pending and housekeeping resolves it either way."""
    record.late_event_watch_until = datetime.now(UTC) + LATE_EVENT_WATCH
    try:
        bookings().update(record)
    except SlotbridgeError as error:
        log.warning("booking %s: late-event watch not stored (%s)", record.booking_id, error.code)


def mark_failed(record: BookingRecord, now: datetime, *, write_unknown: bool) -> None:
    record.status, record.failed_at, record.updated_at = BookingStatus.FAILED, now, now
    if write_unknown and record.transaction_id:
        record.late_event_watch_until = now + LATE_EVENT_WATCH
    bookings().update(record)


def fail(record: BookingRecord, code: str, *, write_unknown: bool = False) -> None:
    """Release the locks and mark the booking `failed`; `write_unknown`: an earlier event write
    of it had an unknown outcome, so an event may still land - booking housekeeping watches for it."""
    try:
        locks.release_span(record.host_user_id, record.booking_id, record.lock_start_utc, record.lock_end_utc)
        now = datetime.now(UTC)
        mark_failed(record, now, write_unknown=write_unknown)
    except Exception as error:
        log.warning(
            "booking %s: failure not recorded (%s); housekeeping retries",
            record.booking_id,
            type(error).__name__,
        )
    log.info("booking %s failed: %s", record.booking_id, code)


def hold_locks(record: BookingRecord) -> None:
    """Make sure the booking still holds every cell of its span before its event is written: a
    release that failed half-way (cells deleted, the booking not yet marked) may have freed them.
    Cells someone else took since -> `SlotUnavailable`."""
    cells = locks.cells(record.lock_start_utc, record.lock_end_utc)
    held = {
        row.cell_start
        for row in locks.held(record.host_user_id, record.lock_start_utc, record.lock_end_utc)
        if row.booking_id == record.booking_id
    }
    missing = [cell for cell in cells if cell not in held]
    if missing:
        log.warning(
            "booking %s: %d of its cells were released; taking them again", record.booking_id, len(missing)
        )
        locks.acquire(record.host_user_id, record.booking_id, record.start_utc, missing)
