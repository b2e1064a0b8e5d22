"""The soak: minutes of mixed traffic against the app (its own process, `bench.soak.apphost`) and the
Microsoft sandbox, with faults, then invariants checked on what is stored and what is in Outlook.

Traffic, from `clients` threads until the time is up (each request bounded by a timeout, the whole
run by a count too): availability reads of every link; bookings of offered slots (some with an
Idempotency-Key sent twice); reschedules and cancellations through the manage token; Outlook
changes through the sandbox admin API (events added, moved, deleted; booking events moved to free
evenings or deleted by the host); change notifications dropped (half of them followed by Graph's
`missed` lifecycle notification, as Graph sends) and delivered twice; 429 and 503 storms on one
mailbox's Graph requests; late event writes (a host's next event POST handled only after the
app's Graph timeout, `GRAPH_TIMEOUT_S` in the soak: the app never sees the answer, the event lands
anyway). At 40 % of the run one host's grant is revoked and its access tokens expired.

Then the traffic stops, faults are cleared, late writes still on their way land, the app drains
its queues, and one reconciliation pass runs (the timer's backstop for notifications Graph dropped
without telling), then its booking housekeeping as it runs once the search window of unknown event
outcomes has passed (`STALE_PENDING`: pending bookings are adopted or released, events landing for
failed ones deleted). The checks:

- `no overlapping bookings`: no two confirmed bookings of one host overlap in time.
- `booking events`: every confirmed booking with a write calendar has exactly one event in that
  calendar, tagged with its id, at its times; no booking is left `pending`.
- `no orphan invitations`: every (non-cancelled) Outlook event carrying Slotbridge's tag belongs to
  a confirmed booking - late writes included.
- `busy cache = mailbox`: for every conflict calendar of a connected connection whose sync state is
  fresh (`is_fresh` over its synced window), the set of (startUtc, endUtc, showAs) of the cache's rows
  equals the set of (start, end, showAs) of the mailbox's non-cancelled events that overlap the
  synced window [window_start, window_end). (All events here are single, timed events.)
- `notifications`: every change/lifecycle notification the app acknowledged (202) — the sandbox's
  delivered ones and the duplicates sent again — became one queue message, and every such message
  was processed or moved to the poison queue: acknowledged == processed + poisoned, queue empty.
- `revoked grant`: the revoked host's connection is `needs_reconnect`, with exactly one
  `connection.needs_reconnect` outbox message.
- `expected answers only`: no request answered 500, and every API call answered one of the statuses
  its operation documents for what the soak does (`EXPECTED_ANSWERS`: e.g. 409 for a slot taken
  meanwhile, 503 `outlook_unavailable` under storms) - a 404 for a booking the soak made is a bug.
- `memory flat`: the app process's RSS, sampled every second during traffic. The first third is
  warm-up (bounded memos, connection and thread pools and the allocator's per-thread arenas fill
  up: a 15-minute run levels off after about 4 minutes); after it, the mean of the last third is
  within `rss_bound_mib` of the mean of the middle third. The RSS by tenth of the run is printed
  too, so a slow climb shows.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from devstack.sandbox.admin_client import SandboxAdmin, dt
from lib.adapters.outbound_http import make_session

ROOT = Path(__file__).resolve().parents[2]
WEEK = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
OUTLOOK_SHOW_AS = ("busy", "busy", "tentative", "oof", "free", "workingElsewhere")
# The app's Graph timeout in the soak (SLOTBRIDGE_GRAPH_TIMEOUT_SECONDS), and how long a late event
# write takes in the sandbox: past it, so the app stops waiting before Graph creates the event.
GRAPH_TIMEOUT_S = 8
LATE_WRITE_S = GRAPH_TIMEOUT_S + 2


# What each API call of the soak may answer, given what it sends (valid slots of its own links,
# bookings it made, their tokens): 409 covers a slot taken meanwhile, a booking cancelled or moved
# meanwhile and a duplicate in progress; 503 is `outlook_unavailable` under the storms.
EXPECTED_ANSWERS: dict[str, frozenset[int | str]] = {
    "availability": frozenset({200}),
    "book": frozenset({201, 409, 503}),
    "book (same key again)": frozenset({201}),
    "book (retry after 503)": frozenset({201, 409, 503}),
    "reschedule": frozenset({200, 409, 503}),
    "cancel": frozenset({200, 409, 503}),
    "notifications: duplicate": frozenset({202}),
}


@dataclass(frozen=True)
class SoakConfig:
    seconds: float = 45.0
    clients: int = 4
    hosts: int = 3  # plus the host whose grant is revoked
    max_requests: int = 5000  # a bound on traffic besides time
    settle_seconds: float = 120.0
    rss_bound_mib: float = 25.0
    seed: int = 11


@dataclass
class HostInfo:
    user_id: str
    email: str
    account_id: str
    connection_id: str
    default_calendar: str
    other_calendar: str

    @property
    def conflict_calendars(self) -> tuple[str, str]:
        return (self.default_calendar, self.other_calendar)


@dataclass
class BookingRef:
    booking_id: str
    token: str
    slug: str


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class SoakReport:
    config: SoakConfig
    traffic_seconds: float
    requests: Counter[str]
    statuses: Counter[tuple[str, str]]
    checks: list[Check]
    rss_first_mib: float
    rss_last_mib: float
    samples: int
    rss_by_tenth: list[float]

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.checks)

    def table(self) -> str:
        lines = [
            f"soak: {self.traffic_seconds:.0f} s of traffic, {self.config.clients} clients, "
            f"{self.config.hosts + 1} hosts, {sum(self.requests.values())} operations",
            "",
            "| operation | count | answers |",
            "| --- | ---: | --- |",
        ]
        for op, count in sorted(self.requests.items()):
            answers = ", ".join(
                f"{status}: {n}" for (o, status), n in sorted(self.statuses.items()) if o == op
            )
            lines.append(f"| {op} | {count} | {answers} |")
        lines += ["", "| invariant | result | detail |", "| --- | --- | --- |"]
        lines += [f"| {c.name} | {'PASS' if c.ok else 'FAIL'} | {c.detail} |" for c in self.checks]
        if self.rss_by_tenth:
            profile = " ".join(f"{mib:.0f}" for mib in self.rss_by_tenth)
            lines += ["", f"app RSS by tenth of the traffic (MiB): {profile}"]
        return "\n".join(lines)


# --- the app in its own process ------------------------------------------------------------------


class AppProcess:
    def __init__(self, env: dict[str, str], port: int, log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.soak.apphost", "--port", str(port)],
            cwd=ROOT,
            env={**os.environ, **env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        self._lock = threading.Lock()
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline().strip()
        if not first.startswith("ready "):
            self.stop()
            raise RuntimeError(f"the app did not start: {first!r}; see {log_path}")
        self.api_url = first.split(" ", 1)[1]

    def stats(self) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        with self._lock:
            self.proc.stdin.write("stats\n")
            self.proc.stdin.flush()
            return dict(json.loads(self.proc.stdout.readline()))

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.terminate()
                self.proc.wait(timeout=10)
        self._log.close()


@contextmanager
def app_process(env: dict[str, str], port: int, log_path: Path) -> Iterator[AppProcess]:
    app = AppProcess(env, port, log_path)
    try:
        yield app
    finally:
        app.stop()


# --- the world: hosts, calendars, links ----------------------------------------------------------


class World:
    def __init__(self, api_url: str, admin: SandboxAdmin, ca_pem_path: str, api_key: str, seed: int) -> None:
        self.api = api_url
        self.admin = admin
        self.ca = ca_pem_path
        self.backend = {"X-Api-Key": api_key}
        self.rng = random.Random(seed)
        self.hosts: list[HostInfo] = []
        self.revokee: HostInfo | None = None
        self.links: dict[str, list[HostInfo]] = {}
        self.first_day = datetime.now(UTC).date() + timedelta(days=2)
        self.days = 4

    def connect_host(self, label: str) -> HostInfo:
        from tests.fixtures.sandbox import sign_in

        email = f"soak-{label}-{uuid.uuid4().hex[:6]}@contoso.com"
        account = self.admin.add_account(email, time_zone="UTC")
        other = self.admin.add_calendar(email, "Team")
        user_id = f"soak-{label}-{uuid.uuid4().hex[:6]}"
        http = make_session(self.ca)
        started = requests.post(
            f"{self.api}/users/{user_id}/connections",
            json={"mode": "redirect"},
            headers=self.backend,
            timeout=30,
        )
        started.raise_for_status()
        fields = sign_in(http, started.json()["authorizationUrl"], str(account["id"]))
        requests.post(f"{self.api}/auth/callback", data=fields, allow_redirects=False, timeout=30)
        listed = requests.get(f"{self.api}/users/{user_id}/connections", headers=self.backend, timeout=30)
        connection_id = str(listed.json()["connections"][0]["connectionId"])
        host = HostInfo(
            user_id,
            email,
            str(account["id"]),
            connection_id,
            str(account["default_calendar_id"]),
            str(other["id"]),
        )
        refs = [{"connectionId": connection_id, "calendarId": c} for c in host.conflict_calendars]
        requests.put(
            f"{self.api}/users/{user_id}/calendar-settings",
            json={"conflictCalendars": refs, "writeCalendar": refs[0]},
            headers=self.backend,
            timeout=60,
        ).raise_for_status()
        # A few events from before the soak, in both calendars.
        for calendar_id in host.conflict_calendars:
            for _ in range(3):
                self.add_outlook_event(host, calendar_id)
        return host

    def put_link(self, slug: str, hosts: list[HostInfo], buffer_after: int = 0) -> None:
        body = {
            "title": f"Soak {slug}",
            "assignment": "roundRobin" if len(hosts) > 1 else "single",
            "hosts": [{"userId": h.user_id, "calendarProvider": "microsoft"} for h in hosts],
            "durationMinutes": 30,
            "slotStepMinutes": 15,
            "timeZone": "UTC",
            "weeklyHours": {day: [{"start": "08:00", "end": "18:00"}] for day in WEEK},
            "bufferAfterMinutes": buffer_after,
            "horizonDays": 30,
        }
        requests.put(
            f"{self.api}/links/{slug}", json=body, headers=self.backend, timeout=30
        ).raise_for_status()
        self.links[slug] = hosts

    def setup(self, host_count: int) -> None:
        self.hosts = [self.connect_host(f"h{i}") for i in range(host_count)]
        self.revokee = self.connect_host("revoked")
        tag = uuid.uuid4().hex[:6]
        for index, host in enumerate(self.hosts):
            self.put_link(f"soak-{tag}-single-{index}", [host], buffer_after=10 * (index % 2))
        self.put_link(f"soak-{tag}-pool", self.hosts[:2])
        self.put_link(f"soak-{tag}-revoked", [self.revokee])

    def all_hosts(self) -> list[HostInfo]:
        return [*self.hosts, *([self.revokee] if self.revokee else [])]

    def random_day(self) -> date:
        return self.first_day + timedelta(days=self.rng.randrange(self.days))

    def add_outlook_event(self, host: HostInfo, calendar_id: str) -> dict[str, Any]:
        day = self.random_day()
        start = datetime(
            day.year, day.month, day.day, self.rng.randrange(8, 17), self.rng.choice((0, 15, 30, 45))
        )
        end = start + timedelta(minutes=self.rng.choice((15, 30, 60, 90)))
        return self.admin.add_event(
            host.email,
            subject="Outlook event",
            start=dt(start.strftime("%Y-%m-%dT%H:%M:%S")),
            end=dt(end.strftime("%Y-%m-%dT%H:%M:%S")),
            show_as=self.rng.choice(OUTLOOK_SHOW_AS),
            calendar_id=calendar_id,
        )


# --- traffic -------------------------------------------------------------------------------------


class Traffic:
    def __init__(self, world: World, config: SoakConfig, app: AppProcess) -> None:
        self.world = world
        self.config = config
        self.app = app
        self.lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.statuses: Counter[tuple[str, str]] = Counter()
        self.unexpected: list[str] = []
        self.offered: dict[str, list[str]] = {slug: [] for slug in world.links}
        self.bookings: list[BookingRef] = []
        self.outlook_events: list[tuple[HostInfo, str]] = []
        self.evening_slots: set[tuple[str, datetime]] = set()
        self.duplicates_acknowledged = 0
        self.drops_requested = 0
        self.rss: list[float] = []
        self.stop = threading.Event()
        self.budget = config.max_requests

    def _take_budget(self) -> bool:
        with self.lock:
            if self.budget <= 0:
                return False
            self.budget -= 1
            return True

    def _record(self, op: str, status: int | str, body: str = "") -> None:
        with self.lock:
            self.requests[op] += 1
            self.statuses[(op, str(status))] += 1
            expected = EXPECTED_ANSWERS.get(op)
            if status == 500 or (expected is not None and status not in expected):
                self.unexpected.append(f"{op}: {status} {body[:200]}")

    # -- operations --

    def availability(self, http: requests.Session, rng: random.Random) -> None:
        slug = rng.choice(list(self.world.links))
        first = self.world.random_day()
        last = min(
            first + timedelta(days=rng.randrange(2)),
            self.world.first_day + timedelta(days=self.world.days - 1),
        )
        r = http.get(
            f"{self.world.api}/links/{slug}/availability",
            params={"start": first.isoformat(), "end": last.isoformat(), "timezone": "UTC"},
            timeout=60,
        )
        self._record("availability", r.status_code, r.text)
        if r.status_code == 200:
            starts = [s["startUtc"] for s in r.json()["slots"]]
            with self.lock:
                self.offered[slug] = (self.offered[slug] + starts)[-200:]

    def _slot(self, slug: str, rng: random.Random) -> str | None:
        with self.lock:
            offered = list(self.offered[slug])
        return rng.choice(offered) if offered else None

    def book(self, http: requests.Session, rng: random.Random) -> None:
        slug = rng.choice(list(self.world.links))
        start = self._slot(slug, rng)
        if start is None:
            return self.availability(http, rng)
        body = {
            "start": start,
            "attendee": {"name": "Soak Attendee", "email": f"a-{uuid.uuid4().hex[:6]}@example.com"},
        }
        key = uuid.uuid4().hex

        def post() -> requests.Response:  # the page's request; retries send the same key and body
            url = f"{self.world.api}/links/{slug}/bookings"
            return http.post(url, json=body, headers={"Idempotency-Key": key}, timeout=90)

        r = post()
        self._record("book", r.status_code, r.text)
        if r.status_code == 503 and rng.random() < 0.5:
            # The page retries a 503 with the same key: a booking whose Outlook event may have been
            # written is finished, not made twice (the event invariants would show a second one).
            time.sleep(rng.uniform(0.5, 2.0))
            r = post()
            self._record("book (retry after 503)", r.status_code, r.text)
        if r.status_code == 201:
            answer = r.json()
            with self.lock:
                self.bookings.append(BookingRef(answer["bookingId"], answer["manageToken"], slug))
            if rng.random() < 0.15:  # the page retries: the same key and body answer the first result
                again = post()
                self._record("book (same key again)", again.status_code, again.text)
                if again.status_code != 201 or again.json().get("bookingId") != answer["bookingId"]:
                    with self.lock:
                        self.unexpected.append(
                            f"idempotent retry answered {again.status_code} {again.text[:200]}"
                        )

    def _booking(self, rng: random.Random) -> BookingRef | None:
        with self.lock:
            return rng.choice(self.bookings) if self.bookings else None

    def reschedule(self, http: requests.Session, rng: random.Random) -> None:
        booking = self._booking(rng)
        start = self._slot(booking.slug, rng) if booking else None
        if booking is None or start is None:
            return self.availability(http, rng)
        r = http.post(
            f"{self.world.api}/bookings/{booking.booking_id}/reschedule",
            json={"start": start},
            headers={"Authorization": f"Bearer {booking.token}"},
            timeout=90,
        )
        self._record("reschedule", r.status_code, r.text)

    def cancel(self, http: requests.Session, rng: random.Random) -> None:
        booking = self._booking(rng)
        if booking is None:
            return self.availability(http, rng)
        r = http.post(
            f"{self.world.api}/bookings/{booking.booking_id}/cancel",
            headers={"Authorization": f"Bearer {booking.token}"},
            timeout=90,
        )
        self._record("cancel", r.status_code, r.text)

    def outlook_change(self, http: requests.Session, rng: random.Random) -> None:
        admin = self.world.admin
        roll = rng.random()
        host = rng.choice(self.world.hosts)
        if roll < 0.45 or not self.outlook_events:
            calendar_id = rng.choice(host.conflict_calendars)
            event = self.world.add_outlook_event(host, calendar_id)
            with self.lock:
                self.outlook_events.append((host, str(event["id"])))
            self._record("outlook: add event", "ok")
        elif roll < 0.75:
            with self.lock:
                owner, event_id = rng.choice(self.outlook_events)
            day = self.world.random_day()
            start = datetime(day.year, day.month, day.day, rng.randrange(8, 17), rng.choice((0, 30)))
            admin.update_event(
                owner.email,
                event_id,
                start=dt(start.strftime("%Y-%m-%dT%H:%M:%S")),
                end=dt((start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S")),
                showAs=rng.choice(OUTLOOK_SHOW_AS),
            )
            self._record("outlook: move event", "ok")
        elif roll < 0.85:
            with self.lock:
                if not self.outlook_events:
                    return
                owner, event_id = self.outlook_events.pop(rng.randrange(len(self.outlook_events)))
            admin.delete_event(owner.email, event_id)
            self._record("outlook: delete event", "ok")
        else:
            self._change_booking_event(rng)

    def _change_booking_event(self, rng: random.Random) -> None:
        """The host moves a booking's event to a free evening (outside every link's hours, so no
        other booking can be there) or deletes it, in Outlook."""
        admin = self.world.admin
        host = rng.choice(self.world.hosts)
        tagged = [
            e
            for cal in admin.mailbox(host.email)["calendars"]
            for e in cal["events"]
            if _booking_tag(e) is not None and not e.get("isCancelled")
        ]
        if not tagged:
            return
        event = rng.choice(tagged)
        if rng.random() < 0.5:
            admin.delete_event(host.email, event["id"])
            self._record("outlook: delete booking event", "ok")
            return
        with self.lock:
            for _ in range(50):
                day = self.world.random_day()
                start = datetime(day.year, day.month, day.day, rng.randrange(19, 23), rng.choice((0, 30)))
                if (host.user_id, start) not in self.evening_slots:
                    self.evening_slots.add((host.user_id, start))
                    break
            else:
                return
        admin.update_event(
            host.email,
            event["id"],
            start=dt(start.strftime("%Y-%m-%dT%H:%M:%S")),
            end=dt((start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S")),
        )
        self._record("outlook: move booking event", "ok")

    def notifications_chaos(self, http: requests.Session, rng: random.Random) -> None:
        admin = self.world.admin
        if rng.random() < 0.5:
            count = rng.randrange(1, 3)
            admin.drop_notifications(count)
            with self.lock:
                self.drops_requested += count
            self._record("notifications: drop next", "ok")
            if rng.random() < 0.5:  # Graph tells about what it dropped with a `missed` lifecycle event
                host = rng.choice(self.world.hosts)
                mine = [s for s in admin.subscriptions() if s.get("account") == host.email]
                if mine:
                    admin.send_lifecycle(rng.choice(mine)["id"], "missed")
                    self._record("notifications: missed", "ok")
            return
        delivered = [
            d
            for d in admin.notifications()
            if d["status"] == "delivered" and d["kind"] == "change" and d["url"].startswith(self.world.api)
        ]
        if not delivered:
            return
        duplicate = rng.choice(delivered[-20:])
        r = http.post(duplicate["url"], json=duplicate["payload"], timeout=30)
        self._record("notifications: duplicate", r.status_code, r.text)
        if r.status_code == 202:
            with self.lock:
                self.duplicates_acknowledged += 1

    def storm(self, http: requests.Session, rng: random.Random) -> None:
        host = rng.choice(self.world.hosts)
        kind = rng.choice(("throttle", "unavailable"))
        self.world.admin.add_fault(
            kind, account=host.email, path="/v1.0/*", count=rng.randrange(3, 9), retry_after=1
        )
        self._record(f"storm: {'429' if kind == 'throttle' else '503'}", "ok")

    def late_write(self, http: requests.Session, rng: random.Random) -> None:
        """The host's next event POST is created only after the app gave up waiting for it."""
        host = rng.choice(self.world.hosts)
        self.world.admin.add_fault(
            "latency",
            method="POST",
            path="/v1.0/me/calendars/*/events",
            account=host.email,
            latency_ms=LATE_WRITE_S * 1000,
        )
        self._record("late event write", "ok")

    # -- the loop --

    def client(self, index: int, deadline: float) -> None:
        rng = random.Random(self.config.seed * 100 + index)
        http = requests.Session()
        operations: list[tuple[float, Callable[[requests.Session, random.Random], None]]] = [
            (0.36, self.availability),
            (0.24, self.book),
            (0.09, self.reschedule),
            (0.07, self.cancel),
            (0.14, self.outlook_change),
            (0.06, self.notifications_chaos),
            (0.04, self.storm),
            (0.01, self.late_write),  # each stalls a booking for the Graph timeout: rare
        ]
        weights = [w for w, _ in operations]
        while time.monotonic() < deadline and not self.stop.is_set() and self._take_budget():
            [(_, operation)] = rng.choices(operations, weights)
            try:
                operation(http, rng)
            except requests.RequestException as error:
                self._record(operation.__name__, f"error {type(error).__name__}")

    def sample_memory(self, deadline: float) -> None:
        while time.monotonic() < deadline and not self.stop.is_set():
            self.rss.append(self.app.rss_mib())
            self.stop.wait(1.0)

    def revoke_later(self, at: float) -> None:
        if self.stop.wait(max(0.0, at - time.monotonic())):
            return
        revokee = self.world.revokee
        assert revokee is not None
        self.world.admin.revoke_grant(revokee.email, "revoked")
        self.world.admin.expire_access_tokens(revokee.email)
        self._record("revoke grant", "ok")

    def run(self) -> float:
        started = time.monotonic()
        deadline = started + self.config.seconds
        threads = [
            threading.Thread(target=self.client, args=(i, deadline), name=f"soak-client-{i}")
            for i in range(self.config.clients)
        ]
        threads.append(threading.Thread(target=self.sample_memory, args=(deadline,), name="soak-rss"))
        threads.append(
            threading.Thread(
                target=self.revoke_later, args=(started + 0.4 * self.config.seconds,), name="soak-revoke"
            )
        )
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=self.config.seconds + 300)
        self.stop.set()
        return time.monotonic() - started


