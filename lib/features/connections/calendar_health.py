"""Chosen calendars that Outlook no longer has (deleted, or no longer shared with the account),
and chosen calendars whose reads keep failing. "Chosen" means in use (`calendar_uses`): named by
the user's calendar settings or by one of their links' host entries.

Missing: found by a 404 from Graph on that calendar's own routes — calendarView (availability, the
booking re-check), calendarView/delta and the subscription (sync), the event create (bookings) —
and kept in one place: the user's calendar settings (`missing_calendars`). It heals when the
calendar is read again, when the user saves new choices or a link naming it is saved (both are
checked against Outlook), and on disconnect of its account. Nothing else is stored about it.

Unreadable: a read that fails for another reason (403 after the sharing was removed, throttling or
outages past the retry budget; not a broken grant, which is `needs_reconnect`) starts an episode
(`unreadable_calendars`, with its start); a failed read once the episode is older than
`SLOTBRIDGE_CALENDAR_UNREADABLE_AFTER_MINUTES` tells the product; the next good read ends it.
Whether a calendar is already tracked is read from the short-lived host view, so a failing read
writes only when an episode starts or is told.

Each posts exactly one "action required" outbox message (`calendar.unavailable`, reason
`calendar_missing` or `calendar_unreadable`) per episode: as with needs_reconnect, the message id
carries the episode number and the row is posted before the flag is set, so a crash in between
loses nothing and a second request meeting the same failure adds nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lib.adapters.storage import storage_account
from lib.adapters.storage.tables import RecordNotFound
from lib.core.crypto import calendar_digest
from lib.core.settings import get_settings
from lib.engine.busy_source import CALENDAR_MISSING
from lib.features.connections import calendar_uses, host_view
from lib.features.connections.calendar_uses import calendar_key
from lib.features.connections.hooks import LinkCalendar
from lib.features.connections.records import CalendarSettingsRecord, ConnectionRecord
from lib.features.outbox import service as outbox
from lib.features.outbox.event_types import EventType

log = logging.getLogger("slotbridge.connections")

MESSAGE_TYPE: EventType = "calendar.unavailable"
CALENDAR_UNREADABLE = "calendar_unreadable"
CalendarKey = calendar_uses.CalendarKey
_ACTIONS = {
    CALENDAR_MISSING: "Ask the user to pick another calendar, or remove this one, in the settings page.",
    CALENDAR_UNREADABLE: "Ask the user to share this calendar with the account again, or pick another "
    "one in the settings page.",
}


def name_key(connection_id: str, calendar_id: str) -> str:
    return f"{connection_id}|{calendar_id}"


def missing_refs(settings: CalendarSettingsRecord | None) -> frozenset[CalendarKey]:
    return frozenset(calendar_key(m) for m in settings.missing_calendars) if settings else frozenset()


def unreadable_entries(settings: CalendarSettingsRecord | None) -> dict[CalendarKey, dict[str, str]]:
    return {calendar_key(u): u for u in settings.unreadable_calendars} if settings else {}


def _post_unavailable(
    record: CalendarSettingsRecord, links: list[LinkCalendar], ref: CalendarKey, reason: str, episode: int
) -> None:
    """The one `calendar.unavailable` of this episode (a second post of its id adds nothing)."""
    connection_id, calendar_id = ref
    connection = storage_account().table(ConnectionRecord).find(record.user_id, connection_id)
    outbox.post(
        record.user_id,
        f"{reason}.{connection_id}.{calendar_digest(calendar_id)}.{episode}",
        MESSAGE_TYPE,
        {
            "reason": reason,
            "connectionId": connection_id,
            "email": connection.email if connection else "",
            "calendarId": calendar_id,
            "calendarName": record.calendar_names.get(name_key(connection_id, calendar_id), ""),
            "usedFor": calendar_uses.roles(record, links, ref),
            "links": calendar_uses.slugs(links, ref),
            "action": _ACTIONS[reason],
        },
    )


def _mutate(user_id: str, change: Callable[[CalendarSettingsRecord], CalendarSettingsRecord | None]) -> bool:
    """Apply `change` to the user's settings; False when there are none."""
    try:
        storage_account().table(CalendarSettingsRecord).mutate(user_id, "settings", change)
    except RecordNotFound:
        return False
    host_view.forget(user_id)
    return True


