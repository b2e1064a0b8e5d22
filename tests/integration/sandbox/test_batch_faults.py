"""$batch with a throttled member, injected faults, the mailbox concurrency limit, the request log."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

import pytest
import requests

from devstack.sandbox.admin_client import SandboxAdmin, dt

from .conftest import GraphUser

pytestmark = pytest.mark.integration


def test_batch_members_run_and_throttle_individually(user: GraphUser, admin: SandboxAdmin) -> None:
    side = admin.add_calendar(user.email, "Side")
    admin.add_fault(
        "throttle",
        method="GET",
        path=f"/v1.0/me/calendars/{side['id']}/calendarview",
        account=user.email,
        retry_after=7,
    )
    window = "startDateTime=2026-11-01T00:00:00Z&endDateTime=2026-11-08T00:00:00Z"
    body = {
        "requests": [
            {"id": "1", "method": "GET", "url": f"/me/calendarView?{window}"},
            {"id": "2", "method": "GET", "url": f"/me/calendars/{side['id']}/calendarView?{window}"},
            {
                "id": "3",
                "method": "POST",
                "url": "/me/events",
                "headers": {"Content-Type": "application/json"},
                "body": {  # outside member 1's window: the members run at once, in any order
                    "subject": "via batch",
                    "start": dt("2026-11-12T10:00:00"),
                    "end": dt("2026-11-12T11:00:00"),
                },
            },
            {"id": "4", "method": "GET", "url": "/me/calendars/nope"},
        ]
    }
    r = user.call("POST", "/$batch", json=body)
    assert r.status_code == 200
    res = {m["id"]: m for m in r.json()["responses"]}
    assert res["1"]["status"] == 200 and res["1"]["body"]["value"] == []
    assert res["2"]["status"] == 429 and res["2"]["headers"]["Retry-After"] == "7"
    assert res["2"]["body"]["error"]["code"] == "TooManyRequests"
    assert res["3"]["status"] == 201 and res["3"]["body"]["subject"] == "via batch"
    assert res["4"]["status"] == 404 and res["4"]["body"]["error"]["code"] == "ErrorItemNotFound"
    assert all("headers" in m for m in res.values())
    log = admin.request_log()
    assert log["counts"]["POST /v1.0/$batch"] >= 1
    assert any(e["batch"] and e["status"] == 429 for e in log["entries"])


def _member_spans(admin: SandboxAdmin, email: str) -> list[tuple[float, float]]:
    """(start, end) of each batch member the sandbox ran for `email`, in the order they ended."""
    return [
        (e["time"] - e["ms"] / 1000, e["time"])
        for e in admin.request_log()["entries"]
        if e["batch"] and e["account"] == email
    ]


def test_batch_members_run_at_once_unless_one_depends_on_another(
    make_user: Callable[..., GraphUser], admin: SandboxAdmin
) -> None:
    """Graph runs a batch fully parallel, or fully sequential when `dependsOn` orders it; a
    sandbox running every batch in order made a batch take as long as all its members."""
    u = make_user()
    admin.add_fault("latency", path="/v1.0/me", account=u.email, latency_ms=300, count=6)
    admin.clear_request_log()
    parallel = {"requests": [{"id": str(i), "method": "GET", "url": "/me"} for i in range(1, 4)]}
    r = u.call("POST", "/$batch", json=parallel)
    assert [m["status"] for m in r.json()["responses"]] == [200, 200, 200]
    spans = _member_spans(admin, u.email)
    assert len(spans) == 3
    assert max(start for start, _ in spans) < min(end for _, end in spans)  # all three at once

    admin.clear_request_log()
    ordered = {
        "requests": [
            {"id": "1", "method": "GET", "url": "/me"},
            {"id": "2", "method": "GET", "url": "/me", "dependsOn": ["1"]},
            {"id": "3", "method": "GET", "url": "/me", "dependsOn": ["2"]},
        ]
    }
    r = u.call("POST", "/$batch", json=ordered)
    assert [m["status"] for m in r.json()["responses"]] == [200, 200, 200]
    spans = _member_spans(admin, u.email)
    # One after another (the log's times are rounded to 0.1 ms, hence the millisecond).
    assert all(earlier[1] <= later[0] + 0.001 for earlier, later in itertools.pairwise(spans))


def test_a_parallel_batch_runs_no_more_members_at_once_than_the_mailbox_takes(
    make_user: Callable[..., GraphUser], admin: SandboxAdmin
) -> None:
    """A client's limiter reserves at most 4 of the mailbox's slots for a batch; the members
    beyond 4 wait for a slot instead of being throttled."""
    u = make_user()
    admin.add_fault("latency", path="/v1.0/me", account=u.email, latency_ms=200, count=8)
    admin.clear_request_log()
    many = {"requests": [{"id": str(i), "method": "GET", "url": "/me"} for i in range(1, 9)]}
    r = u.call("POST", "/$batch", json=many)
    assert [m["status"] for m in r.json()["responses"]] == [200] * 8
    spans = _member_spans(admin, u.email)
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    running, most = 0, 0
    for _, step in edges:
        running += step
        most = max(most, running)
    assert 1 < most <= 4


def test_batch_limits(user: GraphUser) -> None:
    many = {"requests": [{"id": str(i), "method": "GET", "url": "/me"} for i in range(21)]}
    r = user.call("POST", "/$batch", json=many)
    assert r.status_code == 400 and r.json()["error"]["code"] == "BadRequest"
    dup = {"requests": [{"id": "1", "method": "GET", "url": "/me"}] * 2}
    assert user.call("POST", "/$batch", json=dup).status_code == 400
    unauth = user.http.post(
        f"{user.sandbox.url}/v1.0/$batch", json={"requests": [{"id": "1", "method": "GET", "url": "/me"}]}
    )
    assert unauth.status_code == 401


def test_throttle_and_unavailable_faults(user: GraphUser, admin: SandboxAdmin) -> None:
    admin.add_fault("unavailable", path="/v1.0/me", account=user.email, retry_after=3)
    admin.add_fault("throttle", path="/v1.0/me", account=user.email, retry_after=2)
    first, second, third = (user.call("GET", "/me") for _ in range(3))
    assert first.status_code == 503 and first.headers["Retry-After"] == "3"
    assert second.status_code == 429 and second.headers["Retry-After"] == "2"
    assert third.status_code == 200
    assert admin.faults() == []


def test_reset_after_write_applies_the_write(user: GraphUser, admin: SandboxAdmin) -> None:
    admin.add_fault("reset_after_write", method="POST", path="/v1.0/me/events", account=user.email)
    body = {
        "subject": "lost answer",
        "transactionId": "txn-reset",
        "start": dt("2026-11-05T10:00:00"),
        "end": dt("2026-11-05T11:00:00"),
    }
    with pytest.raises(requests.ConnectionError):
        user.call("POST", "/me/events", json=body)
    events = admin.mailbox(user.email)["calendars"][0]["events"]
    assert [e["subject"] for e in events] == ["lost answer"]
    retry = user.call("POST", "/me/events", json=body)  # the retry finds the event by transactionId
    assert retry.status_code == 201 and retry.json()["id"] == events[0]["id"]


def test_reset_before_handling(user: GraphUser, admin: SandboxAdmin) -> None:
    admin.add_fault("reset", path="/v1.0/me", account=user.email)
    with pytest.raises(requests.ConnectionError):
        user.call("GET", "/me")
    assert user.call("GET", "/me").status_code == 200


def test_mailbox_concurrency_limit(make_user: Callable[..., GraphUser], admin: SandboxAdmin) -> None:
    u = make_user()
    admin.add_fault("latency", path="/v1.0/me", account=u.email, latency_ms=400, count=6)
    statuses: list[int] = []
    lock = threading.Lock()

    def hit() -> None:
        r = u.call("GET", "/me")
        with lock:
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert r.json()["error"] == {**r.json()["error"], "code": "ApplicationThrottled"}
                assert "MailboxConcurrency" in r.json()["error"]["message"] and "Retry-After" in r.headers

    threads = [threading.Thread(target=hit) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(429) >= 1 and statuses.count(200) >= 4
    admin.settings(mailbox_concurrency_enabled=False)
    try:
        admin.add_fault("latency", path="/v1.0/me", account=u.email, latency_ms=300, count=6)
        statuses.clear()
        threads = [threading.Thread(target=hit) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses == [200] * 6
    finally:
        admin.settings(mailbox_concurrency_enabled=True)
