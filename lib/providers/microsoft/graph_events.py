"""Graph calendarView events -> busy intervals (pure; no I/O).

What Graph sends (asked with `Prefer: outlook.timezone="UTC"` and `$select=start,end,showAs,
isAllDay,isCancelled,type`): `start`/`end` as dateTimeTimeZone with 7 fractional digits and no
offset. Rules applied here:
- cancelled events do not block (they are dropped);
- timed events block exactly [start, end), whatever days they span;
- all-day events (one day or several) block whole local days of the MAILBOX's time zone: Graph
  gives them as bare midnights that mean the owner's days, not UTC's;
- showAs is kept as is (unknown values become UNKNOWN, which blocks by default); whether it
  blocks is the user's showAs policy, applied by the slot engine;
- occurrences of recurring series arrive expanded (calendarView), each one blocking on its own.
An event that cannot be understood raises `MalformedEvent`: the caller fails that calendar closed
rather than guessing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from lib.core.timezones import UnknownTimeZone, parse_iana_zone, windows_to_iana
from lib.engine.all_day import all_day_busy_interval
from lib.engine.busy import BusyInterval
from lib.engine.show_as_policy import ShowAs
from lib.providers.base import MalformedEvent as MalformedEvent  # re-exported: its home is the seam

# What availability needs of an event, and nothing more (never subject, body or attendees).
EVENT_FIELDS = "start,end,showAs,isAllDay,isCancelled,type"


def parse_graph_datetime(value: Any) -> datetime:
    """A Graph dateTimeTimeZone ({"dateTime": "2026-03-08T09:00:00.0000000", "timeZone": "UTC"})
    as an aware datetime. The zone may be UTC, an IANA name or a Windows name."""
    if not isinstance(value, Mapping) or not isinstance(value.get("dateTime"), str):
        raise MalformedEvent("an event time is missing or not a dateTimeTimeZone")
    text = value["dateTime"].strip()
    if text.endswith("Z"):
        text = text[:-1]
    head, dot, fraction = text.partition(".")
    if dot:
        # Graph sends 7 fractional digits; Python keeps microseconds (6).
        if not fraction.isdigit():
            raise MalformedEvent("an event time has a malformed fraction of a second")
        text = f"{head}.{fraction[:6].ljust(6, '0')}"
    try:
        naive = datetime.fromisoformat(text)
    except ValueError:
        raise MalformedEvent("an event time is not an ISO 8601 date-time") from None
    if naive.tzinfo is not None:
        return naive.astimezone(UTC)
    return naive.replace(tzinfo=_zone(value.get("timeZone")))


def _zone(name: Any) -> tzinfo:
    if name is None or (isinstance(name, str) and name.strip().upper() in ("", "UTC", "ETC/UTC", "Z")):
        return UTC
    try:
        return parse_iana_zone(windows_to_iana(str(name)))
    except UnknownTimeZone:
        raise MalformedEvent("an event time names an unknown time zone") from None


def busy_interval_from_event(event: Mapping[str, Any], mailbox_zone: ZoneInfo) -> BusyInterval | None:
    """The busy interval of one calendarView item; None if it cannot block (cancelled)."""
    if event.get("isCancelled") is True:
        return None
    show_as = ShowAs.parse(event.get("showAs") if isinstance(event.get("showAs"), str) else None)
    start = parse_graph_datetime(event.get("start"))
    end = parse_graph_datetime(event.get("end"))
    if event.get("isAllDay") is True:
        # Bare midnights meaning the mailbox owner's days; take the dates as written.
        return all_day_busy_interval(
            start.replace(tzinfo=None), end.replace(tzinfo=None), mailbox_zone, show_as
        )
    if end < start:
        raise MalformedEvent("an event ends before it starts")
    return BusyInterval(start, end, show_as)


def busy_intervals_from_events(
    events: Iterable[Mapping[str, Any]], mailbox_zone: ZoneInfo
) -> list[BusyInterval]:
    """Busy intervals of calendarView items (cancelled ones left out). Raises `MalformedEvent`."""
    intervals: list[BusyInterval] = []
    for event in events:
        interval = busy_interval_from_event(event, mailbox_zone)
        if interval is not None:
            intervals.append(interval)
    return intervals
