"""Live availability benchmark: a round-robin pool read from Outlook (the sandbox) with injected
Graph latency, against a naive reader measured in the same run.

    python -m bench.availability.live_bench [--hosts 5] [--calendars 2] [--days 14] [--latency-ms 150]

Starts Azurite, the Microsoft sandbox and the functions dev host (as the test fixtures do),
connects `--hosts` hosts through the app, gives each `--calendars` conflict calendars with a few
events a day, and puts them in one round-robin link. Then, per variant, it clears the sandbox's
request log, injects `--latency-ms` of latency and computes the link's availability for `--days`:

- naive: one calendarView request per calendar (and one mailboxSettings per mailbox), each page
  after the other, hosts one after another - no `$batch`, no concurrency;
- live: `LiveBusySource` - one `$batch` per mailbox (mailboxSettings + every calendar's first
  page, nextLinks in further batches), mailboxes concurrently;
- live over HTTP: the same through the dev host's public route, as a booking page asks.

Latency is injected per HTTP round trip to Graph (every request of the naive reader; every
`$batch` of the live one). The sandbox runs a batch's members one after another, where Graph runs
them concurrently, so a last row also charges the latency to every batch member: an upper bound.
All variants must produce the same slots; the bench stops otherwise. Prints a table; asserts
nothing about time.
"""

from __future__ import annotations

import argparse
import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests

from bench.stack_env import BENCH_API_KEY as API_KEY
from bench.stack_env import local_stack
from devstack.funchost import DevHost
from devstack.sandbox import Sandbox
from devstack.sandbox.admin_client import SandboxAdmin, dt
from functions.wiring import install_providers
from lib.adapters.storage import storage_account
from lib.api.availability import Availability
from lib.core.timezones import parse_iana_zone, windows_to_iana
from lib.engine.busy_source import BusySource, CalendarBusy, CalendarRef, HostBusy
from lib.features.availability.service import AvailabilityQuery, link_availability
from lib.features.connections.graph_access import graph_for
from lib.features.connections.records import ConnectionRecord
from lib.features.links.config import LinkConfig
from lib.providers.microsoft.graph_events import EVENT_FIELDS, busy_intervals_from_events
from lib.providers.microsoft.live_busy import PAGE_SIZE, PREFER_UTC, graph_time

LINK_ZONE = "UTC"
UNLIMITED = 1_000_000


class NaiveSequentialSource:
    """The straightforward reader: per calendar, calendarView page after page, one request at a
    time across the whole process (a lock serialises hosts too)."""

    _lock = threading.Lock()

    def __init__(self, fallback_time_zone: str) -> None:
        self.fallback = parse_iana_zone(fallback_time_zone)

    def busy(
        self, user_id: str, calendars: Sequence[CalendarRef], start_utc: datetime, end_utc: datetime
    ) -> HostBusy:
        with self._lock:
            found: list[CalendarBusy] = []
            zones: dict[str, ZoneInfo] = {}
            for ref in calendars:
                connection = storage_account().table(ConnectionRecord).get(user_id, ref.connection_id)
                client = graph_for(connection)
                if ref.connection_id not in zones:  # one mailboxSettings read per mailbox
                    name = client.get("/me/mailboxSettings", params={"$select": "timeZone"}).get("timeZone")
                    zones[ref.connection_id] = (
                        parse_iana_zone(windows_to_iana(str(name))) if name else self.fallback
                    )
                zone = zones[ref.connection_id]
                events = list(
                    client.iter_items(
                        f"/me/calendars/{ref.calendar_id}/calendarView",
                        params={
                            "startDateTime": graph_time(start_utc),
                            "endDateTime": graph_time(end_utc),
                            "$select": EVENT_FIELDS,
                            "$top": PAGE_SIZE,
                        },
                        prefer=PREFER_UTC,
                    )
                )
                found.append(CalendarBusy(ref, tuple(busy_intervals_from_events(events, zone))))
            return HostBusy(user_id, tuple(found))


