"""The one Google Calendar API client: JSON over `requests` (a `VerifyingSession`), a bearer token
from the account's token source (refreshed once when Google answers 401), and Graph's pure retry
policy (`lib.adapters.graph.retry`: backoff with jitter, Retry-After, one overall deadline) for
what Google documents as transient - 429, 403 `rateLimitExceeded` / `userRateLimitExceeded`, 5xx
and lost connections. Every call Slotbridge makes is safe to repeat: reads, PATCH and DELETE by
id, and inserts with an id of our choosing (a repeat answers 409 `duplicate`).

Queries and tokens are never logged (a URL can carry a syncToken or pageToken)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import requests

from lib.adapters.graph.retry import Deadline, RetryPolicy, parse_retry_after
from lib.providers.google.errors import (
    GoogleUnavailable,
    api_error,
    error_reason,
    is_rate_limited,
)

log = logging.getLogger("slotbridge.google")

# force_refresh -> an access token for the account (raises NeedsReconnect when the grant broke).
TokenSource = Callable[[bool], str]
JsonObject = dict[str, Any]
# A guard against pages that never end (Google pages events by 250 by default, 2500 at most).
MAX_PAGES = 1000


_IDS = re.compile(r"/(calendars|events|calendarList)/(?!watch$)[^/?]+")


def route_of(path: str) -> str:
    """The call's route without its ids (calendar ids are addresses): what logs and errors name."""
    return _IDS.sub(r"/\1/{id}", path.split("?")[0])


def path_segment(value: str) -> str:
    """A calendar or event id as one path segment (ids hold '@', '#', '.' ...)."""
    return quote(value, safe="")


class GoogleCalendarClient:
    def __init__(
        self,
        base_url: str,
        session: requests.Session,
        token: TokenSource,
        *,
        account_key: str,
        deadline_s: float = 20.0,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.account_key = account_key  # the connection id, for logs
        self.deadline_s = deadline_s
        self._session = session
        self._token = token
        self._policy = policy or RetryPolicy()
        self._sleep = sleep

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> JsonObject:
        return self.request("GET", path, params=params) or {}

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: JsonObject | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> JsonObject | None:
        """The answer's JSON object (None for 204). Raises a `GoogleApiError` (typed by status and
        reason) or the token source's error."""
        deadline = Deadline(self.deadline_s)
        what = f"{method} {route_of(path)}"
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            sent_headers = {"Authorization": f"Bearer {self._token(refreshed)}", **(headers or {})}
            try:
                answer = self._session.request(
                    method,
                    f"{self.base_url}{path}",
                    params=params,
                    json=body,
                    headers=sent_headers,
                    timeout=(5.0, max(1.0, deadline.remaining())),
                )
            except requests.RequestException as error:
                wait = self._policy.next_wait(attempt, None, deadline)
                if wait is None:
                    raise GoogleUnavailable(
                        f"Google Calendar did not answer {what} ({type(error).__name__}).",
                        maybe_applied=method != "GET",
                    ) from None
                self._sleep(wait)
                continue
            if answer.status_code == 401 and not refreshed:
                refreshed = True  # the cached access token was refused: one fresh one
                continue
            if answer.status_code < 300:
                return _json(answer) if answer.content else None
            reason = error_reason(_json(answer))
            if is_rate_limited(answer.status_code, reason) or answer.status_code >= 500:
                wait = self._policy.next_wait(
                    attempt, parse_retry_after(answer.headers.get("Retry-After")), deadline
                )
                if wait is not None:
                    log.info("google: %s answered %s %s; retrying", what, answer.status_code, reason)
                    self._sleep(wait)
                    continue
                raise GoogleUnavailable(
                    f"Google Calendar answered {answer.status_code} to {what} past the retry budget.",
                    http_status=answer.status_code,
                    reason=reason,
                    maybe_applied=answer.status_code >= 500 and method != "GET",
                )
            raise api_error(answer.status_code, reason, what)

    def pages(self, path: str, params: Mapping[str, Any]) -> Iterator[JsonObject]:
        """Every page of a list, following `nextPageToken` (pages may be empty and still go on)."""
        token: str | None = None
        for _ in range(MAX_PAGES):
            page = self.get(path, {**params, **({"pageToken": token} if token else {})})
            yield page
            next_token = page.get("nextPageToken")
            if not isinstance(next_token, str) or not next_token:
                return
            token = next_token
        raise GoogleUnavailable(f"Google Calendar kept paging {route_of(path)} past {MAX_PAGES} pages.")


def _json(answer: requests.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return None