# --- settling and checking -------------------------------------------------------------------------


def _booking_tag(event: dict[str, Any]) -> str | None:
    from lib.providers.microsoft.outlook_event import BOOKING_ID_PROPERTY

    for prop in event.get("singleValueExtendedProperties") or []:
        if str(prop.get("id", "")).lower() == BOOKING_ID_PROPERTY.lower():
            return str(prop.get("value"))
    return None


def _graph_utc(value: dict[str, str]) -> datetime:
    text = value["dateTime"][:19]
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _queue_depths() -> dict[str, int]:
    from lib.adapters.storage.clients import queue_service
    from lib.adapters.storage.queues import GRAPH_NOTIFICATIONS_QUEUE, OUTBOX_QUEUE, SYNC_REQUESTS_QUEUE
    from lib.core.settings import load_storage_settings

    service = queue_service(load_storage_settings())
    depths = {}
    for name in (
        GRAPH_NOTIFICATIONS_QUEUE,
        SYNC_REQUESTS_QUEUE,
        f"{GRAPH_NOTIFICATIONS_QUEUE}-poison",
        OUTBOX_QUEUE,
    ):
        try:
            depths[name] = int(
                service.get_queue_client(name).get_queue_properties().approximate_message_count or 0
            )
        except Exception:  # a queue nobody wrote to yet
            depths[name] = 0
    return depths


