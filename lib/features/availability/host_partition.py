"""What availability needs from a host's partition, in one Table Storage request per host: the
freshness rows of the host's calendars (which say whether the busy cache may answer for them) and
the host's slot locks (its bookings). Both kinds live in the host's partition of one table
(`HOST_TABLE_KIND`), so `read_together` fetches them at once; on 2 cores each request costs
1.3-2 ms of Python CPU that the GIL runs one after another, so pools paid for a second one per host.

`HostPartitions` reads each host at most once per availability answer and hands the same rows to
the cached busy source (freshness) and to the bookings (locks), whichever asks first.

Answers within `MEMO_S` of each other share one read of a host (`read_together`'s memo): booking
pages ask again and again, and that request was most of a cached answer's time. Every write this
process makes to the partition (a booking's locks, a sync round's freshness row) drops it at once,
so only another instance's writes can be missed, for at most `MEMO_S` — and the booking path never
reads through it: it takes its locks and re-checks the calendars live.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from lib.adapters.storage.tables import KindQuery, read_together
from lib.features.bookings import locks
from lib.features.sync.sync_state import calendar_freshness

if TYPE_CHECKING:
    from lib.features.bookings.records import SlotLockRecord
    from lib.features.sync.sync_state import CalendarFreshness

# How old a host's partition read may be when availability answers from it (issue 21: at most 1 s).
MEMO_S = 1.0


@dataclass(frozen=True)
class HostPartition:
    freshness: tuple[CalendarFreshness, ...]
    locks: tuple[SlotLockRecord, ...]  # cells in the span the reader was asked for


def read_host_partition(user_id: str, locks_from: datetime, locks_to: datetime) -> HostPartition:
    """The host's calendar freshness rows and its lock rows with cells in [locks_from, locks_to)."""
    freshness, held = read_together(
        user_id, [KindQuery(calendar_freshness()), locks.held_query(locks_from, locks_to)], max_age_s=MEMO_S
    )
    return HostPartition(tuple(freshness), tuple(held))


class HostPartitions:
    """Each host's partition, read once (on first use, by whichever reader asks first) and kept
    for one availability answer. A failed read is not kept: the next asker tries again."""

    def __init__(self, locks_from: datetime, locks_to: datetime) -> None:
        self._span = (locks_from, locks_to)
        self._lock = threading.Lock()
        self._hosts: dict[str, tuple[threading.Lock, list[HostPartition]]] = {}

    def get(self, user_id: str) -> HostPartition:
        with self._lock:
            host_lock, found = self._hosts.setdefault(user_id, (threading.Lock(), []))
        with host_lock:  # a second asker waits for the first one's read instead of repeating it
            if not found:
                found.append(read_host_partition(user_id, *self._span))
            return found[0]

    def freshness(self, user_id: str) -> Sequence[CalendarFreshness]:
        return self.get(user_id).freshness
