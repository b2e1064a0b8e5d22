"""Posting and delivering outbox messages, the Standard Webhooks way (standardwebhooks.com).

`post` stores the message under its deterministic id (a second post of the same id is a no-op) and
then enqueues its id; `deliver` (the queue trigger) sends it to the product's webhook, signed, and
records the attempt on the row. A failed attempt is retried by re-enqueueing the id with the next
delay of `SLOTBRIDGE_WEBHOOK_RETRY_DELAYS` as the message's visibility timeout (the row says when:
`next_attempt_at`); after the last delay the row is kept as `failed`, listed and redelivered
through the management routes. The row is the record, not the queue: `resend_overdue` (the
reconciliation timer) re-enqueues pending rows whose attempt is long overdue, so a message whose
enqueue failed, or whose queue message went to poison, still goes out.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from standardwebhooks import Webhook

from lib.adapters.outbound_http import make_session
from lib.adapters.storage import storage_account
from lib.adapters.storage.cursors import decode_cursor, encode_cursor
from lib.adapters.storage.keys import KeyTooLong
from lib.adapters.storage.queues import OUTBOX_QUEUE
from lib.adapters.storage.tables import AlreadyExists, StorageUnavailable
from lib.core.errors import FieldError, NotFound, ValidationFailed, unknown_parameters
from lib.core.settings import get_settings
from lib.features.outbox.event_types import EventType
from lib.features.outbox.records import DeliveryStatus, OutboxRecord

log = logging.getLogger("slotbridge.outbox")

WEBHOOK_TIMEOUT_S = (5, 10)
# An attempt holds the row this long (longer than the request can take), so a duplicate queue
# message arriving meanwhile finds it not due and sends nothing.
CLAIM_S = 60
# Queue messages may be seen a little early (clock skew between the queue and this instance).
EARLY_S = 5
# A pending row this far past its attempt has lost its queue message: `resend_overdue` resends it.
OVERDUE_S = 15 * 60
PAGE_SIZE = 100


class DeliveryNotFound(NotFound):
    pass


def post(user_id: str, message_id: str, type_: EventType, data: dict[str, Any]) -> bool:
    """Store and enqueue one message; False if a message with this id was already posted."""
    table = storage_account().table(OutboxRecord)
    now = datetime.now(UTC)
    record = OutboxRecord(
        user_id=user_id, message_id=message_id, type=type_, data=data, created_at=now, next_attempt_at=now
    )
    try:
        table.create(record)
    except AlreadyExists:
        return False
    _enqueue(user_id, message_id)
    log.info("Outbox message %s (%s) posted", message_id, type_)
    return True


def _enqueue(user_id: str, message_id: str, delay_s: int | None = None) -> bool:
    """Put the message's id on the queue; a failure leaves the row pending for `resend_overdue`."""
    try:
        storage_account().queues.send(
            OUTBOX_QUEUE, {"userId": user_id, "messageId": message_id}, visibility_timeout_s=delay_s
        )
    except StorageUnavailable:
        log.error("Outbox message %s not enqueued; the reconciliation timer resends it", message_id)
        return False
    return True


def signed_headers(secret: bytes, message_id: str, sent_at: datetime, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers of one delivery: the receiver recomputes the signature over
    "<id>.<timestamp>.<body>" and rejects old timestamps, which stops replays."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, sent_at, body),
    }


def retry_delay(attempts: int) -> int | None:
    """Seconds until the next attempt after `attempts` failed ones, or None: no more retries."""
    delays = get_settings().webhook_retry_delays
    return delays[attempts - 1] if 1 <= attempts <= len(delays) else None


def deliver(user_id: str, message_id: str) -> str:
    """Make one attempt at a stored message; returns what happened (for logs and tests)."""
    settings = get_settings()
    secret = settings.keys.webhook_signing_key
    table = storage_account().table(OutboxRecord)
    record = table.find(user_id, message_id)
    if record is None:
        return "missing"
    if record.delivered:
        return "already_delivered"
    if record.status is DeliveryStatus.FAILED:
        return "failed"  # only a redelivery sends it again
    if not settings.product_webhook_url or not secret:
        log.warning("Outbox message %s kept: no product webhook configured", message_id)
        return "held"
    if not _claim(user_id, message_id):
        return "not_due"  # a duplicate queue message; the attempt due later has its own

    body = json.dumps(record.envelope(), separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        **signed_headers(secret, message_id, datetime.now(UTC), body),
    }
    error: str | None = None
    try:
        resp = make_session(settings.ca_bundle).post(
            settings.product_webhook_url, data=body, headers=headers, timeout=WEBHOOK_TIMEOUT_S
        )
        if not 200 <= resp.status_code < 300:
            error = f"webhook answered {resp.status_code}"
    except OSError as exc:  # requests' errors derive from IOError
        error = f"webhook unreachable ({type(exc).__name__})"

    now = datetime.now(UTC)

    def record_attempt(current: OutboxRecord) -> OutboxRecord:
        current.attempts += 1
        current.last_attempt_at = now
        current.last_error = error
        if error is None:
            current.status, current.delivered_at, current.next_attempt_at = (
                DeliveryStatus.DELIVERED,
                now,
                None,
            )
            return current
        delay = retry_delay(current.attempts)
        if delay is None:
            current.status, current.next_attempt_at = DeliveryStatus.FAILED, None
        else:
            current.next_attempt_at = now + timedelta(seconds=delay)
        return current

    updated = table.mutate(user_id, message_id, record_attempt)
    if error is None:
        log.info("Outbox message %s delivered", message_id)
        return "delivered"
    if updated.status is DeliveryStatus.FAILED:
        # webhook_delivery_failed is the prefix to search the logs for (docs/operations.md).
        log.warning("webhook_delivery_failed message=%s attempts=%d", message_id, updated.attempts)
        return "failed"
    assert updated.next_attempt_at is not None
    _enqueue(user_id, message_id, max(1, int((updated.next_attempt_at - now).total_seconds())))
    log.info("Outbox message %s: %s; retry %d scheduled", message_id, error, updated.attempts)
    return "retry_scheduled"


