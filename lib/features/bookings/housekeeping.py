"""The booking housekeeping timer (`SLOTBRIDGE_BOOKING_HOUSEKEEPING_SCHEDULE`, every 5 minutes by
default): bookings stuck `pending` past the search window are resolved (the event found by its
tag adopted or deleted, else the slot given back), events landing for bookings that failed
meanwhile are deleted, and booking events whose post was lost are posted. It runs often
because a pending booking holds its slot until then: at most the search window plus one timer
period."""

from __future__ import annotations

import logging

from lib.core.housekeeping import run_steps
from lib.features.bookings.events import announce_missed
from lib.features.bookings.release import delete_late_events, release_stale_pending

log = logging.getLogger("slotbridge.bookings.housekeeping")


def run() -> None:
    run_steps(
        log,
        (
            ("stale pending bookings resolved", release_stale_pending),
            ("late booking events deleted", delete_late_events),
            ("missed booking events posted", announce_missed),
        ),
    )
