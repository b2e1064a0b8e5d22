"""A host's live bookings as availability and the daily cap see them, read from the host's slot
locks (every pending or confirmed booking holds its cells and names its start there, across all
links of the host; cancelled ones have released theirs) - no second index to keep in step.

- `booked_time`: the locked spans, as busy intervals. Availability subtracts them, so it offers
  exactly what booking accepts: the spans include max(buffer before, buffer after) after each
  booking, and they block hosts with no calendar (`none`) too.
- `bookings_per_local_date`: how many bookings start on each local day (the daily cap).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from lib.core.timezones import parse_iana_zone
from lib.engine.busy import BusyInterval
from lib.engine.local_time import local_date_of, start_of_local_day_utc
from lib.features.bookings import locks
from lib.features.bookings.records import SlotLockRecord

# Rows are read from this far before the window, so a booking whose cells start before the window
# (or a moved booking whose newest cells name a start inside it) is still seen.
_LONGEST_LOCK = timedelta(days=2)


@dataclass(frozen=True)
class HostBookings:
    intervals: list[BusyInterval] = field(default_factory=list)
    per_local_date: dict[date, int] = field(default_factory=dict)


def lock_rows_span(start_utc: datetime, end_utc: datetime) -> tuple[datetime, datetime]:
    """The cells whose rows `host_bookings` needs to see the bookings of [start_utc, end_utc)."""
    return start_utc - _LONGEST_LOCK, end_utc


def read_host_bookings(
    host_user_id: str,
    time_zone: str,
    start_utc: datetime,
    end_utc: datetime,
    *,
    exclude: Collection[str] = (),
) -> HostBookings:
    """Locked spans overlapping [start_utc, end_utc) and bookings starting in it per local date
    of `time_zone`; bookings in `exclude` are left out."""
    rows = locks.held(host_user_id, *lock_rows_span(start_utc, end_utc))
    return host_bookings(rows, time_zone, start_utc, end_utc, exclude=exclude)


def host_bookings(
    rows: Iterable[SlotLockRecord],
    time_zone: str,
    start_utc: datetime,
    end_utc: datetime,
    *,
    exclude: Collection[str] = (),
) -> HostBookings:
    """`read_host_bookings` over lock rows already read (covering at least `lock_rows_span`)."""
    zone = parse_iana_zone(time_zone)
    # A moved booking keeps older cells (with its old start) beside new ones: the newest row wins.
    latest: dict[str, tuple[datetime, datetime]] = {}
    cells: list[datetime] = []
    for row in rows:
        if row.booking_id in exclude:
            continue
        seen = latest.get(row.booking_id)
        if seen is None or row.created_at > seen[0]:
            latest[row.booking_id] = (row.created_at, row.booking_start_utc)
        cells.append(datetime.fromisoformat(row.cell_start.replace("Z", "+00:00")))
    counts: dict[date, int] = {}
    for _, start in latest.values():
        if start_utc <= start < end_utc:
            day = local_date_of(start, zone)
            counts[day] = counts.get(day, 0) + 1
    return HostBookings(_spans(sorted(cells), start_utc), counts)


def _spans(cells: list[datetime], not_before: datetime) -> list[BusyInterval]:
    spans: list[BusyInterval] = []
    run_start: datetime | None = None
    run_end: datetime | None = None
    for cell in cells:
        if run_end is not None and cell <= run_end:
            run_end = max(run_end, cell + locks.CELL)
            continue
        if run_start is not None and run_end is not None and run_end > not_before:
            spans.append(BusyInterval(run_start, run_end))
        run_start, run_end = cell, cell + locks.CELL
    if run_start is not None and run_end is not None and run_end > not_before:
        spans.append(BusyInterval(run_start, run_end))
    return spans


def bookings_per_local_date(
    host_user_id: str, time_zone: str, start_utc: datetime, end_utc: datetime
) -> dict[date, int]:
    return read_host_bookings(host_user_id, time_zone, start_utc, end_utc).per_local_date


def local_day_window(instant: datetime, time_zone: str) -> tuple[datetime, datetime]:
    """[start, end) of the local day (in `time_zone`) that contains `instant`, in UTC."""
    zone = parse_iana_zone(time_zone)
    day = local_date_of(instant, zone)
    return start_of_local_day_utc(day, zone), start_of_local_day_utc(day + timedelta(days=1), zone)
