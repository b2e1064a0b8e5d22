"""Chosen calendars that Outlook no longer has (deleted, or no longer shared with the account).

Found by a 404 from Graph on that calendar's own routes — calendarView (availability, the booking
re-check), calendarView/delta and the subscription (sync), the event create (bookings) — and kept
in one place: the user's calendar settings (`missing_calendars`). It heals when the calendar is
read again, when the user saves new choices (which are checked against Outlook), and on
disconnect of its account. Nothing else is stored about it.

A calendar going missing posts exactly one "action required" outbox message
(`calendar.unavailable`, reason `calendar_missing`) per episode: as with needs_reconnect, the
message id carries the episode number and the row is posted before the flag is set, so a crash in
between loses nothing and a second request meeting the same 404 adds nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from lib.adapters.storage import storage_account
from lib.adapters.storage.tables import RecordNotFound
from lib.core.crypto import calendar_digest
from lib.engine.busy_source import CALENDAR_MISSING
from lib.features.connections import host_view
from lib.features.connections.records import CalendarSettingsRecord, ConnectionRecord
from lib.features.outbox import service as outbox
from lib.features.outbox.event_types import EventType

log = logging.getLogger("slotbridge.connections")

MESSAGE_TYPE: EventType = "calendar.unavailable"
CalendarKey = tuple[str, str]  # (connection id, calendar id)


def name_key(connection_id: str, calendar_id: str) -> str:
    return f"{connection_id}|{calendar_id}"


def _ref(value: dict[str, str]) -> CalendarKey:
    return (value["connectionId"], value["calendarId"])


def missing_refs(settings: CalendarSettingsRecord | None) -> frozenset[CalendarKey]:
    return frozenset(_ref(m) for m in settings.missing_calendars) if settings else frozenset()


def roles(settings: CalendarSettingsRecord, ref: CalendarKey) -> list[str]:
    """What the user chose the calendar for: "conflicts", "bookings", both or neither."""
    found = []
    if any(_ref(c) == ref for c in settings.conflict_calendars):
        found.append("conflicts")
    if settings.write_calendar and _ref(settings.write_calendar) == ref:
        found.append("bookings")
    return found


def mark_missing(user_id: str, connection_id: str, calendar_id: str) -> None:
    """Outlook answered 404 for a chosen calendar: flag it (once) and tell the product (once)."""
    table = storage_account().table(CalendarSettingsRecord)
    ref = (connection_id, calendar_id)
    current = table.find(user_id, "settings")
    if current is None or ref in missing_refs(current):
        return
    used_for = roles(current, ref)
    if not used_for:
        return  # no longer chosen: nothing depends on it
    episode = current.missing_episodes + 1
    connection = storage_account().table(ConnectionRecord).find(user_id, connection_id)
    outbox.post(
        user_id,
        f"calendar_missing.{connection_id}.{calendar_digest(calendar_id)}.{episode}",
        MESSAGE_TYPE,
        {
            "reason": CALENDAR_MISSING,
            "connectionId": connection_id,
            "email": connection.email if connection else "",
            "calendarId": calendar_id,
            "calendarName": current.calendar_names.get(name_key(connection_id, calendar_id), ""),
            "usedFor": used_for,
            "action": "Ask the user to pick another calendar, or remove this one, in the settings page.",
        },
    )
    now = datetime.now(UTC)

    def flag(record: CalendarSettingsRecord) -> CalendarSettingsRecord | None:
        if ref in missing_refs(record) or not roles(record, ref):
            return None
        record.missing_calendars = [
            *record.missing_calendars,
            {"connectionId": connection_id, "calendarId": calendar_id, "since": now.isoformat()},
        ]
        # Two calendars going missing at once may share an episode number; their ids still differ.
        record.missing_episodes = max(record.missing_episodes, episode)
        record.updated_at = now
        return record

    try:
        table.mutate(user_id, "settings", flag)
    except RecordNotFound:
        return
    host_view.forget(user_id)
    # calendar_missing is the prefix to search the logs for (docs/operations.md).
    log.warning("calendar_missing connection=%s uses=%s", connection_id, ",".join(used_for))


def clear_missing(user_id: str, refs: Iterable[CalendarKey]) -> None:
    """The calendars were read after all: no longer missing."""
    healed = set(refs)

    def clear(record: CalendarSettingsRecord) -> CalendarSettingsRecord | None:
        kept = [m for m in record.missing_calendars if _ref(m) not in healed]
        if len(kept) == len(record.missing_calendars):
            return None
        record.missing_calendars, record.updated_at = kept, datetime.now(UTC)
        return record

    try:
        storage_account().table(CalendarSettingsRecord).mutate(user_id, "settings", clear)
    except RecordNotFound:
        return
    host_view.forget(user_id)
    log.info("calendar_found_again calendars=%d", len(healed))


def note_reads(user_id: str, missing: Iterable[CalendarKey], found: Iterable[CalendarKey]) -> None:
    """What a read of the user's calendars found: 404s flag, readable calendars flagged before heal.
    Whether any is flagged is read from the short-lived host view, so a healthy read costs nothing."""
    for connection_id, calendar_id in missing:
        mark_missing(user_id, connection_id, calendar_id)
    found = list(found)
    if found:
        flagged = missing_refs(host_view.host_view(user_id).settings)
        healed = [ref for ref in found if ref in flagged]
        if healed:
            clear_missing(user_id, healed)


@dataclass(frozen=True)
class MissingCalendar:
    """A chosen calendar Outlook no longer has: which one, of which account, what it was for."""

    connection_id: str
    calendar_id: str
    name: str  # when it was chosen ("" if unknown)
    account_email: str
    check_for_conflicts: bool
    add_bookings: bool
    since: str  # stored as ISO text


def missing_view(
    settings: CalendarSettingsRecord | None, connections: Iterable[ConnectionRecord]
) -> list[MissingCalendar]:
    """The missing calendars as the management API shows them (which calendar, what it was for)."""
    if settings is None:
        return []
    emails = {c.connection_id: c.email for c in connections}
    out: list[MissingCalendar] = []
    for item in settings.missing_calendars:
        ref = _ref(item)
        used_for = roles(settings, ref)
        out.append(
            MissingCalendar(
                connection_id=ref[0],
                calendar_id=ref[1],
                name=settings.calendar_names.get(name_key(*ref), ""),
                account_email=emails.get(ref[0], ""),
                check_for_conflicts="conflicts" in used_for,
                add_bookings="bookings" in used_for,
                since=item.get("since", ""),
            )
        )
    return out
