"""Events to the product's webhook through the dev host, Azurite and the Microsoft sandbox: a
product test server verifies every delivery with the `standardwebhooks` package's verifier, gets
each event type once per change, sees the retries after its own 500s, and a delivery that failed
past its retries is listed and redelivered through the management routes.

The retry schedule is shortened to 1 s and 2 s (`SLOTBRIDGE_WEBHOOK_RETRY_DELAYS`): three attempts,
then `failed`; the default schedule's length is checked in tests/unit/outbox."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin
from lib.adapters.storage import storage_account
from lib.core.auth import issue_user_token
from lib.features.outbox import service as outbox
from lib.features.outbox.records import DeliveryStatus, OutboxRecord
from tests.fixtures.devhost import PRODUCT_ORIGIN, USER_TOKEN_KEY
from tests.fixtures.product_webhook import SECRET, ProductWebhook
from tests.fixtures.sandbox import unique_email
from tests.integration.availability.helpers import link_body, new_slug, next_monday, put_link, slot_starts
from tests.integration.connect.helpers import BACKEND, connect, connections
from tests.integration.sync.helpers import wait_for

DELIVERIES = "webhooks/deliveries"


@pytest.fixture(scope="module")
def product() -> Iterator[ProductWebhook]:
    hook = ProductWebhook()
    hook.server.start()
    yield hook
    hook.server.stop()


@pytest.fixture(scope="module")
def app_env(app_env: dict[str, str], product: ProductWebhook) -> dict[str, str]:
    return {
        **app_env,
        "SLOTBRIDGE_PRODUCT_WEBHOOK_URL": product.url,
        "SLOTBRIDGE_WEBHOOK_SIGNING_KEY": SECRET,
        "SLOTBRIDGE_WEBHOOK_RETRY_DELAYS": "1,2",
    }


class Account:
    """A sandbox account connected to a fresh user."""

    def __init__(self, devhost: DevHost, admin: SandboxAdmin, http: requests.Session) -> None:
        self.user_id = f"user-{uuid.uuid4().hex[:8]}"
        self.email = unique_email("host")
        made = admin.add_account(self.email)
        self.account_id, self.default_calendar_id = str(made["id"]), str(made["default_calendar_id"])
        self.devhost, self.http = devhost, http
        self.connect()
        self.connection_id = str(connections(devhost, self.user_id)[0]["connectionId"])

    def connect(self) -> None:
        page = connect(self.devhost, self.http, self.user_id, self.account_id)
        assert page.status_code == 200, page.text


def _api(devhost: DevHost, method: str, path: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("headers", BACKEND)
    return requests.request(method, f"{devhost.api_url}/{path}", timeout=30, **kwargs)


def _once(product: ProductWebhook, user_id: str, type_: str) -> dict[str, Any]:
    """The one accepted delivery of `type_` for the user (waits for it, then makes sure no second
    one follows)."""
    wait_for(lambda: product.accepted(user_id, type_), 30, f"{type_} for {user_id}")
    time.sleep(1.5)
    got = product.accepted(user_id, type_)
    assert len(got) == 1, got
    return got[0].event


def _row(user_id: str, message_id: str) -> OutboxRecord:
    return storage_account().table(OutboxRecord).get(user_id, message_id)


def test_each_connection_event_reaches_the_product_once_per_change_verified(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session, product: ProductWebhook
) -> None:
    account = Account(devhost, admin, sandbox_http)
    user, connection_id = account.user_id, account.connection_id

    connected = _once(product, user, "connection.connected")
    assert set(connected) == {"type", "timestamp", "data"}
    assert connected["data"]["connectionId"] == connection_id
    assert connected["data"]["email"] == account.email and connected["data"]["reconnected"] is False

    # Sync now: one sync.completed with the time the calendars were read.
    r = _api(devhost, "POST", f"users/{user}/connections/{connection_id}/sync")
    assert r.status_code == 202, r.text
    completed = _once(product, user, "sync.completed")["data"]
    assert completed["connectionId"] == connection_id and completed["calendars"] == 1
    assert datetime.fromisoformat(completed["lastSyncedAt"]) > datetime.now(UTC) - timedelta(minutes=1)

    # A broken grant: one needs_reconnect, with the product's settings page to send the host to.
    admin.revoke_grant(account.account_id, reason="expired")
    admin.expire_access_tokens(account.account_id)
    for _ in range(3):
        _api(devhost, "GET", f"users/{user}/calendars")
    broken = _once(product, user, "connection.needs_reconnect")["data"]
    assert broken["connectionId"] == connection_id
    assert broken["reconnectUrl"] == f"{PRODUCT_ORIGIN}/settings"

    # Reconnecting heals it (a second connection.connected); signing in again changes nothing.
    account.connect()
    wait_for(lambda: len(product.accepted(user, "connection.connected")) == 2, 30, "the reconnect event")
    account.connect()
    time.sleep(1.5)
    events = [d.event["data"] for d in product.accepted(user, "connection.connected")]
    assert [e["reconnected"] for e in events] == [False, True]

    r = _api(devhost, "DELETE", f"users/{user}/connections/{connection_id}")
    assert r.status_code == 204, r.text
    gone = _once(product, user, "connection.disconnected")["data"]
    assert gone["connectionId"] == connection_id

    # Every delivery verified with the product's secret, one webhook-id per event, no secrets.
    received = product.received(user)
    assert received and all(d.verified for d in received)
    assert len({d.webhook_id for d in received}) == len(received) == 5
    for delivery in received:
        text = str(delivery.event).lower()
        assert "token" not in text and "secret" not in text


def test_a_calendar_gone_in_outlook_is_one_calendar_unavailable_event(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session, product: ProductWebhook
) -> None:
    account = Account(devhost, admin, sandbox_http)
    rota = admin.add_calendar(account.email, "Team rota")
    body = {
        "conflictCalendars": [
            {"connectionId": account.connection_id, "calendarId": c}
            for c in (account.default_calendar_id, rota["id"])
        ],
        "writeCalendar": {"connectionId": account.connection_id, "calendarId": account.default_calendar_id},
    }
    assert _api(devhost, "PUT", f"users/{account.user_id}/calendar-settings", json=body).status_code == 200
    slug = new_slug()
    put_link(devhost, slug, link_body([(account.user_id, "microsoft")]))

    admin.delete_calendar(account.email, rota["id"])
    for _ in range(2):  # the second read meets the same 404: still one event
        slot_starts(devhost, slug, next_monday())
    data = _once(product, account.user_id, "calendar.unavailable")["data"]
    assert data["calendarId"] == rota["id"] and data["calendarName"] == "Team rota"
    assert data["reason"] == "calendar_missing" and data["usedFor"] == ["conflicts"]


def test_the_product_sees_retries_after_its_500s_under_one_webhook_id(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session, product: ProductWebhook
) -> None:
    user = f"user-{uuid.uuid4().hex[:8]}"
    product.fail_next(user, 2)
    account_id = admin.add_account(unique_email("host"))["id"]
    assert connect(devhost, sandbox_http, user, account_id).status_code == 200

    wait_for(lambda: product.accepted(user, "connection.connected"), 30, "the third attempt")
    attempts = product.received(user, "connection.connected")
    assert [d.status for d in attempts] == [500, 500, 204]
    assert len({d.webhook_id for d in attempts}) == 1 and all(d.verified for d in attempts)
    assert len({d.event["timestamp"] for d in attempts}) == 1  # the event's time, not the attempt's
    row = _row(user, attempts[0].webhook_id)
    assert row.status is DeliveryStatus.DELIVERED and row.attempts == 3 and row.last_error is None


def test_a_delivery_failed_past_its_retries_is_listed_and_redelivered(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session, product: ProductWebhook
) -> None:
    user = f"user-{uuid.uuid4().hex[:8]}"
    product.fail_next(user, 3)
    account_id = admin.add_account(unique_email("host"))["id"]
    assert connect(devhost, sandbox_http, user, account_id).status_code == 200
    wait_for(lambda: len(product.received(user)) == 3, 30, "three failed attempts")
    [message_id] = {d.webhook_id for d in product.received(user)}
    wait_for(lambda: _row(user, message_id).status is DeliveryStatus.FAILED, 10, "the row to be failed")
    time.sleep(2.5)
    assert len(product.received(user)) == 3  # given up: no fourth attempt

    listed = _api(devhost, "GET", DELIVERIES, params={"status": "failed"})
    assert listed.status_code == 200, listed.text
    [mine] = [d for d in listed.json()["deliveries"] if d["id"] == message_id]
    assert mine["status"] == "failed" and mine["attempts"] == 3 and mine["userId"] == user
    assert mine["lastError"] == "webhook answered 500" and mine["nextAttemptAt"] is None
    assert mine["type"] == "connection.connected" and mine["payload"]["data"]["userId"] == user

    r = _api(devhost, "POST", f"{DELIVERIES}/{message_id}/redeliver")
    assert r.status_code == 202 and r.json() == {"status": "queued", "count": 1}
    wait_for(lambda: product.accepted(user), 30, "the redelivery")
    assert product.accepted(user)[0].webhook_id == message_id
    wait_for(lambda: _row(user, message_id).status is DeliveryStatus.DELIVERED, 10, "the row delivered")
    after = _api(devhost, "GET", DELIVERIES).json()["deliveries"]
    assert message_id not in {d["id"] for d in after}


def test_redeliver_all_sends_every_failed_delivery_again(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session, product: ProductWebhook
) -> None:
    users = [f"user-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for user in users:
        product.fail_next(user, 3)
        account_id = admin.add_account(unique_email("host"))["id"]
        assert connect(devhost, sandbox_http, user, account_id).status_code == 200
    for user in users:
        [message_id] = wait_for(lambda u=user: {d.webhook_id for d in product.received(u)}, 30, "an attempt")
        wait_for(lambda u=user, m=message_id: _row(u, m).status is DeliveryStatus.FAILED, 30, "failed")

    r = _api(devhost, "POST", f"{DELIVERIES}/redeliver")
    assert r.status_code == 202 and r.json()["count"] >= 2
    for user in users:
        wait_for(lambda u=user: product.accepted(u), 30, "the redelivery")


def test_redelivering_a_pending_delivery_answers_that_nothing_was_queued(
    product: ProductWebhook, devhost: DevHost
) -> None:
    """A delivery still pending (retries to come) is already on its way: redelivering it queues
    nothing and says so (count 0), and it keeps its place in the retry schedule."""
    user, message_id = f"user-{uuid.uuid4().hex[:8]}", f"pending.{uuid.uuid4().hex}"
    later = datetime.now(UTC) + timedelta(hours=1)
    storage_account().table(OutboxRecord).create(
        OutboxRecord(
            user_id=user,
            message_id=message_id,
            type="connection.disconnected",
            data={"connectionId": "c-1", "email": "a@contoso.com", "disconnectedAt": later.isoformat()},
            created_at=datetime.now(UTC),
            attempts=1,
            next_attempt_at=later,
        )
    )
    r = _api(devhost, "POST", f"{DELIVERIES}/{message_id}/redeliver")
    assert r.status_code == 202 and r.json() == {"status": "queued", "count": 0}, r.text
    time.sleep(1.5)
    assert product.received(user) == []
    row = _row(user, message_id)
    assert row.status is DeliveryStatus.PENDING and row.attempts == 1 and row.next_attempt_at == later


def test_a_row_whose_enqueue_was_lost_still_goes_out(product: ProductWebhook, devhost: DevHost) -> None:
    """The outbox row is the record: a pending row with no queue message (its enqueue failed) is
    resent by the reconciliation timer's sweep."""
    user, message_id = f"user-{uuid.uuid4().hex[:8]}", f"lost.{uuid.uuid4().hex}"
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    storage_account().table(OutboxRecord).create(
        OutboxRecord(
            user_id=user,
            message_id=message_id,
            type="connection.disconnected",
            data={"connectionId": "c-1", "email": "a@contoso.com", "disconnectedAt": an_hour_ago.isoformat()},
            created_at=an_hour_ago,
            next_attempt_at=an_hour_ago,
        )
    )
    time.sleep(2)
    assert product.received(user) == []
    assert outbox.resend_overdue() >= 1
    [delivery] = wait_for(lambda: product.accepted(user), 30, "the resent delivery")
    assert delivery.webhook_id == message_id and delivery.verified


