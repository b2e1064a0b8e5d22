"""Whether a booking may have its time: the slot is one the link offers, the host's daily cap
holds, and the host's conflict calendars, re-read live, are free."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import NoReturn

from lib.core.errors import OutlookUnavailable, SlotUnavailable, StartInPast
from lib.engine.busy import blocked_spans
from lib.engine.link_rules import LinkRules
from lib.engine.show_as_policy import ShowAsPolicy
from lib.engine.slot_engine import free_slots
from lib.features.bookings.host_bookings import bookings_per_local_date, local_day_window
from lib.features.connections.busy_time import AccountsBusySource
from lib.features.connections.host_view import NOT_CONNECTED, HostView, read_host_view
from lib.features.links.config import LinkHost
from lib.providers.base import CalendarProvider

log = logging.getLogger("slotbridge.bookings")


def is_offered(
    rules: LinkRules, start_utc: datetime, now: datetime, duration_minutes: int | None = None
) -> bool:
    """Whether the link's hours offer a slot starting at `start_utc` (grid, weekly hours, date
    overrides, minimum notice, horizon), of the link's length or `duration_minutes` - busy time
    and the daily cap are checked per host."""
    if duration_minutes is not None and duration_minutes != rules.duration_minutes:
        rules = replace(rules, duration_minutes=duration_minutes)
    slots = free_slots(rules, [], start_utc, start_utc + timedelta(minutes=1), now)
    return any(slot.start_utc == start_utc for slot in slots)


def require_offered(
    rules: LinkRules, start_utc: datetime, now: datetime, duration_minutes: int | None = None
) -> None:
    if not is_offered(rules, start_utc, now, duration_minutes):
        raise SlotUnavailable("This time is not offered by the booking link. Please pick one of its slots.")


def require_future(start_utc: datetime, now: datetime) -> None:
    """A time asked for outside the link's slots may be any time - but not one already begun."""
    if start_utc <= now:
        raise StartInPast("This time has already begun. Please pick a time in the future.")


def check_daily_cap(rules: LinkRules, host_user_id: str, start_utc: datetime) -> None:
    """With this booking's lock held: more live bookings that local day than the cap -> refuse."""
    if rules.daily_cap is None:
        return
    day_start, day_end = local_day_window(start_utc, rules.time_zone)
    counts = bookings_per_local_date(host_user_id, rules.time_zone, day_start, day_end)
    if sum(counts.values()) > rules.daily_cap:
        raise SlotUnavailable("The host is fully booked that day. Please pick another day.")


def live_check(
    provider: CalendarProvider,
    rules: LinkRules,
    host: LinkHost,
    start_utc: datetime,
    end_utc: datetime,
    *,
    ignore: tuple[datetime, datetime] | None = None,
    view: HostView | None = None,
) -> None:
    """Re-read the host's conflict calendars on this link (the link's own, else the user's) now,
    live from its `provider`; busy -> `SlotUnavailable`; unreadable -> `OutlookUnavailable` (never
    book blind). A provider that reads no calendars has nothing to check. `view`: the host's view
    this booking has already read live (else it is read now)."""
    if not provider.reads_calendars:
        return

    host_user_id = host.user_id
    if view is None:
        view = read_host_view(host_user_id)
    settings = host.vouched_settings(view)
    if settings is None:
        # As availability: a host with no account connected (never, or disconnected; or the link's
        # own calendars' accounts) is refused exactly like one whose calendars cannot be read;
        # weekly hours alone are provider `none`.
        unreadable(NOT_CONNECTED)
    refs = host.conflict_refs(settings, view.connections)
    if not refs:
        return
    before = timedelta(minutes=rules.buffer_before_minutes)
    after = timedelta(minutes=rules.buffer_after_minutes)
    # The view read live for this booking decides which account reads which calendar, and its
    # connection rows (status checked) are the accounts read as: reading them again would cost
    # more Table requests per booking and be no fresher.
    live_view = view
    source = AccountsBusySource(rules.time_zone, lambda _user_id: live_view, acting_as_view=True)
    host_busy = source.busy(host_user_id, refs, start_utc - before, end_utc + after)
    if not host_busy.readable:
        unreadable(",".join(host_busy.errors))
    try:
        policy = ShowAsPolicy.from_names(settings.blocking_show_as)
    except ValueError:
        policy = ShowAsPolicy()
    intervals = [i for i in host_busy.intervals if ignore is None or (i.start_utc, i.end_utc) != ignore]
    for span_start, span_end in blocked_spans(intervals, policy, widen_before=after, widen_after=before):
        if span_start < end_utc and span_end > start_utc:
            raise SlotUnavailable("The host is no longer free at this time. Please pick another time.")


def unreadable(reason: str) -> NoReturn:
    """Fail closed: the host's time cannot be vouched for, so it is not booked blind."""
    log.warning("booking: host calendars unreadable (%s)", reason)
    raise OutlookUnavailable("The host's calendar cannot be checked right now; please try again later.")
