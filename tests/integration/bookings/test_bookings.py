"""Bookings through the dev host against the sandbox: the event in the mailbox, no double booking
under concurrency, idempotency, lost answers, Teams links, unwritable calendars, throttling,
reschedule and cancel with the manage token."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin, dt
from lib.adapters.storage import storage_account
from lib.features.bookings.records import BookingAuditRecord, BookingRecord, SlotLockRecord
from lib.features.connections.records import CalendarSettingsRecord
from lib.providers.microsoft.outlook_event import BOOKING_ID_PROPERTY
from tests.integration.availability.helpers import (
    Host,
    next_monday,
    slot_starts,
)

from .helpers import EVENTS_POST, at, book, booking_body, events, graph_calls, new_link


def _stored(booking_id: str) -> BookingRecord:
    return storage_account().table(BookingRecord).get(booking_id, "booking")


def test_a_booking_becomes_one_outlook_event_with_two_graph_requests(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    slug = new_link(devhost, (host.user_id, "microsoft"), location="Room 4", bufferAfterMinutes=15)
    monday = next_monday()
    since = time.time()

    r = book(
        devhost,
        slug,
        body=booking_body(
            at(monday, 10),
            name="Ada Lovelace",
            email="ada@example.com",
            timezone="Europe/Berlin",
            notes="About the engine",
        ),
    )

    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "confirmed" and body["startUtc"] == at(monday, 10)
    assert body["endUtc"] == at(monday, 11) and body["start"].endswith("+00:00")
    assert body["attendeeStart"].endswith(("+01:00", "+02:00")) and body["joinUrl"] is None
    assert body["warnings"] == []
    assert (
        body["manageUrl"] == f"{devhost.url}/api/book/manage/{body['bookingId']}#token={body['manageToken']}"
    )
    [event] = events(admin, host.email)
    assert event["subject"] == "Intro call with Ada Lovelace"
    assert event["attendees"][0]["emailAddress"]["address"] == "ada@example.com"
    assert event["transactionId"] == f"slotbridge-{body['bookingId']}"
    assert {"id": BOOKING_ID_PROPERTY, "value": body["bookingId"]} in event["singleValueExtendedProperties"]
    assert event["location"]["displayName"] == "Room 4"
    assert body["manageUrl"] in event["body"]["content"] and "About the engine" in event["body"]["content"]
    assert event["start"]["dateTime"].startswith(f"{monday}T10:00:00")

    stored = _stored(body["bookingId"])
    assert stored.event_id == event["id"] and stored.status.value == "confirmed"
    assert body["manageToken"] not in repr(stored.to_entity())  # only its SHA-256 is stored
    [entry] = storage_account().table(BookingAuditRecord).query(partition=body["bookingId"])
    assert (entry.operation, entry.outcome, entry.event_id) == ("create", "ok", event["id"])
    assert not any("subject" in k for k in entry.to_entity())

    calls = [c for c in graph_calls(admin, host.email, since) if "/delta" not in c["path"].lower()]
    booking_calls = [c["route"] for c in calls if "subscriptions" not in c["path"].lower()]
    assert booking_calls.count("POST /v1.0/$batch") == 1
    assert len([c for c in booking_calls if c.endswith("/events")]) == 1

    # The slot and the buffer after it are no longer offered.
    _, starts = slot_starts(devhost, slug, monday)
    assert f"{monday}T10:00" not in starts and f"{monday}T11:00" not in starts


def _statuses(responses: list[requests.Response]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for r in responses:
        counts[r.status_code] = counts.get(r.status_code, 0) + 1
    return counts


def test_fifty_concurrent_bookings_of_one_slot_make_exactly_one_event(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    slug = new_link(devhost, (host.user_id, "microsoft"))
    start = at(next_monday(), 14)
    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(
            pool.map(lambda n: book(devhost, slug, body=booking_body(start, name=f"A {n}")), range(50))
        )

    assert _statuses(responses) == {201: 1, 409: 49}, [r.text for r in responses if r.status_code >= 500]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"slot_unavailable"}
    assert all(
        r.headers["Content-Type"] == "application/problem+json" for r in responses if r.status_code == 409
    )
    assert len(events(admin, host.email)) == 1
    winner = next(r.json() for r in responses if r.status_code == 201)
    locks = list(storage_account().table(SlotLockRecord).query(partition=host.user_id))
    assert {lock.booking_id for lock in locks} == {winner["bookingId"]} and len(locks) == 12


def test_overlapping_slots_of_two_links_of_different_lengths_book_once(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    hour = new_link(devhost, (host.user_id, "microsoft"), duration=60)
    half = new_link(devhost, (host.user_id, "microsoft"), duration=30, slotStepMinutes=15)
    monday = next_monday()
    attempts = [(hour, at(monday, 10)), (half, at(monday, 10, 15)), (half, at(monday, 10, 30))] * 10

    with ThreadPoolExecutor(max_workers=30) as pool:
        responses = list(pool.map(lambda a: book(devhost, a[0], a[1]), attempts))

    assert _statuses(responses) == {201: 1, 409: 29}
    assert len(events(admin, host.email)) == 1
    # Next to it (not overlapping) is still bookable on the other link.
    won = next(r.json() for r in responses if r.status_code == 201)
    free = at(monday, 11) if won["endUtc"] == at(monday, 11) else at(monday, 9)
    assert book(devhost, half, free).status_code == 201
    assert len(events(admin, host.email)) == 2


def test_the_same_idempotency_key_answers_the_first_result(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    slug = new_link(devhost, (host.user_id, "microsoft"))
    body = booking_body(at(next_monday(), 9), email="same@example.com")

    first = book(devhost, slug, body=body, key="key-1")
    again = book(devhost, slug, body=dict(reversed(list(body.items()))), key="key-1")  # same JSON, reordered
    other = book(devhost, slug, body={**body, "notes": "different"}, key="key-1")

    assert first.status_code == 201 and again.status_code == 201, again.text
    assert again.json() == first.json()  # manage token included
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert len(events(admin, host.email)) == 1
    # A client error is the stored result too.
    bad = booking_body(at(next_monday(), 3))
    assert book(devhost, slug, body=bad, key="key-2").json()["code"] == "slot_unavailable"
    assert book(devhost, slug, body=bad, key="key-2").status_code == 409
    invalid = book(devhost, slug, body=body, key="k" * 256)
    assert invalid.status_code == 400 and invalid.json()["errors"][0]["field"] == "Idempotency-Key"


def test_a_result_stored_before_typed_results_still_replays(devhost: DevHost, host: Host) -> None:
    # A claim row exactly as the code before the typed booking view wrote it: the booking's answer
    # (every optional part present) without the manage token, which is sealed apart.
    from datetime import UTC, datetime

    from lib.adapters.keyvault import data_keys
    from lib.core.crypto import seal
    from lib.features.bookings.records import IdempotencyRecord, IdempotencyState
    from lib.features.bookings.validation import body_fingerprint

    slug = new_link(devhost, (host.user_id, "microsoft"))
    body = booking_body(at(next_monday(), 9), email="legacy@example.com")
    stored = {
        "bookingId": "0b7c1a52-6a51-4c39-9d1e-6f1c0b1f2a33",
        "slug": slug,
        "status": "confirmed",
        "startUtc": "2030-01-07T09:00:00Z",
        "endUtc": "2030-01-07T09:30:00Z",
        "start": "2030-01-07T10:00:00+01:00",
        "end": "2030-01-07T10:30:00+01:00",
        "timeZone": "Europe/Berlin",
        "joinUrl": None,
        "warnings": [{"code": "no_calendar_event", "message": "an old message"}],
        "attendeeTimeZone": "America/New_York",
        "attendeeStart": "2030-01-07T04:00:00-05:00",
        "attendeeEnd": "2030-01-07T04:30:00-05:00",
        "createdAt": "2030-01-01T08:00:00Z",
        "confirmedAt": "2030-01-01T08:00:01Z",
        "history": [{"at": "2030-01-01T09:00:00Z", "by": "attendee"}],
    }
    scope, key, now = f"link|{slug}", "legacy-key", datetime.now(UTC)
    storage_account().table(IdempotencyRecord).create(
        IdempotencyRecord(
            scope=scope,
            key=key,
            body_sha256=body_fingerprint(body),
            state=IdempotencyState.DONE,
            created_at=now,
            claimed_at=now,
            response_status=201,
            response_body=stored,
            sealed_manage_token=seal(
                b"legacy-token", data_keys().current(), f"idempotency|{scope}|{key}".encode()
            ),
        )
    )

    again = book(devhost, slug, body=body, key=key)

    assert again.status_code == 201, again.text
    answer = again.json()
    assert answer.pop("manageToken") == "legacy-token"
    assert answer.pop("manageUrl").endswith(f"/api/book/manage/{stored['bookingId']}#token=legacy-token")
    assert answer == stored


def test_a_concurrent_duplicate_is_told_the_request_is_in_progress(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    slug = new_link(devhost, (host.user_id, "microsoft"))
    body = booking_body(at(next_monday(), 15))
    admin.add_fault("latency", method="POST", path=EVENTS_POST, account=host.email, latency_ms=1500)
    with ThreadPoolExecutor(max_workers=2) as pool:
        slow = pool.submit(book, devhost, slug, None, body=body, key="dup")
        time.sleep(0.6)
        duplicate = book(devhost, slug, body=body, key="dup")
        first = slow.result()

    assert first.status_code == 201, first.text
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "request_in_progress"
    assert book(devhost, slug, body=body, key="dup").json() == first.json()
    assert len(events(admin, host.email)) == 1


def test_a_connection_reset_after_graph_created_the_event_still_makes_one_event(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    slug = new_link(devhost, (host.user_id, "microsoft"))
    admin.add_fault("reset_after_write", method="POST", path=EVENTS_POST, account=host.email)
    since = time.time()

    r = book(devhost, slug, at(next_monday(), 11))

    assert r.status_code == 201, r.text
    [event] = events(admin, host.email)
    assert _stored(r.json()["bookingId"]).event_id == event["id"]
    # The dropped answer is not in the sandbox's log; the re-send (same transactionId) is, and
    # Graph answered it with the event the first POST had created.
    posts = [c["status"] for c in graph_calls(admin, host.email, since) if c["route"].endswith("/events")]
    assert posts == [201]


def test_a_work_account_gets_a_teams_link_and_a_personal_one_a_warning(
    devhost: DevHost, admin: SandboxAdmin, host: Host, sandbox_http: requests.Session
) -> None:
    from tests.fixtures.sandbox import unique_email
    from tests.integration.availability.helpers import new_user
    from tests.integration.connect.helpers import connect

    slug = new_link(devhost, (host.user_id, "microsoft"), teamsMeeting=True)
    work = book(devhost, slug, at(next_monday(), 12))
    assert work.status_code == 201, work.text
    assert work.json()["joinUrl"].startswith("https://teams.microsoft.com/") and work.json()["warnings"] == []
    [event] = events(admin, host.email)
    assert event["isOnlineMeeting"] and event["onlineMeetingProvider"] == "teamsForBusiness"
    assert event["location"]["displayName"] == "Microsoft Teams Meeting"

    personal_email = unique_email("me", domain="outlook.com")
    account = admin.add_account(personal_email, kind="personal", time_zone="UTC")
    personal_user = new_user()
    assert connect(devhost, sandbox_http, personal_user, account["id"]).status_code == 200
    personal_slug = new_link(devhost, (personal_user, "microsoft"), teamsMeeting=True)
    personal = book(devhost, personal_slug, at(next_monday(), 12))
    assert personal.status_code == 201, personal.text
    assert personal.json()["joinUrl"] is None
    assert [w["code"] for w in personal.json()["warnings"]] == ["teams_unavailable_personal_account"]
    [plain] = events(admin, personal_email)
    assert not plain["isOnlineMeeting"]


def test_a_read_only_write_calendar_fails_cleanly_with_calendar_not_writable(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    shared = admin.add_calendar(
        host.email, "Boss", can_edit=False, owner_name="Big Boss", owner_address="boss@contoso.com"
    )

    def write_to_shared(current: CalendarSettingsRecord) -> CalendarSettingsRecord:
        current.write_calendar = host.ref(str(shared["id"]))
        return current

    storage_account().table(CalendarSettingsRecord).mutate(host.user_id, "settings", write_to_shared)
    slug = new_link(devhost, (host.user_id, "microsoft"))
    start = at(next_monday(), 13)

    first = book(devhost, slug, start)
    second = book(devhost, slug, start)  # the locks of the first were released

    for r in (first, second):
        assert r.status_code == 409 and r.json()["code"] == "calendar_not_writable", r.text
    assert events(admin, host.email) == []
    assert list(storage_account().table(SlotLockRecord).query(partition=host.user_id)) == []


def test_bookkeeping_failing_after_the_event_was_written_never_fails_the_booking(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    # Calendar health's bookkeeping after the write (is the write calendar flagged missing?) cannot
    # read the host's settings: here a flag entry it does not understand.
    def unreadable_flag(current: CalendarSettingsRecord) -> CalendarSettingsRecord:
        current.missing_calendars = [{"since": "2024-01-01T00:00:00+00:00"}]
        return current

    storage_account().table(CalendarSettingsRecord).mutate(host.user_id, "settings", unreadable_flag)
    slug = new_link(devhost, (host.user_id, "microsoft"))

    r = book(devhost, slug, at(next_monday(), 15))

    # The invitation went out, so the booking stands: confirmed, its event indexed, manageable.
    assert r.status_code == 201, r.text
    [event] = events(admin, host.email)
    stored = _stored(r.json()["bookingId"])
    assert (stored.status.value, stored.event_id) == ("confirmed", event["id"])


def test_a_throttled_create_is_retried_after_retry_after(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    slug = new_link(devhost, (host.user_id, "microsoft"))
    admin.add_fault("throttle", method="POST", path=EVENTS_POST, account=host.email, retry_after=1)
    since = time.time()
    started = time.monotonic()

    r = book(devhost, slug, at(next_monday(), 16))

    assert r.status_code == 201, r.text
    assert time.monotonic() - started >= 1.0
    posts = [c["status"] for c in graph_calls(admin, host.email, since) if c["route"].endswith("/events")]
    assert posts == [429, 201]
    assert len(events(admin, host.email)) == 1


def test_outlook_unreadable_fails_closed_and_releases_the_slot(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    slug = new_link(devhost, (host.user_id, "microsoft"))
    admin.add_fault("unavailable", path="/v1.0/me/calendars/*/calendarview", account=host.email, count=50)

    r = book(devhost, slug, at(next_monday(), 10))

    assert r.status_code == 503 and r.json()["code"] == "outlook_unavailable", r.text
    assert events(admin, host.email) == []
    admin.clear_faults()
    assert book(devhost, slug, at(next_monday(), 10)).status_code == 201


def test_a_busy_host_and_time_the_link_does_not_offer_are_slot_unavailable(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    slug = new_link(devhost, (host.user_id, "microsoft"), bufferBeforeMinutes=30)
    monday = next_monday()
    admin.add_event(
        host.email, subject="Dentist", start=dt(f"{monday}T09:00:00"), end=dt(f"{monday}T10:15:00")
    )
    for start in (
        at(monday, 10),
        at(monday, 10, 7),
        at(monday, 18),
        at(monday.replace(year=monday.year + 3), 10),
    ):
        r = book(devhost, slug, start)
        assert r.status_code == 409 and r.json()["code"] == "slot_unavailable", (start, r.text)
    assert book(devhost, slug, at(monday, 11)).status_code == 201


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"attendee": {"name": "A", "email": "not-an-email"}}, "attendee.email"),
        ({"attendee": {"name": "x" * 201, "email": "a@example.com"}}, "attendee.name"),
        ({"attendee": {"name": " ", "email": "a@example.com"}}, "attendee.name"),
        ({"notes": "n" * 2001}, "notes"),
        ({"start": "2030-01-07T10:00:00"}, "start"),
        ({"start": "tomorrow"}, "start"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"extra": 1}, "extra"),
    ],
)
def test_invalid_requests_are_400_problems(devhost: DevHost, change: dict[str, Any], field: str) -> None:
    body = {**booking_body("2030-01-07T10:00:00Z"), **change}
    r = book(devhost, "no-such-link-but-valid", body=body)
    # An unknown link is 404 before the body is looked at; use a real one for the body checks.
    assert r.status_code == 404
    slug = new_link(devhost, ("someone", "none"))
    r = book(devhost, slug, body=body)
    assert r.status_code == 400 and r.headers["Content-Type"] == "application/problem+json"
    assert field in {e["field"] for e in r.json()["errors"]}


def test_an_oversized_body_is_refused(devhost: DevHost) -> None:
    slug = new_link(devhost, ("someone", "none"))
    r = book(devhost, slug, body={**booking_body("2030-01-07T10:00:00Z"), "notes": "x" * 9000})
    assert r.status_code == 400 and r.json()["code"] == "validation_error"


def test_housekeeping_removes_idempotency_claims_past_their_day_and_keeps_current_ones(
    devhost: DevHost,
) -> None:
    from datetime import UTC, datetime, timedelta

    from lib.features.bookings.idempotency import RETENTION, sweep_expired
    from lib.features.bookings.records import IdempotencyRecord, IdempotencyState

    table = storage_account().table(IdempotencyRecord)
    now = datetime.now(UTC)
    scope = f"link|sweep-{time.time_ns()}"
    for key, age in (("old", RETENTION + timedelta(minutes=1)), ("current", timedelta(hours=1))):
        table.create(
            IdempotencyRecord(
                scope=scope, key=key, body_sha256="x", state=IdempotencyState.DONE, created_at=now - age
            )
        )
    assert sweep_expired() >= 1
    assert [r.key for r in table.query(partition=scope)] == ["current"]


# --- a retry after an unknown outcome ------------------------------------------------------------


def _host_bookings(host: Host) -> list[BookingRecord]:
    table = storage_account().table(BookingRecord)
    return list(table.query(where="host_user_id eq @h", parameters={"h": host.user_id}))


def _lose_every_answer(admin: SandboxAdmin, host: Host, *, post_lands: bool) -> None:
    """Graph keeps failing for this mailbox: event POSTs (made or not, answer lost) and the look-up
    by tag that would tell whether one was made."""
    admin.add_fault(
        "reset_after_write" if post_lands else "unavailable",
        method="POST",
        path=EVENTS_POST,
        account=host.email,
        count=1000,
    )
    admin.add_fault("unavailable", method="GET", path=EVENTS_POST, account=host.email, count=1000)


@pytest.mark.parametrize("post_lands", [True, False], ids=["event-made", "event-not-made"])
def test_a_retry_with_the_same_key_finishes_the_booking_whose_outcome_was_unknown(
    devhost: DevHost, admin: SandboxAdmin, host: Host, post_lands: bool
) -> None:
    slug = new_link(devhost, (host.user_id, "microsoft"))
    body = booking_body(at(next_monday(), 11))
    _lose_every_answer(admin, host, post_lands=post_lands)

    first = book(devhost, slug, body=body, key="lost-answer")
    assert first.status_code == 503 and first.json()["code"] == "outlook_unavailable", first.text
    [pending] = _host_bookings(host)
    assert pending.status.value == "pending"  # its slot stays locked: nobody else gets it
    # Graph still down: the retry cannot tell either, and says so again.
    assert book(devhost, slug, body=body, key="lost-answer").status_code == 503
    assert [b.status.value for b in _host_bookings(host)] == ["pending"]

    admin.clear_faults()
    retry = book(devhost, slug, body=body, key="lost-answer")

    assert retry.status_code == 201, retry.text
    assert retry.json()["bookingId"] == pending.booking_id  # that booking, not a second one
    [event] = events(admin, host.email)
    assert _stored(pending.booking_id).status.value == "confirmed"
    assert _stored(pending.booking_id).event_id == event["id"]
    assert book(devhost, slug, body=body, key="lost-answer").json() == retry.json()  # replayed
    # The booking answers to the token the retry handed out.
    token = retry.json()["manageToken"]
    got = requests.get(
        f"{devhost.api_url}/bookings/{pending.booking_id}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert got.status_code == 200 and got.json()["status"] == "confirmed"


def test_a_pool_does_not_invite_the_attendee_from_another_host_after_an_unknown_outcome(
    devhost: DevHost, admin: SandboxAdmin, host: Host, sandbox_http: requests.Session
) -> None:
    other = Host(devhost, admin, sandbox_http)
    slug = new_link(devhost, (host.user_id, "microsoft"), (other.user_id, "microsoft"))
    body = booking_body(at(next_monday(), 11))
    _lose_every_answer(admin, host, post_lands=True)  # the first host tried (index 0, never booked)

    first = book(devhost, slug, body=body, key="pool-lost")

    assert first.status_code == 503, first.text
    assert events(admin, other.email) == [] and _host_bookings(other) == []
    admin.clear_faults()
    retry = book(devhost, slug, body=body, key="pool-lost")
    assert retry.status_code == 201, retry.text
    assert len(events(admin, host.email)) == 1 and events(admin, other.email) == []


def _wait_until_slowed(admin: SandboxAdmin, timeout_s: float = 15) -> None:
    """Until the slow request has reached Graph (its one-shot latency fault is spent on arrival)."""
    deadline = time.monotonic() + timeout_s
    while admin.faults():
        assert time.monotonic() < deadline, "the slowed Graph request never came"
        time.sleep(0.05)


def _left_pending(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> tuple[str, dict[str, Any], BookingRecord]:
    """A booking left `pending` by an event write whose outcome Graph never told (key "race")."""
    slug = new_link(devhost, (host.user_id, "microsoft"))
    body = booking_body(at(next_monday(), 11))
    _lose_every_answer(admin, host, post_lands=False)
    assert book(devhost, slug, body=body, key="race").status_code == 503
    [pending] = _host_bookings(host)
    admin.clear_faults()
    return slug, body, pending


def test_the_reconciler_leaves_a_pending_booking_alone_while_a_retry_writes_its_event(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    from lib.features.bookings.release import release_stale_pending

    slug, body, pending = _left_pending(devhost, admin, host)
    # The retry's event write is slow; the reconciler's timer fires meanwhile.
    admin.add_fault("latency", method="POST", path=EVENTS_POST, account=host.email, latency_ms=3000, count=1)

    with ThreadPoolExecutor(1) as pool:
        retry = pool.submit(book, devhost, slug, body=body, key="race")
        _wait_until_slowed(admin)
        released = release_stale_pending(now=pending.created_at + timedelta(hours=1))
        answer = retry.result(timeout=60)

    assert released == 0
    assert answer.status_code == 201, answer.text
    assert answer.json()["bookingId"] == pending.booking_id
    [event] = events(admin, host.email)  # the invitation stands, and so does the booking
    stored = _stored(pending.booking_id)
    assert (stored.status.value, stored.event_id, stored.operation_until) == ("confirmed", event["id"], None)
    held = storage_account().table(SlotLockRecord).query(partition=host.user_id)
    assert {lock.booking_id for lock in held} == {pending.booking_id}  # nobody else gets its slot


def test_a_retry_while_the_reconciler_releases_the_booking_is_told_to_try_again_then_books_afresh(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    from lib.features.bookings.release import release_stale_pending

    slug, body, pending = _left_pending(devhost, admin, host)
    # The reconciler's look for an orphan event is slow; the client retries meanwhile.
    admin.add_fault("latency", method="GET", path=EVENTS_POST, account=host.email, latency_ms=3000, count=1)

    with ThreadPoolExecutor(1) as pool:
        releasing = pool.submit(release_stale_pending, now=pending.created_at + timedelta(hours=1))
        _wait_until_slowed(admin)
        during = book(devhost, slug, body=body, key="race")
        released = releasing.result(timeout=60)

    assert during.status_code == 503 and during.json()["code"] == "service_unavailable", during.text
    assert released == 1 and _stored(pending.booking_id).status.value == "failed"
    assert events(admin, host.email) == []
    again = book(devhost, slug, body=body, key="race")
    assert again.status_code == 201, again.text
    assert again.json()["bookingId"] != pending.booking_id
    [event] = events(admin, host.email)
    assert _stored(again.json()["bookingId"]).event_id == event["id"]


def test_a_retry_takes_back_cells_a_half_done_release_freed_before_writing_the_event(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    from lib.features.bookings import locks

    slug, body, pending = _left_pending(devhost, admin, host)
    # A release that deleted the cells, then failed before marking the booking.
    locks.release_span(host.user_id, pending.booking_id, pending.lock_start_utc, pending.lock_end_utc)

    retry = book(devhost, slug, body=body, key="race")

    assert retry.status_code == 201, retry.text
    assert len(events(admin, host.email)) == 1
    held = storage_account().table(SlotLockRecord).query(partition=host.user_id)
    assert {lock.booking_id for lock in held} == {pending.booking_id}
    assert book(devhost, slug, body=body, key="someone-else").json()["code"] == "slot_unavailable"


def test_a_retry_does_not_write_a_second_event_into_a_slot_taken_after_a_half_done_release(
    devhost: DevHost, admin: SandboxAdmin, host: Host
) -> None:
    from lib.features.bookings import locks

    slug, body, pending = _left_pending(devhost, admin, host)
    locks.release_span(host.user_id, pending.booking_id, pending.lock_start_utc, pending.lock_end_utc)
    # Someone else books the freed slot; their event is still on its way when the retry comes
    # (so the retry's live look at the calendar finds the time free).
    admin.add_fault("latency", method="POST", path=EVENTS_POST, account=host.email, latency_ms=3000, count=1)
    with ThreadPoolExecutor(1) as pool:
        other = pool.submit(book, devhost, slug, body=body, key="someone-else")
        _wait_until_slowed(admin)
        retry = book(devhost, slug, body=body, key="race")
        taken = other.result(timeout=60)

    assert taken.status_code == 201, taken.text
    assert retry.status_code == 409 and retry.json()["code"] == "slot_unavailable", retry.text
    [event] = events(admin, host.email)  # the other booking's: nobody is booked twice
    assert _stored(taken.json()["bookingId"]).event_id == event["id"]
    assert _stored(pending.booking_id).status.value == "failed"
