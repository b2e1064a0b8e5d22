"""Calendar health through the dev host against the sandbox: a chosen calendar deleted in Outlook
is found (availability, the sync worker, a booking's event write), shown as `calendar_missing` on
the connection, the calendar list and the link's management view, told to the product once, and
healed by new calendar settings; and a host who is not connected fails closed like a broken one."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin
from lib.adapters.storage import storage_account
from lib.features.bookings.records import BookingRecord, BookingStatus
from lib.features.connections import host_view
from lib.features.connections.records import CalendarSettingsRecord
from lib.features.outbox.records import OutboxRecord
from lib.features.sync.sync_state import CalendarKey, find_state
from tests.integration.connect.helpers import BACKEND, connections
from tests.integration.sync.helpers import wait_for

from .helpers import Host, link_body, new_slug, next_monday, put_link, slot_starts


@pytest.fixture()
def host(devhost: DevHost, admin: SandboxAdmin, sandbox_http) -> Host:
    return Host(devhost, admin, sandbox_http)


def _get(devhost: DevHost, path: str, **params: str) -> Any:
    r = requests.get(f"{devhost.api_url}/{path}", params=params, headers=BACKEND, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def _put_settings(devhost: DevHost, host: Host, conflicts: list[str], write: str | None) -> None:
    body = {
        "conflictCalendars": [host.ref(c) for c in conflicts],
        "writeCalendar": host.ref(write) if write else None,
    }
    r = requests.put(
        f"{devhost.api_url}/users/{host.user_id}/calendar-settings", json=body, headers=BACKEND, timeout=30
    )
    assert r.status_code == 200, r.text


def _missing_messages(user_id: str) -> list[OutboxRecord]:
    rows = storage_account().table(OutboxRecord).query(partition=user_id)
    return [r for r in rows if r.type == "calendar.unavailable"]


def _host_status(devhost: DevHost, slug: str, user_id: str) -> list[dict[str, str]]:
    [link] = [item for item in _get(devhost, "links", userId=user_id)["links"] if item["slug"] == slug]
    return list(link["hostStatus"])


def test_a_deleted_conflict_calendar_is_shown_as_missing_told_once_and_healed_by_new_settings(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    rota = admin.add_calendar(host.email, "Team rota")
    host.set_conflict_calendars(host.default_calendar_id, rota["id"])
    monday = next_monday()
    slug = new_slug()
    put_link(devhost, slug, link_body([(host.user_id, "microsoft")]))
    assert len(slot_starts(devhost, slug, monday)[1]) == 8
    assert _host_status(devhost, slug, host.user_id) == [{"userId": host.user_id, "status": "connected"}]

    admin.delete_calendar(host.email, rota["id"])
    for _ in range(2):  # the second answer meets the same 404: still one message
        body, starts = slot_starts(devhost, slug, monday)
        # The house rule stands: a conflict calendar that cannot be read offers nothing.
        assert starts == set() and body["degradedHosts"] == [{"hostIndex": 0, "reason": "unavailable"}]

    # ... but now the connection says which calendar, and what it was for.
    [connection] = connections(devhost, host.user_id)
    assert connection["status"] == "connected"
    [missing] = connection["missingCalendars"]
    assert missing["calendarId"] == rota["id"] and missing["name"] == "Team rota"
    assert missing["code"] == "calendar_missing"
    assert missing["checkForConflicts"] is True and missing["addBookings"] is False
    listed = _get(devhost, f"users/{host.user_id}/calendars")
    assert [m["calendarId"] for m in listed["missing"]] == [rota["id"]]
    assert listed["missing"][0]["accountEmail"] == host.email
    assert rota["id"] not in {c["calendarId"] for c in listed["calendars"]}
    assert _host_status(devhost, slug, host.user_id) == [
        {"userId": host.user_id, "status": "calendar_missing"}
    ]
    [message] = _missing_messages(host.user_id)
    assert message.data["reason"] == "calendar_missing" and message.data["calendarId"] == rota["id"]
    assert message.data["calendarName"] == "Team rota" and message.data["usedFor"] == ["conflicts"]

    # The user picks calendars again (what the settings page's Save does): the flag clears.
    host.set_conflict_calendars(host.default_calendar_id)
    assert connections(devhost, host.user_id)[0]["missingCalendars"] == []
    assert _get(devhost, f"users/{host.user_id}/calendars")["missing"] == []
    body, starts = slot_starts(devhost, slug, monday)
    assert len(starts) == 8 and body["complete"] is True
    assert len(_missing_messages(host.user_id)) == 1


def test_the_sync_worker_finds_a_deleted_conflict_calendar_without_retrying_it(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    rota = admin.add_calendar(host.email, "On call")
    host.set_conflict_calendars(host.default_calendar_id, rota["id"])
    key = CalendarKey(host.user_id, host.connection_id, rota["id"])
    wait_for(
        lambda: (s := find_state(key)) is not None and s.subscription_id and not s.outstanding,
        30,
        "the calendar to be subscribed and synced",
    )

    # Outlook removes its subscription (subscriptionRemoved); the resync meets 404 on the calendar.
    admin.delete_calendar(host.email, rota["id"])
    missing = wait_for(
        lambda: connections(devhost, host.user_id)[0]["missingCalendars"], 30, "the calendar to be missing"
    )
    assert [m["calendarId"] for m in missing] == [rota["id"]]
    wait_for(
        lambda: (
            (s := find_state(key)) is not None
            and s.last_error == "calendar_missing"
            and s.lease_owner is None
        ),
        30,
        "the sync state to record it",
    )
    assert find_state(key).outstanding  # never fresh: the busy cache does not answer for it

    # Sync now meets the same 404 (answered, not retried): no second message.
    before = find_state(key).pending_seq
    r = requests.post(
        f"{devhost.api_url}/users/{host.user_id}/connections/{host.connection_id}/sync",
        headers=BACKEND,
        timeout=10,
    )
    assert r.status_code == 202
    wait_for(
        lambda: (
            (s := find_state(key)) is not None
            and s.pending_seq > before
            and s.lease_owner is None
            and s.last_error == "calendar_missing"
        ),
        30,
        "the requested round",
    )
    assert len(_missing_messages(host.user_id)) == 1


def test_a_deleted_write_calendar_fails_the_booking_clearly_and_releases_the_slot(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    bookings_cal = admin.add_calendar(host.email, "Client meetings")
    _put_settings(devhost, host, [host.default_calendar_id], bookings_cal["id"])
    monday = next_monday()
    slug = new_slug()
    put_link(devhost, slug, link_body([(host.user_id, "microsoft")]))
    admin.delete_calendar(host.email, bookings_cal["id"])
    booking = {
        "start": f"{monday}T10:00:00Z",
        "attendee": {"name": "Ann Example", "email": "ann@example.com"},
    }

    r = requests.post(f"{devhost.api_url}/links/{slug}/bookings", json=booking, timeout=60)

    assert r.status_code == 409, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json()["code"] == "write_calendar_missing"
    [failed] = storage_account().table(BookingRecord).query(where="slug eq @s", parameters={"s": slug})
    assert failed.status is BookingStatus.FAILED
    assert all(not c["events"] for c in admin.mailbox(host.email)["calendars"])  # nothing orphaned
    [missing] = connections(devhost, host.user_id)[0]["missingCalendars"]
    assert missing["calendarId"] == bookings_cal["id"] and missing["addBookings"] is True
    assert missing["name"] == "Client meetings"
    [message] = _missing_messages(host.user_id)
    assert message.data["usedFor"] == ["bookings"]

    # The host picks another calendar: the same slot (its locks released) books fine.
    _put_settings(devhost, host, [host.default_calendar_id], host.default_calendar_id)
    again = requests.post(f"{devhost.api_url}/links/{slug}/bookings", json=booking, timeout=60)
    assert again.status_code == 201, again.text
    assert connections(devhost, host.user_id)[0]["missingCalendars"] == []
    events = [e for c in admin.mailbox(host.email)["calendars"] for e in c["events"]]
    assert len(events) == 1


def test_a_host_who_is_not_connected_fails_closed_like_a_broken_one(
    devhost: DevHost, admin: SandboxAdmin, host: Host, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 16: never connected, or disconnected, is degraded exactly like a broken host - its
    weekly hours are not its free time - and booking it is refused as one; `none` stays the way to
    book on weekly hours alone."""
    monday = next_monday()
    never = "never-connected-host"
    slug = new_slug()
    put_link(devhost, slug, link_body([(never, "microsoft")]))

    with caplog.at_level(logging.INFO, logger="slotbridge.availability"):
        body, starts = slot_starts(devhost, slug, monday)

    assert starts == set()
    assert body["complete"] is False and body["degradedHosts"] == [{"hostIndex": 0, "reason": "unavailable"}]
    logged = " ".join(r.getMessage() for r in caplog.records if slug in r.getMessage())
    assert "not_connected" in logged and never not in logged
    assert _host_status(devhost, slug, never) == [{"userId": never, "status": "not_connected"}]
    refused = _book(devhost, slug, f"{monday}T10:00:00Z")
    assert refused.status_code == 503 and refused.json()["code"] == "outlook_unavailable", refused.text

    # In a pool the others' time is offered; the unconnected host is listed, and never books.
    pool = new_slug()
    put_link(devhost, pool, link_body([(never, "microsoft"), ("hours-only-host", "none")]))
    body, starts = slot_starts(devhost, pool, monday)
    assert (
        len(starts) == 8
        and body["complete"] is False
        and body["degradedHosts"] == [{"hostIndex": 0, "reason": "unavailable"}]
    )
    assert [h["status"] for h in _host_status(devhost, pool, never)] == ["not_connected", "none"]
    for hour in (10, 11):
        booked = _book(devhost, pool, f"{monday}T{hour}:00:00Z")
        assert booked.status_code == 201, booked.text
        assert "no_calendar_event" in {w["code"] for w in booked.json()["warnings"]}

    # A host who disconnected their only account: the same, not "all free".
    mine = new_slug()
    put_link(devhost, mine, link_body([(host.user_id, "microsoft")]))
    assert len(slot_starts(devhost, mine, monday)[1]) == 8
    r = requests.delete(
        f"{devhost.api_url}/users/{host.user_id}/connections/{host.connection_id}",
        headers=BACKEND,
        timeout=30,
    )
    assert r.status_code == 204
    body, starts = slot_starts(devhost, mine, monday)
    assert (
        starts == set()
        and body["complete"] is False
        and body["degradedHosts"] == [{"hostIndex": 0, "reason": "unavailable"}]
    )
    booked = _book(devhost, mine, f"{monday}T10:00:00Z")
    assert booked.status_code == 503 and booked.json()["code"] == "outlook_unavailable", booked.text
    assert all(not c["events"] for c in admin.mailbox(host.email)["calendars"])
    stored = storage_account().table(BookingRecord).query(where="slug eq @s", parameters={"s": mine})
    assert [b.status for b in stored] == [BookingStatus.FAILED]


