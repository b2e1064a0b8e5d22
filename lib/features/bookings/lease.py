"""The booking's short lease: two operations on one booking (an attendee's reschedule or cancel, a
resume of a create, housekeeping's release) never interleave."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from lib.adapters.storage.tables import ConcurrentUpdate
from lib.core.errors import Conflict, ServiceUnavailable, SlotbridgeError
from lib.features.bookings.records import BookingRecord
from lib.features.bookings.store import bookings

log = logging.getLogger("slotbridge.bookings")

OPERATION_LEASE = timedelta(minutes=2)


def being_released() -> SlotbridgeError:
    return ServiceUnavailable("This booking is being checked; try again in a moment.")


class LeaseHeld(Exception):
    """Someone else holds the booking's lease (or took it as we tried): `error` is the answer."""

    def __init__(self, error: SlotbridgeError) -> None:
        super().__init__(error.detail)
        self.error = error


@contextmanager
def operation(
    record: BookingRecord, *, held: Callable[[], SlotbridgeError] | None = None
) -> Iterator[BookingRecord]:
    """A short lease on the booking. A lease someone else holds raises `Conflict`, or
    `LeaseHeld(held())` for a caller that answers otherwise."""
    now = datetime.now(UTC)
    if record.operation_until is not None and record.operation_until > now:
        if held is not None:
            raise LeaseHeld(held())
        raise Conflict("Another change of this booking is in progress; try again in a moment.")
    record.operation_until = now + OPERATION_LEASE
    try:
        bookings().update(record)
    except ConcurrentUpdate:
        if held is not None:
            raise LeaseHeld(held()) from None
        raise Conflict("This booking changed meanwhile; try again.") from None
    try:
        yield record
    finally:
        if record.operation_until is not None:
            record.operation_until = None
            try:
                bookings().update(record)
            except SlotbridgeError as error:
                log.warning("booking %s: lease not cleared (%s); it expires", record.booking_id, error.code)
