"""Per-calendar sync state: one row per (connection, conflict calendar), shared by the intake's
processor, the sync-request worker, renewal and availability, so every write is under its ETag.

The rows live in the host's partition of the table its slot locks use (`HOST_TABLE_KIND`), under
RowKeys `sync|<connection>|<calendar>`: availability reads a host's freshness rows and its
bookings in one request.

Counters instead of flags, so that concurrent requests never cancel each other out:
- `pending_seq` goes up by one for every request for work (a notification, `missed`, sync now...);
- `full_seq` / `subscribe_seq` remember the `pending_seq` at which a full resync / a new
  subscription was last asked for;
- a worker that finishes a round covering `pending_seq == n` sets `synced_seq = n` (and
  `subscribed_seq = n` if it created a subscription).
Work is outstanding while `synced_seq < pending_seq`. The lease (`lease_owner`, `lease_until`) makes
one worker at a time run a calendar's rounds; everyone else just bumps `pending_seq` and leaves, and
the lease holder does not release the lease while work is outstanding (the release is a conditional
write, so a bump that races with it is never lost). N notifications for one calendar -> one round.

Freshness (`is_fresh`) is the rule availability uses to trust the busy cache.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import ClassVar, NamedTuple

from lib.adapters.storage import storage_account
from lib.adapters.storage.records import HOST_TABLE_KIND, TableRecord
from lib.adapters.storage.tables import AlreadyExists, RecordNotFound, Table
from lib.core.crypto import calendar_digest

LEASE_DURATION = timedelta(seconds=120)
MUTATE_ATTEMPTS = 40  # a burst of notifications hits one row from up to batchSize workers


class CalendarKey(NamedTuple):
    """Where a calendar's sync state is: the host's partition, then connection and calendar."""

    user_id: str
    connection_id: str
    calendar_id: str


class SyncMode:
    DELTA = "delta"  # calendarView/delta with a stored deltaLink
    VIEW = "view"  # delta does not serve this calendar: every round re-reads calendarView


@dataclasses.dataclass(kw_only=True)
class CalendarFreshness(TableRecord):
    """The part of a calendar's sync state that `is_fresh` needs: availability reads only these
    columns of the state rows (a projection), which halves the cost of that per-host read."""

    table_kind: ClassVar[str] = HOST_TABLE_KIND
    partition_fields: ClassVar[tuple[str, ...]] = ("user_id",)
    row_prefix: ClassVar[str] = "sync"
    row_fields: ClassVar[tuple[str, ...]] = ("connection_id", "calendar_id")
    projection: ClassVar[bool] = True

    connection_id: str
    calendar_id: str
    user_id: str
    # The calendar's current subscription (the SubscriptionRecord holds the rest).
    subscription_id: str | None = None
    subscription_expires_at: datetime | None = None
    # The window the last round's busy rows cover.
    window_start: datetime | None = None
    window_end: datetime | None = None
    last_synced_at: datetime | None = None
    # Work counters (see the module docstring).
    pending_seq: int = 0
    synced_seq: int = 0

    @property
    def outstanding(self) -> bool:
        return self.synced_seq < self.pending_seq

    @property
    def key(self) -> CalendarKey:
        return CalendarKey(self.user_id, self.connection_id, self.calendar_id)


@dataclasses.dataclass(kw_only=True)
class CalendarSyncRecord(CalendarFreshness):
    """The whole row, which every writer reads and writes under its ETag."""

    projection: ClassVar[bool] = False

    calendar_digest: str
    # Where the next delta round starts.
    mode: str = SyncMode.DELTA
    delta_link: str | None = None
    mailbox_time_zone: str | None = None
    last_notification_at: datetime | None = None
    last_error: str | None = None
    full_seq: int = 0
    subscribe_seq: int = 0
    subscribed_seq: int = 0
    lease_owner: str | None = None
    lease_until: datetime | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def wants_full(self) -> bool:
        return self.full_seq > self.synced_seq

    @property
    def wants_subscription(self) -> bool:
        return self.subscribe_seq > self.subscribed_seq

    def lease_free(self, now: datetime) -> bool:
        return self.lease_owner is None or self.lease_until is None or self.lease_until <= now


def sync_states() -> Table[CalendarSyncRecord]:
    return storage_account().table(CalendarSyncRecord)


def calendar_freshness() -> Table[CalendarFreshness]:
    return storage_account().table(CalendarFreshness)


def find_state(key: CalendarKey) -> CalendarSyncRecord | None:
    return sync_states().find(key.user_id, key[1:])


def connection_states(user_id: str, connection_id: str) -> list[CalendarSyncRecord]:
    """The sync state of every calendar of one connection (one range of the host's partition)."""
    return list(
        sync_states().query(
            partition=user_id,
            where="RowKey ge @first and RowKey lt @last",
            parameters={
                "first": CalendarSyncRecord.compose_row_key(connection_id, ""),
                "last": CalendarSyncRecord.compose_row_key(connection_id) + "}",
            },
        )
    )


def mutate_state(
    key: CalendarKey, change: Callable[[CalendarSyncRecord], CalendarSyncRecord | None]
) -> CalendarSyncRecord:
    """`Table.mutate` on the calendar's row, with the attempts a burst of notifications needs."""
    return sync_states().mutate(key.user_id, key[1:], change, attempts=MUTATE_ATTEMPTS)


def new_owner() -> str:
    return uuid.uuid4().hex


@dataclasses.dataclass(frozen=True)
class WorkRequest:
    """What a caller asks of a calendar. Every request bumps `pending_seq`."""

    full: bool = False
    resubscribe: bool = False
    notification: bool = False


def ensure_state(key: CalendarKey) -> CalendarSyncRecord:
    """The calendar's state row, created (wanting a subscription and a full sync) if missing."""
    found = find_state(key)
    if found is not None:
        return found
    now = datetime.now(UTC)
    record = CalendarSyncRecord(
        connection_id=key.connection_id,
        calendar_id=key.calendar_id,
        user_id=key.user_id,
        calendar_digest=calendar_digest(key.calendar_id),
        pending_seq=1,
        full_seq=1,
        subscribe_seq=1,
        created_at=now,
        updated_at=now,
    )
    try:
        return sync_states().create(record)
    except AlreadyExists:
        return sync_states().get(key.user_id, key[1:])


def request_work(key: CalendarKey, request: WorkRequest, owner: str) -> tuple[CalendarSyncRecord, bool]:
    """Record the request and take the lease if it is free: (state, whether `owner` holds the lease)."""
    now = datetime.now(UTC)

    def bump(current: CalendarSyncRecord) -> CalendarSyncRecord:
        current.pending_seq += 1
        if request.full or request.resubscribe:
            current.full_seq = current.pending_seq
        if request.resubscribe:
            current.subscribe_seq = current.pending_seq
        if request.notification:
            current.last_notification_at = now
        if current.lease_free(now):
            current.lease_owner, current.lease_until = owner, now + LEASE_DURATION
        current.updated_at = now
        return current

    state = mutate_state(key, bump)
    return state, state.lease_owner == owner


class LeaseLost(RuntimeError):
    """The lease expired and another worker took it; the new holder will do the work."""


def write_as_holder(key: CalendarKey, owner: str, **fields: object) -> CalendarSyncRecord:
    """Set `fields` while holding the lease (and extend it)."""
    now = datetime.now(UTC)

    def apply(current: CalendarSyncRecord) -> CalendarSyncRecord:
        if current.lease_owner != owner:
            raise LeaseLost(f"lease on a calendar of connection {key.connection_id} lost")
        for name, value in fields.items():
            setattr(current, name, value)
        current.lease_until = now + LEASE_DURATION
        current.updated_at = now
        return current

    return mutate_state(key, apply)


def finish_round(
    key: CalendarKey, owner: str, covered_seq: int, subscribed: bool, **fields: object
) -> CalendarSyncRecord:
    """Record a finished round that covered requests up to `covered_seq`; release the lease unless
    more work arrived meanwhile (then the caller keeps the lease and runs another round)."""
    now = datetime.now(UTC)

    def apply(current: CalendarSyncRecord) -> CalendarSyncRecord:
        if current.lease_owner != owner:
            raise LeaseLost(f"lease on a calendar of connection {key.connection_id} lost")
        for name, value in fields.items():
            setattr(current, name, value)
        current.synced_seq = max(current.synced_seq, covered_seq)
        if subscribed:
            current.subscribed_seq = max(current.subscribed_seq, covered_seq)
        current.last_error = None
        if current.outstanding:
            current.lease_until = now + LEASE_DURATION
        else:
            current.lease_owner, current.lease_until = None, None
        current.updated_at = now
        return current

    return mutate_state(key, apply)


def release_after_failure(key: CalendarKey, owner: str, error_code: str) -> None:
    """Give the lease back after a failed round; the work stays outstanding (so not fresh)."""
    now = datetime.now(UTC)

    def apply(current: CalendarSyncRecord) -> CalendarSyncRecord | None:
        if current.lease_owner != owner:
            return None
        current.lease_owner, current.lease_until = None, None
        current.last_error = error_code
        current.updated_at = now
        return current

    try:
        mutate_state(key, apply)
    except RecordNotFound:
        pass


def is_fresh(
    state: CalendarFreshness | None, start_utc: datetime, end_utc: datetime, now: datetime | None = None
) -> bool:
    """Whether the busy cache can answer for this calendar and range without asking Graph:
    a live subscription (so changes are being announced), a completed sync that covers every
    notification and request recorded since (which includes any `missed` lifecycle event), and a
    synced window that contains the range. The caller also checks that the connection is connected."""
    now = now or datetime.now(UTC)
    return (
        state is not None
        and state.subscription_id is not None
        and state.subscription_expires_at is not None
        and state.subscription_expires_at > now
        and state.last_synced_at is not None
        and not state.outstanding
        and state.window_start is not None
        and state.window_end is not None
        and state.window_start <= start_utc
        and end_utc <= state.window_end
    )
