"""The bookings routes' edge models: the request bodies of `POST /links/{slug}/bookings`,
`POST /links/{slug}/meetings`, `POST /bookings/{id}/reschedule`, `.../cancel` and `.../no-show`, and
the booking answers: the attendee's (`Booking`), the product's and host's (`ProductBooking`), a page
of `GET /bookings`.

Bodies are parsed by the bookings feature's own rules (`lib.features.bookings.validation`), whose
problem codes, messages and `errors[]` are the contract; the models carry what they parsed. The
answers are the feature's `BookingView` (`Booking`), and with the manage token and link a new
booking adds (`BookingCreated`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field, RootModel, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

from lib.core.input_rules import MAX_USER_ID_LENGTH
from lib.core.wire import WireModel
from lib.engine.link_rules import MIN_DURATION_MINUTES, MINUTES_PER_DAY
from lib.features.bookings.validation import (
    MAX_ATTENDEES,
    MAX_BODY_BYTES,
    MAX_EMAIL_LENGTH,
    MAX_MEETING_BODY_BYTES,
    MAX_MEETING_TEXT_LENGTH,
    MAX_NAME_LENGTH,
    MAX_NOTES_LENGTH,
    Attendee,
    BookingRequest,
    RescheduleRequest,
    check_cancel_body,
    parse_booking_request,
    parse_meeting_request,
    parse_no_show,
    parse_reschedule,
)
from lib.features.bookings.views import BookingView, CreatedBooking, ProductBookingView
from lib.providers.base import MAX_SUBJECT_LENGTH

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_MEETING_BODY_BYTES",
    "Booking",
    "BookingAnswer",
    "BookingCreated",
    "BookingInput",
    "BookingPage",
    "CancelBody",
    "MeetingInput",
    "NoShowBody",
    "ProductBooking",
    "RescheduleBody",
    "booking_answer",
]

# Free text of an attendee's: line breaks and tabs kept; null is taken as none.
FreeText = Annotated[str | None, Field(max_length=MAX_NOTES_LENGTH)]
# The manage token in a body (`Authorization: Bearer` is the other place; `manage_token_from`).
Token = str | SkipJsonSchema[None]


class _Body(WireModel):
    # The validators refuse a field they do not know.
    model_config = ConfigDict(frozen=True, extra="forbid")


class AttendeeBody(_Body):
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    email: Annotated[
        str,
        Field(max_length=MAX_EMAIL_LENGTH),
        WithJsonSchema({"type": "string", "format": "email", "maxLength": MAX_EMAIL_LENGTH}),
    ]


class BookingInput(_Body):
    """`POST /links/{slug}/bookings`: `start` (UTC), the attendee, their zone, notes."""

    start: datetime
    attendee: AttendeeBody
    timezone: str | None = None
    notes: FreeText = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BookingInput:
        parsed = parse_booking_request(data)
        return cls(
            start=parsed.start_utc,
            attendee=AttendeeBody(name=parsed.attendee.name, email=parsed.attendee.email),
            timezone=parsed.time_zone,
            notes=parsed.notes,
        )

    def request(self) -> BookingRequest:
        return BookingRequest(
            self.start, Attendee(self.attendee.name, self.attendee.email), self.timezone, self.notes or ""
        )


class MeetingInput(_Body):
    """`POST /links/{slug}/meetings`: the host, a time, the attendees and the meeting's own choices
    (absent or null: as the link says)."""

    host_user_id: Annotated[str | None, Field(min_length=1, max_length=MAX_USER_ID_LENGTH)] = None
    start: datetime
    duration_minutes: Annotated[int | None, Field(ge=MIN_DURATION_MINUTES, le=MINUTES_PER_DAY)] = None
    attendees: Annotated[tuple[AttendeeBody, ...], Field(min_length=1, max_length=MAX_ATTENDEES)]
    teams_meeting: bool | None = None
    subject: Annotated[str | None, Field(min_length=1, max_length=MAX_SUBJECT_LENGTH)] = None
    body: Annotated[str | None, Field(max_length=MAX_MEETING_TEXT_LENGTH)] = None
    timezone: str | None = None
    outside_offered_slots: bool | None = None
    skip_live_check: bool | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MeetingInput:
        parsed = parse_meeting_request(data)
        return cls(
            host_user_id=parsed.host_user_id,
            start=parsed.start_utc,
            duration_minutes=parsed.duration_minutes,
            attendees=tuple(
                AttendeeBody(name=a.name, email=a.email) for a in (parsed.attendee, *parsed.guests)
            ),
            teams_meeting=parsed.teams,
            subject=parsed.subject,
            body=parsed.body,
            timezone=parsed.time_zone,
            outside_offered_slots=parsed.outside_offered_slots,
            skip_live_check=parsed.skip_live_check,
        )

    def request(self) -> BookingRequest:
        first, *others = (Attendee(a.name, a.email) for a in self.attendees)
        return BookingRequest(
            self.start,
            first,
            self.timezone,
            "",
            guests=tuple(others),
            host_user_id=self.host_user_id,
            duration_minutes=self.duration_minutes,
            teams=self.teams_meeting,
            subject=self.subject,
            body=self.body,
            outside_offered_slots=bool(self.outside_offered_slots),
            skip_live_check=bool(self.skip_live_check),
        )


class RescheduleBody(_Body):
    """`POST /bookings/{id}/reschedule`: the new `start` (UTC), an optional `reason` (kept in the
    history, sent with `booking.rescheduled`) and perhaps the manage token."""

    start: datetime
    reason: FreeText = None
    token: Token = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RescheduleBody:
        parsed = parse_reschedule(data)
        return cls(start=parsed.start, reason=parsed.reason)

    def request(self) -> RescheduleRequest:
        return RescheduleRequest(self.start, self.reason)


class CancelBody(_Body):
    """`POST /bookings/{id}/cancel`: an optional `reason` (kept, sent with `booking.cancelled`),
    perhaps the manage token."""

    token: Token = None
    reason: FreeText = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CancelBody:
        return cls(reason=check_cancel_body(data))


class NoShowBody(_Body):
    """`POST /bookings/{id}/no-show`: whether the attendee did not come."""

    no_show: bool

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NoShowBody:
        return cls(no_show=parse_no_show(data))


class Booking(BookingView):
    """The answer of `GET /bookings/{id}`, reschedule and cancel."""

    @classmethod
    def of(cls, booking: BookingView) -> Booking:
        return cls.answer(booking.wire())


class ProductBooking(ProductBookingView):
    """A booking as the product (API key) or its host (user token) sees it."""

    @classmethod
    def of(cls, booking: ProductBookingView) -> ProductBooking:
        return cls.answer(booking.wire())


def booking_answer(booking: BookingView) -> Booking | ProductBooking:
    """The answer for whoever asked: the product's view, or the attendee's."""
    if isinstance(booking, ProductBookingView):
        return ProductBooking.of(booking)
    return Booking.of(booking)


class BookingAnswer(RootModel[ProductBooking | Booking]):
    """The schema of an answer that is the product's view or the attendee's (`booking_answer`)."""


class BookingPage(WireModel):
    """`GET /bookings`: a page of bookings and the cursor of the next (null: the last page)."""

    bookings: tuple[ProductBooking, ...]
    next_cursor: str | None

    @classmethod
    def of(cls, bookings: list[ProductBookingView], next_cursor: str | None) -> BookingPage:
        return cls.answer({"bookings": [b.wire() for b in bookings], "next_cursor": next_cursor})


class BookingCreated(Booking):
    """A booking just made: the booking, and its manage token and link (shown this once)."""

    manage_token: str
    manage_url: str

    @classmethod
    def created(cls, created: CreatedBooking) -> BookingCreated:
        # A result replayed without its token (none could be kept) answers without it.
        secret = {"manage_token": created.manage_token, "manage_url": created.manage_url}
        return cls.answer(created.booking.wire() | {k: v for k, v in secret.items() if v is not None})
