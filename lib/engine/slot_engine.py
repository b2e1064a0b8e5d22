"""Free slots for a booking link: candidates from the link's hours, minus what blocks each host.

What blocks a candidate slot [start, end):
- a busy interval (after the host's showAs policy) that overlaps
  [start - buffer_before, end + buffer_after);
- a start earlier than now + minimum notice;
- a start on or after the horizon: the start of local day (today + horizon_days) in the link's zone,
  so horizon_days=1 means "today only" and the horizon never cuts a day in half;
- a local date (link zone) whose existing bookings of that host already reach the daily cap.
Slots are offered when their START lies in [window_start_utc, window_end_utc).

Cost: the candidates are built once for a pool (a `SlotGrid`); per host, each busy interval costs
two binary searches into the grid and marks the run of candidates it blocks in a bit mask
(`slot_grid`), so a host costs O(intervals x log candidates) with no sort and no per-candidate
Python work, and its free slots (`FreeSlots`) become objects only when read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from lib.core.timezones import parse_iana_zone
from lib.engine.busy import BusyInterval, require_aware
from lib.engine.candidate_slots import CandidateSlot, candidate_slots
from lib.engine.link_rules import LinkRules, validate_link_rules
from lib.engine.local_time import local_date_of, start_of_local_day_utc
from lib.engine.show_as_policy import DEFAULT_SHOW_AS_POLICY, ShowAsPolicy
from lib.engine.slot import Slot
from lib.engine.slot_grid import FreeSlots, SlotGrid


@dataclass(frozen=True, slots=True)
class HostBusyTime:
    """What the engine needs to know about one host."""

    busy: Iterable[BusyInterval]
    show_as_policy: ShowAsPolicy = DEFAULT_SHOW_AS_POLICY
    bookings_per_local_date: Mapping[date, int] = field(default_factory=dict)


def free_slots(
    rules: LinkRules,
    busy: Iterable[BusyInterval],
    window_start_utc: datetime,
    window_end_utc: datetime,
    now_utc: datetime,
    *,
    show_as_policy: ShowAsPolicy = DEFAULT_SHOW_AS_POLICY,
    bookings_per_local_date: Mapping[date, int] | None = None,
) -> list[Slot]:
    """Bookable slots of one host, sorted by start; `ValidationFailed` if `rules` are not valid."""
    host = HostBusyTime(busy, show_as_policy, bookings_per_local_date or {})
    return list(free_slots_by_host(rules, {"": host}, window_start_utc, window_end_utc, now_utc)[""])


def free_slots_by_host(
    rules: LinkRules,
    hosts: Mapping[str, HostBusyTime],
    window_start_utc: datetime,
    window_end_utc: datetime,
    now_utc: datetime,
    *,
    candidates: Sequence[CandidateSlot] | None = None,
) -> dict[str, FreeSlots]:
    """Bookable slots of each host of a pool (same link rules), candidates computed once; a caller
    that already has `open_candidates` for the same arguments passes them in. Each host's slots
    share the pool's grid, which `pool_free_slots` unites without making a slot object per host."""
    if candidates is None:
        candidates = open_candidates(rules, window_start_utc, window_end_utc, now_utc)
    grid = _grid(rules, candidates)
    return {host_id: _subtract_busy_time(grid, rules, host) for host_id, host in hosts.items()}


def open_candidates(
    rules: LinkRules, window_start_utc: datetime, window_end_utc: datetime, now_utc: datetime
) -> list[CandidateSlot]:
    """Candidates starting inside the window, after the minimum notice and before the horizon."""
    require_aware(window_start_utc, "window_start_utc")
    require_aware(window_end_utc, "window_end_utc")
    require_aware(now_utc, "now_utc")
    # Cheap, and a stored link with a zero step would otherwise loop forever.
    validate_link_rules(rules)
    zone = parse_iana_zone(rules.time_zone)

    earliest_start = max(window_start_utc, now_utc + timedelta(minutes=rules.minimum_notice_minutes))
    horizon_day = local_date_of(now_utc, zone) + timedelta(days=rules.horizon_days)
    latest_start_exclusive = min(window_end_utc, start_of_local_day_utc(horizon_day, zone))
    if earliest_start >= latest_start_exclusive:
        return []
    # The day before too: its ranges may cross midnight into the window.
    first_day = local_date_of(earliest_start, zone) - timedelta(days=1)
    last_day = local_date_of(latest_start_exclusive, zone)
    return [
        candidate
        for candidate in candidate_slots(rules, zone, first_day, last_day)
        if earliest_start <= candidate.start_utc < latest_start_exclusive
    ]


def _subtract_busy_time(grid: SlotGrid, rules: LinkRules, host: HostBusyTime) -> FreeSlots:
    blocked = grid.blocked(host.busy, host.show_as_policy)
    if rules.daily_cap is not None:
        cap = rules.daily_cap
        blocked |= grid.on_days(day for day, count in host.bookings_per_local_date.items() if count >= cap)
    return FreeSlots(grid, grid.full & ~blocked)


def _grid(rules: LinkRules, candidates: Sequence[CandidateSlot]) -> SlotGrid:
    # Slot [s, e) needs [s - before, e + after) free.
    return SlotGrid(
        [(start, end) for start, end, _ in candidates],
        local_dates=[day for _, _, day in candidates],
        before=timedelta(minutes=rules.buffer_before_minutes),
        after=timedelta(minutes=rules.buffer_after_minutes),
    )