def mark_missing(user_id: str, connection_id: str, calendar_id: str) -> None:
    """Outlook answered 404 for a chosen calendar: flag it (once) and tell the product (once)."""
    ref = (connection_id, calendar_id)
    current = storage_account().table(CalendarSettingsRecord).find(user_id, "settings")
    if current is None or ref in missing_refs(current):
        return
    links = calendar_uses.link_calendars(user_id)
    used_for = calendar_uses.roles(current, links, ref)
    if not used_for:
        return  # no longer chosen: nothing depends on it
    episode = current.missing_episodes + 1
    _post_unavailable(current, links, ref, CALENDAR_MISSING, episode)
    now = datetime.now(UTC)

    def flag(record: CalendarSettingsRecord) -> CalendarSettingsRecord | None:
        if ref in missing_refs(record) or not calendar_uses.roles(record, links, ref):
            return None
        record.missing_calendars = [
            *record.missing_calendars,
            {"connectionId": connection_id, "calendarId": calendar_id, "since": now.isoformat()},
        ]
        # Two calendars going missing at once may share an episode number; their ids still differ.
        record.missing_episodes = max(record.missing_episodes, episode)
        record.updated_at = now
        return record

    if _mutate(user_id, flag):
        # calendar_missing is the prefix to search the logs for (docs/operations.md).
        log.warning("calendar_missing connection=%s uses=%s", connection_id, ",".join(used_for))


def note_unreadable(user_id: str, refs: Iterable[CalendarKey]) -> None:
    """Reads of these calendars failed (not a 404, not a broken grant): start an episode for each
    not yet in one; tell the product (once per episode) about those unreadable for too long."""
    failed = list(dict.fromkeys(refs))
    if not failed:
        return
    tracked = unreadable_entries(host_view.host_view(user_id).settings)
    now = datetime.now(UTC)
    after = timedelta(minutes=get_settings().calendar_unreadable_after_minutes)
    starting = [ref for ref in failed if ref not in tracked]
    due = [
        ref
        for ref in failed
        if ref in tracked
        and not tracked[ref].get("posted")
        and now - datetime.fromisoformat(tracked[ref]["since"]) >= after
    ]
    if starting:
        _start_unreadable(user_id, starting, now)
    for ref in due:
        _tell_unreadable(user_id, ref, now, after)


def _start_unreadable(user_id: str, refs: list[CalendarKey], now: datetime) -> None:
    links = calendar_uses.link_calendars(user_id)

    def start(record: CalendarSettingsRecord) -> CalendarSettingsRecord | None:
        known = unreadable_entries(record)
        new = [ref for ref in refs if ref not in known and calendar_uses.roles(record, links, ref)]
        if not new:
            return None
        for ref in new:
            record.unreadable_episodes += 1
            record.unreadable_calendars = [
                *record.unreadable_calendars,
                {
                    "connectionId": ref[0],
                    "calendarId": ref[1],
                    "since": now.isoformat(),
                    "episode": str(record.unreadable_episodes),
                },
            ]
        record.updated_at = now
        return record

    _mutate(user_id, start)


def _tell_unreadable(user_id: str, ref: CalendarKey, now: datetime, after: timedelta) -> None:
    current = storage_account().table(CalendarSettingsRecord).find(user_id, "settings")
    entry = unreadable_entries(current).get(ref)
    if current is None or entry is None or entry.get("posted"):
        return
    if now - datetime.fromisoformat(entry["since"]) < after:
        return
    links = calendar_uses.link_calendars(user_id)
    if not calendar_uses.roles(current, links, ref):
        return
    episode = entry["episode"]
    _post_unavailable(current, links, ref, CALENDAR_UNREADABLE, int(episode))

    def posted(record: CalendarSettingsRecord) -> CalendarSettingsRecord | None:
        entries = [dict(e) for e in record.unreadable_calendars]
        mine = [
            e
            for e in entries
            if calendar_key(e) == ref and e.get("episode") == episode and not e.get("posted")
        ]
        if not mine:
            return None
        mine[0]["posted"] = now.isoformat()
        record.unreadable_calendars, record.updated_at = entries, now
        return record

    _mutate(user_id, posted)
    # calendar_unreadable is the prefix to search the logs for, like calendar_missing.
    log.warning("calendar_unreadable connection=%s since=%s", ref[0], entry["since"])


