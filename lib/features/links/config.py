"""A booking link's configuration: the JSON of `PUT /links/{slug}`, validated with field-addressed
errors, and its stored shape (the management and public views are `lib.api.links`'s).

Body (camelCase; the scheduling fields are `link_rules_json`'s, at the top level):
    {"title": "Intro call",
     "assignment": "single" | "roundRobin",
     "hosts": [{"userId": "u-1", "calendarProvider": "microsoft" | "google" | "none",
                "conflictCalendars": [{"connectionId", "calendarId"}, ...],  (optional; this link's)
                "writeCalendar": {"connectionId", "calendarId"}}, ...],      (optional; this link's)
     "teamsMeeting": false,
     "subjectTemplate": "{title} with {attendeeName}",   (optional; the booking event's subject)
     "bodyTemplate": "...{manageUrl}...",                (optional; the booking event's text)
     "productUrl": "https://product.example/prep/{bookingId}",  (optional; `{productUrl}`)
     "privateEvent": false,                              (optional; the event marked private)
     "location": "Room 4",                               (optional; the booking event's location)
     "active": true,                                     (optional; false pauses the link)
     "durationMinutes": 30, "slotStepMinutes": 15, "timeZone": "Europe/Berlin",
     "weeklyHours": {...}, "dateOverrides": [...], "bufferBeforeMinutes": 0, "bufferAfterMinutes": 0,
     "minimumNoticeMinutes": 0, "horizonDays": 60, "dailyCap": null}
The templates are `links.templates`'.
A `single` link has exactly one host; a `roundRobin` pool has 1..MAX_HOSTS distinct hosts.
A host's `conflictCalendars` / `writeCalendar` replace, for this link only, the user's calendar
settings (absent: those); whether the host can see and write them is `links.service`'s check.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lib.adapters.storage.keys import encode_key
from lib.core.errors import FieldError, ValidationFailed
from lib.core.input_rules import check_flag, check_text, check_user_id
from lib.engine.busy_source import CalendarRef
from lib.engine.link_rules import LinkRules
from lib.engine.link_rules_json import link_rules_from_json, link_rules_to_json
from lib.features.connections.calendar_uses import CalendarKey, calendar_key
from lib.features.connections.calendars import MAX_CONFLICT_CALENDARS, parse_calendar_ref
from lib.features.connections.host_view import HostView
from lib.features.connections.records import CalendarSettingsRecord
from lib.features.links.records import BookingLinkRecord
from lib.features.links.templates import (
    DEFAULT_BODY_TEMPLATE,
    DEFAULT_SUBJECT_TEMPLATE,
    MAX_BODY_TEMPLATE_LENGTH,
    MAX_SUBJECT_TEMPLATE_LENGTH,
    EventTemplates,
    check_product_url,
    check_template,
)
from lib.providers.registry import provider_for

MAX_HOSTS = 100  # a team of 100; its availability answer is benched in bench/availability/pool_bench.py
MAX_TITLE_LENGTH = 200
SLUG_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
MAX_LOCATION_LENGTH = 255
_LINK_FIELDS = frozenset(
    {
        "title",
        "assignment",
        "hosts",
        "teamsMeeting",
        "subjectTemplate",
        "bodyTemplate",
        "productUrl",
        "privateEvent",
        "location",
        "active",
    }
)


class CalendarProvider(enum.StrEnum):
    MICROSOFT = "microsoft"  # busy time from the host's conflict calendars (Outlook accounts first)
    GOOGLE = "google"  # the same, for a host whose accounts are Google's first
    NONE = "none"  # weekly hours only


class Assignment(enum.StrEnum):
    SINGLE = "single"
    ROUND_ROBIN = "roundRobin"


_HOST_FIELDS = frozenset({"userId", "calendarProvider", "conflictCalendars", "writeCalendar"})


def _ref_json(ref: CalendarKey) -> dict[str, str]:
    return {"connectionId": ref[0], "calendarId": ref[1]}


@dataclass(frozen=True)
class LinkHost:
    user_id: str
    provider: CalendarProvider
    # This link's own calendars for the host; None: the user's calendar settings.
    conflict_calendars: tuple[CalendarKey, ...] | None = None
    write_calendar: CalendarKey | None = None

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"userId": self.user_id, "calendarProvider": self.provider.value}
        if self.conflict_calendars is not None:
            found["conflictCalendars"] = [_ref_json(ref) for ref in self.conflict_calendars]
        if self.write_calendar is not None:
            found["writeCalendar"] = _ref_json(self.write_calendar)
        return found

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> LinkHost:
        conflicts = value.get("conflictCalendars")
        write = value.get("writeCalendar")
        return cls(
            value["userId"],
            CalendarProvider(value.get("calendarProvider", "microsoft")),
            None if conflicts is None else tuple(calendar_key(ref) for ref in conflicts),
            None if write is None else calendar_key(write),
        )

    def vouched_settings(self, view: HostView) -> CalendarSettingsRecord | None:
        """The user's settings when this host's time on this link can be vouched for; None, as for
        a host with no account connected, when none is, or when the link's own conflict calendars
        (all of them) or write calendar are of accounts since disconnected: checking none of them
        would offer the weekly hours unchecked, writing to none would book with no event."""
        settings = view.connected_settings
        if settings is None:
            return None
        if self.conflict_calendars and all(ref[0] not in view.connections for ref in self.conflict_calendars):
            return None
        if self.write_calendar is not None and self.write_calendar[0] not in view.connections:
            return None
        return settings

    def conflict_refs(
        self, settings: CalendarSettingsRecord, connections: frozenset[str]
    ) -> list[CalendarRef]:
        """The calendars checked for this host's conflicts on this link: the link's own, else the
        user's settings. A link's calendar of an account since disconnected is left out, as
        disconnecting leaves it out of the user's settings (all of them: `vouched_settings`)."""
        if self.conflict_calendars is None:
            return [CalendarRef(*calendar_key(c)) for c in settings.conflict_calendars]
        return [CalendarRef(*ref) for ref in self.conflict_calendars if ref[0] in connections]

    def write_ref(self, settings: CalendarSettingsRecord | None) -> CalendarKey | None:
        """The calendar this link's bookings of the host go to: the link's own, else the user's."""
        if self.write_calendar is not None:
            return self.write_calendar
        return calendar_key(settings.write_calendar) if settings and settings.write_calendar else None


