"""The public booking request bodies, parsed and bounded. Pure: no I/O.

`POST /links/{slug}/bookings`:
    {"start": "2026-06-15T10:00:00Z" | "2026-06-15T12:00:00+02:00",
     "attendee": {"name": "Ada Lovelace", "email": "ada@example.com"},
     "timezone": "Europe/Berlin",      (optional; the attendee's zone, for the answer)
     "notes": "..."}                    (optional)
`POST /bookings/{id}/reschedule`: {"start": ..., "token"?: ...}; `.../cancel`: {"token"?: ...}.
The manage token may also come as `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lib.core.errors import FieldError, ValidationFailed
from lib.core.input_rules import LINE_BREAKS_AND_TABS, check_email, check_text, instant_in_range, text_fault
from lib.core.timezones import parse_iana_zone

MAX_BODY_BYTES = 8 * 1024
MAX_NAME_LENGTH = 200
MAX_EMAIL_LENGTH = 254
MAX_NOTES_LENGTH = 2000
MAX_TOKEN_LENGTH = 200
MAX_IDEMPOTENCY_KEY_LENGTH = 255

_CREATE_FIELDS = frozenset({"start", "attendee", "timezone", "notes"})
_ATTENDEE_FIELDS = frozenset({"name", "email"})


@dataclass(frozen=True)
class Attendee:
    name: str
    email: str


@dataclass(frozen=True)
class BookingRequest:
    start_utc: datetime
    attendee: Attendee
    time_zone: str | None
    notes: str


def parse_start(value: Any, problems: list[FieldError], field: str = "start") -> datetime | None:
    """An ISO 8601 date-time WITH an offset (or Z), as UTC; whole minutes only."""
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
    if parsed.second or parsed.microsecond:
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

    name = email = ""
    raw_attendee = data.get("attendee")
    if not isinstance(raw_attendee, Mapping):
        problems.append(FieldError("attendee", "an object {name, email}"))
    else:
        for key in sorted(set(raw_attendee) - _ATTENDEE_FIELDS):
            problems.append(FieldError(f"attendee.{str(key)[:64]}", "is not a known field"))
        raw_name = check_text(
            raw_attendee.get("name"),
            "attendee.name",
            problems,
            max_length=MAX_NAME_LENGTH,
            describe=f"a name of 1-{MAX_NAME_LENGTH} characters on one line",
        )
        name = " ".join(raw_name.split()) if raw_name is not None else ""
        email = (
            check_email(raw_attendee.get("email"), "attendee.email", problems, max_length=MAX_EMAIL_LENGTH)
            or ""
        )

    zone = data.get("timezone")
    if zone is not None:
        if not isinstance(zone, str):
            problems.append(FieldError("timezone", "an IANA time zone such as 'Europe/Berlin'"))
            zone = None
        else:
            try:
                parse_iana_zone(zone, field="timezone")
            except ValidationFailed as invalid:
                problems += invalid.errors or [FieldError("timezone", "an IANA time zone")]
                zone = None

    raw_notes = data.get("notes")
    notes = check_free_text("" if raw_notes is None else raw_notes, "notes", problems)
    if problems or start is None:
        raise ValidationFailed("The booking request is not valid.", problems)
    return BookingRequest(start, Attendee(name, email), zone, (notes or "").strip())


def parse_reschedule_start(data: Mapping[str, Any]) -> datetime:
    problems: list[FieldError] = []
    for key in sorted(set(data) - {"start", "token"}):
        problems.append(FieldError(str(key)[:64], "is not a known field"))
    start = parse_start(data.get("start"), problems)
    if problems or start is None:
        raise ValidationFailed("The reschedule request is not valid.", problems)
    return start


def check_cancel_body(data: Mapping[str, Any]) -> None:
    problems = [
        FieldError(str(k)[:64], "is not a known field") for k in sorted(set(data) - {"token", "reason"})
    ]
    reason = data.get("reason")
    if reason is not None:
        check_free_text(reason, "reason", problems)
    if problems:
        raise ValidationFailed("The cancel request is not valid.", problems)


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