def clear_missing(user_id: str, refs: Iterable[CalendarKey]) -> None:
    """The calendars were read after all: no longer missing, and their unreadable episode is over."""
    healed = set(refs)

    def clear(record: CalendarSettingsRecord) -> CalendarSettingsRecord | None:
        kept = [m for m in record.missing_calendars if calendar_key(m) not in healed]
        readable = [u for u in record.unreadable_calendars if calendar_key(u) not in healed]
        if len(kept) == len(record.missing_calendars) and len(readable) == len(record.unreadable_calendars):
            return None
        record.missing_calendars, record.unreadable_calendars = kept, readable
        record.updated_at = datetime.now(UTC)
        return record

    if _mutate(user_id, clear):
        log.info("calendar_found_again calendars=%d", len(healed))


def note_reads(
    user_id: str,
    missing: Iterable[CalendarKey],
    found: Iterable[CalendarKey],
    unreadable: Iterable[CalendarKey] = (),
) -> None:
    """What a read of the user's calendars found: 404s flag, other failures count towards
    unreadable, readable calendars flagged before heal. Whether any is flagged is read from the
    short-lived host view, so a healthy read costs nothing."""
    for connection_id, calendar_id in missing:
        mark_missing(user_id, connection_id, calendar_id)
    note_unreadable(user_id, unreadable)
    found = list(found)
    if found:
        settings = host_view.host_view(user_id).settings
        flagged = missing_refs(settings) | unreadable_entries(settings).keys()
        healed = [ref for ref in found if ref in flagged]
        if healed:
            clear_missing(user_id, healed)


def keep_in_use(
    record: CalendarSettingsRecord, links: list[LinkCalendar], seen: Mapping[CalendarKey, str]
) -> CalendarSettingsRecord:
    """After the choices changed (settings or a link saved): calendars `seen` in Outlook just now
    (with their names) are not missing; flags and names of calendars nothing uses any more go."""

    def used(ref: CalendarKey) -> bool:
        return bool(calendar_uses.roles(record, links, ref))

    record.missing_calendars = [
        m for m in record.missing_calendars if calendar_key(m) not in seen and used(calendar_key(m))
    ]
    record.unreadable_calendars = [u for u in record.unreadable_calendars if used(calendar_key(u))]
    names = {key: name for key, name in record.calendar_names.items() if used(_name_ref(key))}
    names.update({name_key(*ref): name for ref, name in seen.items() if used(ref)})
    record.calendar_names = names
    return record


def _name_ref(key: str) -> CalendarKey:
    connection_id, _, calendar_id = key.partition("|")
    return (connection_id, calendar_id)


def calendars_chosen(user_id: str, seen: Mapping[CalendarKey, str]) -> None:
    """A link naming the user's calendars was saved or deleted: the health flags and names follow."""
    links = calendar_uses.link_calendars(user_id)

    def follow(record: CalendarSettingsRecord) -> CalendarSettingsRecord | None:
        before = (record.missing_calendars, record.unreadable_calendars, record.calendar_names)
        record = keep_in_use(record, links, seen)
        if (record.missing_calendars, record.unreadable_calendars, record.calendar_names) == before:
            return None
        record.updated_at = datetime.now(UTC)
        return record

    _mutate(user_id, follow)


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
    links = calendar_uses.link_calendars(settings.user_id) if settings.missing_calendars else []
    out: list[MissingCalendar] = []
    for item in settings.missing_calendars:
        ref = calendar_key(item)
        used_for = calendar_uses.roles(settings, links, ref)
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
