"""The engine stays near its floor: a pool's free slots and their union cost at most three sorts of
the pool's busy intervals (issue 21), measured side by side in the same process.

Both are timed in turns on this thread's CPU clock (the bench's `run_engine` / `run_sort`), so
other processes on a shared machine don't count, and the minimum of each is compared: a slow
engine cannot produce a fast minimum, while noise only ever adds time. The workload is the engine
bench's (about a second in all).
"""

from __future__ import annotations

from bench.availability.engine_bench import build_workload, naive_free_slots, run_engine, run_sort

HOSTS, DAYS, BUSY = 50, 90, 20_000  # the workload
RUNS = 7
MAX_RATIO = 3.0


def test_free_slots_and_union_cost_at_most_three_sorts_of_the_busy_intervals() -> None:
    workload = build_workload(HOSTS, DAYS, BUSY, seed=11)
    intervals = [interval for busy in workload.busy_by_host.values() for interval in busy]
    run_engine(workload)  # warm
    sort_times, engine_times = [], []
    for _ in range(RUNS):
        sort_times.append(run_sort(intervals))
        candidates_s, subtract_s, union_s, by_host, union = run_engine(workload)
        engine_times.append(candidates_s + subtract_s + union_s)

    first_host = next(iter(workload.busy_by_host))
    assert by_host[first_host] == naive_free_slots(workload, workload.busy_by_host[first_host])
    assert union  # the pool offers something, so the union was really computed
    ratio = min(engine_times) / min(sort_times)
    assert ratio <= MAX_RATIO, f"engine {min(engine_times) * 1000:.1f} ms is {ratio:.1f}x the sort"
