"""What lib.features.connections' hooks do: "Sync now", a change of conflict calendars, disconnect, and a
grant that breaks while notifications keep coming (the needs_reconnect path)."""

from __future__ import annotations

import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin
from lib.adapters.storage import storage_account
from lib.features.connections.records import ConnectionRecord, ConnectionStatus
from lib.features.outbox import service as outbox
from lib.features.sync.sync_state import connection_states
from tests.integration.connect.helpers import BACKEND

from .helpers import Host, in_days, sync_now, wait_for


def test_sync_now_queues_a_full_resync(devhost: DevHost, admin: SandboxAdmin, sandbox_http) -> None:
    host = Host(devhost, admin, sandbox_http)
    before = host.wait_synced()
    admin.drop_notifications(1)
    quiet = host.add_event(in_days(12))
    r = sync_now(devhost, host)
    assert r.status_code == 202, r.text
    assert r.json() == {"status": "queued", "connectionId": host.connection_id}
    wait_for(lambda: quiet in host.cached() or None, what="sync now to import the event")
    after = wait_for(host.synced)
    assert after.full_seq > before.full_seq


def test_sync_now_needs_management_auth_and_a_known_connection(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http
) -> None:
    host = Host(devhost, admin, sandbox_http)
    url = f"{devhost.api_url}/users/{host.user_id}/connections/{host.connection_id}/sync"
    assert requests.post(url, timeout=5).status_code == 401
    other = requests.post(
        f"{devhost.api_url}/users/{host.user_id}/connections/nope/sync", headers=BACKEND, timeout=5
    )
    assert other.status_code == 404
    assert other.json()["code"] == "not_found"


def test_conflict_calendars_follow_the_settings(devhost: DevHost, admin: SandboxAdmin, sandbox_http) -> None:
    host = Host(devhost, admin, sandbox_http)
    first = host.wait_synced()
    second = admin.add_calendar(host.email, "Side projects")["id"]
    side_event = host.add_event(in_days(3), calendar_id=second)
    r = requests.put(
        f"{devhost.api_url}/users/{host.user_id}/calendar-settings",
        json={
            "conflictCalendars": [{"connectionId": host.connection_id, "calendarId": second}],
            "writeCalendar": {"connectionId": host.connection_id, "calendarId": host.calendar_id},
        },
        headers=BACKEND,
        timeout=10,
    )
    assert r.status_code == 200, r.text
    synced = host.wait_synced(second)
    assert side_event in host.cached(second)
    wait_for(lambda: host.state() is None or None, what="the old calendar's state to go")
    assert host.cached() == {}
    [sub] = host.sandbox_subscriptions()
    assert sub["id"] == synced.subscription_id != first.subscription_id
    assert sub["resource"].endswith(f"/calendars/{second}/events")


def test_disconnect_deletes_subscriptions_and_wipes_the_cache(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http
) -> None:
    host = Host(devhost, admin, sandbox_http)
    host.wait_synced()
    host.add_event(in_days(2))
    wait_for(lambda: host.cached() or None)
    wait_for(host.synced)
    r = requests.delete(
        f"{devhost.api_url}/users/{host.user_id}/connections/{host.connection_id}",
        headers=BACKEND,
        timeout=10,
    )
    assert r.status_code == 204, r.text
    assert host.sandbox_subscriptions() == []
    assert host.cached() == {}
    assert connection_states(host.user_id, host.connection_id) == []


def test_a_broken_grant_pauses_sync_with_one_action_required_message(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http
) -> None:
    host = Host(devhost, admin, sandbox_http)
    sub_id = host.wait_synced().subscription_id
    admin.revoke_grant(host.email)
    admin.expire_access_tokens(host.email)
    for day in (4, 5, 6):
        host.add_event(in_days(day))  # each one a notification the processor acts on
    connections = storage_account().table(ConnectionRecord)
    wait_for(
        lambda: (
            connections.get(host.user_id, host.connection_id).status is ConnectionStatus.NEEDS_RECONNECT
            or None
        ),
        what="needs_reconnect",
    )
    admin.wait_for_notifications(
        lambda found: (
            sum(
                1
                for d in found
                if d["status"] == "delivered" and d["payload"]["value"][0]["subscriptionId"] == sub_id
            )
            >= 3
        )
    )
    wait_for(lambda: (s := host.state()) and s.lease_owner is None and s)
    messages = [m for m in outbox.pending(host.user_id) if m.type == "connection.needs_reconnect"]
    assert len(messages) == 1
    state = host.state()
    assert state is not None and state.outstanding  # not fresh: availability reads live (and fails closed)
    r = sync_now(devhost, host)
    assert r.status_code == 409 and r.json()["code"] == "needs_reconnect"
