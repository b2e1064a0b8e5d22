"""The busy cache: one row per event occurrence of a conflict calendar, holding only what blocks
time — start, end (UTC), showAs and whether it is all-day. Never a subject, body or attendee.

Rows of one calendar form one partition and are written only by the worker holding that calendar's
lease (`sync_state`), so they are single-writer rows: upserts without ETags are safe, deletes use the
ETag of the read that preceded them.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import ClassVar

from lib.adapters.storage import storage_account
from lib.adapters.storage.records import TableRecord
from lib.adapters.storage.tables import BatchAction, Table
from lib.core.errors import BusyTimeTooLarge
from lib.engine import BusyInterval, ShowAs
from lib.providers.change_feed import BusyItem

log = logging.getLogger("slotbridge.sync.cache")

PAGE_SIZE = 1000  # Table Storage's largest page


@dataclasses.dataclass(kw_only=True)
class BusyIntervalRecord(TableRecord):
    table_kind: ClassVar[str] = "busyintervals"
    partition_fields: ClassVar[tuple[str, ...]] = ("connection_id", "calendar_id")
    row_fields: ClassVar[tuple[str, ...]] = ("event_id",)

    connection_id: str
    calendar_id: str
    event_id: str  # the occurrence's id (calendarView expands recurrences)
    start_utc: datetime
    end_utc: datetime
    show_as: str
    is_all_day: bool = False

    def interval(self) -> BusyInterval:
        return BusyInterval(self.start_utc, self.end_utc, ShowAs.parse(self.show_as))

    def same_time(self, other: BusyIntervalRecord) -> bool:
        return (self.start_utc, self.end_utc, self.show_as, self.is_all_day) == (
            other.start_utc,
            other.end_utc,
            other.show_as,
            other.is_all_day,
        )


def busy_rows() -> Table[BusyIntervalRecord]:
    return storage_account().table(BusyIntervalRecord)


# --- busy items -> rows --------------------------------------------------------------------------


def row_for_item(connection_id: str, calendar_id: str, item: BusyItem) -> BusyIntervalRecord:
    """The row a busy item of the change feed becomes."""
    return BusyIntervalRecord(
        connection_id=connection_id,
        calendar_id=calendar_id,
        event_id=item.event_id,
        start_utc=item.start_utc.astimezone(UTC),
        end_utc=item.end_utc.astimezone(UTC),
        show_as=item.show_as.value,
        is_all_day=item.is_all_day,
    )


# --- writing ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CacheWrite:
    changed: tuple[str, ...]  # event ids whose row was added or changed
    removed: tuple[str, ...]  # event ids whose row was removed
    # Event ids the round reported gone that had no row: created and deleted between two rounds.
    # Nothing changes in the cache, but a listener may know them (a booking's event).
    removed_unseen: tuple[str, ...] = ()


def apply(
    connection_id: str,
    calendar_id: str,
    upserts: Iterable[BusyIntervalRecord],
    removals: Iterable[str],
    *,
    replace_all: bool,
) -> CacheWrite:
    """Bring the calendar's rows to the new state: `upserts` added or replaced, `removals` removed;
    with `replace_all`, every row not in `upserts` is removed too (a full resync)."""
    table = busy_rows()
    existing = {r.event_id: r for r in table.query(partition=(connection_id, calendar_id))}
    wanted = {r.event_id: r for r in upserts}
    gone = set(removals) - set(wanted)
    if replace_all:
        gone |= set(existing) - set(wanted)
    ops: list[tuple[BatchAction, BusyIntervalRecord]] = []
    changed: list[str] = []
    for event_id, row in wanted.items():
        old = existing.get(event_id)
        if old is None or not old.same_time(row):
            ops.append(("put", row))
            changed.append(event_id)
    removed = [event_id for event_id in gone if event_id in existing]
    ops.extend(("delete", existing[event_id]) for event_id in removed)
    table.transact_chunked(ops)
    return CacheWrite(tuple(changed), tuple(removed), tuple(sorted(gone - set(removed))))


def wipe(connection_id: str, calendar_id: str) -> int:
    table = busy_rows()
    rows = list(table.query(partition=(connection_id, calendar_id)))
    table.transact_chunked([("delete", r) for r in rows])
    return len(rows)


# --- reading ------------------------------------------------------------------------------------


class _RowsRead:
    """Rows `read` has materialised in this process, for tests and benches to see that a read over
    its limit stopped early (the storage SDK's logs redact `$top`, and a page is 1000 rows)."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    def add(self, count: int) -> None:
        with self._lock:
            self._count += count

    def __int__(self) -> int:
        return self._count


rows_read = _RowsRead()


def read(
    connection_id: str,
    calendar_id: str,
    start_utc: datetime,
    end_utc: datetime,
    *,
    limit: int | None = None,
) -> tuple[BusyInterval, ...]:
    """Cached busy intervals of one calendar overlapping [start_utc, end_utc). With `limit`, pages
    of at most `limit + 1` rows, and `BusyTimeTooLarge` as soon as more than `limit` were read:
    the rows after them are never fetched."""
    page_size = PAGE_SIZE if limit is None else max(1, min(PAGE_SIZE, limit + 1))
    rows = busy_rows().query(
        partition=(connection_id, calendar_id),
        where="start_utc lt @end and end_utc gt @start",
        parameters={"start": start_utc.astimezone(UTC), "end": end_utc.astimezone(UTC)},
        page_size=page_size,
    )
    intervals: list[BusyInterval] = []
    try:
        for row in rows:
            intervals.append(row.interval())
            if limit is not None and len(intervals) > limit:
                raise BusyTimeTooLarge(
                    f"More than {limit} busy intervals in one calendar over the asked range."
                )
    finally:
        rows_read.add(len(intervals))
    return tuple(sorted(intervals, key=lambda i: (i.start_utc, i.end_utc)))
