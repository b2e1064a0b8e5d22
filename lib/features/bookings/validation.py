"""The public booking request bodies, parsed and bounded. Pure: no I/O.

`POST /links/{slug}/bookings`:
    {"start": "2026-06-15T10:00:00Z" | "2026-06-15T12:00:00+02:00",
     "attendee": {"name": "Ada Lovelace", "email": "ada@example.com"},
     "timezone": "Europe/Berlin",      (optional; the attendee's zone, for the answer)
     "notes": "..."}                    (optional)
`POST /links/{slug}/meetings` (the product or the host books a time of its choosing):
    {"hostUserId": "u-1",                (required when the link has several hosts)
     "start": ..., "durationMinutes": 45, (optional; default the link's)
     "attendees": [{"name", "email"}, ...], (1..MAX_ATTENDEES, distinct e-mails)
     "teamsMeeting": true, "subject": "...", "body": "...", "timezone": "...",
     "outsideOfferedSlots": false, "skipLiveCheck": false}
`POST /bookings/{id}/reschedule`: {"start": ..., "reason"?: ..., "token"?: ...}; `.../cancel`:
{"reason"?: ..., "token"?: ...}; `.../no-show`: {"noShow": true | false}.
The manage token may also come as `Authorization: Bearer <token>`.
`GET /bookings?hostUserId=&linkSlug=&status=&from=&to=&cursor=&limit=`: `parse_list_query`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lib.adapters.storage.cursors import MAX_CURSOR_CHARS
from lib.core.errors import FieldError, ValidationFailed, unknown_parameters
from lib.core.input_rules import (
    LINE_BREAKS_AND_TABS,
    check_email,
    check_flag,
    check_text,
    check_user_id,
    instant_in_range,
    text_fault,
)
from lib.core.timezones import parse_iana_zone
from lib.engine.link_rules import MIN_DURATION_MINUTES, MINUTES_PER_DAY
from lib.features.bookings.records import BookingStatus
from lib.features.links.config import SLUG_PATTERN
from lib.providers.base import MAX_SUBJECT_LENGTH

# The statuses a listed booking can have (pending and failed ones were never made).
LISTED_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.CANCELLED, BookingStatus.CANCELLED_IN_OUTLOOK)

MAX_BODY_BYTES = 8 * 1024
MAX_NAME_LENGTH = 200
MAX_EMAIL_LENGTH = 254
MAX_NOTES_LENGTH = 2000
MAX_TOKEN_LENGTH = 200
MAX_IDEMPOTENCY_KEY_LENGTH = 255
# A meeting's body: up to MAX_ATTENDEES names and addresses and its own text.
MAX_MEETING_BODY_BYTES = 32 * 1024
MAX_ATTENDEES = 20
MAX_MEETING_TEXT_LENGTH = 4000

_CREATE_FIELDS = frozenset({"start", "attendee", "timezone", "notes"})
_ATTENDEE_FIELDS = frozenset({"name", "email"})
_MEETING_FIELDS = frozenset(
    {
        "hostUserId",
        "start",
        "durationMinutes",
        "attendees",
        "teamsMeeting",
        "subject",
        "body",
        "timezone",
        "outsideOfferedSlots",
        "skipLiveCheck",
    }
)


@dataclass(frozen=True)
class Attendee:
    name: str
    email: str


@dataclass(frozen=True)
class BookingRequest:
    """What a booking asks for. An attendee's booking names only the first four; a meeting the
    product or a host schedules may set the rest (None: as the link says)."""

    start_utc: datetime
    attendee: Attendee
    time_zone: str | None
    notes: str
    guests: tuple[Attendee, ...] = ()  # invited besides `attendee`
    host_user_id: str | None = None  # None: the link chooses (round robin)
    duration_minutes: int | None = None
    teams: bool | None = None
    subject: str | None = None  # replaces the link's subject template
    body: str | None = None  # replaces the event's text (the manage link and notes)
    outside_offered_slots: bool = False  # any future time, not only the link's slots
    skip_live_check: bool = False  # do not re-read the host's calendars before booking
    created_by: str = "attendee"  # who asks: "attendee" (a booking page), "host" or "product"


@dataclass(frozen=True)
class RescheduleRequest:
    start: datetime
    reason: str | None = None


def parse_start(
    value: Any, problems: list[FieldError], field: str = "start", *, whole_minutes: bool = True
) -> datetime | None:
    """An ISO 8601 date-time WITH an offset (or Z), as UTC; whole minutes only (a slot's start)
    unless `whole_minutes` is False."""
    if not isinstance(value, str) or not 16 <= len(value) <= 40:
        problems.append(FieldError(field, "an ISO 8601 date-time with an offset, e.g. 2026-06-15T10:00:00Z"))
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        problems.append(FieldError(field, "an ISO 8601 date-time with an offset, e.g. 2026-06-15T10:00:00Z"))
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        problems.append(FieldError(field, "needs an offset or Z (a time without one is ambiguous)"))
        return None
    if whole_minutes and (parsed.second or parsed.microsecond):
        problems.append(FieldError(field, "slots start on whole minutes"))
        return None
    if not instant_in_range(parsed, field, problems):
        return None
    return parsed.astimezone(UTC)


def check_free_text(value: Any, field: str, problems: list[FieldError]) -> str | None:
    """The rule for an attendee's free text (notes, a cancel reason): may be blank, keeps line breaks
    and tabs, at most MAX_NOTES_LENGTH characters."""
    return check_text(
        value,
        field,
        problems,
        max_length=MAX_NOTES_LENGTH,
        describe=f"text of at most {MAX_NOTES_LENGTH} characters",
        keep=LINE_BREAKS_AND_TABS,
        allow_blank=True,
    )


def parse_booking_request(data: Mapping[str, Any]) -> BookingRequest:
    problems: list[FieldError] = []
    for key in sorted(set(data) - _CREATE_FIELDS):
        problems.append(FieldError(str(key)[:64], "is not a known field"))
    start = parse_start(data.get("start"), problems)

    attendee = parse_attendee(data.get("attendee"), "attendee", problems)
    zone = _parse_zone(data.get("timezone"), problems)
    raw_notes = data.get("notes")
    notes = check_free_text("" if raw_notes is None else raw_notes, "notes", problems)
    if problems or start is None:
        raise ValidationFailed("The booking request is not valid.", problems)
    return BookingRequest(start, attendee, zone, (notes or "").strip())


def parse_attendee(raw: Any, field: str, problems: list[FieldError]) -> Attendee:
    """`{name, email}`: a name on one line (inner spaces collapsed) and one e-mail address."""
    if not isinstance(raw, Mapping):
        problems.append(FieldError(field, "an object {name, email}"))
        return Attendee("", "")
    for key in sorted(set(raw) - _ATTENDEE_FIELDS):
        problems.append(FieldError(f"{field}.{str(key)[:64]}", "is not a known field"))
    raw_name = check_text(
        raw.get("name"),
        f"{field}.name",
        problems,
        max_length=MAX_NAME_LENGTH,
        describe=f"a name of 1-{MAX_NAME_LENGTH} characters on one line",
    )
    name = " ".join(raw_name.split()) if raw_name is not None else ""
    email = check_email(raw.get("email"), f"{field}.email", problems, max_length=MAX_EMAIL_LENGTH) or ""
    return Attendee(name, email)


def _parse_zone(zone: Any, problems: list[FieldError]) -> str | None:
    """The attendee's IANA zone (for the answer's times), or None."""
    if zone is None:
        return None
    if not isinstance(zone, str):
        problems.append(FieldError("timezone", "an IANA time zone such as 'Europe/Berlin'"))
        return None
    try:
        parse_iana_zone(zone, field="timezone")
    except ValidationFailed as invalid:
        problems += invalid.errors or [FieldError("timezone", "an IANA time zone")]
        return None
    return zone


def _flag(data: Mapping[str, Any], field: str, problems: list[FieldError]) -> bool | None:
    """An optional flag: None when absent or null (as the link says)."""
    value = data.get(field)
    return None if value is None else check_flag(value, field, problems)


def parse_meeting_request(data: Mapping[str, Any]) -> BookingRequest:
    """A meeting's body (see the module's docstring); who asks (`created_by`) and whether the
    host is one of the link's are the use case's to decide."""
    problems: list[FieldError] = []
    for key in sorted(set(data) - _MEETING_FIELDS):
        problems.append(FieldError(str(key)[:64], "is not a known field"))
    host = data.get("hostUserId")
    if host is not None:
        host = check_user_id(host, "hostUserId", problems)
    start = parse_start(data.get("start"), problems)
    duration = data.get("durationMinutes")
    if duration is not None and (
        not isinstance(duration, int)
        or isinstance(duration, bool)
        or not MIN_DURATION_MINUTES <= duration <= MINUTES_PER_DAY
    ):
        problems.append(
            FieldError("durationMinutes", f"whole minutes, {MIN_DURATION_MINUTES}-{MINUTES_PER_DAY}")
        )
        duration = None

    attendees: list[Attendee] = []
    raw_attendees = data.get("attendees")
    if not isinstance(raw_attendees, list) or not 1 <= len(raw_attendees) <= MAX_ATTENDEES:
        problems.append(FieldError("attendees", f"a list of 1-{MAX_ATTENDEES} objects {{name, email}}"))
    else:
        seen: set[str] = set()
        for index, raw in enumerate(raw_attendees):
            attendee = parse_attendee(raw, f"attendees[{index}]", problems)
            if attendee.email and attendee.email.casefold() in seen:
                problems.append(FieldError(f"attendees[{index}].email", "is already an attendee"))
            seen.add(attendee.email.casefold())
            attendees.append(attendee)

    subject = data.get("subject")
    if subject is not None:
        subject = check_text(
            subject,
            "subject",
            problems,
            max_length=MAX_SUBJECT_LENGTH,
            describe=f"a subject of 1-{MAX_SUBJECT_LENGTH} characters on one line",
        )
    body = data.get("body")
    if body is not None:
        body = check_text(
            body,
            "body",
            problems,
            max_length=MAX_MEETING_TEXT_LENGTH,
            describe=f"text of at most {MAX_MEETING_TEXT_LENGTH} characters",
            keep=LINE_BREAKS_AND_TABS,
            allow_blank=True,
        )
    teams = _flag(data, "teamsMeeting", problems)
    outside = _flag(data, "outsideOfferedSlots", problems)
    skip = _flag(data, "skipLiveCheck", problems)
    zone = _parse_zone(data.get("timezone"), problems)
    if problems or start is None:
        raise ValidationFailed("The meeting request is not valid.", problems)
    return BookingRequest(
        start,
        attendees[0],
        zone,
        "",
        guests=tuple(attendees[1:]),
        host_user_id=host,
        duration_minutes=duration,
        teams=teams,
        subject=" ".join(subject.split()) if subject is not None else None,
        body=body,
        outside_offered_slots=bool(outside),
        skip_live_check=bool(skip),
    )


def _reason(data: Mapping[str, Any], problems: list[FieldError]) -> str | None:
    """A change's optional `reason` (the free-text rule; null or blank is none)."""
    reason = data.get("reason")
    if reason is None:
        return None
    checked = check_free_text(reason, "reason", problems)
    return checked.strip() or None if checked is not None else None


