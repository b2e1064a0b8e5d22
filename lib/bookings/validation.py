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
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lib.errors import FieldError, ValidationFailed
from lib.timezones import parse_iana_zone

MAX_BODY_BYTES = 8 * 1024
MAX_NAME_LENGTH = 200
MAX_EMAIL_LENGTH = 254
MAX_NOTES_LENGTH = 2000
MAX_TOKEN_LENGTH = 200
MAX_IDEMPOTENCY_KEY_LENGTH = 255

# Deliberately plain: one @, a dotted domain, no spaces or angle brackets (no display-name forms).
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL = re.compile(rf"[^@\s<>()\[\],;:\"\\]+@{_LABEL}(?:\.{_LABEL})+")
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


def _has_control(text: str, *, allow_newlines: bool = False) -> bool:
    for ch in text:
        code = ord(ch)
        if allow_newlines and ch in "\n\r\t":
            continue
        if code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF:
            return True
    return False


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
    return parsed.astimezone(UTC)


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
        raw_name = raw_attendee.get("name")
        if (
            not isinstance(raw_name, str)
            or not raw_name.strip()
            or len(raw_name) > MAX_NAME_LENGTH
            or _has_control(raw_name)
        ):
            problems.append(
                FieldError("attendee.name", f"a name of 1-{MAX_NAME_LENGTH} characters on one line")
            )
        else:
            name = " ".join(raw_name.split())
        raw_email = raw_attendee.get("email")
        if (
            not isinstance(raw_email, str)
            or len(raw_email) > MAX_EMAIL_LENGTH
            or _EMAIL.fullmatch(raw_email.strip()) is None
        ):
            problems.append(FieldError("attendee.email", "a valid e-mail address"))
        else:
            email = raw_email.strip()

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

    notes = data.get("notes", "")
    if notes is None:
        notes = ""
    if (
        not isinstance(notes, str)
        or len(notes) > MAX_NOTES_LENGTH
        or _has_control(notes, allow_newlines=True)
    ):
        problems.append(FieldError("notes", f"text of at most {MAX_NOTES_LENGTH} characters"))
        notes = ""
    if problems or start is None:
        raise ValidationFailed("The booking request is not valid.", problems)
    return BookingRequest(start, Attendee(name, email), zone, notes.strip())


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
    if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_NOTES_LENGTH):
        problems.append(FieldError("reason", f"text of at most {MAX_NOTES_LENGTH} characters"))
    if problems:
        raise ValidationFailed("The cancel request is not valid.", problems)


def manage_token_from(headers: Mapping[str, str], body: Mapping[str, Any]) -> str | None:
    """The manage token: `Authorization: Bearer <token>`, else the body's `token`."""
    auth = headers.get("Authorization") or headers.get("authorization") or ""
    if auth[:7].lower() == "bearer ":
        token: Any = auth[7:].strip()
    else:
        token = body.get("token")
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
