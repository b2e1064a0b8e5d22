"""Local wall-clock times to UTC instants, with the two DST cases decided once, here.

- A wall time that does not exist (skipped by a spring-forward) has no instant: `None`.
- A wall time that occurs twice (repeated by a fall-back) is its FIRST occurrence (zoneinfo's
  fold=0), so a slot on a repeated wall time is offered once, at the earlier instant.
- For bounds ("hours end at 02:30") there is always an instant: the first moment the wall clock
  reads that time or later, which for a skipped time is the moment of the jump.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def wall_time_to_utc(wall: datetime, zone: ZoneInfo) -> datetime | None:
    """UTC instant of a naive local wall time: first occurrence if repeated, None if skipped."""
    local = wall.replace(tzinfo=zone, fold=0)
    instant = local.astimezone(UTC)
    # A skipped wall time does not survive the round trip (02:30 comes back as 03:30).
    if instant.astimezone(zone).replace(tzinfo=None) != wall:
        return None
    return instant


def wall_bound_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """First instant at which the local clock shows `wall` or later (never None)."""
    existing = wall_time_to_utc(wall, zone)
    if existing is not None:
        return existing
    # Skipped: the clock jumps over `wall` at a transition between the instant computed with the
    # offset after the jump (too early) and the one with the offset before it (too late).
    too_early = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    late_enough = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if too_early > late_enough:  # zoneinfo's fold semantics for gaps; keep the order robust
        too_early, late_enough = late_enough, too_early
    # Transitions happen on whole seconds; bisect down to the first instant past the jump.
    while late_enough - too_early > timedelta(seconds=1):
        middle = too_early + (late_enough - too_early) / 2
        middle = middle.replace(microsecond=0)
        if middle <= too_early:
            break
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            late_enough = middle
        else:
            too_early = middle
    return late_enough


def start_of_local_day_utc(day: date, zone: ZoneInfo) -> datetime:
    """The instant a local date begins (midnight, or the end of a DST jump over midnight)."""
    return wall_bound_to_utc(datetime.combine(day, time()), zone)


def local_date_of(instant: datetime, zone: ZoneInfo) -> date:
    return instant.astimezone(zone).date()
