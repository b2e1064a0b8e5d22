"""A link's event content: the subject and body templates and the product URL, checked when the link
is saved and rendered (one renderer for all three) when a booking's event is written or moved.

A template is plain text with placeholders in braces, `{attendeeName}`; `{{` and `}}` are a literal
brace. Any other brace, or a name not in `PLACEHOLDERS`, is refused when the link is saved, so a
template that was stored always renders. Values are inserted as they are (plain text: the event body
is sent as text, never HTML). The product URL (e.g. a meeting-prep page) is a template too, whose
only placeholder is `{bookingId}`, so each booking gets its own link.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from lib.core.errors import FieldError
from lib.core.input_rules import LINE_BREAKS_AND_TABS, check_text
from lib.core.timezones import parse_iana_zone
from lib.features.connections.return_urls import origin_of
from lib.providers.base import MAX_SUBJECT_LENGTH

MAX_SUBJECT_TEMPLATE_LENGTH = 255
MAX_BODY_TEMPLATE_LENGTH = 4000
MAX_PRODUCT_URL_LENGTH = 2000
DEFAULT_SUBJECT_TEMPLATE = "{title} with {attendeeName}"
_DEFAULT_BODY_LEAD = "{title} - booked through Slotbridge."
DEFAULT_BODY_TEMPLATE = _DEFAULT_BODY_LEAD + "\n\nReschedule or cancel: {manageUrl}"

PLACEHOLDERS = (
    "title",
    "attendeeName",
    "attendeeEmail",
    "start",
    "end",
    "timeZone",
    "attendeeStart",
    "attendeeEnd",
    "attendeeTimeZone",
    "manageUrl",
    "productUrl",
    "bookingId",
    "notes",
)
PRODUCT_URL_PLACEHOLDERS = ("bookingId",)
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,39}")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

Part = str | tuple[str]  # literal text, or (placeholder name,)


class TemplateFault(ValueError):
    """What is wrong with a template, in words for a FieldError."""


def parse(template: str, allowed: tuple[str, ...] = PLACEHOLDERS, *, strict: bool = True) -> list[Part]:
    """The template's literal texts and placeholders; `TemplateFault` on an unbalanced brace or a
    name not in `allowed` - or, not `strict` (a template stored under older rules), those kept as
    literal text."""
    parts: list[Part] = []
    at = 0
    for match in _TOKEN.finditer(template):
        if match.start() > at:
            parts.append(template[at : match.start()])
        at = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            parts.append(token[0])
        elif not strict and (len(token) == 1 or match.group(1) not in allowed):
            parts.append(token)
        elif len(token) == 1:
            raise TemplateFault("has an unbalanced brace (write {{ or }} for a literal one)")
        else:
            name = match.group(1)
            if name not in allowed:
                shown = f"{{{name}}}" if _NAME.fullmatch(name) else "a placeholder"
                raise TemplateFault(
                    f"{shown} is not known; placeholders are " + ", ".join(f"{{{n}}}" for n in allowed)
                )
            parts.append((name,))
    if at < len(template):
        parts.append(template[at:])
    return parts


def render(template: str, values: Mapping[str, str], allowed: tuple[str, ...] = PLACEHOLDERS) -> str:
    """The template with its placeholders filled in. Not strict: what was stored is rendered as
    well as it can be, never refused at booking time."""
    parts = parse(template, allowed, strict=False)
    return "".join(part if isinstance(part, str) else values[part[0]] for part in parts)


def uses(template: str, name: str) -> bool:
    return (name,) in parse(template, strict=False)


def check_template(
    data: Mapping[str, Any],
    field: str,
    default: str,
    max_length: int,
    problems: list[FieldError],
    *,
    multiline: bool = False,
    has_product_url: bool = False,
    manage_url: bool = True,
) -> str:
    """The field's template (blank or absent: `default`), or `default` with a FieldError naming it.
    Not `manage_url`: `{manageUrl}` is refused (a subject is seen by more than the attendee)."""
    value = data.get(field)
    if value is None:
        return default
    text = check_text(
        value,
        field,
        problems,
        max_length=max_length,
        describe=f"text of at most {max_length} characters" + ("" if multiline else " on one line"),
        keep=LINE_BREAKS_AND_TABS if multiline else "",
        allow_blank=True,
    )
    if text is None:
        return default
    text = text.strip() or default
    try:
        parts = parse(text)
        if ("productUrl",) in parts and not has_product_url:
            raise TemplateFault("uses {productUrl}, but the link has no productUrl")
        if ("manageUrl",) in parts and not manage_url:
            raise TemplateFault(
                "must not use {manageUrl}: event titles are seen by more than the attendee "
                "(apps that read free/busy and titles, people who share the calendar)"
            )
    except TemplateFault as fault:
        problems.append(FieldError(field, str(fault)))
        return default
    return text


def check_product_url(value: Any, field: str, problems: list[FieldError]) -> str | None:
    """An https URL (http on loopback, for local development) whose only placeholder is
    `{bookingId}`; None when absent."""
    if value is None:
        return None
    text = check_text(
        value,
        field,
        problems,
        max_length=MAX_PRODUCT_URL_LENGTH,
        describe=f"an https URL of at most {MAX_PRODUCT_URL_LENGTH} characters",
    )
    if text is None:
        return None
    try:
        parse(text, PRODUCT_URL_PLACEHOLDERS)
    except TemplateFault as fault:
        problems.append(FieldError(field, str(fault)))
        return None
    sample = render(text, {"bookingId": "00000000-0000-0000-0000-000000000000"}, PRODUCT_URL_PLACEHOLDERS)
    parts = urlsplit(sample) if origin_of(sample) is not None else None
    loopback = parts is not None and parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts is None or not (parts.scheme == "https" or loopback):
        problems.append(FieldError(field, "must be an absolute https:// URL (http:// only on loopback)"))
        return None
    return text


def readable_time(instant: datetime, time_zone: str) -> str:
    """`Monday 15 June 2026, 10:00` in the zone (English names, whatever the machine's locale)."""
    local = instant.astimezone(parse_iana_zone(time_zone))
    return f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} {local.year}, {local:%H:%M}"


