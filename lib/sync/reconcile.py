"""The reconciliation timer, a backstop every few hours: one `sync-requests` message per connected
connection, each of which delta-syncs every conflict calendar, recreates subscriptions Graph lost
(or that carry an old clientState key) and removes leftovers."""

from __future__ import annotations

import logging

from lib.connections.records import ConnectionRecord, ConnectionStatus
from lib.storage import storage_account
from lib.sync import sync_requests
from lib.sync.messages import SyncRequest, SyncScope

log = logging.getLogger("slotbridge.sync.reconcile")


def enqueue_all() -> int:
    count = 0
    for connection in storage_account().table(ConnectionRecord).query():
        if connection.status is not ConnectionStatus.CONNECTED:
            continue
        sync_requests.enqueue(
            SyncRequest(
                SyncScope.CONNECTION,
                connection.user_id,
                "reconcile",
                connection_id=connection.connection_id,
                verify_subscriptions=True,
            )
        )
        count += 1
    log.info("sync_reconcile enqueued=%d", count)
    _release_stale_bookings()
    return count


def _release_stale_bookings() -> None:
    """Bookings stuck `pending` (a crash between slot lock and event) give their slot back."""
    from lib.bookings.service import release_stale_pending

    try:
        release_stale_pending()
    except Exception:
        log.exception("Releasing stale pending bookings failed; the next round tries again")