def parse_reschedule(data: Mapping[str, Any]) -> RescheduleRequest:
    problems: list[FieldError] = []
    for key in sorted(set(data) - {"start", "reason", "token"}):
        problems.append(FieldError(str(key)[:64], "is not a known field"))
    start = parse_start(data.get("start"), problems)
    reason = _reason(data, problems)
    if problems or start is None:
        raise ValidationFailed("The reschedule request is not valid.", problems)
    return RescheduleRequest(start, reason)


def check_cancel_body(data: Mapping[str, Any]) -> str | None:
    """The cancel body's reason (None: none given)."""
    problems = [
        FieldError(str(k)[:64], "is not a known field") for k in sorted(set(data) - {"token", "reason"})
    ]
    reason = _reason(data, problems)
    if problems:
        raise ValidationFailed("The cancel request is not valid.", problems)
    return reason


def parse_reschedule_start(data: Mapping[str, Any]) -> datetime:
    return parse_reschedule(data).start


DEFAULT_LIST_LIMIT = 50
MAX_LIST_LIMIT = 100
_LIST_PARAMS = frozenset({"hostUserId", "linkSlug", "status", "from", "to", "cursor", "limit"})


@dataclass(frozen=True)
class ListQuery:
    """What `GET /bookings` asks: a host (None: every host - the product only), a link, a status,
    bookings starting in [start_from, start_to), at most `limit` a page."""

    host_user_id: str | None
    slug: str | None
    status: BookingStatus | None
    start_from: datetime | None
    start_to: datetime | None
    limit: int = DEFAULT_LIST_LIMIT