def use_up_drops(world: World, traffic: Traffic, before: NoticeCounts, app: AppProcess) -> None:
    """The sandbox drops "the next n" change notifications. So that none is left to drop after the
    soak (in a test run, another module's), make Outlook changes until all n were dropped."""
    for _ in range(40):
        if NoticeCounts.now(world, app).dropped - before.dropped >= traffic.drops_requested:
            return
        host = world.rng.choice(world.hosts)
        world.add_outlook_event(host, host.default_calendar)
        time.sleep(0.5)


def _quiet(world: World) -> bool:
    from lib.features.sync.sync_state import connection_states

    pending = [
        d for d in world.admin.notifications() if d["status"] == "pending" and d["url"].startswith(world.api)
    ]
    if pending:
        return False
    depths = _queue_depths()
    if depths["graph-notifications"] or depths["sync-requests"]:
        return False
    for host in world.hosts:
        for state in connection_states(host.user_id, host.connection_id):
            if state.outstanding or state.lease_owner is not None:
                return False
    return True


def settle(world: World, timeout: float) -> bool:
    """Wait until nothing is in flight: no pending deliveries, empty queues, no outstanding sync."""
    deadline = time.monotonic() + timeout
    calm = 0
    while time.monotonic() < deadline:
        calm = calm + 1 if _quiet(world) else 0
        if calm >= 3:  # three quiet looks in a row, a second apart
            return True
        time.sleep(1.0)
    return False


