"""Create, reschedule and cancel bookings: the orchestration (each step lives in its own module).

Create (`POST /links/{slug}/bookings`):
1. the request is parsed and bounded (`validation`), the link loaded, and the start checked to be
   one the link offers (its grid, weekly hours, overrides, minimum notice, horizon) by the pure
   slot engine;
2. with an `Idempotency-Key`, the rest runs once per key (`idempotency`);
3. hosts are tried least recently booked first (`host_choice`); for each: a `pending` booking row,
   the slot locks (`locks`: all cells in one transaction - a loser stops here, with no Graph call),
   the daily cap counted with the lock held, the host's conflict calendars re-read live for
   [start - buffer before, end + buffer after] (one `$batch` per mailbox; unreadable = fail closed,
   `outlook_unavailable`), then the event written to the write calendar (`outlook_event`);
4. the booking becomes `confirmed` with the event id and join URL; the event index, the audit entry
   and the round-robin state follow. Any failure before that releases the locks and marks the
   booking `failed` - except an event write whose outcome stayed unknown (an answer lost, and the
   event not found by its tag: it may still land): then the booking stays `pending` (its locks
   held, so the slot cannot be booked twice) until a retry with the same Idempotency-Key finishes
   it, or `release_stale_pending` (the booking housekeeping timer, `lib.features.bookings.housekeeping`)
   adopts its event or releases it after the search window; `delete_late_events` deletes an event
   landing after that.

Reschedule keeps the booking id (and the manage token, and the Outlook event): status stays
`confirmed`, the move goes into `history` with `rescheduled_at`. Cancel deletes the event (404/410
count as already gone) and releases the locks. Neither touches an event whose tag does not name
the booking.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from lib.adapters.graph import (
    GraphAccessDenied,
    GraphClient,
    GraphError,
    GraphGone,
    GraphNotFound,
    GraphUnavailable,
    calendar_gone,
)
from lib.adapters.storage import storage_account
from lib.adapters.storage.tables import ConcurrentUpdate, RecordNotFound, Table
from lib.core.errors import (
    CalendarNotWritable,
    Conflict,
    NeedsReconnect,
    NotFound,
    OutlookUnavailable,
    ServiceUnavailable,
    SlotbridgeError,
    SlotUnavailable,
    WriteCalendarMissing,
)
from lib.core.settings import get_settings
from lib.core.timezones import parse_iana_zone
from lib.engine.busy import blocked_spans
from lib.engine.link_rules import LinkRules
from lib.engine.show_as_policy import ShowAsPolicy
from lib.engine.slot_engine import free_slots
from lib.features.bookings import audit, host_choice, idempotency, locks
from lib.features.bookings.host_bookings import bookings_per_local_date, local_day_window
from lib.features.bookings.manage_tokens import manage_url, new_token, require_token, token_hash
from lib.features.bookings.records import LIVE_STATUSES, BookingEventRecord, BookingRecord, BookingStatus
from lib.features.bookings.validation import (
    BookingRequest,
    body_fingerprint,
    check_cancel_body,
    parse_booking_request,
    parse_idempotency_key,
    parse_reschedule_start,
)
from lib.features.connections.records import CalendarSettingsRecord, ConnectionRecord, ConnectionStatus
from lib.features.links.config import CalendarProvider, LinkConfig, LinkHost
from lib.features.links.service import load_link
from lib.providers.microsoft import outlook_event

log = logging.getLogger("slotbridge.bookings")

# The search window of an event write whose outcome is unknown: the booking stays `pending` (its
# slot held) this long for a same-key retry to finish it; then the booking housekeeping timer
# adopts the event it finds by the tag, or releases the booking.
STALE_PENDING = timedelta(minutes=10)
# After such a booking failed, how long housekeeping still deletes an event landing with its tag
# (Graph gives up on a request long before; this bounds the look-ups).
LATE_EVENT_WATCH = timedelta(hours=24)
OPERATION_LEASE = timedelta(minutes=2)
WARNINGS = {
    "teams_unavailable_personal_account": (
        "The host's Microsoft account is a personal account, which cannot add Teams meetings; "
        "the booking has no Teams link."
    ),
    "no_calendar_event": "The host has no calendar for bookings; no Outlook event was created.",
}


def _bookings() -> Table[BookingRecord]:
    return storage_account().table(BookingRecord)


# --- responses -------------------------------------------------------------------------------------


def _iso_utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_in(instant: datetime, zone_name: str) -> str:
    return instant.astimezone(parse_iana_zone(zone_name)).isoformat(timespec="seconds")


def booking_json(record: BookingRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "bookingId": record.booking_id,
        "slug": record.slug,
        "status": record.status.value,
        "startUtc": _iso_utc(record.start_utc),
        "endUtc": _iso_utc(record.end_utc),
        "start": _iso_in(record.start_utc, record.time_zone),
        "end": _iso_in(record.end_utc, record.time_zone),
        "timeZone": record.time_zone,
        "joinUrl": record.join_url,
        "warnings": [{"code": code, "message": WARNINGS.get(code, code)} for code in record.warnings],
    }
    if record.attendee_time_zone:
        out["attendeeTimeZone"] = record.attendee_time_zone
        out["attendeeStart"] = _iso_in(record.start_utc, record.attendee_time_zone)
        out["attendeeEnd"] = _iso_in(record.end_utc, record.attendee_time_zone)
    for name, value in (
        ("createdAt", record.created_at),
        ("confirmedAt", record.confirmed_at),
        ("rescheduledAt", record.rescheduled_at),
        ("cancelledAt", record.cancelled_at),
        ("cancelledInOutlookAt", record.cancelled_in_outlook_at),
    ):
        if value is not None:
            out[name] = _iso_utc(value)
    if record.history:
        out["history"] = record.history
    return out


# --- rules -----------------------------------------------------------------------------------------


def is_offered(rules: LinkRules, start_utc: datetime, now: datetime) -> bool:
    """Whether the link's hours offer a slot starting at `start_utc` (grid, weekly hours, date
    overrides, minimum notice, horizon) - busy time and the daily cap are checked per host."""
    slots = free_slots(rules, [], start_utc, start_utc + timedelta(minutes=1), now)
    return any(slot.start_utc == start_utc for slot in slots)


def _check_daily_cap(rules: LinkRules, host_user_id: str, start_utc: datetime) -> None:
    """With this booking's lock held: more live bookings that local day than the cap -> refuse."""
    if rules.daily_cap is None:
        return
    day_start, day_end = local_day_window(start_utc, rules.time_zone)
    counts = bookings_per_local_date(host_user_id, rules.time_zone, day_start, day_end)
    if sum(counts.values()) > rules.daily_cap:
        raise SlotUnavailable("The host is fully booked that day. Please pick another day.")


