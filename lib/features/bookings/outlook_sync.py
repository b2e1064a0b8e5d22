"""Two-way booking sync: after each sync round the calendar worker publishes which events of a
calendar changed or went away (`lib.features.sync.changes`); this listener looks those event ids up in the
event -> booking index and, for booking events only, reads the event back through its account's
provider:
- gone (404/410) or cancelled -> the booking becomes `cancelled_in_outlook`, its locks are
  released, and the product gets `booking.cancelled` with `by: outlook` (`events`);
- moved (start or end differ) -> the booking takes the event's times (history `by: outlook`), its
  locks and its row in the host's list follow (best effort for the locks: the host chose that
  time, so a clash is logged, not refused), and the product gets `booking.moved_in_outlook`.
Our own writes come back here too (their times already match, so nothing happens), and a booking
with a manage operation in progress is left to that operation. After a full resync, every live
booking event of the calendar whose cached times differ from its booking's is followed too.
Outbox message ids are deterministic, so a replayed round posts nothing twice.
`functions/bookings.py` registers the listener (importing this module on the first change it
hears of).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

from lib.adapters.storage import storage_account
from lib.adapters.storage.tables import ConcurrentUpdate
from lib.core.errors import SlotbridgeError, SlotUnavailable
from lib.features.bookings import audit, events, host_index, locks
from lib.features.bookings.host_calendar import event_writer
from lib.features.bookings.records import BookingEventRecord, BookingRecord, BookingStatus
from lib.features.connections.repository import find_connection
from lib.features.sync.busy_cache import busy_rows
from lib.features.sync.changes import CalendarChanges
from lib.features.sync.sync_state import CalendarKey, find_state

log = logging.getLogger("slotbridge.bookings.sync")

# How long the listener waits for an attendee's reschedule or cancel of the same booking to finish.
# Such an operation takes seconds; past that the change is queued for a recheck, never skipped.
LEASE_WAIT_S = 15.0
# Bookings that started this long ago are still compared after a full resync (an event moved
# today by the host, a booking running now).
_LOOK_BACK = timedelta(days=1)


def on_calendar_changes(changes: CalendarChanges) -> list[str]:
    """Follow every booking event among the changes; the event ids to try again later (Graph or
    storage trouble, or an attendee's operation holding the booking) - the caller queues them."""
    index = storage_account().table(BookingEventRecord)
    retry: list[str] = []
    followed = [*changes.removed_event_ids, *changes.changed_event_ids]
    if changes.full_resync:
        try:
            followed += _events_out_of_step(changes)
        except SlotbridgeError as error:  # the round's own changes are still followed
            log.warning("booking events of a resynced calendar not compared (%s)", error.code)
    for event_id in dict.fromkeys(followed):
        try:
            entry = index.find(changes.connection_id, event_id)
            if entry is not None:
                _follow(changes, entry)
        except (_OperationInProgress, ConcurrentUpdate):
            # An attendee's operation holds the booking, or changed it while we followed: look
            # again later (that operation may fail before it notices the event changed).
            retry.append(event_id)
        except SlotbridgeError as error:
            if error.status < 500:  # e.g. the grant is gone: reconnecting resyncs the calendar
                log.warning("booking event %s: Outlook change not applied (%s)", event_id, error.code)
                continue
            log.warning(
                "booking event %s: Outlook change not applied yet (%s); rechecked later", event_id, error.code
            )
            retry.append(event_id)
    return retry


def _events_out_of_step(changes: CalendarChanges) -> list[str]:
    """After a full resync: the events of the host's live bookings on this calendar whose times
    in the busy cache differ from the booking's, or that the cache no longer holds.

    A change normally reaches the listener once, with the round that put it in the cache; a
    recheck that never got to run (the grant broke before it, or it was poisoned) would leave the
    booking out of step for good, because no later round reports that change again. The full
    resync that reconnecting (or `missed`, or Sync now) runs is when they are compared."""
    state = find_state(CalendarKey(changes.user_id, changes.connection_id, changes.calendar_id))
    if state is None or state.window_end is None:
        return []
    now = datetime.now(UTC)
    # Every pending or confirmed booking holds lock cells over its time: those are the host's
    # live bookings, without a scan of the bookings table.
    booking_ids = {row.booking_id for row in locks.held(changes.user_id, now - _LOOK_BACK, state.window_end)}
    bookings = storage_account().table(BookingRecord)
    cached = busy_rows()
    out_of_step: list[str] = []
    for booking_id in sorted(booking_ids):
        booking = bookings.find(booking_id, "booking")
        if (
            booking is None
            or booking.status is not BookingStatus.CONFIRMED
            or booking.event_id is None
            or (booking.connection_id, booking.calendar_id) != (changes.connection_id, changes.calendar_id)
        ):
            continue
        row = cached.find((changes.connection_id, changes.calendar_id), booking.event_id)
        if row is None or (row.start_utc, row.end_utc) != (booking.start_utc, booking.end_utc):
            out_of_step.append(booking.event_id)
    if out_of_step:
        log.info("full resync: %d booking event(s) out of step with their bookings", len(out_of_step))
    return out_of_step


class _OperationInProgress(Exception):
    """An attendee's reschedule or cancel still holds the booking."""


def _follow(changes: CalendarChanges, entry: BookingEventRecord) -> None:
    booking = _without_operation(entry.booking_id)
    if booking is None or booking.status is not BookingStatus.CONFIRMED or booking.event_id != entry.event_id:
        return
    connection = find_connection(changes.user_id, changes.connection_id)
    if connection is None:
        return
    tagged = event_writer(connection).read_tagged(entry.event_id)
    if tagged is None or tagged.is_cancelled:
        mark_cancelled_in_outlook(booking)
        return
    if tagged.tag is not None and tagged.tag != booking.booking_id:
        return
    start, end = tagged.start_utc, tagged.end_utc
    if start is None or end is None:
        log.warning("booking %s: its event's times are unreadable", booking.booking_id)
        return
    if (start, end) != (booking.start_utc, booking.end_utc) and end > start:
        _moved_in_outlook(booking, start, end)


def _without_operation(booking_id: str) -> BookingRecord | None:
    """The booking once no attendee's reschedule/cancel holds its lease (re-read until then, at
    most LEASE_WAIT_S, then `_OperationInProgress`; a lease left by a crashed operation expires
    by itself)."""
    table = storage_account().table(BookingRecord)
    deadline = time.monotonic() + LEASE_WAIT_S
    while True:
        booking = table.find(booking_id, "booking")
        if booking is None or booking.operation_until is None or booking.operation_until <= datetime.now(UTC):
            return booking
        if time.monotonic() > deadline:
            log.warning("booking %s: an operation still holds it; the Outlook change waits", booking_id)
            raise _OperationInProgress(booking_id)
        time.sleep(0.25)


def mark_cancelled_in_outlook(booking: BookingRecord) -> None:
    """The host deleted (or cancelled) the booking's event in Outlook: the booking is over, its
    locks are released and the product is told. Also used by a reschedule that finds the event gone."""
    now = datetime.now(UTC)
    booking.status = BookingStatus.CANCELLED_IN_OUTLOOK
    booking.cancelled_in_outlook_at = booking.updated_at = now
    # Raises ConcurrentUpdate if the booking changed meanwhile: the caller looks again.
    storage_account().table(BookingRecord).update(booking)
    locks.release_span(booking.host_user_id, booking.booking_id, booking.lock_start_utc, booking.lock_end_utc)
    audit.record(booking.booking_id, "cancelled_in_outlook", "ok", event_id=booking.event_id)
    events.cancelled(booking, None, None)


def _moved_in_outlook(booking: BookingRecord, start: datetime, end: datetime) -> None:
    now = datetime.now(UTC)
    before = (booking.start_utc, booking.end_utc)
    old_cells = set(locks.cells(booking.lock_start_utc, booking.lock_end_utc))
    tail = booking.lock_end_utc - locks.ceil_cell(booking.end_utc)  # the buffer part of the span
    new_lock_start, new_lock_end = locks.floor_cell(start), locks.ceil_cell(end + tail)
    new_cells = set(locks.cells(new_lock_start, new_lock_end))
    try:
        locks.acquire(booking.host_user_id, booking.booking_id, start, new_cells - old_cells, now)
        booking.lock_start_utc, booking.lock_end_utc = new_lock_start, new_lock_end
        moved_cells = True
    except SlotUnavailable:
        log.warning("booking %s: moved in Outlook onto time another booking holds", booking.booking_id)
        moved_cells = False
    booking.history = [
        *booking.history,
        {
            "at": _iso(now),
            "by": "outlook",
            "fromStartUtc": _iso(before[0]),
            "fromEndUtc": _iso(before[1]),
            "toStartUtc": _iso(start),
            "toEndUtc": _iso(end),
        },
    ]
    booking.start_utc, booking.end_utc = start, end
    booking.moved_in_outlook_at = booking.updated_at = now
    try:
        host_index.add(booking)  # listed at its new start before the move is stored
        storage_account().table(BookingRecord).update(booking)
    except BaseException:
        # Not followed (changed meanwhile, or storage trouble): the caller looks again later, and
        # the new time is not held for a move not stored.
        if moved_cells:
            locks.release(booking.host_user_id, booking.booking_id, new_cells - old_cells)
        raise
    if moved_cells:
        locks.release(booking.host_user_id, booking.booking_id, old_cells - new_cells)
    host_index.remove_start(booking, before[0])
    audit.record(booking.booking_id, "moved_in_outlook", "ok", event_id=booking.event_id)
    events.moved_in_outlook(booking, before)


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
