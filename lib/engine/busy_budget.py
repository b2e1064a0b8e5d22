"""How much busy time one availability answer may hold in memory, and the counter readers take
from as they read, so a read over the budget stops at the cap instead of finishing first.

Why these numbers (busy intervals are ~160 bytes each in memory, a raw Graph event as parsed
JSON ~1.6 KB; measured with tracemalloc):
- `MAX_HOST_INTERVALS`: 10,000 intervals of one host over the asked range - about 160 a day over
  the longest range (62 days), far beyond a person's calendar; a shared or room calendar beyond it
  is what the cap is for. A live read holds at most about that many raw events per host (~16 MB)
  before it stops.
- `MAX_ANSWER_INTERVALS`: 100,000 intervals of every host of one answer together (~16 MB of
  intervals): 100 hosts at 1,000 each, ten hosts at the cap. The engine bench handles 20,000 for
  50 hosts in tens of milliseconds, so this stays well inside one answer's time, too.

Module constants, read at each call: a test may lower them (monkeypatch) to reach them cheaply.
"""

from __future__ import annotations

import threading
from typing import Final

from lib.core.errors import BusyTimeTooLarge

MAX_HOST_INTERVALS = 10_000
MAX_ANSWER_INTERVALS = 100_000

# A calendar's `error` (and the `reason` of a degraded host) when its reader stopped at the cap:
# unlike other failures, asking again for a shorter range may answer.
TOO_MUCH_BUSY_TIME: Final = "too_much_busy_time"


class IntervalBudget:
    """Intervals (or raw events) one host's read has taken so far, shared by the threads reading
    its calendars: `take` raises `BusyTimeTooLarge` once the total is over `limit`, and every
    later `take` does too, so each reader of the host stops at its next page."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = MAX_HOST_INTERVALS if limit is None else limit
        self._taken = 0
        self._lock = threading.Lock()

    @property
    def taken(self) -> int:
        return self._taken

    def take(self, count: int) -> None:
        with self._lock:
            self._taken += count
            over = self._taken > self.limit
        if over:
            raise BusyTimeTooLarge(
                f"More than {self.limit} busy intervals over the asked range; a shorter range may answer."
            )

    def fits(self, count: int) -> bool:
        """Takes `count` if the total stays within `limit`; else takes nothing and says so."""
        with self._lock:
            if self._taken + count > self.limit:
                return False
            self._taken += count
            return True
