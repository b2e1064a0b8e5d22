"""The host's calendar a booking is written to: the write target, the event writer of its
account (asked of the account's provider), the event's content, and the event write - with its
unknown-outcome handling (an answer lost and the event not found by its tag: it may still land,
`OutcomeUnknown`). The provider says what failed (`lib.providers.base`); this module says what
that means for a booking."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from lib.core.crypto import SealedValueInvalid
from lib.core.errors import (
    CalendarNotWritable,
    NeedsReconnect,
    OutlookUnavailable,
    SlotbridgeError,
    WriteCalendarMissing,
)
from lib.core.settings import get_settings
from lib.features.bookings.checks import unreadable
from lib.features.bookings.manage_tokens import manage_url, unseal_token
from lib.features.bookings.records import BookingRecord
from lib.features.bookings.validation import BookingRequest
from lib.features.connections import calendar_health
from lib.features.connections.host_view import NOT_CONNECTED, HostView
from lib.features.connections.records import ConnectionRecord, ConnectionStatus
from lib.features.connections.repository import calendar_settings, find_connection
from lib.features.links.config import LinkConfig, LinkHost
from lib.features.links.templates import BookingFacts, render_event_text
from lib.providers.base import (
    AccountUnreachable,
    CalendarGone,
    CalendarProvider,
    EventContent,
    EventText,
    EventWriter,
    Invitee,
    WriteRefused,
    WriteUnconfirmed,
    WrittenEvent,
)
from lib.providers.registry import provider_for

log = logging.getLogger("slotbridge.bookings")


@dataclass(frozen=True)
class WriteTarget:
    connection: ConnectionRecord
    calendar_id: str

    @property
    def provider(self) -> CalendarProvider:
        return provider_for(self.connection.provider)

    @property
    def online_meetings(self) -> bool:
        """Whether the write account gets an online meeting (Teams, Meet) with the event."""
        return self.provider.online_meetings(self.connection.is_personal)


def host_provider(host: LinkHost) -> CalendarProvider:
    return provider_for(host.provider)


def write_target(host: LinkHost, view: HostView | None = None) -> WriteTarget | None:
    """Where the host's booking event goes: the link's write calendar for the host, else the
    user's; None when there is none. The link's own, of an account since disconnected, refuses the
    booking as a host with no account is refused (the link asked for an event; none is no answer).
    `view`: the host's view this booking has already read live (else its rows are read now)."""
    if not host_provider(host).reads_calendars:
        return None
    ref = host.write_ref(view.settings if view is not None else calendar_settings(host.user_id))
    if ref is None:
        return None
    connection = view.record(ref[0]) if view is not None else find_connection(host.user_id, ref[0])
    if connection is None:
        if host.write_calendar is not None:
            unreadable(NOT_CONNECTED)
        return None
    return WriteTarget(connection, ref[1])


def event_writer(connection: ConnectionRecord) -> EventWriter:
    """The booking events of the connection's account (as read, status checked here), asked of
    its provider."""
    if connection.status is ConnectionStatus.NEEDS_RECONNECT:
        raise NeedsReconnect("The host's calendar account needs to be reconnected.")
    return provider_for(connection.provider).events(connection.account())


def connection_of(record: BookingRecord) -> ConnectionRecord | None:
    if not record.connection_id:
        return None
    return find_connection(record.host_user_id, record.connection_id)


def booking_events(record: BookingRecord) -> EventWriter | None:
    """The writer of the booking's event (None: it has none, or its connection is gone)."""
    if not record.event_id:
        return None
    connection = connection_of(record)
    return event_writer(connection) if connection is not None else None


def pending_events(record: BookingRecord) -> EventWriter | None:
    """The writer of the booking's write calendar, if it can be reached now."""
    if not record.calendar_id:
        return None
    connection = connection_of(record)
    if connection is None or connection.status is not ConnectionStatus.CONNECTED:
        return None
    return event_writer(connection)


class OutcomeUnknown(Exception):
    """The event write may have happened (or may still happen: a calendar service can carry out a
    write whose answer the app stopped waiting for) and the lookup by tag did not find it."""

    def __init__(self, error: SlotbridgeError) -> None:
        super().__init__(error.detail)
        # What the client is told: 503, retry (with the same Idempotency-Key to finish it).
        self.error = error if error.status == 503 else OutlookUnavailable(error.detail)


