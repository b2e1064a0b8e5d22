"""Availability through the dev host against the sandbox: busy time read live from Outlook
(paging, $batch with a throttled member, all-day events in the mailbox's zone, recurring series,
showAs, shared calendars), failing closed, and round-robin pools mixing `microsoft` and `none`."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin, dt
from lib.adapters.storage import storage_account
from lib.features.connections.records import ConnectionRecord

from .helpers import (
    Host,
    add_daily_series,
    availability,
    link_body,
    new_slug,
    next_monday,
    put_link,
    slot_starts,
)

CALENDAR_VIEW = "/v1.0/me/calendars/*/calendarview"


@pytest.fixture()
def host(devhost: DevHost, admin: SandboxAdmin, sandbox_http) -> Host:
    return Host(devhost, admin, sandbox_http)


def _calendar_view_log(admin: SandboxAdmin, email: str) -> list[dict]:
    return [
        e
        for e in admin.request_log()["entries"]
        if e["account"] == email and e["route"].lower().endswith("/calendarview")
    ]


def test_a_calendar_with_more_than_1000_events_is_read_to_its_last_page(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    first = next_monday()
    last = first + timedelta(days=55)
    # 20 daily series before working hours: 20 x 56 = 1120 occurrences in range, two pages.
    add_daily_series(admin, host.email, first, 20)
    # Sorted by start, this one is on the second page.
    admin.add_event(host.email, subject="late", start=dt(f"{last}T10:00:00"), end=dt(f"{last}T11:00:00"))
    slug = new_slug()
    put_link(
        devhost,
        slug,
        link_body(
            [(host.user_id, "microsoft")],
            days=("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
            horizonDays=120,
        ),
    )
    admin.clear_request_log()

    body, starts = slot_starts(devhost, slug, first, last)

    assert body["complete"] is True and body["degradedHosts"] == []
    assert f"{last}T10:00" not in starts  # the event on page 2 blocks
    assert {f"{last}T09:00", f"{last}T11:00", f"{first}T09:00"} <= starts
    pages = _calendar_view_log(admin, host.email)
    assert len(pages) == 2 and all(p["batch"] and p["status"] == 200 for p in pages)


def test_a_throttled_batch_member_is_retried_after_its_retry_after(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    side = admin.add_calendar(host.email, "Side projects")
    host.set_conflict_calendars(host.default_calendar_id, side["id"])
    monday = next_monday()
    admin.add_event(host.email, subject="a", start=dt(f"{monday}T09:00:00"), end=dt(f"{monday}T10:00:00"))
    admin.add_event(
        host.email,
        subject="b",
        start=dt(f"{monday}T11:00:00"),
        end=dt(f"{monday}T12:00:00"),
        calendar_id=side["id"],
    )
    slug = new_slug()
    put_link(devhost, slug, link_body([(host.user_id, "microsoft")]))
    admin.clear_request_log()
    admin.add_fault("throttle", path=CALENDAR_VIEW, account=host.email, count=1, retry_after=1)

    body, starts = slot_starts(devhost, slug, monday)

    assert body["complete"] is True
    assert starts == {f"{monday}T{h:02d}:00" for h in (10, 12, 13, 14, 15, 16)}
    views = _calendar_view_log(admin, host.email)
    assert [v["status"] for v in views].count(429) == 1
    assert [v["status"] for v in views].count(200) == 2 and all(v["batch"] for v in views)
    batches = [e for e in admin.request_log()["entries"] if e["route"] == "POST /v1.0/$batch"]
    assert len(batches) == 2  # both calendars (and mailboxSettings) in one batch, then the retry


def test_an_all_day_event_blocks_the_mailbox_owners_day_not_the_links(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http
) -> None:
    tokyo_host = Host(devhost, admin, sandbox_http, time_zone="Tokyo Standard Time")
    monday = next_monday()
    admin.add_event(
        tokyo_host.email,
        subject="Holiday",
        is_all_day=True,
        show_as="oof",
        start=dt(f"{monday}T00:00:00", "Tokyo Standard Time"),
        end=dt(f"{monday + timedelta(days=1)}T00:00:00", "Tokyo Standard Time"),
    )
    new_york = ZoneInfo("America/New_York")
    slug = new_slug()
    put_link(devhost, slug, link_body([(tokyo_host.user_id, "microsoft")], time_zone="America/New_York"))

    body, starts = slot_starts(devhost, slug, monday, time_zone="America/New_York")

    tokyo_day_ends = datetime.combine(monday + timedelta(days=1), time(), ZoneInfo("Asia/Tokyo"))
    expected = set()
    for hour in range(9, 17):
        start = datetime.combine(monday, time(hour), new_york)
        if start >= tokyo_day_ends:
            expected.add(start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M"))
    assert body["complete"] is True and body["linkTimeZone"] == "America/New_York"
    assert starts == expected and 0 < len(expected) < 8
    # Shown in the viewer's zone with its offset.
    assert all(s["start"].endswith(("-04:00", "-05:00")) for s in body["slots"])

    # Without the mailbox's zone, the link's is used: the whole New York Monday is blocked.
    admin.add_fault("unavailable", path="/v1.0/me/mailboxsettings", account=tokyo_host.email, count=20)
    body, starts = slot_starts(devhost, slug, monday, time_zone="America/New_York")
    assert starts == set() and body["complete"] is True


def test_every_occurrence_of_a_recurring_series_blocks(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    monday = next_monday()
    admin.add_event(
        host.email,
        subject="Weekly 1:1",
        start=dt(f"{monday}T10:00:00", "Pacific Standard Time"),
        end=dt(f"{monday}T11:00:00", "Pacific Standard Time"),
        recurrence={
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
            "range": {"type": "noEnd", "startDate": str(monday)},
        },
    )
    slug = new_slug()
    put_link(devhost, slug, link_body([(host.user_id, "microsoft")], time_zone="America/Los_Angeles"))

    body, _ = slot_starts(devhost, slug, monday, monday + timedelta(days=20), "America/Los_Angeles")

    local = {s["start"][:16] for s in body["slots"]}
    for week in range(3):
        day = monday + timedelta(weeks=week)
        assert f"{day}T10:00" not in local
        assert {f"{day}T09:00", f"{day}T11:00", f"{day + timedelta(days=1)}T10:00"} <= local


def test_show_as_tentative_blocks_free_and_working_elsewhere_do_not_and_users_can_choose(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    monday = next_monday()
    for hour, show_as in [
        (9, "tentative"),
        (10, "free"),
        (11, "workingElsewhere"),
        (12, "oof"),
        (13, "busy"),
    ]:
        admin.add_event(
            host.email,
            subject=show_as,
            show_as=show_as,
            start=dt(f"{monday}T{hour:02d}:00:00"),
            end=dt(f"{monday}T{hour + 1:02d}:00:00"),
        )
    slug = new_slug()
    put_link(devhost, slug, link_body([(host.user_id, "microsoft")]))

    _, starts = slot_starts(devhost, slug, monday)
    assert starts == {f"{monday}T{h:02d}:00" for h in (10, 11, 14, 15, 16)}

    # A user whose tentative meetings should not block (their calendar settings say so).
    host.set_conflict_calendars(host.default_calendar_id, blocking_show_as=["busy", "oof"])
    _, starts = slot_starts(devhost, slug, monday)
    assert starts == {f"{monday}T{h:02d}:00" for h in (9, 10, 11, 14, 15, 16)}


def test_a_shared_read_only_calendar_counts_as_a_conflict_source(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    boss = admin.add_calendar(
        host.email, "Boss", can_edit=False, owner_name="Big Boss", owner_address="boss@contoso.com"
    )
    host.set_conflict_calendars(host.default_calendar_id, boss["id"])
    monday = next_monday()
    admin.add_event(
        host.email,
        subject="Board",
        start=dt(f"{monday}T14:00:00"),
        end=dt(f"{monday}T16:00:00"),
        calendar_id=boss["id"],
    )
    slug = new_slug()
    put_link(devhost, slug, link_body([(host.user_id, "microsoft")]))

    body, starts = slot_starts(devhost, slug, monday)

    assert body["complete"] is True
    assert starts == {f"{monday}T{h:02d}:00" for h in (9, 10, 11, 12, 13, 16)}


def test_an_unreadable_calendar_fails_closed_and_lists_the_host(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    monday = next_monday()
    slug = new_slug()
    put_link(devhost, slug, link_body([(host.user_id, "microsoft")]))
    _, healthy = slot_starts(devhost, slug, monday)
    assert len(healthy) == 8

    admin.add_fault("unavailable", path=CALENDAR_VIEW, account=host.email, count=100, retry_after=1)
    body, starts = slot_starts(devhost, slug, monday)

    assert starts == set()
    assert body["complete"] is False and body["degradedHosts"] == [{"hostIndex": 0, "reason": "unavailable"}]
    assert host.user_id not in str(body) and host.email not in str(body)

    # In a pool, the others still offer their time; the unreadable host is still listed.
    other = new_slug()
    put_link(devhost, other, link_body([("someone-without-calendar", "none"), (host.user_id, "microsoft")]))
    body, starts = slot_starts(devhost, other, monday)
    assert starts == healthy
    assert body["complete"] is False and body["degradedHosts"] == [{"hostIndex": 1, "reason": "unavailable"}]


def test_a_host_who_never_connected_fails_closed(devhost: DevHost) -> None:
    slug = new_slug()
    put_link(devhost, slug, link_body([("never-connected", "microsoft")]))
    body, starts = slot_starts(devhost, slug, next_monday())
    # No time offered, and listed like a broken host (issue 16): see test_calendar_health.py.
    assert (
        starts == set()
        and body["degradedHosts"] == [{"hostIndex": 0, "reason": "unavailable"}]
        and body["complete"] is False
    )


def test_round_robin_offers_a_slot_when_any_pooled_host_is_free(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http
) -> None:
    ana, ben = Host(devhost, admin, sandbox_http), Host(devhost, admin, sandbox_http)
    monday = next_monday()
    for who, hours in [(ana, (10, 12)), (ben, (12, 14))]:
        for hour in hours:
            admin.add_event(
                who.email,
                subject="x",
                start=dt(f"{monday}T{hour:02d}:00:00"),
                end=dt(f"{monday}T{hour + 1:02d}:00:00"),
            )
    pool = new_slug()
    put_link(devhost, pool, link_body([(ana.user_id, "microsoft"), (ben.user_id, "microsoft")]))
    body, starts = slot_starts(devhost, pool, monday)
    assert body["complete"] is True
    assert starts == {f"{monday}T{h:02d}:00" for h in (9, 10, 11, 13, 14, 15, 16)}  # 12:00: both busy

    mixed = new_slug()
    put_link(
        devhost,
        mixed,
        link_body([(ana.user_id, "microsoft"), ("hours-only-host", "none"), (ben.user_id, "microsoft")]),
    )
    body, starts = slot_starts(devhost, mixed, monday)
    assert body["complete"] is True and body["degradedHosts"] == []
    assert starts == {f"{monday}T{h:02d}:00" for h in range(9, 17)}  # the `none` host covers 12:00


def test_availability_query_is_validated(devhost: DevHost) -> None:
    slug = new_slug()
    put_link(devhost, slug, link_body([("hours-only", "none")]))
    monday = next_monday()
    url = f"{devhost.api_url}/links/{slug}/availability"
    for params, field in [
        ({"end": str(monday), "timezone": "UTC"}, "start"),
        ({"start": "2026-13-01", "end": str(monday), "timezone": "UTC"}, "start"),
        ({"start": str(monday), "end": str(monday - timedelta(days=1)), "timezone": "UTC"}, "end"),
        ({"start": str(monday), "end": str(monday + timedelta(days=62)), "timezone": "UTC"}, "end"),
        ({"start": str(monday), "end": str(monday), "timezone": "Mars/Olympus"}, "timezone"),
        ({"start": str(monday), "end": str(monday), "timezone": "../../etc/passwd"}, "timezone"),
        ({"start": str(monday), "end": str(monday)}, "timezone"),
    ]:
        r = requests.get(url, params=params, timeout=10)
        assert r.status_code == 400, params
        assert r.headers["Content-Type"] == "application/problem+json"
        assert r.json()["code"] == "validation_error"
        assert field in {e["field"] for e in r.json()["errors"]}, (params, r.json())
    ok = availability(devhost, slug, monday, monday + timedelta(days=61))
    assert ok.status_code == 200 and ok.json()["complete"] is True
    missing = availability(devhost, "no-such-link", monday)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("start", "end", "tz"),
    [("0001-01-01", "0001-01-01", "Europe/Berlin"), ("9999-12-31", "9999-12-31", "Pacific/Kiritimati")],
)
def test_availability_at_the_ends_of_the_calendar_is_a_validation_error_not_a_500(
    devhost: DevHost, start: str, end: str, tz: str
) -> None:
    """Found by the contract fuzzer: year 1 (and 9999) overflowed turning local days into UTC."""
    slug = new_slug()
    put_link(devhost, slug, link_body([("hours-only", "none")]))
    r = requests.get(
        f"{devhost.api_url}/links/{slug}/availability",
        params={"start": start, "end": end, "timezone": tz},
        timeout=10,
    )
    assert r.status_code == 400, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json()["code"] == "validation_error"
    assert "start" in {e["field"] for e in r.json()["errors"]}


def test_a_connection_needing_reconnect_fails_closed(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    monday = next_monday()
    slug = new_slug()
    put_link(devhost, slug, link_body([(host.user_id, "microsoft")]))
    assert len(slot_starts(devhost, slug, monday)[1]) == 8

    admin.revoke_grant(host.email, "revoked")
    admin.expire_access_tokens(host.email)
    for _ in range(2):  # the first answer discovers it; the second reads the stored status
        body, starts = slot_starts(devhost, slug, monday)
        assert starts == set() and body["degradedHosts"] == [{"hostIndex": 0, "reason": "unavailable"}]
    [record] = storage_account().table(ConnectionRecord).query(partition=host.user_id)
    assert record.status.value == "needs_reconnect"