@dataclass(frozen=True)
class LinkConfig:
    slug: str
    title: str
    assignment: Assignment
    hosts: tuple[LinkHost, ...]
    rules: LinkRules
    teams_meeting: bool = False
    subject_template: str = DEFAULT_SUBJECT_TEMPLATE
    location: str = ""
    active: bool = True
    body_template: str = DEFAULT_BODY_TEMPLATE
    product_url: str | None = None
    private_event: bool = False

    @property
    def templates(self) -> EventTemplates:
        return EventTemplates(self.subject_template, self.body_template, self.product_url)

    @property
    def host_ids(self) -> frozenset[str]:
        return frozenset(h.user_id for h in self.hosts)

    def host_entry(self, user_id: str) -> LinkHost:
        """The host's entry on this link (with its own calendars here, if any); a host since taken
        off the link gets one with the user's calendar settings."""
        found = next((h for h in self.hosts if h.user_id == user_id), None)
        return found if found is not None else LinkHost(user_id, CalendarProvider.MICROSOFT)

    def to_record(self, now: datetime) -> BookingLinkRecord:
        return BookingLinkRecord(
            slug=self.slug,
            title=self.title,
            assignment=self.assignment.value,
            hosts=[h.to_json() for h in self.hosts],
            rules=link_rules_to_json(self.rules),
            teams_meeting=self.teams_meeting,
            subject_template=self.subject_template,
            body_template=None if self.body_template == DEFAULT_BODY_TEMPLATE else self.body_template,
            product_url=self.product_url,
            private_event=self.private_event,
            location=self.location or None,
            active=self.active,
            created_at=now,
            updated_at=now,
        )

    @classmethod
    def from_record(cls, record: BookingLinkRecord) -> LinkConfig:
        # Stored links were validated on the way in; parse again so a record written by an older
        # version still yields valid rules (or a clear error instead of a wrong answer).
        return cls(
            slug=record.slug,
            title=record.title,
            assignment=Assignment(record.assignment),
            hosts=tuple(LinkHost.from_json(h) for h in record.hosts),
            rules=link_rules_from_json(record.rules),
            teams_meeting=record.teams_meeting,
            subject_template=record.subject_template or DEFAULT_SUBJECT_TEMPLATE,
            location=record.location or "",
            active=record.active,
            body_template=record.body_template or DEFAULT_BODY_TEMPLATE,
            product_url=record.product_url,
            private_event=record.private_event,
        )


