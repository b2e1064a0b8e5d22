"""Booking events for the product: the one place that announces a booking's changes through the
outbox (`lib.features.outbox.service.post`).

- `booking.created`: a booking became confirmed (`outcome.confirm`: booked by an attendee, finished
  by a retry with its Idempotency-Key, or its late event adopted by housekeeping);
- `booking.rescheduled`: moved through Slotbridge, `by` attendee | host | product, with `reason`;
- `booking.cancelled`: `by` attendee | host | product | outlook (the host deleted or declined its
  event in Outlook), with `reason` (none from Outlook);
- `booking.moved_in_outlook`: the host moved its event in Outlook and the booking followed.

`data` is `{"booking": <the product's view of the booking>, "by"?, "reason"?, "previous"?}`
(`previous`: the start and end before a move): ids, times, statuses, the attendee's name and
e-mail, the join URL - never a token, never the host's other events. Message ids are deterministic
per change (a booking is created and cancelled once; its n-th move is its n-th history entry), so
a change announced again - a replayed sync round, a retried request - is never sent twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lib.features.bookings.records import BookingRecord
from lib.features.bookings.views import Actor, iso_utc, product_view_of
from lib.features.outbox import service as outbox
from lib.features.outbox.event_types import EventType


def created(booking: BookingRecord) -> None:
    _post(booking, f"booking_created.{booking.booking_id}", "booking.created", {})


def rescheduled(
    booking: BookingRecord, by: Actor, reason: str | None, previous: tuple[datetime, datetime]
) -> None:
    _post(
        booking,
        f"booking_rescheduled.{booking.booking_id}.{len(booking.history)}",
        "booking.rescheduled",
        {"by": by, "reason": reason, "previous": _times(previous)},
    )


def cancelled(booking: BookingRecord, by: Actor | None, reason: str | None) -> None:
    """`by` None: cancelled in Outlook."""
    _post(
        booking,
        f"booking_cancelled.{booking.booking_id}",
        "booking.cancelled",
        {"by": by or "outlook", "reason": reason},
    )


def moved_in_outlook(booking: BookingRecord, previous: tuple[datetime, datetime]) -> None:
    _post(
        booking,
        f"booking_moved_in_outlook.{booking.booking_id}.{len(booking.history)}",
        "booking.moved_in_outlook",
        {"by": "outlook", "previous": _times(previous)},
    )


def _times(span: tuple[datetime, datetime]) -> dict[str, str]:
    return {"startUtc": iso_utc(span[0]), "endUtc": iso_utc(span[1])}


def _post(booking: BookingRecord, message_id: str, type_: EventType, extra: dict[str, Any]) -> None:
    outbox.post(
        booking.host_user_id, message_id, type_, {"booking": product_view_of(booking).wire(), **extra}
    )
