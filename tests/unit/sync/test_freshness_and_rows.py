"""The freshness rule, the work counters, and Graph events -> busy rows (pure parts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lib.features.sync.busy_cache import BusyIntervalRecord, row_for_item
from lib.features.sync.messages import MalformedMessage, SyncRequest, SyncScope
from lib.features.sync.sync_state import CalendarSyncRecord, is_fresh
from lib.providers.microsoft.change_feed import busy_item

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def row_for_event(
    connection_id: str, calendar_id: str, event: dict[str, object], zone: ZoneInfo
) -> BusyIntervalRecord | None:
    """A Graph event as the change feed reads it, then as the busy cache stores it."""
    item = busy_item(event, zone)
    return None if item is None else row_for_item(connection_id, calendar_id, item)


def _state(**changes: object) -> CalendarSyncRecord:
    state = CalendarSyncRecord(
        connection_id="c",
        calendar_id="k",
        user_id="u",
        calendar_digest="d",
        subscription_id="s",
        subscription_expires_at=NOW + timedelta(days=3),
        last_synced_at=NOW - timedelta(minutes=1),
        window_start=NOW - timedelta(days=30),
        window_end=NOW + timedelta(days=90),
        pending_seq=4,
        synced_seq=4,
        created_at=NOW,
        updated_at=NOW,
    )
    for name, value in changes.items():
        setattr(state, name, value)
    return state


def test_a_synced_subscribed_calendar_is_fresh_for_ranges_in_its_window() -> None:
    assert is_fresh(_state(), NOW, NOW + timedelta(days=14), NOW)
    assert not is_fresh(_state(), NOW, NOW + timedelta(days=120), NOW)  # beyond the synced window
    assert not is_fresh(_state(), NOW - timedelta(days=40), NOW, NOW)


@pytest.mark.parametrize(
    "changes",
    [
        {"subscription_id": None},
        {"subscription_expires_at": NOW - timedelta(seconds=1)},
        {"last_synced_at": None},
        {"pending_seq": 5},  # a notification (or `missed`, or sync now) not yet synced
        {"full_seq": 5, "pending_seq": 5},  # `missed`: a full resync is pending
        {"window_end": None},
    ],
)
def test_anything_outstanding_or_unsubscribed_is_not_fresh(changes: dict[str, object]) -> None:
    assert not is_fresh(_state(**changes), NOW, NOW + timedelta(days=1), NOW)
    assert not is_fresh(None, NOW, NOW + timedelta(days=1), NOW)


def test_work_counters() -> None:
    state = _state(pending_seq=7, synced_seq=5, full_seq=6, subscribe_seq=3, subscribed_seq=3)
    assert state.outstanding and state.wants_full and not state.wants_subscription
    assert state.lease_free(NOW)
    state.lease_owner, state.lease_until = "w", NOW + timedelta(seconds=5)
    assert not state.lease_free(NOW) and state.lease_free(NOW + timedelta(seconds=6))


def _event(**fields: object) -> dict[str, object]:
    return {
        "id": "ev",
        "start": {"dateTime": "2026-03-08T09:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-03-08T09:30:00.0000000", "timeZone": "UTC"},
        "showAs": "busy",
        "isAllDay": False,
        "isCancelled": False,
        "subject": "Never stored",
        **fields,
    }


def test_a_timed_event_becomes_a_row_without_its_subject() -> None:
    row = row_for_event("c", "k", _event(showAs="oof"), ZoneInfo("UTC"))
    assert row is not None
    assert (row.start_utc, row.end_utc) == (
        datetime(2026, 3, 8, 9, tzinfo=UTC),
        datetime(2026, 3, 8, 9, 30, tzinfo=UTC),
    )
    assert row.show_as == "oof" and not row.is_all_day
    assert "Never stored" not in repr(row.to_entity())


def test_an_all_day_event_blocks_the_mailbox_owners_day() -> None:
    event = _event(
        isAllDay=True,
        start={"dateTime": "2026-03-08T00:00:00.0000000", "timeZone": "UTC"},
        end={"dateTime": "2026-03-09T00:00:00.0000000", "timeZone": "UTC"},
    )
    row = row_for_event("c", "k", event, ZoneInfo("America/Los_Angeles"))
    assert row is not None and row.is_all_day
    assert row.start_utc == datetime(2026, 3, 8, 8, tzinfo=UTC)  # PST midnight
    assert row.end_utc == datetime(2026, 3, 9, 7, tzinfo=UTC)  # PDT midnight (DST began)


def test_cancelled_events_and_series_masters_are_not_rows() -> None:
    assert row_for_event("c", "k", _event(isCancelled=True), ZoneInfo("UTC")) is None
    assert row_for_event("c", "k", _event(type="seriesMaster"), ZoneInfo("UTC")) is None


def test_sync_requests_round_trip_and_reject_incomplete_ones() -> None:
    import json

    request = SyncRequest(SyncScope.CALENDAR, "u", "why", connection_id="c", calendar_id="k", full=True)
    assert SyncRequest.from_body(json.dumps(request.to_json()).encode()) == request
    with pytest.raises(MalformedMessage):
        SyncRequest.from_body(b'{"scope": "calendar", "user_id": "u", "reason": "r", "connection_id": "c"}')
    with pytest.raises(MalformedMessage):
        SyncRequest.from_body(b'{"scope": "nope"}')


def test_a_recheck_request_round_trips_and_is_bounded() -> None:
    import json

    from lib.features.sync.messages import MAX_RECHECK_EVENTS

    request = SyncRequest(
        SyncScope.CALENDAR, "u", "recheck", connection_id="c", calendar_id="k", recheck_event_ids=("e1", "e2")
    )
    body = json.dumps(request.to_json())
    assert SyncRequest.from_body(body.encode()) == request
    plain = SyncRequest(SyncScope.CALENDAR, "u", "why", connection_id="c", calendar_id="k")
    assert "recheck_event_ids" not in plain.to_json()
    base = {"scope": "calendar", "user_id": "u", "reason": "r", "connection_id": "c", "calendar_id": "k"}
    for bad in (["e", ""], "e1", ["e"] * (MAX_RECHECK_EVENTS + 1), [1]):
        with pytest.raises(MalformedMessage):
            SyncRequest.from_body(json.dumps({**base, "recheck_event_ids": bad}).encode())
    with pytest.raises(MalformedMessage):  # rechecks name their calendar
        SyncRequest.from_body(
            json.dumps({**base, "scope": "connection", "recheck_event_ids": ["e"]}).encode()
        )
