"""Stored rows of bookings.

Partitioning (decided here, documented in the README):
- a booking is its own partition (pk = booking id): the manage routes find it by id alone, and a
  booking's rows never contend with another's;
- what needs "per host" (the daily cap, overlapping slots) reads the host's slot-lock partition,
  which holds a row per 5-minute cell a live booking occupies, each naming its booking and its start;
- round-robin state is per link (pk = slug, rk = host user id).
"""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime
from typing import Any, ClassVar

from lib.adapters.storage.records import HOST_TABLE_KIND, TableRecord


class BookingStatus(enum.StrEnum):
    PENDING = "pending"  # locks taken, event not written yet (a crash here is cleaned up later)
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"  # by the attendee (manage token), the host (user token) or the product (API key)
    CANCELLED_IN_OUTLOOK = "cancelled_in_outlook"  # the host deleted the event in Outlook
    FAILED = "failed"  # never confirmed; its locks are released


LIVE_STATUSES = frozenset({BookingStatus.PENDING, BookingStatus.CONFIRMED})


@dataclasses.dataclass(kw_only=True)
class BookingRecord(TableRecord):
    table_kind: ClassVar[str] = "bookings"
    partition_fields: ClassVar[tuple[str, ...]] = ("booking_id",)
    row_fields: ClassVar[tuple[str, ...]] = ("kind",)

    booking_id: str
    kind: str = "booking"
    slug: str
    link_title: str
    host_user_id: str
    host_index: int = 0
    status: BookingStatus = BookingStatus.PENDING
    start_utc: datetime
    end_utc: datetime
    time_zone: str  # the link's zone when booked
    attendee_name: str
    attendee_email: str
    attendee_time_zone: str | None = None
    notes: str = ""
    # Invited besides the attendee (a meeting the product or host scheduled): [{"name", "email"}].
    guests: list[dict[str, str]] = dataclasses.field(default_factory=list)
    # Who made it: "attendee" (the booking page), "host" (their user token) or "product" (API key).
    created_by: str = "attendee"
    # Where the event lives (None: provider `none`, or no write calendar).
    connection_id: str | None = None
    calendar_id: str | None = None
    event_id: str | None = None
    join_url: str | None = None
    transaction_id: str | None = None
    # The lock cells this booking holds: [lock_start_utc, lock_end_utc) in 5-minute cells.
    lock_start_utc: datetime
    lock_end_utc: datetime
    manage_token_sha256: str
    # The manage token sealed under the data key (`manage_tokens.seal_token`), so that the event's
    # text, manage link included, can be rendered again when the booking moves (None: booked before
    # issue 17, whose event keeps its text).
    sealed_manage_token: str | None = None
    # A meeting's own subject / text (not the link's templates): kept as they are when it moves.
    own_subject: bool = False
    own_body: bool = False
    warnings: list[str] = dataclasses.field(default_factory=list)
    # [{"at", "by": "attendee"|"host"|"product"|"outlook", "fromStartUtc", "fromEndUtc", "toStartUtc",
    #   "toEndUtc", "reason"?}]
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    # A short lease against two manage operations of one booking running at once.
    operation_until: datetime | None = None
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None = None
    rescheduled_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancelled_in_outlook_at: datetime | None = None
    moved_in_outlook_at: datetime | None = None
    failed_at: datetime | None = None
    # Who cancelled it ("attendee" | "host" | "product"; Outlook's is `cancelled_in_outlook`) and why.
    cancelled_by: str | None = None
    cancel_reason: str | None = None
    # The attendee did not come (marked by the host or the product once the meeting had started).
    no_show: bool = False
    no_show_marked_at: datetime | None = None
    # A booking that failed although its event write may still land (its outcome was unknown):
    # until then booking housekeeping deletes an event that turns up with its tag.
    late_event_watch_until: datetime | None = None


