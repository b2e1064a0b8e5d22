"""Posting and delivering outbox messages.

`post` stores the message under its deterministic id (a second post of the same id is a no-op) and
then enqueues its id; `deliver` (the queue trigger) sends it to the product's webhook, signed, and
records the delivery. A delivery failure raises, so the queue retries it and, in the end, parks it
in `outbox-poison` where operators see it.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from lib.adapters.outbound_http import make_session
from lib.adapters.storage import storage_account
from lib.adapters.storage.queues import OUTBOX_QUEUE
from lib.adapters.storage.tables import AlreadyExists
from lib.core.crypto import hmac_sha256
from lib.core.settings import get_settings
from lib.features.outbox.records import OutboxRecord

log = logging.getLogger("slotbridge.outbox")

SIGNATURE_HEADER = "Slotbridge-Signature"
WEBHOOK_TIMEOUT_S = (5, 10)


class DeliveryFailed(RuntimeError):
    pass


def post(user_id: str, message_id: str, type_: str, data: dict[str, Any]) -> bool:
    """Store and enqueue one message; False if a message with this id was already posted."""
    table = storage_account().table(OutboxRecord)
    record = OutboxRecord(
        user_id=user_id, message_id=message_id, type=type_, data=data, created_at=datetime.now(UTC)
    )
    try:
        table.create(record)
    except AlreadyExists:
        return False
    # If this enqueue fails the row stays undelivered; `redeliver_pending` picks it up.
    storage_account().queues.send(OUTBOX_QUEUE, {"userId": user_id, "messageId": message_id})
    log.info("Outbox message %s (%s) posted", message_id, type_)
    return True


def sign(key: bytes, timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` — the receiver recomputes it and
    rejects old timestamps, which stops replays."""
    digest = hmac_sha256(key, str(timestamp).encode() + b"." + body).hex()
    return f"t={timestamp},v1={digest}"


def deliver(user_id: str, message_id: str) -> str:
    """Send one stored message to the webhook; returns what happened (for logs and tests)."""
    settings = get_settings()
    table = storage_account().table(OutboxRecord)
    record = table.find(user_id, message_id)
    if record is None:
        return "missing"
    if record.delivered_at is not None:
        return "already_delivered"
    if not settings.product_webhook_url or not settings.keys.webhook_signing_key:
        log.warning("Outbox message %s kept: no product webhook configured", message_id)
        return "held"
    body = json.dumps(record.to_payload(), separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(settings.keys.webhook_signing_key, timestamp, body),
        "Slotbridge-Message-Id": message_id,
    }
    session = make_session(settings.ca_bundle)
    error: str | None = None
    try:
        resp = session.post(
            settings.product_webhook_url, data=body, headers=headers, timeout=WEBHOOK_TIMEOUT_S
        )
        if not 200 <= resp.status_code < 300:
            error = f"webhook answered {resp.status_code}"
    except OSError as exc:  # requests' errors derive from IOError
        error = f"webhook unreachable ({type(exc).__name__})"

    def record_attempt(current: OutboxRecord) -> OutboxRecord:
        current.attempts += 1
        current.last_error = error
        if error is None and current.delivered_at is None:
            current.delivered_at = datetime.now(UTC)
        return current

    table.mutate(user_id, message_id, record_attempt)
    if error is not None:
        raise DeliveryFailed(f"Outbox message {message_id}: {error}")
    log.info("Outbox message %s delivered", message_id)
    return "delivered"


def pending(user_id: str) -> list[OutboxRecord]:
    """A user's undelivered messages (operators and tests read these)."""
    table = storage_account().table(OutboxRecord)
    return [r for r in table.query(partition=user_id) if r.delivered_at is None]
