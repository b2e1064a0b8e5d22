"""The webhook events of a connection's life (connected, disconnected; needs_reconnect and
calendar.unavailable are posted where those are found: reconnect.py, calendar_health.py). Each is
posted once per change: its message id is derived from what changed, never from the request."""

from __future__ import annotations

from datetime import UTC, datetime

from lib.core.settings import get_settings
from lib.features.connections.records import ConnectionRecord
from lib.features.outbox import service as outbox
from lib.features.outbox.event_types import EventType

CONNECTED: EventType = "connection.connected"
DISCONNECTED: EventType = "connection.disconnected"


def reconnect_url() -> str | None:
    """Where the product's "Action required" e-mail sends the host: the product's own settings
    page (`SLOTBRIDGE_DEFAULT_RETURN_URL`), which signs the host in and opens Slotbridge's settings
    page with its Reconnect button. No token in it: the product's sign-in is what authorises."""
    return get_settings().default_return_url


def announce_connected(connection: ConnectionRecord) -> None:
    """A first connect, or a reconnect after breakage N (each breakage heals once: id from N);
    signing in again to an account that is already connected changes nothing and posts nothing."""
    outbox.post(
        connection.user_id,
        f"connected.{connection.connection_id}.{connection.breakage_count}",
        CONNECTED,
        {
            "connectionId": connection.connection_id,
            "email": connection.email,
            "status": connection.status.value,
            "reconnected": connection.breakage_count > 0,
            "connectedAt": connection.updated_at.isoformat(),
        },
    )


def announce_disconnected(connection: ConnectionRecord) -> None:
    """Posted before the connection is deleted, so a crash in between loses nothing; a connection
    id is never reused (connecting the account again makes a new one), so the id is the change."""
    outbox.post(
        connection.user_id,
        f"disconnected.{connection.connection_id}",
        DISCONNECTED,
        {
            "connectionId": connection.connection_id,
            "email": connection.email,
            "disconnectedAt": datetime.now(UTC).isoformat(),
        },
    )