def parse_slug(slug: Any, field: str = "slug") -> str:
    if not isinstance(slug, str) or SLUG_PATTERN.fullmatch(slug) is None:
        raise ValidationFailed(
            "The link's slug is not valid.",
            [FieldError(field, "1-64 lowercase letters, digits and inner hyphens (e.g. 'intro-call')")],
        )
    return slug


def link_config_from_json(slug: str, data: Mapping[str, Any]) -> LinkConfig:
    """Parse and validate a `PUT /links/{slug}` body; `ValidationFailed` lists every bad field."""
    slug = parse_slug(slug)
    problems: list[FieldError] = []

    title = check_text(
        data.get("title"),
        "title",
        problems,
        max_length=MAX_TITLE_LENGTH,
        describe=f"a non-empty text of at most {MAX_TITLE_LENGTH} characters",
    )

    raw_assignment = data.get("assignment", Assignment.SINGLE.value)
    try:
        assignment = Assignment(raw_assignment)
    except ValueError:
        problems.append(FieldError("assignment", "must be 'single' or 'roundRobin'"))
        assignment = Assignment.SINGLE

    hosts = _hosts(data.get("hosts"), assignment, problems)

    teams = _flag(data, "teamsMeeting", False, problems)
    active = _flag(data, "active", True, problems)
    private_event = _flag(data, "privateEvent", False, problems)

    product_url = check_product_url(data.get("productUrl"), "productUrl", problems)
    has_product_url = data.get("productUrl") is not None  # a bad one is reported once, as itself
    subject_template = check_template(
        data,
        "subjectTemplate",
        DEFAULT_SUBJECT_TEMPLATE,
        MAX_SUBJECT_TEMPLATE_LENGTH,
        problems,
        has_product_url=has_product_url,
        manage_url=False,
    )
    body_template = check_template(
        data,
        "bodyTemplate",
        DEFAULT_BODY_TEMPLATE,
        MAX_BODY_TEMPLATE_LENGTH,
        problems,
        multiline=True,
        has_product_url=has_product_url,
    )
    location = _text_field(data, "location", "", MAX_LOCATION_LENGTH, problems)

    rules: LinkRules | None = None
    try:
        rules = link_rules_from_json({k: v for k, v in data.items() if k not in _LINK_FIELDS})
    except ValidationFailed as invalid:
        problems += invalid.errors or [FieldError("", invalid.detail)]
    if problems or rules is None:
        raise ValidationFailed("The booking link is not valid.", problems)
    return LinkConfig(
        slug,
        (title or "").strip(),
        assignment,
        hosts,
        rules,
        teams,
        subject_template,
        location,
        active,
        body_template,
        product_url,
        private_event,
    )


def _flag(data: Mapping[str, Any], name: str, default: bool, problems: list[FieldError]) -> bool:
    checked = check_flag(data.get(name, default), name, problems)
    return default if checked is None else checked


