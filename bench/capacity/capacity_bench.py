"""Capacity bench: what one unit of work costs in Graph requests, Table transactions, queue
messages and function executions, counted at the wire on the real local stack.

    python -m bench.capacity.capacity_bench [--repeats 3] [--calendars 2] [--json bench/capacity/latest.json]

Starts Azurite behind counting proxies (`bench/capacity/wire.py`: every storage request the app and
the dev host's queue triggers send passes through them), the Microsoft sandbox (Graph and identity
requests from its request log) and the functions dev host with its queue triggers (function
executions from its "Executed 'Functions.x'" log lines, as the Functions host writes them), with a
product webhook that verifies every delivery. Each unit of work is run `--repeats` times; after
each, the bench waits until the stack is settled — every app queue empty (read past the proxies,
uncounted) and no storage request but idle polls for 3 s, longer than host.json's 2 s
maxPollingInterval — so everything the unit caused (queue messages, their functions, the change
notification Graph sends back for an event the app wrote, the webhook delivery) is counted with it.
Idle polls of empty queues are counted apart: they are a cost of time, not of work; so are table
creations (once per table and instance).

Units: the three timers run once each through the dev host's invoker (as the host fires them) with
1 and then 5 hosts connected, so a run's cost is split into a fixed part and a part per host
(renewal also with every subscription due, for the cost of one renewal); one change notification
(an event moved in Outlook: notification, intake, queue, delta sync, busy cache); availability of a
single host and of a 5-host pool over 14 days, from the busy cache (in-process memos cleared first,
as for a link not viewed in the last seconds, and warm) and live; one booking, reschedule and
cancel (by the attendee's manage token); one webhook delivery (a redelivery through the API).

Prints the table of per-unit figures and writes them to `--json` (docs/capacity.md's tables are
generated from that file by `python -m bench.capacity.model --write`). Asserts nothing.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import logging
import os
import platform
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import requests

from bench.capacity.wire import StorageCounter
from bench.stack_env import BENCH_API_KEY as API_KEY
from bench.stack_env import local_stack_env
from devstack.azurite import Azurite
from devstack.funchost import DevHost
from devstack.funchost.host import load_functions
from devstack.funchost.invoke import invoke
from devstack.http_server import free_loopback_port
from devstack.sandbox import Sandbox
from devstack.sandbox.admin_client import SandboxAdmin, dt
from lib.core.settings import reset_settings_caches
from tests.fixtures.product_webhook import SECRET, ProductWebhook

DEFAULT_JSON = Path(__file__).with_name("latest.json")
QUIET_S = 3.0
ZONE = "Europe/Berlin"
WORKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
APP_QUEUES = ("graph-notifications", "sync-requests", "outbox")
TIMERS = ("renew_subscriptions", "reconcile_sync", "booking_housekeeping")
# The figures of one unit, in the order the table prints them.
FIGURES = (
    "graph_requests",
    "graph_calls",
    "identity_requests",
    "table_transactions",
    "table_entities_written",
    "queue_transactions",
    "queue_messages",
    "executions",
)


class Executions(logging.Handler):
    """Function executions as the dev host logs them (`devstack.funchost.invoke`)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.by_function: Counter[str] = Counter()
        self.ms: Counter[str] = Counter()
        self.last = 0.0
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, str) and record.msg.startswith("Executed 'Functions."):
            name, _outcome, _id, duration = cast(tuple[str, str, str, float], record.args)
            with self._lock:
                self.by_function[name] += 1
                self.ms[name] += round(duration)  # whole milliseconds: Counter arithmetic is on ints
                self.last = time.monotonic()

    def snapshot(self) -> tuple[Counter[str], Counter[str]]:
        with self._lock:
            return Counter(self.by_function), Counter(self.ms)


