"""What a booking's answer shows: the booking as a typed value (`BookingView`), its times formatted
for the host's and the attendee's zones, and the result of a create (`CreatedBooking`).

`BookingView` defines the booking's document once (camelCase keys; absent parts left out, but
`joinUrl` always there): the edge's answer model (`lib.api.bookings`) extends it, and an
`Idempotency-Key` claim stores it (`document` / `BookingView.from_document`), so results stored
before typed results replay unchanged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer
from pydantic.alias_generators import to_camel

from lib.core.timezones import parse_iana_zone
from lib.features.bookings.records import BookingRecord

WARNINGS = {
    "teams_unavailable_personal_account": (
        "The host's Microsoft account is a personal account, which cannot add Teams meetings; "
        "the booking has no Teams link."
    ),
    "no_calendar_event": "The host has no calendar for bookings; no Outlook event was created.",
}


def iso_utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_in(instant: datetime, zone_name: str) -> str:
    return instant.astimezone(parse_iana_zone(zone_name)).isoformat(timespec="seconds")


def _optional_utc(instant: datetime | None) -> str | None:
    return iso_utc(instant) if instant is not None else None


class Document(BaseModel):
    """A frozen value whose document has camelCase keys and leaves out absent (None) parts, except
    those named in `ALWAYS`, and empty `history`."""

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)
    ALWAYS: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _leave_out_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out: dict[str, Any] = handler(self)
        always = {to_camel(name) for name in self.ALWAYS}
        return {k: v for k, v in out.items() if k in always or v not in (None, [], ())}

    def document(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


Absent = str | None  # a part the document leaves out when None


class BookingWarning(Document):
    code: str
    message: str


class BookingView(Document):
    """A booking as its answer shows it."""

    ALWAYS: ClassVar[frozenset[str]] = frozenset({"join_url", "warnings"})

    booking_id: str
    slug: str
    status: str
    start_utc: str
    end_utc: str
    start: str
    end: str
    time_zone: str
    join_url: str | None  # None: no Teams meeting
    warnings: tuple[BookingWarning, ...]
    # The attendee's zone and the times in it, when the request named one.
    attendee_time_zone: Absent = None
    attendee_start: Absent = None
    attendee_end: Absent = None
    # When each step happened (UTC), for the steps the booking went through.
    created_at: Absent = None
    confirmed_at: Absent = None
    rescheduled_at: Absent = None
    cancelled_at: Absent = None
    cancelled_in_outlook_at: Absent = None
    history: tuple[dict[str, Any], ...] = ()

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> BookingView:
        """A view from its `document()` (as an `Idempotency-Key` claim stored it)."""
        return cls.model_validate(document)


@dataclass(frozen=True)
class CreatedBooking:
    """A booking made (or replayed for a repeated `Idempotency-Key`): its view and, when known,
    the attendee's manage token and link (the booking keeps only the token's hash)."""

    booking: BookingView
    manage_token: str | None
    manage_url: str | None


def view_of(record: BookingRecord) -> BookingView:
    zone = record.attendee_time_zone
    return BookingView(
        booking_id=record.booking_id,
        slug=record.slug,
        status=record.status.value,
        start_utc=iso_utc(record.start_utc),
        end_utc=iso_utc(record.end_utc),
        start=_iso_in(record.start_utc, record.time_zone),
        end=_iso_in(record.end_utc, record.time_zone),
        time_zone=record.time_zone,
        join_url=record.join_url,
        warnings=tuple(BookingWarning(code=c, message=WARNINGS.get(c, c)) for c in record.warnings),
        attendee_time_zone=zone or None,
        attendee_start=_iso_in(record.start_utc, zone) if zone else None,
        attendee_end=_iso_in(record.end_utc, zone) if zone else None,
        created_at=_optional_utc(record.created_at),
        confirmed_at=_optional_utc(record.confirmed_at),
        rescheduled_at=_optional_utc(record.rescheduled_at),
        cancelled_at=_optional_utc(record.cancelled_at),
        cancelled_in_outlook_at=_optional_utc(record.cancelled_in_outlook_at),
        history=tuple(record.history),
    )
