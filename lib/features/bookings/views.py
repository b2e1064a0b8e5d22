"""What a booking's answer shows: the booking as a typed value (`BookingView`), its times formatted
for the host's and the attendee's zones, and the result of a create (`CreatedBooking`).

`BookingView` defines the booking's document once, as a wire model (lib/core/wire.py: camelCase
keys; a part the booking does not have is left unset, so absent; `joinUrl` always there): the
edge's answer models (`lib.api.bookings`) extend it, and an `Idempotency-Key` claim stores its
`wire()` form (`BookingView.from_document` reads it back), so results stored before typed results
replay unchanged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

from lib.core.timezones import parse_iana_zone
from lib.core.wire import DateTimeText, WireModel
from lib.features.bookings.records import BookingRecord, BookingStatus

WARNINGS = {
    "teams_unavailable_personal_account": (
        "The host's Microsoft account is a personal account, which cannot add Teams meetings; "
        "the booking has no Teams link."
    ),
    "no_calendar_event": "The host has no calendar for bookings; no calendar event was created.",
}


def iso_utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_in(instant: datetime, zone_name: str) -> str:
    return instant.astimezone(parse_iana_zone(zone_name)).isoformat(timespec="seconds")


class BookingWarning(WireModel):
    # A code a stored booking carries is answered as it is; the spec lists today's codes.
    code: Annotated[str, WithJsonSchema({"type": "string", "enum": sorted(WARNINGS)})]
    message: str


Mover = Literal["attendee", "host", "product", "outlook"]
# Who changed a booking through Slotbridge (Outlook's changes come from the sync).
Actor = Literal["attendee", "host", "product"]


class HistoryEntry(WireModel):
    """A move of the booking, as `manage.reschedule` and `outlook_sync` record it."""

    at: DateTimeText | SkipJsonSchema[None] = None
    by: Mover | SkipJsonSchema[None] = None
    from_start_utc: DateTimeText | SkipJsonSchema[None] = None
    from_end_utc: DateTimeText | SkipJsonSchema[None] = None
    to_start_utc: DateTimeText | SkipJsonSchema[None] = None
    to_end_utc: DateTimeText | SkipJsonSchema[None] = None


class BookingView(WireModel):
    """A booking as its answer shows it."""

    model_config = ConfigDict(frozen=True)

    booking_id: Annotated[str, WithJsonSchema({"type": "string", "format": "uuid"})]
    slug: str
    status: Literal["confirmed", "cancelled", "cancelled_in_outlook"]
    start_utc: DateTimeText
    end_utc: DateTimeText
    start: DateTimeText  # in the link's zone
    end: DateTimeText
    time_zone: str
    join_url: str | None  # None: no Teams meeting
    warnings: tuple[BookingWarning, ...]
    # The attendee's zone and the times in it, when the request named one.
    attendee_time_zone: str | SkipJsonSchema[None] = None
    attendee_start: DateTimeText | SkipJsonSchema[None] = None
    attendee_end: DateTimeText | SkipJsonSchema[None] = None
    # When each step happened (UTC), for the steps the booking went through.
    created_at: DateTimeText | SkipJsonSchema[None] = None
    confirmed_at: DateTimeText | SkipJsonSchema[None] = None
    rescheduled_at: DateTimeText | SkipJsonSchema[None] = None
    cancelled_at: DateTimeText | SkipJsonSchema[None] = None
    cancelled_in_outlook_at: DateTimeText | SkipJsonSchema[None] = None
    history: tuple[HistoryEntry, ...] | SkipJsonSchema[None] = None

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> BookingView:
        """A view from its `wire()` form (as an `Idempotency-Key` claim stored it)."""
        return cls.answer(document)


class ProductHistoryEntry(HistoryEntry):
    """A move as the product sees it: with the reason the host or the product gave."""

    reason: str | SkipJsonSchema[None] = None


class BookingAttendee(WireModel):
    name: str
    email: str


class ProductBookingView(BookingView):
    """A booking as the product (API key) or its host (user token) sees it, and as booking events
    carry it: the attendee's view and who the booking is for and with, what became of it and why.
    Never a token, never the host's other events."""

    history: tuple[ProductHistoryEntry, ...] | SkipJsonSchema[None] = None
    host_user_id: str
    link_title: str
    attendee: BookingAttendee
    guests: tuple[BookingAttendee, ...]  # a scheduled meeting's other attendees
    created_by: Literal["attendee", "host", "product"]
    notes: str
    no_show: bool
    no_show_marked_at: DateTimeText | SkipJsonSchema[None] = None
    moved_in_outlook_at: DateTimeText | SkipJsonSchema[None] = None
    cancelled_by: Mover | SkipJsonSchema[None] = None
    cancel_reason: str | SkipJsonSchema[None] = None


@dataclass(frozen=True)
class CreatedBooking:
    """A booking made (or replayed for a repeated `Idempotency-Key`): its view and, when known,
    the attendee's manage token and link (the booking keeps only the token's hash)."""

    booking: BookingView
    manage_token: str | None
    manage_url: str | None


def view_of(record: BookingRecord) -> BookingView:
    return BookingView.answer(_view_fields(record))


def product_view_of(record: BookingRecord) -> ProductBookingView:
    fields = _view_fields(record) | {
        "host_user_id": record.host_user_id,
        "link_title": record.link_title,
        "attendee": {"name": record.attendee_name, "email": record.attendee_email},
        "guests": [{"name": g["name"], "email": g["email"]} for g in record.guests],
        "created_by": record.created_by,
        "notes": record.notes,
        "no_show": record.no_show,
    }
    if record.no_show_marked_at is not None:
        fields["no_show_marked_at"] = iso_utc(record.no_show_marked_at)
    if record.moved_in_outlook_at is not None:
        fields["moved_in_outlook_at"] = iso_utc(record.moved_in_outlook_at)
    if record.status is BookingStatus.CANCELLED_IN_OUTLOOK:
        fields["cancelled_by"] = "outlook"
    elif record.cancelled_by is not None:
        fields["cancelled_by"] = record.cancelled_by
    if record.cancel_reason is not None:
        fields["cancel_reason"] = record.cancel_reason
    return ProductBookingView.answer(fields)


def _view_fields(record: BookingRecord) -> dict[str, Any]:
    zone = record.attendee_time_zone
    moments = {
        "created_at": record.created_at,
        "confirmed_at": record.confirmed_at,
        "rescheduled_at": record.rescheduled_at,
        "cancelled_at": record.cancelled_at,
        "cancelled_in_outlook_at": record.cancelled_in_outlook_at,
    }
    fields: dict[str, Any] = {
        "booking_id": record.booking_id,
        "slug": record.slug,
        "status": record.status.value,
        "start_utc": iso_utc(record.start_utc),
        "end_utc": iso_utc(record.end_utc),
        "start": _iso_in(record.start_utc, record.time_zone),
        "end": _iso_in(record.end_utc, record.time_zone),
        "time_zone": record.time_zone,
        "join_url": record.join_url,
        "warnings": [{"code": c, "message": WARNINGS.get(c, c)} for c in record.warnings],
        **{name: iso_utc(at) for name, at in moments.items() if at is not None},
    }
    if zone:
        fields |= {
            "attendee_time_zone": zone,
            "attendee_start": _iso_in(record.start_utc, zone),
            "attendee_end": _iso_in(record.end_utc, zone),
        }
    if record.history:
        fields["history"] = record.history
    return fields
