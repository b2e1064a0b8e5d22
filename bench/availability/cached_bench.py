"""Cached against live availability: the same round-robin link answered from the busy cache that
change notifications keep fresh, and from Graph live, with injected Graph latency.

    python -m bench.availability.cached_bench [--hosts 5] [--calendars 2] [--days 14]
        [--latency-ms 150] [--runs 40]

Starts Azurite, the Microsoft sandbox and the dev host with its queue triggers (so connecting
imports each calendar and subscribes to it), seeds the hosts as `live_bench` does, waits until every
conflict calendar is fresh in the cache, then times `--runs` availability answers per variant with
`--latency-ms` on every Graph request. Cached and live answers take turns, so drift in the
machine's speed during the run weighs on both alike. The cached answer is timed as served (each
host's partition read remembered for up to `host_partition.MEMO_S`) and with that read dropped
before every answer. Prints p50/p95 wall time, Graph requests per answer (counted at the sandbox)
and the ratio against live measured in the same run. Both variants must offer the same
slots. Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.pipeline.transport import HttpTransport

from bench.availability.live_bench import UNLIMITED, _seed
from bench.stack_env import local_stack
from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin
from functions.wiring import install_providers
from lib.adapters.storage import clients as storage_clients
from lib.adapters.storage import tables
from lib.api.availability import Availability
from lib.engine.busy_source import BusySource
from lib.features.availability.cached_source import CachedBusySource, FreshnessReader
from lib.features.availability.service import AvailabilityQuery, link_availability
from lib.features.connections.mailboxes import microsoft_provider
from lib.features.links.config import LinkConfig

# A pause before each timed answer, so the previous one's leftovers (the sandbox's threads
# finishing their responses, sockets closing) do not land inside it.
SETTLE_S = 0.05


def _live(link: LinkConfig, _freshness: FreshnessReader) -> BusySource:
    return microsoft_provider().busy_source(link.rules.time_zone)


def _cached(link: LinkConfig, freshness: FreshnessReader) -> BusySource:
    return CachedBusySource(_live(link, freshness), freshness=freshness)


class _SwitchedTransport(HttpTransport[Any, Any]):
    """The storage clients' transport for this bench: the app's own choice (`_client_options`) or
    azure-core's `RequestsTransport` over the pooled session, switched between answers, so one run
    times both on the same clients, tables and machine drift."""

    def __init__(self) -> None:
        self.own: Any = storage_clients._client_options()["transport"]
        self.requests: Any = storage_clients._requests_transport()["transport"]
        self.current: Any = self.own

    def __enter__(self) -> _SwitchedTransport:
        return self

    def __exit__(self, *args: object) -> None:
        return None

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def send(self, request: Any, **kwargs: Any) -> Any:
        return self.current.send(request, **kwargs)


def _install_switched_transport() -> _SwitchedTransport:
    switched = _SwitchedTransport()
    options = {"connection_timeout": storage_clients.CONNECTION_TIMEOUT_S}
    options["read_timeout"] = storage_clients.READ_TIMEOUT_S
    storage_clients._client_options = lambda: {**options, "transport": switched}  # type: ignore[assignment]
    return switched


def _graph_requests(admin: SandboxAdmin) -> int:
    return sum(1 for e in admin.request_log()["entries"] if e["path"].lower().startswith("/v1.0/"))


class _TableRequestCounter(logging.Handler):
    """Counts the storage SDKs' requests through their HTTP logging (only while counting: the
    logging costs CPU, so timed answers run without it)."""

    LOGGER = "azure.core.pipeline.policies.http_logging_policy"

    def __init__(self, table_endpoint: str) -> None:
        super().__init__()
        self.count = 0
        self._endpoint = table_endpoint  # the queue pollers' requests log too

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Request URL") and self._endpoint in message:
            self.count += 1

    def requests_of(self, answer: Callable[[], dict[str, Any]]) -> int:
        logger = logging.getLogger(self.LOGGER)
        level = logger.level
        logger.addHandler(self)
        logger.setLevel(logging.INFO)
        answer()  # warm: the link and host settings caches expire after a few seconds
        self.count = 0
        try:
            answer()
        finally:
            logger.removeHandler(self)
            logger.setLevel(level)
        return self.count


def _wait_until_cached(
    admin: SandboxAdmin, answer: Callable[[], dict[str, Any]], timeout_s: float = 120
) -> float:
    """Until an answer from the cached source needs no Graph request at all (every calendar fresh)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        admin.clear_request_log()
        answer()
        if _graph_requests(admin) == 0:
            return time.monotonic() - started
        time.sleep(0.5)
    raise SystemExit("the busy cache did not become fresh in time; stopping")


def _run(
    admin: SandboxAdmin, answers: Sequence[Callable[[], dict[str, Any]]], runs: int
) -> list[tuple[list[float], float, list[str]]]:
    """Each of `answers` `runs` times, taking turns (a, b, a, b, ...), so that the machine's drift
    during the run (2 cores shared with Azurite and the sandbox) weighs on every variant alike.
    Per variant: wall times, Graph requests per answer and the last answer's slots."""
    timings: list[list[float]] = [[] for _ in answers]
    requests = [0] * len(answers)
    slots: list[list[str]] = [[] for _ in answers]
    for _ in range(runs):
        for index, answer in enumerate(answers):
            admin.clear_request_log()
            time.sleep(SETTLE_S)
            started = time.perf_counter()
            result = answer()
            timings[index].append(time.perf_counter() - started)
            requests[index] += _graph_requests(admin)
            slots[index] = [s["startUtc"] for s in result["slots"]]
    return [(timings[i], requests[i] / runs, slots[i]) for i in range(len(answers))]


