"""The live busy-interval source: reads the hosts' conflict calendars from Microsoft Graph now.

Per host (user), the calendars are grouped by connection (one connection = one mailbox) and the
mailboxes are read concurrently, one thread each. Per mailbox:
- round 1 is ONE `$batch`: `GET /me/mailboxSettings?$select=timeZone` plus the first
  `calendarView` page of every calendar (more than 20 members are split by the Graph client);
- each following round is one `$batch` of the calendars' `@odata.nextLink`s, until none is left.
So the wall time is about one round trip per page depth, not one per calendar. The Graph client
keeps at most 4 requests of a mailbox on the wire and re-sends each throttled member after its own
Retry-After.

calendarView asks only for `start,end,showAs,isAllDay,isCancelled,type` (`$top=1000`,
`Prefer: outlook.timezone="UTC"`): no subject, body or attendee ever comes back.

Over budget: the host's calendars together may hold at most `busy_budget.MAX_HOST_INTERVALS`
events over the range; the page that takes them over it is the last one read, and every calendar
of the host still being read comes back `too_much_busy_time` with no intervals.

Fail closed: a calendar that cannot be read (throttled past the retry budget, 5xx, timeout, a
connection needing reconnect, a page it cannot understand) comes back with its problem code in
`error` and no intervals. Nothing here raises for a calendar. A calendar Graph answers 404
`ErrorItemNotFound` for is gone from Outlook (deleted, or no longer shared;
`lib.adapters.graph.calendar_gone` decides): its code is `calendar_missing`, and the source reports
it (and calendars read again after such a 404) through `report_health` (connections records it),
with the calendars Graph refused or failed otherwise (403, throttled, 5xx: unreadable; never a
broken grant, which is `needs_reconnect`).
Which mailbox to read as is the caller's to say (`client_for`): this module knows Graph, not
connections.

The mailbox's time zone (for all-day events) comes from mailboxSettings; when it cannot be read
(e.g. `MailboxSettings.Read` not granted, or a custom zone) the source falls back to the zone it
was built with - the booking link's - and logs that it did.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from lib.adapters.graph import BatchRequest, BatchResult, GraphClient, GraphError, calendar_gone
from lib.core.errors import BusyTimeTooLarge, NeedsReconnect, SlotbridgeError
from lib.core.parallel import map_concurrently
from lib.core.timezones import UnknownTimeZone, parse_iana_zone, windows_to_iana
from lib.engine.busy import BusyInterval, require_aware
from lib.engine.busy_budget import TOO_MUCH_BUSY_TIME, IntervalBudget
from lib.engine.busy_source import CALENDAR_MISSING, CalendarBusy, CalendarRef, HostBusy
from lib.providers.microsoft.graph_events import EVENT_FIELDS, MalformedEvent, busy_intervals_from_events

log = logging.getLogger("slotbridge.busy_time")

PAGE_SIZE = 1000  # calendarView's largest $top
PREFER_UTC = 'outlook.timezone="UTC"'
TIME_ZONE_MEMBER = "tz"
# A guard against a server handing out nextLinks forever (1000 rounds x 1000 events).
MAX_ROUNDS = 1000

# (user id, connection id) -> a Graph client for that mailbox; raises a `SlotbridgeError` (such
# as NotFound or NeedsReconnect) when the mailbox cannot be read as.
MailboxClient = Callable[[str, str], GraphClient]
# (user id, calendars Outlook no longer has, calendars read, calendars Graph failed to read) after
# each mailbox read.
HealthReport = Callable[[str, list[CalendarRef], list[CalendarRef], list[CalendarRef]], None]


def graph_time(value: datetime) -> str:
    """A UTC instant as calendarView's startDateTime/endDateTime want it."""
    require_aware(value, "value")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def calendar_view_request(
    member_id: str, calendar_id: str, start_utc: datetime, end_utc: datetime
) -> BatchRequest:
    return BatchRequest(
        id=member_id,
        method="GET",
        url=f"/me/calendars/{quote(calendar_id, safe='')}/calendarView",
        params={
            "startDateTime": graph_time(start_utc),
            "endDateTime": graph_time(end_utc),
            "$select": EVENT_FIELDS,
            "$top": PAGE_SIZE,
        },
        headers={"Prefer": PREFER_UTC},
    )