def _live_check(
    rules: LinkRules,
    host_user_id: str,
    start_utc: datetime,
    end_utc: datetime,
    *,
    ignore: tuple[datetime, datetime] | None = None,
) -> None:
    """Re-read the host's conflict calendars now; busy -> `SlotUnavailable`; unreadable ->
    `OutlookUnavailable` (never book blind)."""
    from lib.engine.busy_source import CalendarRef
    from lib.features.connections.host_view import read_host_view
    from lib.features.connections.mailboxes import live_busy_source

    view = read_host_view(host_user_id)
    settings = view.connected_settings
    if settings is None:
        # As availability: a host with no Microsoft account connected has no time to offer (a
        # lasting state, so not "try again later"; in a pool the next host is tried).
        log.info("booking: host is not connected")
        raise SlotUnavailable("This time is not available. Please pick another time.")
    refs = [CalendarRef(c["connectionId"], c["calendarId"]) for c in settings.conflict_calendars]
    if not refs:
        return
    before = timedelta(minutes=rules.buffer_before_minutes)
    after = timedelta(minutes=rules.buffer_after_minutes)
    source = live_busy_source(rules.time_zone)
    host_busy = source.busy(host_user_id, refs, start_utc - before, end_utc + after)
    if not host_busy.readable:
        log.warning("booking: host calendars unreadable (%s)", ",".join(host_busy.errors))
        raise OutlookUnavailable("The host's calendar cannot be checked right now; please try again later.")
    try:
        policy = ShowAsPolicy.from_names(settings.blocking_show_as)
    except ValueError:
        policy = ShowAsPolicy()
    intervals = [i for i in host_busy.intervals if ignore is None or (i.start_utc, i.end_utc) != ignore]
    for span_start, span_end in blocked_spans(intervals, policy, widen_before=after, widen_after=before):
        if span_start < end_utc and span_end > start_utc:
            raise SlotUnavailable("The host is no longer free at this time. Please pick another time.")


