"""`$batch`: many requests of one mailbox in few round trips.

- At most 20 members per `$batch`; longer lists are split and the batches sent concurrently.
- Each `$batch` holds min(members, 4) of the mailbox's concurrency slots: Graph evaluates every
  member against the mailbox's limit of 4 concurrent requests, so this keeps the members this
  process has in flight at 4 or fewer when Graph runs a batch one member at a time, and bounds it
  to one batch's worth (up to 20) when Graph runs members in parallel. Members that Graph throttles
  for that reason come back 429 with Retry-After and are retried like any other throttled member.
- A member answered 429 (or 503/504 when repeating it is harmless) is re-sent in a following
  batch after its own Retry-After, within the batch's deadline and the attempt limit. Members that
  still fail come back with a typed error; the call itself raises only for problems of the whole
  call (authentication, a malformed batch).
- `dependsOn` is not supported: splitting and retrying would break the chains.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lib.core.parallel import map_concurrently

from .concurrency import MAILBOX_CONCURRENCY
from .errors import GraphAuthError, GraphBadRequest, GraphError, GraphForeignLink, error_for
from .retry import IDEMPOTENT_METHODS, Deadline, parse_retry_after
from .urls import Params, with_query

if TYPE_CHECKING:
    from .client import GraphClient

MAX_BATCH = 20


@dataclass(frozen=True)
class BatchRequest:
    id: str
    method: str
    url: str  # relative to the version root: "/me/calendars/{id}/calendarView"
    params: Params | None = None
    headers: Mapping[str, str] | None = None
    body: Any = None
    idempotent: bool = False  # for POST members: safe to repeat after a 503/504

    def to_json(self) -> dict[str, Any]:
        url = with_query("/" + self.url.lstrip("/"), self.params)
        member: dict[str, Any] = {"id": self.id, "method": self.method.upper(), "url": url}
        headers = dict(self.headers or {})
        if self.body is not None:
            headers.setdefault("Content-Type", "application/json")
            member["body"] = self.body
        if headers:
            member["headers"] = headers
        return member


@dataclass(frozen=True)
class BatchResult:
    id: str
    status: int  # Graph's status for the member (0 if the whole batch call failed)
    headers: Mapping[str, str]
    body: Any
    error: GraphError | None = None
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class _Pending:
    request: BatchRequest
    attempts: int = 0
    not_before: float = 0.0
    last: BatchResult | None = field(default=None)


def _send(client: GraphClient, members: list[_Pending], deadline: Deadline) -> list[dict[str, Any]]:
    idempotent = all(p.request.idempotent or p.request.method.upper() in IDEMPOTENT_METHODS for p in members)
    resp = client.request(
        "POST",
        "/$batch",
        json={"requests": [p.request.to_json() for p in members]},
        idempotent=idempotent,
        deadline=deadline,
        slots=min(len(members), MAILBOX_CONCURRENCY),
    )
    body = resp.body if isinstance(resp.body, dict) else {}
    responses = body.get("responses")
    return [r for r in responses if isinstance(r, dict)] if isinstance(responses, list) else []


def _member_result(p: _Pending, raw: Mapping[str, Any] | None) -> tuple[BatchResult, float | None]:
    if raw is None:
        err = GraphError("Graph's $batch answer had no response for this member.", graph_code="NoResponse")
        return BatchResult(p.request.id, 0, {}, None, err, p.attempts), None
    status = int(raw.get("status") or 0)
    headers = {str(k): str(v) for k, v in (raw.get("headers") or {}).items()}
    body = raw.get("body")
    retry_after = parse_retry_after(headers.get("Retry-After"))
    error = error_for(status, body, headers, retry_after=retry_after) if status >= 400 else None
    return BatchResult(p.request.id, status, headers, body, error, p.attempts), retry_after


def run_batch(client: GraphClient, requests: Sequence[BatchRequest]) -> dict[str, BatchResult]:
    """Results keyed by member id, in the order of `requests`."""
    ids = [r.id for r in requests]
    if len(set(ids)) != len(ids) or any(not i for i in ids):
        raise ValueError("batch request ids must be unique and non-empty")
    deadline = Deadline(client.deadline_s)
    policy = client.policy
    pending = [_Pending(r) for r in requests]
    results: dict[str, BatchResult] = {}

    while pending:
        now = time.monotonic()
        ready = [p for p in pending if p.not_before <= now]
        if not ready:
            until_next = min(p.not_before for p in pending) - now
            if not deadline.allows_wait(until_next, policy.min_attempt_time):
                break
            time.sleep(until_next)
            continue
        pending = [p for p in pending if p.not_before > now]
        chunks = [ready[i : i + MAX_BATCH] for i in range(0, len(ready), MAX_BATCH)]

        def send(chunk: list[_Pending]) -> list[dict[str, Any]] | GraphError:
            try:
                return _send(client, chunk, deadline)
            except (GraphAuthError, GraphBadRequest, GraphForeignLink):
                raise  # the whole call is wrong, not one member
            except GraphError as exc:
                return exc

        outcomes = map_concurrently(send, chunks, limit=MAILBOX_CONCURRENCY)
        for chunk, outcome in zip(chunks, outcomes, strict=True):
            if isinstance(outcome, GraphError):
                for p in chunk:
                    p.attempts += 1
                    results[p.request.id] = BatchResult(p.request.id, 0, {}, None, outcome, p.attempts)
                continue
            by_id = {str(r.get("id")): r for r in outcome}
            for p in chunk:
                p.attempts += 1
                result, retry_after = _member_result(p, by_id.get(p.request.id))
                if result.error is not None and policy.may_retry_status(
                    result.status, p.request.method, p.request.idempotent
                ):
                    wait = policy.next_wait(p.attempts, retry_after, deadline)
                    if wait is not None:
                        p.not_before, p.last = time.monotonic() + wait, result
                        pending.append(p)
                        continue
                results[p.request.id] = result

    for p in pending:  # out of time while waiting to re-send: report what Graph said last
        assert p.last is not None
        results[p.request.id] = p.last
    return {i: results[i] for i in ids}
