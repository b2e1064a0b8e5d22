"""The renewal timer: subscriptions that expire within the renewal window are renewed (through
the connection's change feed) to the longest lifetime the service allows, and the expiry it
returns is stored. A subscription the service cannot renew (`SubscriptionNotRenewable`: Google's
channels) is replaced, new before old, without a resync (`lifecycle.replace_subscription`). A
subscription the service no longer knows (`SubscriptionGone`) is recreated and its calendar fully
resynced (through `sync-requests`).

Two timer instances never act on one subscription: each takes the subscription row's lease (an
ETag-guarded write) first. Connections in `needs_reconnect` are skipped — that is how their
subscriptions are paused; they lapse, and a reconnect recreates them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lib.core.errors import NeedsReconnect
from lib.core.settings import get_settings
from lib.features.connections.records import ConnectionStatus
from lib.features.connections.repository import find_connection
from lib.features.sync import requests_queue, subscriptions
from lib.features.sync.feed import feed_for
from lib.features.sync.lifecycle import note_renewed, replace_subscription
from lib.features.sync.messages import SyncRequest, SyncScope
from lib.features.sync.sync_state import CalendarKey, new_owner
from lib.providers.change_feed import SubscriptionGone, SubscriptionNotRenewable

log = logging.getLogger("slotbridge.sync.renewal")


@dataclass
class RenewalReport:
    renewed: int = 0
    recreated: int = 0
    skipped: int = 0
    failed: int = 0


def renew_expiring(now: datetime | None = None) -> RenewalReport:
    now = now or datetime.now(UTC)
    limit = now + timedelta(minutes=get_settings().sync.renewal_window_minutes)
    report = RenewalReport()
    for record in subscriptions.expiring_before(limit):
        connection = find_connection(record.user_id, record.connection_id)
        if connection is None:
            subscriptions.forget(record.subscription_id)  # its connection is gone
            continue
        if connection.status is ConnectionStatus.NEEDS_RECONNECT:
            report.skipped += 1
            continue
        owner = new_owner()
        if subscriptions.take_lease(record.subscription_id, owner) is None:
            report.skipped += 1  # another instance is on it
            continue
        key = CalendarKey(connection.user_id, connection.connection_id, record.calendar_id)
        try:
            feed = feed_for(connection)
            try:
                expires = feed.renew(record.subscription_id)
                note_renewed(key, record.subscription_id, expires)
            except SubscriptionNotRenewable:
                replace_subscription(feed, key, record.subscription_id)
            report.renewed += 1  # replaced counts as renewed: the calendar stays covered
        except SubscriptionGone:
            subscriptions.forget(record.subscription_id)
            requests_queue.enqueue(
                SyncRequest(
                    SyncScope.CALENDAR,
                    connection.user_id,
                    "subscription_not_found",
                    connection_id=connection.connection_id,
                    calendar_id=record.calendar_id,
                    full=True,
                    resubscribe=True,
                )
            )
            report.recreated += 1
        except NeedsReconnect:
            report.skipped += 1
        except Exception:
            # subscription_renewal_failed is the prefix the operations alert counts (docs/operations.md).
            log.exception("subscription_renewal_failed subscription=%s", record.subscription_id)
            report.failed += 1
        finally:
            subscriptions.release_lease(record.subscription_id, owner)
    log.info(
        "subscription_renewal renewed=%d recreated=%d skipped=%d failed=%d",
        report.renewed,
        report.recreated,
        report.skipped,
        report.failed,
    )
    return report