def write_event(target: WriteTarget, booking_id: str, content: EventContent) -> WrittenEvent:
    events = event_writer(target.connection)
    try:
        return events.create(target.calendar_id, booking_id, content)
    except WriteRefused:
        raise CalendarNotWritable(
            "The host's booking calendar is read-only for their account; the booking was not made."
        ) from None
    except CalendarGone:
        calendar_health.mark_missing(target.connection.user_id, *_calendar_key(target))
        raise WriteCalendarMissing(
            "The host's calendar for bookings no longer exists; the booking was not made. "
            "The host must pick another calendar in their settings."
        ) from None
    except AccountUnreachable as unreachable:
        # Nothing was written, and the calendar is not flagged; a pool tries its next host.
        log.warning("booking %s: the host's mailbox answered 404 %s", booking_id, unreachable.reason)
        raise OutlookUnavailable(
            "The host's calendar account cannot be reached right now; the booking was not made."
        ) from None
    except WriteUnconfirmed as unconfirmed:
        error = unconfirmed.problem
        # The write (re-sent with its write id) may have landed: look for our tag.
        try:
            found = events.find_by_tag(target.calendar_id, booking_id)
        except SlotbridgeError:
            raise OutcomeUnknown(error) from None
        if found is None:
            if unconfirmed.maybe_applied:
                # Not there yet is not never: a write whose answer was lost can land later.
                raise OutcomeUnknown(error) from None
            raise error from None
        log.info("booking %s: event found by its tag after %s", booking_id, unconfirmed.reason)
        return found


def _calendar_key(target: WriteTarget) -> tuple[str, str]:
    return (target.connection.connection_id, target.calendar_id)


def note_written(target: WriteTarget | None) -> None:
    """The write calendar took an event: not missing (any more). Bookkeeping only, run after the
    booking is confirmed and never failing it - the invitation is out; a booking turned `failed`
    now would leave it without a booking."""
    if target is None:
        return
    try:
        calendar_health.note_reads(target.connection.user_id, [], [_calendar_key(target)])
    except Exception as error:  # the next write or read reports again
        log.warning("booking: calendar health not recorded (%s)", type(error).__name__)


def booking_minutes(link: LinkConfig, request: BookingRequest) -> int:
    """The booking's length: the request's (a meeting may set it), else the link's."""
    return request.duration_minutes or link.rules.duration_minutes


def wants_teams(link: LinkConfig, request: BookingRequest) -> bool:
    """Whether the booking asks for a Teams meeting: the request's choice, else the link's."""
    return link.teams_meeting if request.teams is None else request.teams


def _event_text(
    link: LinkConfig,
    booking_id: str,
    token: str,
    attendee: tuple[str, str, str | None],  # name, e-mail, time zone
    notes: str,
    start: datetime,
    end: datetime,
    guests: bool,
) -> tuple[str, str]:
    """The subject and body the link's templates give for the booking at these times. Guests get
    the event's text too, so a booking with guests carries no manage link (the first attendee's
    token would let any guest cancel or move it); the product holds it from the 201."""
    facts = BookingFacts(
        booking_id=booking_id,
        title=link.title,
        attendee_name=attendee[0],
        attendee_email=attendee[1],
        start_utc=start,
        end_utc=end,
        time_zone=link.rules.time_zone,
        attendee_time_zone=attendee[2],
        manage_url="" if guests else manage_url(get_settings().public_base_url, booking_id, token),
        notes=notes,
    )
    return render_event_text(link.templates, facts)


def event_content(
    link: LinkConfig, request: BookingRequest, booking_id: str, token: str, teams: bool
) -> EventContent:
    start = request.start_utc
    end = start + timedelta(minutes=booking_minutes(link, request))
    attendee = (request.attendee.name, request.attendee.email, request.time_zone)
    subject, body = _event_text(
        link, booking_id, token, attendee, request.notes, start, end, bool(request.guests)
    )
    return EventContent(
        # A meeting's own subject and text replace the link's.
        subject=request.subject or subject,
        body_text=body if request.body is None else request.body,
        start_utc=start,
        end_utc=end,
        time_zone=link.rules.time_zone,
        attendee_name=request.attendee.name,
        attendee_email=request.attendee.email,
        location=link.location,
        teams=teams,
        guests=tuple(Invitee(guest.name, guest.email) for guest in request.guests),
        private=link.private_event,
    )


def moved_text(link: LinkConfig, record: BookingRecord, start: datetime, end: datetime) -> EventText | None:
    """The booking's event text rendered anew for its new times, from the link's templates as they
    are now; a meeting's own subject or text stays. None: nothing to re-render, or a booking made
    before its manage token was kept sealed (its event keeps its text; only its times move)."""
    if record.sealed_manage_token is None or (record.own_subject and record.own_body):
        return None
    try:
        token = unseal_token(record.booking_id, record.sealed_manage_token)
    except SealedValueInvalid:
        # Moving the booking matters more than its text: the event keeps the text it has.
        log.warning("booking %s: sealed manage token unreadable; text not re-rendered", record.booking_id)
        return None
    attendee = (record.attendee_name, record.attendee_email, record.attendee_time_zone)
    subject, body = _event_text(
        link, record.booking_id, token, attendee, record.notes, start, end, bool(record.guests)
    )
    return EventText(None if record.own_subject else subject, None if record.own_body else body)
