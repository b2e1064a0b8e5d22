"""A user's calendars across connections, read live by each connection's provider, and their
calendar settings."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lib.adapters.storage import storage_account
from lib.adapters.storage.tables import AlreadyExists
from lib.core.errors import CalendarNotWritable, FieldError, SlotbridgeError, ValidationFailed
from lib.core.input_rules import text_fault
from lib.engine.show_as_policy import ShowAs
from lib.features.connections import calendar_health, calendar_uses, hooks, host_view
from lib.features.connections.calendar_health import MissingCalendar
from lib.features.connections.records import CalendarSettingsRecord, ConnectionRecord, ConnectionStatus
from lib.features.connections.repository import calendar_settings, user_connections
from lib.providers.accounts import AccountCalendar
from lib.providers.registry import provider_for

log = logging.getLogger("slotbridge.calendars")

MAX_CONFLICT_CALENDARS = 50


@dataclass(frozen=True)
class Calendar(AccountCalendar):
    """A calendar as its provider lists it, and the connection it was listed through."""

    connection_id: str

    @property
    def ref(self) -> tuple[str, str]:
        return (self.connection_id, self.calendar_id)

    @classmethod
    def of(cls, connection_id: str, found: AccountCalendar) -> Calendar:
        return cls(**vars(found), connection_id=connection_id)


def _ref(value: dict[str, str] | None) -> tuple[str, str] | None:
    return calendar_uses.calendar_key(value) if value else None


def read_calendars(connection: ConnectionRecord) -> list[Calendar]:
    """The connection's calendars, read live by its provider."""
    found = provider_for(connection.provider).accounts().calendars(connection.account())
    return [Calendar.of(connection.connection_id, calendar) for calendar in found]


def default_calendar_settings(connection: ConnectionRecord) -> CalendarSettingsRecord | None:
    try:
        primary = provider_for(connection.provider).accounts().default_calendar(connection.account())
    except SlotbridgeError as error:
        log.warning(
            "Default calendar of %s could not be read (%s)", connection.connection_id, type(error).__name__
        )
        return None
    ref = {"connectionId": connection.connection_id, "calendarId": primary.calendar_id}
    name_key = calendar_health.name_key(connection.connection_id, ref["calendarId"])
    return CalendarSettingsRecord(
        user_id=connection.user_id,
        conflict_calendars=[ref],
        write_calendar=ref if primary.can_edit else None,
        calendar_names={name_key: primary.name},
        updated_at=datetime.now(UTC),
    )


@dataclass(frozen=True)
class ListedCalendar:
    calendar: Calendar
    account_email: str
    check_for_conflicts: bool
    add_bookings: bool


@dataclass(frozen=True)
class CalendarListing:
    calendars: list[ListedCalendar]
    unavailable: list[tuple[str, str]]  # (connection id, problem code)
    missing: list[MissingCalendar]
    blocking_show_as: list[str] | None


def list_calendars(user_id: str) -> CalendarListing:
    """Every calendar of every connection with the user's two selection flags; connections that
    cannot be read are listed as unavailable with their problem code, and chosen calendars Outlook
    no longer has as missing (`calendar_missing`), not silently left out."""
    settings = calendar_settings(user_id)
    connections = user_connections(user_id)
    conflicts = {_ref(c) for c in (settings.conflict_calendars if settings else [])}
    write = _ref(settings.write_calendar) if settings else None
    calendars: list[ListedCalendar] = []
    unavailable: list[tuple[str, str]] = []
    for connection in connections:
        if connection.status is ConnectionStatus.NEEDS_RECONNECT:
            unavailable.append((connection.connection_id, "needs_reconnect"))
            continue
        try:
            found = read_calendars(connection)
        except SlotbridgeError as error:
            unavailable.append((connection.connection_id, error.code))
            continue
        calendars += [
            ListedCalendar(cal, connection.email, cal.ref in conflicts, cal.ref == write) for cal in found
        ]
    return CalendarListing(
        calendars,
        unavailable,
        calendar_health.missing_view(settings, connections),
        settings.blocking_show_as if settings else None,
    )


def parse_calendar_ref(value: Any, field: str, errors: list[FieldError]) -> tuple[str, str] | None:
    """A `{connectionId, calendarId}` reference as (connection id, calendar id), or None with an error."""
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("connectionId"), str)
        or not isinstance(value.get("calendarId"), str)
        or not value["connectionId"]
        or not value["calendarId"]
        or len(value["calendarId"]) > 512
        or text_fault(value["connectionId"] + value["calendarId"]) is not None
    ):
        errors.append(FieldError(field, "must be {connectionId, calendarId}"))
        return None
    return (value["connectionId"], value["calendarId"])


def _parse_blocking_show_as(value: Any, errors: list[FieldError]) -> list[str] | None:
    """Which showAs values block this user's time; absent or null keeps the default policy."""
    if value is None:
        return None
    allowed = [s.value for s in ShowAs]
    if not isinstance(value, list) or not all(isinstance(v, str) and v in allowed for v in value):
        errors.append(
            FieldError("blockingShowAs", f"a list of: {', '.join(allowed)} (or null for the default)")
        )
        return None
    return sorted(set(value))


@dataclass(frozen=True)
class CalendarSelection:
    """The user's choice: conflict calendars (many), the write calendar (one), and which showAs
    values block time (None: the default policy). Calendars are (connection id, calendar id)."""

    conflicts: list[tuple[str, str]]
    write: tuple[str, str] | None
    blocking_show_as: list[str] | None


