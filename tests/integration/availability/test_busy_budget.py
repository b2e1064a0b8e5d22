"""Busy time one answer may hold (issue 21, "Bad input and limits"): a host whose calendars hold
more busy intervals over the asked range than the per-host cap, or whose intervals would take the
answer over its total, is degraded with `reason: too_much_busy_time` - never a timeout, an
out-of-memory or a 500 - and the live reader stops paging at the cap. The booking's live check
over the cap refuses like an unreadable calendar (503 `outlook_unavailable`).

The caps are lowered here (the dev host runs in this process, and readers look them up at each
read) so a few sandbox events reach them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin, dt
from lib.engine import busy_budget
from tests.integration.bookings.helpers import book

from .helpers import Host, add_daily_series, link_body, new_slug, next_monday, put_link, slot_starts

CALENDAR_VIEW = "/calendarview"


def _calendar_view_pages(admin: SandboxAdmin, email: str) -> int:
    return sum(
        1
        for e in admin.request_log()["entries"]
        if e["account"] == email and e["route"].lower().endswith(CALENDAR_VIEW)
    )


def test_a_live_calendar_over_the_cap_stops_paging_and_degrades_its_host_alone(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy, free = Host(devhost, admin, sandbox_http), Host(devhost, admin, sandbox_http)
    first = next_monday()
    last = first + timedelta(days=55)
    # 20 daily series before working hours: 20 x 56 = 1120 occurrences in range, two pages of 1000.
    add_daily_series(admin, busy.email, first, 20)
    slug = new_slug()
    put_link(
        devhost, slug, link_body([(busy.user_id, "microsoft"), (free.user_id, "microsoft")], horizonDays=120)
    )
    monkeypatch.setattr(busy_budget, "MAX_HOST_INTERVALS", 500)
    admin.clear_request_log()

    body, starts = slot_starts(devhost, slug, first, last)

    assert body["complete"] is False
    assert body["degradedHosts"] == [{"hostIndex": 0, "reason": "too_much_busy_time"}]
    friday = first + timedelta(days=53)
    assert {f"{first}T09:00", f"{friday}T16:00"} <= starts  # the other host still answers
    # The first page took the host over its cap: the second was never asked for.
    assert _calendar_view_pages(admin, busy.email) == 1


def test_hosts_that_would_take_the_answer_over_its_total_are_degraded_and_it_still_answers(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http, monkeypatch: pytest.MonkeyPatch
) -> None:
    hosts = [Host(devhost, admin, sandbox_http) for _ in range(3)]
    monday = next_monday()
    for host in hosts:  # three intervals each, none over the host cap
        for hour in (9, 11, 13):
            admin.add_event(
                host.email,
                subject="x",
                start=dt(f"{monday}T{hour:02d}:00:00"),
                end=dt(f"{monday}T{hour:02d}:30:00"),
            )
    slug = new_slug()
    put_link(devhost, slug, link_body([(h.user_id, "microsoft") for h in hosts]))
    monkeypatch.setattr(busy_budget, "MAX_ANSWER_INTERVALS", 7)  # two hosts fit, a third does not

    body, starts = slot_starts(devhost, slug, monday)

    assert body["complete"] is False
    # Counted in the link's order, whichever read finished first: the same host on every reload.
    assert body["degradedHosts"] == [{"hostIndex": 2, "reason": "too_much_busy_time"}]
    # The two that fit answer: their busy hours are taken, the rest of the day is offered.
    assert starts == {f"{monday}T{h:02d}:00" for h in (10, 12, 14, 15, 16)}


def test_a_booking_whose_live_check_is_over_the_cap_is_refused_as_unreadable(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = Host(devhost, admin, sandbox_http)
    monday = next_monday()
    # Free time never blocks: only the number of events read stands in the booking's way.
    for minute in (0, 10, 20):
        admin.add_event(
            host.email,
            subject="free",
            show_as="free",
            start=dt(f"{monday}T10:{minute:02d}:00"),
            end=dt(f"{monday}T10:{minute + 10:02d}:00"),
        )
    slug = new_slug()
    put_link(devhost, slug, link_body([(host.user_id, "microsoft")]))
    monkeypatch.setattr(busy_budget, "MAX_HOST_INTERVALS", 2)

    refused = book(devhost, slug, f"{monday}T10:00:00Z")

    assert refused.status_code == 503, refused.text
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "outlook_unavailable"
