"""A booking managed by its attendee (manage token), its host (user token) or the product (API
key): get it (`GET /bookings/{id}`), reschedule it, cancel it, mark its attendee a no-show (host
and product only). One use case whoever calls: the caller (`Caller`) decides who may, what the
answer shows (the attendee's view, or the product's) and who the booking event names (`events`).

Reschedule keeps the booking id (and the manage token, and the Outlook event): status stays
`confirmed`, the move goes into `history` with `rescheduled_at`. Cancel deletes the event (404/410
count as already gone) and releases the locks. Neither touches an event whose tag does not name
the booking. A request's body is parsed only once the caller is authorized (`request()`): a
stranger is answered 404/401 whatever the body holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, cast, get_args

from lib.adapters.storage.tables import ConcurrentUpdate
from lib.core.auth import Forbidden, Principal
from lib.core.errors import Conflict, NeedsReconnect, NotFound, SlotbridgeError, Unauthorized
from lib.features.bookings import audit, host_index, locks
from lib.features.bookings import events as announce
from lib.features.bookings.checks import check_daily_cap, live_check, require_offered
from lib.features.bookings.host_calendar import booking_events, connection_of, host_provider, moved_text
from lib.features.bookings.lease import operation
from lib.features.bookings.manage_tokens import require_token
from lib.features.bookings.outlook_sync import mark_cancelled_in_outlook
from lib.features.bookings.records import BookingRecord, BookingStatus
from lib.features.bookings.store import bookings, load
from lib.features.bookings.validation import ListQuery, RescheduleRequest
from lib.features.bookings.views import (
    Actor,
    BookingView,
    ProductBookingView,
    iso_utc,
    product_view_of,
    view_of,
)
from lib.features.connections.records import DEFAULT_PROVIDER
from lib.features.links.config import LinkHost
from lib.features.links.service import load_link
from lib.providers.base import CalendarProvider, EventGone, EventWriter
from lib.providers.registry import provider_for

ACTORS = frozenset(get_args(Actor))


class MeetingNotStarted(SlotbridgeError):
    code = "meeting_not_started"
    status = 409
    title = "The meeting has not started yet"


@dataclass(frozen=True)
class Caller:
    """Who acts on a booking: its attendee (by the manage token), its host (a user token naming
    the booking's host) or the product (an API key: every booking)."""

    by: Actor
    manage_token: str | None = None
    user_id: str | None = None

    @classmethod
    def attendee(cls, manage_token: str | None) -> Caller:
        return cls("attendee", manage_token=manage_token)

    @classmethod
    def of(cls, principal: Principal) -> Caller:
        return cls("product") if principal.is_backend else cls("host", user_id=principal.user_id)

    def view(self, record: BookingRecord) -> BookingView:
        """The attendee sees what the manage page shows; the host and the product see more."""
        return view_of(record) if self.by == "attendee" else product_view_of(record)


def _authorized(booking_id: str, caller: Caller) -> BookingRecord:
    record = load(booking_id)
    if caller.by == "attendee":
        require_token(record.manage_token_sha256, caller.manage_token)
    elif caller.by == "host" and caller.user_id != record.host_user_id:
        raise Forbidden("This booking is not one of this user's.")
    return record


def get_booking(booking_id: str, caller: Caller) -> BookingView:
    """What the manage page shows (the attendee), or the product's view of the booking."""
    record = _authorized(booking_id, caller)
    if record.status is BookingStatus.PENDING:
        raise Conflict("This booking is still being made; try again in a moment.")
    if record.status not in (
        BookingStatus.CONFIRMED,
        BookingStatus.CANCELLED,
        BookingStatus.CANCELLED_IN_OUTLOOK,
    ):
        raise NotFound("No booking has this id.")
    return caller.view(record)


def reschedule(
    booking_id: str,
    caller: Caller,
    change: Callable[[], RescheduleRequest],
    *,
    now: datetime | None = None,
) -> BookingView:
    """Move the booking to the start `change()` gives (parsed once the caller is authorized)."""
    record = _authorized(booking_id, caller)
    request = change()
    start = request.start
    if record.status is not BookingStatus.CONFIRMED:
        raise Conflict(f"This booking is {record.status.value} and cannot be rescheduled.")
    now = now or datetime.now(UTC)
    link = load_link(record.slug)
    rules = link.rules
    # The booking keeps its own length (a meeting may have chosen one other than the link's).
    minutes = int((record.end_utc - record.start_utc).total_seconds() // 60)
    end = start + timedelta(minutes=minutes)
    if (start, end) == (record.start_utc, record.end_utc):
        return caller.view(record)
    require_offered(rules, start, now, minutes)
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
            # Listed at its new start before anything moves: a row that cannot be stored leaves
            # the event and the booking where they were, and the new cells are released below.
            host_index.add(record, start)
            events = booking_events(record)
            if record.event_id and events is None:
                raise NeedsReconnect(
                    "The host's calendar is no longer connected; the booking cannot be moved."
                )
            if events is not None and record.event_id:
                _require_ours(events, record, "reschedule")
                try:
                    # The text is rendered anew: its times (and the link's templates) may have changed.
                    text = moved_text(link, record, start, end)
                    events.patch_times(record.event_id, start, end, rules.time_zone, text)
                except EventGone:
                    _event_gone(record, "reschedule")  # deleted in Outlook since it was read back
                except SlotbridgeError as error:
                    _write_failed(record, "reschedule", error)
                    raise
        except BaseException:
            locks.release(record.host_user_id, booking_id, new_cells - old_cells)
            raise
        moved_at = datetime.now(UTC)
        previous = (record.start_utc, record.end_utc)
        move: dict[str, Any] = {
            "at": iso_utc(moved_at),
            "by": caller.by,
            "fromStartUtc": iso_utc(record.start_utc),
            "fromEndUtc": iso_utc(record.end_utc),
            "toStartUtc": iso_utc(start),
            "toEndUtc": iso_utc(end),
        }
        if request.reason:
            move["reason"] = request.reason
        record.history = [*record.history, move]
        record.start_utc, record.end_utc = start, end
        record.lock_start_utc, record.lock_end_utc = new_lock_start, new_lock_end
        record.time_zone = rules.time_zone
        record.rescheduled_at = record.updated_at = moved_at
        record.operation_until = None
        bookings().update(record)
    locks.release(record.host_user_id, booking_id, old_cells - new_cells)
    host_index.remove_start(record, previous[0])
    if record.event_id:
        audit.record(booking_id, "reschedule", "ok", event_id=record.event_id)
    announce.rescheduled(record, caller.by, request.reason, previous)
    return caller.view(record)


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
            "The calendar event is not one Slotbridge created for this booking; it was not changed."
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
    raise Conflict("The host deleted this booking's calendar event; the booking is cancelled.")


def cancel(booking_id: str, caller: Caller, reason_of: Callable[[], str | None]) -> BookingView:
    """Cancel the booking; `reason_of()` checks the request's body once the caller is authorized
    and gives its reason (kept, and sent with `booking.cancelled`)."""
    record = _authorized(booking_id, caller)
    reason = reason_of()
    if record.status in (BookingStatus.CANCELLED, BookingStatus.CANCELLED_IN_OUTLOOK):
        if record.status is BookingStatus.CANCELLED and record.cancelled_by in ACTORS:
            # A retry after an answer was lost: the event goes out if it did not (same id: once).
            announce.cancelled(record, cast(Actor, record.cancelled_by), record.cancel_reason)
        return caller.view(record)
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
        record.cancelled_by, record.cancel_reason = caller.by, reason or None
        record.operation_until = None
        bookings().update(record)
    locks.release_span(record.host_user_id, booking_id, record.lock_start_utc, record.lock_end_utc)
    if record.event_id:
        audit.record(booking_id, "cancel", outcome, event_id=record.event_id, code=code)
    announce.cancelled(record, caller.by, record.cancel_reason)
    return caller.view(record)


def mark_no_show(
    booking_id: str, caller: Caller, no_show_of: Callable[[], bool], *, now: datetime | None = None
) -> BookingView:
    """Mark (or unmark) the attendee of a confirmed booking as not having come - once the meeting
    has started (before, nobody can know). The host and the product only."""
    if caller.by == "attendee":
        raise Unauthorized("Send an API key (X-Api-Key) or the host's user token (Authorization: Bearer).")
    record = _authorized(booking_id, caller)
    no_show = no_show_of()
    if record.status is not BookingStatus.CONFIRMED:
        raise Conflict(f"This booking is {record.status.value}; only a confirmed booking has a no-show.")
    now = now or datetime.now(UTC)
    if now < record.start_utc:
        raise MeetingNotStarted("The meeting has not started yet; mark a no-show once it has.")
    if record.no_show is no_show:
        return caller.view(record)
    with operation(record):
        record.no_show = no_show
        record.no_show_marked_at = record.updated_at = datetime.now(UTC)
        record.operation_until = None
        bookings().update(record)
    return caller.view(record)


def list_bookings(
    principal: Principal, query: ListQuery, cursor: str | None
) -> tuple[list[ProductBookingView], str | None]:
    """A page of bookings in start order (per host) and the next page's cursor: the product's
    of every host (or `hostUserId`'s), a user's of their own (another user's: `Forbidden`)."""
    if not principal.is_backend:
        if query.host_user_id is not None:
            principal.require_user(query.host_user_id)
        query = replace(query, host_user_id=principal.user_id)
    records, next_cursor = host_index.page(query, cursor)
    return [product_view_of(record) for record in records], next_cursor
