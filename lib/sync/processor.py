"""The `graph-notifications` queue trigger's logic: a notice is a hint, never data. It names a
connection and a calendar (through the verified clientState); the calendar worker records it and
re-reads Graph under the calendar's lease, so a burst of notices costs one delta round, duplicates
and out-of-order notices end in the same state, and nothing in a notice is stored.
"""

from __future__ import annotations

import logging

from lib.connections.records import ConnectionRecord, ConnectionStatus
from lib.errors import NeedsReconnect
from lib.storage import storage_account
from lib.sync import calendar_worker, lifecycle
from lib.sync.messages import GraphNotice, NoticeKind
from lib.sync.sync_state import CalendarSyncRecord, WorkRequest, sync_states

log = logging.getLogger("slotbridge.sync.processor")


def state_for(notice: GraphNotice) -> CalendarSyncRecord | None:
    found = sync_states().query(
        partition=notice.connection_id,
        where="calendar_digest eq @digest",
        parameters={"digest": notice.calendar_digest},
    )
    return next(iter(found), None)


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
    connection = storage_account().table(ConnectionRecord).find(state.user_id, state.connection_id)
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
