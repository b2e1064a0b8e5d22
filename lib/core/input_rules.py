"""The one rule for what untrusted input may carry into storage, Graph or date arithmetic.

Text: every text Slotbridge stores or sends on (link fields, attendee name and e-mail, notes, cancel
reasons, user ids, calendar ids, return URLs) is valid Unicode scalar values - no lone surrogates,
which JSON escapes (`"\\udfff"`) can carry but UTF-8 cannot - and has no C0/C1 control characters
except those a field documents (notes keep line breaks and tabs). E-mail addresses are checked by
`email-validator` (syntax only: no DNS is ever contacted; see `check_email`).

Dates: every date and date-time input (a booking's or reschedule's start, the availability query's
days, a link's date overrides) lies within `EARLIEST_DAY` .. `LATEST_DAY`, as written. Far enough from
`date`'s own limits (years 1 and 9999) that no later arithmetic - durations, buffers, horizon,
local-day windows, time-zone conversion - can overflow.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from lib.core.errors import FieldError

EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2100, 12, 31)
DATE_RANGE = f"between {EARLIEST_DAY} and {LATEST_DAY}"

LINE_BREAKS_AND_TABS = "\n\r\t"


def text_fault(text: str, *, keep: str = "") -> str | None:
    """Why `text` may not be stored (a short phrase), or None when it may."""
    for ch in text:
        code = ord(ch)
        if 0xD800 <= code <= 0xDFFF:
            return "is not valid Unicode (a lone surrogate)"
        if (code < 0x20 or 0x7F <= code <= 0x9F) and ch not in keep:
            return "must not contain control characters"
    return None


def check_text(
    value: Any,
    field: str,
    problems: list[FieldError],
    *,
    max_length: int,
    describe: str,
    keep: str = "",
    allow_blank: bool = False,
) -> str | None:
    """`value` when it is a string of at most `max_length` characters (not blank unless
    `allow_blank`) under the text rule; else None, with a FieldError saying `describe` (or why)."""
    if not isinstance(value, str) or len(value) > max_length or (not allow_blank and not value.strip()):
        problems.append(FieldError(field, describe))
        return None
    fault = text_fault(value, keep=keep)
    if fault is not None:
        problems.append(FieldError(field, fault))
        return None
    return value


def check_flag(value: Any, field: str, problems: list[FieldError]) -> bool | None:
    """`value` when it is JSON true or false (never a string or number that looks like one); else
    None, with a FieldError."""
    if not isinstance(value, bool):
        problems.append(FieldError(field, "must be true or false"))
        return None
    return value


def check_email(value: Any, field: str, problems: list[FieldError], *, max_length: int = 254) -> str | None:
    """A single e-mail address (no display name, quoted local part or IP literal; a dotted domain),
    or None. Kept in email-validator's normalised form: NFC, the domain lower-cased and in Unicode
    (`xn--` labels decoded). Internationalised addresses are accepted: Exchange Online, which sends
    the invitation, delivers to them (EAI/SMTPUTF8); the log redaction covers them."""
    address = check_text(value, field, problems, max_length=max_length, describe="a valid e-mail address")
    if address is None:
        return None
    # Imported here: only the booking routes need it, not a cold start.
    import email_validator
    from email_validator import EmailNotValidError, validate_email

    # Special-use names (.local, .test, .invalid, ...) are real internal domains of organisations,
    # and Exchange, not Slotbridge, delivers: accept them. Emptying this list is the library's
    # documented switch (`globally_deliverable=False` does not lift it, and drops the dot rule).
    email_validator.SPECIAL_USE_DOMAIN_NAMES.clear()
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        problems.append(FieldError(field, "a valid e-mail address"))
        return None


def day_in_range(day: date, field: str, problems: list[FieldError]) -> bool:
    if EARLIEST_DAY <= day <= LATEST_DAY:
        return True
    problems.append(FieldError(field, f"must be {DATE_RANGE}"))
    return False


def instant_in_range(instant: datetime, field: str, problems: list[FieldError]) -> bool:
    """Checked on the date as written (before any conversion, which could overflow itself)."""
    return day_in_range(instant.date(), field, problems)


MAX_USER_ID_LENGTH = 256


def check_user_id(value: Any, field: str = "userId", problems: list[FieldError] | None = None) -> str | None:
    """A product user id (a path segment, a link's host, a user token's `sub`): 1-256 characters
    under the text rule."""
    return check_text(
        value,
        field,
        problems if problems is not None else [],
        max_length=MAX_USER_ID_LENGTH,
        describe=f"a user id of 1-{MAX_USER_ID_LENGTH} characters",
    )
