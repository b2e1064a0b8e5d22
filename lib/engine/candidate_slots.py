"""Candidate slots from a link's hours, before anything is subtracted.

For each local date, each range that starts on it is walked on a wall-clock grid: range start,
start + step, start + 2*step, ... (so a 09:00-17:00 range with a 15-minute step offers 09:00,
09:15, ... whatever the DST state). Each grid time is then made an instant:
- skipped by a spring-forward -> not offered;
- repeated by a fall-back -> offered once, at its first occurrence;
and the slot lasts `duration` REAL minutes from there. It is kept only if it ends by the range's
end instant (the first moment the clock shows the end time). So on a spring-forward night,
22:00-02:30 in New York ends at 03:00 EDT, and a fall-back night's range is an hour longer in
real time but offers each wall time once.

A range with no DST change inside it (nearly all of them) skips the walk: its instants are the
first one plus k steps, the same answer at a fraction of the cost.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from lib.engine.link_rules import MINUTES_PER_DAY, LinkRules, TimeRange
from lib.engine.local_time import wall_bound_to_utc, wall_time_to_utc


class CandidateSlot(NamedTuple):
    start_utc: datetime
    end_utc: datetime
    local_date: date  # the link-zone date the slot starts on (what a daily cap counts)


def candidate_slots(rules: LinkRules, zone: ZoneInfo, first_day: date, last_day: date) -> list[CandidateSlot]:
    """Candidates of ranges starting on local dates first_day..last_day, sorted, no duplicates."""
    duration = timedelta(minutes=rules.duration_minutes)
    step = timedelta(minutes=rules.slot_step_minutes)
    found: list[CandidateSlot] = []
    day = first_day
    while day <= last_day:
        midnight = datetime(day.year, day.month, day.day)
        for time_range in rules.ranges_starting_on(day):
            wall = midnight + timedelta(minutes=time_range.start_minute)
            range_end_wall = midnight + timedelta(minutes=time_range.end_offset_minutes)
            range_end_utc = wall_bound_to_utc(range_end_wall, zone)
            first_utc = wall_time_to_utc(wall, zone)
            if first_utc is not None and range_end_utc - first_utc == range_end_wall - wall:
                # One UTC offset from start to end (no DST change inside; no zone has two changes
                # within a day): the grid is arithmetic, each wall time exists once.
                found += _arithmetic_grid(
                    time_range, first_utc, day, rules.duration_minutes, rules.slot_step_minutes
                )
                continue
            while wall < range_end_wall:
                start_utc = wall_time_to_utc(wall, zone)
                if start_utc is not None:
                    end_utc = start_utc + duration
                    if end_utc > range_end_utc:
                        # Later grid times end later still (except across a fall-back, where the
                        # first occurrence rule keeps instants increasing too): stop this range.
                        break
                    found.append(CandidateSlot(start_utc, end_utc, wall.date()))
                wall += step
        day += timedelta(days=1)
    # Ranges are usually disjoint and in order, so this is a near-linear Timsort pass; it also
    # orders a crossing range's after-midnight slots among the next day's.
    found.sort()
    unique: list[CandidateSlot] = []
    for candidate in found:
        if not unique or candidate.start_utc != unique[-1].start_utc:
            unique.append(candidate)
    return unique


def _arithmetic_grid(
    time_range: TimeRange, first_utc: datetime, day: date, duration_minutes: int, step_minutes: int
) -> list[CandidateSlot]:
    """Slots of a range with no DST change inside: start + k*step for every k whose slot ends by the
    range's end; a grid time at or past midnight belongs to the next local date."""
    room = time_range.length_minutes - duration_minutes
    if room < 0:
        return []
    count = room // step_minutes + 1
    # Grid times before local midnight are on `day`, the rest (a crossing range) on the next.
    today = min(count, -(-(MINUTES_PER_DAY - time_range.start_minute) // step_minutes))
    duration, step = timedelta(minutes=duration_minutes), timedelta(minutes=step_minutes)
    slots: list[CandidateSlot] = []
    start = first_utc
    for index in range(count):
        slots.append(
            CandidateSlot(start, start + duration, day if index < today else day + timedelta(days=1))
        )
        start += step
    return slots