def parse_list_query(params: Mapping[str, str]) -> tuple[ListQuery, str | None]:
    """The query and its `cursor` (opaque here; `host_index` opens it)."""
    problems = unknown_parameters(params, _LIST_PARAMS)
    host = params.get("hostUserId") or None
    if host is not None:
        host = check_user_id(host, "hostUserId", problems)
    slug = params.get("linkSlug") or None
    if slug is not None and (not slug.isascii() or SLUG_PATTERN.fullmatch(slug) is None):
        problems.append(
            FieldError("linkSlug", "a link's slug: 1-64 lowercase letters, digits and inner hyphens")
        )
        slug = None
    status: BookingStatus | None = None
    raw_status = params.get("status") or None
    if raw_status is not None:
        if raw_status not in LISTED_STATUSES:
            problems.append(FieldError("status", f"one of {', '.join(LISTED_STATUSES)}"))
        else:
            status = BookingStatus(raw_status)
    bounds = [
        parse_start(params[name], problems, name, whole_minutes=False) if params.get(name) else None
        for name in ("from", "to")
    ]
    if bounds[0] is not None and bounds[1] is not None and bounds[0] > bounds[1]:
        problems.append(FieldError("to", "must not be before from"))
    limit = DEFAULT_LIST_LIMIT
    raw_limit = params.get("limit")
    if raw_limit is not None:
        if not (raw_limit.isascii() and raw_limit.isdigit() and 1 <= int(raw_limit[:4]) <= MAX_LIST_LIMIT):
            problems.append(FieldError("limit", f"a whole number from 1 to {MAX_LIST_LIMIT}"))
        else:
            limit = int(raw_limit)
    cursor = params.get("cursor") or None
    if cursor is not None and (len(cursor) > MAX_CURSOR_CHARS or text_fault(cursor) is not None):
        problems.append(FieldError("cursor", "the nextCursor of a previous page"))
    if problems:
        raise ValidationFailed("The bookings query is not valid.", problems)
    return ListQuery(host, slug, status, bounds[0], bounds[1], limit), cursor


