"""Create a booking (`POST /links/{slug}/bookings`) or a meeting the product or a host schedules
(`POST /links/{slug}/meetings`: the same booking, through the same steps, with its host, attendees,
length, Teams choice and event text from the request; a time outside the link's slots and no live
re-check only when it asks), and resume one whose event write had an unknown outcome when the
client retries with the same `Idempotency-Key`.

1. the link is loaded, the request parsed and bounded (`validation`), and the start checked to be
   one the link offers (`checks`);
2. with an `Idempotency-Key`, the rest runs once per key (`idempotency`);
3. hosts are tried least recently booked first (`host_choice`); for each: a `pending` booking row,
   the slot locks (`locks`: all cells in one transaction - a loser stops here, with no Graph call),
   the daily cap counted with the lock held, the host's conflict calendars re-read live for
   [start - buffer before, end + buffer after] (`checks`: unreadable = fail closed,
   `outlook_unavailable`), then the event written to the write calendar (`host_calendar`);
4. the booking becomes `confirmed` with the event id and join URL (`outcome`); the round-robin
   state follows. Any failure before that releases the locks and marks the booking `failed` -
   except an event write whose outcome stayed unknown: then the booking stays `pending` (its locks
   held, so the slot cannot be booked twice) until a retry with the same Idempotency-Key finishes
   it (`_resume`), or booking housekeeping resolves it (`release`).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from lib.adapters.storage.tables import Table
from lib.core import telemetry
from lib.core.auth import Forbidden, Principal
from lib.core.errors import (
    FieldError,
    NeedsReconnect,
    OutlookUnavailable,
    SlotbridgeError,
    SlotUnavailable,
    ValidationFailed,
    WriteCalendarMissing,
)
from lib.core.settings import get_settings
from lib.features.bookings import audit, host_choice, idempotency, locks
from lib.features.bookings.checks import check_daily_cap, live_check, require_future, require_offered
from lib.features.bookings.host_calendar import (
    OutcomeUnknown,
    WriteTarget,
    booking_minutes,
    connection_of,
    event_content,
    event_writer,
    host_provider,
    note_written,
    wants_teams,
    write_event,
    write_target,
)
from lib.features.bookings.lease import LeaseHeld, being_released, operation
from lib.features.bookings.manage_tokens import manage_url, new_token, seal_token, token_hash
from lib.features.bookings.outcome import confirm, fail, hold_locks, watch_for_late_event
from lib.features.bookings.records import LIVE_STATUSES, BookingRecord, BookingStatus
from lib.features.bookings.store import bookings
from lib.features.bookings.validation import BookingRequest
from lib.features.bookings.views import CreatedBooking, view_of
from lib.features.connections.host_view import read_host_view
from lib.features.links.config import LinkConfig, LinkHost
from lib.features.links.service import load_link
from lib.providers.base import WrittenEvent

log = logging.getLogger("slotbridge.bookings")


def create_booking(
    slug: str,
    request: Callable[[], BookingRequest],
    idempotency_key: str | None,
    body_sha256: str,
    *,
    now: datetime | None = None,
) -> CreatedBooking:
    """Book a slot of the link `slug`. `request` gives the parsed request once the link is known
    (an unknown link is answered before a faulty body); `body_sha256` is the body's fingerprint,
    which an `idempotency_key` is bound to."""
    link = load_link(slug)
    return _book(link, request(), f"link|{link.slug}", idempotency_key, body_sha256, now)


def create_meeting(
    principal: Principal,
    slug: str,
    request: Callable[[], BookingRequest],
    idempotency_key: str | None,
    body_sha256: str,
    *,
    now: datetime | None = None,
) -> CreatedBooking:
    """A meeting the product (API key) or a host (their user token, for their own time) books on
    the link `slug` at a time of its choosing: the same booking as an attendee's, made by the same
    steps, with the request's host, attendees, length, Teams choice, subject and text."""
    link = load_link(slug)
    if not principal.is_backend and principal.user_id not in link.host_ids:
        raise Forbidden("This token's user is not a host of this link.")
    parsed = request()
    host = _meeting_host(link, parsed.host_user_id)
    principal.require_user(host)
    by = "product" if principal.is_backend else "host"
    parsed = replace(parsed, host_user_id=host, created_by=by)
    # Keys per caller: a booking page's or another caller's key never collides with, nor replays
    # (manage token included), the product's or a host's.
    scope = f"meeting|{link.slug}|{by}|{principal.user_id or ''}"
    return _book(link, parsed, scope, idempotency_key, body_sha256, now)


