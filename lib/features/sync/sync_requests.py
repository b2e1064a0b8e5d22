"""The `sync-requests` queue: background sync work that is not a Graph notice — an initial import
on connect, a change of conflict calendars, "Sync now", reconciliation, a subscription to recreate.

Processing a connection brings its synced calendars in line with the user's conflict calendars —
those of the calendar settings and those the user's links name (`connections.calendar_uses`):
calendars no longer chosen lose their subscription (best effort), sync state and cached rows; the
chosen ones get a subscription if they lack one and a sync round (full when asked).
"""

from __future__ import annotations

import logging
from typing import Any

from lib.adapters.storage.tables import ConcurrentUpdate, RecordNotFound
from lib.core.errors import NeedsReconnect, OutlookUnavailable
from lib.features.connections import calendar_uses
from lib.features.connections.records import ConnectionRecord, ConnectionStatus
from lib.features.connections.repository import calendar_settings, find_connection, user_connections
from lib.features.outbox import service as outbox
from lib.features.outbox.event_types import EventType
from lib.features.sync import busy_cache, calendar_worker, changes, subscriptions
from lib.features.sync.client_state import current_key, key_fingerprint
from lib.features.sync.feed import feed_for
from lib.features.sync.messages import SYNC_NOW, SyncRequest, SyncScope
from lib.features.sync.sync_state import (
    CalendarSyncRecord,
    WorkRequest,
    connection_states,
    find_state,
    sync_states,
)
from lib.providers.change_feed import ChangeFeed

log = logging.getLogger("slotbridge.sync.requests")

SYNC_COMPLETED: EventType = "sync.completed"


def process(request: SyncRequest) -> dict[str, Any]:
    """Do what the request asks; raises (after doing what it could) when something is worth a retry."""
    if request.scope is SyncScope.USER:
        connections = user_connections(request.user_id)
    else:
        assert request.connection_id is not None
        found = find_connection(request.user_id, request.connection_id)
        connections = [found] if found is not None else []
    results: dict[str, Any] = {}
    failure: Exception | None = None
    for connection in connections:
        try:
            results[connection.connection_id] = process_connection(connection, request)
        except NeedsReconnect:
            results[connection.connection_id] = "needs_reconnect"
        except Exception as error:
            failure = failure or error
            results[connection.connection_id] = "failed"
    if failure is not None:
        raise failure
    return results


def conflict_calendar_ids(connection: ConnectionRecord) -> list[str]:
    """The connection's calendars checked for conflicts anywhere: the settings' and the links'."""
    refs = calendar_uses.conflict_calendars(
        calendar_settings(connection.user_id), calendar_uses.link_calendars(connection.user_id)
    )
    return [calendar_id for connection_id, calendar_id in refs if connection_id == connection.connection_id]


def process_connection(connection: ConnectionRecord, request: SyncRequest) -> dict[str, str]:
    if connection.status is ConnectionStatus.NEEDS_RECONNECT:
        return {"status": "paused"}  # subscriptions are paused until the account is reconnected
    if request.recheck_event_ids:
        return _recheck(connection, request)
    wanted = conflict_calendar_ids(connection)
    if request.scope is SyncScope.CALENDAR:
        wanted = [c for c in wanted if c == request.calendar_id]
    existing = {s.calendar_id: s for s in connection_states(connection.user_id, connection.connection_id)}
    feed: ChangeFeed | None = None
    if request.scope is not SyncScope.CALENDAR:
        stale = [s for cal, s in existing.items() if cal not in wanted]
        if stale:
            feed = feed_for(connection)
            for state in stale:
                remove_calendar(feed, state)
    resubscribe: set[str] = set()
    if request.verify_subscriptions and wanted:
        feed = feed or feed_for(connection)
        resubscribe = verify_subscriptions(feed, connection, wanted, existing)
    outcome: dict[str, str] = {}
    failure: Exception | None = None
    for calendar_id in wanted:
        work = WorkRequest(full=request.full, resubscribe=request.resubscribe or calendar_id in resubscribe)
        try:
            outcome[calendar_id] = calendar_worker.drive(connection, calendar_id, work)
        except NeedsReconnect:
            raise
        except Exception as error:
            failure = failure or error
            outcome[calendar_id] = "failed"
    if failure is not None:
        raise failure
    if request.reason == SYNC_NOW and request.request_id:
        _announce_sync_completed(connection, request.request_id)
    return outcome


