"""$batch: per-member results, throttled members retried after their own Retry-After, splitting
into batches of 20, members that keep failing reported per member."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from devstack.sandbox.admin_client import SandboxAdmin, dt
from lib.adapters.graph import BatchRequest, GraphClient, GraphNotFound, GraphThrottled

from .conftest import Mailbox, log_entries, now

pytestmark = pytest.mark.integration

WINDOW = {"startDateTime": "2026-11-01T00:00:00Z", "endDateTime": "2026-11-08T00:00:00Z"}
UTC = {"Prefer": 'outlook.timezone="UTC"'}


def _views(admin: SandboxAdmin, mailbox: Mailbox, names: list[str]) -> list[BatchRequest]:
    reqs = []
    for name in names:
        cal = admin.add_calendar(mailbox.email, name)
        admin.add_event(
            mailbox.email,
            subject=f"in {name}",
            start=dt("2026-11-03T10:00:00"),
            end=dt("2026-11-03T11:00:00"),
            calendar_id=cal["id"],
        )
        reqs.append(
            BatchRequest(
                id=name,
                method="GET",
                url=f"/me/calendars/{cal['id']}/calendarView",
                params=WINDOW,
                headers=UTC,
            )
        )
    return reqs


def test_throttled_member_is_retried_after_its_retry_after(
    client: GraphClient, mailbox: Mailbox, admin: SandboxAdmin
) -> None:
    reqs = _views(admin, mailbox, ["A", "B", "C"])
    reqs.append(BatchRequest(id="missing", method="GET", url="/me/calendars/AAMknope"))
    slow = reqs[1].url
    admin.add_fault(
        "throttle", method="GET", path=f"/v1.0{slow.lower()}", account=mailbox.email, retry_after=1
    )
    started, t0 = now(), time.monotonic()
    results = client.batch(reqs)
    assert 1.0 <= time.monotonic() - t0 < 3.0
    assert list(results) == ["A", "B", "C", "missing"]
    for name in ("A", "B", "C"):
        r = results[name]
        assert r.ok and r.status == 200
        [event] = r.body["value"]
        assert event["subject"] == f"in {name}" and event["start"]["timeZone"] == "UTC"
    assert results["A"].attempts == 1 and results["B"].attempts == 2
    missing = results["missing"]
    assert not missing.ok and isinstance(missing.error, GraphNotFound) and missing.status == 404
    entries = log_entries(admin, mailbox, started)
    outer = [e for e in entries if e["route"] == "POST /v1.0/$batch"]
    member_b = [e["status"] for e in entries if e["batch"] and e["path"].lower() == f"/v1.0{slow.lower()}"]
    assert len(outer) == 2 and member_b == [429, 200]


def test_more_than_20_requests_are_split_across_batches(
    client: GraphClient, mailbox: Mailbox, admin: SandboxAdmin
) -> None:
    cal = admin.mailbox(mailbox.email)["calendars"][0]
    reqs = [
        BatchRequest(id=f"r{i}", method="GET", url=f"/me/calendars/{cal['id']}/calendarView", params=WINDOW)
        for i in range(45)
    ]
    started = now()
    results = client.batch(reqs)
    assert len(results) == 45 and all(r.ok and r.status == 200 for r in results.values())
    entries = log_entries(admin, mailbox, started)
    assert len([e for e in entries if e["route"] == "POST /v1.0/$batch"]) == 3  # 20 + 20 + 5
    members = [e for e in entries if e["batch"]]
    assert len(members) == 45 and all(e["status"] == 200 for e in members)


def test_member_throttled_past_the_deadline_comes_back_typed(
    make_client: Callable[..., GraphClient], mailbox: Mailbox, admin: SandboxAdmin
) -> None:
    reqs = _views(admin, mailbox, ["Ok", "Hot"])
    admin.add_fault(
        "throttle",
        method="GET",
        path=f"/v1.0{reqs[1].url.lower()}",
        account=mailbox.email,
        retry_after=1,
        count=50,
    )
    t0 = time.monotonic()
    results = make_client(mailbox, deadline_s=2.5).batch(reqs)  # no exception for the whole batch
    assert time.monotonic() - t0 < 3.0
    assert results["Ok"].ok
    hot = results["Hot"]
    assert isinstance(hot.error, GraphThrottled) and hot.status == 429 and hot.attempts >= 2
    assert hot.error.code == "outlook_unavailable" and hot.error.retry_after == 1


def test_post_member_and_prefer(client: GraphClient, mailbox: Mailbox, admin: SandboxAdmin) -> None:
    results = client.batch(
        [
            BatchRequest(
                id="new",
                method="POST",
                url="/me/events",
                headers=UTC,
                body={
                    "subject": "Batched",
                    "start": dt("2026-11-04T10:00:00"),
                    "end": dt("2026-11-04T11:00:00"),
                },
            ),
            BatchRequest(id="me", method="GET", url="/me", params={"$select": "mail"}),
        ]
    )
    assert results["new"].status == 201 and results["new"].body["subject"] == "Batched"
    assert results["me"].body["mail"].lower() == mailbox.email.lower()
