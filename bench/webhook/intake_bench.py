"""Webhook intake benchmark: Graph-shaped change notifications at a fixed offered load against the
real function app on the dev host (Azurite queues, queue triggers off so nothing is consumed).

    python -m bench.webhook.intake_bench [--rate 100] [--duration 20] [--quick]

Open loop: requests are sent on a fixed schedule whatever the answers do (as Graph does), each
with one notification item carrying a valid clientState and a unique event id. The baseline, run
in the same process at the same load just before, is the validation handshake on the same route
(same host, same HTTP path, no verification and no queue write). Afterwards the
`graph-notifications` queue is drained and every acknowledged (202) notification is looked for in it.
Target: p99 < 100 ms at 100 notifications/s for 20 s, with none missing.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

TARGET_P99_MS = 100.0
CLIENT_STATE_KEY = b"bench-client-state-key-32-bytes-long!!"


@dataclass
class Phase:
    name: str
    rate: float
    duration: float
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    acknowledged: set[str] = field(default_factory=set)
    wall_s: float = 0.0

    @property
    def sent(self) -> int:
        return sum(self.statuses.values()) + self.errors

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


_local = threading.local()


def _session() -> requests.Session:
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def run_phase(phase: Phase, send: Callable[[int], tuple[int, str | None]]) -> Phase:
    """Offer `rate` requests/s for `duration` s on a fixed schedule; record each latency."""
    total = int(phase.rate * phase.duration)
    lock = threading.Lock()

    def one(i: int) -> None:
        started = time.perf_counter()
        try:
            status, ack = send(i)
        except requests.RequestException:
            with lock:
                phase.errors += 1
            return
        ms = (time.perf_counter() - started) * 1000
        with lock:
            phase.latencies_ms.append(ms)
            phase.statuses[status] = phase.statuses.get(status, 0) + 1
            if ack is not None:
                phase.acknowledged.add(ack)

    futures: list[Future[None]] = []
    with ThreadPoolExecutor(max_workers=64) as pool:
        begin = time.perf_counter()
        for i in range(total):
            due = begin + i / phase.rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(one, i))
        for f in futures:
            f.result()
        phase.wall_s = time.perf_counter() - begin
    return phase


def drain(queue: Any) -> set[str]:
    found: set[str] = set()
    while True:
        batch = list(queue.receive_messages(max_messages=32, visibility_timeout=300))
        if not batch:
            return found
        for message in batch:
            found.add(str(json.loads(base64.b64decode(message.content))["event_id"]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=100.0, help="offered notifications per second")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    parser.add_argument("--quick", action="store_true", help="3-second phases (a smoke run)")
    args = parser.parse_args()
    duration = 3.0 if args.quick else args.duration

    from devstack.azurite import Azurite
    from devstack.funchost import DevHost
    from lib.adapters.storage.clients import queue_service
    from lib.adapters.storage.queues import GRAPH_NOTIFICATIONS_QUEUE
    from lib.core.settings import load_storage_settings, reset_settings_caches

    with Azurite() as azurite:
        os.environ.update(
            {
                "AzureWebJobsStorage": azurite.connection_string,
                "SLOTBRIDGE_TABLE_PREFIX": "bench" + uuid.uuid4().hex[:8],
                "SLOTBRIDGE_CLIENT_ID": "bench-client",
                "SLOTBRIDGE_CLIENT_SECRET": "bench-secret",
                "SLOTBRIDGE_PUBLIC_BASE_URL": "http://127.0.0.1:7071",
                "SLOTBRIDGE_DATA_KEY": base64.b64encode(b"0123456789abcdef0123456789abcdef").decode(),
                "SLOTBRIDGE_CLIENT_STATE_KEY": base64.b64encode(CLIENT_STATE_KEY).decode(),
                "SLOTBRIDGE_SUBSCRIPTION_RENEWAL_SCHEDULE": "0 0 3 1 1 *",
                "SLOTBRIDGE_SYNC_RECONCILE_SCHEDULE": "0 0 3 1 1 *",
                "SLOTBRIDGE_BOOKING_HOUSEKEEPING_SCHEDULE": "0 0 3 1 1 *",
            }
        )
        reset_settings_caches()
        from lib.features.sync.client_state import make_client_state

        client_state = make_client_state(str(uuid.uuid4()), "AAMkADbench-calendar", CLIENT_STATE_KEY)
        queue = queue_service(load_storage_settings()).get_queue_client(GRAPH_NOTIFICATIONS_QUEUE)
        with DevHost(local_settings=None, run_queues=False, run_timers=False) as host:
            url = f"{host.api_url}/graph/notifications"
            run_id = uuid.uuid4().hex[:8]

            def handshake(i: int) -> tuple[int, str | None]:
                token = f"Validation: Testing client application reachability {run_id}-{i}"
                r = _session().post(url, params={"validationToken": token}, timeout=10)
                return r.status_code, None

            def notify(i: int) -> tuple[int, str | None]:
                event_id = f"{run_id}-{i}"
                item = {
                    "subscriptionId": "6a3c1185-d5ae-4eee-aef0-70d5770100c3",
                    "subscriptionExpirationDateTime": "2030-01-01T00:00:00.0000000Z",
                    "changeType": "updated",
                    "resource": f"Users/bench/Events/{event_id}",
                    "resourceData": {"@odata.type": "#Microsoft.Graph.Event", "id": event_id},
                    "clientState": client_state,
                    "tenantId": "72f988bf-0000-4000-8000-5a0db0c5a1b0",
                }
                r = _session().post(url, json={"value": [item]}, timeout=10)
                return r.status_code, event_id if r.status_code == 202 else None

            # Warm up both paths (first queue write creates the queue; first import of modules).
            run_phase(Phase("warm-up", 20, 1), handshake)
            warm = run_phase(Phase("warm-up", 20, 1), notify)
            drain(queue)
            warm.acknowledged.clear()

            baseline = run_phase(Phase("handshake (baseline)", args.rate, duration), handshake)
            intake = run_phase(Phase("notification -> queue", args.rate, duration), notify)
            found = drain(queue)

    missing = intake.acknowledged - found
    print()
    print(
        f"Webhook intake at {args.rate:g} requests/s offered for {duration:g} s per phase (dev host, Azurite)"
    )
    print()
    header = (
        f"{'endpoint':<26} {'sent':>6} {'2xx':>6} {'other':>6} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'req/s':>7}"
    )
    print(header)
    print("-" * len(header))
    for phase in (baseline, intake):
        ok = sum(n for s, n in phase.statuses.items() if 200 <= s < 300)
        print(
            f"{phase.name:<26} {phase.sent:>6} {ok:>6} {phase.sent - ok:>6} {phase.pct(50):>8.1f} "
            f"{phase.pct(99):>8.1f} {max(phase.latencies_ms or [float('nan')]):>8.1f} "
            f"{phase.sent / phase.wall_s if phase.wall_s else 0:>7.1f}"
        )
    print()
    print(
        f"queue check: {len(intake.acknowledged)} acknowledged (202), "
        f"{len(found & intake.acknowledged)} found in {GRAPH_NOTIFICATIONS_QUEUE}, {len(missing)} missing"
    )
    overhead = statistics.median(intake.latencies_ms) - statistics.median(baseline.latencies_ms)
    print(f"intake overhead over the baseline at p50: {overhead:.1f} ms (verify clientState + queue write)")
    passed = intake.pct(99) < TARGET_P99_MS and not missing and intake.errors == 0
    print(f"target p99 < {TARGET_P99_MS:g} ms with nothing missing: {'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
