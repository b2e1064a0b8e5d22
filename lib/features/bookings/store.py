"""The bookings table, and a booking found by the id a client sent."""

from __future__ import annotations

import uuid

from lib.adapters.storage import storage_account
from lib.adapters.storage.tables import Table
from lib.core.errors import NotFound
from lib.features.bookings.records import BookingRecord


def bookings() -> Table[BookingRecord]:
    return storage_account().table(BookingRecord)


def load(booking_id: str) -> BookingRecord:
    """The booking with this id; `NotFound` for an id that is not a UUID or names no booking."""
    try:
        uuid.UUID(booking_id)
    except (ValueError, TypeError):
        raise NotFound("No booking has this id.") from None
    record = bookings().find(booking_id, "booking")
    if record is None:
        raise NotFound("No booking has this id.")
    return record