def parse_query_flag(value: str | None, field: str) -> bool:
    """A yes/no query parameter: absent or `false` is no, `true` is yes, anything else is refused
    (a typo must not quietly mean no)."""
    if value is None or value == "false":
        return False
    if value == "true":
        return True
    raise ValidationFailed(f"{field} is not valid.", [FieldError(field, "must be true or false")])


def _text_field(
    data: Mapping[str, Any], name: str, default: str, max_length: int, problems: list[FieldError]
) -> str:
    value = data.get(name)
    if value is None:
        return default
    text = check_text(
        value,
        name,
        problems,
        max_length=max_length,
        describe=f"a single line of text of at most {max_length} characters",
        allow_blank=True,
    )
    return default if text is None else text.strip() or default


def _hosts(raw: Any, assignment: Assignment, problems: list[FieldError]) -> tuple[LinkHost, ...]:
    if not isinstance(raw, list) or not raw:
        problems.append(FieldError("hosts", "a non-empty list of {userId, calendarProvider}"))
        return ()
    if assignment is Assignment.SINGLE and len(raw) != 1:
        problems.append(
            FieldError("hosts", "a single-host link has exactly one host; use roundRobin for a pool")
        )
    if len(raw) > MAX_HOSTS:
        problems.append(FieldError("hosts", f"at most {MAX_HOSTS} hosts"))
        return ()
    hosts: list[LinkHost] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        path = f"hosts[{index}]"
        if not isinstance(item, Mapping):
            problems.append(FieldError(path, "must be an object {userId, calendarProvider}"))
            continue
        unknown = sorted(set(item) - _HOST_FIELDS)
        for key in unknown:
            problems.append(FieldError(f"{path}.{str(key)[:64]}", "is not a known field"))
        user_id = check_user_id(item.get("userId"), f"{path}.userId", problems)
        if user_id is None:
            continue
        try:
            encode_key(user_id, what="userId")
        except ValidationFailed:
            problems.append(FieldError(f"{path}.userId", "is not a usable user id"))
            continue
        if user_id in seen:
            problems.append(FieldError(f"{path}.userId", "is already a host of this link"))
            continue
        seen.add(user_id)
        try:
            provider = CalendarProvider(item.get("calendarProvider", CalendarProvider.MICROSOFT.value))
        except ValueError:
            problems.append(FieldError(f"{path}.calendarProvider", "must be 'microsoft', 'google' or 'none'"))
            continue
        hosts.append(LinkHost(user_id, provider, *_host_calendars(item, path, provider, problems)))
    return tuple(hosts)


def _host_calendars(
    item: Mapping[str, Any], path: str, provider: CalendarProvider, problems: list[FieldError]
) -> tuple[tuple[CalendarKey, ...] | None, CalendarKey | None]:
    """The shape of a host's own calendars (null or absent: the user's settings)."""
    raw_conflicts, raw_write = item.get("conflictCalendars"), item.get("writeCalendar")
    if not provider_for(provider).reads_calendars and (raw_conflicts is not None or raw_write is not None):
        problems.append(FieldError(path, "this host's calendarProvider reads no calendars"))
        return None, None
    conflicts: tuple[CalendarKey, ...] | None = None
    if raw_conflicts is not None:
        if not isinstance(raw_conflicts, list) or len(raw_conflicts) > MAX_CONFLICT_CALENDARS:
            problems.append(
                FieldError(
                    f"{path}.conflictCalendars", f"a list of at most {MAX_CONFLICT_CALENDARS} calendars"
                )
            )
        else:
            refs = [
                parse_calendar_ref(v, f"{path}.conflictCalendars[{i}]", problems)
                for i, v in enumerate(raw_conflicts)
            ]
            conflicts = tuple(dict.fromkeys(ref for ref in refs if ref is not None))
    write = None if raw_write is None else parse_calendar_ref(raw_write, f"{path}.writeCalendar", problems)
    return conflicts, write