class Stack:
    """The running stack and the counters read before and after each unit of work."""

    def __init__(
        self,
        devhost: DevHost,
        admin: SandboxAdmin,
        counter: StorageCounter,
        executions: Executions,
        queues: dict[str, Any],
    ) -> None:
        self.devhost, self.admin, self.counter, self.executions = devhost, admin, counter, executions
        self.queues = queues  # straight to Azurite: reading their depth is not counted
        self.api = devhost.api_url

    def settle(self, timeout_s: float = 120) -> None:
        """Until nothing is left of the work done before the call: no notification the sandbox
        still has to deliver, every app queue empty, and no storage request but idle polls nor any
        execution for `QUIET_S`, counted from the call at the earliest (what a unit set off may
        only start a moment after it returned)."""
        called = time.monotonic()
        deadline = called + timeout_s
        while time.monotonic() < deadline:
            quiet = time.monotonic() - max(self.counter.tally.last_work, self.executions.last, called)
            depth = {n: q.get_queue_properties().approximate_message_count for n, q in self.queues.items()}
            if (
                quiet >= QUIET_S
                and not any(depth.values())
                and not any(n["status"] == "pending" for n in self.admin.notifications())
            ):
                return
            time.sleep(0.25)
        raise SystemExit(f"the stack did not settle in time (queues {depth}, quiet {quiet:.1f}s); stopping")

    def measure(
        self,
        name: str,
        repeats: int,
        unit: Callable[[int], None],
        prepare: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        """Run `unit` `repeats` times, settling after each; the figures per run. `prepare` runs
        uncounted just before each unit, with no settling between (only for work that leaves
        nothing behind, such as an availability answer that fills the memos)."""
        self.settle()
        storage, runs, ms = Counter[str](), Counter[str](), Counter[str]()
        entries: list[dict[str, Any]] = []
        for index in range(repeats):
            if prepare is not None:
                prepare(index)
            self.admin.clear_request_log()
            storage_before = self.counter.tally.snapshot()
            runs_before, ms_before = self.executions.snapshot()
            unit(index)
            self.settle()
            storage += self.counter.tally.snapshot() - storage_before
            runs_after, ms_after = self.executions.snapshot()
            runs += runs_after - runs_before
            ms += ms_after - ms_before
            entries += self.admin.request_log()["entries"]
        graph = Counter[str]()
        graph_routes = Counter[str]()
        for entry in entries:
            path = str(entry["path"])
            if path.lower().startswith("/v1.0/"):
                is_batch = path.lower() == "/v1.0/$batch"
                graph["calls"] += 0 if is_batch else 1  # throttling counts a batch's members
                if not entry["batch"]:
                    graph["requests"] += 1
                    graph_routes[str(entry["route"]).replace("/v1.0", "")] += 1
            elif path.endswith("/oauth2/v2.0/token"):
                graph["identity"] += 1
        # Creating a table happens once per table and instance (and again here after each settings
        # switch): not a cost of the unit, so kept out of its transactions (but in `table_by_kind`).
        uncounted = ("table.entities", "table.admin")
        table = sum(v for k, v in storage.items() if k.startswith("table.") and k not in uncounted)
        queue = sum(
            v
            for k, v in storage.items()
            if k.startswith("queue.")
            and not k.startswith("queue.sent.")
            and k not in ("queue.messages", "queue.received", "queue.empty poll")
        )
        result = {
            "graph_requests": graph["requests"] / repeats,
            "graph_calls": graph["calls"] / repeats,
            "identity_requests": graph["identity"] / repeats,
            "table_transactions": table / repeats,
            "table_entities_written": storage["table.entities"] / repeats,
            "queue_transactions": queue / repeats,
            "queue_messages": storage["queue.messages"] / repeats,
            "executions": sum(runs.values()) / repeats,
            "executions_by_function": {k: v / repeats for k, v in sorted(runs.items())},
            "execution_ms": {k: round(ms[k] / runs[k], 1) for k in sorted(runs)},
            "graph_by_route": {k: v / repeats for k, v in sorted(graph_routes.items())},
            "table_by_kind": {
                k.removeprefix("table."): v / repeats
                for k, v in sorted(storage.items())
                if k.startswith("table.") and k != "table.entities"
            },
            "messages_by_queue": {
                k.removeprefix("queue.sent."): v / repeats
                for k, v in sorted(storage.items())
                if k.startswith("queue.sent.")
            },
            "repeats": repeats,
        }
        print(f"  {name}: " + ", ".join(f"{f}={result[f]:g}" for f in FIGURES), flush=True)
        return result


def _post(url: str, **kwargs: Any) -> requests.Response:
    return requests.post(url, timeout=60, **kwargs)


def _connect(stack: Stack, sandbox: Sandbox, user_id: str, account_id: str) -> str:
    from lib.adapters.outbound_http import make_session
    from tests.fixtures.sandbox import sign_in

    started = _post(
        f"{stack.api}/users/{user_id}/connections", json={"mode": "redirect"}, headers={"X-Api-Key": API_KEY}
    )
    started.raise_for_status()
    fields = sign_in(make_session(sandbox.ca_pem_path), started.json()["authorizationUrl"], account_id)
    _post(f"{stack.api}/auth/callback", data=fields, allow_redirects=False)
    listed = requests.get(
        f"{stack.api}/users/{user_id}/connections", headers={"X-Api-Key": API_KEY}, timeout=30
    ).json()
    return str(listed["connections"][0]["connectionId"])


def _add_host(
    stack: Stack, sandbox: Sandbox, index: int, calendars: int, first: date
) -> tuple[str, str, str]:
    """A host with `calendars` conflict calendars, each with a daily series and a single event;
    returns the user id, the e-mail and the id of an event to move."""
    admin = stack.admin
    email = f"cap-host-{index}-{uuid.uuid4().hex[:6]}@contoso.com"
    account = admin.add_account(email, time_zone="W. Europe Standard Time")
    ids = [str(account["default_calendar_id"])]
    ids += [str(admin.add_calendar(email, f"Calendar {n}")["id"]) for n in range(1, calendars)]
    movable = ""
    for n, calendar_id in enumerate(ids):
        admin.add_event(
            email,
            subject="standup",
            start=dt(f"{first}T08:00:00"),
            end=dt(f"{first}T08:15:00"),
            calendar_id=calendar_id,
            recurrence={
                "pattern": {"type": "daily", "interval": 1},
                "range": {"type": "noEnd", "startDate": str(first)},
            },
        )
        event = admin.add_event(
            email,
            subject="review",
            start=dt(f"{first + timedelta(days=2)}T1{n}:00:00"),
            end=dt(f"{first + timedelta(days=2)}T1{n}:30:00"),
            calendar_id=calendar_id,
        )
        movable = movable or str(event["id"])
    user_id = f"cap-user-{index}"
    connection_id = _connect(stack, sandbox, user_id, str(account["id"]))
    refs = [{"connectionId": connection_id, "calendarId": c} for c in ids]
    requests.put(
        f"{stack.api}/users/{user_id}/calendar-settings",
        json={"conflictCalendars": refs, "writeCalendar": refs[0]},
        headers={"X-Api-Key": API_KEY},
        timeout=30,
    ).raise_for_status()
    return user_id, email, movable


def _put_link(stack: Stack, slug: str, users: Sequence[str]) -> None:
    requests.put(
        f"{stack.api}/links/{slug}",
        json={
            "title": "Capacity",
            "assignment": "roundRobin",
            "hosts": [{"userId": u, "calendarProvider": "microsoft"} for u in users],
            "durationMinutes": 30,
            "timeZone": ZONE,
            "weeklyHours": {d: [{"start": "09:00", "end": "17:00"}] for d in WORKDAYS},
            "horizonDays": 120,
        },
        headers={"X-Api-Key": API_KEY},
        timeout=30,
    ).raise_for_status()


def _fire_timer(name: str) -> None:
    """One run of a timer function, as the dev host's TimerRunner fires it."""
    from azure.functions.timer import TimerRequest

    function = next(f for f in load_functions() if f.name == name)
    invoke(function, TimerRequest(past_due=False, schedule_status={}, schedule={"AdjustForDST": True}))


def _firing(name: str) -> Callable[[int], None]:
    return lambda _index: _fire_timer(name)


def _set(**values: str) -> None:
    os.environ.update(values)
    reset_settings_caches()


def _forget_memos() -> None:
    """Empty the availability path's short in-process memos (links 5 s, host views), as for a link
    whose page was not viewed in the last seconds — the usual case once traffic spreads over many
    links."""
    from lib.features.connections.host_view import host_view
    from lib.features.links.service import load_public_link

    for memo in (host_view, load_public_link):
        wrapper: Any = memo
        with wrapper.cache_lock:
            wrapper.cache.clear()


def _timers(stack: Stack, repeats: int, subscriptions: int) -> dict[str, dict[str, Any]]:
    out = {name: stack.measure(f"timer {name}", repeats, _firing(name)) for name in TIMERS}
    _set(SLOTBRIDGE_SUBSCRIPTION_RENEWAL_WINDOW_MINUTES=str(20_000))  # every subscription is due
    due = stack.measure("timer renew_subscriptions, all due", 1, _firing("renew_subscriptions"))
    _set(SLOTBRIDGE_SUBSCRIPTION_RENEWAL_WINDOW_MINUTES="2880")
    fixed = out["renew_subscriptions"]
    out["one_renewal"] = {f: (due[f] - fixed[f]) / subscriptions for f in FIGURES} | {
        "graph_by_route": {k: v / subscriptions for k, v in due["graph_by_route"].items()}
    }
    return out


def _wait_fresh(stack: Stack, slug: str, first: date) -> None:
    """Until a cached answer of `slug` needs no Graph request (every calendar imported and fresh)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        stack.settle()
        stack.admin.clear_request_log()
        _availability(stack, slug, first)
        if not any(e["path"].lower().startswith("/v1.0/") for e in stack.admin.request_log()["entries"]):
            return
        time.sleep(0.5)
    raise SystemExit("the busy cache did not become fresh in time; stopping")


def _availability(stack: Stack, slug: str, first: date, days: int = 14) -> None:
    r = requests.get(
        f"{stack.api}/links/{slug}/availability",
        params={"start": str(first), "end": str(first + timedelta(days=days - 1)), "timezone": ZONE},
        timeout=60,
    )
    r.raise_for_status()
    if not r.json()["complete"]:
        raise SystemExit(f"availability of {slug} was not complete; stopping")


def _answering(stack: Stack, slug: str, first: date) -> Callable[[int], None]:
    return lambda _index: _availability(stack, slug, first)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--calendars", type=int, default=2, help="conflict calendars per host")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args(argv)
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints every thread's stack
    r, calendars = args.repeats, args.calendars
    today = datetime.now(UTC).date()
    first = today + timedelta(days=(7 - today.weekday()) % 7 + 7)  # a Monday a week or two ahead
    executions = Executions()
    funchost_log = logging.getLogger("devstack.funchost")
    funchost_log.addHandler(executions)
    funchost_log.setLevel(logging.INFO)
    logging.basicConfig(level=logging.WARNING)  # the app's and the host's warnings and errors stay visible
    logging.getLogger().handlers[0].setLevel(logging.WARNING)
    units: dict[str, dict[str, Any]] = {}
    hook = ProductWebhook()
    with Azurite() as azurite, Sandbox() as sandbox, StorageCounter(azurite) as counter, hook.server:
        from azure.storage.queue import QueueServiceClient

        port = free_loopback_port()
        env = local_stack_env(
            azurite,
            sandbox,
            port,
            API_KEY,
            SLOTBRIDGE_PRODUCT_WEBHOOK_URL=hook.url,
            SLOTBRIDGE_WEBHOOK_SIGNING_KEY=SECRET,
            SLOTBRIDGE_AVAILABILITY_SOURCE="cached",
        )
        env["AzureWebJobsStorage"] = counter.connection_string  # the app and the dev host: counted
        _set(**env)
        direct = QueueServiceClient.from_connection_string(azurite.connection_string)
        queues = {name: direct.get_queue_client(name) for name in APP_QUEUES}
        admin = SandboxAdmin(sandbox.url, sandbox.ca_pem_path)
        with DevHost(port=port, local_settings=None, run_timers=False, run_queues=True) as devhost:
            stack = Stack(devhost, admin, counter, executions, queues)
            print("connecting 1 host ...", flush=True)
            hosts = [_add_host(stack, sandbox, 0, calendars, first)]
            _put_link(stack, "cap-one", [hosts[0][0]])
            _wait_fresh(stack, "cap-one", first)
            print("timers with 1 host:", flush=True)
            one = _timers(stack, r, calendars)
            print("connecting 4 more hosts ...", flush=True)
            hosts += [_add_host(stack, sandbox, i, calendars, first) for i in range(1, 5)]
            _put_link(stack, "cap-pool", [h[0] for h in hosts])
            _wait_fresh(stack, "cap-pool", first)
            print("timers with 5 hosts:", flush=True)
            five = _timers(stack, r, 5 * calendars)
            for name in TIMERS:
                per_host = {f: (five[name][f] - one[name][f]) / 4 for f in FIGURES}
                units[f"timer.{name}.per_run_fixed"] = {f: one[name][f] - per_host[f] for f in FIGURES}
                units[f"timer.{name}.per_run_per_host"] = per_host
                units[f"timer.{name}.run_1_host"] = one[name]
                units[f"timer.{name}.run_5_hosts"] = five[name]
            units["subscription_renewal"] = five["one_renewal"]

            print("units of work:", flush=True)
            _, email, event_id = hosts[0]

            def move(index: int) -> None:
                hour = 11 + index % 2
                day = first + timedelta(days=2)
                admin.update_event(
                    email, event_id, start=dt(f"{day}T{hour}:00:00"), end=dt(f"{day}T{hour}:30:00")
                )

            units["change_notification"] = stack.measure("change notification", r, move)
            for slug, label in (("cap-one", "1_host"), ("cap-pool", "5_host_pool")):

                def cold(_i: int, s: str = slug) -> None:
                    _forget_memos()
                    _availability(stack, s, first)

                units[f"availability.cached.{label}"] = stack.measure(f"availability cached {label}", r, cold)
                warm = _answering(stack, slug, first)
                units[f"availability.cached_warm.{label}"] = stack.measure(
                    f"availability cached, warm {label}", r, warm, prepare=warm
                )
            _set(SLOTBRIDGE_AVAILABILITY_SOURCE="live")
            for slug, label in (("cap-one", "1_host"), ("cap-pool", "5_host_pool")):
                units[f"availability.live.{label}"] = stack.measure(
                    f"availability live {label}", r, _answering(stack, slug, first)
                )
            _set(SLOTBRIDGE_AVAILABILITY_SOURCE="cached")

            made: list[dict[str, Any]] = []

            def slot(index: int, hour: int) -> str:
                when = datetime.combine(first + timedelta(days=3), datetime.min.time(), UTC)
                return (when + timedelta(hours=hour, minutes=30 * index)).strftime("%Y-%m-%dT%H:%M:%SZ")

            def book(index: int) -> None:
                answer = _post(
                    f"{stack.api}/links/cap-one/bookings",
                    json={
                        "start": slot(index, 10),
                        "attendee": {"name": "Ada", "email": f"a{index}@example.com"},
                    },
                    headers={"Idempotency-Key": uuid.uuid4().hex},
                )
                if answer.status_code != 201:
                    raise SystemExit(f"booking failed: {answer.status_code} {answer.text}")
                made.append(answer.json())

            def manage(action: str) -> Callable[[int], None]:
                def run(index: int) -> None:
                    booking = made[index]
                    body = {"start": slot(index, 13)} if action == "reschedule" else {}
                    answer = _post(
                        f"{stack.api}/bookings/{booking['bookingId']}/{action}",
                        json=body,
                        headers={"Authorization": f"Bearer {booking['manageToken']}"},
                    )
                    if answer.status_code != 200:
                        raise SystemExit(f"{action} failed: {answer.status_code} {answer.text}")

                return run

            units["booking"] = stack.measure("booking", r, book)
            units["reschedule"] = stack.measure("reschedule", r, manage("reschedule"))
            units["cancel"] = stack.measure("cancel", r, manage("cancel"))
            delivered = requests.get(
                f"{stack.api}/webhooks/deliveries",
                params={"status": "delivered"},
                headers={"X-Api-Key": API_KEY},
                timeout=30,
            ).json()["deliveries"]
            sent_before = len(hook.deliveries)

            def redeliver(index: int) -> None:
                _post(
                    f"{stack.api}/webhooks/deliveries/{delivered[index]['id']}/redeliver",
                    headers={"X-Api-Key": API_KEY},
                ).raise_for_status()

            units["webhook_delivery"] = stack.measure("webhook delivery (redelivered)", r, redeliver)
            if len(hook.deliveries) - sent_before != r:
                raise SystemExit("the product did not receive each redelivery once; stopping")
            idle = counter.tally.snapshot()["queue.empty poll"]
    record = {
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}, loopback",
        "setup": {
            "conflict_calendars_per_host": calendars,
            "availability_days": 14,
            "pool_hosts": 5,
            "repeats": r,
            "product_webhook": True,
        },
        "idle_polls_seen": idle,
        "units": units,
    }
    args.json.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    print_table(record)
    print(f"\nwritten to {args.json}")


def print_table(record: dict[str, Any]) -> None:
    from bench.capacity.model import UNIT_LABELS

    print()
    print(
        f"Cost per unit of work, counted at the wire ({record['setup']['conflict_calendars_per_host']} "
        f"conflict calendars per host; mean of {record['setup']['repeats']} runs each)"
    )
    heads = (
        "Graph req",
        "Graph calls",
        "token",
        "Table tx",
        "entities",
        "Queue tx",
        "messages",
        "executions",
    )
    print(f"{'unit':<44}" + "".join(f"{h:>12}" for h in heads))
    print("-" * (44 + 12 * len(heads)))
    for key, label in UNIT_LABELS.items():
        unit = record["units"][key]
        print(f"{label:<44}" + "".join(f"{unit[f]:>12.2f}" for f in FIGURES))
    print(
        "\nGraph req: HTTP requests to Graph (a $batch once); Graph calls: what throttling counts (each "
        "$batch member); token: identity platform token requests; Table tx / Queue tx: storage requests "
        "(billed transactions; idle polls of empty queues not included); entities: Table entities "
        "written; messages: queue messages put; executions: function executions at the dev host."
    )


if __name__ == "__main__":
    main()
