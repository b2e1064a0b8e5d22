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

Each is posted after the change is stored, and a change stands whether or not its post succeeds
(a failure is logged, never the caller's error): `announce_missed` (booking housekeeping) posts
every change of the bookings changed within `ANNOUNCE_WINDOW` again - the creation, each move in
`history`, the cancellation - where the deterministic ids make it a no-op for those already posted.
So storage trouble after a change, or a crash, loses no event.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from lib.core.errors import SlotbridgeError
from lib.features.bookings.records import BookingRecord, BookingStatus
from lib.features.bookings.store import bookings
from lib.features.bookings.views import Actor, Mover, iso_utc, product_view_of
from lib.features.outbox import service as outbox
from lib.features.outbox.event_types import EventType

log = logging.getLogger("slotbridge.bookings")

# How far back booking housekeeping looks for changes whose event was not posted: many timer
# periods, so storage trouble shorter than this loses no event, while each change is checked a
# bounded number of times (one outbox insert per run, refused for those already posted).
ANNOUNCE_WINDOW = timedelta(hours=1)
_ANNOUNCED = (BookingStatus.CONFIRMED, BookingStatus.CANCELLED, BookingStatus.CANCELLED_IN_OUTLOOK)


def announce_missed(*, now: datetime | None = None) -> int:
    """Post every change of the bookings changed within `ANNOUNCE_WINDOW` whose event is missing.
    Returns how many were posted now."""
    now = now or datetime.now(UTC)
    statuses = " or ".join(f"status eq '{status.value}'" for status in _ANNOUNCED)
    posted = 0
    for record in bookings().query(
        where=f"updated_at gt @since and updated_at le @now and ({statuses})",
        parameters={"since": now - ANNOUNCE_WINDOW, "now": now},
    ):
        posted += created(record)
        for n, move in enumerate(record.history, start=1):
            previous = (
                datetime.fromisoformat(move["fromStartUtc"]),
                datetime.fromisoformat(move["fromEndUtc"]),
            )
            posted += _moved(record, n, cast(Mover, move["by"]), move.get("reason"), previous)
        if record.status is BookingStatus.CANCELLED_IN_OUTLOOK:
            posted += cancelled(record, None, None)
        elif record.status is BookingStatus.CANCELLED and record.cancelled_by is not None:
            posted += cancelled(record, cast(Actor, record.cancelled_by), record.cancel_reason)
    return posted


def created(booking: BookingRecord) -> bool:
    """Each of these is False if the event was posted before or cannot be posted now."""
    return _post(booking, f"booking_created.{booking.booking_id}", "booking.created", {})


def rescheduled(
    booking: BookingRecord, by: Actor, reason: str | None, previous: tuple[datetime, datetime]
) -> bool:
    """The move just added to the booking's history."""
    return _moved(booking, len(booking.history), by, reason, previous)


def moved_in_outlook(booking: BookingRecord, previous: tuple[datetime, datetime]) -> bool:
    return _moved(booking, len(booking.history), "outlook", None, previous)


def cancelled(booking: BookingRecord, by: Actor | None, reason: str | None) -> bool:
    """`by` None: cancelled in Outlook."""
    return _post(
        booking,
        f"booking_cancelled.{booking.booking_id}",
        "booking.cancelled",
        {"by": by or "outlook", "reason": reason},
    )


def _moved(
    booking: BookingRecord, n: int, by: Mover, reason: str | None, previous: tuple[datetime, datetime]
) -> bool:
    """The booking's n-th move (its place in `history`): by Outlook or through Slotbridge."""
    if by == "outlook":
        return _post(
            booking,
            f"booking_moved_in_outlook.{booking.booking_id}.{n}",
            "booking.moved_in_outlook",
            {"by": "outlook", "previous": _times(previous)},
        )
    return _post(
        booking,
        f"booking_rescheduled.{booking.booking_id}.{n}",
        "booking.rescheduled",
        {"by": by, "reason": reason, "previous": _times(previous)},
    )


def _times(span: tuple[datetime, datetime]) -> dict[str, str]:
    return {"startUtc": iso_utc(span[0]), "endUtc": iso_utc(span[1])}


def _post(booking: BookingRecord, message_id: str, type_: EventType, extra: dict[str, Any]) -> bool:
    try:
        return outbox.post(
            booking.host_user_id, message_id, type_, {"booking": product_view_of(booking).wire(), **extra}
        )
    except SlotbridgeError as error:  # the change stands; booking housekeeping posts it later
        log.warning("booking %s: %s not posted (%s)", booking.booking_id, type_, error.code)
        return False