def _announce_sync_completed(connection: ConnectionRecord, request_id: str) -> None:
    """`sync.completed`: the "Sync now" re-read is done (once per request: the id names it)."""
    synced = [s.last_synced_at for s in connection_states(connection.user_id, connection.connection_id)]
    last = max((t for t in synced if t is not None), default=None)
    outbox.post(
        connection.user_id,
        f"sync_completed.{connection.connection_id}.{request_id}",
        SYNC_COMPLETED,
        {
            "connectionId": connection.connection_id,
            "calendars": len(synced),
            "lastSyncedAt": last.isoformat() if last else None,
        },
    )


def verify_subscriptions(
    feed: ChangeFeed,
    connection: ConnectionRecord,
    wanted: list[str],
    existing: dict[str, CalendarSyncRecord],
) -> set[str]:
    """Compare with the service's list: calendars whose subscription is missing there, or was
    signed with an older clientState key, get a new one; our subscriptions nobody refers to are
    deleted."""
    ours = feed.our_subscriptions()
    fingerprint = key_fingerprint(current_key())
    resubscribe: set[str] = set()
    referenced: set[str] = set()
    for calendar_id in wanted:
        state = existing.get(calendar_id)
        if state is None or state.subscription_id is None:
            continue  # a new state wants a subscription anyway
        referenced.add(state.subscription_id)
        record = subscriptions.subscription_records().find(state.subscription_id, "subscription")
        if state.subscription_id not in ours or record is None or record.key_fingerprint != fingerprint:
            resubscribe.add(calendar_id)
    for subscription_id in set(ours) - referenced:
        calendar_worker.remove_subscription(feed, subscription_id)
    if resubscribe:
        log.info(
            "Reconciliation recreates %d subscription(s) of %s", len(resubscribe), connection.connection_id
        )
    return resubscribe


def remove_calendar(feed: ChangeFeed | None, state: CalendarSyncRecord) -> None:
    """A calendar that stopped being a conflict calendar (or whose connection goes away): its
    subscription (best effort at the service), its cached rows and its state."""
    if state.subscription_id:
        calendar_worker.remove_subscription(feed, state.subscription_id)
    busy_cache.wipe(state.connection_id, state.calendar_id)
    for _ in range(5):
        current = find_state(state.key)
        if current is None:
            return
        try:
            sync_states().delete(current)
            return
        except (ConcurrentUpdate, RecordNotFound):
            continue


def forget_connection(connection: ConnectionRecord) -> None:
    """Disconnect: every subscription of the connection deleted (best effort, and only while its
    grant still works), then its sync state and busy cache wiped."""
    feed: ChangeFeed | None = None
    if connection.status is ConnectionStatus.CONNECTED:
        try:
            feed = feed_for(connection, deadline_s=5.0)  # best effort: do not hold up the disconnect
        except Exception:
            feed = None
    for state in connection_states(connection.user_id, connection.connection_id):
        remove_calendar(feed, state)  # the service's failures are swallowed by remove_subscription
    leftovers = subscriptions.subscription_records().query(
        where="connection_id eq @c", parameters={"c": connection.connection_id}
    )
    for record in list(leftovers):
        calendar_worker.remove_subscription(feed, record.subscription_id)


class RecheckPending(OutlookUnavailable):
    """Some rechecked events still could not be handled; the queue retries the message."""


def _recheck(connection: ConnectionRecord, request: SyncRequest) -> dict[str, str]:
    assert request.calendar_id is not None  # guaranteed by SyncRequest.from_body
    again = changes.publish(
        changes.CalendarChanges(
            connection.user_id,
            connection.connection_id,
            request.calendar_id,
            request.recheck_event_ids,
            (),
            full_resync=False,
        )
    )
    if again:
        raise RecheckPending(f"{len(again)} changed event(s) could not be handled yet; retrying")
    return {"status": "rechecked", "events": str(len(request.recheck_event_ids))}
