"""GraphClient against the sandbox over real HTTPS: calls, typed errors, token re-ask, retries."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest

from devstack.sandbox.admin_client import SandboxAdmin, dt
from lib.adapters.graph import (
    GraphAccessDenied,
    GraphAuthError,
    GraphClient,
    GraphNotFound,
    GraphOutcomeUnknown,
    GraphThrottled,
    GraphUnavailable,
)
from lib.core.errors import NotFound, OutlookUnavailable

from .conftest import CountingTokens, Mailbox, log_entries, now

pytestmark = pytest.mark.integration

UTC_PREFER = 'outlook.timezone="UTC"'


def test_get_post_patch_delete(client: GraphClient, mailbox: Mailbox, admin: SandboxAdmin) -> None:
    me = client.get("/me")
    assert me["mail"].lower() == mailbox.email.lower()
    created = client.post(
        "/me/events",
        {
            "subject": "Intro & chat",
            "start": dt("2026-11-20T09:00:00", "Pacific Standard Time"),
            "end": dt("2026-11-20T09:30:00", "Pacific Standard Time"),
        },
        prefer=UTC_PREFER,
    )
    assert created is not None
    assert created["start"]["timeZone"] == "UTC" and created["start"]["dateTime"].startswith(
        "2026-11-20T17:00"
    )
    patched = client.patch(f"/me/events/{created['id']}", {"subject": "Renamed"})
    assert patched is not None and patched["subject"] == "Renamed"
    client.delete(f"/me/events/{created['id']}")
    with pytest.raises(GraphNotFound):
        client.get(f"/me/events/{created['id']}")


def test_query_params_and_prefer_reach_graph(
    client: GraphClient, mailbox: Mailbox, admin: SandboxAdmin
) -> None:
    admin.add_event(
        mailbox.email,
        subject="Standup",
        start=dt("2026-11-20T09:00:00", "Pacific Standard Time"),
        end=dt("2026-11-20T09:15:00", "Pacific Standard Time"),
    )
    page = client.get(
        "/me/calendarView",
        params={
            "startDateTime": "2026-11-20T00:00:00-08:00",  # the `+`/`-` offset must survive encoding
            "endDateTime": "2026-11-21T00:00:00-08:00",
            "$select": "subject,start,end,showAs",
            "$top": 5,
        },
        prefer=UTC_PREFER,
    )
    [item] = page["value"]
    assert item["subject"] == "Standup" and item["showAs"] == "busy"
    assert "body" not in item and "attendees" not in item  # $select applied
    assert item["start"] == {"dateTime": "2026-11-20T17:00:00.0000000", "timeZone": "UTC"}


def test_not_found_is_typed_and_a_problem(client: GraphClient) -> None:
    with pytest.raises(GraphNotFound) as info:
        client.get("/me/calendars/AAMkAnonexistent")
    err = info.value
    assert isinstance(err, NotFound) and err.http_status == 404 and err.graph_code
    assert err.code == "not_found"


def test_access_denied_is_typed(
    make_mailbox: Callable[..., Mailbox], make_client: Callable[..., GraphClient]
) -> None:
    reader = make_mailbox(scopes=["User.Read"])  # no calendar scope
    client = make_client(reader)
    with pytest.raises(GraphAccessDenied) as info:
        client.get("/me/calendars")
    assert info.value.http_status == 403 and info.value.graph_code == "ErrorAccessDenied"
    assert reader.token not in str(info.value) and reader.token not in repr(info.value)


def test_401_asks_the_token_provider_again_once(
    make_client: Callable[..., GraphClient], mailbox: Mailbox, admin: SandboxAdmin
) -> None:
    tokens = CountingTokens("stale-token", mailbox.token)
    me = make_client(mailbox, token_provider=tokens).get("/me")
    assert me["mail"].lower() == mailbox.email.lower() and tokens.calls == 2
    assert tokens.forced == 1  # the second ask tells the provider to refresh


def test_401_twice_is_an_auth_error(
    make_client: Callable[..., GraphClient], mailbox: Mailbox, admin: SandboxAdmin
) -> None:
    admin.expire_access_tokens(mailbox.email)
    tokens = CountingTokens(mailbox.token)  # keeps handing out the expired one
    started = now()
    with pytest.raises(GraphAuthError) as info:
        make_client(mailbox, token_provider=tokens).get("/me")
    assert tokens.calls == 2
    assert info.value.http_status == 401 and info.value.graph_code == "InvalidAuthenticationToken"
    assert info.value.code == "needs_reconnect"
    assert mailbox.token not in str(info.value)
    # The expired token identifies no account in the log; count the 401s on /me since the start.
    entries = [
        e for e in admin.request_log()["entries"] if e["time"] >= started and e["route"] == "GET /v1.0/me"
    ]
    assert [e["status"] for e in entries] == [401, 401]


def test_429_retry_after_is_honoured(client: GraphClient, mailbox: Mailbox, admin: SandboxAdmin) -> None:
    admin.add_fault("throttle", path="/v1.0/me", account=mailbox.email, retry_after=1)
    started, t0 = now(), time.monotonic()
    assert client.get("/me")["mail"].lower() == mailbox.email.lower()
    elapsed = time.monotonic() - t0
    assert 1.0 <= elapsed < 3.0
    entries = [e for e in log_entries(admin, mailbox, started) if e["route"] == "GET /v1.0/me"]
    assert [e["status"] for e in entries] == [429, 200]
    assert entries[1]["time"] - entries[0]["time"] >= 0.95  # the retry waited for Retry-After


def test_503_past_the_deadline_is_unavailable(
    make_client: Callable[..., GraphClient], mailbox: Mailbox, admin: SandboxAdmin
) -> None:
    admin.add_fault("unavailable", path="/v1.0/me", account=mailbox.email, retry_after=1, count=50)
    client = make_client(mailbox, deadline_s=2.5)
    started, t0 = now(), time.monotonic()
    with pytest.raises(GraphUnavailable) as info:
        client.get("/me")
    assert time.monotonic() - t0 < 3.0
    err = info.value
    assert isinstance(err, OutlookUnavailable) and err.code == "outlook_unavailable"
    assert err.http_status == 503 and err.graph_code == "ServiceUnavailable"
    statuses = [e["status"] for e in log_entries(admin, mailbox, started)]
    assert statuses and set(statuses) == {503} and 2 <= len(statuses) <= 3


def test_503_past_max_attempts_is_unavailable(
    make_client: Callable[..., GraphClient], mailbox: Mailbox, admin: SandboxAdmin
) -> None:
    admin.add_fault("unavailable", path="/v1.0/me", account=mailbox.email, retry_after=0, count=50)
    client = make_client(mailbox, max_attempts=3)
    started = now()
    with pytest.raises(GraphUnavailable):
        client.get("/me")
    assert [e["status"] for e in log_entries(admin, mailbox, started)] == [503, 503, 503]


def test_retry_after_beyond_the_deadline_fails_fast(
    make_client: Callable[..., GraphClient], mailbox: Mailbox, admin: SandboxAdmin
) -> None:
    admin.add_fault("throttle", path="/v1.0/me", account=mailbox.email, retry_after=30)
    t0 = time.monotonic()
    with pytest.raises(GraphThrottled) as info:
        make_client(mailbox, deadline_s=5).get("/me")
    assert time.monotonic() - t0 < 1.0  # no pointless sleep
    assert info.value.retry_after == 30 and info.value.extensions["retryAfter"] == 30


def test_get_is_retried_after_a_connection_reset(
    client: GraphClient, mailbox: Mailbox, admin: SandboxAdmin
) -> None:
    admin.add_fault("reset", path="/v1.0/me", account=mailbox.email)
    assert client.get("/me")["mail"].lower() == mailbox.email.lower()


def _event(subject: str, transaction_id: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {
        "subject": subject,
        "start": dt("2026-12-01T10:00:00"),
        "end": dt("2026-12-01T10:30:00"),
    }
    if transaction_id:
        body["transactionId"] = transaction_id
    return body


def _count_events(admin: SandboxAdmin, mailbox: Mailbox, subject: str) -> int:
    box = admin.mailbox(mailbox.email)
    return sum(1 for cal in box["calendars"] for ev in cal["events"] if ev["subject"] == subject)


def test_post_is_not_blindly_retried(client: GraphClient, mailbox: Mailbox, admin: SandboxAdmin) -> None:
    admin.add_fault("reset_after_write", method="POST", path="/v1.0/me/events", account=mailbox.email)
    with pytest.raises(GraphOutcomeUnknown) as info:
        client.post("/me/events", _event("Once"))
    assert isinstance(info.value, GraphUnavailable)
    assert _count_events(admin, mailbox, "Once") == 1  # applied once, not duplicated


def test_idempotent_post_is_retried(client: GraphClient, mailbox: Mailbox, admin: SandboxAdmin) -> None:
    admin.add_fault("reset_after_write", method="POST", path="/v1.0/me/events", account=mailbox.email)
    created = client.post("/me/events", _event("Txn", str(uuid.uuid4())), idempotent=True)
    assert created is not None and created["subject"] == "Txn"
    assert _count_events(admin, mailbox, "Txn") == 1


def test_a_write_unanswered_within_the_deadline_may_have_been_applied_and_a_refused_one_not(
    make_client: Callable[..., GraphClient], mailbox: Mailbox, admin: SandboxAdmin
) -> None:
    """The booking code tells an unknown outcome from a failure by `maybe_applied`: Graph can carry
    out a write after the client stopped waiting (it lands late); a 503 is a refusal."""
    client = make_client(mailbox, deadline_s=1.0)
    admin.add_fault("latency", method="POST", path="/v1.0/me/events", account=mailbox.email, latency_ms=2500)
    with pytest.raises(GraphUnavailable) as late:
        client.post("/me/events", _event("Late", str(uuid.uuid4())), idempotent=True)
    assert late.value.maybe_applied
    assert _count_events(admin, mailbox, "Late") == 0  # not yet...
    deadline = time.monotonic() + 10
    while _count_events(admin, mailbox, "Late") == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _count_events(admin, mailbox, "Late") == 1  # ...but it lands

    admin.add_fault("unavailable", method="POST", path="/v1.0/me/events", account=mailbox.email, count=20)
    with pytest.raises(GraphUnavailable) as refused:
        client.post("/me/events", _event("Refused", str(uuid.uuid4())), idempotent=True)
    assert not refused.value.maybe_applied
    assert _count_events(admin, mailbox, "Refused") == 0


def test_delete_whose_answer_was_lost_succeeds(
    client: GraphClient, mailbox: Mailbox, admin: SandboxAdmin
) -> None:
    created = client.post("/me/events", _event("Gone soon"))
    assert created is not None
    admin.add_fault("reset_after_write", method="DELETE", path="/v1.0/me/events/*", account=mailbox.email)
    client.delete(f"/me/events/{created['id']}")  # 2nd attempt gets 404: the first one did it
    assert _count_events(admin, mailbox, "Gone soon") == 0


def test_logs_carry_no_tokens_queries_or_event_data(
    make_client: Callable[..., GraphClient],
    mailbox: Mailbox,
    admin: SandboxAdmin,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG", logger="lib.adapters.graph")
    admin.add_fault("throttle", path="/v1.0/me/calendarview/delta", account=mailbox.email, retry_after=0)
    client = make_client(mailbox, token_provider=CountingTokens("stale-token", mailbox.token))
    client.post("/me/events", _event("Private subject"))
    result = client.delta(
        "/me/calendarView/delta",
        params={"startDateTime": "2026-11-01T00:00:00Z", "endDateTime": "2027-01-01T00:00:00Z"},
    )
    client.delta(result.delta_link)
    text = caplog.text
    assert "graph GET /v1.0/me/calendarView/delta -> 429" in text  # method, path, status are logged
    for secret in (mailbox.token, "stale-token", "Private subject", "deltatoken", "startDateTime", "Bearer"):
        assert secret not in text
