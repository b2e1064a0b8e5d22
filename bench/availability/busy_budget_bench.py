"""Busy-time budget benchmark: the peak memory of a live answer for one host at the per-host cap,
one far over it (the read stops), and the same far-over host with the cap lifted - what every
answer cost before the budget - in one run.

    python -m bench.availability.busy_budget_bench [--cap 1000] [--over 10] [--days 50]

Starts Azurite, the Microsoft sandbox and the dev host (no queues: nothing syncs, every answer is
read live), connects two hosts through the app and seeds daily series inside working hours: the
first host gets `--cap` events over the range, the second `--over` times as many. The per-host cap
(`lib.engine.busy_budget.MAX_HOST_INTERVALS`) is set to `--cap` in this process, so the numbers
scale down from the default 10,000 without seeding 100,000 events. Each answer is computed in
process through the service and the wire model; the peak of Python allocations during it is
measured with tracemalloc, with the calendarView pages Graph served. Prints a table; asserts
nothing.
"""

from __future__ import annotations

import argparse
import tracemalloc
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import requests

from bench.availability.cached_bench import _live
from bench.availability.live_bench import _connect
from bench.stack_env import BENCH_API_KEY as API_KEY
from bench.stack_env import local_stack
from devstack.funchost import DevHost
from devstack.sandbox import Sandbox
from devstack.sandbox.admin_client import SandboxAdmin, dt
from functions.wiring import install_providers
from lib.adapters.outbound_http import make_session
from lib.api.availability import Availability
from lib.engine import busy_budget
from lib.features.availability.service import AvailabilityQuery, link_availability

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _host(
    devhost: DevHost, sandbox: Sandbox, admin: SandboxAdmin, name: str, series: int, first: date
) -> str:
    """A connected host with `series` daily series between 10:00 and 16:00 (inside the link's hours
    every day, so each day of the range holds all of them); its link's slug."""
    email = f"bench-{name}-{uuid.uuid4().hex[:6]}@contoso.com"
    account = admin.add_account(email, time_zone="UTC")
    for i in range(series):
        hour, minute = 10 + (i // 60) % 6, i % 60
        admin.add_event(
            email,
            subject="series",
            start=dt(f"{first}T{hour:02d}:{minute:02d}:00"),
            end=dt(f"{first}T{hour:02d}:{minute:02d}:30"),
            recurrence={
                "pattern": {"type": "daily", "interval": 1},
                "range": {"type": "noEnd", "startDate": str(first)},
            },
        )
    user_id = f"bench-{name}"
    _connect(devhost, make_session(sandbox.ca_pem_path), user_id, str(account["id"]))
    slug = f"bench-budget-{name}"
    requests.put(
        f"{devhost.api_url}/links/{slug}",
        json={
            "title": "Bench budget",
            "hosts": [{"userId": user_id, "calendarProvider": "microsoft"}],
            "durationMinutes": 30,
            "timeZone": "UTC",
            "weeklyHours": {d: [{"start": "09:00", "end": "17:00"}] for d in DAYS},
            "horizonDays": 120,
        },
        headers={"X-Api-Key": API_KEY},
        timeout=30,
    ).raise_for_status()
    return slug


def _measure(admin: SandboxAdmin, slug: str, query: AvailabilityQuery) -> tuple[int, int, dict[str, Any]]:
    """(peak bytes, calendarView pages, the answer) of one live answer."""
    answer: Callable[[], dict[str, Any]] = lambda: Availability.of(  # noqa: E731
        link_availability(slug, query, source_factory=_live)
    ).wire()
    answer()  # tokens and mailbox settings warm, so the peak is the answer's own
    admin.clear_request_log()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        found = answer()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    pages = sum(1 for e in admin.request_log()["entries"] if e["route"].lower().endswith("/calendarview"))
    return peak, pages, found


def main(argv: Sequence[str] | None = None) -> None:
    install_providers()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cap", type=int, default=1000, help="per-host cap of busy intervals, this run")
    parser.add_argument("--over", type=int, default=10, help="the far-over host holds this many caps")
    parser.add_argument("--days", type=int, default=50)
    args = parser.parse_args(argv)
    per_day = max(1, args.cap // args.days)
    today = datetime.now(UTC).date()
    first = today + timedelta(days=(7 - today.weekday()) % 7 + 7)
    query = AvailabilityQuery(first, first + timedelta(days=args.days - 1), "UTC")
    with (
        local_stack(SLOTBRIDGE_AVAILABILITY_SOURCE="live") as (_azurite, sandbox, admin, port),
        DevHost(port=port, local_settings=None, run_timers=False, run_queues=False) as devhost,
    ):
        at_cap = _host(devhost, sandbox, admin, "at-cap", per_day, first)
        far_over = _host(devhost, sandbox, admin, "far-over", per_day * args.over, first)
        default_cap = busy_budget.MAX_HOST_INTERVALS
        busy_budget.MAX_HOST_INTERVALS = per_day * args.days
        try:
            rows = [
                ("at the cap", *_measure(admin, at_cap, query)),
                (f"{args.over}x over, stopped", *_measure(admin, far_over, query)),
            ]
            busy_budget.MAX_HOST_INTERVALS = per_day * args.days * args.over * 2
            rows.append((f"{args.over}x over, cap lifted", *_measure(admin, far_over, query)))
        finally:
            busy_budget.MAX_HOST_INTERVALS = default_cap
    print()
    print(
        f"One host's live answer over {args.days} days, per-host cap {per_day * args.days} events "
        f"({per_day} daily series; the default cap is {default_cap})"
    )
    print(f"{'host':<24} {'events':>7} {'pages':>6} {'peak memory':>12} {'degraded':>18}")
    print("-" * 71)
    for (label, peak, pages, found), events in zip(
        rows, (per_day * args.days, *(per_day * args.days * args.over,) * 2), strict=True
    ):
        reasons = ",".join(d["reason"] for d in found["degradedHosts"]) or "-"
        print(f"{label:<24} {events:>7} {pages:>6} {peak / 2**20:>9.2f}MiB {reasons:>18}")


if __name__ == "__main__":
    main()