def _relative_link(client: GraphClient, link: Any) -> str | None:
    """A nextLink as a `$batch` member URL (relative to the version root); None if unusable."""
    if not isinstance(link, str) or not client.owns(link):
        return None  # never follow a link off the Graph base URL (the token would go with it)
    base_path = urlsplit(client.base_url).path.rstrip("/")
    parts = urlsplit(link)
    path = parts.path[len(base_path) :] if parts.path.lower().startswith(base_path.lower()) else parts.path
    return "/" + path.lstrip("/") + (f"?{parts.query}" if parts.query else "")


@dataclass
class _CalendarRead:
    ref: CalendarRef
    events: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    next_url: str | None = None


class LiveBusySource:
    """`BusySource` reading Graph live. `fallback_time_zone` (the link's IANA zone) is used for
    all-day events of a mailbox whose own zone cannot be read."""

    def __init__(
        self,
        fallback_time_zone: str = "UTC",
        *,
        client_for: MailboxClient,
        report_health: HealthReport,
        max_mailboxes_in_parallel: int = 8,
    ) -> None:
        self.fallback_zone = parse_iana_zone(fallback_time_zone)
        self._client_for = client_for
        self._report_health = report_health
        self._max_parallel = max(1, max_mailboxes_in_parallel)

    def busy(
        self, user_id: str, calendars: Sequence[CalendarRef], start_utc: datetime, end_utc: datetime
    ) -> HostBusy:
        require_aware(start_utc, "start_utc")
        require_aware(end_utc, "end_utc")
        by_connection: dict[str, list[CalendarRef]] = {}
        for ref in dict.fromkeys(calendars):  # unique, in order
            by_connection.setdefault(ref.connection_id, []).append(ref)
        if end_utc <= start_utc or not by_connection:
            return HostBusy(user_id, tuple(CalendarBusy(ref) for ref in dict.fromkeys(calendars)))

        budget = IntervalBudget()  # the host's mailboxes together

        def read(refs: list[CalendarRef]) -> list[CalendarBusy]:
            return self._read_mailbox(user_id, refs, start_utc, end_utc, budget)

        results = map_concurrently(read, by_connection.values(), limit=self._max_parallel)
        found = {c.calendar: c for group in results for c in group}
        return HostBusy(user_id, tuple(found[ref] for ref in dict.fromkeys(calendars)))

    # --- one mailbox -------------------------------------------------------------------------

    def _read_mailbox(
        self,
        user_id: str,
        refs: list[CalendarRef],
        start_utc: datetime,
        end_utc: datetime,
        budget: IntervalBudget,
    ) -> list[CalendarBusy]:
        connection_id = refs[0].connection_id
        try:
            client = self._client_for(user_id, connection_id)
            zone, reads = self._read_pages(client, refs, start_utc, end_utc, budget)
        except SlotbridgeError as error:  # NeedsReconnect from the token vault, storage errors...
            if isinstance(error, GraphError) and not isinstance(error, NeedsReconnect):
                self._report(user_id, [], [], refs)  # Graph failed the whole mailbox's read
            return _failed(refs, error.code, type(error).__name__)
        except Exception:
            log.exception("busy time: reading connection %s failed unexpectedly", connection_id)
            return _failed(refs, "outlook_unavailable", "unexpected error")
        found = [self._to_calendar_busy(read, zone, connection_id) for read in reads]
        missing = [c.calendar for c in found if c.error == CALENDAR_MISSING]
        # Too busy is not unreadable: Graph answered, so it ends an unreadable episode like a read.
        answered = (None, TOO_MUCH_BUSY_TIME)
        not_failed = (*answered, CALENDAR_MISSING, NeedsReconnect.code)
        failed = [c.calendar for c in found if c.error not in not_failed]
        self._report(user_id, missing, [c.calendar for c in found if c.error in answered], failed)
        return found

    def _report(
        self, user_id: str, missing: list[CalendarRef], found: list[CalendarRef], failed: list[CalendarRef]
    ) -> None:
        try:
            self._report_health(user_id, missing, found, failed)
        except Exception as error:  # the answer stands; the next read reports again
            log.warning("busy time: calendar health not recorded (%s)", type(error).__name__)

    def _read_pages(
        self,
        client: GraphClient,
        refs: list[CalendarRef],
        start_utc: datetime,
        end_utc: datetime,
        budget: IntervalBudget,
    ) -> tuple[ZoneInfo, list[_CalendarRead]]:
        reads = [_CalendarRead(ref) for ref in refs]
        by_member = {f"c{i}": read for i, read in enumerate(reads)}
        requests = [
            BatchRequest(TIME_ZONE_MEMBER, "GET", "/me/mailboxSettings", params={"$select": "timeZone"})
        ]
        requests += [
            calendar_view_request(member, read.ref.calendar_id, start_utc, end_utc)
            for member, read in by_member.items()
        ]
        results = client.batch(requests)
        zone = self._mailbox_zone(results[TIME_ZONE_MEMBER], client.mailbox_key)
        for _ in range(MAX_ROUNDS):
            try:
                for member, read in by_member.items():
                    if member in results:
                        budget.take(_take_page(client, read, results[member]))
            except BusyTimeTooLarge:
                # Over the host's budget (this mailbox or another of the host's): no further page.
                for read in reads:
                    if read.error is None:
                        read.error, read.events, read.next_url = TOO_MUCH_BUSY_TIME, [], None
                return zone, reads
            pending = {m: r for m, r in by_member.items() if r.error is None and r.next_url is not None}
            if not pending:
                return zone, reads
            results = client.batch(
                [
                    BatchRequest(member, "GET", read.next_url or "", headers={"Prefer": PREFER_UTC})
                    for member, read in pending.items()
                ]
            )
            for read in pending.values():
                read.next_url = None
        for read in reads:
            if read.next_url is not None:
                read.error = "outlook_unavailable"
        return zone, reads

    def _mailbox_zone(self, result: BatchResult, mailbox_key: str) -> ZoneInfo:
        reason = "unreadable"
        if result.ok and isinstance(result.body, Mapping):
            name = result.body.get("timeZone")
            if isinstance(name, str):
                try:
                    return parse_iana_zone(windows_to_iana(name))
                except UnknownTimeZone:
                    reason = "unknown zone"
        elif result.error is not None:
            reason = f"{result.status} {result.error.code}"
        log.warning(
            "busy time: mailbox time zone of connection %s could not be read (%s); all-day events use "
            "the link's time zone %s",
            mailbox_key,
            reason,
            self.fallback_zone.key,
        )
        return self.fallback_zone

    def _to_calendar_busy(self, read: _CalendarRead, zone: ZoneInfo, connection_id: str) -> CalendarBusy:
        if read.error is not None:
            return CalendarBusy(read.ref, error=read.error)
        try:
            intervals: tuple[BusyInterval, ...] = tuple(busy_intervals_from_events(read.events, zone))
        except MalformedEvent as error:
            log.warning(
                "busy time: a calendar of connection %s has an unreadable event (%s)", connection_id, error
            )
            return CalendarBusy(read.ref, error="outlook_unavailable")
        return CalendarBusy(read.ref, intervals)


