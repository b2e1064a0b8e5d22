"""The attendee's booking, authorized by its manage token: get it (`GET /bookings/{id}`),
reschedule it, cancel it.

Reschedule keeps the booking id (and the manage token, and the Outlook event): status stays
`confirmed`, the move goes into `history` with `rescheduled_at`. Cancel deletes the event (404/410
count as already gone) and releases the locks. Neither touches an event whose tag does not name
the booking. A request's body is parsed only once the caller is authorized (`request()`): a
stranger is answered 404/401 whatever the body holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import NoReturn

from lib.adapters.storage.tables import ConcurrentUpdate
from lib.core.errors import Conflict, NeedsReconnect, NotFound, SlotbridgeError
from lib.features.bookings import audit, locks
from lib.features.bookings.checks import check_daily_cap, live_check, require_offered
from lib.features.bookings.host_calendar import booking_events, connection_of, host_provider
from lib.features.bookings.lease import operation
from lib.features.bookings.manage_tokens import require_token
from lib.features.bookings.outlook_sync import mark_cancelled_in_outlook
from lib.features.bookings.records import BookingRecord, BookingStatus
from lib.features.bookings.store import bookings, load
from lib.features.bookings.views import BookingView, iso_utc, view_of
from lib.features.connections.records import DEFAULT_PROVIDER
from lib.features.links.config import LinkHost
from lib.features.links.service import load_link
from lib.providers.base import CalendarProvider, EventGone, EventWriter
from lib.providers.registry import provider_for


def _authorized(booking_id: str, token: str | None) -> BookingRecord:
    record = load(booking_id)
    require_token(record.manage_token_sha256, token)
    return record


def get_booking(booking_id: str, token: str | None) -> BookingView:
    """What the manage page shows."""
    record = _authorized(booking_id, token)
    if record.status is BookingStatus.PENDING:
        raise Conflict("This booking is still being made; try again in a moment.")
    if record.status not in (
        BookingStatus.CONFIRMED,
        BookingStatus.CANCELLED,
        BookingStatus.CANCELLED_IN_OUTLOOK,
    ):
        raise NotFound("No booking has this id.")
    return view_of(record)


def reschedule(
    booking_id: str, token: str | None, new_start: Callable[[], datetime], *, now: datetime | None = None
) -> BookingView:
    """Move the booking to the start `new_start()` gives (parsed once the caller is authorized)."""
    record = _authorized(booking_id, token)
    start = new_start()
    if record.status is not BookingStatus.CONFIRMED:
        raise Conflict(f"This booking is {record.status.value} and cannot be rescheduled.")
    now = now or datetime.now(UTC)
    link = load_link(record.slug)
    rules = link.rules
    end = start + timedelta(minutes=rules.duration_minutes)
    if (start, end) == (record.start_utc, record.end_utc):
        return view_of(record)
    require_offered(rules, start, now)
    provider = _provider_of(link.hosts, record)
    new_lock_start, new_lock_end = locks.lock_span(
        start, end, rules.buffer_before_minutes, rules.buffer_after_minutes
    )
    old_cells = set(locks.cells(record.lock_start_utc, record.lock_end_utc))
    new_cells = set(locks.cells(new_lock_start, new_lock_end))
    with operation(record):
        locks.acquire(record.host_user_id, booking_id, start, new_cells - old_cells, now)
        try:
            check_daily_cap(rules, record.host_user_id, start)
            if provider is not None:
                live_check(
                    provider,
                    rules,
                    link.host_entry(record.host_user_id),
                    start,
                    end,
                    ignore=(record.start_utc, record.end_utc),
                )
            events = booking_events(record)
            if record.event_id and events is None:
                raise NeedsReconnect(
                    "The host's calendar is no longer connected; the booking cannot be moved."
                )
            if events is not None and record.event_id:
                _require_ours(events, record, "reschedule")
                try:
                    events.patch_times(record.event_id, start, end, rules.time_zone)
                except EventGone:
                    _event_gone(record, "reschedule")  # deleted in Outlook since it was read back
                except SlotbridgeError as error:
                    _write_failed(record, "reschedule", error)
                    raise
        except BaseException:
            locks.release(record.host_user_id, booking_id, new_cells - old_cells)
            raise
        moved_at = datetime.now(UTC)
        record.history = [
            *record.history,
            {
                "at": iso_utc(moved_at),
                "by": "attendee",
                "fromStartUtc": iso_utc(record.start_utc),
                "fromEndUtc": iso_utc(record.end_utc),
                "toStartUtc": iso_utc(start),
                "toEndUtc": iso_utc(end),
            },
        ]
        record.start_utc, record.end_utc = start, end
        record.lock_start_utc, record.lock_end_utc = new_lock_start, new_lock_end
        record.time_zone = rules.time_zone
        record.rescheduled_at = record.updated_at = moved_at
        record.operation_until = None
        bookings().update(record)
    locks.release(record.host_user_id, booking_id, old_cells - new_cells)
    if record.event_id:
        audit.record(booking_id, "reschedule", "ok", event_id=record.event_id)
    return view_of(record)


def _provider_of(hosts: Sequence[LinkHost], record: BookingRecord) -> CalendarProvider | None:
    """The provider whose calendars the booking's host is checked against: the host's on the link,
    or - a host since taken off the link - that of the account holding the booking's event (None:
    the booking has none, so nothing to check)."""
    host = next((h for h in hosts if h.user_id == record.host_user_id), None)
    if host is not None:
        return host_provider(host)
    if not record.connection_id:
        return None
    connection = connection_of(record)
    # A disconnected account is still checked for: its host's other calendars may be busy.
    return provider_for(connection.provider if connection is not None else DEFAULT_PROVIDER)


def _write_failed(record: BookingRecord, operation: str, error: SlotbridgeError) -> None:
    audit.record(record.booking_id, operation, "failed", event_id=record.event_id, code=error.code)


def _require_ours(events: EventWriter, record: BookingRecord, operation: str) -> None:
    assert record.event_id is not None
    try:
        tagged = events.read_tagged(record.event_id)
    except SlotbridgeError as error:
        _write_failed(record, operation, error)
        raise
    if tagged is None:
        _event_gone(record, operation)
    if tagged.tag != record.booking_id:
        audit.record(record.booking_id, operation, "skipped", event_id=record.event_id, code="not_ours")
        raise Conflict(
            "The Outlook event is not one Slotbridge created for this booking; it was not changed."
        )


def _event_gone(record: BookingRecord, operation: str) -> NoReturn:
    """The host deleted the booking's event in Outlook. The change hook may not have got to this
    booking yet (this operation holds its lease, or the deletion came before the booking was
    confirmed), so the booking ends here as the hook would end it, and the attendee is told."""
    audit.record(record.booking_id, operation, "failed", event_id=record.event_id, code="event_gone")
    try:
        mark_cancelled_in_outlook(record)
    except ConcurrentUpdate:
        pass  # the change hook got there first
    raise Conflict("The host deleted this booking's Outlook event; the booking is cancelled.")


def cancel(booking_id: str, token: str | None, check_request: Callable[[], object]) -> BookingView:
    """Cancel the booking; `check_request()` checks the request's body once the caller is
    authorized (its reason is not kept)."""
    record = _authorized(booking_id, token)
    check_request()
    if record.status in (BookingStatus.CANCELLED, BookingStatus.CANCELLED_IN_OUTLOOK):
        return view_of(record)
    if record.status is not BookingStatus.CONFIRMED:
        raise Conflict(f"This booking is {record.status.value} and cannot be cancelled.")
    with operation(record):
        outcome, code = "ok", None
        events = booking_events(record)
        if record.event_id and events is None:
            outcome, code = "skipped", "not_connected"
        elif events is not None and record.event_id:
            tagged = events.read_tagged(record.event_id)
            if tagged is None:
                outcome, code = "ok", "already_gone"
            elif tagged.tag != record.booking_id:
                outcome, code = "skipped", "not_ours"
            elif not events.delete(record.event_id):
                outcome, code = "ok", "already_gone"
        now = datetime.now(UTC)
        record.status = BookingStatus.CANCELLED
        record.cancelled_at = record.updated_at = now
        record.operation_until = None
        bookings().update(record)
    locks.release_span(record.host_user_id, booking_id, record.lock_start_utc, record.lock_end_utc)
    if record.event_id:
        audit.record(booking_id, "cancel", outcome, event_id=record.event_id, code=code)
    return view_of(record)
