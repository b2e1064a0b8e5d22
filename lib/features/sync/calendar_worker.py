"""The work a conflict calendar needs — a subscription, then sync rounds — run by one worker at a
time under the calendar's lease (`sync_state`). Whoever does not get the lease has still recorded
its request; the holder keeps going until nothing is outstanding, so N requests -> one round.

The calendar is read through the connection's change feed (`lib.features.sync.feed`).
Raises what the provider or storage raised (after giving the lease back), so queue messages are
retried; `NeedsReconnect` (a broken grant, already marked by `graph_for`) is for the caller to
swallow. `CalendarGone` (for Microsoft: a 404 `ErrorItemNotFound` on the calendar's own routes)
means the service no longer has the calendar: it is recorded as missing
(`lib.features.connections.calendar_health`) and not retried, since the queue would only meet the
same answer; the calendar stays not fresh, and reconciliation looks again. Other failures (a 404
of the mailbox) fail the message like any provider error.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from lib.adapters.storage.tables import RecordNotFound
from lib.core.errors import SlotbridgeError
from lib.engine.busy_source import CALENDAR_MISSING
from lib.features.connections import calendar_health
from lib.features.connections.records import ConnectionRecord
from lib.features.sync import changes, delta_sync, subscriptions
from lib.features.sync.feed import feed_for
from lib.features.sync.messages import MAX_RECHECK_EVENTS, SyncRequest, SyncScope
from lib.features.sync.requests_queue import enqueue
from lib.features.sync.sync_state import (
    CalendarKey,
    CalendarSyncRecord,
    LeaseLost,
    WorkRequest,
    ensure_state,
    finish_round,
    new_owner,
    release_after_failure,
    request_work,
    write_as_holder,
)
from lib.providers.base import CalendarGone
from lib.providers.change_feed import ChangeFeed, SubscribeFailed

log = logging.getLogger("slotbridge.sync.worker")

MAX_ROUNDS = 20  # per invocation; a calendar that keeps changing is picked up by the next message
RECHECK_DELAY_S = 5


def drive(connection: ConnectionRecord, calendar_id: str, request: WorkRequest) -> str:
    """Record `request` for the calendar and, if its lease is free, do all outstanding work.
    Returns "coalesced" (another worker holds the lease and will do it) or "synced"."""
    owner = new_owner()
    key = CalendarKey(connection.user_id, connection.connection_id, calendar_id)
    ensure_state(key)
    state, holder = request_work(key, request, owner)
    if not holder:
        return "coalesced"
    return run_leased(connection, state, owner)


def needs_subscription(state: CalendarSyncRecord, now: datetime) -> bool:
    return (
        state.wants_subscription
        or state.subscription_id is None
        or state.subscription_expires_at is None
        or state.subscription_expires_at <= now
    )


def run_leased(connection: ConnectionRecord, state: CalendarSyncRecord, owner: str) -> str:
    conn_id, cal_id, key = connection.connection_id, state.calendar_id, state.key
    subscribe_error: SlotbridgeError | None = None
    try:
        feed = feed_for(connection)
        for _ in range(MAX_ROUNDS):
            target = state.pending_seq
            if needs_subscription(state, datetime.now(UTC)) and subscribe_error is None:
                try:
                    state = _resubscribe(feed, connection, state, owner, target)
                except SubscribeFailed as failure:
                    # Keep syncing (the cache is still worth filling; it is not fresh without a
                    # subscription) and fail the message afterwards so the subscription is retried.
                    subscribe_error = failure.problem
                    log.warning("Subscription for a calendar of %s failed: %s", conn_id, failure.reason)
            outcome = delta_sync.run_round(feed, state, full=state.wants_full)
            state = finish_round(key, owner, target, subscribed=False, **outcome.fields)
            gone = outcome.write.removed + outcome.write.removed_unseen
            if outcome.full or outcome.write.changed or gone:
                published = changes.CalendarChanges(
                    connection.user_id, conn_id, cal_id, outcome.write.changed, gone, outcome.full
                )
                queue_rechecks(published, changes.publish(published))
            log.info(
                "calendar_synced connection=%s full=%s changed=%d removed=%d",
                conn_id,
                outcome.full,
                len(outcome.write.changed),
                len(outcome.write.removed),
            )
            if state.lease_owner != owner:
                break
        else:
            release_after_failure(key, owner, "too_many_rounds")
    except (LeaseLost, RecordNotFound):
        return "abandoned"  # someone else took over, or the calendar stopped being a conflict calendar
    except CalendarGone:
        release_after_failure(key, owner, CALENDAR_MISSING)
        calendar_health.mark_missing(connection.user_id, conn_id, cal_id)
        return CALENDAR_MISSING
    except BaseException as error:
        code = error.code if isinstance(error, SlotbridgeError) else type(error).__name__
        release_after_failure(key, owner, code)
        raise
    calendar_health.note_reads(connection.user_id, [], [(conn_id, cal_id)])  # read: not missing
    if subscribe_error is not None:
        raise subscribe_error
    return "synced"


def queue_rechecks(published: changes.CalendarChanges, event_ids: tuple[str, ...]) -> None:
    """Events a listener could not handle go to the `sync-requests` queue, to be reported again
    (a short delay first: the Graph or storage trouble behind it is often a passing storm)."""
    for first in range(0, len(event_ids), MAX_RECHECK_EVENTS):
        enqueue(
            SyncRequest(
                SyncScope.CALENDAR,
                published.user_id,
                "recheck",
                connection_id=published.connection_id,
                calendar_id=published.calendar_id,
                recheck_event_ids=event_ids[first : first + MAX_RECHECK_EVENTS],
            ),
            delay_s=RECHECK_DELAY_S,
        )
    if event_ids:
        log.warning("events_recheck_queued connection=%s count=%d", published.connection_id, len(event_ids))


def _resubscribe(
    feed: ChangeFeed, connection: ConnectionRecord, state: CalendarSyncRecord, owner: str, target: int
) -> CalendarSyncRecord:
    old = state.subscription_id
    record = subscriptions.create(feed, connection.user_id, connection.connection_id, state.calendar_id)
    state = write_as_holder(
        state.key,
        owner,
        subscription_id=record.subscription_id,
        subscription_expires_at=record.expires_at,
        subscribed_seq=max(state.subscribed_seq, target),
    )
    if old and old != record.subscription_id:
        remove_subscription(feed, old)
    return state


def remove_subscription(feed: ChangeFeed | None, subscription_id: str) -> None:
    """Best effort at the service; the record goes in any case."""
    if feed is not None:
        try:
            feed.unsubscribe(subscription_id)
        except SlotbridgeError as error:
            log.info("Could not delete subscription %s at the service (%s)", subscription_id, error.code)
    subscriptions.forget(subscription_id)
