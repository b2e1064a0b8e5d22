"""Subscriptions, one per conflict calendar, made through the connection's change feed
(`lib.providers.change_feed`: subscribe, renew, reauthorize, unsubscribe), and their records (by
subscription id). The expiry the service returns is the truth: it is what is stored, and renewal
works from it.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from lib.adapters.storage import storage_account
from lib.adapters.storage.records import TableRecord
from lib.adapters.storage.tables import RecordNotFound, Table
from lib.features.sync.client_state import current_key, key_fingerprint, make_client_state
from lib.providers.change_feed import ChangeFeed

log = logging.getLogger("slotbridge.sync.subscriptions")

LEASE_DURATION = timedelta(seconds=60)


@dataclasses.dataclass(kw_only=True)
class SubscriptionRecord(TableRecord):
    table_kind: ClassVar[str] = "subscriptions"
    partition_fields: ClassVar[tuple[str, ...]] = ("subscription_id",)
    row_fields: ClassVar[tuple[str, ...]] = ("kind",)

    subscription_id: str
    kind: str = "subscription"
    user_id: str
    connection_id: str
    calendar_id: str
    expires_at: datetime
    key_fingerprint: str  # which clientState key signed it (rotation is noticed by reconciliation)
    created_at: datetime
    renewed_at: datetime | None = None
    # Renewal lease: two timer instances never act on one subscription at once.
    lease_owner: str | None = None
    lease_until: datetime | None = None


def subscription_records() -> Table[SubscriptionRecord]:
    return storage_account().table(SubscriptionRecord)


def create(feed: ChangeFeed, user_id: str, connection_id: str, calendar_id: str) -> SubscriptionRecord:
    """Subscribe the calendar at its service (which may first run a validation handshake against
    our intake) and store its record."""
    key = current_key()
    made = feed.subscribe(calendar_id, make_client_state(connection_id, calendar_id, key))
    record = SubscriptionRecord(
        subscription_id=made.subscription_id,
        user_id=user_id,
        connection_id=connection_id,
        calendar_id=calendar_id,
        expires_at=made.expires_at,
        key_fingerprint=key_fingerprint(key),
        created_at=datetime.now(UTC),
    )
    subscription_records().put(record)  # a new id: this is the only writer so far
    log.info("Subscription %s created (connection %s)", record.subscription_id, connection_id)
    return record


def forget(subscription_id: str) -> None:
    table = subscription_records()
    record = table.find(subscription_id, "subscription")
    if record is not None:
        try:
            table.delete(record)
        except RecordNotFound:
            pass


def record_expiry(subscription_id: str, expires_at: datetime) -> None:
    def apply(current: SubscriptionRecord) -> SubscriptionRecord:
        current.expires_at = expires_at
        current.renewed_at = datetime.now(UTC)
        return current

    try:
        subscription_records().mutate(subscription_id, "subscription", apply)
    except RecordNotFound:
        pass


def take_lease(subscription_id: str, owner: str) -> SubscriptionRecord | None:
    """The record with `owner` holding its renewal lease, or None if someone else holds it (or it
    is gone). ETag-guarded: of two concurrent callers exactly one gets it."""
    now = datetime.now(UTC)

    def apply(current: SubscriptionRecord) -> SubscriptionRecord | None:
        if current.lease_owner and current.lease_until and current.lease_until > now:
            return None
        current.lease_owner, current.lease_until = owner, now + LEASE_DURATION
        return current

    try:
        record = subscription_records().mutate(subscription_id, "subscription", apply)
    except RecordNotFound:
        return None
    return record if record.lease_owner == owner else None


def release_lease(subscription_id: str, owner: str) -> None:
    def apply(current: SubscriptionRecord) -> SubscriptionRecord | None:
        if current.lease_owner != owner:
            return None
        current.lease_owner, current.lease_until = None, None
        return current

    try:
        subscription_records().mutate(subscription_id, "subscription", apply)
    except RecordNotFound:
        pass


def expiring_before(limit: datetime) -> list[SubscriptionRecord]:
    return list(subscription_records().query(where="expires_at lt @limit", parameters={"limit": limit}))
