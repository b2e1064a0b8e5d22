"""Webhook deliveries at the edge (`/webhooks/deliveries...`, API key only): the failed (or
pending, or delivered) deliveries listed a page at a time, and redelivery of one or all failed."""

from __future__ import annotations

from typing import Any, Literal

from lib.core.wire import IsoDateTime, WireModel
from lib.features.outbox.records import DeliveryStatus, OutboxRecord


class WebhookDelivery(WireModel):
    """One delivery: the event as the product receives it, and where its delivery stands."""

    id: str  # the webhook-id header of every attempt
    type: str
    user_id: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    created_at: IsoDateTime
    last_attempt_at: IsoDateTime | None
    next_attempt_at: IsoDateTime | None
    delivered_at: IsoDateTime | None
    payload: dict[str, Any]  # the body as sent: {"type", "timestamp", "data"}

    @classmethod
    def of(cls, record: OutboxRecord) -> WebhookDelivery:
        return cls(
            id=record.message_id,
            type=record.type,
            user_id=record.user_id,
            status=DeliveryStatus.DELIVERED if record.delivered else record.status,
            attempts=record.attempts,
            last_error=record.last_error,
            created_at=record.created_at,
            last_attempt_at=record.last_attempt_at,
            next_attempt_at=record.next_attempt_at,
            delivered_at=record.delivered_at,
            payload=record.envelope(),
        )


class WebhookDeliveries(WireModel):
    """A page of deliveries; `nextCursor` (opaque) fetches the next, null at the end."""

    deliveries: list[WebhookDelivery]
    next_cursor: str | None


class RedeliveryQueued(WireModel):
    """The 202 answer of a redelivery: how many deliveries were queued again."""

    status: Literal["queued"]
    count: int