def main(argv: Sequence[str] | None = None) -> None:
    install_providers()  # the in-process services ask the provider registry
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=5)
    parser.add_argument("--calendars", type=int, default=2)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--latency-ms", type=int, default=150)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    today = datetime.now(UTC).date()
    first = today + timedelta(days=(7 - today.weekday()) % 7 + 7)
    query = AvailabilityQuery(first, first + timedelta(days=args.days - 1), "Europe/Berlin")
    with local_stack(SLOTBRIDGE_AVAILABILITY_SOURCE="cached") as (azurite, sandbox, admin, port):
        switched = _install_switched_transport()
        with DevHost(port=port, local_settings=None, run_timers=False, run_queues=True) as devhost:
            print(f"seeding {args.hosts} hosts x {args.calendars} calendars ...", flush=True)
            slug = _seed(devhost, sandbox, admin, args.hosts, args.calendars, first, args.seed)

            def live() -> dict[str, Any]:
                return Availability.of(link_availability(slug, query, source_factory=_live)).wire()

            def cached() -> dict[str, Any]:
                switched.current = switched.own
                return Availability.of(link_availability(slug, query, source_factory=_cached)).wire()

            def cached_unremembered() -> dict[str, Any]:
                tables._MEMO.clear()  # microseconds: a few entries
                return cached()

            def cached_requests() -> dict[str, Any]:
                tables._MEMO.clear()
                switched.current = switched.requests
                try:
                    return Availability.of(link_availability(slug, query, source_factory=_cached)).wire()
                finally:
                    switched.current = switched.own

            print("waiting for the initial import and subscriptions ...", flush=True)
            waited = _wait_until_cached(admin, cached)
            live()  # warm tokens and connections for every variant
            cached_requests()
            # Graph runs a $batch's members concurrently; the sandbox runs them one after another. So
            # live is measured twice: latency per $batch (what Graph would show) and per request
            # including every member (an upper bound).
            # The cached answers take turns with the live ones they are compared with.
            admin.add_fault("latency", path="/v1.0/$batch", latency_ms=args.latency_ms, count=UNLIMITED)
            (
                (batch_times, batch_requests, live_slots),
                (cached_times, cached_graph, cached_slots),
                (unremembered_times, unremembered_graph, unremembered_slots),
                (requests_times, requests_graph, requests_slots),
            ) = _run(admin, (live, cached, cached_unremembered, cached_requests), args.runs)
            admin.clear_faults()
            counter = _TableRequestCounter(f"{azurite.host}:{azurite.ports.table}/")
            table_requests = {
                "live": counter.requests_of(live),
                "cached": counter.requests_of(cached),
                "unread": counter.requests_of(cached_unremembered),
                "requests": counter.requests_of(cached_requests),
            }
            admin.add_fault("latency", path="/v1.0/*", latency_ms=args.latency_ms, count=UNLIMITED)
            ((live_times, live_requests, _),) = _run(admin, (live,), args.runs)
            admin.clear_faults()
    if not cached_slots == unremembered_slots == requests_slots == live_slots:
        raise SystemExit("the cached and live answers offered different slots; stopping")

    def p(values: list[float], q: float) -> float:
        return sorted(values)[min(len(values) - 1, int(q * len(values)))]

    live_p50 = statistics.median(batch_times)
    print()
    print(
        f"Availability, cached vs live: {args.hosts} hosts x {args.calendars} calendars x {args.days} days, "
        f"{args.latency_ms} ms injected per Graph request, {args.runs} answers each "
        f"(cache fresh after {waited:.1f}s)"
    )
    header = f"{'variant':<30} {'p50':>9} {'p95':>9} {'Graph requests/answer':>22} {'Table requests':>15}"
    print(f"{header} {'slots':>6} {'p50 vs live':>12}")
    print("-" * 109)
    for name, times, requests_per, table_count in (
        ("live, latency per $batch", batch_times, batch_requests, table_requests["live"]),
        ("live, latency per member too", live_times, live_requests, table_requests["live"]),
        ("cached (busy cache)", cached_times, cached_graph, table_requests["cached"]),
        ("cached, hosts read each time", unremembered_times, unremembered_graph, table_requests["unread"]),
        ("cached, azure-core requests", requests_times, requests_graph, table_requests["requests"]),
    ):
        print(
            f"{name:<30} {statistics.median(times) * 1000:>7.1f}ms {p(times, 0.95) * 1000:>7.1f}ms "
            f"{requests_per:>22.1f} {table_count:>15} {len(live_slots):>6} "
            f"{live_p50 / statistics.median(times):>11.1f}x"
        )
    print("Table requests: Table Storage requests of one answer (counted once, untimed, right after another")
    print("answer; link and host settings come from short in-memory caches).")
    print("cached: as served, each host's partition read at most MEMO_S (1 s) before (the answers come")
    print("~0.3 s apart, so about one in four reads the hosts); hosts read each time: that read dropped")
    print("before every answer; azure-core requests: the same, storage over azure-core's RequestsTransport.")


if __name__ == "__main__":
    main()
