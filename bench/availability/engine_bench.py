"""Slot engine benchmark: many hosts, a quarter of a year, tens of thousands of busy intervals.

    python -m bench.availability.engine_bench [--hosts 50] [--days 90] [--busy 20000] [--seed 7]
        [--repeat 15] [--check-hosts 5]

`--busy` is the total number of busy intervals, spread evenly over the hosts. The baseline is the
floor any engine stands on: one sort of those intervals by start (an engine must order its input
or do at least as much work). The engine is timed as an answer computes it - open candidates once,
`free_slots_by_host`, the round-robin union as slots - taking turns with the sort over `--repeat`
runs, so both see the same machine; min and median of each are printed with the ratio. The
engine's slots of the first `--check-hosts` hosts must equal the naive filter's (every candidate
against every busy interval), or the bench stops. Prints a table; asserts nothing about time."""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from operator import attrgetter
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
    free_slots_by_host,
    pool_free_slots,
)
from lib.engine.candidate_slots import candidate_slots
from lib.engine.local_time import local_date_of, start_of_local_day_utc
from lib.engine.slot_engine import open_candidates

# CPU time of this thread: the engine is single-threaded pure Python, so on an idle machine this is
# its wall time, and on a shared one (2 cores, other engineers' tests) other processes don't count.
CLOCK = time.thread_time
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


def run_engine(workload: Workload) -> tuple[float, float, float, Mapping[str, Sequence[Slot]], list[Slot]]:
    """One timed answer the way the service computes it: candidates, free slots by host, union.
    Returns the seconds of candidates, of free_slots_by_host after them, and of the union."""
    hosts = {host: HostBusyTime(busy) for host, busy in workload.busy_by_host.items()}
    args = (workload.window_start_utc, workload.window_end_utc, workload.now_utc)
    started = CLOCK()
    candidates = open_candidates(workload.rules, *args)
    built = CLOCK()
    by_host = free_slots_by_host(workload.rules, hosts, *args, candidates=candidates)
    subtracted = CLOCK()
    union = pool_free_slots(by_host).slots()
    finished = CLOCK()
    return built - started, subtracted - built, finished - subtracted, by_host, union


def run_sort(intervals: list[BusyInterval]) -> float:
    """The floor: one sort of every busy interval of the pool by its start."""
    started = CLOCK()
    sorted(intervals, key=attrgetter("start_utc"))
    return CLOCK() - started


def check_against_naive(workload: Workload, by_host: Mapping[str, Sequence[Slot]], hosts: int) -> None:
    """The engine's slots of the first `hosts` hosts must be the naive filter's, or the run is void."""
    for host in list(workload.busy_by_host)[:hosts]:
        if by_host[host] != naive_free_slots(workload, workload.busy_by_host[host]):
            raise SystemExit(f"engine and naive filter disagree on {host}: the benchmark result is void")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--busy", type=int, default=20_000, help="busy intervals in total, over all hosts")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=15, help="timed runs of each variant, taking turns")
    parser.add_argument(
        "--check-hosts", type=int, default=5, help="hosts compared with the naive filter (slow: ~0.3 s each)"
    )
    args = parser.parse_args(argv)

    workload = build_workload(args.hosts, args.days, args.busy, args.seed)
    intervals = [interval for busy in workload.busy_by_host.values() for interval in busy]
    run_engine(workload)  # warm: zoneinfo caches, first allocations
    samples: dict[str, list[float]] = {name: [] for name in ROWS}
    by_host: Mapping[str, Sequence[Slot]] = {}
    union: list[Slot] = []
    for _ in range(args.repeat):
        # Taking turns, so drift in the machine's speed weighs on the floor and the engine alike.
        samples["sort"].append(run_sort(intervals))
        candidates_s, subtract_s, union_s, by_host, union = run_engine(workload)
        samples["candidates"].append(candidates_s)
        samples["subtract"].append(subtract_s)
        samples["union"].append(union_s)
        samples["engine"].append(candidates_s + subtract_s + union_s)
    check_against_naive(workload, by_host, args.check_hosts)

    free_total = sum(len(slots) for slots in by_host.values())
    window = (workload.window_start_utc, workload.window_end_utc, workload.now_utc)
    produced = {"sort": len(intervals), "candidates": len(open_candidates(workload.rules, *window))}
    produced |= {"subtract": free_total, "union": len(union), "engine": len(union)}
    floor_min, floor_median = min(samples["sort"]), statistics.median(samples["sort"])
    print(
        f"{args.hosts} hosts x {args.days} days ({LINK_ZONE}, from {FIRST_DAY}) x "
        f"{args.busy:,} busy intervals in total; {args.repeat} runs each, taking turns; "
        f"naive filter agrees on {min(args.check_hosts, args.hosts)} hosts"
    )
    print(
        f"{'step (CPU time of the thread)':<46} {'min':>9} {'median':>9} {'items':>8} {'median vs sort':>15}"
    )
    print("-" * 91)
    for name, label in ROWS.items():
        low, median = min(samples[name]), statistics.median(samples[name])
        print(
            f"{label:<46} {low * 1000:>7.1f}ms {median * 1000:>7.1f}ms {produced[name]:>8,} "
            f"{median / floor_median:>14.2f}x"
        )
    engine_min, engine_median = min(samples["engine"]), statistics.median(samples["engine"])
    print(
        f"\nengine / sort: {engine_median / floor_median:.2f}x on medians, "
        f"{engine_min / floor_min:.2f}x on minimums (goal: at most 3x)"
    )


ROWS = {
    "sort": "floor: sort all busy intervals by start",
    "candidates": "open_candidates (once for the pool)",
    "subtract": "free_slots_by_host (busy time, caps)",
    "union": "pool_free_slots(...).slots() (union)",
    "engine": "engine: the three steps above",
}


if __name__ == "__main__":
    main()