@dataclasses.dataclass(kw_only=True)
class HostBookingRecord(TableRecord):
    """The host's index of their bookings, by start (`host_index`): one row per confirmed booking
    at its current start. The booking row is the truth; a row whose booking has another start
    is a leftover of a move and is skipped (and removed) when read."""

    table_kind: ClassVar[str] = "hostbookings"
    partition_fields: ClassVar[tuple[str, ...]] = ("host_user_id",)
    row_fields: ClassVar[tuple[str, ...]] = ("start_key", "booking_id")

    host_user_id: str
    start_key: str  # ISO UTC, "2026-06-15T10:00:00Z": sorts as time does
    booking_id: str
    slug: str
    created_at: datetime


@dataclasses.dataclass(kw_only=True)
class SlotLockRecord(TableRecord):
    """One 5-minute cell of a host's time, held by one booking (insert-only: the first wins)."""

    table_kind: ClassVar[str] = HOST_TABLE_KIND
    partition_fields: ClassVar[tuple[str, ...]] = ("host_user_id",)
    row_fields: ClassVar[tuple[str, ...]] = ("cell_start",)
    # Cells are ISO instants, so their keys start with a digit; the sync-state rows that share the
    # table start with a letter.
    row_range: ClassVar[tuple[str, str] | None] = ("0", ":")

    host_user_id: str
    cell_start: str  # ISO UTC, "2026-06-15T10:05:00Z": sorts as time does
    booking_id: str
    booking_start_utc: datetime  # what the daily cap counts (per local day of the link)
    created_at: datetime


class IdempotencyState(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    DONE = "done"
    UNRESOLVED = "unresolved"  # the work's outcome is unknown: a retry resumes it (`resume_with`)


@dataclasses.dataclass(kw_only=True)
class IdempotencyRecord(TableRecord):
    table_kind: ClassVar[str] = "idempotency"
    partition_fields: ClassVar[tuple[str, ...]] = ("scope",)
    row_fields: ClassVar[tuple[str, ...]] = ("key",)

    scope: str  # "link|<slug>"; a meeting's: "meeting|<slug>|product|" or "meeting|<slug>|host|<user id>"
    key: str
    body_sha256: str
    state: IdempotencyState = IdempotencyState.IN_PROGRESS
    response_status: int | None = None
    response_body: dict[str, Any] | None = None
    # The manage token of a stored 201, sealed under the data key (the booking keeps only its hash).
    sealed_manage_token: str | None = None
    # What a retry needs to resume work whose outcome is unknown (e.g. {"bookingId": ...}).
    resume_with: dict[str, str] | None = None
    created_at: datetime
    # When the current run took the claim (created_at for the first run): a run older than
    # STALE_CLAIM is taken to have crashed.
    claimed_at: datetime | None = None


@dataclasses.dataclass(kw_only=True)
class RoundRobinRecord(TableRecord):
    table_kind: ClassVar[str] = "roundrobin"
    partition_fields: ClassVar[tuple[str, ...]] = ("slug",)
    row_fields: ClassVar[tuple[str, ...]] = ("host_user_id",)

    slug: str
    host_user_id: str
    last_booked_at: datetime


@dataclasses.dataclass(kw_only=True)
class BookingEventRecord(TableRecord):
    """Event -> booking, so that a change seen in Outlook finds its booking."""

    table_kind: ClassVar[str] = "bookingevents"
    partition_fields: ClassVar[tuple[str, ...]] = ("connection_id",)
    row_fields: ClassVar[tuple[str, ...]] = ("event_id",)

    connection_id: str
    event_id: str
    booking_id: str
    created_at: datetime


@dataclasses.dataclass(kw_only=True)
class BookingAuditRecord(TableRecord):
    """What was done to a booking's event and how it went; never a subject, body or attendee."""

    table_kind: ClassVar[str] = "bookingaudit"
    partition_fields: ClassVar[tuple[str, ...]] = ("booking_id",)
    row_fields: ClassVar[tuple[str, ...]] = ("entry_id",)

    booking_id: str
    entry_id: str  # "<ISO time>|<random>": sorts by time
    operation: str  # create | reschedule | cancel | cancelled_in_outlook | moved_in_outlook | release
    event_id: str | None = None
    outcome: str  # ok | failed | skipped
    code: str | None = None
    at: datetime