def parse_no_show(data: Mapping[str, Any]) -> bool:
    problems = [FieldError(str(k)[:64], "is not a known field") for k in sorted(set(data) - {"noShow"})]
    value = check_flag(data.get("noShow"), "noShow", problems)
    if problems or value is None:
        raise ValidationFailed("The no-show request is not valid.", problems)
    return value


def manage_token_from(headers: Mapping[str, str], body: Mapping[str, Any]) -> str | None:
    """The manage token: `Authorization: Bearer <token>`, else the body's `token`."""
    auth = headers.get("Authorization") or headers.get("authorization") or ""
    if auth[:7].lower() == "bearer ":
        token: Any = auth[7:].strip()
    else:
        token = body.get("token")
    if isinstance(body.get("token"), str) and text_fault(body["token"]) is not None:
        # Checked even when the header carries the token: no request passes with unusable text in it.
        raise ValidationFailed("The manage token is not valid.", [FieldError("token", "printable text only")])
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return token


def parse_idempotency_key(value: str | None) -> str | None:
    """The `Idempotency-Key` header: 1-255 printable ASCII characters (None when absent)."""
    if value is None:
        return None
    if not 1 <= len(value) <= MAX_IDEMPOTENCY_KEY_LENGTH or not all(0x20 < ord(ch) < 0x7F for ch in value):
        raise ValidationFailed(
            "The Idempotency-Key header is not valid.",
            [FieldError("Idempotency-Key", f"1-{MAX_IDEMPOTENCY_KEY_LENGTH} printable characters")],
        )
    return value


def body_fingerprint(data: Mapping[str, Any]) -> str:
    """SHA-256 of the body's canonical JSON: the same request however it is spaced or ordered."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()
