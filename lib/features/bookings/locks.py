"""Slot locks: universal 5-minute cells (UTC) per host, one insert-only row per cell.

A booking [s, e) of a link with buffers before b / after a locks the cells covering
[s, e + max(a, b)). Two bookings of a host then hold a common cell exactly when the later starts
less than max(a, b) after the earlier ends - which is when their buffers would collide. Cells
are aligned down at the start and up at the end, so a lock never covers less than it should.

All cells of a booking go in one transaction (at most 100 operations, atomic): the first writer
of any cell wins, the other gets `SlotUnavailable`. A longer span (more than 100 cells, over
8 hours) goes in consecutive transactions; a conflict in a later one rolls back the earlier ones.
Release deletes the rows that still name the booking.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from lib.adapters.storage import storage_account
from lib.adapters.storage.tables import (
    MAX_BATCH_OPERATIONS,
    AlreadyExists,
    ConcurrentUpdate,
    KindQuery,
    RecordNotFound,
    Table,
)
from lib.core.errors import SlotUnavailable
from lib.features.bookings.records import SlotLockRecord

log = logging.getLogger("slotbridge.bookings.locks")

CELL = timedelta(minutes=5)
# The reconciliation timer's sweep keeps cells this far into the past (see `sweep_past`).
KEEP_PAST = timedelta(days=7)
SWEEP_LIMIT = 20_000
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _table() -> Table[SlotLockRecord]:
    return storage_account().table(SlotLockRecord)


def floor_cell(instant: datetime) -> datetime:
    return _EPOCH + ((instant.astimezone(UTC) - _EPOCH) // CELL) * CELL


def ceil_cell(instant: datetime) -> datetime:
    floor = floor_cell(instant)
    return floor if floor == instant.astimezone(UTC) else floor + CELL


def lock_span(
    start_utc: datetime, end_utc: datetime, buffer_before_minutes: int, buffer_after_minutes: int
) -> tuple[datetime, datetime]:
    """[first cell start, last cell end) of a booking."""
    tail = timedelta(minutes=max(buffer_before_minutes, buffer_after_minutes))
    return floor_cell(start_utc), ceil_cell(end_utc + tail)


def cell_key(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cells(span_start: datetime, span_end: datetime) -> list[str]:
    found = []
    at = floor_cell(span_start)
    while at < span_end:
        found.append(cell_key(at))
        at += CELL
    return found


def acquire(
    host_user_id: str,
    booking_id: str,
    booking_start_utc: datetime,
    cell_keys: Iterable[str],
    now: datetime | None = None,
) -> None:
    """Insert every cell for `booking_id`, all or nothing; `SlotUnavailable` if any is taken."""
    now = now or datetime.now(UTC)
    keys = sorted(set(cell_keys))
    table = _table()
    taken: list[SlotLockRecord] = []
    for first in range(0, len(keys), MAX_BATCH_OPERATIONS):
        chunk = [
            SlotLockRecord(
                host_user_id=host_user_id,
                cell_start=key,
                booking_id=booking_id,
                booking_start_utc=booking_start_utc,
                created_at=now,
            )
            for key in keys[first : first + MAX_BATCH_OPERATIONS]
        ]
        try:
            table.transact([("create", lock) for lock in chunk])
        except AlreadyExists:
            if taken:
                _delete_own(table, host_user_id, booking_id, [lock.cell_start for lock in taken])
            raise SlotUnavailable(
                "This time was just booked by someone else. Please pick another time."
            ) from None
        except BaseException:
            # Unknown outcome of this chunk (storage trouble): release whatever is ours.
            _delete_own(table, host_user_id, booking_id, [lock.cell_start for lock in [*taken, *chunk]])
            raise
        taken += chunk


def release(host_user_id: str, booking_id: str, cell_keys: Iterable[str]) -> int:
    """Delete the cells that still name `booking_id`; returns how many went."""
    return _delete_own(_table(), host_user_id, booking_id, sorted(set(cell_keys)))


def release_span(host_user_id: str, booking_id: str, span_start: datetime, span_end: datetime) -> int:
    return release(host_user_id, booking_id, cells(span_start, span_end))


def _delete_own(table: Table[SlotLockRecord], host_user_id: str, booking_id: str, keys: list[str]) -> int:
    if not keys:
        return 0
    mine: list[SlotLockRecord] = []
    for row in table.query(
        partition=host_user_id,
        where="RowKey ge @first and RowKey le @last and booking_id eq @booking",
        parameters={"first": keys[0], "last": keys[-1], "booking": booking_id},
    ):
        if row.cell_start in keys:
            mine.append(row)
    return _delete_rows(table, mine)


def _delete_rows(table: Table[SlotLockRecord], rows: list[SlotLockRecord]) -> int:
    """Delete rows of one host, 100 per transaction; rows someone released meanwhile are skipped."""
    deleted = 0
    for first in range(0, len(rows), MAX_BATCH_OPERATIONS):
        chunk = rows[first : first + MAX_BATCH_OPERATIONS]
        try:
            table.transact([("delete", lock) for lock in chunk])
            deleted += len(chunk)
        except (ConcurrentUpdate, RecordNotFound):
            # Someone released some of them meanwhile: delete one by one, ignoring what is gone.
            for lock in chunk:
                try:
                    table.delete(lock)
                    deleted += 1
                except (ConcurrentUpdate, RecordNotFound):
                    continue
    return deleted


def sweep_past(*, now: datetime | None = None, keep: timedelta = KEEP_PAST, limit: int = SWEEP_LIMIT) -> int:
    """Delete lock rows whose cell ended more than `keep` ago (at most `limit` per call); returns
    how many went. Nothing reads cells that old: availability and booking look at most a few days
    back (`host_bookings`), and a release of an old booking ignores rows already gone.

    The filter is on RowKey alone, so Table Storage scans every partition: fine for the
    reconciliation timer every few hours, as the sweep itself keeps the table to future cells
    plus `keep`. Rows are insert-only, so a delete can only meet one already released."""
    cutoff = cell_key((now or datetime.now(UTC)) - keep - CELL)
    table = _table()
    by_host: dict[str, list[SlotLockRecord]] = {}
    for count, row in enumerate(table.query(where="RowKey lt @cutoff", parameters={"cutoff": cutoff})):
        if count >= limit:
            break
        by_host.setdefault(row.host_user_id, []).append(row)
    deleted = 0
    for rows in by_host.values():
        deleted += _delete_rows(table, rows)
    return deleted


def held_query(first_cell: datetime, end: datetime) -> KindQuery[SlotLockRecord]:
    """The query for a host's lock rows with cells in [first_cell, end), to run alone (`held`) or
    with the host's other rows (`read_together`)."""
    return KindQuery(
        _table(),
        "RowKey ge @first and RowKey lt @last",
        {"first": cell_key(floor_cell(first_cell)), "last": cell_key(end)},
    )


def held(host_user_id: str, first_cell: datetime, end: datetime) -> list[SlotLockRecord]:
    """The host's lock rows with cells in [first_cell, end)."""
    query = held_query(first_cell, end)
    return list(query.table.query(partition=host_user_id, where=query.where, parameters=query.parameters))
