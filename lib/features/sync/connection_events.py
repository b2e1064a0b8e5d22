"""What lib.features.connections tells the sync machinery, and "Sync now".

`on_connected` and `on_conflict_calendars_changed` only enqueue (the work — subscriptions, the
initial import — runs in the `sync-requests` queue trigger, so the callback and settings requests
stay fast, and Graph's validation handshake never waits on the request that caused it). They never
raise: a failed enqueue is logged, and the reconciliation timer catches up. `on_disconnecting` runs
inline, before the tokens are wiped, because deleting subscriptions needs them.
"""

from __future__ import annotations

import logging
import uuid

from lib.adapters.storage.tables import RecordNotFound
from lib.core.errors import NeedsReconnect
from lib.features.connections.records import ConnectionStatus
from lib.features.connections.repository import find_connection
from lib.features.sync import requests_queue, sync_requests
from lib.features.sync.messages import SYNC_NOW, SyncRequest, SyncScope

log = logging.getLogger("slotbridge.sync.events")


def _enqueue_best_effort(request: SyncRequest) -> None:
    try:
        requests_queue.enqueue(request)
    except Exception as error:
        log.error(
            "Could not enqueue a %s sync request (%s); reconciliation will catch up",
            request.reason,
            type(error).__name__,
        )


def on_connected(user_id: str, connection_id: str) -> None:
    """A connect (or reconnect) succeeded: subscribe its conflict calendars and import them."""
    _enqueue_best_effort(
        SyncRequest(
            SyncScope.CONNECTION,
            user_id,
            "connect",
            connection_id=connection_id,
            full=True,
            verify_subscriptions=True,
        )
    )


def on_conflict_calendars_changed(user_id: str) -> None:
    """The user's calendar settings, or a link naming the user's calendars, were stored (or the
    link deleted): subscribe new conflict calendars, drop ones nothing uses any more."""
    _enqueue_best_effort(SyncRequest(SyncScope.USER, user_id, "calendar_settings"))


def on_disconnecting(user_id: str, connection_id: str) -> None:
    """Before a connection's tokens are wiped: its subscriptions deleted (best effort), its sync
    state and busy cache wiped."""
    connection = find_connection(user_id, connection_id)
    if connection is not None:
        sync_requests.forget_connection(connection)


def sync_now(user_id: str, connection_id: str) -> None:
    """`POST .../sync`: a full re-read of the connection's conflict calendars, queued."""
    connection = find_connection(user_id, connection_id)
    if connection is None:
        raise RecordNotFound("No such connection for this user.")
    if connection.status is ConnectionStatus.NEEDS_RECONNECT:
        raise NeedsReconnect("This Microsoft account must be reconnected before it can be synced.")
    requests_queue.enqueue(
        SyncRequest(
            SyncScope.CONNECTION,
            user_id,
            SYNC_NOW,
            connection_id=connection_id,
            full=True,
            verify_subscriptions=True,
            request_id=uuid.uuid4().hex,
        )
    )