# --- the host's calendar -----------------------------------------------------------------------


@dataclass(frozen=True)
class _WriteTarget:
    connection: ConnectionRecord
    calendar_id: str


def _write_target(host: LinkHost) -> _WriteTarget | None:
    if host.provider is CalendarProvider.NONE:
        return None
    settings = storage_account().table(CalendarSettingsRecord).find(host.user_id, "settings")
    if settings is None or not settings.write_calendar:
        return None
    connection = (
        storage_account().table(ConnectionRecord).find(host.user_id, settings.write_calendar["connectionId"])
    )
    if connection is None:
        return None
    return _WriteTarget(connection, settings.write_calendar["calendarId"])


def _graph(connection: ConnectionRecord) -> GraphClient:
    from lib.features.connections.graph_access import graph_for

    if connection.status is ConnectionStatus.NEEDS_RECONNECT:
        raise NeedsReconnect("The host's Microsoft account needs to be reconnected.")
    return graph_for(connection)


class _OutcomeUnknown(Exception):
    """The event write may have happened (or may still happen: Graph can carry out a write whose
    answer the app stopped waiting for) and the lookup by tag did not find it."""

    def __init__(self, error: SlotbridgeError) -> None:
        super().__init__(error.detail)
        # What the client is told: 503, retry (with the same Idempotency-Key to finish it).
        self.error = error if error.status == 503 else OutlookUnavailable(error.detail)


def _write_event(
    target: _WriteTarget, booking_id: str, content: outlook_event.EventContent
) -> outlook_event.WrittenEvent:
    from lib.features.connections import calendar_health

    client = _graph(target.connection)
    try:
        written = outlook_event.create(client, target.calendar_id, booking_id, content)
    except GraphAccessDenied:
        raise CalendarNotWritable(
            "The host's booking calendar is read-only for their account; the booking was not made."
        ) from None
    except GraphError as error:
        if calendar_gone(error):
            # POST /me/calendars/{id}/events answered ErrorItemNotFound: the calendar is gone.
            calendar_health.mark_missing(target.connection.user_id, *_calendar_key(target))
            raise WriteCalendarMissing(
                "The host's calendar for bookings no longer exists in Outlook; the booking was not made. "
                "The host must pick another calendar in their settings."
            ) from None
        if isinstance(error, GraphNotFound):
            # A 404 about the mailbox, not the calendar (e.g. MailboxNotEnabledForRESTAPI): nothing
            # was written, and the calendar is not flagged; a pool tries its next host.
            log.warning("booking %s: the host's mailbox answered 404 %s", booking_id, error.graph_code)
            raise OutlookUnavailable(
                "The host's Outlook mailbox cannot be reached right now; the booking was not made."
            ) from None
        if not (isinstance(error, GraphUnavailable) or error.maybe_applied):
            raise
        # The POST (re-sent with its transactionId) may have landed: look for our tag.
        try:
            found = outlook_event.find_by_tag(client, target.calendar_id, booking_id)
        except SlotbridgeError:
            raise _OutcomeUnknown(error) from None
        if found is None:
            if error.maybe_applied:
                # Not there yet is not never: a write whose answer was lost can land later.
                raise _OutcomeUnknown(error) from None
            raise
        log.info("booking %s: event found by its tag after %s", booking_id, error.graph_code)
        return found
    return written


def _calendar_key(target: _WriteTarget) -> tuple[str, str]:
    return (target.connection.connection_id, target.calendar_id)


def _note_written(target: _WriteTarget | None) -> None:
    """The write calendar took an event: not missing (any more). Bookkeeping only, run after the
    booking is confirmed and never failing it - the invitation is out; a booking turned `failed`
    now would leave it without a booking."""
    from lib.features.connections import calendar_health

    if target is None:
        return
    try:
        calendar_health.note_reads(target.connection.user_id, [], [_calendar_key(target)])
    except Exception as error:  # the next write or read reports again
        log.warning("booking: calendar health not recorded (%s)", type(error).__name__)


# --- create ------------------------------------------------------------------------------------------


