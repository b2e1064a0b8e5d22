"""The needs_reconnect path: a connection whose grant broke is marked, and exactly one "action
required" message goes to the outbox per breakage. Its subscriptions are paused by that status:
renewal and resync act only on connected connections.

The outbox row is written before the status flips, with an id derived from the breakage number, so
a crash in between loses nothing and a second request hitting the same breakage adds nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from lib.adapters.identity.token_vault import TokenFailure
from lib.adapters.storage import storage_account
from lib.features.connections import host_view
from lib.features.connections.events import reconnect_url
from lib.features.connections.records import ConnectionRecord, ConnectionStatus
from lib.features.outbox import service as outbox
from lib.features.outbox.event_types import EventType

log = logging.getLogger("slotbridge.connections")

NEEDS_RECONNECT_MESSAGE: EventType = "connection.needs_reconnect"


def mark_needs_reconnect(user_id: str, connection_id: str, failure: TokenFailure) -> ConnectionRecord | None:
    table = storage_account().table(ConnectionRecord)
    current = table.find(user_id, connection_id)
    if current is None or current.status is ConnectionStatus.NEEDS_RECONNECT:
        return current
    breakage = current.breakage_count + 1
    outbox.post(
        user_id,
        f"needs_reconnect.{connection_id}.{breakage}",
        NEEDS_RECONNECT_MESSAGE,
        {
            "connectionId": connection_id,
            "email": current.email,
            "reason": failure.error,
            "aadsts": failure.aadsts,
            "action": "Ask the user to reconnect their calendar account in the settings page.",
            "reconnectUrl": reconnect_url(),
        },
    )

    def flip(record: ConnectionRecord) -> ConnectionRecord | None:
        if record.status is ConnectionStatus.NEEDS_RECONNECT or record.breakage_count >= breakage:
            return None
        now = datetime.now(UTC)
        record.status = ConnectionStatus.NEEDS_RECONNECT
        record.breakage_count = breakage
        record.needs_reconnect_since = now
        record.last_error_code = f"AADSTS{failure.aadsts}" if failure.aadsts else failure.error
        record.updated_at = now
        return record

    updated = table.mutate(user_id, connection_id, flip)
    host_view.forget(user_id)
    # connection_needs_reconnect is the prefix the operations alert counts (docs/operations.md).
    log.warning("connection_needs_reconnect connection=%s reason=%s", connection_id, updated.last_error_code)
    return updated
