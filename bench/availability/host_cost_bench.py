"""What each extra host costs a cached availability answer: pools of 1, 5, 20, 50 and 100 hosts
answered from the busy cache in one run, with a straight line fitted through the p50s.

    python -m bench.availability.host_cost_bench [--sizes 1,5,20,50,100] [--calendars 2]
        [--days 14] [--runs 30]

Seeds the largest pool's hosts as `live_bench` does (each with `--calendars` calendars of daily
series, connected, imported and subscribed by the dev host's queue triggers), puts one
round-robin link per size over the first N hosts, waits until every calendar is fresh, then times
`--runs` answers per size two ways, taking turns:
- **warm**: the host partitions read by an answer less than a second ago (`host_partition.MEMO_S`),
  as for a booking page many visitors look at;
- **cold** (the baseline): every host's partition read from Table Storage, as before the memo
  (what `read_together` remembers is dropped before each answer).
Prints p50/p95 per size, Graph requests (must be 0: counted at the sandbox), the slope and
intercept of a least-squares line through the p50s, and the slope's ratio cold/warm. Asserts
nothing about time.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.availability.cached_bench import SETTLE_S, _cached, _graph_requests, _wait_until_cached
from bench.availability.live_bench import _seed, put_pool
from bench.stack_env import local_stack
from devstack.funchost import DevHost
from functions.wiring import install_providers
from lib.adapters.storage import tables
from lib.api.availability import Availability
from lib.features.availability.service import AvailabilityQuery, link_availability


def _fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """Least-squares slope and intercept."""
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mean_x) ** 2 for x in xs
    )
    return slope, mean_y - slope * mean_x


def _p(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def main(argv: Sequence[str] | None = None) -> None:
    install_providers()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,5,20,50,100")
    parser.add_argument("--calendars", type=int, default=2)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",")})

    today = datetime.now(UTC).date()
    first = today + timedelta(days=(7 - today.weekday()) % 7 + 7)
    query = AvailabilityQuery(first, first + timedelta(days=args.days - 1), "Europe/Berlin")
    rows: list[tuple[int, list[float], list[float], float, int]] = []
    with (
        local_stack(SLOTBRIDGE_AVAILABILITY_SOURCE="cached") as (_azurite, sandbox, admin, port),
        DevHost(port=port, local_settings=None, run_timers=False, run_queues=True) as devhost,
    ):
        print(f"seeding {sizes[-1]} hosts x {args.calendars} calendars ...", flush=True)
        _seed(devhost, sandbox, admin, sizes[-1], args.calendars, first, args.seed)
        answers: dict[int, Callable[[], dict[str, Any]]] = {}
        for size in sizes:
            slug = put_pool(devhost, f"bench-pool-{size}", [f"bench-user-{i}" for i in range(size)])

            def answer(slug: str = slug) -> dict[str, Any]:
                return Availability.of(link_availability(slug, query, source_factory=_cached)).wire()

            answers[size] = answer
        print("waiting for every calendar to be fresh in the cache ...", flush=True)
        _wait_until_cached(admin, answers[sizes[-1]], timeout_s=600)
        for size in sizes:
            answer = answers[size]
            answer()  # the link and host settings' in-memory caches, as on a live instance
            warm: list[float] = []
            cold: list[float] = []
            admin.clear_request_log()
            slots = 0
            for _ in range(args.runs):
                for times, drop in ((cold, True), (warm, False)):
                    if drop:
                        tables._MEMO.clear()
                    time.sleep(SETTLE_S)
                    started = time.perf_counter()
                    slots = len(answer()["slots"])
                    times.append(time.perf_counter() - started)
            rows.append((size, warm, cold, _graph_requests(admin) / (2 * args.runs), slots))

    print()
    print(
        f"Cached availability by pool size: {args.calendars} calendars per host, {args.days} days, "
        f"{args.runs} answers per size and way (warm and cold take turns)"
    )
    print(
        f"{'hosts':>5} {'warm p50':>9} {'warm p95':>9} {'cold p50':>9} {'cold p95':>9} "
        f"{'cold/warm':>9} {'Graph/answer':>12} {'slots':>6}"
    )
    print("-" * 76)
    for size, warm, cold, graph, slots in rows:
        w, c = statistics.median(warm) * 1000, statistics.median(cold) * 1000
        print(
            f"{size:>5} {w:>7.1f}ms {_p(warm, 0.95) * 1000:>7.1f}ms {c:>7.1f}ms "
            f"{_p(cold, 0.95) * 1000:>7.1f}ms {c / w:>8.1f}x {graph:>12.1f} {slots:>6}"
        )
    xs = [float(size) for size, *_ in rows]
    warm_slope, warm_at0 = _fit(xs, [statistics.median(r[1]) * 1000 for r in rows])
    cold_slope, cold_at0 = _fit(xs, [statistics.median(r[2]) * 1000 for r in rows])
    print()
    print(f"fit, warm: {warm_slope:.3f} ms per host + {warm_at0:.1f} ms")
    ratio = cold_slope / warm_slope
    print(f"fit, cold: {cold_slope:.3f} ms per host + {cold_at0:.1f} ms (baseline: {ratio:.1f}x warm)")
    print("warm: each host's partition read less than MEMO_S (1 s) before; cold: read from Table Storage.")


if __name__ == "__main__":
    main()
