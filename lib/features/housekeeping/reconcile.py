"""The reconciliation timer, a backstop every few hours: one `sync-requests` message per connected
connection, each of which delta-syncs every conflict calendar, recreates subscriptions Graph lost
(or that carry an old clientState key) and removes leftovers. With
`SLOTBRIDGE_SYNC_RECONCILE_SPREAD_MINUTES` the messages are spread over that many minutes instead of
all arriving at once (docs/capacity.md: at 100k hosts the burst would take most of a minute of one
queue and minutes of Graph's per-app rate)."""

from __future__ import annotations

import hashlib
import logging

from lib.core.housekeeping import run_steps
from lib.core.settings import get_settings
from lib.features.bookings.idempotency import sweep_expired
from lib.features.bookings.locks import sweep_past
from lib.features.connections.connect_flow import sweep_expired_flows
from lib.features.connections.records import ConnectionStatus
from lib.features.connections.repository import all_connections
from lib.features.outbox.service import resend_overdue
from lib.features.sync import requests_queue
from lib.features.sync.messages import SyncRequest, SyncScope

log = logging.getLogger("slotbridge.sync.reconcile")


def enqueue_all() -> int:
    spread_s = get_settings().sync.reconcile_spread_minutes * 60
    count = 0
    for connection in all_connections():
        if connection.status is not ConnectionStatus.CONNECTED:
            continue
        requests_queue.enqueue(
            SyncRequest(
                SyncScope.CONNECTION,
                connection.user_id,
                "reconcile",
                connection_id=connection.connection_id,
                verify_subscriptions=True,
            ),
            delay_s=spread_offset_s(connection.connection_id, spread_s),
        )
        count += 1
    log.info("sync_reconcile enqueued=%d", count)
    housekeeping()
    return count


def spread_offset_s(connection_id: str, spread_s: int) -> int | None:
    """How long a connection's reconciliation message stays invisible: a fixed offset within the
    spread from a hash of its id, so each connection is still reconciled once per period and the
    connections spread evenly; None (at once) without a spread."""
    if spread_s <= 0:
        return None
    digest = hashlib.sha256(connection_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % spread_s


def housekeeping() -> None:
    """What else the backstop timer cleans up, cheap and in no hurry: abandoned sign-in flows,
    expired idempotency claims and slot locks of cells a week past; and it resends webhook
    deliveries whose queue message was lost (the outbox row is the record). Bookings stuck `pending` and
    late booking events have their own, frequent timer (`lib.features.bookings.housekeeping`)."""
    run_steps(
        log,
        (
            ("expired sign-in flows removed", sweep_expired_flows),
            ("expired idempotency claims removed", sweep_expired),
            ("past slot locks removed", sweep_past),
            ("overdue webhook deliveries resent", resend_overdue),
        ),
    )