def _book(devhost: DevHost, slug: str, start: str) -> requests.Response:
    body = {"start": start, "attendee": {"name": "Ann Example", "email": "ann@example.com"}}
    return requests.post(f"{devhost.api_url}/links/{slug}/bookings", json=body, timeout=60)


def test_a_pool_whose_every_write_calendar_is_deleted_answers_the_lasting_problem(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session, host: Host
) -> None:
    other = Host(devhost, admin, sandbox_http)
    for member in (host, other):
        gone = admin.add_calendar(member.email, "Client meetings")
        _put_settings(devhost, member, [member.default_calendar_id], gone["id"])
        admin.delete_calendar(member.email, gone["id"])
    slug = new_slug()
    put_link(devhost, slug, link_body([(host.user_id, "microsoft"), (other.user_id, "microsoft")]))

    r = _book(devhost, slug, f"{next_monday()}T10:00:00Z")

    # Not "try again later": no retry helps until a host picks another calendar.
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "write_calendar_missing"
    for member in (host, other):
        assert all(not c["events"] for c in admin.mailbox(member.email)["calendars"])


def test_a_404_about_the_mailbox_is_not_a_missing_calendar(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    not_enabled = {"status": 404, "code": "MailboxNotEnabledForRESTAPI", "account": host.email}
    slug, monday = new_slug(), next_monday()
    put_link(devhost, slug, link_body([(host.user_id, "microsoft")]))

    # Availability: the calendar cannot be read (fail closed) but is not flagged as gone.
    admin.add_fault("error", method="GET", path="*/calendarview", **not_enabled)
    body, starts = slot_starts(devhost, slug, monday)
    assert starts == set() and body["degradedHosts"] == [{"hostIndex": 0, "reason": "unavailable"}]
    assert connections(devhost, host.user_id)[0]["missingCalendars"] == []

    # The booking's event write: Outlook unavailable (nothing written), the slot given back.
    admin.add_fault("error", method="POST", path="/v1.0/me/calendars/*/events", **not_enabled)
    r = _book(devhost, slug, f"{monday}T10:00:00Z")
    assert r.status_code == 503 and r.json()["code"] == "outlook_unavailable", r.text
    assert connections(devhost, host.user_id)[0]["missingCalendars"] == []
    assert _book(devhost, slug, f"{monday}T10:00:00Z").status_code == 201

    # The sync worker: the message fails and is retried (which then succeeds), nothing flagged.
    key = CalendarKey(host.user_id, host.connection_id, host.default_calendar_id)
    wait_for(
        lambda: (s := find_state(key)) is not None and s.subscription_id and not s.outstanding,
        30,
        "the calendar to be subscribed and synced",
    )
    admin.add_fault("error", method="GET", path="*/calendarview/delta", **not_enabled)
    r = requests.post(
        f"{devhost.api_url}/users/{host.user_id}/connections/{host.connection_id}/sync",
        headers=BACKEND,
        timeout=10,
    )
    assert r.status_code == 202
    wait_for(lambda: not admin.faults(), 30, "the sync round to meet the 404")
    wait_for(
        lambda: (s := find_state(key)) is not None and not s.outstanding and s.last_error is None,
        40,
        "the retried round to succeed",
    )
    assert connections(devhost, host.user_id)[0]["missingCalendars"] == []
    assert _missing_messages(host.user_id) == []


def test_a_deleted_link_calendar_is_flagged_told_once_and_healed_by_saving_the_link(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    """Issue 17's per-link calendars are chosen calendars too: a calendar only a link names (not
    the user's settings) deleted in Outlook is `calendar_missing` and told to the product once."""
    side = admin.add_calendar(host.email, "Side projects")
    monday, slug = next_monday(), new_slug()
    body = link_body([(host.user_id, "microsoft")])
    body["hosts"][0]["conflictCalendars"] = [host.ref(side["id"])]
    put_link(devhost, slug, body)
    assert len(slot_starts(devhost, slug, monday)[1]) == 8

    admin.delete_calendar(host.email, side["id"])
    for _ in range(2):  # the second answer meets the same 404: still one message
        answer, starts = slot_starts(devhost, slug, monday)
        assert starts == set() and answer["degradedHosts"] == [{"hostIndex": 0, "reason": "unavailable"}]

    [missing] = connections(devhost, host.user_id)[0]["missingCalendars"]
    assert missing["calendarId"] == side["id"] and missing["name"] == "Side projects"
    assert missing["checkForConflicts"] is True and missing["addBookings"] is False
    assert _host_status(devhost, slug, host.user_id) == [
        {"userId": host.user_id, "status": "calendar_missing"}
    ]
    [message] = _missing_messages(host.user_id)
    assert message.data["reason"] == "calendar_missing" and message.data["calendarId"] == side["id"]
    assert message.data["calendarName"] == "Side projects"
    assert message.data["usedFor"] == ["conflicts"] and message.data["links"] == [slug]

    # The link is saved with another calendar (checked against Outlook): the flag goes.
    body["hosts"][0]["conflictCalendars"] = [host.ref()]
    put_link(devhost, slug, body)
    assert connections(devhost, host.user_id)[0]["missingCalendars"] == []
    assert _host_status(devhost, slug, host.user_id) == [{"userId": host.user_id, "status": "connected"}]
    assert len(slot_starts(devhost, slug, monday)[1]) == 8
    assert len(_missing_messages(host.user_id)) == 1


def _unreadable(user_id: str) -> list[dict[str, str]]:
    settings = storage_account().table(CalendarSettingsRecord).find(user_id, "settings")
    assert settings is not None
    return list(settings.unreadable_calendars)


def _as_if_unreadable_since(user_id: str, minutes_ago: int) -> None:
    """Time passing: the stored episode started `minutes_ago` (the app's own memo of the settings
    forgets within its TTL)."""
    since = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()

    def backdate(record: CalendarSettingsRecord) -> CalendarSettingsRecord:
        record.unreadable_calendars = [{**u, "since": since} for u in record.unreadable_calendars]
        return record

    storage_account().table(CalendarSettingsRecord).mutate(user_id, "settings", backdate)
    time.sleep(host_view.TTL_S + 0.2)


def test_a_calendar_unreadable_for_long_is_told_once_per_episode_and_recovery_ends_it(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    """Issue 16: "a chosen calendar is gone or unreadable for long". Its sharing removed, Graph
    answers 403 ErrorAccessDenied on its calendarView: the host fails closed at once, and the
    product hears of it once the reads have kept failing for the threshold (60 minutes)."""
    slug, monday = new_slug(), next_monday()
    put_link(devhost, slug, link_body([(host.user_id, "microsoft")]))
    key = CalendarKey(host.user_id, host.connection_id, host.default_calendar_id)
    wait_for(lambda: (s := find_state(key)) and not s.outstanding, 30, "the connect's import")
    # Every read of the calendar is refused: availability's calendarView and sync's delta.
    denied = {"status": 403, "code": "ErrorAccessDenied", "account": host.email, "count": 1000}
    calendar_reads = "/v1.0/me/calendars/*/calendarview*"
    admin.add_fault("error", method="GET", path=calendar_reads, **denied)

    for _ in range(2):  # failing, but not for long yet: an episode starts, nobody is told
        answer, starts = slot_starts(devhost, slug, monday)
        assert starts == set() and answer["degradedHosts"] == [{"hostIndex": 0, "reason": "unavailable"}]
    [episode] = _unreadable(host.user_id)
    assert episode["calendarId"] == host.default_calendar_id and not episode.get("posted")
    assert _missing_messages(host.user_id) == []

    _as_if_unreadable_since(host.user_id, 59)
    slot_starts(devhost, slug, monday)
    assert _missing_messages(host.user_id) == []

    _as_if_unreadable_since(host.user_id, 61)
    for _ in range(3):  # past the threshold: told once, however many reads fail
        assert slot_starts(devhost, slug, monday)[1] == set()
    [message] = _missing_messages(host.user_id)
    assert message.message_id.startswith("calendar_unreadable.") and message.message_id.endswith(".1")
    assert message.data["reason"] == "calendar_unreadable"
    assert message.data["calendarId"] == host.default_calendar_id
    assert message.data["usedFor"] == ["conflicts", "bookings"] and message.data["links"] == []
    assert "token" not in json.dumps(message.data).lower()

    # Shared again: the next good read ends the episode.
    admin.clear_faults()
    answer, starts = slot_starts(devhost, slug, monday)
    assert len(starts) == 8 and answer["complete"] is True
    assert _unreadable(host.user_id) == []

    # A later episode is a new one, told again (once) under its own id.
    admin.add_fault("error", method="GET", path=calendar_reads, **denied)
    slot_starts(devhost, slug, monday)
    _as_if_unreadable_since(host.user_id, 61)
    slot_starts(devhost, slug, monday)
    slot_starts(devhost, slug, monday)
    messages = sorted(m.message_id for m in _missing_messages(host.user_id))
    assert len(messages) == 2 and messages[1].endswith(".2"), messages