def create_booking(
    slug: str, body: dict[str, Any], idempotency_key: str | None, *, now: datetime | None = None
) -> tuple[int, dict[str, Any]]:
    key = parse_idempotency_key(idempotency_key)
    link = load_link(slug)
    request = parse_booking_request(body)
    if key is None:
        try:
            status, out, _ = _create(link, request, now)
        except idempotency.Unresolved as unresolved:
            # Without a key no retry can resume it: once its search window has passed, the
            # booking housekeeping timer adopts its event if found, or deletes the event (or
            # watches for a late one) and releases the booking.
            raise unresolved.error from None
        return status, out
    result = idempotency.run_once(
        f"link|{link.slug}",
        key,
        body_fingerprint(body),
        lambda: _create(link, request, now),
        lambda resume_with, token: _resume(link, request, resume_with["bookingId"], token, now),
    )
    return result.status, result.body


def _create(
    link: LinkConfig, request: BookingRequest, now: datetime | None
) -> tuple[int, dict[str, Any], str | None]:
    now = now or datetime.now(UTC)
    rules = link.rules
    start = request.start_utc
    end = start + timedelta(minutes=rules.duration_minutes)
    if not is_offered(rules, start, now):
        raise SlotUnavailable("This time is not offered by the booking link. Please pick one of its slots.")
    token = new_token()
    failures: list[SlotbridgeError] = []
    for index, host in host_choice.hosts_in_order(link):
        booking_id = str(uuid.uuid4())  # per attempt: a host that failed keeps its `failed` row
        try:
            record = _book_with_host(link, index, host, request, start, end, booking_id, token, now)
        except (SlotUnavailable, OutlookUnavailable, NeedsReconnect, WriteCalendarMissing) as error:
            if len(link.hosts) == 1:
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


def _created(link: LinkConfig, record: BookingRecord, token: str) -> tuple[int, dict[str, Any], str]:
    if len(link.hosts) > 1:
        host_choice.mark_booked(link.slug, record.host_user_id)
    out = booking_json(record)
    out["manageToken"] = token
    out["manageUrl"] = manage_url(get_settings().public_base_url, record.booking_id, token)
    return 201, out, token


def _resume(
    link: LinkConfig, request: BookingRequest, booking_id: str, token: str | None, now: datetime | None
) -> tuple[int, dict[str, Any], str | None]:
    """A retry (same Idempotency-Key, same body) of a booking whose event write had an unknown
    outcome: finish that booking - its event found by the tag, or written now (same
    transactionId) - rather than book again, which would find its own slot taken or, in a pool,
    invite the attendee twice. A booking housekeeping has released meanwhile is booked afresh."""
    record = _bookings().find(booking_id, "booking")
    if record is None or token is None or record.status not in LIVE_STATUSES:
        return _create(link, request, now)
    if record.status is BookingStatus.CONFIRMED:
        return _created(link, record, token)
    connection = (
        storage_account().table(ConnectionRecord).find(record.host_user_id, record.connection_id)
        if record.connection_id and record.calendar_id
        else None
    )
    if connection is None or record.calendar_id is None:
        _fail(record, "write_calendar_gone", write_unknown=True)
        return _create(link, request, now)
    target = _WriteTarget(connection, record.calendar_id)
    try:
        # The booking's lease keeps housekeeping from releasing it while its event is written
        # (it would free the slot under an invitation already sent); a lease held by the
        # housekeeping means it is being released: the next retry books afresh.
        with _operation(record, held=_being_released):
            try:
                client = _graph(connection)
                written = outlook_event.find_by_tag(client, target.calendar_id, booking_id)
                if written is None:
                    # Graph never made it: check the time again (the host's calendar may have
                    # changed since) and write it now, under our slot locks.
                    _hold_locks(record)
                    _live_check(link.rules, record.host_user_id, record.start_utc, record.end_utc)
                    teams = link.teams_meeting and not connection.is_personal
                    written = _write_event(
                        target, booking_id, _event_content(link, request, booking_id, token, teams)
                    )
            except _OutcomeUnknown as unknown:
                raise idempotency.Unresolved(unknown.error, {"bookingId": booking_id}, token) from None
            except SlotbridgeError as error:
                if error.status >= 500:  # still cannot tell: stays pending, resumable
                    raise idempotency.Unresolved(error, {"bookingId": booking_id}, token) from None
                _fail(record, error.code, write_unknown=True)
                audit.record(booking_id, "create", "failed", code=error.code)
                raise
            confirmed = _confirm(record, written)
    except _LeaseHeld as held:
        raise idempotency.Unresolved(held.error, {"bookingId": booking_id}, token) from None
    _note_written(target)
    return _created(link, confirmed, token)


