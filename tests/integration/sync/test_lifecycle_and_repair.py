"""Bursts, duplicates, out-of-order and dropped notifications, and the lifecycle events: the busy
cache always ends in the mailbox's state, because notifications are hints and Graph is re-read."""

from __future__ import annotations

import time

import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin

from .helpers import Host, in_days, wait_for


def test_a_burst_of_notifications_costs_fewer_delta_rounds(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http
) -> None:
    host = Host(devhost, admin, sandbox_http)
    host.wait_synced()
    before = len(host.graph_requests("/calendarView/delta"))
    ids = [host.add_event(in_days(5, hour=8), minutes=15 + i) for i in range(12)]
    wait_for(lambda: set(ids) <= set(host.cached()) or None, what="every event in the cache")
    wait_for(host.synced, what="nothing outstanding")
    rounds = len(host.graph_requests("/calendarView/delta")) - before
    assert 1 <= rounds < len(ids), f"{rounds} delta rounds for {len(ids)} notifications"


def test_duplicate_and_out_of_order_notifications_end_in_one_correct_state(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http
) -> None:
    host = Host(devhost, admin, sandbox_http)
    state = host.wait_synced()
    kept = host.add_event(in_days(6))
    gone = host.add_event(in_days(7))
    host.move_event(kept, in_days(8, hour=13))
    admin.delete_event(host.email, gone)
    wait_for(
        lambda: (
            (r := host.cached().get(kept))
            and r.start_utc == in_days(8, hour=13)
            and gone not in host.cached()
        )
    )
    wait_for(host.synced)
    delivered = [
        d["payload"]
        for d in admin.notifications()
        if d["kind"] == "change" and d["payload"]["value"][0]["subscriptionId"] == state.subscription_id
    ]
    assert len(delivered) >= 4
    # Graph may deliver late, twice, and in any order: replay everything, newest first, twice.
    for payload in list(reversed(delivered)) * 2:
        r = requests.post(f"{devhost.api_url}/graph/notifications", json=payload, timeout=5)
        assert r.status_code == 202
    time.sleep(0.5)
    wait_for(host.synced, what="the replays to be processed")
    cached = host.cached()
    assert gone not in cached
    assert cached[kept].start_utc == in_days(8, hour=13)


def test_missed_notifications_are_repaired_by_a_full_resync(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http
) -> None:
    host = Host(devhost, admin, sandbox_http)
    state = host.wait_synced()
    admin.drop_notifications(2)
    first = host.add_event(in_days(9))
    second = host.add_event(in_days(10))
    admin.wait_for_notifications(
        lambda found: (
            sum(
                1
                for d in found
                if d["status"] == "dropped"
                and d["payload"]["value"][0]["subscriptionId"] == state.subscription_id
            )
            >= 2
        )
    )
    time.sleep(1.0)
    assert first not in host.cached() and second not in host.cached()  # nothing told the app
    deltas_before = len(host.graph_requests("/calendarView/delta"))
    admin.send_lifecycle(state.subscription_id, "missed")
    wait_for(lambda: {first, second} <= set(host.cached()) or None, what="the resync to repair the cache")
    repaired = wait_for(host.synced)
    assert repaired.synced_seq >= repaired.full_seq > state.full_seq  # it was a full round
    assert len(host.graph_requests("/calendarView/delta")) > deltas_before


def test_a_removed_subscription_is_recreated_and_the_calendar_resynced(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http
) -> None:
    host = Host(devhost, admin, sandbox_http)
    old = host.wait_synced().subscription_id
    assert old is not None
    admin.remove_subscription(old)
    during = host.add_event(in_days(11))  # no subscription: no notification for this one
    state = wait_for(
        lambda: (s := host.synced()) and s.subscription_id not in (None, old) and s,
        what="a new subscription",
    )
    [sub] = host.sandbox_subscriptions()
    assert sub["id"] == state.subscription_id != old
    wait_for(lambda: during in host.cached() or None, what="the resync after recreating")
    assert host.subscription() is not None


def test_reauthorization_required_reauthorizes_the_subscription(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http
) -> None:
    host = Host(devhost, admin, sandbox_http)
    state = host.wait_synced()
    admin.send_lifecycle(state.subscription_id, "reauthorizationRequired")
    wait_for(
        lambda: host.graph_requests(f"/subscriptions/{state.subscription_id}/reauthorize", method="POST"),
        what="a reauthorize call",
    )
    assert host.synced() is not None and host.synced().subscription_id == state.subscription_id  # type: ignore[union-attr]


def test_reconciliation_rebuilds_a_calendar_whose_sync_state_is_gone(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http
) -> None:
    """What a deployment sees once after sync state moved into the hosts' partitions: the rows are
    not where the code looks. Notifications are then not applied (availability reads Graph live),
    and the reconciliation run rebuilds everything: a new subscription, the old one deleted, and a
    full resync that picks up what changed meanwhile."""
    from lib.features.housekeeping.reconcile import enqueue_all
    from lib.features.sync.sync_state import sync_states

    host = Host(devhost, admin, sandbox_http)
    old = host.wait_synced()
    sync_states().delete(old)
    unseen = host.add_event(in_days(12))
    admin.wait_for_notifications(
        lambda found: any(
            d["status"] == "delivered" and d["payload"]["value"][0]["subscriptionId"] == old.subscription_id
            for d in found
        )
    )
    time.sleep(1.0)
    assert host.state() is None and unseen not in host.cached()  # acknowledged, not applied

    assert enqueue_all() >= 1
    rebuilt = wait_for(
        lambda: (s := host.synced()) and s.subscription_id != old.subscription_id and s,
        what="the reconciliation to rebuild the sync state",
    )
    wait_for(lambda: unseen in host.cached() or None, what="the full resync")
    assert [s["id"] for s in host.sandbox_subscriptions()] == [rebuilt.subscription_id]
    assert host.subscription() is not None
