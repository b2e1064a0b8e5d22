"""The cached busy-interval source: answers from the busy cache that change notifications keep
up to date, for the calendars it can vouch for, and hands every other calendar to a fallback
source (the live Graph one).

A calendar is served from the cache only when all of this holds (`lib.features.sync.sync_state.is_fresh`
plus the connection check here):
- its connection is connected (not `needs_reconnect`);
- its subscription is active (Graph is announcing changes);
- its last sync covers every notification and request recorded since — including a `missed`
  lifecycle event, which asks for a full resync;
- the synced window contains the asked range.
Anything else — no sync state yet, a sync pending, the cache unreadable — goes to the fallback,
which fails closed on its own terms. Cached answers carry `source="cache"`.

Bounded (`lib.engine.busy_budget`): a calendar's rows are read at most `MAX_HOST_INTERVALS` + 1 at a
time, and the read stops there; a synced window holding more is not remembered and the asked range
alone is read. A calendar (or the host's calendars together) over the cap answers
`too_much_busy_time`, not handed to the live source, which would read as much and cost more.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from lib.core.errors import BusyTimeTooLarge, SlotbridgeError
from lib.core.parallel import map_concurrently
from lib.core.settings import get_settings
from lib.engine.busy import BusyInterval, require_aware
from lib.engine.busy_budget import TOO_MUCH_BUSY_TIME, IntervalBudget
from lib.engine.busy_source import BusySource, CalendarBusy, CalendarRef, HostBusy
from lib.features.connections.host_view import host_view
from lib.features.sync import busy_cache
from lib.features.sync.sync_state import calendar_freshness, is_fresh

if TYPE_CHECKING:
    from lib.features.sync.sync_state import CalendarFreshness

log = logging.getLogger("slotbridge.busy_time")

MAX_PARALLEL_READS = 8

CACHE = "cache"


# Reads a calendar's cached busy intervals over a span, stopping after `limit` (busy_cache.read).
class WindowReader(Protocol):
    def __call__(
        self, connection_id: str, calendar_id: str, start_utc: datetime, end_utc: datetime, *, limit: int
    ) -> tuple[BusyInterval, ...]: ...


# A host's calendar freshness rows, by host user id.
FreshnessReader = Callable[[str], "Sequence[CalendarFreshness]"]


def read_freshness(user_id: str) -> list[CalendarFreshness]:
    """The freshness rows of every calendar of the host (one request to its partition)."""
    return list(calendar_freshness().query(partition=user_id))


def _connected(user_id: str) -> frozenset[str]:
    return host_view(user_id).connected


class CachedBusySource:
    """`BusySource` over the busy cache, delegating calendars that are not fresh to `fallback`."""

    def __init__(
        self,
        fallback: BusySource,
        *,
        freshness: FreshnessReader = read_freshness,
        connected: Callable[[str], frozenset[str]] = _connected,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.fallback = fallback
        self._freshness = freshness
        self._connected = connected
        self._clock = clock

    def busy(
        self, user_id: str, calendars: Sequence[CalendarRef], start_utc: datetime, end_utc: datetime
    ) -> HostBusy:
        require_aware(start_utc, "start_utc")
        require_aware(end_utc, "end_utc")
        refs = list(dict.fromkeys(calendars))
        cached: dict[CalendarRef, CalendarBusy] = {}
        if refs and end_utc > start_utc:
            cached = self._from_cache(user_id, refs, start_utc, end_utc)
        rest = [ref for ref in refs if ref not in cached]
        found = dict(cached)
        if rest:
            live = self.fallback.busy(user_id, rest, start_utc, end_utc)
            found.update({c.calendar: c for c in live.calendars})
        return HostBusy(
            user_id,
            tuple(found.get(ref) or CalendarBusy(ref, error="outlook_unavailable") for ref in refs),
        )

    def _from_cache(
        self, user_id: str, refs: list[CalendarRef], start_utc: datetime, end_utc: datetime
    ) -> dict[CalendarRef, CalendarBusy]:
        now = self._clock()
        try:
            connected = self._connected(user_id)
            states = {
                (state.connection_id, state.calendar_id): state
                for state in self._freshness(user_id)
                if state.connection_id in connected
            }
        except SlotbridgeError as error:
            log.warning("Busy cache unreadable for a host (%s); reading Graph live", error.code)
            return {}
        fresh = [
            ref
            for ref in refs
            if (state := states.get((ref.connection_id, ref.calendar_id))) is not None
            and state.user_id == user_id
            and is_fresh(state, start_utc, end_utc, now)
        ]

        budget = IntervalBudget()  # this host's calendars together

        def read(ref: CalendarRef) -> tuple[CalendarRef, CalendarBusy | None]:
            state = states[(ref.connection_id, ref.calendar_id)]
            try:
                intervals = _MEMO.intervals(state, start_utc, end_utc, busy_cache.read, limit=budget.limit)
                budget.take(len(intervals))
            except BusyTimeTooLarge:
                # Read live it would be as large, and cost more: this calendar answers that.
                return ref, CalendarBusy(ref, error=TOO_MUCH_BUSY_TIME, source=CACHE)
            except SlotbridgeError as error:
                # This calendar's rows could not be read: the live source answers for it.
                log.warning("Busy cache unreadable for a calendar (%s); reading Graph live", error.code)
                return ref, None
            return ref, CalendarBusy(ref, intervals, source=CACHE)

        # Memo hits are memory reads: only table reads are worth handing to other threads.
        misses = sum(1 for ref in fresh if not _MEMO.holds(states[(ref.connection_id, ref.calendar_id)]))
        results = map_concurrently(read, fresh, limit=MAX_PARALLEL_READS if misses > 1 else 1)
        return {ref: busy for ref, busy in results if busy is not None}


@dataclass(frozen=True)
class _Window:
    """A calendar's synced busy intervals in start order, with what finds the ones overlapping a
    span by bisection rather than a pass over the whole window (months of a calendar, asked for
    a few weeks, per host, per answer)."""

    intervals: tuple[BusyInterval, ...]
    starts: tuple[datetime, ...]
    longest: timedelta

    @classmethod
    def of(cls, intervals: Sequence[BusyInterval]) -> _Window:
        ordered = tuple(sorted(intervals, key=lambda i: (i.start_utc, i.end_utc)))
        longest = max((i.end_utc - i.start_utc for i in ordered), default=timedelta(0))
        return cls(ordered, tuple(i.start_utc for i in ordered), longest)

    def overlapping(self, start_utc: datetime, end_utc: datetime) -> tuple[BusyInterval, ...]:
        # Only intervals starting in [start - longest, end) can overlap [start, end).
        first = bisect.bisect_left(self.starts, start_utc - self.longest)
        last = bisect.bisect_left(self.starts, end_utc, lo=first)
        return tuple(i for i in self.intervals[first:last] if i.end_utc > start_utc)


class _WindowMemo:
    """Each fresh calendar's whole synced window of busy intervals, kept in memory and valid while
    its sync-state row keeps the same ETag. Every sync round rewrites that row after writing the
    busy rows, so a changed calendar changes the ETag and the next read goes back to the table;
    an unchanged one costs one state read instead of one busy-row query per request."""

    def __init__(self, capacity: int = 2000) -> None:
        self._capacity = capacity
        # (ETag, window); a None window: this version of the calendar holds more than the cap over
        # its synced window, so answers read their asked range alone instead of the window again.
        self._entries: OrderedDict[tuple[str, str], tuple[str, _Window | None]] = OrderedDict()
        self._lock = threading.Lock()

    def holds(self, state: CalendarFreshness) -> bool:
        with self._lock:
            entry = self._entries.get((state.connection_id, state.calendar_id))
            return entry is not None and entry[0] == state.etag and entry[1] is not None

    def _remember(self, key: tuple[str, str], etag: str | None, window: _Window | None) -> None:
        if not etag:
            return
        with self._lock:
            self._entries[key] = (etag, window)
            self._entries.move_to_end(key)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)

    def intervals(
        self,
        state: CalendarFreshness,
        start_utc: datetime,
        end_utc: datetime,
        read: WindowReader,
        *,
        limit: int,
    ) -> tuple[BusyInterval, ...]:
        """The calendar's intervals overlapping [start_utc, end_utc), at most `limit` of them
        (else `BusyTimeTooLarge`, the read stopped at the cap). A window holding more than `limit`
        is not kept: that is remembered for the calendar's version, and its answers read the asked
        range alone, under the same limit, without reading the window again."""
        key = (state.connection_id, state.calendar_id)
        with self._lock:
            entry = self._entries.get(key)
            known = entry is not None and entry[0] == state.etag
            if known:
                self._entries.move_to_end(key)
        if known and entry is not None and entry[1] is None:
            return read(state.connection_id, state.calendar_id, start_utc, end_utc, limit=limit)
        window = entry[1] if known and entry is not None else None
        if window is None:
            assert state.window_start is not None and state.window_end is not None  # fresh states have both
            try:
                rows = read(
                    state.connection_id, state.calendar_id, state.window_start, state.window_end, limit=limit
                )
            except BusyTimeTooLarge:
                self._remember(key, state.etag, None)
                return read(state.connection_id, state.calendar_id, start_utc, end_utc, limit=limit)
            window = _Window.of(rows)
            self._remember(key, state.etag, window)
        found = window.overlapping(start_utc, end_utc)
        if len(found) > limit:  # a window remembered under a higher limit
            raise BusyTimeTooLarge(f"More than {limit} busy intervals in one calendar over the asked range.")
        return found


_MEMO = _WindowMemo()


def with_cache(live: BusySource, freshness: FreshnessReader) -> BusySource:
    """The source availability uses: the cached one over `live`, unless settings say `live`."""
    if get_settings().sync.availability_source == "live":
        return live
    return CachedBusySource(live, freshness=freshness)
