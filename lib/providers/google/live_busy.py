"""Busy time read live from Google Calendar: `events.list` of each conflict calendar over the
window, `singleEvents=true` (occurrences of a series expanded, in start order), only the fields
availability needs (`google_events.LIST_FIELDS`), every page - a page may be empty and still carry
`nextPageToken`. The calendars of a host are read concurrently, together taking at most
`busy_budget.MAX_HOST_INTERVALS` items: the page that takes them over it is the last one read
(`too_much_busy_time`, no intervals).

Fail closed as for Outlook: a calendar that cannot be read comes back with its problem code in
`error` and no intervals (`google_unavailable`, `needs_reconnect` ...); one Google answers 404 for
is `calendar_missing` and is reported through `report_health` (connections records it)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from lib.core.errors import BusyTimeTooLarge, NeedsReconnect, SlotbridgeError
from lib.core.parallel import map_concurrently
from lib.core.timezones import parse_iana_zone
from lib.engine.busy import BusyInterval, require_aware
from lib.engine.busy_budget import TOO_MUCH_BUSY_TIME, IntervalBudget
from lib.engine.busy_source import CALENDAR_MISSING, CalendarBusy, CalendarRef, HostBusy
from lib.providers.base import MalformedEvent
from lib.providers.google.client import GoogleCalendarClient, path_segment
from lib.providers.google.errors import GoogleNotFound
from lib.providers.google.google_events import LIST_FIELDS, busy_intervals_from_events, calendar_zone

log = logging.getLogger("slotbridge.busy_time")

PAGE_SIZE = 2500  # events.list's largest maxResults

# (user id, connection id) -> a client for that account; raises NotFound / NeedsReconnect.
AccountClient = Callable[[str, str], GoogleCalendarClient]
# (user id, calendars gone, calendars read, calendars whose read failed otherwise)
HealthReport = Callable[[str, list[CalendarRef], list[CalendarRef], list[CalendarRef]], None]


def rfc3339(value: datetime) -> str:
    require_aware(value, "value")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def list_window(
    client: GoogleCalendarClient,
    calendar_id: str,
    start_utc: datetime,
    end_utc: datetime,
    *,
    budget: IntervalBudget | None = None,
    **extra: Any,
) -> tuple[list[dict[str, Any]], str | None, str | None]:
    """Every item of the calendar in the window, its time zone and the last page's `nextSyncToken`.
    With `budget`, each page's items are taken from it: over it, `BusyTimeTooLarge` before the
    next page is asked for."""
    params: dict[str, Any] = {
        "timeMin": rfc3339(start_utc),
        "timeMax": rfc3339(end_utc),
        "singleEvents": "true",
        "maxResults": PAGE_SIZE,
        "fields": LIST_FIELDS,
        **extra,
    }
    items: list[dict[str, Any]] = []
    zone: str | None = None
    sync_token: str | None = None
    for page in client.pages(f"/calendars/{path_segment(calendar_id)}/events", params):
        found = page.get("items")
        if found is not None and not isinstance(found, list):
            raise MalformedEvent("a page of events is not a list")
        taken = [item for item in found or [] if isinstance(item, dict)]
        if budget is not None:
            budget.take(len(taken))
        items += taken
        zone = page.get("timeZone") if isinstance(page.get("timeZone"), str) else zone
        sync_token = page.get("nextSyncToken") if isinstance(page.get("nextSyncToken"), str) else None
    return items, zone, sync_token


class GoogleBusySource:
    def __init__(
        self,
        fallback_time_zone: str,
        *,
        client_for: AccountClient,
        report_health: HealthReport,
        max_parallel: int = 8,
    ) -> None:
        self.fallback_zone = parse_iana_zone(fallback_time_zone)
        self._client_for = client_for
        self._report_health = report_health
        self._max_parallel = max(1, max_parallel)

    def busy(
        self, user_id: str, calendars: Sequence[CalendarRef], start_utc: datetime, end_utc: datetime
    ) -> HostBusy:
        require_aware(start_utc, "start_utc")
        require_aware(end_utc, "end_utc")
        refs = list(dict.fromkeys(calendars))
        if end_utc <= start_utc or not refs:
            return HostBusy(user_id, tuple(CalendarBusy(ref) for ref in refs))

        budget = IntervalBudget()  # the host's calendars together

        def read(ref: CalendarRef) -> CalendarBusy:
            return self._read(user_id, ref, start_utc, end_utc, budget)

        found = map_concurrently(read, refs, limit=self._max_parallel)
        try:
            self._report_health(
                user_id,
                [c.calendar for c in found if c.error == CALENDAR_MISSING],
                # too busy is not unreadable: Google answered
                [c.calendar for c in found if c.error in (None, TOO_MUCH_BUSY_TIME)],
                # a broken grant is needs_reconnect's to tell, not an unreadable calendar
                [
                    c.calendar
                    for c in found
                    if c.error not in (None, TOO_MUCH_BUSY_TIME, CALENDAR_MISSING, NeedsReconnect.code)
                ],
            )
        except Exception as error:  # the answer stands; the next read reports again
            log.warning("busy time: calendar health not recorded (%s)", type(error).__name__)
        return HostBusy(user_id, tuple(found))

    def _read(
        self, user_id: str, ref: CalendarRef, start_utc: datetime, end_utc: datetime, budget: IntervalBudget
    ) -> CalendarBusy:
        try:
            client = self._client_for(user_id, ref.connection_id)
            items, zone_name, _ = list_window(client, ref.calendar_id, start_utc, end_utc, budget=budget)
            zone: ZoneInfo = calendar_zone(zone_name, self.fallback_zone)
            intervals: tuple[BusyInterval, ...] = tuple(busy_intervals_from_events(items, zone))
        except GoogleNotFound:
            return CalendarBusy(ref, error=CALENDAR_MISSING)
        except BusyTimeTooLarge:
            return CalendarBusy(ref, error=TOO_MUCH_BUSY_TIME)
        except MalformedEvent as error:
            log.warning(
                "busy time: a Google calendar of connection %s is unreadable (%s)", ref.connection_id, error
            )
            return CalendarBusy(ref, error="google_unavailable")
        except SlotbridgeError as error:  # google_unavailable, needs_reconnect, not_found ...
            log.warning(
                "busy time: a Google calendar of connection %s not read: %s", ref.connection_id, error.code
            )
            return CalendarBusy(ref, error=error.code)
        except Exception:
            log.exception("busy time: reading Google connection %s failed unexpectedly", ref.connection_id)
            return CalendarBusy(ref, error="google_unavailable")
        return CalendarBusy(ref, intervals)