@dataclass(frozen=True)
class Row:
    variant: str
    seconds: float
    round_trips: int
    calendar_views: int
    slots: int
    complete: bool


def _connect(devhost: DevHost, http: requests.Session, user_id: str, account_id: str) -> str:
    from tests.fixtures.sandbox import sign_in

    headers = {"X-Api-Key": API_KEY}
    started = requests.post(
        f"{devhost.api_url}/users/{user_id}/connections",
        json={"mode": "redirect"},
        headers=headers,
        timeout=30,
    )
    started.raise_for_status()
    fields = sign_in(http, started.json()["authorizationUrl"], account_id)
    requests.post(f"{devhost.api_url}/auth/callback", data=fields, allow_redirects=False, timeout=30)
    listed = requests.get(f"{devhost.api_url}/users/{user_id}/connections", headers=headers, timeout=30)
    return str(listed.json()["connections"][0]["connectionId"])


def _seed(
    devhost: DevHost,
    sandbox: Sandbox,
    admin: SandboxAdmin,
    hosts: int,
    calendars: int,
    first: date,
    seed: int,
) -> str:
    from lib.adapters.outbound_http import make_session

    http = make_session(sandbox.ca_pem_path)
    randomness = random.Random(seed)
    user_ids = []
    for index in range(hosts):
        email = f"bench-host-{index}-{uuid.uuid4().hex[:6]}@contoso.com"
        account = admin.add_account(email, time_zone="UTC")
        calendar_ids = [str(account["default_calendar_id"])]
        calendar_ids += [str(admin.add_calendar(email, f"Calendar {n}")["id"]) for n in range(1, calendars)]
        for calendar_id in calendar_ids:
            for _ in range(3):  # three daily series at random working hours
                hour, minute = randomness.randrange(8, 17), randomness.choice((0, 15, 30, 45))
                admin.add_event(
                    email,
                    subject="series",
                    start=dt(f"{first}T{hour:02d}:{minute:02d}:00"),
                    end=dt(f"{first}T{hour + 1:02d}:{minute:02d}:00"),
                    show_as=randomness.choice(("busy", "busy", "tentative", "free")),
                    calendar_id=calendar_id,
                    recurrence={
                        "pattern": {"type": "daily", "interval": randomness.choice((1, 2, 3))},
                        "range": {"type": "noEnd", "startDate": str(first)},
                    },
                )
        user_id = f"bench-user-{index}"
        connection_id = _connect(devhost, http, user_id, str(account["id"]))
        refs = [{"connectionId": connection_id, "calendarId": c} for c in calendar_ids]
        requests.put(
            f"{devhost.api_url}/users/{user_id}/calendar-settings",
            json={"conflictCalendars": refs, "writeCalendar": refs[0]},
            headers={"X-Api-Key": API_KEY},
            timeout=30,
        ).raise_for_status()
        user_ids.append(user_id)
    return put_pool(devhost, "bench-pool", user_ids)


def put_pool(devhost: DevHost, slug: str, user_ids: Sequence[str]) -> str:
    """A round-robin link over `user_ids`: 30-minute slots, 09:00-17:00 on weekdays."""
    week = [{"start": "09:00", "end": "17:00"}]
    requests.put(
        f"{devhost.api_url}/links/{slug}",
        json={
            "title": "Bench pool",
            "assignment": "roundRobin",
            "hosts": [{"userId": u, "calendarProvider": "microsoft"} for u in user_ids],
            "durationMinutes": 30,
            "timeZone": LINK_ZONE,
            "weeklyHours": {d: week for d in ("monday", "tuesday", "wednesday", "thursday", "friday")},
            "horizonDays": 120,
        },
        headers={"X-Api-Key": API_KEY},
        timeout=30,
    ).raise_for_status()
    return slug


