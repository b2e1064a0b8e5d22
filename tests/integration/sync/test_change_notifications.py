"""Change notifications end to end: the sandbox sends real notifications to the dev host's intake,
the processor re-reads Graph (delta) and the busy cache follows the mailbox."""

from __future__ import annotations

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin

from .helpers import Host, in_days, wait_for


def test_connect_subscribes_and_imports_the_calendar(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http
) -> None:
    host = Host(devhost, admin, sandbox_http)
    state = host.wait_synced()
    [sub] = host.sandbox_subscriptions()
    assert sub["id"] == state.subscription_id
    assert sub["resource"].endswith(f"/calendars/{host.calendar_id}/events")
    assert sub["changeType"] == "created,updated,deleted"
    assert sub["notificationUrl"] == f"{devhost.api_url}/graph/notifications"
    assert sub["lifecycleNotificationUrl"] == f"{devhost.api_url}/graph/lifecycle"
    assert len(sub["clientState"]) <= 128
    record = host.subscription()
    assert record is not None and abs((record.expires_at - state.subscription_expires_at).total_seconds()) < 1


def test_created_moved_and_deleted_events_reach_the_busy_cache(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http
) -> None:
    host = Host(devhost, admin, sandbox_http)
    host.wait_synced()
    event_id = host.add_event(in_days(3))
    row = wait_for(lambda: host.cached().get(event_id), what="the new event in the cache")
    assert row.start_utc == in_days(3) and row.show_as == "busy" and not row.is_all_day
    assert not hasattr(row, "subject")

    host.move_event(event_id, in_days(4, hour=15), minutes=60)
    moved = wait_for(
        lambda: (r := host.cached().get(event_id)) and r.start_utc == in_days(4, hour=15) and r,
        what="the moved event in the cache",
    )
    assert (moved.end_utc - moved.start_utc).total_seconds() == 3600

    admin.delete_event(host.email, event_id)
    wait_for(lambda: event_id not in host.cached() or None, what="the deleted event to leave the cache")
    wait_for(host.synced, what="nothing outstanding")
