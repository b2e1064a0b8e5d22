"""At most 4 requests of one mailbox in flight (the sandbox answers 429 beyond, as Graph does);
different mailboxes do not wait for each other."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from devstack.sandbox import Sandbox
from devstack.sandbox.admin_client import SandboxAdmin
from lib.adapters.graph import BatchRequest, GraphClient
from lib.adapters.outbound_http import make_session

from .conftest import Mailbox, log_entries, max_overlap, now

pytestmark = pytest.mark.integration

LATENCY_MS = 300


def test_unlimited_callers_do_get_429_from_the_sandbox(
    sandbox: Sandbox, mailbox: Mailbox, admin: SandboxAdmin
) -> None:
    """Control: without the client, 12 concurrent calls overrun the mailbox limit."""
    admin.add_fault("latency", path="/v1.0/me", account=mailbox.email, latency_ms=LATENCY_MS, count=12)
    http = make_session(sandbox.ca_pem_path)

    def call(_: int) -> int:
        auth = {"Authorization": f"Bearer {mailbox.token}"}
        return http.get(f"{sandbox.url}/v1.0/me", headers=auth, timeout=10).status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(call, range(12)))
    assert 429 in statuses


def test_twelve_concurrent_calls_keep_to_four_in_flight(
    make_client: Callable[..., GraphClient], mailbox: Mailbox, admin: SandboxAdmin
) -> None:
    admin.add_fault("latency", path="/v1.0/me", account=mailbox.email, latency_ms=LATENCY_MS, count=12)
    # Separate client instances of the same mailbox share the process-wide limit.
    clients = [make_client(mailbox) for _ in range(12)]
    started, t0 = now(), time.monotonic()
    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(lambda c: c.get("/me"), clients))
    elapsed = time.monotonic() - t0
    assert all(r["mail"].lower() == mailbox.email.lower() for r in results)
    entries = log_entries(admin, mailbox, started)
    assert len(entries) == 12 and {e["status"] for e in entries} == {200}  # no 429 anywhere
    assert max_overlap(entries) <= 4
    assert elapsed >= 3 * LATENCY_MS / 1000 * 0.9  # three waves of four


def test_batches_share_the_mailbox_limit(
    make_client: Callable[..., GraphClient], mailbox: Mailbox, admin: SandboxAdmin
) -> None:
    admin.add_fault("latency", path="/v1.0/me", account=mailbox.email, latency_ms=50, count=100)
    client = make_client(mailbox)
    started = now()

    def plain(_: int) -> object:
        return client.get("/me")

    with ThreadPoolExecutor(6) as pool:
        singles = [pool.submit(plain, i) for i in range(6)]
        results = client.batch([BatchRequest(id=str(i), method="GET", url="/me") for i in range(30)])
        for f in singles:
            f.result()
    assert all(r.ok for r in results.values())
    members = [e for e in log_entries(admin, mailbox, started) if e["route"] == "GET /v1.0/me"]
    assert len(members) == 36 and {e["status"] for e in members} == {200}
    assert max_overlap(members) <= 4


def test_different_mailboxes_run_concurrently(
    make_mailbox: Callable[..., Mailbox], make_client: Callable[..., GraphClient], admin: SandboxAdmin
) -> None:
    boxes = [make_mailbox(), make_mailbox()]
    for box in boxes:
        admin.add_fault("latency", path="/v1.0/me", account=box.email, latency_ms=500, count=4)
    clients = [make_client(box) for box in boxes for _ in range(4)]
    t0 = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda c: c.get("/me"), clients))
    assert time.monotonic() - t0 < 0.95  # one wave of 500 ms, not two