def check_overlaps(bookings: list[Any]) -> Check:
    from lib.features.bookings.records import BookingStatus

    by_host: dict[str, list[Any]] = {}
    for b in bookings:
        if b.status is BookingStatus.CONFIRMED:
            by_host.setdefault(b.host_user_id, []).append(b)
    clashes = []
    for host, items in by_host.items():
        items.sort(key=lambda b: b.start_utc)
        for earlier, later in itertools.pairwise(items):  # sorted: any overlap shows in a pair
            if later.start_utc < earlier.end_utc:
                clashes.append(f"{host}: {earlier.booking_id} / {later.booking_id}")
    confirmed = sum(len(v) for v in by_host.values())
    return Check(
        "no overlapping bookings",
        not clashes,
        f"{confirmed} confirmed bookings over {len(by_host)} hosts"
        + (f"; clashes: {clashes[:3]}" if clashes else ""),
    )


def _story(booking: Any) -> str:
    """What happened to a booking: its host, event, audit entries and moves (for a failed check)."""
    from lib.adapters.storage import storage_account
    from lib.features.bookings.records import BookingAuditRecord

    audit = sorted(
        storage_account().table(BookingAuditRecord).query(partition=(booking.booking_id,)),
        key=lambda a: a.entry_id,
    )
    steps = [f"{a.at:%H:%M:%S} {a.operation}={a.outcome}{'/' + a.code if a.code else ''}" for a in audit]
    moves = [f"{h.get('by')}@{str(h.get('at'))[11:19]}" for h in booking.history]
    return (
        f"host {booking.host_user_id}, event {str(booking.event_id)[:10]}, audit: {'; '.join(steps)}, "
        f"moves: {moves}"
    )


