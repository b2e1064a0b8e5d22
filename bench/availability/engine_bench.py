"""Slot engine benchmark: many hosts, a quarter of a year, tens of thousands of busy intervals.

    python -m bench.availability.engine_bench [--hosts 50] [--days 90] [--busy 20000] [--seed 7]

`--busy` is the total number of busy intervals, spread evenly over the hosts. The baseline is
the straightforward filter (every candidate slot checked against every busy interval of its
host), measured in the same run on the same candidates, so the ratio compares the filtering
strategies and not the machines. Both must produce identical slots; the bench stops otherwise.
Prints a table; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from lib.engine import (
    DEFAULT_SHOW_AS_POLICY,
    BusyInterval,
    HostBusyTime,
    LinkRules,
    ShowAs,
    Slot,
    TimeRange,
    WeeklyHours,
    free_slots,
    free_slots_by_host,
    pool_free_slots,
)
from lib.engine.candidate_slots import candidate_slots
from lib.engine.local_time import local_date_of, start_of_local_day_utc

LINK_ZONE = "Europe/London"  # the 90 days from September cross the October DST change
FIRST_DAY = date(2026, 9, 1)
SHOW_AS_WEIGHTS = {
    ShowAs.BUSY: 60,
    ShowAs.TENTATIVE: 10,
    ShowAs.OOF: 5,
    ShowAs.FREE: 15,
    ShowAs.WORKING_ELSEWHERE: 8,
    ShowAs.UNKNOWN: 2,
}


@dataclass(frozen=True)
class Workload:
    rules: LinkRules
    busy_by_host: dict[str, list[BusyInterval]]
    window_start_utc: datetime
    window_end_utc: datetime
    now_utc: datetime


def build_workload(hosts: int, days: int, busy_total: int, seed: int) -> Workload:
    workday = (TimeRange.parse("09:00", "17:00"),)
    rules = LinkRules(
        duration_minutes=30,
        slot_step_minutes=15,
        weekly_hours=WeeklyHours((workday,) * 5 + ((TimeRange.parse("10:00", "14:00"),), ())),
        time_zone=LINK_ZONE,
        buffer_before_minutes=10,
        buffer_after_minutes=5,
        minimum_notice_minutes=240,
        horizon_days=days + 30,
    )
    zone = ZoneInfo(LINK_ZONE)
    window_start = start_of_local_day_utc(FIRST_DAY, zone)
    window_end = start_of_local_day_utc(FIRST_DAY + timedelta(days=days), zone)
    randomness = random.Random(seed)
    statuses, weights = list(SHOW_AS_WEIGHTS), list(SHOW_AS_WEIGHTS.values())
    busy_by_host: dict[str, list[BusyInterval]] = {}
    per_host = busy_total // hosts
    span_minutes = int((window_end - window_start).total_seconds() // 60)
    for index in range(hosts):
        intervals = []
        for _ in range(per_host + (1 if index < busy_total % hosts else 0)):
            start = window_start + timedelta(minutes=randomness.randrange(0, span_minutes, 5))
            length = timedelta(minutes=randomness.choice((15, 30, 30, 45, 60, 60, 90, 120, 240)))
            intervals.append(BusyInterval(start, start + length, randomness.choices(statuses, weights)[0]))
        busy_by_host[f"host-{index:03d}"] = intervals
    return Workload(rules, busy_by_host, window_start, window_end, window_start - timedelta(days=1))


def naive_free_slots(workload: Workload, busy: Sequence[BusyInterval]) -> list[Slot]:
    """Baseline: same candidates, each checked against every busy interval (O(slots x intervals))."""
    rules = workload.rules
    zone = ZoneInfo(rules.time_zone)
    before = timedelta(minutes=rules.buffer_before_minutes)
    after = timedelta(minutes=rules.buffer_after_minutes)
    earliest = max(
        workload.window_start_utc, workload.now_utc + timedelta(minutes=rules.minimum_notice_minutes)
    )
    horizon_day = local_date_of(workload.now_utc, zone) + timedelta(days=rules.horizon_days)
    latest = min(workload.window_end_utc, start_of_local_day_utc(horizon_day, zone))
    candidates = candidate_slots(
        rules, zone, local_date_of(earliest, zone) - timedelta(days=1), local_date_of(latest, zone)
    )
    offered = []
    for start, end, _ in candidates:
        if not earliest <= start < latest:
            continue
        if any(
            DEFAULT_SHOW_AS_POLICY.blocks(b.show_as)
            and start - before < b.end_utc
            and b.start_utc < end + after
            for b in busy
        ):
            continue
        offered.append(Slot(start, end))
    return offered


def engine_free_slots(workload: Workload, busy: Sequence[BusyInterval]) -> list[Slot]:
    return free_slots(
        workload.rules, busy, workload.window_start_utc, workload.window_end_utc, workload.now_utc
    )


def run_pool(workload: Workload, repeat: int) -> tuple[float, dict[str, list[Slot]]]:
    """Best wall time of `free_slots_by_host` (candidates built once for the whole pool)."""
    hosts = {host: HostBusyTime(busy) for host, busy in workload.busy_by_host.items()}
    best = float("inf")
    result: dict[str, list[Slot]] = {}
    for _ in range(repeat):
        started = time.perf_counter()
        result = free_slots_by_host(
            workload.rules, hosts, workload.window_start_utc, workload.window_end_utc, workload.now_utc
        )
        best = min(best, time.perf_counter() - started)
    return best, result


def run_all_hosts(
    workload: Workload, per_host: Callable[[Workload, Sequence[BusyInterval]], list[Slot]], repeat: int
) -> tuple[float, dict[str, list[Slot]]]:
    """Best wall time of `repeat` runs over every host, and the slots of the last run."""
    best = float("inf")
    result: dict[str, list[Slot]] = {}
    for _ in range(repeat):
        started = time.perf_counter()
        result = {host: per_host(workload, busy) for host, busy in workload.busy_by_host.items()}
        best = min(best, time.perf_counter() - started)
    return best, result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--busy", type=int, default=20_000, help="busy intervals in total, over all hosts")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs for each variant")
    args = parser.parse_args(argv)

    workload = build_workload(args.hosts, args.days, args.busy, args.seed)
    naive_seconds, naive_slots = run_all_hosts(workload, naive_free_slots, args.repeat)
    engine_seconds, engine_slots = run_all_hosts(workload, engine_free_slots, args.repeat)
    pool_seconds, pool_slots = run_pool(workload, args.repeat)
    if not naive_slots == engine_slots == pool_slots:
        raise SystemExit("engine and naive baseline disagree: the benchmark result is void")
    started = time.perf_counter()
    pooled = pool_free_slots(engine_slots)
    union_seconds = time.perf_counter() - started

    slots_total = sum(len(slots) for slots in engine_slots.values())
    rows = [
        ("naive filter, O(slots x intervals)", naive_seconds, slots_total, naive_seconds / naive_seconds),
        ("free_slots per host (sort + sweep)", engine_seconds, slots_total, naive_seconds / engine_seconds),
        ("free_slots_by_host (candidates once)", pool_seconds, slots_total, naive_seconds / pool_seconds),
        ("pool_free_slots: round-robin union", union_seconds, len(pooled), None),
    ]
    print(
        f"{args.hosts} hosts x {args.days} days ({LINK_ZONE}, from {FIRST_DAY}) x "
        f"{args.busy:,} busy intervals in total; best of {args.repeat}"
    )
    print(f"{'variant':<38} {'wall time':>11} {'slots':>9} {'speed-up vs naive':>18}")
    print("-" * 79)
    for name, seconds, produced, ratio in rows:
        shown_ratio = f"{ratio:.1f}x" if ratio is not None else "-"
        print(f"{name:<38} {seconds:>10.3f}s {produced:>9,} {shown_ratio:>18}")


if __name__ == "__main__":
    main()