def _meeting_host(link: LinkConfig, host_user_id: str | None) -> str:
    if host_user_id is None:
        if len(link.hosts) > 1:
            raise ValidationFailed(
                "The meeting request is not valid.",
                [FieldError("hostUserId", "required: this link has several hosts")],
            )
        return link.hosts[0].user_id
    if host_user_id not in link.host_ids:
        raise ValidationFailed(
            "The meeting request is not valid.", [FieldError("hostUserId", "is not a host of this link")]
        )
    return host_user_id


def _book(
    link: LinkConfig,
    parsed: BookingRequest,
    scope: str,
    idempotency_key: str | None,
    body_sha256: str,
    now: datetime | None,
) -> CreatedBooking:
    if idempotency_key is None:
        try:
            return _create(link, parsed, now)
        except idempotency.Unresolved as unresolved:
            # Without a key no retry can resume it: once its search window has passed, the
            # booking housekeeping timer adopts its event if found, or deletes the event (or
            # watches for a late one) and releases the booking.
            raise unresolved.error from None
    return idempotency.run_once(
        scope,
        idempotency_key,
        body_sha256,
        lambda: _create(link, parsed, now),
        lambda resume_with, token: _resume(link, parsed, resume_with["bookingId"], token, now),
    )


def _create(link: LinkConfig, request: BookingRequest, now: datetime | None) -> CreatedBooking:
    now = now or datetime.now(UTC)
    rules = link.rules
    start = request.start_utc
    end = start + timedelta(minutes=booking_minutes(link, request))
    if request.created_by != "attendee":
        require_future(start, now)  # a meeting is told so, whether or not the link offers the time
    if not request.outside_offered_slots:
        require_offered(rules, start, now, request.duration_minutes)
    token = new_token()
    failures: list[SlotbridgeError] = []
    if request.host_user_id is None:
        candidates = host_choice.hosts_in_order(link)
    else:  # a meeting names its host
        candidates = [(i, h) for i, h in enumerate(link.hosts) if h.user_id == request.host_user_id]
    with contextlib.closing(host_choice.claimed_in_turn(link.slug, candidates)) as attempts:
        for index, host in attempts:
            booking_id = str(uuid.uuid4())  # per attempt: a host that failed keeps its `failed` row
            telemetry.annotate(booking_id=booking_id)
            try:
                record = _book_with_host(link, index, host, request, start, end, booking_id, token, now)
            except (SlotUnavailable, OutlookUnavailable, NeedsReconnect, WriteCalendarMissing) as error:
                if len(candidates) == 1:
                    raise
                failures.append(error)
                continue
            return _created(link, record, token)
    raise _pool_failure(failures)


def _pool_failure(failures: list[SlotbridgeError]) -> SlotbridgeError:
    """What a pool answers when no host could take the booking. "Try again later" only when a
    host failed for a passing reason (Outlook unreadable), since only then can a retry succeed;
    every host failing for one lasting reason (`write_calendar_missing`, `needs_reconnect`) is
    answered as a single host would be; otherwise the time is not to be had: `slot_unavailable`."""
    if any(f.status >= 500 for f in failures):
        return OutlookUnavailable(
            "No host of this link could be confirmed free right now; please try again later."
        )
    codes = {f.code for f in failures}
    if len(codes) == 1 and SlotUnavailable.code not in codes:
        return failures[0]
    return SlotUnavailable("This time was just booked. Please pick another time.")


def _created(link: LinkConfig, record: BookingRecord, token: str) -> CreatedBooking:
    if len(link.hosts) > 1:
        host_choice.mark_booked(link.slug, record.host_user_id)
    url = manage_url(get_settings().public_base_url, record.booking_id, token)
    return CreatedBooking(view_of(record), token, url)


def _resume(
    link: LinkConfig, request: BookingRequest, booking_id: str, token: str | None, now: datetime | None
) -> CreatedBooking:
    """A retry (same Idempotency-Key, same body) of a booking whose event write had an unknown
    outcome: finish that booking - its event found by the tag, or written now (same
    transactionId) - rather than book again, which would find its own slot taken or, in a pool,
    invite the attendee twice. A booking housekeeping has released meanwhile is booked afresh."""
    record = bookings().find(booking_id, "booking")
    if record is None or token is None or record.status not in LIVE_STATUSES:
        return _create(link, request, now)
    if record.status is BookingStatus.CONFIRMED:
        return _created(link, record, token)
    connection = connection_of(record) if record.calendar_id else None
    if connection is None or record.calendar_id is None:
        fail(record, "write_calendar_gone", write_unknown=True)
        return _create(link, request, now)
    target = WriteTarget(connection, record.calendar_id)
    try:
        # The booking's lease keeps housekeeping from releasing it while its event is written
        # (it would free the slot under an invitation already sent); a lease held by the
        # housekeeping means it is being released: the next retry books afresh.
        with operation(record, held=being_released):
            try:
                written = event_writer(connection).find_by_tag(target.calendar_id, booking_id)
                if written is None:
                    # Graph never made it: check the time again (the host's calendar may have
                    # changed since) and write it now, under our slot locks.
                    hold_locks(record)
                    if not request.skip_live_check:
                        live_check(
                            target.provider,
                            link.rules,
                            link.host_entry(record.host_user_id),
                            record.start_utc,
                            record.end_utc,
                        )
                    teams = wants_teams(link, request) and target.online_meetings
                    written = write_event(
                        target, booking_id, event_content(link, request, booking_id, token, teams)
                    )
            except OutcomeUnknown as unknown:
                raise idempotency.Unresolved(unknown.error, {"bookingId": booking_id}, token) from None
            except SlotbridgeError as error:
                if error.status >= 500:  # still cannot tell: stays pending, resumable
                    raise idempotency.Unresolved(error, {"bookingId": booking_id}, token) from None
                fail(record, error.code, write_unknown=True)
                audit.record(booking_id, "create", "failed", code=error.code)
                raise
            confirmed = confirm(record, written)
    except LeaseHeld as held:
        raise idempotency.Unresolved(held.error, {"bookingId": booking_id}, token) from None
    note_written(target)
    return _created(link, confirmed, token)


