"""The `graph-notifications` queue trigger's logic: a notice is a hint, never data. It names a
connection and a calendar (through the verified clientState); the calendar worker records it and
re-reads Graph under the calendar's lease, so a burst of notices costs one delta round, duplicates
and out-of-order notices end in the same state, and nothing in a notice is stored.
"""

from __future__ import annotations

import logging

from lib.core.crypto import calendar_digest
from lib.core.errors import NeedsReconnect
from lib.features.connections.records import ConnectionStatus
from lib.features.connections.repository import find_connection
from lib.features.sync import calendar_worker, lifecycle
from lib.features.sync.messages import GraphNotice, NoticeKind
from lib.features.sync.subscriptions import subscription_records
from lib.features.sync.sync_state import CalendarKey, CalendarSyncRecord, WorkRequest, find_state

log = logging.getLogger("slotbridge.sync.processor")


def state_for(notice: GraphNotice) -> CalendarSyncRecord | None:
    """The sync state of the calendar the notice's subscription watches. The subscription record
    says whose calendar it is (the clientState names only connection and calendar digest, and the
    state is kept in the host's partition); a subscription already replaced or removed has none,
    and the calendar's current subscription announces its changes."""
    record = subscription_records().find(notice.subscription_id, "subscription")
    if (
        record is None
        or record.connection_id != notice.connection_id
        or calendar_digest(record.calendar_id) != notice.calendar_digest
    ):
        return None
    return find_state(CalendarKey(record.user_id, record.connection_id, record.calendar_id))


def process_notice(notice: GraphNotice) -> str:
    """Handle one notice; returns what happened (for logs and tests). Raises on failures worth a
    retry (Graph or storage unavailable); a broken grant is not one of them."""
    state = state_for(notice)
    if state is None:
        # Not (or no longer) a conflict calendar; its subscription is removed by reconciliation.
        log.info(
            "Notice for a calendar that is not synced (subscription %s); ignored", notice.subscription_id
        )
        return "unknown_calendar"
    connection = find_connection(state.user_id, state.connection_id)
    if connection is None or connection.status is ConnectionStatus.NEEDS_RECONNECT:
        return "paused"
    try:
        if notice.kind is NoticeKind.LIFECYCLE:
            return lifecycle.handle(connection, state, notice)
        return calendar_worker.drive(connection, state.calendar_id, WorkRequest(notification=True))
    except NeedsReconnect:
        log.info(
            "Connection %s needs reconnecting; notice left for after the reconnect", connection.connection_id
        )
        return "needs_reconnect"
