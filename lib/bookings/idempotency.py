"""`Idempotency-Key` for booking creation.

A claim is an insert-only row (scope = "link|<slug>", key = the header): the first request to
insert it runs; a repeat finds it and
- gets the stored result if the first one finished and the body is the same (SHA-256 of its
  canonical JSON) - the 201 again, manage token included (sealed in the row under the data key,
  since the booking itself keeps only the token's hash);
- gets 422 `idempotency_key_reused` if the body differs;
- gets 409 `request_in_progress` while the first one runs.
Client errors (4xx) are stored as the result; a 5xx/transient failure deletes the claim so a retry
runs again. A claim left `in_progress` longer than `STALE_CLAIM` (a crashed worker) is taken over;
a finished one counts for `RETENTION`, after which the key may be used afresh.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lib.bookings.records import IdempotencyRecord, IdempotencyState
from lib.errors import IdempotencyKeyReused, RequestInProgress, SlotbridgeError
from lib.storage import storage_account
from lib.storage.tables import AlreadyExists, ConcurrentUpdate, RecordNotFound, Table

log = logging.getLogger("slotbridge.bookings.idempotency")

STALE_CLAIM = timedelta(minutes=6)  # longer than the functions timeout (5 minutes)
RETENTION = timedelta(hours=24)
_CLAIM_ATTEMPTS = 3


@dataclass(frozen=True)
class StoredResult:
    status: int
    body: dict[str, Any]


def _table() -> Table[IdempotencyRecord]:
    return storage_account().table(IdempotencyRecord)


def _associated_data(record: IdempotencyRecord) -> bytes:
    return f"idempotency|{record.scope}|{record.key}".encode()


def run_once(
    scope: str,
    key: str,
    body_sha256: str,
    work: Callable[[], tuple[int, dict[str, Any], str | None]],
) -> StoredResult:
    """Run `work` (-> status, body, manage token to seal) once per (scope, key)."""
    table = _table()
    claim = _claim(table, scope, key, body_sha256)
    if isinstance(claim, StoredResult):
        return claim
    try:
        status, body, secret = work()
    except SlotbridgeError as error:
        if error.status < 500:
            from lib.errors import Problem

            _finish(table, claim, error.status, {"problem": Problem.from_error(error).to_dict()}, None)
        else:
            _abandon(table, claim)
        raise
    except BaseException:
        _abandon(table, claim)
        raise
    _finish(table, claim, status, body, secret)
    return StoredResult(status, body)


def _claim(
    table: Table[IdempotencyRecord], scope: str, key: str, body_sha256: str
) -> IdempotencyRecord | StoredResult:
    now = datetime.now(UTC)
    for _ in range(_CLAIM_ATTEMPTS):
        record = IdempotencyRecord(scope=scope, key=key, body_sha256=body_sha256, created_at=now)
        try:
            return table.create(record)
        except AlreadyExists:
            pass
        current = table.find(scope, key)
        if current is None:
            continue  # abandoned meanwhile: claim again
        expired = (
            current.created_at + (RETENTION if current.state is IdempotencyState.DONE else STALE_CLAIM) <= now
        )
        if expired:
            try:
                table.delete(current)
            except (ConcurrentUpdate, RecordNotFound):
                pass
            continue
        if current.body_sha256 != body_sha256:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used with a different request body; use a new key."
            )
        if current.state is IdempotencyState.IN_PROGRESS:
            raise RequestInProgress(
                "A request with this Idempotency-Key is still in progress; retry in a moment.",
                retryAfter=1,
            )
        return _replay(current)
    raise RequestInProgress(
        "A request with this Idempotency-Key is changing; retry in a moment.", retryAfter=1
    )


def _replay(record: IdempotencyRecord) -> StoredResult:
    body = dict(record.response_body or {})
    status = record.response_status or 500
    if "problem" in body and status >= 400:
        problem = dict(body["problem"])
        raise _StoredProblem(problem)
    if record.sealed_manage_token:
        from lib.crypto import unseal
        from lib.keystore import data_keys

        token = unseal(record.sealed_manage_token, data_keys(), _associated_data(record)).decode()
        from lib.bookings.manage_tokens import manage_url
        from lib.settings import get_settings

        body["manageToken"] = token
        body["manageUrl"] = manage_url(get_settings().public_base_url, str(body.get("bookingId", "")), token)
    return StoredResult(status, body)


class _StoredProblem(SlotbridgeError):
    """A client error answered the first time, answered again as it was."""

    def __init__(self, problem: dict[str, Any]) -> None:
        detail = str(problem.get("detail", ""))
        extensions = {
            k: v for k, v in problem.items() if k not in ("type", "title", "status", "detail", "code")
        }
        super().__init__(detail, **extensions)
        self.code = str(problem.get("code", "validation_error"))  # type: ignore[misc]
        self.status = int(problem.get("status", 400))  # type: ignore[misc]
        self.title = str(problem.get("title", ""))  # type: ignore[misc]


def _finish(
    table: Table[IdempotencyRecord],
    claim: IdempotencyRecord,
    status: int,
    body: dict[str, Any],
    secret: str | None,
) -> None:
    claim.state = IdempotencyState.DONE
    claim.response_status = status
    claim.response_body = {k: v for k, v in body.items() if k not in ("manageToken", "manageUrl")}
    if secret is not None:
        from lib.crypto import seal
        from lib.keystore import data_keys

        claim.sealed_manage_token = seal(secret.encode(), data_keys().current(), _associated_data(claim))
    try:
        table.update(claim)
    except SlotbridgeError as error:
        # The booking stands; a retry with this key will run again and find the slot taken.
        log.warning("idempotency result not stored (%s)", error.code)


def _abandon(table: Table[IdempotencyRecord], claim: IdempotencyRecord) -> None:
    try:
        table.delete(claim)
    except Exception as error:
        log.warning("idempotency claim not released (%s); it expires on its own", type(error).__name__)


def sweep_expired(now: datetime | None = None) -> int:
    """Delete finished claims past `RETENTION` (and stale unfinished ones): a key counts for a day,
    and without this its row would stay forever. Run by the reconciliation timer."""
    table = _table()
    cutoff = (now or datetime.now(UTC)) - max(RETENTION, STALE_CLAIM)
    removed = 0
    for record in list(table.query(where="created_at lt @cutoff", parameters={"cutoff": cutoff})):
        try:
            table.delete(record)
            removed += 1
        except (ConcurrentUpdate, RecordNotFound):
            continue
    return removed