def _hold_locks(record: BookingRecord) -> None:
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


def _event_content(
    link: LinkConfig, request: BookingRequest, booking_id: str, token: str, teams: bool
) -> outlook_event.EventContent:
    start = request.start_utc
    return outlook_event.EventContent(
        subject=outlook_event.render_subject(link.subject_template, link.title, request.attendee.name),
        body_text=outlook_event.render_body(
            link.title, manage_url(get_settings().public_base_url, booking_id, token), request.notes
        ),
        start_utc=start,
        end_utc=start + timedelta(minutes=link.rules.duration_minutes),
        time_zone=link.rules.time_zone,
        attendee_name=request.attendee.name,
        attendee_email=request.attendee.email,
        location=link.location,
        teams=teams,
    )


def _confirm(
    record: BookingRecord,
    written: outlook_event.WrittenEvent | None,
    *,
    operation: str = "create",
    code: str | None = None,
) -> BookingRecord:
    confirmed_at = datetime.now(UTC)
    record.status = BookingStatus.CONFIRMED
    record.confirmed_at = record.updated_at = confirmed_at
    record.operation_until = None  # a resume's lease ends with this write
    if written is not None:
        record.event_id, record.join_url = written.event_id, written.join_url
    _bookings().update(record)
    if written is not None and record.connection_id:
        _index_event(record.connection_id, written.event_id, record.booking_id)
        audit.record(record.booking_id, operation, "ok", event_id=written.event_id, code=code)
    return record


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
    target = _write_target(host)
    warnings: list[str] = []
    teams = False
    if target is None:
        warnings.append("no_calendar_event")
    elif link.teams_meeting:
        if target.connection.is_personal:
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
        connection_id=target.connection.connection_id if target else None,
        calendar_id=target.calendar_id if target else None,
        transaction_id=outlook_event.transaction_id(booking_id) if target else None,
        lock_start_utc=lock_start,
        lock_end_utc=lock_end,
        manage_token_sha256=token_hash(token),
        warnings=warnings,
        created_at=now,
        updated_at=now,
    )
    table = _bookings()
    table.create(record)
    try:
        locks.acquire(host.user_id, booking_id, start, locks.cells(lock_start, lock_end), now)
    except BaseException:
        _forget(table, record)
        raise
    try:
        _check_daily_cap(rules, host.user_id, start)
        if host.provider is CalendarProvider.MICROSOFT:
            _live_check(rules, host.user_id, start, end)
        written: outlook_event.WrittenEvent | None = None
        if target is not None:
            written = _write_event(
                target, booking_id, _event_content(link, request, booking_id, token, teams)
            )
    except _OutcomeUnknown as unknown:
        audit.record(booking_id, "create", "unknown", code=unknown.error.code)
        log.warning("booking %s: event write outcome unknown; kept pending", booking_id)
        # Not a host failure: a pool must not go on to invite the attendee from another host.
        raise idempotency.Unresolved(unknown.error, {"bookingId": booking_id}, token) from None
    except BaseException as error:
        code = error.code if isinstance(error, SlotbridgeError) else type(error).__name__
        _fail(record, code)
        if isinstance(error, GraphError | CalendarNotWritable | WriteCalendarMissing):
            audit.record(booking_id, "create", "failed", code=code)
        raise
    confirmed = _confirm(record, written)
    _note_written(target)
    return confirmed


def _forget(table: Table[BookingRecord], record: BookingRecord) -> None:
    try:
        table.delete(record)
    except Exception as error:  # a stray pending row is released by booking housekeeping
        log.warning("booking %s: pending row not removed (%s)", record.booking_id, type(error).__name__)


