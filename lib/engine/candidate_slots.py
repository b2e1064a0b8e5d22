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
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from lib.engine.link_rules import LinkRules
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
