"""The booking housekeeping timer on the dev host: a booking left `pending` past its search window
is resolved by it within a timer period, without the reconciliation timer (which stays far off)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from devstack.funchost import DevHost
from lib.adapters.storage import storage_account
from lib.features.bookings.records import BookingRecord, BookingStatus, SlotLockRecord
from lib.features.bookings.release import STALE_PENDING
from tests.integration.availability.helpers import next_monday

from .helpers import at, book, new_link


@pytest.fixture(scope="module")
def app_env(app_env: dict[str, str]) -> dict[str, str]:
    # Every 2 seconds here (5 minutes by default); reconciliation stays at its far-off test schedule.
    return {**app_env, "SLOTBRIDGE_BOOKING_HOUSEKEEPING_SCHEDULE": "*/2 * * * * *"}


def test_the_housekeeping_timer_releases_a_booking_left_pending_past_its_window(devhost: DevHost) -> None:
    slug = new_link(devhost, ("hours-only-host", "none"))
    r = book(devhost, slug, at(next_monday(), 10))
    assert r.status_code == 201, r.text
    table = storage_account().table(BookingRecord)
    record = table.get(r.json()["bookingId"], "booking")
    # As a crash between the slot lock and the event would leave it, past its search window.
    record.status = BookingStatus.PENDING
    record.created_at = record.created_at - STALE_PENDING - timedelta(minutes=1)
    table.update(record)

    deadline = time.monotonic() + 20
    while table.get(record.booking_id, "booking").status.value == "pending" and time.monotonic() < deadline:
        time.sleep(0.5)

    assert table.get(record.booking_id, "booking").status.value == "failed"
    fired = {timer.function.name: timer.fired for timer in devhost.timers}
    assert fired["booking_housekeeping"] >= 1 and fired["reconcile_sync"] == 0
    locks = storage_account().table(SlotLockRecord).query(partition="hours-only-host")
    assert record.booking_id not in {lock.booking_id for lock in locks}
