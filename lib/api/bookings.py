"""The bookings routes' edge models: the request bodies of `POST /links/{slug}/bookings`,
`POST /bookings/{id}/reschedule` and `.../cancel`, and the booking answer.

Bodies are parsed by the bookings feature's own rules (`lib.features.bookings.validation`), whose
problem codes, messages and `errors[]` are the contract; the models carry what they parsed. The
answer is the feature's `BookingView` with the manage token and link a new booking adds."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from lib.features.bookings.validation import (
    MAX_BODY_BYTES,
    Attendee,
    BookingRequest,
    check_cancel_body,
    parse_booking_request,
    parse_reschedule_start,
)
from lib.features.bookings.views import BookingView, CreatedBooking

__all__ = ["MAX_BODY_BYTES", "BookingAnswer", "BookingBody", "CancelBody", "RescheduleBody"]


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)


class AttendeeBody(_Body):
    name: str
    email: str


class BookingBody(_Body):
    """`POST /links/{slug}/bookings`: `start` (UTC), the attendee, their zone, notes."""

    start: datetime
    attendee: AttendeeBody
    timezone: str | None
    notes: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BookingBody:
        parsed = parse_booking_request(data)
        return cls(
            start=parsed.start_utc,
            attendee=AttendeeBody(name=parsed.attendee.name, email=parsed.attendee.email),
            timezone=parsed.time_zone,
            notes=parsed.notes,
        )

    def request(self) -> BookingRequest:
        return BookingRequest(
            self.start, Attendee(self.attendee.name, self.attendee.email), self.timezone, self.notes
        )


class RescheduleBody(_Body):
    """`POST /bookings/{id}/reschedule`: the new `start` (UTC); the manage token is read apart."""

    start: datetime

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RescheduleBody:
        return cls(start=parse_reschedule_start(data))


class CancelBody(_Body):
    """`POST /bookings/{id}/cancel`: an optional `reason` (checked, not kept)."""

    reason: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CancelBody:
        check_cancel_body(data)
        reason = data.get("reason")
        return cls(reason=reason if isinstance(reason, str) else None)


class BookingAnswer(BookingView):
    """The booking answer: the booking, and for a booking just made its manage token and link."""

    manage_token: str | None = None
    manage_url: str | None = None

    @classmethod
    def of(cls, booking: BookingView | CreatedBooking) -> BookingAnswer:
        if isinstance(booking, BookingView):
            return cls(**dict(booking))
        return cls(**dict(booking.booking), manage_token=booking.manage_token, manage_url=booking.manage_url)
