"""The reconciliation timer, a backstop every few hours: one `sync-requests` message per connected
connection, each of which delta-syncs every conflict calendar, recreates subscriptions Graph lost
(or that carry an old clientState key) and removes leftovers."""

from __future__ import annotations

import logging
from collections.abc import Callable

from lib.adapters.storage import storage_account
from lib.features.connections.records import ConnectionRecord, ConnectionStatus
from lib.features.sync import requests_queue
from lib.features.sync.messages import SyncRequest, SyncScope

log = logging.getLogger("slotbridge.sync.reconcile")


def enqueue_all() -> int:
    count = 0
    for connection in storage_account().table(ConnectionRecord).query():
        if connection.status is not ConnectionStatus.CONNECTED:
            continue
        requests_queue.enqueue(
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
    housekeeping()
    return count


def housekeeping() -> None:
    """What else the backstop timer cleans up, each step on its own so one failure skips only
    itself: bookings stuck `pending` are resolved (a crash between slot lock and event, or an
    unknown event outcome: the event found by its tag adopted, else the slot given back); an
    event that lands for a booking that failed meanwhile is deleted; abandoned sign-in flows,
    expired idempotency claims and slot locks of cells a week past go."""
    from lib.features.bookings.idempotency import sweep_expired
    from lib.features.bookings.locks import sweep_past
    from lib.features.bookings.service import delete_late_events, release_stale_pending
    from lib.features.connections.connect_flow import sweep_expired_flows

    steps: tuple[tuple[str, Callable[[], int]], ...] = (
        ("stale pending bookings resolved", release_stale_pending),
        ("late booking events deleted", delete_late_events),
        ("expired sign-in flows removed", sweep_expired_flows),
        ("expired idempotency claims removed", sweep_expired),
        ("past slot locks removed", sweep_past),
    )
    for name, step in steps:
        try:
            done = step()
        except Exception:
            log.exception("Housekeeping step failed (%s); the next round tries again", name)
            continue
        if done:
            log.info("housekeeping: %s=%d", name.replace(" ", "_"), done)
