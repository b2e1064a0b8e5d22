"""Booking benchmark: latency of `POST /links/{slug}/bookings` through the dev host and the Graph
requests each booking makes, with baselines measured in the same run.

    python -m bench.booking.booking_bench [--bookings 40] [--latency-ms 50]

Starts Azurite, the Microsoft sandbox and the functions dev host (no timers or queues, so no
background sync adds Graph traffic), connects one host with a busy calendar, and creates links:
one of that host (plain, and with Teams), one of a host with calendar provider `none`. Then, with
`--latency-ms` injected on every Graph round trip, it measures N sequential requests per variant:

- availability of the same link for one day (the read a booking page makes first);
- booking on the `none` host (storage only: validation, idempotency, locks, records);
- booking on the Outlook host (one live `$batch` re-check + one event POST is the target);
- the same with a Teams meeting;
- reschedule and cancel of the Outlook bookings (tag check + PATCH / DELETE).

Graph requests come from the sandbox's request log: top-level `/v1.0` requests of the host's
mailbox (a `$batch` counts once; token refreshes are the identity platform, not Graph). Prints a
table; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import requests

from bench.stack_env import BENCH_API_KEY as API_KEY
from bench.stack_env import local_stack
from devstack.funchost import DevHost
from devstack.sandbox import Sandbox
from devstack.sandbox.admin_client import SandboxAdmin, dt

UNLIMITED = 1_000_000
ALL_WEEK = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Row:
    variant: str
    count: int
    p50_ms: float
    p95_ms: float
    graph_per_op: float
    routes: str


def _connect(devhost: DevHost, sandbox: Sandbox, user_id: str, account_id: str) -> None:
    from lib.adapters.outbound_http import make_session
    from tests.fixtures.sandbox import sign_in

    headers = {"X-Api-Key": API_KEY}
    started = requests.post(
        f"{devhost.api_url}/users/{user_id}/connections",
        json={"mode": "redirect"},
        headers=headers,
        timeout=30,
    )
    started.raise_for_status()
    fields = sign_in(make_session(sandbox.ca_pem_path), started.json()["authorizationUrl"], account_id)
    requests.post(f"{devhost.api_url}/auth/callback", data=fields, allow_redirects=False, timeout=30)


def _put_link(devhost: DevHost, slug: str, host: str, provider: str, teams: bool = False) -> None:
    put_link(devhost, slug, [(host, provider)], teams)


def put_link(devhost: DevHost, slug: str, hosts: Sequence[tuple[str, str]], teams: bool = False) -> None:
    """A link of (user id, provider) hosts (a round-robin pool if several): 30 minutes, any time."""
    requests.put(
        f"{devhost.api_url}/links/{slug}",
        json={
            "title": "Bench call",
            "assignment": "roundRobin" if len(hosts) > 1 else "single",
            "hosts": [{"userId": host, "calendarProvider": provider} for host, provider in hosts],
            "durationMinutes": 30,
            "timeZone": "Europe/Berlin",
            "weeklyHours": {d: [{"start": "00:00", "end": "24:00"}] for d in ALL_WEEK},
            "horizonDays": 365,
            "teamsMeeting": teams,
        },
        headers={"X-Api-Key": API_KEY},
        timeout=30,
    ).raise_for_status()


def _slot(first: date, index: int, hour: int = 6) -> str:
    start = datetime.combine(first, datetime.min.time(), UTC) + timedelta(hours=hour, minutes=30 * index)
    return start.strftime("%Y-%m-%dT%H:%M:%SZ")


def _measure(
    admin: SandboxAdmin, email: str, name: str, count: int, latency_ms: int, op: Callable[[int], None]
) -> Row:
    admin.clear_faults()
    if latency_ms:
        admin.add_fault("latency", path="/v1.0/*", latency_ms=latency_ms, count=UNLIMITED)
    admin.clear_request_log()
    timings = []
    for index in range(count):
        started = time.perf_counter()
        op(index)
        timings.append((time.perf_counter() - started) * 1000)
    admin.clear_faults()
    graph = [
        e
        for e in admin.request_log()["entries"]
        if e["path"].startswith("/v1.0/") and not e["batch"] and e["account"] == email
    ]
    routes = Counter(
        e["route"].replace("/v1.0", "").replace("<calendar_id>", "{id}").replace("<event_id>", "{id}")
        for e in graph
    )
    summary = ", ".join(f"{n / count:g} {route}" for route, n in sorted(routes.items())) or "-"
    p95 = statistics.quantiles(timings, n=20)[-1] if len(timings) >= 2 else timings[0]
    return Row(name, count, statistics.median(timings), p95, len(graph) / count, summary)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--bookings", type=int, default=40)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args(argv)
    n = args.bookings
    today = datetime.now(UTC).date()
    first = today + timedelta(days=14)
    with (
        local_stack() as (_azurite, sandbox, admin, port),
        DevHost(port=port, local_settings=None, run_timers=False, run_queues=False) as devhost,
    ):
        email = f"bench-host-{uuid.uuid4().hex[:6]}@contoso.com"
        account = admin.add_account(email, time_zone="W. Europe Standard Time")
        for day in range(0, 120, 2):  # some busy time the live check must read
            when = first + timedelta(days=day)
            admin.add_event(email, subject="busy", start=dt(f"{when}T03:00:00"), end=dt(f"{when}T04:00:00"))
        _connect(devhost, sandbox, "bench-host", str(account["id"]))
        _put_link(devhost, "bench-outlook", "bench-host", "microsoft")
        _put_link(devhost, "bench-teams", "bench-host", "microsoft", teams=True)
        _put_link(devhost, "bench-none", "bench-none-host", "none")
        created: dict[str, list[dict[str, Any]]] = {"bench-outlook": [], "bench-teams": []}

        def availability(index: int) -> None:
            day = first + timedelta(days=index % 7)
            r = requests.get(
                f"{devhost.api_url}/links/bench-outlook/availability",
                params={"start": str(day), "end": str(day), "timezone": "Europe/Berlin"},
                timeout=60,
            )
            r.raise_for_status()

        def booker(slug: str, day_offset: int) -> Callable[[int], None]:
            def book(index: int) -> None:
                r = requests.post(
                    f"{devhost.api_url}/links/{slug}/bookings",
                    json={
                        "start": _slot(first + timedelta(days=day_offset), index),
                        "attendee": {"name": f"Bench {index}", "email": f"bench{index}@example.com"},
                    },
                    headers={"Idempotency-Key": uuid.uuid4().hex},
                    timeout=60,
                )
                if r.status_code != 201:
                    raise SystemExit(f"booking on {slug} failed: {r.status_code} {r.text}")
                if slug in created:
                    created[slug].append(r.json())

            return book

        def manager(action: str, slug: str, day_offset: int) -> Callable[[int], None]:
            def run(index: int) -> None:
                booking = created[slug][index]
                body = (
                    {"start": _slot(first + timedelta(days=day_offset), index)}
                    if action == "reschedule"
                    else {}
                )
                r = requests.post(
                    f"{devhost.api_url}/bookings/{booking['bookingId']}/{action}",
                    json=body,
                    headers={"Authorization": f"Bearer {booking['manageToken']}"},
                    timeout=60,
                )
                if r.status_code != 200:
                    raise SystemExit(f"{action} failed: {r.status_code} {r.text}")

            return run

        # Warm up: tokens, tables, connections (not measured).
        availability(0)
        booker("bench-none", 200)(0)
        booker("bench-outlook", 201)(0)
        created["bench-outlook"].clear()

        ms = args.latency_ms
        rows = [
            _measure(admin, email, "availability, 1 day (baseline)", n, ms, availability),
            _measure(admin, email, "booking, provider none (baseline)", n, ms, booker("bench-none", 1)),
            _measure(admin, email, "booking, Outlook host", n, ms, booker("bench-outlook", 1)),
            _measure(admin, email, "booking, Outlook host + Teams", n, ms, booker("bench-teams", 3)),
            _measure(admin, email, "reschedule (Outlook)", n, ms, manager("reschedule", "bench-outlook", 5)),
            _measure(admin, email, "cancel (Outlook)", n, ms, manager("cancel", "bench-outlook", 5)),
        ]
    print()
    print(
        f"Bookings through the dev host: {n} sequential requests per variant, "
        f"{ms} ms injected per Graph round trip"
    )
    print(f"{'variant':<36} {'n':>4} {'p50':>9} {'p95':>9} {'Graph/op':>9}  Graph requests per op by route")
    print("-" * 130)
    for row in rows:
        print(
            f"{row.variant:<36} {row.count:>4} {row.p50_ms:>7.1f}ms {row.p95_ms:>7.1f}ms "
            f"{row.graph_per_op:>9.2f}  {row.routes}"
        )
    print(
        "\nGraph/op: top-level Graph requests of the host's mailbox per operation (a $batch counts once; "
        "token refreshes are not Graph). Target for a booking: 2 (one live check, one create)."
    )


if __name__ == "__main__":
    main()