def _fail(record: BookingRecord, code: str, *, write_unknown: bool = False) -> None:
    """Release the locks and mark the booking `failed`; `write_unknown`: an earlier event write
    of it had an unknown outcome, so an event may still land - booking housekeeping watches for it."""
    try:
        locks.release_span(record.host_user_id, record.booking_id, record.lock_start_utc, record.lock_end_utc)
        now = datetime.now(UTC)
        _mark_failed(record, now, write_unknown=write_unknown)
    except Exception as error:
        log.warning(
            "booking %s: failure not recorded (%s); housekeeping retries",
            record.booking_id,
            type(error).__name__,
        )
    log.info("booking %s failed: %s", record.booking_id, code)


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


# --- manage: reschedule and cancel ---------------------------------------------------------------


def _load(booking_id: str) -> BookingRecord:
    try:
        uuid.UUID(booking_id)
    except (ValueError, TypeError):
        raise NotFound("No booking has this id.") from None
    record = _bookings().find(booking_id, "booking")
    if record is None:
        raise NotFound("No booking has this id.")
    return record


def _being_released() -> SlotbridgeError:
    return ServiceUnavailable("This booking is being checked; try again in a moment.")


class _LeaseHeld(Exception):
    """Someone else holds the booking's lease (or took it as we tried): `error` is the answer."""

    def __init__(self, error: SlotbridgeError) -> None:
        super().__init__(error.detail)
        self.error = error


@contextmanager
def _operation(
    record: BookingRecord, *, held: Callable[[], SlotbridgeError] | None = None
) -> Iterator[BookingRecord]:
    """A short lease on the booking so that two operations on it (an attendee's reschedule or
    cancel, a resume, housekeeping's release) do not interleave. A lease someone else holds
    raises `Conflict`, or `_LeaseHeld(held())` for a caller that answers otherwise."""
    now = datetime.now(UTC)
    if record.operation_until is not None and record.operation_until > now:
        if held is not None:
            raise _LeaseHeld(held())
        raise Conflict("Another change of this booking is in progress; try again in a moment.")
    record.operation_until = now + OPERATION_LEASE
    try:
        _bookings().update(record)
    except ConcurrentUpdate:
        if held is not None:
            raise _LeaseHeld(held()) from None
        raise Conflict("This booking changed meanwhile; try again.") from None
    try:
        yield record
    finally:
        if record.operation_until is not None:
            record.operation_until = None
            try:
                _bookings().update(record)
            except SlotbridgeError as error:
                log.warning("booking %s: lease not cleared (%s); it expires", record.booking_id, error.code)


def _event_client(record: BookingRecord) -> GraphClient | None:
    if not record.connection_id or not record.event_id:
        return None
    connection = storage_account().table(ConnectionRecord).find(record.host_user_id, record.connection_id)
    if connection is None:
        return None
    return _graph(connection)