@dataclass(frozen=True)
class EventTemplates:
    """A link's event content as stored: what `render_event_text` renders."""

    subject: str = DEFAULT_SUBJECT_TEMPLATE
    body: str = DEFAULT_BODY_TEMPLATE
    product_url: str | None = None


@dataclass(frozen=True)
class BookingFacts:
    """What a booking's event text may say."""

    booking_id: str
    title: str
    attendee_name: str
    attendee_email: str
    start_utc: datetime
    end_utc: datetime
    time_zone: str  # the link's
    attendee_time_zone: str | None
    manage_url: str  # "" when the event must not carry it (a booking with guests)
    notes: str

    def values(self, product_url: str | None) -> dict[str, str]:
        attendee_zone = self.attendee_time_zone or self.time_zone
        return {
            "title": self.title,
            "attendeeName": self.attendee_name,
            "attendeeEmail": self.attendee_email,
            "start": readable_time(self.start_utc, self.time_zone),
            "end": readable_time(self.end_utc, self.time_zone),
            "timeZone": self.time_zone,
            "attendeeStart": readable_time(self.start_utc, attendee_zone),
            "attendeeEnd": readable_time(self.end_utc, attendee_zone),
            "attendeeTimeZone": attendee_zone,
            "manageUrl": self.manage_url,
            "productUrl": (
                ""
                if product_url is None
                else render(
                    product_url, {"bookingId": quote(self.booking_id, safe="")}, PRODUCT_URL_PLACEHOLDERS
                )
            ),
            "bookingId": self.booking_id,
            "notes": self.notes,
        }


def render_event_text(templates: EventTemplates, facts: BookingFacts) -> tuple[str, str]:
    """The event's subject (one line, at most MAX_SUBJECT_LENGTH characters; `{manageUrl}` empty)
    and body. The attendee's notes follow the body when its template does not place `{notes}`:
    the host always sees them."""
    values = facts.values(templates.product_url)
    # Never in a subject, even one stored before that was refused: titles are widely seen.
    subject_values = {**values, "manageUrl": ""}
    subject = " ".join(render(templates.subject, subject_values).split())[:MAX_SUBJECT_LENGTH]
    body_template = templates.body
    if not facts.manage_url and body_template == DEFAULT_BODY_TEMPLATE:
        body_template = _DEFAULT_BODY_LEAD  # no manage line with nothing to link to
    body = render(body_template, values)
    if facts.notes and not uses(templates.body, "notes"):
        body += f"\n\nNotes from the attendee:\n{facts.notes}"
    return subject, body
