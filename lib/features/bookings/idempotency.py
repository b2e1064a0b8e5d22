"""`Idempotency-Key` for booking creation.

A claim is an insert-only row (scope = "link|<slug>", key = the header): the first request to
insert it runs; a repeat finds it and
- gets the stored result if the first one finished and the body is the same (SHA-256 of its
  canonical JSON) - the same booking again, manage token included (sealed in the row under the
  data key, since the booking itself keeps only the token's hash);
- gets 422 `idempotency_key_reused` if the body differs;
- gets 409 `request_in_progress` while the first one runs;
- resumes the first one if its outcome was unknown (`Unresolved`: an event write Graph may or may
  not have made): the claim keeps what the work needs to pick up where it stopped, so a retry
  finishes that booking instead of starting another one.
Client errors (4xx) are stored as the result; a 5xx/transient failure deletes the claim so a retry
runs again (an unresolved claim stays, and a failed resume leaves it unresolved). A claim left
`in_progress` longer than `STALE_CLAIM` (a crashed worker) is taken over; a finished one counts for
`RETENTION`, after which the key may be used afresh.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from lib.adapters.keyvault import data_keys
from lib.adapters.storage import storage_account
from lib.adapters.storage.tables import AlreadyExists, ConcurrentUpdate, RecordNotFound, Table
from lib.core.crypto import seal, unseal
from lib.core.errors import IdempotencyKeyReused, Problem, RequestInProgress, SlotbridgeError
from lib.core.settings import get_settings
from lib.features.bookings.manage_tokens import manage_url
from lib.features.bookings.records import IdempotencyRecord, IdempotencyState
from lib.features.bookings.views import BookingView, CreatedBooking

log = logging.getLogger("slotbridge.bookings.idempotency")

STALE_CLAIM = timedelta(minutes=6)  # longer than the functions timeout (5 minutes)
RETENTION = timedelta(hours=24)
_CLAIM_ATTEMPTS = 3
# The stored row's `response_status` of a finished booking: the format rows have always had
# (a client error's row holds the problem's status and `{"problem": ...}`), kept so that rows
# stored before typed results replay, and rows stored now stay readable by the code before.
_STORED_CREATED = 201


class Unresolved(Exception):
    """Raised by work whose outcome is not known yet: the caller is answered `error`, and a retry
    of the same request calls `resume(resume_with, secret)` instead of starting over."""

    def __init__(self, error: SlotbridgeError, resume_with: dict[str, str], secret: str | None) -> None:
        super().__init__(error.detail)
        self.error = error
        self.resume_with = resume_with
        self.secret = secret


def _table() -> Table[IdempotencyRecord]:
    return storage_account().table(IdempotencyRecord)


def _associated_data(record: IdempotencyRecord) -> bytes:
    return f"idempotency|{record.scope}|{record.key}".encode()


def run_once(
    scope: str,
    key: str,
    body_sha256: str,
    work: Callable[[], CreatedBooking],
    resume: Callable[[dict[str, str], str | None], CreatedBooking],
) -> CreatedBooking:
    """Run `work` once per (scope, key); after an `Unresolved` outcome, `resume` instead."""
    table = _table()
    claim = _claim(table, scope, key, body_sha256)
    if isinstance(claim, CreatedBooking):
        return claim
    resuming = claim.resume_with is not None
    try:
        if claim.resume_with is not None:
            result = resume(dict(claim.resume_with), _unsealed_token(claim))
        else:
            result = work()
    except Unresolved as unresolved:
        _park(table, claim, unresolved.resume_with, unresolved.secret)
        raise unresolved.error from None
    except SlotbridgeError as error:
        if error.status < 500:
            _finish(table, claim, error.status, {"problem": Problem.from_error(error).to_dict()}, None)
        elif resuming:
            _park(table, claim, dict(claim.resume_with or {}), _unsealed_token(claim))
        else:
            _abandon(table, claim)
        raise
    except BaseException:
        if resuming:
            _park(table, claim, dict(claim.resume_with or {}), _unsealed_token(claim))
        else:
            _abandon(table, claim)
        raise
    _finish(table, claim, _STORED_CREATED, result.booking.wire(), result.manage_token)
    return result


def _claim(
    table: Table[IdempotencyRecord], scope: str, key: str, body_sha256: str
) -> IdempotencyRecord | CreatedBooking:
    now = datetime.now(UTC)
    for _ in range(_CLAIM_ATTEMPTS):
        record = IdempotencyRecord(
            scope=scope, key=key, body_sha256=body_sha256, created_at=now, claimed_at=now
        )
        try:
            return table.create(record)
        except AlreadyExists:
            pass
        current = table.find(scope, key)
        if current is None:
            continue  # abandoned meanwhile: claim again
        if current.created_at + RETENTION <= now or (
            current.state is IdempotencyState.IN_PROGRESS
            and current.resume_with is None
            and (current.claimed_at or current.created_at) + STALE_CLAIM <= now
        ):
            try:
                table.delete(current)
            except (ConcurrentUpdate, RecordNotFound):
                pass
            continue
        if current.body_sha256 != body_sha256:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used with a different request body; use a new key."
            )
        if current.state is IdempotencyState.DONE:
            return _replay(current)
        crashed = (current.claimed_at or current.created_at) + STALE_CLAIM <= now
        if current.state is IdempotencyState.UNRESOLVED or crashed:
            # Resume: the ETag makes one retry of many the one that does.
            current.state, current.claimed_at = IdempotencyState.IN_PROGRESS, now
            try:
                return table.update(current)
            except (ConcurrentUpdate, RecordNotFound):
                continue
        raise RequestInProgress(
            "A request with this Idempotency-Key is still in progress; retry in a moment.",
            retryAfter=1,
        )
    raise RequestInProgress(
        "A request with this Idempotency-Key is changing; retry in a moment.", retryAfter=1
    )


def _unsealed_token(record: IdempotencyRecord) -> str | None:
    if not record.sealed_manage_token:
        return None

    return unseal(record.sealed_manage_token, data_keys(), _associated_data(record)).decode()


def _seal_token(record: IdempotencyRecord, secret: str | None) -> str | None:
    if secret is None:
        return None

    return seal(secret.encode(), data_keys().current(), _associated_data(record))


def _replay(record: IdempotencyRecord) -> CreatedBooking:
    body = dict(record.response_body or {})
    status = record.response_status or 500
    if "problem" in body and status >= 400:
        problem = dict(body["problem"])
        raise _StoredProblem(problem)
    booking = BookingView.from_document(body)
    token = _unsealed_token(record)
    if token is None:
        return CreatedBooking(booking, None, None)

    return CreatedBooking(
        booking, token, manage_url(get_settings().public_base_url, booking.booking_id, token)
    )


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
    claim.response_body = body  # the booking's document: the manage token only sealed, below
    claim.sealed_manage_token = _seal_token(claim, secret)
    claim.resume_with = None
    try:
        table.update(claim)
    except SlotbridgeError as error:
        # The booking stands; a retry with this key will run again and find the slot taken.
        log.warning("idempotency result not stored (%s)", error.code)


def _park(
    table: Table[IdempotencyRecord], claim: IdempotencyRecord, resume_with: dict[str, str], secret: str | None
) -> None:
    """Keep the claim for a retry to resume the work whose outcome is unknown."""
    claim.state = IdempotencyState.UNRESOLVED
    claim.resume_with = resume_with
    claim.sealed_manage_token = _seal_token(claim, secret)
    try:
        table.update(claim)
    except SlotbridgeError as error:
        # A retry then starts over; booking housekeeping releases the unresolved booking.
        log.warning("unresolved idempotency claim not stored (%s)", error.code)


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
