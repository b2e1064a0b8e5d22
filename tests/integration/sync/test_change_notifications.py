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


def test_a_notice_is_applied_only_to_the_calendar_its_subscription_watches(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http
) -> None:
    """The processor finds the calendar through the subscription record (whose host partition holds
    the sync state); a notice naming a subscription that is not ours, or whose record watches
    another connection or calendar, changes nothing."""
    from lib.core.crypto import calendar_digest
    from lib.features.sync.messages import GraphNotice, NoticeKind
    from lib.features.sync.processor import process_notice

    host = Host(devhost, admin, sandbox_http)
    other = Host(devhost, admin, sandbox_http)
    state = host.wait_synced()
    assert state.subscription_id is not None
    digest = calendar_digest(host.calendar_id)

    def notice(subscription_id: str, connection_id: str, calendar: str = digest) -> GraphNotice:
        return GraphNotice(NoticeKind.CHANGE, subscription_id, connection_id, calendar, change_type="updated")

    pending = state.pending_seq
    assert process_notice(notice("not-a-subscription-of-ours", host.connection_id)) == "unknown_calendar"
    assert process_notice(notice(state.subscription_id, other.connection_id)) == "unknown_calendar"
    assert (
        process_notice(notice(state.subscription_id, host.connection_id, "another-digest"))
        == "unknown_calendar"
    )
    after = host.state()
    assert after is not None and after.pending_seq == pending  # nothing was recorded for the calendar
    assert process_notice(notice(state.subscription_id, host.connection_id)) in ("synced", "coalesced")
    wait_for(lambda: (s := host.synced()) and s.pending_seq > pending and s, what="the genuine notice")
