"""Google Calendar events -> busy intervals (pure; no I/O).

What Google sends (`events.list` with `singleEvents=true`, so every occurrence of a recurring
series is its own item, and `fields` limited to `EVENT_FIELDS`): `start`/`end` as either
`{"date": "2026-03-08"}` (all-day, end exclusive) or `{"dateTime": "2026-03-08T09:00:00-05:00"}`
(RFC 3339, an offset unless `timeZone` names the zone). Rules applied here:
- cancelled events (`status` cancelled; in an incremental read, deleted ones) do not block;
- `transparency` transparent ("Show as available") does not block, as in Google's own freeBusy;
- an event the calendar's owner declined (the attendee marked `self`) does not block;
- working-location items never block (they say where, not whether);
- all-day events block whole local days of the CALENDAR's time zone (the list's `timeZone`);
- timed events block exactly [start, end);
- what blocks carries a showAs: tentative (the event's status, or the owner's answer), oof
  (an out-of-office event), else busy - the user's showAs policy applies as for Outlook.
An event that cannot be understood raises `MalformedEvent`: the caller fails that calendar closed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from lib.core.timezones import UnknownTimeZone, parse_iana_zone
from lib.engine.all_day import all_day_busy_interval
from lib.engine.busy import BusyInterval
from lib.engine.show_as_policy import ShowAs
from lib.providers.base import MalformedEvent

# What availability needs of an event, and nothing more (no summary, description or addresses:
# of the attendees only whether one is the owner, and the owner's answer).
EVENT_FIELDS = "id,status,start,end,transparency,eventType,attendees(self,responseStatus)"
# `fields` of an events.list page (items plus paging, the feed's cursor and the calendar's zone).
LIST_FIELDS = f"items({EVENT_FIELDS}),nextPageToken,nextSyncToken,timeZone"

_NEVER_BLOCKS = frozenset({"workingLocation"})


def parse_google_time(value: Any, default_zone: ZoneInfo) -> tuple[datetime, bool]:
    """An EventDateTime as (instant, all-day). An all-day date comes back as a naive midnight
    (a local day, not an instant); a dateTime without an offset is read in its `timeZone`, else
    in `default_zone` (the calendar's)."""
    if not isinstance(value, Mapping):
        raise MalformedEvent("an event time is missing")
    day, text = value.get("date"), value.get("dateTime")
    if isinstance(day, str) and text is None:
        try:
            return datetime.combine(date.fromisoformat(day), datetime.min.time()), True
        except ValueError:
            raise MalformedEvent("an all-day event's date is not an ISO 8601 date") from None
    if not isinstance(text, str):
        raise MalformedEvent("an event time has neither a date nor a dateTime")
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise MalformedEvent("an event time is not an RFC 3339 date-time") from None
    if parsed.tzinfo is None:
        zone = value.get("timeZone")
        parsed = parsed.replace(tzinfo=_zone(zone) if zone is not None else default_zone)
    return parsed.astimezone(UTC), False


def _zone(name: Any) -> ZoneInfo:
    try:
        return parse_iana_zone(str(name))
    except UnknownTimeZone:
        raise MalformedEvent("an event time names an unknown time zone") from None


def calendar_zone(name: Any, fallback: ZoneInfo) -> ZoneInfo:
    """The calendar's zone as events.list answers it (`timeZone`); `fallback` when unreadable."""
    try:
        return parse_iana_zone(name) if isinstance(name, str) else fallback
    except UnknownTimeZone:
        return fallback


def _owner_answer(event: Mapping[str, Any]) -> str | None:
    attendees = event.get("attendees")
    if not isinstance(attendees, list):
        return None
    for attendee in attendees:
        if isinstance(attendee, Mapping) and attendee.get("self") is True:
            answer = attendee.get("responseStatus")
            return answer if isinstance(answer, str) else None
    return None


def blocks(event: Mapping[str, Any]) -> bool:
    """Whether the item can block at all (before its times are read)."""
    return not (
        event.get("status") == "cancelled"
        or event.get("transparency") == "transparent"
        or event.get("eventType") in _NEVER_BLOCKS
        or _owner_answer(event) == "declined"
    )


def show_as_of(event: Mapping[str, Any]) -> ShowAs:
    if event.get("eventType") == "outOfOffice":
        return ShowAs.OOF
    if event.get("status") == "tentative" or _owner_answer(event) == "tentative":
        return ShowAs.TENTATIVE
    return ShowAs.BUSY


def busy_interval_from_event(event: Mapping[str, Any], zone: ZoneInfo) -> BusyInterval | None:
    """The busy interval of one events.list item (`zone`: the calendar's); None if it does not
    block. Raises `MalformedEvent`."""
    if not blocks(event):
        return None
    start, start_all_day = parse_google_time(event.get("start"), zone)
    end, end_all_day = parse_google_time(event.get("end"), zone)
    if start_all_day != end_all_day:
        raise MalformedEvent("an event mixes a date and a dateTime")
    show_as = show_as_of(event)
    if start_all_day:
        return all_day_busy_interval(start, end, zone, show_as)
    if end < start:
        raise MalformedEvent("an event ends before it starts")
    return BusyInterval(start, end, show_as)


def busy_intervals_from_events(events: Iterable[Mapping[str, Any]], zone: ZoneInfo) -> list[BusyInterval]:
    """Busy intervals of events.list items (those that do not block left out)."""
    intervals: list[BusyInterval] = []
    for event in events:
        interval = busy_interval_from_event(event, zone)
        if interval is not None:
            intervals.append(interval)
    return intervals
