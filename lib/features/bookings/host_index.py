"""The host's bookings by start (`hostbookings`: pk = host user id, rk = start | booking id), so that
`GET /bookings` reads one host's bookings in start order, a page at a time, without scanning the
bookings table (whose partitions are booking ids).

Kept in step with the booking: a row is written when the booking is confirmed (before its status is
stored) and, on every move, the row at the new start is written before the booking (and, for a
reschedule, before its event moves) and the old one deleted after it. A failure in between leaves
at worst an extra row at a time the booking no longer has: the booking row is the truth, and `page`
skips such a row - and removes it once it is older than `MOVE_GRACE`, since a younger one may be
the new row of a move not stored yet. Statuses are not copied here: the list filters on the
booking itself, so a cancel has nothing to keep in step.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from lib.adapters.storage import storage_account
from lib.adapters.storage.cursors import decode_cursor, encode_cursor
from lib.adapters.storage.keys import encode_key
from lib.adapters.storage.tables import Table
from lib.core.errors import SlotbridgeError
from lib.features.bookings.lease import OPERATION_LEASE
from lib.features.bookings.records import BookingRecord, HostBookingRecord
from lib.features.bookings.validation import LISTED_STATUSES, ListQuery
from lib.features.bookings.views import iso_utc

log = logging.getLogger("slotbridge.bookings")

# How long a move may take from writing its row at the new start to storing the booking (a
# reschedule holds the booking's lease that long): a younger row that disagrees with its booking is
# skipped but kept, since removing it would drop the moved booking from the list for good.
MOVE_GRACE = OPERATION_LEASE


def _table() -> Table[HostBookingRecord]:
    return storage_account().table(HostBookingRecord)


def _row(record: BookingRecord, start: datetime) -> HostBookingRecord:
    return HostBookingRecord(
        host_user_id=record.host_user_id,
        start_key=iso_utc(start),
        booking_id=record.booking_id,
        slug=record.slug,
        created_at=datetime.now(UTC),
    )


def add(record: BookingRecord, start: datetime | None = None) -> None:
    """The booking's row at its (new) start - `start`, for a move not yet made; raises if it cannot
    be stored, so that the caller changes nothing (event, booking) that the list would miss."""
    _table().put(_row(record, start or record.start_utc))


def remove_start(record: BookingRecord, old_start: datetime) -> None:
    """After a move is stored: the row at the old start goes (best effort: a leftover is skipped)."""
    if old_start == record.start_utc:
        return
    _forget(record.host_user_id, iso_utc(old_start), record.booking_id)


def _forget(host_user_id: str, start_key: str, booking_id: str) -> None:
    try:
        stale = _table().find(host_user_id, (start_key, booking_id))
        if stale is not None:
            _table().delete(stale)
    except SlotbridgeError as error:
        log.warning("booking %s: old index row not removed (%s)", booking_id, error.code)


def _listing(query: ListQuery) -> str:
    """What a cursor is sealed to: it only continues the query that handed it out."""
    parts = [
        query.host_user_id,
        query.slug,
        query.status.value if query.status else None,
        iso_utc(query.start_from) if query.start_from else None,
        iso_utc(query.start_to) if query.start_to else None,
    ]
    return json.dumps(["bookings-list", *parts])


def page(query: ListQuery, cursor: str | None) -> tuple[list[BookingRecord], str | None]:
    """One page of the query's bookings (in start order per host) and the cursor of the next
    (None: the last page). A page may hold fewer than `limit` bookings (rows of bookings that do
    not match the status, or leftovers of moves, are read and dropped); follow the cursor until
    it is None."""
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if query.slug is not None:
        clauses.append("slug eq @slug")
        params["slug"] = query.slug
    if query.start_from is not None:
        clauses.append("RowKey ge @rkfrom")
        params["rkfrom"] = encode_key(iso_utc(query.start_from))
    if query.start_to is not None:
        clauses.append("RowKey lt @rkto")
        params["rkto"] = encode_key(iso_utc(query.start_to))
    rows, token = _table().query_page(
        query.host_user_id,
        " and ".join(clauses) or None,
        params,
        page_size=query.limit,
        continuation=decode_cursor(cursor, _listing(query)),
    )
    bookings = storage_account().table(BookingRecord)
    settled = datetime.now(UTC) - MOVE_GRACE
    found: list[BookingRecord] = []
    for row in rows:
        booking = bookings.find(row.booking_id, "booking")
        if booking is None or iso_utc(booking.start_utc) != row.start_key:
            if row.created_at < settled:
                _forget(row.host_user_id, row.start_key, row.booking_id)  # a leftover of a move
            continue
        if booking.status not in LISTED_STATUSES or (
            query.status is not None and booking.status is not query.status
        ):
            continue  # a booking still being made (or that failed to be) is not listed
        found.append(booking)
    return found, encode_cursor(token, _listing(query))