def _claim(user_id: str, message_id: str) -> bool:
    """Take the row for one attempt if it is pending and due (under its ETag: one taker)."""
    claimed = False

    def take(current: OutboxRecord) -> OutboxRecord | None:
        nonlocal claimed
        now = datetime.now(UTC)
        due = current.next_attempt_at is None or current.next_attempt_at <= now + timedelta(seconds=EARLY_S)
        claimed = current.status is DeliveryStatus.PENDING and not current.delivered and due
        if not claimed:
            return None
        current.next_attempt_at = now + timedelta(seconds=CLAIM_S)
        return current

    storage_account().table(OutboxRecord).mutate(user_id, message_id, take)
    return claimed


def pending(user_id: str) -> list[OutboxRecord]:
    """A user's messages not yet delivered nor given up on (operators and tests read these)."""
    table = storage_account().table(OutboxRecord)
    return [
        r for r in table.query(partition=user_id) if not r.delivered and r.status is DeliveryStatus.PENDING
    ]


def resend_overdue(now: datetime | None = None) -> int:
    """Re-enqueue pending messages whose attempt is long overdue (their queue message was never
    written, or was lost); each is pushed forward so the next run does not enqueue it again."""
    if not get_settings().product_webhook_url:
        return 0  # held on purpose until a webhook is configured
    now = now or datetime.now(UTC)
    table = storage_account().table(OutboxRecord)
    overdue = table.query(
        where="status eq @pending and next_attempt_at lt @cutoff",
        parameters={"pending": DeliveryStatus.PENDING.value, "cutoff": now - timedelta(seconds=OVERDUE_S)},
    )
    count = 0
    for record in list(overdue):

        def push(current: OutboxRecord) -> OutboxRecord | None:
            if current.status is not DeliveryStatus.PENDING or current.delivered:
                return None
            current.next_attempt_at = now
            return current

        table.mutate(record.user_id, record.message_id, push)
        count += _enqueue(record.user_id, record.message_id)
    return count


# --- The management routes: failed (or any) deliveries listed, and sent again ----------------


@dataclass(frozen=True)
class DeliveryPage:
    deliveries: list[OutboxRecord]
    next_cursor: str | None


DELIVERY_PARAMETERS = ("status", "cursor")


def list_deliveries(params: Mapping[str, str]) -> DeliveryPage:
    """One page of deliveries in `status` (default `failed`; every user's), oldest partitions
    first, from the query's `cursor`."""
    problems = unknown_parameters(params, DELIVERY_PARAMETERS)
    status, cursor = params.get("status", DeliveryStatus.FAILED.value), params.get("cursor")
    try:
        wanted = DeliveryStatus(status)
    except ValueError:
        allowed = ", ".join(s.value for s in DeliveryStatus)
        problems.append(FieldError("status", f"Use one of {allowed}."))
    if problems:
        raise ValidationFailed("The deliveries query is not valid.", problems)
    listing = f"webhook-deliveries:{wanted.value}"
    records, token = (
        storage_account()
        .table(OutboxRecord)
        .query_page(
            where="status eq @status",
            parameters={"status": wanted.value},
            page_size=PAGE_SIZE,
            continuation=decode_cursor(cursor, listing),
        )
    )
    return DeliveryPage(records, encode_cursor(token, listing))


def _by_id(message_id: str) -> Iterator[OutboxRecord]:
    # A delivery is named by its webhook-id; ids are made of globally unique ids (connections,
    # bookings, requests), so this finds one row. A scan, but the route is for operators.
    try:
        row_key = OutboxRecord.compose_row_key(message_id)
    except KeyTooLong:
        return iter(())  # no stored message has an id too long to be a key
    return storage_account().table(OutboxRecord).query(where="RowKey eq @id", parameters={"id": row_key})


def redeliver(message_id: str) -> int:
    """Send a delivery again from the start of the retry schedule (a failed one, or a delivered one
    the product lost); a pending one is already on its way and stays as it is. Returns how many
    were queued again (0: it was pending)."""
    found = list(_by_id(message_id))
    if not found:
        raise DeliveryNotFound("There is no webhook delivery with this id.")
    return sum(_restart(record) for record in found)


def redeliver_failed() -> int:
    """Every failed delivery sent again; returns how many (not one that turned pending meanwhile)."""
    table = storage_account().table(OutboxRecord)
    failed = list(table.query(where="status eq @failed", parameters={"failed": DeliveryStatus.FAILED.value}))
    return sum(_restart(record) for record in failed)


def _restart(record: OutboxRecord) -> bool:
    """Whether the delivery was queued again (not one still pending: it is on its way)."""
    restarted = False

    def restart(current: OutboxRecord) -> OutboxRecord | None:
        nonlocal restarted
        restarted = current.status is not DeliveryStatus.PENDING or current.delivered
        if not restarted:
            return None
        current.status, current.delivered_at = DeliveryStatus.PENDING, None
        current.attempts, current.next_attempt_at = 0, datetime.now(UTC)
        return current

    storage_account().table(OutboxRecord).mutate(record.user_id, record.message_id, restart)
    if restarted:
        _enqueue(record.user_id, record.message_id)
        log.info("Outbox message %s redelivered", record.message_id)
    return restarted