def _book_with_host(
    link: LinkConfig,
    index: int,
    host: LinkHost,
    request: BookingRequest,
    start: datetime,
    end: datetime,
    booking_id: str,
    token: str,
    now: datetime,
) -> BookingRecord:
    rules = link.rules
    lock_start, lock_end = locks.lock_span(
        start, end, rules.buffer_before_minutes, rules.buffer_after_minutes
    )
    # The host's connections and settings, read live once for this booking: the write target and
    # the live check both use them (a connection needing reconnect is refused by either).
    view = read_host_view(host.user_id) if host_provider(host).reads_calendars else None
    target = write_target(host, view)
    warnings: list[str] = []
    teams = False
    if target is None:
        warnings.append("no_calendar_event")
    elif wants_teams(link, request):
        if not target.online_meetings:
            warnings.append("teams_unavailable_personal_account")
        else:
            teams = True
    record = BookingRecord(
        booking_id=booking_id,
        slug=link.slug,
        link_title=link.title,
        host_user_id=host.user_id,
        host_index=index,
        start_utc=start,
        end_utc=end,
        time_zone=rules.time_zone,
        attendee_name=request.attendee.name,
        attendee_email=request.attendee.email,
        attendee_time_zone=request.time_zone,
        notes=request.notes,
        guests=[{"name": guest.name, "email": guest.email} for guest in request.guests],
        created_by=request.created_by,
        connection_id=target.connection.connection_id if target else None,
        calendar_id=target.calendar_id if target else None,
        transaction_id=target.provider.write_id(booking_id) if target else None,
        lock_start_utc=lock_start,
        lock_end_utc=lock_end,
        manage_token_sha256=token_hash(token),
        sealed_manage_token=seal_token(booking_id, token),
        own_subject=request.subject is not None,
        own_body=request.body is not None,
        warnings=warnings,
        created_at=now,
        updated_at=now,
    )
    table = bookings()
    table.create(record)
    try:
        locks.acquire(host.user_id, booking_id, start, locks.cells(lock_start, lock_end), now)
    except BaseException:
        _forget(table, record)
        raise
    writing = False  # failures of the event write itself are audited
    try:
        if not request.outside_offered_slots:  # the cap limits the link's offer, not a chosen time
            check_daily_cap(rules, host.user_id, start)
        if not request.skip_live_check:
            live_check(host_provider(host), rules, host, start, end, view=view)
        written: WrittenEvent | None = None
        if target is not None:
            writing = True
            written = write_event(target, booking_id, event_content(link, request, booking_id, token, teams))
    except OutcomeUnknown as unknown:
        audit.record(booking_id, "create", "unknown", code=unknown.error.code)
        log.warning("booking %s: event write outcome unknown; kept pending", booking_id)
        watch_for_late_event(record)
        # Not a host failure: a pool must not go on to invite the attendee from another host.
        raise idempotency.Unresolved(unknown.error, {"bookingId": booking_id}, token) from None
    except BaseException as error:
        code = error.code if isinstance(error, SlotbridgeError) else type(error).__name__
        fail(record, code)
        if writing and isinstance(error, SlotbridgeError):
            audit.record(booking_id, "create", "failed", code=code)
        raise
    confirmed = confirm(record, written)
    note_written(target)
    return confirmed


def _forget(table: Table[BookingRecord], record: BookingRecord) -> None:
    try:
        table.delete(record)
    except Exception as error:  # a stray pending row is released by booking housekeeping
        log.warning("booking %s: pending row not removed (%s)", record.booking_id, type(error).__name__)
