"""The cached busy-interval source: answers from the busy cache that change notifications keep
up to date, for the calendars it can vouch for, and hands every other calendar to a fallback
source (the live Graph one).

A calendar is served from the cache only when all of this holds (`lib.sync.sync_state.is_fresh`
plus the connection check here):
- its connection is connected (not `needs_reconnect`);
- its subscription is active (Graph is announcing changes);
- its last sync covers every notification and request recorded since — including a `missed`
  lifecycle event, which asks for a full resync;
- the synced window contains the asked range.
Anything else — no sync state yet, a sync pending, the cache unreadable — goes to the fallback,
which fails closed on its own terms. Cached answers carry `source="cache"`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from lib.availability.busy import require_aware
from lib.availability.busy_source import BusySource, CalendarBusy, CalendarRef, HostBusy
from lib.connections.records import ConnectionRecord, ConnectionStatus
from lib.errors import SlotbridgeError

log = logging.getLogger("slotbridge.busy_time")

CACHE = "cache"


def _user_connections(user_id: str) -> list[ConnectionRecord]:
    from lib.connections.calendars import user_connections

    return user_connections(user_id)


class CachedBusySource:
    """`BusySource` over the busy cache, delegating calendars that are not fresh to `fallback`."""

    def __init__(
        self,
        fallback: BusySource,
        *,
        connections: Callable[[str], list[ConnectionRecord]] = _user_connections,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.fallback = fallback
        self._connections = connections
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
        from lib.sync import busy_cache
        from lib.sync.sync_state import is_fresh, sync_states

        now = self._clock()
        served: dict[CalendarRef, CalendarBusy] = {}
        try:
            connected = {
                c.connection_id for c in self._connections(user_id) if c.status is ConnectionStatus.CONNECTED
            }
            states = sync_states()
            for ref in refs:
                if ref.connection_id not in connected:
                    continue
                state = states.find(ref.connection_id, ref.calendar_id)
                if state is None or state.user_id != user_id or not is_fresh(state, start_utc, end_utc, now):
                    continue
                intervals = busy_cache.read(ref.connection_id, ref.calendar_id, start_utc, end_utc)
                served[ref] = CalendarBusy(ref, intervals, source=CACHE)
        except SlotbridgeError as error:
            # The cache could not be read: what was not served yet goes to the live source.
            log.warning("Busy cache unreadable for a host (%s); reading Graph live", error.code)
        return served


def with_cache(live: BusySource) -> BusySource:
    """The source availability uses: the cached one over `live`, unless settings say `live`."""
    from lib.settings import get_settings

    if get_settings().sync.availability_source == "live":
        return live
    return CachedBusySource(live)
