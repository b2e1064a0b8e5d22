"""Availability from the busy cache: once a calendar is synced and subscribed, an event created,
moved or deleted in Outlook shows in availability through notifications alone — the availability
request itself reads nothing from Graph. Calendars the cache cannot vouch for go to the live source."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin
from lib.engine.busy_source import CalendarBusy, CalendarRef, HostBusy
from lib.features.availability.cached_source import CachedBusySource
from lib.features.availability.host_partition import MEMO_S
from lib.features.bookings import locks
from lib.features.bookings.records import SlotLockRecord
from lib.features.sync.sync_state import CalendarKey, WorkRequest, new_owner, request_work
from tests.integration.availability.helpers import link_body, new_slug, next_monday, put_link, slot_starts
from tests.integration.bookings.helpers import book

from .helpers import Host, wait_for


@pytest.fixture(scope="module")
def app_env(app_env: dict[str, str]) -> dict[str, str]:
    return {**app_env, "SLOTBRIDGE_AVAILABILITY_SOURCE": "cached"}


class CountingFallback:
    def __init__(self) -> None:
        self.asked: list[CalendarRef] = []

    def busy(
        self, user_id: str, calendars: Sequence[CalendarRef], start_utc: datetime, end_utc: datetime
    ) -> HostBusy:
        self.asked.extend(calendars)
        return HostBusy(user_id, tuple(CalendarBusy(c, error="outlook_unavailable") for c in calendars))


def _graph_reads(admin: SandboxAdmin, email: str) -> list[dict]:
    return [e for e in admin.request_log()["entries"] if e.get("account") == email]


def _quiet(host: Host) -> None:
    wait_for(host.synced, what="nothing outstanding")
    host.admin.clear_request_log()


def _synced_host_link(devhost: DevHost, admin: SandboxAdmin, sandbox_http: Any) -> tuple[Host, str]:
    """A connected host whose calendars the busy cache vouches for, and a link of that host alone."""
    host = Host(devhost, admin, sandbox_http)
    host.wait_synced()
    slug = new_slug()
    put_link(devhost, slug, link_body([(host.user_id, "microsoft")]))
    return host, slug


def test_availability_follows_outlook_with_no_graph_read_on_its_path(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http
) -> None:
    host, slug = _synced_host_link(devhost, admin, sandbox_http)
    monday = next_monday()
    ten = datetime(monday.year, monday.month, monday.day, 10, tzinfo=UTC)
    key = ten.strftime("%Y-%m-%dT%H:%M")
    two = (ten + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M")

    _quiet(host)
    body, starts = slot_starts(devhost, slug, monday)
    assert body["complete"] and key in starts and two in starts
    assert _graph_reads(admin, host.email) == []

    event_id = host.add_event(ten, minutes=60)
    wait_for(lambda: event_id in host.cached() or None, what="the event in the cache")
    _quiet(host)
    _, starts = slot_starts(devhost, slug, monday)
    assert key not in starts and two in starts
    assert _graph_reads(admin, host.email) == []

    host.move_event(event_id, ten + timedelta(hours=4), minutes=60)
    wait_for(lambda: ((r := host.cached().get(event_id)) and r.start_utc.hour == 14) or None, what="the move")
    _quiet(host)
    _, starts = slot_starts(devhost, slug, monday)
    assert key in starts and two not in starts
    assert _graph_reads(admin, host.email) == []

    admin.delete_event(host.email, event_id)
    wait_for(lambda: event_id not in host.cached() or None, what="the deletion")
    _quiet(host)
    _, starts = slot_starts(devhost, slug, monday)
    assert key in starts and two in starts
    assert _graph_reads(admin, host.email) == []


def test_only_fresh_calendars_are_served_from_the_cache(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http
) -> None:
    host = Host(devhost, admin, sandbox_http)
    host.wait_synced()
    event_id = host.add_event(datetime.now(UTC).replace(microsecond=0) + timedelta(days=2))
    wait_for(lambda: event_id in host.cached() or None)
    wait_for(host.synced)
    ref = CalendarRef(host.connection_id, host.calendar_id)
    unsynced = CalendarRef(host.connection_id, "a-calendar-never-synced")
    start, end = datetime.now(UTC), datetime.now(UTC) + timedelta(days=14)

    fallback = CountingFallback()
    answer = CachedBusySource(fallback).busy(host.user_id, [ref, unsynced], start, end)
    [cached, live] = answer.calendars
    assert cached.source == "cache" and cached.error is None and len(cached.intervals) == 1
    assert live.calendar == unsynced and live.error == "outlook_unavailable"  # the fallback's answer
    assert fallback.asked == [unsynced]

    # Beyond the synced window: live.
    fallback = CountingFallback()
    CachedBusySource(fallback).busy(host.user_id, [ref], start, start + timedelta(days=400))
    assert fallback.asked == [ref]

    # A notification recorded but not yet synced: live, until the round completes.
    request_work(
        CalendarKey(host.user_id, host.connection_id, host.calendar_id),
        WorkRequest(notification=True),
        new_owner(),
    )
    fallback = CountingFallback()
    CachedBusySource(fallback).busy(host.user_id, [ref], start, end)
    assert fallback.asked == [ref]
    # (the lease taken above expires on its own; the next notice or reconciliation syncs it)

    # Another user's calendar is never served from this user's cache.
    fallback = CountingFallback()
    CachedBusySource(fallback).busy("someone-else", [ref], start, end)
    assert fallback.asked == [ref]


def test_a_cached_answer_reads_each_host_in_one_table_request(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http, caplog: pytest.LogCaptureFixture
) -> None:
    """A host's calendar freshness and its bookings share its partition: a pooled answer from the
    cache costs one Table Storage request per host and no Graph request."""
    hosts = [Host(devhost, admin, sandbox_http) for _ in range(2)]
    slug = new_slug()
    put_link(devhost, slug, link_body([(h.user_id, "microsoft") for h in hosts]))
    monday = next_monday()
    for host in hosts:
        host.wait_synced()
        _quiet(host)
    caplog.set_level(logging.INFO, logger="azure.core.pipeline.policies.http_logging_policy")
    caplog.clear()
    body, starts = slot_starts(devhost, slug, monday)
    table_requests = [
        m
        for r in caplog.records
        if (m := r.getMessage()).startswith("Request URL") and "/devstoreaccount1/" in m
    ]
    assert body["complete"] and starts
    assert sum(1 for m in table_requests if "slotlocks()" in m) == len(hosts)
    assert all(_graph_reads(admin, h.email) == [] for h in hosts)


def _partition_reads(caplog: pytest.LogCaptureFixture) -> int:
    return sum(
        1
        for r in caplog.records
        if (m := r.getMessage()).startswith("Request URL")
        and "/devstoreaccount1/" in m
        and "slotlocks()" in m
    )


def test_answers_within_a_second_share_a_hosts_read_and_this_instance_s_writes_show_at_once(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http, caplog: pytest.LogCaptureFixture
) -> None:
    """A page asked again within `MEMO_S` costs no Table request for its host; a booking made on
    this instance is gone from the very next answer, however recent the host's read was."""
    host, slug = _synced_host_link(devhost, admin, sandbox_http)
    monday = next_monday()
    ten = datetime(monday.year, monday.month, monday.day, 10, tzinfo=UTC)
    _quiet(host)
    caplog.set_level(logging.INFO, logger="azure.core.pipeline.policies.http_logging_policy")
    slot_starts(devhost, slug, monday)  # the link's and host's settings, and the partition
    caplog.clear()
    body, starts = slot_starts(devhost, slug, monday)
    assert body["complete"] and "10:00" in {s[11:] for s in starts}
    assert _partition_reads(caplog) == 0
    assert _graph_reads(admin, host.email) == []

    booked = book(devhost, slug, ten.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert booked.status_code == 201, booked.text
    caplog.clear()
    _, starts = slot_starts(devhost, slug, monday)
    assert ten.strftime("%Y-%m-%dT%H:%M") not in starts
    assert _partition_reads(caplog) == 1  # the booking's locks dropped the remembered read


def test_the_booking_path_decides_on_live_reads_never_on_a_remembered_one(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http
) -> None:
    """Another instance's booking that a remembered read has not seen yet (up to `MEMO_S`): the
    booking path reads the host's locks itself, so the daily cap still holds."""
    host = Host(devhost, admin, sandbox_http)
    host.wait_synced()
    slug = new_slug()
    put_link(devhost, slug, link_body([(host.user_id, "microsoft")], dailyCap=1))
    monday = next_monday()
    ten = datetime(monday.year, monday.month, monday.day, 10, tzinfo=UTC)
    _quiet(host)
    slot_starts(devhost, slug, monday)
    # Another instance books 10:00 (its own storage client: this process does not hear of it).
    lock_start, lock_end = locks.lock_span(ten, ten + timedelta(hours=1), 0, 0)
    raw = locks._table()._client
    for cell in locks.cells(lock_start, lock_end):
        lock = SlotLockRecord(
            host_user_id=host.user_id,
            cell_start=cell,
            booking_id="booked-on-another-instance",
            booking_start_utc=ten,
            created_at=datetime.now(UTC),
        )
        raw.create_entity(lock.to_entity())

    refused = book(devhost, slug, (ten + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "slot_unavailable"
    time.sleep(MEMO_S)
    _, starts = slot_starts(devhost, slug, monday)
    assert not starts  # the day is full once the remembered read has aged out
