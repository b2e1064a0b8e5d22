"""Outbox messages as stored: one row per message, keyed by a deterministic id."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, ClassVar

from lib.adapters.storage.records import TableRecord


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
    delivered_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None

    def to_payload(self) -> dict[str, Any]:
        return {
            "id": self.message_id,
            "type": self.type,
            "userId": self.user_id,
            "createdAt": self.created_at.isoformat(),
            "data": self.data,
        }