def _measure(
    admin: SandboxAdmin, name: str, latency_path: str, latency_ms: int, run: Callable[[], dict[str, Any]]
) -> tuple[Row, list[str]]:
    admin.clear_faults()
    admin.clear_request_log()
    admin.add_fault("latency", path=latency_path, latency_ms=latency_ms, count=UNLIMITED)
    started = time.perf_counter()
    answer = run()
    seconds = time.perf_counter() - started
    admin.clear_faults()
    entries = [e for e in admin.request_log()["entries"] if e["path"].lower().startswith("/v1.0/")]
    row = Row(
        name,
        seconds,
        sum(1 for e in entries if not e["batch"]),
        sum(1 for e in entries if e["route"].lower().endswith("/calendarview")),
        len(answer["slots"]),
        bool(answer["complete"]),
    )
    return row, [s["startUtc"] for s in answer["slots"]]


def main(argv: Sequence[str] | None = None) -> None:
    install_providers()  # the in-process services ask the provider registry
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=5)
    parser.add_argument("--calendars", type=int, default=2)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--latency-ms", type=int, default=150)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    today = datetime.now(UTC).date()
    first = today + timedelta(days=(7 - today.weekday()) % 7 + 7)
    query = AvailabilityQuery(first, first + timedelta(days=args.days - 1), "Europe/Berlin")
    with (
        local_stack() as (_azurite, sandbox, admin, port),
        DevHost(port=port, local_settings=None, run_timers=False, run_queues=False) as devhost,
    ):
        print(f"seeding {args.hosts} hosts x {args.calendars} calendars ...", flush=True)
        slug = _seed(devhost, sandbox, admin, args.hosts, args.calendars, first, args.seed)

        def naive() -> dict[str, Any]:
            return Availability.of(
                link_availability(slug, query, source_factory=lambda link, _: _naive_source(link))
            ).wire()

        def live() -> dict[str, Any]:
            return Availability.of(link_availability(slug, query)).wire()

        def over_http() -> dict[str, Any]:
            r = requests.get(
                f"{devhost.api_url}/links/{slug}/availability",
                params={
                    "start": str(query.first_day),
                    "end": str(query.last_day),
                    "timezone": "Europe/Berlin",
                },
                timeout=120,
            )
            r.raise_for_status()
            return dict(r.json())

        for warm_up in (naive, live, over_http):  # tokens, tables, connections
            warm_up()
        ms = args.latency_ms
        variants = [
            ("naive sequential calendarView", "/v1.0/*", naive),
            ("live: $batch per mailbox, concurrent", "/v1.0/$batch", live),
            ("live over HTTP (dev host route)", "/v1.0/$batch", over_http),
            ("live, latency on every batch member too", "/v1.0/*", live),
        ]
        rows: list[Row] = []
        reference: list[str] | None = None
        for name, path, run in variants:
            row, starts = _measure(admin, name, path, ms, run)
            if reference is None:
                reference = starts
            elif starts != reference:
                raise SystemExit(f"{name} offered different slots than the naive reader; stopping")
            rows.append(row)

    baseline = rows[0].seconds
    print()
    print(
        f"Live availability: {args.hosts} hosts x {args.calendars} calendars x {args.days} days, "
        f"{ms} ms injected per Graph round trip (one round trip = {ms / 1000:.3f}s)"
    )
    print(
        f"{'variant':<42} {'wall time':>10} {'round trips':>12} {'calendarView':>13} "
        f"{'slots':>6} {'complete':>9} {'vs naive':>9}"
    )
    print("-" * 107)
    for row in rows:
        print(
            f"{row.variant:<42} {row.seconds:>9.3f}s {row.round_trips:>12} {row.calendar_views:>13} "
            f"{row.slots:>6} {row.complete!s:>9} {baseline / row.seconds:>8.1f}x"
        )
    print(
        "\nround trips: HTTP requests that reached Graph (a $batch counts once); calendarView: "
        "calendarView requests including $batch members (from the sandbox's request log)."
    )


def _naive_source(link: LinkConfig) -> BusySource:
    return NaiveSequentialSource(link.rules.time_zone)


if __name__ == "__main__":
    main()
