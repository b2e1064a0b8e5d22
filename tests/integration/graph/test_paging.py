"""Paging over calendarView, delta rounds to the deltaLink, and refusing foreign links."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest

from devstack.sandbox import Sandbox
from devstack.sandbox.admin_client import SandboxAdmin, dt
from lib.adapters.graph import GraphClient, GraphForeignLink, GraphGone

from .conftest import CountingTokens, Mailbox, log_entries, now

pytestmark = pytest.mark.integration

UTC_PREFER = 'outlook.timezone="UTC"'
WINDOW = {"startDateTime": "2026-01-01T00:00:00Z", "endDateTime": "2030-01-01T00:00:00Z"}


def test_calendar_view_pages_over_1000_occurrences(
    client: GraphClient, mailbox: Mailbox, admin: SandboxAdmin
) -> None:
    admin.add_event(
        mailbox.email,
        subject="Daily",
        start=dt("2026-01-01T09:00:00"),
        end=dt("2026-01-01T09:15:00"),
        recurrence={
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "startDate": "2026-01-01", "numberOfOccurrences": 1150},
        },
    )
    admin.add_event(
        mailbox.email, subject="One-off", start=dt("2027-06-01T12:00:00"), end=dt("2027-06-01T13:00:00")
    )
    started = now()
    items = list(
        client.iter_items(
            "/me/calendarView",
            params={**WINDOW, "$top": 1000, "$select": "subject,start,end,showAs"},
            prefer=UTC_PREFER,
        )
    )
    assert len(items) == 1151
    assert len({i["id"] for i in items}) == 1151
    assert sum(1 for i in items if i["subject"] == "One-off") == 1
    assert all(i["start"]["timeZone"] == "UTC" for i in items)  # Prefer sent with every page
    pages = [e for e in log_entries(admin, mailbox, started) if e["route"].endswith("/calendarview")]
    assert [e["status"] for e in pages] == [200, 200]


def test_delta_follows_next_links_to_the_delta_link(
    client: GraphClient, mailbox: Mailbox, admin: SandboxAdmin
) -> None:
    for day in range(1, 26):
        admin.add_event(
            mailbox.email,
            subject=f"E{day}",
            start=dt(f"2026-11-{day:02d}T10:00:00"),
            end=dt(f"2026-11-{day:02d}T11:00:00"),
        )
    prefer = [UTC_PREFER, "odata.maxpagesize=10"]
    started = now()
    first = client.delta(
        "/me/calendarView/delta",
        params={"startDateTime": "2026-11-01T00:00:00Z", "endDateTime": "2026-12-01T00:00:00Z"},
        prefer=prefer,
    )
    assert len(first.items) == 25 and "deltatoken" in first.delta_link.lower()
    assert len(log_entries(admin, mailbox, started)) == 3  # pages of 10, 10 and 5

    moved = admin.add_event(
        mailbox.email, subject="New", start=dt("2026-11-28T08:00:00"), end=dt("2026-11-28T09:00:00")
    )
    removed = next(i for i in first.items if i["subject"] == "E3")
    admin.delete_event(mailbox.email, removed["id"])
    second = client.delta(first.delta_link, prefer=prefer)
    assert {i["id"] for i in second.items if "@removed" not in i} == {moved["id"]}
    assert [i["id"] for i in second.items if "@removed" in i] == [removed["id"]]
    assert second.delta_link != first.delta_link

    admin.invalidate_delta_tokens(mailbox.email)
    with pytest.raises(GraphGone) as info:
        client.delta(second.delta_link, prefer=prefer)
    assert info.value.http_status == 410 and info.value.graph_code == "SyncStateNotFound"


def test_next_link_to_another_origin_is_refused(
    sandbox: Sandbox, make_client: Callable[..., GraphClient], mailbox: Mailbox, admin: SandboxAdmin
) -> None:
    for day in range(1, 4):
        admin.add_event(
            mailbox.email,
            subject=f"E{day}",
            start=dt(f"2026-11-{day:02d}T10:00:00"),
            end=dt(f"2026-11-{day:02d}T11:00:00"),
        )
    # Same sandbox reached as `localhost`, while its links name 127.0.0.1: another origin.
    port = urlsplit(sandbox.url).port
    client = make_client(mailbox, base_url=f"https://localhost:{port}/v1.0")
    pages = client.iter_pages(
        "/me/calendarView",
        params={"startDateTime": "2026-11-01T00:00:00Z", "endDateTime": "2026-12-01T00:00:00Z", "$top": 2},
    )
    first = next(pages)
    assert len(first["value"]) == 2 and "127.0.0.1" in first["@odata.nextLink"]
    started = now()
    with pytest.raises(GraphForeignLink):
        next(pages)
    assert log_entries(admin, mailbox, started) == []  # nothing was sent


def test_foreign_absolute_url_gets_no_token(
    make_client: Callable[..., GraphClient], mailbox: Mailbox
) -> None:
    tokens = CountingTokens(mailbox.token)
    client = make_client(mailbox, token_provider=tokens)
    with pytest.raises(GraphForeignLink):
        client.get("https://attacker.example/v1.0/me")
    with pytest.raises(GraphForeignLink):
        client.delta("https://attacker.example/v1.0/me/calendarView/delta?$deltatoken=x")
    assert tokens.calls == 0
