"""The one Microsoft Graph client of Slotbridge: one instance per connection (mailbox).

Every call: a bearer token from `token_provider` (asked again once on 401, with
`force_refresh=True` so it refreshes instead of handing out the refused token), a (connect, read)
timeout, one of the mailbox's 4 concurrency slots while on the wire (never while sleeping),
retries of 429/503/504 honouring Retry-After within an overall deadline, exponential backoff with
jitter otherwise, and a typed error (`lib.adapters.graph.errors`) when it does not work out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

from . import batch as _batch
from . import paging as _paging
from .concurrency import MAILBOX_CONCURRENCY, SlotTimeout, mailbox_slots
from .errors import GraphForeignLink, GraphOutcomeUnknown, GraphUnavailable, error_for
from .retry import Deadline, RetryPolicy, parse_retry_after
from .urls import Params, is_same_origin, join, path_template, with_query

if TYPE_CHECKING:
    from .batch import BatchRequest, BatchResult
    from .paging import DeltaResult

log = logging.getLogger("lib.adapters.graph")

JsonObject = dict[str, Any]
# Answers after which a write may still have been carried out (Graph's front end gave up on its
# back end, or failed after it): 429 and 503 are refusals before the work is done.
MAYBE_APPLIED_STATUSES = frozenset({500, 502, 504})
# Called as token_provider(force_refresh): force_refresh is True after Graph refused the last token.
TokenProvider = Callable[[bool], str]


@dataclass(frozen=True)
class GraphResponse:
    status: int
    headers: Mapping[str, str]
    body: Any  # parsed JSON, text for a non-JSON answer, None when empty


def _prefer_header(prefer: str | Sequence[str] | None) -> str | None:
    if prefer is None:
        return None
    return prefer if isinstance(prefer, str) else ", ".join(prefer)


def _parse_body(resp: requests.Response) -> Any:
    if not resp.content:
        return None
    if "json" in resp.headers.get("Content-Type", "").lower():
        try:
            return resp.json()
        except ValueError:
            pass
    return resp.text


class GraphClient:
    def __init__(
        self,
        base_url: str,
        session: requests.Session,
        token_provider: TokenProvider,
        *,
        mailbox_key: str,
        deadline_s: float = 20.0,
        max_attempts: int = 5,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        base_delay: float = 0.5,
        max_delay: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`base_url` includes the version (`https://graph.microsoft.com/v1.0`); `session` comes
        from `lib.adapters.outbound_http.make_session`; `mailbox_key` identifies the mailbox (e.g. the
        connection id) for the shared per-mailbox concurrency limit."""
        self.base_url = base_url.rstrip("/")
        self.mailbox_key = mailbox_key
        self.deadline_s = deadline_s
        self.policy = RetryPolicy(max_attempts=max_attempts, base_delay=base_delay, max_delay=max_delay)
        self._session = session
        self._token_provider = token_provider
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._sleep = sleep

    # --- simple calls ----------------------------------------------------------------------------

    def get(
        self,
        path: str,
        *,
        params: Params | None = None,
        prefer: str | Sequence[str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> JsonObject:
        body = self.request("GET", path, params=params, prefer=prefer, headers=headers).body
        return body if isinstance(body, dict) else {}

    def post(
        self,
        path: str,
        json: Any = None,
        *,
        params: Params | None = None,
        prefer: str | Sequence[str] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = False,
    ) -> JsonObject | None:
        """`idempotent=True` when repeating the POST is harmless (e.g. an event carrying a
        transactionId); only then is it re-sent after a lost answer or a 503/504."""
        resp = self.request(
            "POST", path, params=params, json=json, prefer=prefer, headers=headers, idempotent=idempotent
        )
        return resp.body if isinstance(resp.body, dict) else None

    def patch(
        self,
        path: str,
        json: Any,
        *,
        params: Params | None = None,
        prefer: str | Sequence[str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> JsonObject | None:
        resp = self.request("PATCH", path, params=params, json=json, prefer=prefer, headers=headers)
        return resp.body if isinstance(resp.body, dict) else None

    def delete(
        self, path: str, *, params: Params | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        self.request("DELETE", path, params=params, headers=headers)

    # --- paging, delta, batch ------------------------------------------------------------------

    def iter_pages(
        self,
        path: str,
        *,
        params: Params | None = None,
        prefer: str | Sequence[str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[JsonObject]:
        return _paging.iter_pages(self, path, params=params, prefer=prefer, headers=headers)

    def iter_items(
        self,
        path: str,
        *,
        params: Params | None = None,
        prefer: str | Sequence[str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[JsonObject]:
        return _paging.iter_items(self, path, params=params, prefer=prefer, headers=headers)

    def delta(
        self,
        path_or_link: str,
        *,
        params: Params | None = None,
        prefer: str | Sequence[str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> DeltaResult:
        return _paging.delta(self, path_or_link, params=params, prefer=prefer, headers=headers)

    def batch(self, requests: Sequence[BatchRequest]) -> dict[str, BatchResult]:
        return _batch.run_batch(self, requests)

    # --- the pipeline ------------------------------------------------------------------------------

    def owns(self, url: str) -> bool:
        """Whether an absolute URL is under this client's Graph base URL."""
        return is_same_origin(self.base_url, url)

    def resolve(self, path_or_url: str, params: Params | None = None) -> str:
        if "://" in path_or_url:
            if not self.owns(path_or_url):
                # Never send the token elsewhere; the link itself is not logged (it may carry tokens).
                raise GraphForeignLink("Refused a link outside the Graph base URL.", graph_code="ForeignLink")
            return with_query(path_or_url, params)
        return with_query(join(self.base_url, path_or_url), params)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        prefer: str | Sequence[str] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = False,
        deadline: Deadline | None = None,
        slots: int = 1,
    ) -> GraphResponse:
        """One logical request with retries; returns the successful answer or raises a GraphError.
        `path` is relative to the base URL, or an absolute Graph link (nextLink, deltaLink).
        `slots` is how many of the mailbox's concurrency slots it occupies ($batch takes more)."""
        method = method.upper()
        url = self.resolve(path, params)
        deadline = deadline or Deadline(self.deadline_s)
        extra: dict[str, str] = dict(headers or {})
        prefer_value = _prefer_header(prefer)
        if prefer_value:
            extra["Prefer"] = prefer_value
        slots = max(1, min(slots, MAILBOX_CONCURRENCY))
        template = path_template(url)
        attempt = 0
        reauthorized = False
        # An earlier attempt may have reached Graph without us seeing its answer, or was answered
        # with a status after which Graph may still have carried the write out.
        maybe_applied = False

        while True:
            attempt += 1
            started = time.monotonic()
            try:
                resp = self._send_once(method, url, json, extra, deadline, slots, reauthorized)
            except SlotTimeout:
                log.warning("graph %s %s: no mailbox slot before the deadline", method, template)
                raise GraphUnavailable(
                    "No Graph concurrency slot for this mailbox became free in time.",
                    graph_code="MailboxConcurrencyWait",
                ) from None
            except requests.exceptions.SSLError:
                # A trust misconfiguration does not heal by retrying.
                log.error("graph %s %s: TLS verification failed", method, template)
                raise GraphUnavailable("TLS connection to Microsoft Graph failed.") from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                sent = not isinstance(exc, requests.exceptions.ConnectTimeout)
                ms = (time.monotonic() - started) * 1000
                # The exception text can hold the URL with its query (skip/delta tokens): log its type.
                log.warning(
                    "graph %s %s -> %s attempt=%d ms=%.0f", method, template, type(exc).__name__, attempt, ms
                )
                if not self.policy.may_retry_connection_error(method, idempotent, sent):
                    raise GraphOutcomeUnknown(
                        "No answer from Microsoft Graph; the request may or may not have been applied.",
                        graph_code=type(exc).__name__,
                    ) from None
                maybe_applied = maybe_applied or sent
                wait = self.policy.next_wait(attempt, None, deadline)
                if wait is None:
                    raise GraphUnavailable(
                        "Microsoft Graph did not answer within the retry budget.",
                        graph_code=type(exc).__name__,
                        maybe_applied=maybe_applied,
                    ) from None
                self._sleep(wait)
                continue

            ms = (time.monotonic() - started) * 1000
            status = resp.status_code
            log.info("graph %s %s -> %d attempt=%d ms=%.0f", method, template, status, attempt, ms)
            body = _parse_body(resp)
            if status < 400:
                return GraphResponse(status, dict(resp.headers), body)

            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            if status in MAYBE_APPLIED_STATUSES and method not in ("GET", "HEAD"):
                maybe_applied = True
            if status == 401 and not reauthorized:
                # The token may have expired or been revoked in between: ask the provider once more
                # (it refreshes if it can). This retry does not count against the attempts.
                reauthorized = True
                attempt -= 1
                continue
            if self.policy.may_retry_status(status, method, idempotent):
                wait = self.policy.next_wait(attempt, retry_after, deadline)
                if wait is not None:
                    self._sleep(wait)
                    continue
            if status == 404 and method == "DELETE" and maybe_applied:
                # The earlier DELETE whose answer was lost did the job.
                return GraphResponse(204, dict(resp.headers), None)
            error = error_for(status, body, resp.headers, retry_after=retry_after)
            error.maybe_applied = maybe_applied
            log.warning(
                "graph %s %s failed: %d %s after %d attempt(s)",
                method,
                template,
                status,
                error.graph_code,
                attempt,
            )
            raise error

    def _send_once(
        self,
        method: str,
        url: str,
        json_body: Any,
        extra: Mapping[str, str],
        deadline: Deadline,
        slots: int,
        force_refresh: bool = False,
    ) -> requests.Response:
        # A floor keeps a nearly spent deadline from turning into a zero timeout (= no timeout
        # in some urllib3 paths).
        remaining = max(0.5, deadline.remaining())
        timeout = (min(self._connect_timeout, remaining), min(self._read_timeout, remaining))
        # Asked per attempt (cheap when cached) and before taking a slot, so that a refresh at the
        # identity platform does not hold one of the mailbox's 4 Graph slots.
        token = self._token_provider(force_refresh)
        headers = {"Accept": "application/json", **extra, "Authorization": f"Bearer {token}"}
        with mailbox_slots(self.mailbox_key, slots, deadline.remaining()):
            return self._session.request(
                method, url, headers=headers, json=json_body, timeout=timeout, allow_redirects=False
            )
