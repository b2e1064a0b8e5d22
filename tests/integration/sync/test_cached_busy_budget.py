"""The busy cache under the per-host budget of busy time (issue 21, "Bad input and limits"): a
host whose cached rows over the asked range are more than the cap is degraded with
`reason: too_much_busy_time`, the pool's other hosts still answer, and the read stops fetching
rows at the cap instead of materialising the calendar's whole synced window.

The cap is lowered here (the dev host runs in this process, and readers look it up at each read)
so a few daily series reach it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin
from lib.engine import busy_budget
from lib.features.sync import busy_cache
from tests.integration.availability.helpers import (
    add_daily_series,
    link_body,
    new_slug,
    next_monday,
    put_link,
    slot_starts,
)

from .helpers import Host, wait_for

CAP = 20
SERIES = 3


@pytest.fixture(scope="module")
def app_env(app_env: dict[str, str]) -> dict[str, str]:
    return {**app_env, "SLOTBRIDGE_AVAILABILITY_SOURCE": "cached"}


def test_a_cached_calendar_over_the_cap_stops_reading_rows_and_degrades_its_host_alone(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy, free = Host(devhost, admin, sandbox_http), Host(devhost, admin, sandbox_http)
    first = next_monday()
    last = first + timedelta(days=13)
    # Daily series before working hours, to the end of the synced window: rows for every day.
    add_daily_series(admin, busy.email, first, SERIES)
    synced_rows = wait_for(
        lambda: len(rows) if (rows := busy.cached()) and len(rows) > 10 * CAP else None,
        what="the series in the cache",
    )
    slug = new_slug()
    put_link(
        devhost, slug, link_body([(busy.user_id, "microsoft"), (free.user_id, "microsoft")], horizonDays=120)
    )
    for host in (busy, free):
        host.wait_synced()
        wait_for(host.synced, what="nothing outstanding")
    admin.clear_request_log()
    monkeypatch.setattr(busy_budget, "MAX_HOST_INTERVALS", CAP)
    before = int(busy_cache.rows_read)

    body, starts = slot_starts(devhost, slug, first, last)

    assert body["complete"] is False
    assert body["degradedHosts"] == [{"hostIndex": 0, "reason": "too_much_busy_time"}]
    assert {f"{first}T09:00", f"{last - timedelta(days=2)}T16:00"} <= starts  # the other host answers
    # Answered from the cache, not read live (sync's delta rounds may still run).
    assert [
        e for e in busy.graph_requests("calendarview") if e["route"].lower().endswith("/calendarview")
    ] == []
    # At most the cap + 1 rows of the synced window, then of the asked range (SERIES x 14 > CAP),
    # where the whole window holds many times more (the other host's calendar is empty).
    read = int(busy_cache.rows_read) - before
    assert read <= 2 * (CAP + 1) < synced_rows

    # That this version of the calendar is over the cap across its synced window is remembered:
    # a shorter range, within the cap, answers, and reads its own rows alone, not the window again.
    before = int(busy_cache.rows_read)
    body, starts = slot_starts(devhost, slug, first, first + timedelta(days=2))
    assert body["complete"] is True and body["degradedHosts"] == []
    assert f"{first}T09:00" in starts
    assert int(busy_cache.rows_read) - before <= SERIES * 3 + 2 < CAP
