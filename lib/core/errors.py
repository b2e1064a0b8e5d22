"""Typed errors of Slotbridge. Every error a caller can see carries a stable problem `code` (the
list in openapi.yaml's Problem schema), an HTTP status and a human title; `functions/` turns them into
`application/problem+json` responses and nothing else does.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldError:
    """One invalid input field: a JSON-pointer-like path (`attendee.email`) and what is wrong."""

    field: str
    message: str


def unknown_parameters(given: Iterable[str], known: Collection[str]) -> list[FieldError]:
    """A query parameter a route does not take is refused, not ignored: a filter misspelt or not
    offered (`?type=`) would otherwise answer everything as if it had filtered."""
    return [FieldError(name[:64], "is not a known parameter") for name in sorted(set(given) - set(known))]


class SlotbridgeError(Exception):
    """Base of every error that reaches a caller as problem+json."""

    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        # Extra members of the problem document (RFC 9457 extensions), e.g. `adminConsentUrl`.
        self.extensions: dict[str, Any] = extensions


class ValidationFailed(SlotbridgeError):
    code = "validation_error"
    status = 400
    title = "The request is not valid"

    def __init__(self, detail: str, errors: list[FieldError] | None = None, **extensions: Any) -> None:
        super().__init__(detail, **extensions)
        self.errors: list[FieldError] = list(errors or [])
        if self.errors:
            self.extensions["errors"] = [{"field": e.field, "message": e.message} for e in self.errors]


class NotFound(SlotbridgeError):
    code = "not_found"
    status = 404
    title = "Not found"


class Unauthorized(SlotbridgeError):
    code = "unauthorized"
    status = 401
    title = "Not authorized"


class Conflict(SlotbridgeError):
    """A write lost against another writer or an existing record (HTTP 409)."""

    code = "conflict"
    status = 409
    title = "Conflict"


class ServiceUnavailable(SlotbridgeError):
    """A dependency (storage, key store) did not answer; the caller may retry."""

    code = "service_unavailable"
    status = 503
    title = "A dependency is unavailable"


class OutlookUnavailable(SlotbridgeError):
    """Microsoft Graph / Outlook did not answer usefully in time (unavailable, or throttled beyond
    the retry budget); the caller may retry later."""

    code = "outlook_unavailable"
    status = 503
    title = "Outlook is unavailable"


class BusyTimeTooLarge(OutlookUnavailable):
    """A host's calendars hold more busy intervals over the asked range than one answer may read
    (`lib.engine.busy_budget`). Readers stop at the cap and report it per calendar (availability
    degrades the host, saying a shorter range may answer); should it reach a caller it is the 503
    `outlook_unavailable` of any calendar that cannot be read, never a 500."""


class RateLimited(SlotbridgeError):
    """The caller sent too many requests; `retryAfter` (seconds) may be in the extensions."""

    code = "rate_limited"
    status = 429
    title = "Too many requests"


class NeedsReconnect(SlotbridgeError):
    """The Microsoft account's grant no longer works; the user must connect it again."""

    code = "needs_reconnect"
    status = 409
    title = "The Microsoft account needs to be reconnected"


class CalendarNotWritable(SlotbridgeError):
    """The calendar cannot be written to by this connection (read-only or shared without edit)."""

    code = "calendar_not_writable"
    status = 409
    title = "The calendar is not writable"


class WriteCalendarMissing(SlotbridgeError):
    """The host's calendar for bookings no longer exists in Outlook (deleted, or unshared)."""

    code = "write_calendar_missing"
    status = 409
    title = "The host's calendar for bookings is missing"


class SlotUnavailable(SlotbridgeError):
    """The asked time cannot be booked (taken, no longer offered, or outside the link's rules)."""

    code = "slot_unavailable"
    status = 409
    title = "The slot is not available"


class StartInPast(SlotbridgeError):
    """A meeting asked for a time that has already begun."""

    code = "start_in_past"
    status = 422
    title = "The time is in the past"


class IdempotencyKeyReused(SlotbridgeError):
    """An `Idempotency-Key` sent again with a different request body."""

    code = "idempotency_key_reused"
    status = 422
    title = "The Idempotency-Key was used for a different request"


class RequestInProgress(SlotbridgeError):
    """A request with the same `Idempotency-Key` is still being processed."""

    code = "request_in_progress"
    status = 409
    title = "The same request is in progress"


@dataclass
class Problem:
    """An RFC 9457 problem document, ready to serialise."""

    code: str
    status: int
    title: str
    detail: str
    extensions: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_error(cls, error: SlotbridgeError) -> Problem:
        return cls(error.code, error.status, error.title, error.detail, dict(error.extensions))

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://slotbridge.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        for key, value in self.extensions.items():
            body.setdefault(key, value)
        return body
