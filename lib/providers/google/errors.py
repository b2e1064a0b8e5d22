"""Google's API errors as typed failures. Google answers `{"error": {"code", "message", "errors":
[{"domain", "reason"}], "status"}}`; the `reason` of the first item decides (rateLimitExceeded,
duplicate, fullSyncRequired, notFound, deleted, forbidden ...), then the HTTP status. Every one of
them is `google_unavailable` to a caller unless the provider maps it to a seam failure."""

from __future__ import annotations

from typing import Any

from lib.core.errors import SlotbridgeError

# 403s that mean "slow down", not "no": Google's usage limits (retried like a 429).
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"})


class GoogleApiError(SlotbridgeError):
    """Google Calendar did not do what was asked. `http_status` and `reason` are Google's (for
    logs and mapping; never its message, which may quote calendar content)."""

    code = "google_unavailable"
    status = 503
    title = "Google Calendar is unavailable"

    def __init__(
        self, detail: str, *, http_status: int = 0, reason: str = "", maybe_applied: bool = False
    ) -> None:
        super().__init__(detail)
        self.http_status = http_status
        self.reason = reason
        self.maybe_applied = maybe_applied


class GoogleUnavailable(GoogleApiError):
    """Unavailable, throttled past the retry budget, or unanswered in time."""


class GoogleNotFound(GoogleApiError):
    """404: no such calendar or event (for this account)."""


class GoogleGone(GoogleApiError):
    """410: an event deleted, or (`fullSyncRequired`) a syncToken Google no longer knows."""


class GoogleForbidden(GoogleApiError):
    """403 other than a usage limit: the account may not do this (a read-only calendar, a scope
    not granted)."""


class GoogleDuplicate(GoogleApiError):
    """409: an event with this id exists already (an insert sent again)."""


class GooglePreconditionFailed(GoogleApiError):
    """412: the event changed since the ETag sent with If-Match."""


_BY_STATUS: dict[int, type[GoogleApiError]] = {
    404: GoogleNotFound,
    410: GoogleGone,
    403: GoogleForbidden,
    409: GoogleDuplicate,
    412: GooglePreconditionFailed,
}


def error_reason(body: Any) -> str:
    """The first `errors[].reason` of Google's error body ("" when there is none)."""
    error = body.get("error") if isinstance(body, dict) else None
    items = error.get("errors") if isinstance(error, dict) else None
    if isinstance(items, list) and items and isinstance(items[0], dict):
        return str(items[0].get("reason") or "")
    return ""


def is_rate_limited(status: int, reason: str) -> bool:
    return status == 429 or (status == 403 and reason in RATE_LIMIT_REASONS)


def api_error(status: int, reason: str, what: str) -> GoogleApiError:
    """The typed error of a non-retried answer (`what`: the call, for the detail)."""
    kind = _BY_STATUS.get(status, GoogleUnavailable)
    if is_rate_limited(status, reason):
        kind = GoogleUnavailable
    return kind(
        f"Google Calendar answered {status} {reason or ''} to {what}.".replace("  ", " "),
        http_status=status,
        reason=reason,
    )
