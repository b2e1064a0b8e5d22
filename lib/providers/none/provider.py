"""Provider `none`: the host's weekly hours are its whole availability - no calendar is read and
no event is written (the booking carries the `no_calendar_event` warning)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from lib.core.errors import NotFound
from lib.engine.busy_source import BusySource, CalendarBusy, CalendarRef, HostBusy
from lib.providers.base import EventWriter
from lib.providers.change_feed import ChangeFeed
from lib.providers.none import NAME


class _NothingBusy:
    """Every calendar free: there are none to read."""

    def busy(
        self, user_id: str, calendars: Sequence[CalendarRef], start_utc: datetime, end_utc: datetime
    ) -> HostBusy:
        return HostBusy(user_id, tuple(CalendarBusy(ref) for ref in calendars))


class NoCalendarProvider:
    name = NAME
    reads_calendars = False

    def busy_source(self, fallback_time_zone: str) -> BusySource:
        return _NothingBusy()

    def write_id(self, booking_id: str) -> str:
        return ""

    def events(self, user_id: str, connection_id: str) -> EventWriter:
        raise NotFound("A host without a calendar provider has no calendar events.")

    def change_feed(self, user_id: str, connection_id: str, *, deadline_s: float | None = None) -> ChangeFeed:
        raise NotFound("A host without a calendar provider has no calendar to follow.")