def check_booking_events(world: World, bookings: list[Any]) -> Check:
    from lib.features.bookings.records import BookingStatus

    events: dict[str, dict[str, Any]] = {}
    for host in world.all_hosts():
        for cal in world.admin.mailbox(host.email)["calendars"]:
            for event in cal["events"]:
                events[event["id"]] = {**event, "_calendar": cal["id"]}
    problems: list[str] = []
    with_event = 0
    for b in bookings:
        if b.status is BookingStatus.PENDING:
            problems.append(f"{b.booking_id} left pending")
        if b.status is not BookingStatus.CONFIRMED or b.calendar_id is None:
            continue
        tagged = [e for e in events.values() if _booking_tag(e) == b.booking_id and not e.get("isCancelled")]
        if len(tagged) != 1:
            problems.append(f"{b.booking_id} has {len(tagged)} events ({_story(b)})")
            continue
        event = tagged[0]
        with_event += 1
        if event["id"] != b.event_id or event["_calendar"] != b.calendar_id:
            problems.append(f"{b.booking_id}: its event is not the one it names")
        if (_graph_utc(event["start"]), _graph_utc(event["end"])) != (b.start_utc, b.end_utc):
            problems.append(f"{b.booking_id}: booking {b.start_utc}-{b.end_utc} but event {event['start']}")
    return Check(
        "booking events",
        not problems,
        f"{with_event} confirmed bookings with exactly one event" + (f"; {problems[:3]}" if problems else ""),
    )


