"""Properties of the slot engine over random links, busy time and DST-crossing windows."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lib.engine import (
    BusyInterval,
    HostBusyTime,
    LinkRules,
    ShowAs,
    ShowAsPolicy,
    TimeRange,
    WeeklyHours,
    free_slots,
    free_slots_by_host,
    pool_free_slots,
)
from lib.engine.link_rules import link_rules_problems
from lib.engine.local_time import wall_bound_to_utc
from lib.engine.show_as_policy import DEFAULT_SHOW_AS_POLICY

ZONES = ["UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe", "America/Santiago"]
# Days next to DST changes of those zones in 2026, plus ordinary ones.
START_DAYS = [
    date(2026, 3, 7),
    date(2026, 3, 28),
    date(2026, 4, 4),
    date(2026, 9, 5),
    date(2026, 10, 3),
    date(2026, 10, 24),
    date(2026, 10, 31),
    date(2026, 6, 10),
]

quarters = st.integers(0, 95).map(lambda quarter: quarter * 15)


@st.composite
def day_hours(draw: st.DrawFn) -> tuple[TimeRange, ...]:
    """None, one range (may cross midnight), or two disjoint ranges (the second may cross)."""
    count = draw(st.integers(0, 2))
    if count == 0:
        return ()
    start = draw(quarters)
    if count == 1:
        end = draw(quarters.map(lambda m: m + 15).filter(lambda m: m != start))
        return (TimeRange(start, end),)
    first_end = start + draw(st.integers(1, 16)) * 15
    second_start = first_end + draw(st.integers(0, 16)) * 15
    assume(second_start < 1440)
    second_end = draw(quarters.map(lambda m: m + 15).filter(lambda m: m != second_start))
    return (TimeRange(start, first_end), TimeRange(second_start, second_end))


@st.composite
def links(draw: st.DrawFn) -> LinkRules:
    link = LinkRules(
        duration_minutes=draw(st.sampled_from([15, 30, 45, 60, 90])),
        slot_step_minutes=draw(st.sampled_from([5, 10, 15, 30, 60])),
        weekly_hours=WeeklyHours(tuple(draw(day_hours()) for _ in range(7))),
        time_zone=draw(st.sampled_from(ZONES)),
        buffer_before_minutes=draw(st.integers(0, 12).map(lambda n: n * 5)),
        buffer_after_minutes=draw(st.integers(0, 12).map(lambda n: n * 5)),
        minimum_notice_minutes=draw(st.integers(0, 48).map(lambda n: n * 30)),
        horizon_days=draw(st.integers(1, 20)),
    )
    assume(not link_rules_problems(link))
    return link


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[LinkRules, list[BusyInterval], datetime, datetime, datetime]:
    link = draw(links())
    first_day = draw(st.sampled_from(START_DAYS))
    window_start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC) + timedelta(
        hours=draw(st.integers(-14, 14))
    )
    window_end = window_start + timedelta(days=draw(st.integers(1, 4)))
    now = window_start + timedelta(minutes=draw(st.integers(-3 * 1440, 1440)))
    busy = []
    for _ in range(draw(st.integers(0, 25))):
        start = window_start + timedelta(minutes=draw(st.integers(-1440, 5 * 1440)))
        busy.append(
            BusyInterval(
                start, start + timedelta(minutes=draw(st.integers(1, 600))), draw(st.sampled_from(ShowAs))
            )
        )
    return link, busy, window_start, window_end, now


@st.composite
def pools(
    draw: st.DrawFn,
) -> tuple[LinkRules, dict[str, HostBusyTime], datetime, datetime, datetime]:
    """A scenario's link with a daily cap or none, and 1-5 hosts, each with its own busy time,
    showAs policy and bookings per local date."""
    link, _, window_start, window_end, now = draw(scenarios())
    link = dataclasses.replace(link, daily_cap=draw(st.one_of(st.none(), st.integers(1, 3))))
    first_day = window_start.date() - timedelta(days=1)
    hosts = {}
    for index in range(draw(st.integers(1, 5))):
        busy = []
        for _ in range(draw(st.integers(0, 12))):
            start = window_start + timedelta(minutes=draw(st.integers(-1440, 5 * 1440)))
            length = timedelta(minutes=draw(st.one_of(st.just(0), st.integers(1, 600))))
            busy.append(BusyInterval(start, start + length, draw(st.sampled_from(ShowAs))))
        policy = ShowAsPolicy(frozenset(draw(st.sets(st.sampled_from(ShowAs)))))
        booked = draw(
            st.dictionaries(st.integers(0, 6).map(lambda n: first_day + timedelta(days=n)), st.integers(0, 4))
        )
        hosts[f"host-{index}"] = HostBusyTime(busy, policy, booked)
    return link, hosts, window_start, window_end, now


def naive_reference(
    link: LinkRules,
    busy: list[BusyInterval],
    window_start: datetime,
    window_end: datetime,
    now: datetime,
    policy: ShowAsPolicy = DEFAULT_SHOW_AS_POLICY,
    full_days: frozenset[date] = frozenset(),
) -> list[tuple[datetime, datetime]]:
    """The obvious (quadratic, wall-clock brute force) reading of the rules, as an oracle; a slot
    whose local date is in `full_days` is not offered (the daily cap)."""
    zone = ZoneInfo(link.time_zone)
    before = timedelta(minutes=link.buffer_before_minutes)
    after = timedelta(minutes=link.buffer_after_minutes)
    today = now.astimezone(zone).date()
    horizon = wall_bound_to_utc(
        datetime.combine(today + timedelta(days=link.horizon_days), datetime.min.time()), zone
    )
    offered: dict[datetime, datetime] = {}
    day = window_start.astimezone(zone).date() - timedelta(days=2)
    while day <= window_end.astimezone(zone).date() + timedelta(days=1):
        midnight = datetime(day.year, day.month, day.day)
        for time_range in link.ranges_starting_on(day):
            range_end = wall_bound_to_utc(midnight + timedelta(minutes=time_range.end_offset_minutes), zone)
            minute = time_range.start_minute
            while minute < time_range.end_offset_minutes:
                wall = midnight + timedelta(minutes=minute)
                minute += link.slot_step_minutes
                start = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
                if start.astimezone(zone).replace(tzinfo=None) != wall:
                    continue
                end = start + timedelta(minutes=link.duration_minutes)
                if end > range_end or not (window_start <= start < window_end):
                    continue
                if start < now + timedelta(minutes=link.minimum_notice_minutes) or start >= horizon:
                    continue
                if wall.date() in full_days:
                    continue
                if any(
                    policy.blocks(b.show_as)
                    and b.start_utc < b.end_utc  # an empty event blocks nothing
                    and start - before < b.end_utc
                    and b.start_utc < end + after
                    for b in busy
                ):
                    continue
                offered[start] = end
        day += timedelta(days=1)
    return sorted(offered.items())


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow]
)
@given(scenarios())
def test_engine_matches_the_brute_force_reading_of_the_rules(
    scenario: tuple[LinkRules, list[BusyInterval], datetime, datetime, datetime],
) -> None:
    link, busy, window_start, window_end, now = scenario
    offered = free_slots(link, busy, window_start, window_end, now)
    assert [(s.start_utc, s.end_utc) for s in offered] == naive_reference(
        link, busy, window_start, window_end, now
    )


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow]
)
@given(scenarios())
def test_offered_slots_respect_every_rule(
    scenario: tuple[LinkRules, list[BusyInterval], datetime, datetime, datetime],
) -> None:
    link, busy, window_start, window_end, now = scenario
    zone = ZoneInfo(link.time_zone)
    offered = free_slots(link, busy, window_start, window_end, now)
    duration = timedelta(minutes=link.duration_minutes)
    walls = [s.start_utc.astimezone(zone).replace(tzinfo=None) for s in offered]

    # Sorted, each wall time offered once, each slot exactly `duration` of real time.
    assert [s.start_utc for s in offered] == sorted({s.start_utc for s in offered})
    assert len(set(walls)) == len(walls)
    assert all(s.end_utc - s.start_utc == duration for s in offered)

    for slot, wall in zip(offered, walls, strict=True):
        assert window_start <= slot.start_utc < window_end
        assert slot.start_utc >= now + timedelta(minutes=link.minimum_notice_minutes)
        # No offered slot overlaps a blocking busy interval widened by the buffers.
        for b in busy:
            if DEFAULT_SHOW_AS_POLICY.blocks(b.show_as):
                widened_start = b.start_utc - timedelta(minutes=link.buffer_after_minutes)
                widened_end = b.end_utc + timedelta(minutes=link.buffer_before_minutes)
                assert not (slot.start_utc < widened_end and widened_start < slot.end_utc)
        # It lies inside a range of hours, on that range's wall-clock step grid.
        assert any(
            _inside(link, zone, wall, slot.end_utc, day)
            for day in (wall.date(), wall.date() - timedelta(days=1))
        )


def _inside(link: LinkRules, zone: ZoneInfo, wall: datetime, end_utc: datetime, day: date) -> bool:
    midnight = datetime(day.year, day.month, day.day)
    for time_range in link.ranges_starting_on(day):
        offset = int((wall - midnight).total_seconds()) // 60
        if (
            time_range.start_minute <= offset < time_range.end_offset_minutes
            and (offset - time_range.start_minute) % link.slot_step_minutes == 0
            and end_utc
            <= wall_bound_to_utc(midnight + timedelta(minutes=time_range.end_offset_minutes), zone)
        ):
            return True
    return False


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow]
)
@given(pools())
def test_a_pool_offers_the_brute_force_union_with_the_hosts_free_for_each_slot(
    pool: tuple[LinkRules, dict[str, HostBusyTime], datetime, datetime, datetime],
) -> None:
    link, hosts, window_start, window_end, now = pool
    expected: dict[tuple[datetime, datetime], list[str]] = {}
    for host_id, host in sorted(hosts.items()):
        cap = link.daily_cap
        full = frozenset(d for d, n in host.bookings_per_local_date.items() if cap is not None and n >= cap)
        busy = list(host.busy)
        for slot in naive_reference(link, busy, window_start, window_end, now, host.show_as_policy, full):
            expected.setdefault(slot, []).append(host_id)

    by_host = free_slots_by_host(link, hosts, window_start, window_end, now)
    pooled = pool_free_slots(by_host)

    assert [(p.start_utc, p.end_utc, p.free_host_ids) for p in pooled] == [
        (start, end, tuple(host_ids)) for (start, end), host_ids in sorted(expected.items())
    ]
    assert [(s.start_utc, s.end_utc) for s in pooled.slots()] == sorted(expected)
    # The same union from plain lists of slots (what a caller outside the engine may pass).
    assert pool_free_slots({host: list(slots) for host, slots in by_host.items()}) == list(pooled)
