"""Google change feed end to end: the app creates a watch channel per conflict calendar, the
stand-in pushes real notifications to the app's Google intake (no body, X-Goog-* headers, the
channel token verified like clientState), the processor reads on with the syncToken and the busy
cache follows; a 410 is a full resync; an event of a booking moved or deleted in Google updates the
booking; pushes that do not verify change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from devstack.funchost import DevHost
from devstack.google.admin_client import GoogleAdmin
from lib.adapters.storage import storage_account
from lib.features.bookings.records import BookingRecord
from lib.features.sync.busy_cache import BusyIntervalRecord
from lib.features.sync.sync_state import CalendarKey, CalendarSyncRecord, find_state
from tests.integration.availability.helpers import next_monday
from tests.integration.bookings.helpers import at, book, new_link
from tests.integration.google.helpers import GoogleHost
from tests.integration.sync.helpers import wait_for

pytestmark = pytest.mark.usefixtures("devhost")


class SyncedHost(GoogleHost):
    def state(self) -> CalendarSyncRecord | None:
        return find_state(CalendarKey(self.user_id, self.connection_id, self.calendar_id))

    def synced(self) -> CalendarSyncRecord | None:
        state = self.state()
        ok = (
            state is not None
            and state.subscription_id is not None
            and state.last_synced_at is not None
            and not state.outstanding
            and state.lease_owner is None
        )
        return state if ok else None

    def wait_synced(self) -> CalendarSyncRecord:
        return wait_for(self.synced, 30.0, "the Google calendar to be synced")

    def cached(self) -> dict[str, BusyIntervalRecord]:
        rows = (
            storage_account()
            .table(BusyIntervalRecord)
            .query(partition=(self.connection_id, self.calendar_id))
        )
        return {r.event_id: r for r in rows}


@pytest.fixture()
def ghost(devhost: DevHost, gadmin: GoogleAdmin, ghttp: requests.Session) -> SyncedHost:
    return SyncedHost(devhost, gadmin, ghttp, time_zone="UTC")


def in_days(days: int, hour: int = 10) -> datetime:
    return datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0) + timedelta(days=days)


def _when(instant: datetime) -> dict[str, str]:
    return {"dateTime": instant.strftime("%Y-%m-%dT%H:%M:%SZ")}


def _add(gadmin: GoogleAdmin, host: SyncedHost, start: datetime, minutes: int = 30, **fields: Any) -> str:
    event = gadmin.add_event(
        host.calendar_id,
        summary="Private",
        start=_when(start),
        end=_when(start + timedelta(minutes=minutes)),
        **fields,
    )
    return f"{host.calendar_id}/{event['id']}"


def test_connect_watches_the_calendar_through_the_google_intake(
    devhost: DevHost, gadmin: GoogleAdmin, ghost: SyncedHost
) -> None:
    state = ghost.wait_synced()
    channels = [c for c in gadmin.channels() if c.get("address", "").startswith(devhost.url)]
    [channel] = [c for c in channels if c.get("calendar_id", c.get("calendarId")) == ghost.calendar_id]
    assert channel["address"] == f"{devhost.api_url}/google/notifications"
    assert state.subscription_id is not None and state.subscription_id.startswith(channel["id"])
    assert len(str(channel.get("token"))) <= 128


def test_created_moved_and_deleted_events_reach_the_busy_cache_by_push(
    gadmin: GoogleAdmin, ghost: SyncedHost
) -> None:
    ghost.wait_synced()
    event_id = _add(gadmin, ghost, in_days(3))
    row = wait_for(lambda: ghost.cached().get(event_id), what="the new event in the cache")
    assert row.start_utc == in_days(3) and row.show_as == "busy" and not row.is_all_day

    google_id = event_id.rpartition("/")[2]
    gadmin.update_event(ghost.calendar_id, google_id, start=_when(in_days(4, 15)), end=_when(in_days(4, 16)))
    wait_for(
        lambda: (r := ghost.cached().get(event_id)) and r.start_utc == in_days(4, 15) and r,
        what="the moved event in the cache",
    )
    gadmin.update_event(ghost.calendar_id, google_id, transparency="transparent")
    wait_for(lambda: event_id not in ghost.cached() or None, what="a transparent event to leave the cache")
    gadmin.delete_event(ghost.calendar_id, google_id)
    wait_for(ghost.synced, what="nothing outstanding")


def test_a_sync_token_google_no_longer_knows_is_a_full_resync(gadmin: GoogleAdmin, ghost: SyncedHost) -> None:
    ghost.wait_synced()
    gadmin.clear_request_log()
    gadmin.invalidate_sync_tokens(ghost.calendar_id)
    event_id = _add(gadmin, ghost, in_days(5))
    wait_for(lambda: event_id in ghost.cached() or None, what="the full resync after 410")
    wait_for(ghost.synced, what="nothing outstanding")
    lists = [
        e["status"]
        for e in gadmin.request_log()["entries"]
        if e["method"] == "GET"
        and e["path"].endswith("/events")
        and e.get("account") in (ghost.email, None, ghost.sub)
    ]
    # The incremental read answered 410 fullSyncRequired; the window was then read afresh.
    assert 410 in lists and lists[lists.index(410) + 1 :].count(200) >= 1, lists


def test_a_booking_moved_or_deleted_in_google_follows(
    devhost: DevHost, gadmin: GoogleAdmin, ghost: SyncedHost
) -> None:
    ghost.wait_synced()
    slug = new_link(devhost, (ghost.user_id, "google"))
    monday = next_monday()
    booked = book(devhost, slug, at(monday, 10))
    assert booked.status_code == 201, booked.text
    booking_id = booked.json()["bookingId"]
    stored = storage_account().table(BookingRecord).get(booking_id, "booking")
    google_id = stored.event_id.rpartition("/")[2]

    new_start = datetime.fromisoformat(at(monday, 14).replace("Z", "+00:00"))
    gadmin.update_event(
        ghost.calendar_id, google_id, start=_when(new_start), end=_when(new_start + timedelta(hours=1))
    )
    wait_for(
        lambda: (
            storage_account().table(BookingRecord).get(booking_id, "booking").start_utc == new_start or None
        ),
        what="the booking to follow the moved event",
    )
    gadmin.delete_event(ghost.calendar_id, google_id)
    wait_for(
        lambda: (
            storage_account().table(BookingRecord).get(booking_id, "booking").status.value
            == "cancelled_in_outlook"  # the API's one name for "the host deleted the event"
            or None
        ),
        what="the booking to be cancelled with its event",
    )


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Goog-Channel-ID": "c", "X-Goog-Resource-ID": "r", "X-Goog-Resource-State": "exists"},
        {
            "X-Goog-Channel-ID": "c",
            "X-Goog-Resource-ID": "r",
            "X-Goog-Resource-State": "exists",
            "X-Goog-Channel-Token": "v1.forged." + "A" * 22 + "." + "B" * 43,
        },
        {"X-Goog-Channel-ID": "c" * 5000, "X-Goog-Resource-ID": "r", "X-Goog-Resource-State": "exists"},
        {"X-Goog-Channel-ID": "c", "X-Goog-Resource-ID": "r", "X-Goog-Resource-State": "\u00e9vil"},
    ],
)
def test_pushes_that_do_not_verify_are_dropped(devhost: DevHost, headers: dict[str, str]) -> None:
    r = requests.post(
        f"{devhost.api_url}/google/notifications",
        headers={k: v.encode("utf-8").decode("latin-1") for k, v in headers.items()},
        timeout=10,
    )
    assert r.status_code == 200, r.text