def booking_housekeeping_after_the_window() -> tuple[int, int]:
    """The reconciliation timer's booking steps as they run once the search window of unknown event
    outcomes (`STALE_PENDING`) has passed - which a short soak does not wait for: pending bookings
    adopt their late event or are released, events landing for failed ones are deleted.
    (resolved, deleted)."""
    from functions.wiring import install_providers
    from lib.features.bookings.release import STALE_PENDING, delete_late_events, release_stale_pending

    install_providers()  # the in-process housekeeping asks the provider registry

    resolved = release_stale_pending(now=datetime.now(UTC) + STALE_PENDING)
    return resolved, delete_late_events()


def check_orphan_invitations(
    world: World, bookings: list[Any], late_writes: int, resolved: int, deleted: int
) -> Check:
    """No Outlook invitation without a confirmed booking behind it, late event writes included."""
    from lib.features.bookings.records import BookingStatus

    by_id = {b.booking_id: b for b in bookings}
    tagged = 0
    orphans: list[str] = []
    for host in world.all_hosts():
        for cal in world.admin.mailbox(host.email)["calendars"]:
            for event in cal["events"]:
                booking_id = _booking_tag(event)
                if booking_id is None or event.get("isCancelled"):
                    continue
                tagged += 1
                owner = by_id.get(booking_id)
                if owner is None or owner.status is not BookingStatus.CONFIRMED:
                    state = owner.status.value if owner else "no booking"
                    orphans.append(f"event {event['id'][:12]}... of {booking_id} ({state})")
    return Check(
        "no orphan invitations",
        not orphans,
        f"{tagged} tagged events, {len(orphans)} without a confirmed booking; {late_writes} late writes "
        f"injected, {resolved} pending bookings resolved after the window, {deleted} late events deleted"
        + (f"; {orphans[:3]}" if orphans else ""),
    )


