"""Which of a user's calendars are in use, and for what: the user's calendar settings, and every
link host entry that names the user's calendars (asked of links through
`hooks.link_calendars`, since connections sits below links). Calendar health tracks exactly these
calendars, and sync subscribes and caches their conflict calendars."""

from __future__ import annotations

from collections.abc import Mapping

from lib.features.connections import hooks
from lib.features.connections.records import CalendarSettingsRecord

CalendarKey = tuple[str, str]  # (connection id, calendar id)
CONFLICTS = "conflicts"
BOOKINGS = "bookings"


def calendar_key(value: Mapping[str, str]) -> CalendarKey:
    """A stored `{connectionId, calendarId}` as its key (settings, health flags, link host entries)."""
    return (value["connectionId"], value["calendarId"])


def link_calendars(user_id: str) -> list[hooks.LinkCalendar]:
    """Every calendar of the user's that one of their links names (in link order)."""
    return [found for answer in hooks.link_calendars.publish(user_id) for found in answer]


def roles(
    settings: CalendarSettingsRecord | None, links: list[hooks.LinkCalendar], ref: CalendarKey
) -> list[str]:
    """What the calendar is used for: "conflicts", "bookings", both or neither."""
    conflicts = any(link.conflicts for link in links if (link.connection_id, link.calendar_id) == ref)
    bookings = any(link.bookings for link in links if (link.connection_id, link.calendar_id) == ref)
    if settings is not None:
        conflicts = conflicts or any(calendar_key(c) == ref for c in settings.conflict_calendars)
        bookings = bookings or bool(settings.write_calendar and calendar_key(settings.write_calendar) == ref)
    return [name for name, used in ((CONFLICTS, conflicts), (BOOKINGS, bookings)) if used]


def slugs(links: list[hooks.LinkCalendar], ref: CalendarKey) -> list[str]:
    """The links that name the calendar, each once."""
    return list(dict.fromkeys(link.slug for link in links if (link.connection_id, link.calendar_id) == ref))


def conflict_calendars(
    settings: CalendarSettingsRecord | None, links: list[hooks.LinkCalendar]
) -> list[CalendarKey]:
    """Every calendar checked for the user's conflicts somewhere: the settings', then the links'."""
    found = [calendar_key(c) for c in settings.conflict_calendars] if settings is not None else []
    found += [(link.connection_id, link.calendar_id) for link in links if link.conflicts]
    return list(dict.fromkeys(found))
