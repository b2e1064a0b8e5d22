"""Graph subscriptions, one per conflict calendar (`me/calendars/{id}/events`; created, updated,
deleted), and their records (by subscription id).

The expiry Graph returns is the truth: it is what is stored, and renewal works from it. Outlook
events allow at most 10080 minutes; we ask for a little less so clock skew never makes Graph refuse.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

from lib.adapters.graph import GraphClient, GraphNotFound
from lib.adapters.storage import storage_account
from lib.adapters.storage.records import TableRecord
from lib.adapters.storage.tables import RecordNotFound, Table
from lib.core.settings import get_settings
from lib.features.sync.client_state import current_key, key_fingerprint, make_client_state

log = logging.getLogger("slotbridge.sync.subscriptions")

MAX_LIFETIME = timedelta(minutes=10080)
REQUESTED_LIFETIME = timedelta(minutes=10070)
CHANGE_TYPES = "created,updated,deleted"
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


def calendar_resource(calendar_id: str) -> str:
    return f"me/calendars/{quote(calendar_id, safe='')}/events"


def graph_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def parse_expiry(value: Any) -> datetime:
    text = str(value or "").rstrip("Z")
    if "." in text:
        head, fraction = text.split(".", 1)
        text = f"{head}.{fraction[:6]}"
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def requested_expiry(now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) + REQUESTED_LIFETIME


def create(client: GraphClient, user_id: str, connection_id: str, calendar_id: str) -> SubscriptionRecord:
    """Create the calendar's subscription at Graph (Graph runs the validation handshake against our
    intake before it answers) and store its record."""
    settings = get_settings()
    key = current_key()
    body = {
        "changeType": CHANGE_TYPES,
        "notificationUrl": settings.notification_url,
        "lifecycleNotificationUrl": settings.lifecycle_notification_url,
        "resource": calendar_resource(calendar_id),
        "expirationDateTime": graph_time(requested_expiry()),
        "clientState": make_client_state(connection_id, calendar_id, key),
        "latestSupportedTlsVersion": "v1_2",
    }
    answer = client.post("/subscriptions", json=body) or {}
    now = datetime.now(UTC)
    record = SubscriptionRecord(
        subscription_id=str(answer["id"]),
        user_id=user_id,
        connection_id=connection_id,
        calendar_id=calendar_id,
        expires_at=parse_expiry(answer.get("expirationDateTime")),
        key_fingerprint=key_fingerprint(key),
        created_at=now,
    )
    subscription_records().put(record)  # a new id: this is the only writer so far
    log.info("Subscription %s created (connection %s)", record.subscription_id, connection_id)
    return record


def renew(client: GraphClient, subscription_id: str) -> datetime:
    """PATCH the expiry to the longest lifetime allowed; returns the expiry Graph answered.
    Raises GraphNotFound when the subscription is gone."""
    answer = client.patch(
        f"/subscriptions/{quote(subscription_id, safe='')}",
        {"expirationDateTime": graph_time(requested_expiry())},
    )
    return parse_expiry((answer or {}).get("expirationDateTime"))


def reauthorize(client: GraphClient, subscription_id: str) -> None:
    client.post(f"/subscriptions/{quote(subscription_id, safe='')}/reauthorize", idempotent=True)


def delete_remote(client: GraphClient, subscription_id: str) -> None:
    """Delete at Graph; already gone is fine."""
    try:
        client.delete(f"/subscriptions/{quote(subscription_id, safe='')}")
    except GraphNotFound:
        pass


def list_remote(client: GraphClient) -> list[dict[str, Any]]:
    """The app's subscriptions on this mailbox, as Graph lists them."""
    return list(client.iter_items("/subscriptions"))


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