def check_busy_cache(world: World) -> Check:
    from lib.adapters.storage import storage_account
    from lib.features.connections.records import ConnectionRecord, ConnectionStatus
    from lib.features.sync.busy_cache import BusyIntervalRecord
    from lib.features.sync.sync_state import CalendarKey, find_state, is_fresh

    compared = 0
    skipped: list[str] = []
    problems: list[str] = []
    for host in world.all_hosts():
        connection = storage_account().table(ConnectionRecord).find(host.user_id, host.connection_id)
        if connection is None or connection.status is not ConnectionStatus.CONNECTED:
            skipped.append(f"{host.user_id} ({connection.status.value if connection else 'gone'})")
            continue
        mailbox = {c["id"]: c["events"] for c in world.admin.mailbox(host.email)["calendars"]}
        for calendar_id in host.conflict_calendars:
            state = find_state(CalendarKey(host.user_id, host.connection_id, calendar_id))
            if state is None or state.window_start is None or state.window_end is None:
                skipped.append(f"{calendar_id[:8]} (never synced)")
                continue
            if not is_fresh(state, state.window_start, state.window_end):
                skipped.append(f"{calendar_id[:8]} (not fresh)")
                continue
            cached = {
                (r.start_utc, r.end_utc, r.show_as)
                for r in storage_account()
                .table(BusyIntervalRecord)
                .query(partition=(host.connection_id, calendar_id))
            }
            outlook = {
                (_graph_utc(e["start"]), _graph_utc(e["end"]), str(e["showAs"]))
                for e in mailbox.get(calendar_id, [])
                if not e.get("isCancelled")
                and _graph_utc(e["start"]) < state.window_end
                and _graph_utc(e["end"]) > state.window_start
            }
            compared += 1
            if cached != outlook:
                problems.append(
                    f"{host.user_id}/{calendar_id[:8]}: cache-only {sorted(cached - outlook)[:2]}, "
                    f"outlook-only {sorted(outlook - cached)[:2]}"
                )
    return Check(
        "busy cache = mailbox",
        compared > 0 and not problems,
        f"{compared} fresh calendars compared"
        + (f"; skipped {', '.join(skipped)}" if skipped else "")
        + (f"; {problems[:2]}" if problems else ""),
    )


@dataclass(frozen=True)
class NoticeCounts:
    delivered: int
    dropped: int
    failed: int
    processed: int
    poisoned: int

    @classmethod
    def now(cls, world: World, app: AppProcess) -> NoticeCounts:
        from lib.adapters.storage.queues import GRAPH_NOTIFICATIONS_QUEUE

        deliveries = [d for d in world.admin.notifications() if d["url"].startswith(world.api)]
        counters = app.stats()["queues"].get(GRAPH_NOTIFICATIONS_QUEUE, {})
        return cls(
            sum(1 for d in deliveries if d["status"] == "delivered"),
            sum(1 for d in deliveries if d["status"] == "dropped"),
            sum(1 for d in deliveries if d["status"] == "failed"),
            int(counters.get("processed", 0)),
            int(counters.get("poisoned", 0)),
        )


