"""The audit log of calendar operations on booking events: operation, booking id, event id and
outcome (with a problem code when it failed). Never a subject, body or attendee. Best effort: an
audit write that fails is logged and does not fail the booking."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime

from lib.adapters.storage import storage_account
from lib.features.bookings.records import BookingAuditRecord

log = logging.getLogger("slotbridge.bookings.audit")


def record(
    booking_id: str, operation: str, outcome: str, *, event_id: str | None = None, code: str | None = None
) -> None:
    now = datetime.now(UTC)
    entry = BookingAuditRecord(
        booking_id=booking_id,
        entry_id=f"{now.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}|{secrets.token_hex(4)}",
        operation=operation,
        event_id=event_id,
        outcome=outcome,
        code=code,
        at=now,
    )
    try:
        storage_account().table(BookingAuditRecord).create(entry)
    except Exception as error:
        log.warning("audit entry for booking %s not stored (%s)", booking_id, type(error).__name__)
    log.info("booking_audit booking=%s operation=%s outcome=%s code=%s", booking_id, operation, outcome, code)


def entries(booking_id: str) -> list[BookingAuditRecord]:
    return list(storage_account().table(BookingAuditRecord).query(partition=booking_id))
