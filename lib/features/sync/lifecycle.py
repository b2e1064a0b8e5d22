"""Lifecycle notifications of a calendar's subscription.

- `reauthorizationRequired`: renew (which also reauthorizes) when the subscription is within the
  renewal window anyway, else reauthorize (through the connection's change feed); a subscription
  the service no longer knows (`SubscriptionGone`) -> recreate + resync; one the service cannot
  renew (`SubscriptionNotRenewable`) -> `replace_subscription`;
- `subscriptionRemoved`: recreate the subscription, then a full resync (changes in between were not
  announced);
- `missed`: a full resync.
A broken grant raises `NeedsReconnect` from `graph_for`, which has marked the connection (one outbox
message); the processor then leaves the calendar alone until the account is reconnected.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from lib.adapters.storage.tables import RecordNotFound
from lib.core.settings import get_settings
from lib.features.connections.records import ConnectionRecord
from lib.features.sync import calendar_worker, subscriptions
from lib.features.sync.feed import feed_for
from lib.features.sync.messages import GraphNotice, LifecycleEvent
from lib.features.sync.sync_state import CalendarKey, CalendarSyncRecord, WorkRequest, mutate_state
from lib.providers.change_feed import ChangeFeed, SubscriptionGone, SubscriptionNotRenewable

log = logging.getLogger("slotbridge.sync.lifecycle")


def handle(connection: ConnectionRecord, state: CalendarSyncRecord, notice: GraphNotice) -> str:
    event = notice.lifecycle_event
    log.info("lifecycle_event event=%s subscription=%s", event, notice.subscription_id)
    if event == LifecycleEvent.MISSED:
        return calendar_worker.drive(connection, state.calendar_id, WorkRequest(full=True, notification=True))
    if event == LifecycleEvent.SUBSCRIPTION_REMOVED:
        if state.subscription_id not in (None, notice.subscription_id):
            subscriptions.forget(notice.subscription_id)  # an old one; the current one is fine
            return "stale"
        return calendar_worker.drive(connection, state.calendar_id, WorkRequest(resubscribe=True))
    if event == LifecycleEvent.REAUTHORIZATION_REQUIRED:
        return _reauthorize(connection, state, notice.subscription_id)
    return "ignored"


def _reauthorize(connection: ConnectionRecord, state: CalendarSyncRecord, subscription_id: str) -> str:
    feed = feed_for(connection)
    window = timedelta(minutes=get_settings().sync.renewal_window_minutes)
    now = datetime.now(UTC)
    try:
        if state.subscription_expires_at is None or state.subscription_expires_at - now < window:
            expires = feed.renew(subscription_id)
            note_renewed(state.key, subscription_id, expires)
            return "renewed"
        feed.reauthorize(subscription_id)
        return "reauthorized"
    except SubscriptionNotRenewable:
        replace_subscription(feed, state.key, subscription_id)
        return "replaced"
    except SubscriptionGone:
        subscriptions.forget(subscription_id)
        if state.subscription_id not in (None, subscription_id):
            return "stale"
        return calendar_worker.drive(connection, state.calendar_id, WorkRequest(resubscribe=True))


def note_renewed(key: CalendarKey, subscription_id: str, expires: datetime) -> None:
    """Store the expiry the service returned, on the subscription and on the calendar's state."""
    subscriptions.record_expiry(subscription_id, expires)

    def apply(current: CalendarSyncRecord) -> CalendarSyncRecord | None:
        if current.subscription_id != subscription_id:
            return None
        current.subscription_expires_at = expires
        return current

    try:
        mutate_state(key, apply)
    except RecordNotFound:
        pass


def replace_subscription(feed: ChangeFeed, key: CalendarKey, old_id: str) -> None:
    """For a subscription the service cannot renew: subscribe the calendar anew, point its state at
    the new subscription, and only then unsubscribe the old one (new before old, so no change goes
    unannounced). The cursor stays: it is the calendar's, so sync reads on without a resync. If
    the calendar has moved on meanwhile (another subscription, or no longer synced), the new one
    and the old one are both stale and removed."""
    new = subscriptions.create(feed, key.user_id, key.connection_id, key.calendar_id)

    def apply(current: CalendarSyncRecord) -> CalendarSyncRecord | None:
        if current.subscription_id != old_id:
            return None
        current.subscription_id, current.subscription_expires_at = new.subscription_id, new.expires_at
        return current

    try:
        moved = mutate_state(key, apply).subscription_id == new.subscription_id
    except RecordNotFound:
        moved = False
    for stale in (old_id,) if moved else (new.subscription_id, old_id):
        calendar_worker.remove_subscription(feed, stale)