def check_notifications(world: World, traffic: Traffic, app: AppProcess, before: NoticeCounts) -> Check:
    """Counted from a quiet start (queue empty) to a quiet end, so messages left in the shared
    queue by anything before the soak are not counted."""
    from lib.adapters.storage.queues import GRAPH_NOTIFICATIONS_QUEUE

    after = NoticeCounts.now(world, app)
    delivered = after.delivered - before.delivered
    dropped = after.dropped - before.dropped
    failed = after.failed - before.failed
    acknowledged = delivered + traffic.duplicates_acknowledged
    processed, poisoned = after.processed - before.processed, after.poisoned - before.poisoned
    left = _queue_depths()[GRAPH_NOTIFICATIONS_QUEUE]
    ok = acknowledged == processed + poisoned and left == 0 and failed == 0
    return Check(
        "notifications",
        ok,
        f"{acknowledged} acknowledged ({traffic.duplicates_acknowledged} duplicates), {processed} processed, "
        f"{poisoned} poisoned, {left} queued; {dropped} dropped by Graph, {failed} not acknowledged",
    )


def check_revoked(world: World) -> Check:
    from lib.adapters.storage import storage_account
    from lib.features.connections.reconnect import NEEDS_RECONNECT_MESSAGE
    from lib.features.connections.records import ConnectionRecord
    from lib.features.outbox.records import OutboxRecord

    revokee = world.revokee
    assert revokee is not None
    connection = storage_account().table(ConnectionRecord).find(revokee.user_id, revokee.connection_id)
    messages = [
        m
        for m in storage_account().table(OutboxRecord).query(partition=(revokee.user_id,))
        if m.type == NEEDS_RECONNECT_MESSAGE
    ]
    status = connection.status.value if connection else "gone"
    return Check(
        "revoked grant",
        status == "needs_reconnect" and len(messages) == 1,
        f"connection {status}, {len(messages)} outbox message(s)",
    )


def check_memory(samples: list[float], bound_mib: float) -> tuple[Check, float, float]:
    if len(samples) < 6:
        return Check("memory flat", False, f"only {len(samples)} RSS samples"), 0.0, 0.0
    third = len(samples) // 3
    warm_up = statistics.fmean(samples[:third])
    middle = statistics.fmean(samples[third : 2 * third])
    last = statistics.fmean(samples[-third:])
    return (
        Check(
            "memory flat",
            last - middle <= bound_mib,
            f"app RSS after warm-up {middle:.1f} MiB (middle third) -> {last:.1f} MiB (last third), "
            f"bound +{bound_mib:.0f} MiB; warm-up from {warm_up:.1f} MiB; {len(samples)} samples",
        ),
        middle,
        last,
    )


def run_soak(
    api_key: str, admin: SandboxAdmin, ca_pem_path: str, app: AppProcess, config: SoakConfig
) -> SoakReport:
    """Set up hosts and links through the app, run the traffic, settle, check. The caller has set
    the app's environment in this process too (the checks read its tables)."""
    from lib.adapters.storage import storage_account
    from lib.features.bookings.records import BookingRecord
    from lib.features.housekeeping import reconcile

    world = World(app.api_url, admin, ca_pem_path, api_key, config.seed)
    world.setup(config.hosts)
    settle(world, config.settle_seconds)
    before = NoticeCounts.now(world, app)
    traffic = Traffic(world, config, app)
    seconds = traffic.run()
    admin.clear_faults()
    late_writes_landed = time.monotonic() + LATE_WRITE_S
    use_up_drops(world, traffic, before, app)
    settled = settle(world, config.settle_seconds)
    time.sleep(max(0.0, late_writes_landed - time.monotonic()))
    # The reconciliation timer's pass: the backstop for notifications Graph dropped silently.
    reconcile.enqueue_all()
    resolved, deleted = booking_housekeeping_after_the_window()
    settled = settle(world, config.settle_seconds) and settled

    bookings = [b for b in storage_account().table(BookingRecord).query() if b.kind == "booking"]
    mine = {h.user_id for h in world.all_hosts()}
    bookings = [b for b in bookings if b.host_user_id in mine]
    memory, first, last = check_memory(traffic.rss, config.rss_bound_mib)
    checks = [
        Check(
            "settled",
            settled,
            "queues drained, no outstanding sync" if settled else "still busy at the deadline",
        ),
        check_overlaps(bookings),
        check_booking_events(world, bookings),
        check_orphan_invitations(world, bookings, traffic.requests["late event write"], resolved, deleted),
        check_busy_cache(world),
        check_notifications(world, traffic, app, before),
        check_revoked(world),
        Check(
            "expected answers only",
            not traffic.unexpected,
            "none" if not traffic.unexpected else "; ".join(traffic.unexpected[:3]),
        ),
        memory,
    ]
    return SoakReport(
        config,
        seconds,
        traffic.requests,
        traffic.statuses,
        checks,
        first,
        last,
        len(traffic.rss),
        rss_by_tenth(traffic.rss),
    )


def rss_by_tenth(samples: list[float]) -> list[float]:
    """Mean RSS over each tenth of the run: shows whether growth levels off."""
    if len(samples) < 10:
        return []
    size = len(samples) / 10
    return [statistics.fmean(samples[int(i * size) : int((i + 1) * size)]) for i in range(10)]
