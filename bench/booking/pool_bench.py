"""Pool booking throughput: bookings per second on one host against a round-robin pool of many,
with attendees booking distinct slots at once, measured in the same run.

    python -m bench.booking.pool_bench [--hosts 20] [--bookings-per-host 12] [--per-host 8]
        [--single-concurrency 8] [--latency-ms 50,400] [--processes 1]

Starts Azurite, the Microsoft sandbox (Graph's 4 concurrent requests per mailbox enforced, as
Graph does) and the app in `--processes` processes of its own (`bench.soak.apphost`: the dev host,
timers off; one app, as Functions scales out instances: same storage, same settings), so that the
app's CPU is its own and not shared with the sandbox's TLS or the attendees' threads; attendees'
requests go to the processes in turn, as a load balancer would send them. Connects `--hosts`
Outlook hosts, and puts two links: one of the first host alone and one round-robin pool of all of
them. Then, for each of `--latency-ms` injected on every Graph request (50 ms: Graph at its
quickest; 400 ms: slow enough that one host's 4 mailbox slots, not the machine's CPU, bound the
one-host figure), each variant books distinct 30-minute slots from many threads at once (every
request a new attendee):
- **one host** (the baseline): `--single-concurrency` attendees at a time, `--bookings-per-host`
  x 3 bookings — Graph's per-mailbox limit is this figure's ceiling;
- **pool**: `--per-host` x hosts attendees at a time (by default as many per host as the one host
  gets), `--bookings-per-host` x hosts bookings.
Prints bookings per second (wall time of the whole variant), p50/p99 latency, how many hosts got
bookings, Graph requests per booking and 429s the sandbox answered, how busy the booked mailboxes'
4 Graph request slots were (from the sandbox's request log: each request's time, a `$batch`
holding one slot per member), the app process's CPU per booking (all processes together), and each
variant's rate against one host's at the same latency. A one-host figure with its mailbox's slots
near 100 % busy is Graph's per-mailbox ceiling, which a pool multiplies; a pool whose mailboxes
are far from busy is held down by something else (here, the machine's CPU). Asserts nothing about
time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from bench.booking.booking_bench import UNLIMITED, _connect, put_link
from bench.soak.soak import AppProcess, _queue_depths, app_process
from bench.stack_env import local_stack
from devstack.http_server import free_loopback_port
from devstack.sandbox.admin_client import SandboxAdmin
from lib.adapters.graph.concurrency import MAILBOX_CONCURRENCY
from lib.adapters.storage import storage_account
from lib.features.bookings.records import BookingRecord


@dataclass(frozen=True)
class Row:
    latency_ms: int
    variant: str
    bookings: int
    concurrency: int
    per_second: float
    p50_ms: float
    p99_ms: float
    hosts_used: int
    graph_per_booking: float
    throttled: int
    mailbox_busy: float
    cpu_ms_per_booking: float
    local_cpu_ms_per_booking: float
    machine_busy: float


def _slot(first: date, index: int) -> str:
    start = datetime.combine(first, datetime.min.time(), UTC) + timedelta(minutes=30 * index)
    return start.strftime("%Y-%m-%dT%H:%M:%SZ")


def _p(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy_s() -> float:
    """CPU seconds all cores of the machine spent busy so far (anyone's processes)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _mailbox_busy(entries: list[dict[str, Any]]) -> float:
    """How busy the booked mailboxes' Graph request slots were: the time their Graph requests took,
    a `$batch` counting one slot per member, over 4 slots per mailbox for the variant's span."""
    graph = [e for e in entries if e["path"].startswith("/v1.0/")]
    booked = {e["account"] for e in graph if e["route"] == "POST /v1.0/me/calendars/<calendar_id>/events"}
    top = [e for e in graph if not e["batch"] and e["account"] in booked]
    if not top:
        return 0.0
    batches = sum(1 for e in top if e["route"] == "POST /v1.0/$batch")
    members = sum(1 for e in graph if e["batch"] and e["account"] in booked)
    per_batch = min(MAILBOX_CONCURRENCY, members / batches) if batches else 0.0
    slot_seconds = sum(e["ms"] / 1000 * (per_batch if e["route"] == "POST /v1.0/$batch" else 1) for e in top)
    span = max(e["time"] for e in top) - min(e["time"] - e["ms"] / 1000 for e in top)
    return slot_seconds / (MAILBOX_CONCURRENCY * len(booked) * span) if span > 0 else 0.0


def _settle(admin: SandboxAdmin, timeout: float = 180.0) -> None:
    """Wait until the previous variant's aftermath is over (change notifications delivered, the
    app's sync done: no Graph request and no queued message for three looks in a row), so that a
    variant's figures are its own bookings'."""
    deadline, calm = time.monotonic() + timeout, 0
    while calm < 3 and time.monotonic() < deadline:
        admin.clear_request_log()
        time.sleep(1.0)
        busy = (
            any(e["path"].startswith("/v1.0/") for e in admin.request_log()["entries"])
            or any(d["status"] == "pending" for d in admin.notifications())
            or any(_queue_depths().values())
        )
        calm = 0 if busy else calm + 1


def _book_all(
    apps: Sequence[AppProcess],
    admin: SandboxAdmin,
    latency_ms: int,
    name: str,
    slug: str,
    first: date,
    count: int,
    concurrency: int,
    settle: bool = True,
) -> Row:
    if settle:
        _settle(admin)
    admin.clear_request_log()
    cpu_before = sum(_cpu_s(app.proc.pid) for app in apps)
    local_before, machine_before = _cpu_s(os.getpid()), _machine_busy_s()

    def book(index: int) -> tuple[float, str]:
        started = time.perf_counter()
        r = requests.post(
            f"{apps[index % len(apps)].api_url}/links/{slug}/bookings",
            json={
                "start": _slot(first, index),
                "attendee": {"name": f"Bench {index}", "email": f"bench{index}@example.com"},
            },
            headers={"Idempotency-Key": uuid.uuid4().hex},
            timeout=120,
        )
        if r.status_code != 201:
            raise SystemExit(f"booking on {slug} failed: {r.status_code} {r.text}")
        return time.perf_counter() - started, str(r.json()["bookingId"])

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        done = list(pool.map(book, range(count)))
    wall = time.perf_counter() - started
    cpu = sum(_cpu_s(app.proc.pid) for app in apps) - cpu_before
    local_cpu = _cpu_s(os.getpid()) - local_before
    machine = (_machine_busy_s() - machine_before) / (wall * (os.cpu_count() or 1))
    entries = admin.request_log()["entries"]
    graph = [e for e in entries if e["path"].startswith("/v1.0/") and not e["batch"]]
    throttled = sum(1 for e in entries if e["status"] == 429)
    records = storage_account().table(BookingRecord)
    hosts = {records.get(booking_id, "booking").host_user_id for _, booking_id in done}
    times = [t * 1000 for t, _ in done]
    return Row(
        latency_ms,
        name,
        count,
        concurrency,
        count / wall,
        statistics.median(times),
        _p(times, 0.99),
        len(hosts),
        len(graph) / count,
        throttled,
        _mailbox_busy(entries),
        cpu * 1000 / count,
        local_cpu * 1000 / count,
        machine,
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--bookings-per-host", type=int, default=12)
    parser.add_argument("--single-concurrency", type=int, default=8)
    parser.add_argument("--per-host", type=int, default=None, help="default: --single-concurrency")
    parser.add_argument(
        "--latency-ms",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[50, 400],
        help="Graph latencies to measure at, comma-separated",
    )
    parser.add_argument("--processes", type=int, default=1, help="app processes (instances)")
    args = parser.parse_args(argv)
    first = datetime.now(UTC).date() + timedelta(days=14)
    with local_stack() as (_azurite, sandbox, admin, port), contextlib.ExitStack() as stack:
        apps = [
            stack.enter_context(
                app_process({}, app_port, Path(tempfile.gettempdir()) / f"pool_bench_app{index}.log")
            )
            for index, app_port in enumerate(
                [port] + [free_loopback_port() for _ in range(args.processes - 1)]
            )
        ]
        app = apps[0]
        print(f"connecting {args.hosts} hosts ...", flush=True)
        users = []
        for index in range(args.hosts):
            account = admin.add_account(f"pool-host-{index}-{uuid.uuid4().hex[:6]}@contoso.com")
            _connect(app, sandbox, f"pool-host-{index}", str(account["id"]))  # type: ignore[arg-type]
            users.append(f"pool-host-{index}")
        put_link(app, "bench-single", [(users[0], "microsoft")])  # type: ignore[arg-type]
        put_link(app, "bench-pool", [(u, "microsoft") for u in users])  # type: ignore[arg-type]
        # One slot booked once per host by each process: the rotation gives it to each host in
        # turn (tokens and connections warmed, not measured).
        for index, warmed in enumerate(apps):
            for _ in range(args.hosts):
                warm_day = first - timedelta(days=7 + index)
                _book_all([warmed], admin, 0, "warm", "bench-pool", warm_day, 1, 1, settle=False)
        n = args.bookings_per_host
        per_host = args.single_concurrency if args.per_host is None else args.per_host
        pool_n, pool_c = n * args.hosts, per_host * args.hosts
        single_c = args.single_concurrency
        rows = []
        for index, latency in enumerate(args.latency_ms):
            admin.add_fault("latency", path="/v1.0/*", latency_ms=latency, count=UNLIMITED)
            # Each variant on days of its own, so that every slot is free.
            day = first + timedelta(days=60 * index)
            rows += [
                _book_all(apps, admin, latency, "one host (baseline)", "bench-single", day, n * 3, single_c),
                _book_all(
                    apps, admin, latency, "pool", "bench-pool", day + timedelta(days=30), pool_n, pool_c
                ),
            ]
            admin.clear_faults()
    baselines = {row.latency_ms: row.per_second for row in rows if row.variant.startswith("one host")}
    print()
    print(
        f"Booking throughput: one Outlook host against a pool of {args.hosts}, distinct slots, "
        f"Graph's {MAILBOX_CONCURRENCY} concurrent requests per mailbox, "
        f"{args.processes} app process(es), {os.cpu_count()} CPU cores"
    )
    print(
        f"{'Graph':>6} {'variant':<20} {'bookings':>8} {'at once':>7} {'per s':>7} {'p50':>8} {'p99':>8} "
        f"{'hosts':>5} {'Graph/bk':>8} {'429s':>4} {'mailbox':>7} {'CPU/bk':>8} {'stack/bk':>8} "
        f"{'busy':>5} {'vs one host':>11}"
    )
    print("-" * 136)
    for row in rows:
        print(
            f"{row.latency_ms:>4}ms {row.variant:<20} {row.bookings:>8} {row.concurrency:>7} "
            f"{row.per_second:>7.1f} {row.p50_ms:>6.0f}ms {row.p99_ms:>6.0f}ms {row.hosts_used:>5} "
            f"{row.graph_per_booking:>8.2f} {row.throttled:>4} {row.mailbox_busy:>7.0%} "
            f"{row.cpu_ms_per_booking:>6.1f}ms {row.local_cpu_ms_per_booking:>6.1f}ms "
            f"{row.machine_busy:>5.0%} {row.per_second / baselines[row.latency_ms]:>10.1f}x"
        )
    print(
        "Graph: latency injected per Graph request; per s: bookings / wall time of the variant; hosts: "
        "hosts that got a booking; Graph/bk: Graph requests per booking (a $batch counts once); 429s: "
        "requests the sandbox throttled; mailbox: how busy the booked mailboxes' Graph request slots "
        "were; CPU/bk: the app processes' CPU time per booking; stack/bk: this process's (the Microsoft "
        "sandbox and the attendees' threads); busy: how busy all the machine's cores were (anyone's "
        "processes); vs one host: against one host at the same latency."
    )


if __name__ == "__main__":
    main()