def _take_page(client: GraphClient, read: _CalendarRead, result: BatchResult) -> int:
    """Takes one page's events into `read`; how many it took."""
    if not result.ok or not isinstance(result.body, Mapping):
        code = result.error.code if result.error is not None else "outlook_unavailable"
        if calendar_gone(result.error):
            code = CALENDAR_MISSING  # the calendar's own route: Outlook no longer has it
        log.warning(
            "busy time: a calendar of connection %s could not be read: %s %s after %d attempt(s)",
            client.mailbox_key,
            result.status,
            getattr(result.error, "graph_code", ""),
            result.attempts,
        )
        read.error = code
        return 0
    value = result.body.get("value")
    if not isinstance(value, list):
        read.error = "outlook_unavailable"
        return 0
    taken = len(read.events)
    read.events.extend(item for item in value if isinstance(item, dict))
    link = result.body.get("@odata.nextLink")
    if link is not None:
        read.next_url = _relative_link(client, link)
        if read.next_url is None:
            read.error = "outlook_unavailable"
    return len(read.events) - taken


def _failed(refs: list[CalendarRef], code: str, why: str) -> list[CalendarBusy]:
    log.warning("busy time: connection %s not read (%s): %s", refs[0].connection_id, why, code)
    return [CalendarBusy(ref, error=code) for ref in refs]
