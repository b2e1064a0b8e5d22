"""Typed errors of the Graph client. Each carries Graph's HTTP status (`http_status`), Graph's
error code (`graph_code`) and message (`graph_message`), and the request-id for support; never a
token or a request body. `status`/`code` (class attributes) are the *problem* status and code that
`functions/` would answer with if the error reached a caller unhandled (the codes of openapi.yaml's Problem).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lib.core.errors import Conflict, NeedsReconnect, NotFound, OutlookUnavailable, SlotbridgeError

# Graph error codes that mean "your delta token is no good: start a full sync".
RESYNC_CODES = frozenset({"syncstatenotfound", "resyncrequired", "syncstateinvalid"})
# What Graph answers (404) for a calendar id its mailbox does not have: "The specified object was
# not found in the store." Other 404s (MailboxNotEnabledForRESTAPI, ResourceNotFound for the user,
# a route Graph does not know) say nothing about the calendar.
CALENDAR_GONE_CODES = frozenset({"erroritemnotfound"})


class GraphError(SlotbridgeError):
    """Any Graph failure; also used as is for statuses without a more specific class."""

    code = "outlook_unavailable"
    status = 502
    title = "Outlook answered with an error"

    def __init__(
        self,
        detail: str,
        *,
        http_status: int | None = None,
        graph_code: str = "",
        graph_message: str = "",
        request_id: str | None = None,
        retry_after: float | None = None,
        maybe_applied: bool = False,
        **extensions: Any,
    ) -> None:
        if retry_after is not None:
            extensions.setdefault("retryAfter", int(retry_after + 0.999))
        super().__init__(detail, **extensions)
        self.http_status = http_status
        self.graph_code = graph_code
        self.graph_message = graph_message
        self.request_id = request_id
        self.retry_after = retry_after
        # A write Graph may have carried out although no success came back (an answer lost, or
        # a 500/502/504): its outcome is unknown, not a failure.
        self.maybe_applied = maybe_applied

    def __repr__(self) -> str:
        return f"{type(self).__name__}(http_status={self.http_status}, graph_code={self.graph_code!r})"


class GraphBadRequest(GraphError):
    """400: the request Slotbridge built is wrong: a bug, not the user's fault."""

    code = "internal_error"
    status = 500
    title = "Internal error"


class GraphAuthError(GraphError, NeedsReconnect):
    """401 even with a token just asked again of the token provider."""

    code = NeedsReconnect.code
    status = NeedsReconnect.status
    title = NeedsReconnect.title


class GraphAccessDenied(GraphError):
    """403: the grant lacks a permission, or the mailbox/calendar refuses this app. Booking code
    turns it into `calendar_not_writable` where that is what it means."""

    code = "insufficient_permissions"
    status = 403
    title = "Insufficient permissions"


class GraphNotFound(GraphError, NotFound):
    """404 (ErrorItemNotFound and friends)."""

    code = NotFound.code
    status = NotFound.status
    title = NotFound.title


def calendar_gone(error: GraphError | None) -> bool:
    """Whether `error`, met on a calendar's own route (calendarView, its delta, its events), means
    Outlook no longer has that calendar (deleted, or no longer shared) - a lasting state recorded by
    `lib.features.connections.calendar_health` - rather than a problem of the mailbox or of Graph."""
    return error is not None and error.http_status == 404 and error.graph_code.lower() in CALENDAR_GONE_CODES


class GraphConflict(GraphError, Conflict):
    """409 (and 412 precondition failed)."""

    code = Conflict.code
    status = Conflict.status
    title = Conflict.title


class GraphGone(GraphError):
    """410, or a delta error code (syncStateNotFound, resyncRequired): the caller must resync
    from scratch. Never meant to reach a user."""

    code = "internal_error"
    status = 500
    title = "Internal error"


class GraphUnavailable(GraphError, OutlookUnavailable):
    """5xx/timeouts/connection failures that outlived the retry budget (attempts or deadline)."""

    code = OutlookUnavailable.code
    status = OutlookUnavailable.status
    title = OutlookUnavailable.title


class GraphThrottled(GraphUnavailable):
    """429 beyond the retry budget. For the user it is Outlook being unavailable, not their own
    rate limit, so the problem code stays `outlook_unavailable`; `retry_after` says how long."""


class GraphOutcomeUnknown(GraphUnavailable):
    """A non-idempotent request (POST) may have reached Graph but no answer came back. It was not
    re-sent; the caller decides (e.g. looks the event up by transactionId, or re-sends with it)."""

    def __init__(self, detail: str, **kwargs: Any) -> None:
        kwargs["maybe_applied"] = True
        super().__init__(detail, **kwargs)


class GraphForeignLink(GraphError):
    """A nextLink/deltaLink pointing outside the Graph base URL: refused before any token is sent."""

    code = "internal_error"
    status = 500
    title = "Internal error"


def _error_fields(body: Any) -> tuple[str, str]:
    if isinstance(body, Mapping):
        err = body.get("error")
        if isinstance(err, Mapping):
            return str(err.get("code") or ""), str(err.get("message") or "")
    return "", ""


def _request_id(body: Any, headers: Mapping[str, str]) -> str | None:
    for name in ("request-id", "Request-Id", "client-request-id"):
        if name in headers:
            return str(headers[name])
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        inner = body["error"].get("innerError")
        if isinstance(inner, Mapping) and inner.get("request-id"):
            return str(inner["request-id"])
    return None


def error_for(
    http_status: int,
    body: Any,
    headers: Mapping[str, str],
    *,
    retry_after: float | None = None,
) -> GraphError:
    """The typed error for a failed Graph answer (top-level or a `$batch` member)."""
    graph_code, graph_message = _error_fields(body)
    cls: type[GraphError]
    if http_status == 410 or graph_code.lower() in RESYNC_CODES:
        cls = GraphGone
    elif http_status == 400:
        cls = GraphBadRequest
    elif http_status == 401:
        cls = GraphAuthError
    elif http_status == 403:
        cls = GraphAccessDenied
    elif http_status == 404:
        cls = GraphNotFound
    elif http_status in (409, 412):
        cls = GraphConflict
    elif http_status == 429:
        cls = GraphThrottled
    elif http_status in (503, 504):
        cls = GraphUnavailable
    else:
        cls = GraphError
    label = f"{http_status} {graph_code}".strip()
    return cls(
        f"Microsoft Graph answered {label}.",
        http_status=http_status,
        graph_code=graph_code,
        graph_message=graph_message,
        request_id=_request_id(body, headers),
        retry_after=retry_after,
    )
