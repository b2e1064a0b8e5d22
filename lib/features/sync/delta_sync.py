"""One sync round of one calendar: the calendar is re-read through the connection's change feed
(`lib.providers.change_feed`; never trusted from a notification) and the busy cache brought in line.

- incremental: changes since the stored cursor (the feed's own string, stored as `delta_link`);
- full: a new feed over [now - 30 days, now + horizon] that replaces the calendar's rows — when
  asked (missed, subscriptionRemoved, sync now, connect), when there is no cursor, when the feed
  says the cursor expired (`CursorExpired`), and when the synced window no longer reaches the
  horizon (it is fixed when a feed starts);
- window re-read: for a calendar the service keeps no feed for (`FeedUnsupported`), every round
  re-reads the window instead (`SyncMode.VIEW`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from lib.core.settings import get_settings
from lib.features.sync import busy_cache
from lib.features.sync.busy_cache import BusyIntervalRecord, CacheWrite
from lib.features.sync.sync_state import CalendarSyncRecord, SyncMode
from lib.providers.change_feed import ChangeFeed, CursorExpired, FeedChanges, FeedUnsupported

log = logging.getLogger("slotbridge.sync.delta")

LOOK_BACK = timedelta(days=30)
WINDOW_SLACK = timedelta(days=1)


@dataclass(frozen=True)
class RoundOutcome:
    write: CacheWrite
    full: bool
    fields: dict[str, Any] = field(default_factory=dict)  # what the sync state records


def sync_window(now: datetime, horizon_days: int) -> tuple[datetime, datetime]:
    start = (now - LOOK_BACK).replace(minute=0, second=0, microsecond=0)
    return start, now + timedelta(days=horizon_days)


def window_too_short(state: CalendarSyncRecord, now: datetime, horizon_days: int) -> bool:
    return state.window_end is None or state.window_end < now + timedelta(days=horizon_days) - WINDOW_SLACK


def run_round(feed: ChangeFeed, state: CalendarSyncRecord, *, full: bool) -> RoundOutcome:
    now = datetime.now(UTC)
    horizon = get_settings().sync.horizon_days
    full = full or state.delta_link is None or window_too_short(state, now, horizon)
    zone_name = state.mailbox_time_zone
    if full or zone_name is None:
        zone_name = feed.time_zone() or zone_name
    common: dict[str, Any] = {"mailbox_time_zone": zone_name, "last_synced_at": now}

    if state.mode == SyncMode.VIEW:
        return _view_reread(feed, state, now, horizon, zone_name, common)
    if not full and state.delta_link:
        try:
            found = feed.changes_since(state.delta_link, zone_name)
        except CursorExpired as expired:
            log.info("Delta state gone (%s); full resync of a calendar", expired.reason)
        else:
            write = busy_cache.apply(
                state.connection_id, state.calendar_id, _rows(state, found), found.removed, replace_all=False
            )
            return RoundOutcome(write, False, {**common, "delta_link": found.cursor})

    start, end = sync_window(now, horizon)
    try:
        found = feed.start(state.calendar_id, start, end, zone_name)
    except FeedUnsupported as refused:
        log.info("calendarView/delta refused (%s); this calendar is re-read instead", refused.reason)
        return _view_reread(feed, state, now, horizon, zone_name, common)
    write = busy_cache.apply(
        state.connection_id, state.calendar_id, _rows(state, found), [], replace_all=True
    )
    return RoundOutcome(
        write,
        True,
        {
            **common,
            "mode": SyncMode.DELTA,
            "delta_link": found.cursor,
            "window_start": start,
            "window_end": end,
        },
    )


def _rows(state: CalendarSyncRecord, found: FeedChanges) -> list[BusyIntervalRecord]:
    return [busy_cache.row_for_item(state.connection_id, state.calendar_id, item) for item in found.changed]


def _view_reread(
    feed: ChangeFeed,
    state: CalendarSyncRecord,
    now: datetime,
    horizon: int,
    zone_name: str | None,
    common: dict[str, Any],
) -> RoundOutcome:
    start, end = sync_window(now, horizon)
    found = feed.read_window(state.calendar_id, start, end, zone_name)
    write = busy_cache.apply(
        state.connection_id, state.calendar_id, _rows(state, found), [], replace_all=True
    )
    return RoundOutcome(
        write,
        True,
        {**common, "mode": SyncMode.VIEW, "delta_link": None, "window_start": start, "window_end": end},
    )
