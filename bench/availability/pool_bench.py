"""Pool size benchmark: availability of round-robin pools of 1 to 100 hosts over the longest range
(62 days), answered from the busy cache, with time and peak memory per size and the per-host slope.

    python -m bench.availability.pool_bench [--sizes 1,5,20,50,100] [--calendars 1] [--days 62]
        [--runs 7] [--latency-ms 150] [--seed 7]

Starts Azurite, the Microsoft sandbox and the dev host with its queue triggers, connects the
largest size's hosts and seeds their calendars as `live_bench` does (three daily series each), and
puts one link per size with that many of them (the first N). Once every calendar is fresh in the
busy cache, each size's answer is timed `--runs` times, sizes taking turns, in process through the
service and the wire model (what the route answers): p50 and max, Graph requests per answer (0
when cached), and the peak of Python allocations during one answer (tracemalloc, measured in a
separate untimed answer: tracing slows everything). A least-squares line over the sizes gives the
per-host slope of each. A last row answers the largest pool live, every Graph `$batch` delayed
`--latency-ms`, against the Functions HTTP limit (230 s). Prints a table; asserts nothing about
time.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from bench.availability.cached_bench import SETTLE_S, _cached, _graph_requests, _live, _wait_until_cached
from bench.availability.live_bench import LINK_ZONE, UNLIMITED, _seed
from bench.stack_env import BENCH_API_KEY as API_KEY
from bench.stack_env import local_stack
from devstack.funchost import DevHost
from functions.wiring import install_providers
from lib.api.availability import Availability
from lib.features.availability.service import AvailabilityQuery, SourceFactory, link_availability

FUNCTIONS_HTTP_LIMIT_S = 230
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")


def _put_pool(devhost: DevHost, size: int) -> str:
    """A link of the first `size` seeded hosts (`_seed` names them bench-user-0, -1, ...)."""
    slug = f"bench-pool-{size}"
    requests.put(
        f"{devhost.api_url}/links/{slug}",
        json={
            "title": f"Bench pool of {size}",
            "assignment": "roundRobin" if size > 1 else "single",
            "hosts": [{"userId": f"bench-user-{i}", "calendarProvider": "microsoft"} for i in range(size)],
            "durationMinutes": 30,
            "slotStepMinutes": 15,
            "timeZone": LINK_ZONE,
            "weeklyHours": {day: [{"start": "09:00", "end": "17:00"}] for day in WEEKDAYS},
            "horizonDays": 120,
        },
        headers={"X-Api-Key": API_KEY},
        timeout=30,
    ).raise_for_status()
    return slug


def _answer(slug: str, query: AvailabilityQuery, source: SourceFactory) -> Callable[[], dict[str, Any]]:
    def answer() -> dict[str, Any]:
        return Availability.of(link_availability(slug, query, source_factory=source)).wire()

    return answer


def _peak_bytes(answer: Callable[[], dict[str, Any]]) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        answer()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _slope(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """Least-squares line y = a + b x: (a, b)."""
    fit = statistics.linear_regression(xs, ys)
    return fit.intercept, fit.slope


def main(argv: Sequence[str] | None = None) -> None:
    install_providers()  # the in-process services ask the provider registry
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,5,20,50,100", help="pool sizes, comma-separated")
    parser.add_argument("--calendars", type=int, default=1, help="conflict calendars per host")
    parser.add_argument("--days", type=int, default=62)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--latency-ms", type=int, default=150, help="per Graph $batch, live row only")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    sizes = sorted({int(size) for size in args.sizes.split(",")})

    today = datetime.now(UTC).date()
    first = today + timedelta(days=(7 - today.weekday()) % 7 + 7)
    query = AvailabilityQuery(first, first + timedelta(days=args.days - 1), "Europe/Berlin")
    with (
        local_stack(SLOTBRIDGE_AVAILABILITY_SOURCE="cached") as (_azurite, sandbox, admin, port),
        DevHost(port=port, local_settings=None, run_timers=False, run_queues=True) as devhost,
    ):
        print(f"seeding {sizes[-1]} hosts x {args.calendars} calendars ...", flush=True)
        started = time.monotonic()
        _seed(devhost, sandbox, admin, sizes[-1], args.calendars, first, args.seed)
        answers = {size: _answer(_put_pool(devhost, size), query, _cached) for size in sizes}
        print(f"seeded in {time.monotonic() - started:.0f}s; waiting until every calendar is cached ...")
        waited = _wait_until_cached(admin, answers[sizes[-1]], timeout_s=900)

        times: dict[int, list[float]] = {size: [] for size in sizes}
        graph: dict[int, int] = dict.fromkeys(sizes, 0)
        slots: dict[int, int] = {}
        for _ in range(args.runs):
            for size in sizes:  # taking turns, so drift weighs on every size alike
                admin.clear_request_log()
                time.sleep(SETTLE_S)
                started = time.perf_counter()
                result = answers[size]()
                times[size].append(time.perf_counter() - started)
                graph[size] += _graph_requests(admin)
                slots[size] = len(result["slots"])
        peaks = {size: _peak_bytes(answers[size]) for size in sizes}

        largest = sizes[-1]
        live = _answer(f"bench-pool-{largest}", query, _live)
        live()  # warm tokens
        admin.add_fault("latency", path="/v1.0/$batch", latency_ms=args.latency_ms, count=UNLIMITED)
        admin.clear_request_log()
        started = time.perf_counter()
        live_slots = len(live()["slots"])
        live_s = time.perf_counter() - started
        live_graph = _graph_requests(admin)
        admin.clear_faults()
    if live_slots != slots[largest]:
        raise SystemExit("the cached and live answers of the largest pool differ; stopping")

    p50 = [statistics.median(times[size]) for size in sizes]
    time_base, time_slope = _slope(sizes, p50)
    memory_base, memory_slope = _slope(sizes, [peaks[size] for size in sizes])
    print()
    print(
        f"Pool availability from the busy cache: {args.days} days ({query.first_day} .. {query.last_day}), "
        f"{args.calendars} calendar(s) per host, 30-min slots every 15 min; {args.runs} answers per size, "
        f"sizes taking turns (cache fresh after {waited:.1f}s)"
    )
    print(f"{'hosts':>5} {'p50':>9} {'max':>9} {'Graph req/answer':>17} {'peak memory':>12} {'slots':>6}")
    print("-" * 63)
    for size, median in zip(sizes, p50, strict=True):
        print(
            f"{size:>5} {median * 1000:>7.1f}ms {max(times[size]) * 1000:>7.1f}ms "
            f"{graph[size] / args.runs:>17.1f} {peaks[size] / 2**20:>9.2f}MiB {slots[size]:>6}"
        )
    print(
        f"per host (least squares over {len(sizes)} sizes): {time_slope * 1000:.2f} ms "
        f"(+ {time_base * 1000:.1f} ms fixed), {memory_slope / 1024:.0f} KiB of peak memory "
        f"(+ {memory_base / 2**20:.2f} MiB fixed)"
    )
    print(
        f"live, {largest} hosts, {args.latency_ms} ms per $batch: {live_s:.2f}s, {live_graph} Graph requests "
        f"(Functions HTTP limit: {FUNCTIONS_HTTP_LIMIT_S}s)"
    )


if __name__ == "__main__":
    main()
