"""One sync round of one calendar: Graph is re-read (never trusted from a notification) and the
busy cache brought in line.

- incremental: the stored deltaLink (`calendarView/delta` of the window);
- full: a new delta round over [now - 30 days, now + horizon] that replaces the calendar's rows —
  when asked (missed, subscriptionRemoved, sync now, connect), when there is no deltaLink, when
  Graph says the delta state is gone (`syncStateNotFound`, `resyncRequired`, 410: `GraphGone`), and
  when the synced window no longer reaches the horizon (it is fixed when a delta round starts);
- calendarView re-read: for a calendar delta does not serve (Graph answers the delta request 400),
  every round re-reads the window's calendarView instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from lib.adapters.graph import GraphBadRequest, GraphClient, GraphError, GraphGone
from lib.core.settings import get_settings
from lib.features.sync import busy_cache
from lib.features.sync.busy_cache import BusyIntervalRecord, CacheWrite
from lib.features.sync.sync_state import CalendarSyncRecord, SyncMode
from lib.providers.microsoft.graph_events import EVENT_FIELDS

log = logging.getLogger("slotbridge.sync.delta")

LOOK_BACK = timedelta(days=30)
WINDOW_SLACK = timedelta(days=1)
PREFER = ['outlook.timezone="UTC"', "odata.maxpagesize=100"]
VIEW_FIELDS = f"id,{EVENT_FIELDS}"


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


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _calendar_path(calendar_id: str) -> str:
    return f"/me/calendars/{quote(calendar_id, safe='')}"


def read_mailbox_zone(client: GraphClient) -> str | None:
    try:
        value = client.get("/me/mailboxSettings", params={"$select": "timeZone"}).get("timeZone")
    except GraphError as error:
        log.warning("Mailbox time zone unreadable (%s); all-day events taken in UTC", error.graph_code)
        return None
    return value if isinstance(value, str) and value else None


def run_round(client: GraphClient, state: CalendarSyncRecord, *, full: bool) -> RoundOutcome:
    now = datetime.now(UTC)
    horizon = get_settings().sync.horizon_days
    full = full or state.delta_link is None or window_too_short(state, now, horizon)
    zone_name = state.mailbox_time_zone
    if full or zone_name is None:
        zone_name = read_mailbox_zone(client) or zone_name
    zone = busy_cache.mailbox_zone(zone_name)
    common: dict[str, Any] = {"mailbox_time_zone": zone_name, "last_synced_at": now}

    if state.mode == SyncMode.VIEW:
        return _view_reread(client, state, now, horizon, zone, common)
    if not full and state.delta_link:
        try:
            result = client.delta(state.delta_link, prefer=PREFER)
        except GraphGone as gone:
            log.info("Delta state gone (%s); full resync of a calendar", gone.graph_code or gone.http_status)
        else:
            rows, removals = _split(state, result.items, zone)
            write = busy_cache.apply(
                state.connection_id, state.calendar_id, rows, removals, replace_all=False
            )
            return RoundOutcome(write, False, {**common, "delta_link": result.delta_link})

    start, end = sync_window(now, horizon)
    try:
        result = client.delta(
            f"{_calendar_path(state.calendar_id)}/calendarView/delta",
            params={"startDateTime": _iso(start), "endDateTime": _iso(end)},
            prefer=PREFER,
        )
    except GraphBadRequest as refused:
        log.info("calendarView/delta refused (%s); this calendar is re-read instead", refused.graph_code)
        return _view_reread(client, state, now, horizon, zone, common)
    rows, _ = _split(state, result.items, zone)
    write = busy_cache.apply(state.connection_id, state.calendar_id, rows, [], replace_all=True)
    return RoundOutcome(
        write,
        True,
        {
            **common,
            "mode": SyncMode.DELTA,
            "delta_link": result.delta_link,
            "window_start": start,
            "window_end": end,
        },
    )


def _split(
    state: CalendarSyncRecord, items: list[dict[str, Any]], zone: Any
) -> tuple[list[BusyIntervalRecord], list[str]]:
    rows: list[BusyIntervalRecord] = []
    removals: list[str] = []
    for item in items:
        event_id = item.get("id")
        if not isinstance(event_id, str) or not event_id:
            continue
        if "@removed" in item:
            removals.append(event_id)
            continue
        row = busy_cache.row_for_event(state.connection_id, state.calendar_id, item, zone)
        if row is None:
            removals.append(event_id)  # cancelled: it no longer blocks
        else:
            rows.append(row)
    return rows, removals


def _view_reread(
    client: GraphClient,
    state: CalendarSyncRecord,
    now: datetime,
    horizon: int,
    zone: Any,
    common: dict[str, Any],
) -> RoundOutcome:
    start, end = sync_window(now, horizon)
    items = list(
        client.iter_items(
            f"{_calendar_path(state.calendar_id)}/calendarView",
            params={
                "startDateTime": _iso(start),
                "endDateTime": _iso(end),
                "$select": VIEW_FIELDS,
                "$top": 1000,
            },
            prefer='outlook.timezone="UTC"',
        )
    )
    rows, _ = _split(state, items, zone)
    write = busy_cache.apply(state.connection_id, state.calendar_id, rows, [], replace_all=True)
    return RoundOutcome(
        write,
        True,
        {**common, "mode": SyncMode.VIEW, "delta_link": None, "window_start": start, "window_end": end},
    )