def reschedule(
    booking_id: str, token: str | None, body: dict[str, Any], *, now: datetime | None = None
) -> dict[str, Any]:
    record = _load(booking_id)
    require_token(record.manage_token_sha256, token)
    new_start = parse_reschedule_start(body)
    if record.status is not BookingStatus.CONFIRMED:
        raise Conflict(f"This booking is {record.status.value} and cannot be rescheduled.")
    now = now or datetime.now(UTC)
    link = load_link(record.slug)
    rules = link.rules
    new_end = new_start + timedelta(minutes=rules.duration_minutes)
    if (new_start, new_end) == (record.start_utc, record.end_utc):
        return booking_json(record)
    if not is_offered(rules, new_start, now):
        raise SlotUnavailable("This time is not offered by the booking link. Please pick one of its slots.")
    provider = next(
        (h.provider for h in link.hosts if h.user_id == record.host_user_id),
        CalendarProvider.MICROSOFT if record.connection_id else CalendarProvider.NONE,
    )
    new_lock_start, new_lock_end = locks.lock_span(
        new_start, new_end, rules.buffer_before_minutes, rules.buffer_after_minutes
    )
    old_cells = set(locks.cells(record.lock_start_utc, record.lock_end_utc))
    new_cells = set(locks.cells(new_lock_start, new_lock_end))
    with _operation(record):
        locks.acquire(record.host_user_id, booking_id, new_start, new_cells - old_cells, now)
        try:
            _check_daily_cap(rules, record.host_user_id, new_start)
            if provider is CalendarProvider.MICROSOFT:
                _live_check(
                    rules, record.host_user_id, new_start, new_end, ignore=(record.start_utc, record.end_utc)
                )
            client = _event_client(record)
            if record.event_id and client is None:
                raise NeedsReconnect(
                    "The host's calendar is no longer connected; the booking cannot be moved."
                )
            if client is not None and record.event_id:
                _require_ours(client, record, "reschedule")
                try:
                    outlook_event.patch_times(client, record.event_id, new_start, new_end, rules.time_zone)
                except (GraphNotFound, GraphGone):
                    _event_gone(record, "reschedule")  # deleted in Outlook since it was read back
        except BaseException as error:
            locks.release(record.host_user_id, booking_id, new_cells - old_cells)
            if record.event_id and isinstance(error, GraphError):
                audit.record(booking_id, "reschedule", "failed", event_id=record.event_id, code=error.code)
            raise
        moved_at = datetime.now(UTC)
        record.history = [
            *record.history,
            {
                "at": _iso_utc(moved_at),
                "by": "attendee",
                "fromStartUtc": _iso_utc(record.start_utc),
                "fromEndUtc": _iso_utc(record.end_utc),
                "toStartUtc": _iso_utc(new_start),
                "toEndUtc": _iso_utc(new_end),
            },
        ]
        record.start_utc, record.end_utc = new_start, new_end
        record.lock_start_utc, record.lock_end_utc = new_lock_start, new_lock_end
        record.time_zone = rules.time_zone
        record.rescheduled_at = record.updated_at = moved_at
        record.operation_until = None
        _bookings().update(record)
    locks.release(record.host_user_id, booking_id, old_cells - new_cells)
    if record.event_id:
        audit.record(booking_id, "reschedule", "ok", event_id=record.event_id)
    return booking_json(record)


def _require_ours(client: GraphClient, record: BookingRecord, operation: str) -> None:
    assert record.event_id is not None
    tagged = outlook_event.read_tagged(client, record.event_id)
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
    from lib.features.bookings.outlook_sync import mark_cancelled_in_outlook

    audit.record(record.booking_id, operation, "failed", event_id=record.event_id, code="event_gone")
    try:
        mark_cancelled_in_outlook(record)
    except ConcurrentUpdate:
        pass  # the change hook got there first
    raise Conflict("The host deleted this booking's Outlook event; the booking is cancelled.")


def get_booking(booking_id: str, token: str | None) -> dict[str, Any]:
    """`GET /bookings/{id}`: what the manage page shows (authorized by the manage token)."""
    record = _load(booking_id)
    require_token(record.manage_token_sha256, token)
    if record.status is BookingStatus.PENDING:
        raise Conflict("This booking is still being made; try again in a moment.")
    if record.status not in (
        BookingStatus.CONFIRMED,
        BookingStatus.CANCELLED,
        BookingStatus.CANCELLED_IN_OUTLOOK,
    ):
        raise NotFound("No booking has this id.")
    return booking_json(record)


def cancel(booking_id: str, token: str | None, body: dict[str, Any]) -> dict[str, Any]:
    record = _load(booking_id)
    require_token(record.manage_token_sha256, token)
    check_cancel_body(body)
    if record.status in (BookingStatus.CANCELLED, BookingStatus.CANCELLED_IN_OUTLOOK):
        return booking_json(record)
    if record.status is not BookingStatus.CONFIRMED:
        raise Conflict(f"This booking is {record.status.value} and cannot be cancelled.")
    with _operation(record):
        outcome, code = "ok", None
        client = _event_client(record) if record.event_id else None
        if record.event_id and client is None:
            outcome, code = "skipped", "not_connected"
        elif client is not None and record.event_id:
            tagged = outlook_event.read_tagged(client, record.event_id)
            if tagged is None:
                outcome, code = "ok", "already_gone"
            elif tagged.tag != record.booking_id:
                outcome, code = "skipped", "not_ours"
            elif not outlook_event.delete(client, record.event_id):
                outcome, code = "ok", "already_gone"
        now = datetime.now(UTC)
        record.status = BookingStatus.CANCELLED
        record.cancelled_at = record.updated_at = now
        record.operation_until = None
        _bookings().update(record)
    locks.release_span(record.host_user_id, booking_id, record.lock_start_utc, record.lock_end_utc)
    if record.event_id:
        audit.record(booking_id, "cancel", outcome, event_id=record.event_id, code=code)
    return booking_json(record)


