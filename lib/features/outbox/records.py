"""Outbox messages as stored: one row per message, keyed by a deterministic id, with where its
delivery stands."""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime
from typing import Any, ClassVar

from lib.adapters.storage.records import TableRecord


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # not yet delivered; an attempt is due at `next_attempt_at`
    DELIVERED = "delivered"
    FAILED = "failed"  # every retry failed; kept until redelivered through the management route


@dataclasses.dataclass(kw_only=True)
class OutboxRecord(TableRecord):
    table_kind: ClassVar[str] = "outbox"
    partition_fields: ClassVar[tuple[str, ...]] = ("user_id",)
    row_fields: ClassVar[tuple[str, ...]] = ("message_id",)

    user_id: str
    message_id: str
    type: str
    data: dict[str, Any] = dataclasses.field(default_factory=dict)
    created_at: datetime
    status: DeliveryStatus = DeliveryStatus.PENDING
    delivered_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None
    last_attempt_at: datetime | None = None
    next_attempt_at: datetime | None = None

    @property
    def delivered(self) -> bool:
        # Rows delivered before `status` existed have only `delivered_at`.
        return self.status is DeliveryStatus.DELIVERED or self.delivered_at is not None

    def envelope(self) -> dict[str, Any]:
        """The body the product receives: the Standard Webhooks envelope, with the user in `data`
        (the envelope is type, timestamp and data only; the message id travels as `webhook-id`)."""
        return {
            "type": self.type,
            "timestamp": self.created_at.isoformat().replace("+00:00", "Z"),
            "data": {"userId": self.user_id, **self.data},
        }
