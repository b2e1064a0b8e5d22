"""The interface availability and bookings ask for busy time. Availability never calls Graph
itself: it asks a `BusySource`. Implementations: `lib/providers/microsoft/live_busy.py` reads Graph
live (calendarView); `lib/features/availability/cached_source.py` reads the busy cache that change
notifications keep fresh and delegates the calendars it cannot vouch for to the live one.

Fail closed: a calendar that could not be read comes back with `error` set (a problem code such as
`outlook_unavailable` or `needs_reconnect`) and no intervals; callers must then treat its owner's
time in the range as unavailable, never as free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from lib.engine.busy import BusyInterval

# The `error` of a calendar its provider says no longer exists (deleted in Outlook, or no longer
# shared): not a passing failure, so connections records it and shows it to the host.
CALENDAR_MISSING = "calendar_missing"


@dataclass(frozen=True)
class CalendarRef:
    connection_id: str
    calendar_id: str


@dataclass(frozen=True)
class CalendarBusy:
    """Busy time of one calendar in the asked range, or why it could not be read."""

    calendar: CalendarRef
    intervals: tuple[BusyInterval, ...] = ()
    error: str | None = None
    # Where the answer came from ("live" or "cache"), for tests, benchmarks and diagnostics.
    source: str = "live"


@dataclass(frozen=True)
class HostBusy:
    """All conflict calendars of one host (user), read for one range."""

    user_id: str
    calendars: tuple[CalendarBusy, ...] = field(default_factory=tuple)

    @property
    def readable(self) -> bool:
        return all(c.error is None for c in self.calendars)

    @property
    def intervals(self) -> list[BusyInterval]:
        return [i for c in self.calendars for i in c.intervals]

    @property
    def errors(self) -> list[str]:
        return sorted({c.error for c in self.calendars if c.error})


class BusySource(Protocol):
    def busy(
        self, user_id: str, calendars: Sequence[CalendarRef], start_utc: datetime, end_utc: datetime
    ) -> HostBusy:
        """Busy intervals of `calendars` (the user's conflict calendars) overlapping
        [start_utc, end_utc). Reads different connections concurrently; never raises for a calendar
        it cannot read (that calendar carries `error` instead)."""
        ...