# --- booking housekeeping's part -----------------------------------------------------------------


def release_stale_pending(*, now: datetime | None = None, older_than: timedelta = STALE_PENDING) -> int:
    """Resolve bookings stuck `pending` past the search window (a crash between lock and event, or
    an event write whose outcome was unknown and nobody retried): the event found by its tag is
    adopted - the booking confirmed, since the attendee already has the invitation - if the booking
    still holds its slot, else deleted (Outlook sends the attendee a cancellation); with no event,
    the locks are released and the booking marked `failed`, and `delete_late_events` watches for
    an event landing even later. Graph trouble leaves it for next time. Returns how many were
    resolved."""
    now = now or datetime.now(UTC)
    table = _bookings()
    resolved = 0
    for record in table.query(
        where="status eq @status and created_at lt @cutoff",
        parameters={"status": BookingStatus.PENDING.value, "cutoff": now - older_than},
    ):
        try:
            # Under the booking's lease: a client's retry resuming this booking (writing its
            # event) and this release must not both go ahead.
            with _operation(record):
                _resolve_pending(record, now)
            resolved += 1
        except Conflict:
            log.info("stale booking %s is being resumed or changed; left for next time", record.booking_id)
        except (SlotbridgeError, RecordNotFound) as error:
            log.warning("stale booking %s not released yet (%s)", record.booking_id, error.code)
    return resolved


def _pending_event_client(record: BookingRecord) -> GraphClient | None:
    """A Graph client for the booking's write calendar, if it can be read now."""
    if not (record.connection_id and record.calendar_id):
        return None
    connection = storage_account().table(ConnectionRecord).find(record.host_user_id, record.connection_id)
    if connection is None or connection.status is not ConnectionStatus.CONNECTED:
        return None
    return _graph(connection)


def _resolve_pending(record: BookingRecord, now: datetime) -> None:
    client = _pending_event_client(record)
    if client is not None and record.calendar_id is not None:
        found = outlook_event.find_by_tag(client, record.calendar_id, record.booking_id)
        if found is not None:
            try:
                _hold_locks(record)  # a release that failed half-way may have freed some cells
            except SlotUnavailable:
                # Someone else has (part of) the slot now: the invitation cannot stand.
                outlook_event.delete(client, found.event_id)
                audit.record(
                    record.booking_id, "release", "ok", event_id=found.event_id, code="late_event_deleted"
                )
            else:
                _confirm(record, found, operation="release", code="late_event_adopted")
                log.info("booking %s: its late event was adopted", record.booking_id)
                return
    locks.release_span(record.host_user_id, record.booking_id, record.lock_start_utc, record.lock_end_utc)
    record.operation_until = None
    _mark_failed(record, now, write_unknown=True)


def _mark_failed(record: BookingRecord, now: datetime, *, write_unknown: bool) -> None:
    record.status, record.failed_at, record.updated_at = BookingStatus.FAILED, now, now
    if write_unknown and record.transaction_id:
        record.late_event_watch_until = now + LATE_EVENT_WATCH
    _bookings().update(record)


def delete_late_events(*, now: datetime | None = None) -> int:
    """Failed bookings whose event write may still land (see `_mark_failed`): an event found by
    the tag is deleted - an invitation nobody can manage must not stand; Outlook sends the
    attendee a cancellation. Graph trouble leaves it for the next round. Returns how many were
    deleted."""
    now = now or datetime.now(UTC)
    deleted = 0
    for record in _bookings().query(
        where="status eq @status and late_event_watch_until gt @now",
        parameters={"status": BookingStatus.FAILED.value, "now": now},
    ):
        try:
            client = _pending_event_client(record)
            if client is None or record.calendar_id is None:
                continue
            found = outlook_event.find_by_tag(client, record.calendar_id, record.booking_id)
            if found is not None and outlook_event.delete(client, found.event_id):
                audit.record(
                    record.booking_id, "release", "ok", event_id=found.event_id, code="late_event_deleted"
                )
                deleted += 1
        except SlotbridgeError as error:
            log.warning("booking %s: late event not looked for yet (%s)", record.booking_id, error.code)
    return deleted