def test_the_management_routes_refuse_bad_input_and_user_tokens(devhost: DevHost) -> None:
    bad = _api(devhost, "GET", DELIVERIES, params={"status": "exploded"})
    assert bad.status_code == 400 and bad.headers["Content-Type"].startswith("application/problem+json")
    assert bad.json()["code"] == "validation_error" and bad.json()["errors"][0]["field"] == "status"
    # A filter the route does not offer is refused, never ignored (the answer would look filtered).
    for unknown in ({"type": "booking.created"}, {"userId": "user-x"}, {"status": "failed", "Status": "x"}):
        r = _api(devhost, "GET", DELIVERIES, params=unknown)
        assert r.status_code == 400 and r.json()["code"] == "validation_error", r.text
        assert [e["field"] for e in r.json()["errors"]] == [k for k in unknown if k != "status"], r.text

    for cursor in ("not-a-cursor", "sb1.local.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "x" * 5000):
        r = _api(devhost, "GET", DELIVERIES, params={"cursor": cursor})
        assert r.status_code == 400 and r.json()["errors"][0]["field"] == "cursor", r.text

    for unknown in ("no-such-delivery", "x" * 1500, "a%23b"):
        missing = _api(devhost, "POST", f"{DELIVERIES}/{unknown}/redeliver")
        assert missing.status_code == 404 and missing.json()["code"] == "not_found", missing.text

    token = {"Authorization": f"Bearer {issue_user_token(USER_TOKEN_KEY, 'user-x')}"}
    for method, path in (("GET", DELIVERIES), ("POST", f"{DELIVERIES}/redeliver")):
        r = _api(devhost, method, path, headers=token)
        assert r.status_code == 403 and r.json()["code"] == "unauthorized"
        assert _api(devhost, method, path, headers={}).status_code == 401


def test_failed_deliveries_page_with_a_cursor_that_cannot_be_edited(devhost: DevHost) -> None:
    user = f"user-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    table = storage_account().table(OutboxRecord)
    made = {f"paged.{uuid.uuid4().hex}" for _ in range(outbox.PAGE_SIZE + 5)}
    for message_id in made:
        table.create(
            OutboxRecord(
                user_id=user,
                message_id=message_id,
                type="sync.completed",
                created_at=now,
                status=DeliveryStatus.FAILED,
                attempts=3,
                last_error="webhook answered 500",
            )
        )
    seen: set[str] = set()
    cursor: str | None = None
    first_cursor: str | None = None
    pages = 0
    while True:
        r = _api(
            devhost, "GET", DELIVERIES, params={"status": "failed", **({"cursor": cursor} if cursor else {})}
        )
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["deliveries"]) <= outbox.PAGE_SIZE
        seen |= {d["id"] for d in page["deliveries"] if d["userId"] == user}
        pages += 1
        if not page["nextCursor"]:
            break
        first_cursor = first_cursor or page["nextCursor"]
        cursor = page["nextCursor"]
    assert seen == made and pages >= 2

    # A cursor edited by one character, or used for another listing, is refused.
    assert first_cursor is not None
    edited = first_cursor[:-2] + ("A" if first_cursor[-2] != "A" else "B") + first_cursor[-1]
    r = _api(devhost, "GET", DELIVERIES, params={"status": "failed", "cursor": edited})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "cursor"
    r = _api(devhost, "GET", DELIVERIES, params={"status": "pending", "cursor": first_cursor})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "cursor"