def parse_calendar_selection(body: dict[str, Any]) -> CalendarSelection:
    """The `PUT .../calendar-settings` body, or `ValidationFailed` listing every bad field."""
    errors: list[FieldError] = []
    raw_conflicts = body.get("conflictCalendars")
    if not isinstance(raw_conflicts, list) or len(raw_conflicts) > MAX_CONFLICT_CALENDARS:
        errors.append(
            FieldError("conflictCalendars", f"a list of at most {MAX_CONFLICT_CALENDARS} calendars")
        )
        raw_conflicts = []
    conflicts = [
        parse_calendar_ref(v, f"conflictCalendars[{i}]", errors) for i, v in enumerate(raw_conflicts)
    ]
    write = (
        None
        if body.get("writeCalendar") is None
        else parse_calendar_ref(body["writeCalendar"], "writeCalendar", errors)
    )
    blocking = _parse_blocking_show_as(body.get("blockingShowAs"), errors)
    if errors:
        raise ValidationFailed("The calendar settings are not valid.", errors)
    return CalendarSelection([ref for ref in conflicts if ref is not None], write, blocking)


def check_calendar_choice(
    user_id: str,
    conflicts: Sequence[tuple[str, str]],
    write: tuple[str, str] | None,
    *,
    field_prefix: str = "",
) -> dict[tuple[str, str], Calendar]:
    """Check a choice of conflict calendars and a write calendar against Outlook: each must be a
    calendar of one of the user's connections (else `ValidationFailed`, field by field under
    `field_prefix`), and the write calendar one they can edit (else `CalendarNotWritable`).
    Returns the calendars named, by reference. Used by the user's settings and by link hosts."""
    errors: list[FieldError] = []
    known: dict[tuple[str, str], Calendar] = {}
    for connection in user_connections(user_id):
        if any(ref and ref[0] == connection.connection_id for ref in [*conflicts, write]):
            for cal in read_calendars(connection):
                known[cal.ref] = cal
    for i, ref in enumerate(conflicts):
        if ref not in known:
            errors.append(
                FieldError(f"{field_prefix}conflictCalendars[{i}]", "no such calendar among your connections")
            )
    if write is not None and write not in known:
        errors.append(FieldError(f"{field_prefix}writeCalendar", "no such calendar among your connections"))
    if errors:
        raise ValidationFailed("The calendar settings name calendars that are not yours.", errors)
    if write is not None and not known[write].can_edit:
        raise CalendarNotWritable(
            f"Bookings cannot be added to \u201c{known[write].name}\u201d: it is read-only for this account. "
            "Pick a calendar you can edit."
        )
    return known


def update_calendar_settings(user_id: str, selection: CalendarSelection) -> CalendarSelection:
    """Replace the user's calendar settings with `selection` (each calendar checked against
    Outlook: it must exist, and the write calendar must be writable); returns what was stored."""
    conflicts, write, blocking = selection.conflicts, selection.write, selection.blocking_show_as
    known = check_calendar_choice(user_id, conflicts, write)

    unique = list(dict.fromkeys(conflicts))
    now = datetime.now(UTC)
    stored = [{"connectionId": c, "calendarId": k} for c, k in unique]
    write_ref = {"connectionId": write[0], "calendarId": write[1]} if write else None
    seen = {ref: known[ref].name for ref in [*unique, write] if ref is not None}
    names = {calendar_health.name_key(*ref): name for ref, name in seen.items()}
    links = calendar_uses.link_calendars(user_id)
    table = storage_account().table(CalendarSettingsRecord)

    def replace(current: CalendarSettingsRecord) -> CalendarSettingsRecord:
        current.conflict_calendars, current.write_calendar, current.updated_at = stored, write_ref, now
        current.blocking_show_as = blocking
        # Every calendar chosen now was just found in Outlook: none of them is missing. Flags and
        # names of calendars only the user's links still name stay.
        return calendar_health.keep_in_use(current, links, seen)

    if table.find(user_id, "settings") is None:
        try:
            table.create(
                CalendarSettingsRecord(
                    user_id=user_id,
                    conflict_calendars=stored,
                    write_calendar=write_ref,
                    blocking_show_as=blocking,
                    calendar_names=names,
                    updated_at=now,
                )
            )
        except AlreadyExists:
            table.mutate(user_id, "settings", replace)
    else:
        table.mutate(user_id, "settings", replace)
    host_view.forget(user_id)
    hooks.calendar_settings_saved.publish(user_id)
    return CalendarSelection(unique, write, blocking)


def forget_connection_calendars(user_id: str, connection_id: str) -> None:
    """Remove a connection's calendars from the user's settings (on disconnect). When that leaves
    no conflict calendar (or no write calendar) while another account stays connected, that
    account's default calendar takes the empty place, as at a first connect: an empty list would
    read as "check nothing" and offer every weekly hour unchecked, and no write calendar would book
    with no event."""
    table = storage_account().table(CalendarSettingsRecord)
    if table.find(user_id, "settings") is None:
        return
    remaining = [c for c in user_connections(user_id) if c.connection_id != connection_id]
    fallback = default_calendar_settings(remaining[0]) if remaining else None

    def drop(current: CalendarSettingsRecord) -> CalendarSettingsRecord:
        had_conflicts = bool(current.conflict_calendars)
        current.conflict_calendars = [
            c for c in current.conflict_calendars if c["connectionId"] != connection_id
        ]
        if current.write_calendar and current.write_calendar["connectionId"] == connection_id:
            current.write_calendar = fallback.write_calendar if fallback else None
        if had_conflicts and not current.conflict_calendars and fallback is not None:
            current.conflict_calendars = list(fallback.conflict_calendars)
        if fallback is not None:
            current.calendar_names = {**fallback.calendar_names, **current.calendar_names}
        current.missing_calendars = [
            m for m in current.missing_calendars if m["connectionId"] != connection_id
        ]
        current.updated_at = datetime.now(UTC)
        return current

    table.mutate(user_id, "settings", drop)
    host_view.forget(user_id)
