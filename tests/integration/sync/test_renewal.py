"""The renewal timer on the dev host (every 2 seconds here, with a 60-minute window): it renews
subscriptions about to expire to the longest lifetime and stores Graph's expiry, leaves the others
alone, recreates one Graph no longer knows, and never lets two workers act on one subscription."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin
from lib.adapters.storage import storage_account
from lib.features.sync import subscriptions
from lib.features.sync.subscriptions import SubscriptionRecord
from lib.providers.microsoft.change_feed import parse_expiry

from .helpers import Host, wait_for


@pytest.fixture(scope="module")
def app_env(app_env: dict[str, str]) -> dict[str, str]:
    return {
        **app_env,
        "SLOTBRIDGE_SUBSCRIPTION_RENEWAL_SCHEDULE": "*/2 * * * * *",
        "SLOTBRIDGE_SUBSCRIPTION_RENEWAL_WINDOW_MINUTES": "60",
    }


def _expire_soon(record: SubscriptionRecord, minutes: int = 5) -> None:
    record.expires_at = datetime.now(UTC) + timedelta(minutes=minutes)
    storage_account().table(SubscriptionRecord).update(record)


def test_the_timer_renews_a_subscription_about_to_expire_and_leaves_others(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http
) -> None:
    soon, later = Host(devhost, admin, sandbox_http), Host(devhost, admin, sandbox_http)
    soon.wait_synced()
    later.wait_synced()
    record = soon.subscription()
    assert record is not None and record.renewed_at is None
    _expire_soon(record)

    renewed = wait_for(
        lambda: (r := soon.subscription()) and r.renewed_at is not None and r, what="the renewal"
    )
    [graph_sub] = soon.sandbox_subscriptions()
    graph_expiry = parse_expiry(graph_sub["expirationDateTime"])
    assert renewed.expires_at == graph_expiry  # the expiry Graph answered is what is stored
    assert renewed.expires_at > datetime.now(UTC) + timedelta(minutes=10000)
    assert soon.graph_requests(f"/subscriptions/{record.subscription_id}", method="PATCH")
    state = soon.state()
    assert state is not None and state.subscription_expires_at == renewed.expires_at

    untouched = later.subscription()
    assert untouched is not None and untouched.renewed_at is None
    assert not later.graph_requests("/subscriptions/", method="PATCH")


def test_a_subscription_graph_no_longer_knows_is_recreated(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http
) -> None:
    host = Host(devhost, admin, sandbox_http)
    current = host.wait_synced().subscription_id
    record = host.subscription()
    assert record is not None
    # Graph lost it without telling us (no lifecycle event): only the renewal's 404 reveals it.
    ghost = SubscriptionRecord(
        subscription_id="00000000-0000-4000-8000-00000000dead",
        user_id=host.user_id,
        connection_id=host.connection_id,
        calendar_id=host.calendar_id,
        expires_at=datetime.now(UTC) + timedelta(minutes=3),
        key_fingerprint=record.key_fingerprint,
        created_at=datetime.now(UTC),
    )
    storage_account().table(SubscriptionRecord).put(ghost)
    wait_for(
        lambda: (
            storage_account().table(SubscriptionRecord).find(ghost.subscription_id, "subscription") is None
        ),
        what="the unknown subscription to be forgotten",
    )
    state = wait_for(
        lambda: (s := host.synced()) and s.subscription_id not in (None, current) and s,
        what="a recreated subscription",
    )
    assert state.subscription_id in {s["id"] for s in host.sandbox_subscriptions()}


def test_two_workers_never_hold_one_subscription(devhost: DevHost, admin: SandboxAdmin, sandbox_http) -> None:
    host = Host(devhost, admin, sandbox_http)
    sub_id = host.wait_synced().subscription_id
    assert sub_id is not None
    first = subscriptions.take_lease(sub_id, "worker-a")
    second = subscriptions.take_lease(sub_id, "worker-b")
    try:
        assert first is not None and second is None
    finally:
        subscriptions.release_lease(sub_id, "worker-a")
    assert subscriptions.take_lease(sub_id, "worker-b") is not None
    subscriptions.release_lease(sub_id, "worker-b")
