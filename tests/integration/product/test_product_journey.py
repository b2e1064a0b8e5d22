"""A product built on Slotbridge, end to end: through the dev host, the Microsoft sandbox and
Azurite, the product's webhook (tests/fixtures/product_webhook.py, which verifies every delivery
with the `standardwebhooks` package's verifier) hears each booking change exactly once - made on
the booking page or scheduled by the host, moved by the attendee, the host or the product, cancelled
by each of them or in Outlook, moved in Outlook - sees the retries after its own 500s, and never
receives a token, a manage link or anything of the host's events. An event whose post was lost is
posted by booking housekeeping.

The outbox's retry schedule is shortened to 1 s and 2 s (`SLOTBRIDGE_WEBHOOK_RETRY_DELAYS`)."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin, dt
from lib.adapters.storage import storage_account
from lib.core.auth import issue_user_token
from lib.features.bookings import housekeeping
from lib.features.outbox.records import OutboxRecord
from tests.fixtures.devhost import API_KEY, USER_TOKEN_KEY
from tests.fixtures.product_webhook import SECRET, Delivery, ProductWebhook
from tests.integration.availability.helpers import link_body, new_slug, next_monday, put_link
from tests.integration.bookings.helpers import at, book, booking_body, events, manage
from tests.integration.sync.helpers import Host, wait_for

pytestmark = pytest.mark.integration

PRODUCT = {"X-Api-Key": API_KEY}
# What the host has in Outlook besides the bookings: never to reach the product.
PRIVATE = ("Acquisition of Fabrikam", "Board only: do not share", "Dentist (private)")


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


def _as_host(user_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_user_token(USER_TOKEN_KEY, user_id)}"}


def _post(devhost: DevHost, path: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    r = requests.post(f"{devhost.api_url}/{path}", json=body, headers=headers, timeout=60)
    assert r.status_code in (200, 201), r.text
    answer: dict[str, Any] = r.json()
    return answer


def _change(delivery: Delivery) -> tuple[str, str, str | None]:
    data = delivery.event["data"]
    return delivery.event["type"], data["booking"]["bookingId"], data.get("by")


def _settle(product: ProductWebhook, user_id: str, count: int) -> list[Delivery]:
    """The user's accepted deliveries once there are `count`, and no more come."""
    wait_for(lambda: len(product.accepted(user_id)) >= count, 30, f"{count} deliveries")
    time.sleep(2)
    return product.accepted(user_id)


def test_the_product_hears_each_booking_change_once_verified_and_without_secrets(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session, product: ProductWebhook
) -> None:
    host = Host(devhost, admin, sandbox_http)
    host.wait_synced()
    slug = new_slug()
    put_link(devhost, slug, link_body([(host.user_id, "microsoft")]))
    monday = next_monday()
    tuesday = monday + timedelta(days=1)
    host.add_event(
        datetime.fromisoformat(at(tuesday, 16)),
        subject=PRIVATE[0],
        body={"contentType": "text", "content": PRIVATE[1]},
    )
    user = host.user_id
    tokens: list[str] = [issue_user_token(USER_TOKEN_KEY, user)]

    def page_booking(hour: int) -> str:
        r = book(devhost, slug, at(monday, hour))
        assert r.status_code == 201, r.text
        tokens.append(r.json()["manageToken"])
        return str(r.json()["bookingId"])

    # Made on the booking page, then moved by the attendee, the host and the product; cancelled
    # by the attendee.
    first = page_booking(9)
    attendee_token = tokens[-1]
    moved = manage(devhost, first, "reschedule", attendee_token, start=at(monday, 10))
    assert moved.status_code == 200, moved.text
    _post(
        devhost, f"bookings/{first}/reschedule", _as_host(user), {"start": at(monday, 11), "reason": "Clash"}
    )
    _post(
        devhost, f"bookings/{first}/reschedule", PRODUCT, {"start": at(monday, 12), "reason": "Plan change"}
    )
    assert manage(devhost, first, "cancel", attendee_token).status_code == 200
    # Cancelled by the product and by the host, with their reasons.
    second = page_booking(13)
    _post(devhost, f"bookings/{second}/cancel", PRODUCT, {"reason": "Refunded"})
    third = page_booking(14)
    _post(devhost, f"bookings/{third}/cancel", _as_host(user), {"reason": "Host is ill"})

    # A meeting the host schedules, with two attendees; then moved and deleted in Outlook.
    meeting_answer = _post(
        devhost,
        f"links/{slug}/meetings",
        _as_host(user),
        {
            "start": at(monday, 15),
            "attendees": [
                {"name": "Grace Hopper", "email": "grace@example.com"},
                {"name": "Alan Turing", "email": "alan@example.com"},
            ],
            "subject": "Quarterly review",
        },
    )
    meeting = str(meeting_answer["bookingId"])
    tokens.append(meeting_answer["manageToken"])
    [event] = [e for e in events(admin, host.email) if e["subject"] == "Quarterly review"]
    wait_for(lambda: event["id"] in host.cached(), what="the meeting's event in the busy cache")
    admin.update_event(
        host.email,
        event["id"],
        start=dt(f"{monday}T16:00:00"),
        end=dt(f"{monday}T17:00:00"),
        subject=PRIVATE[2],
    )
    wait_for(lambda: product.accepted(user, "booking.moved_in_outlook"), 30, "the move in Outlook")
    admin.delete_event(host.email, event["id"])

    expected = [
        ("booking.created", first, None),
        ("booking.rescheduled", first, "attendee"),
        ("booking.rescheduled", first, "host"),
        ("booking.rescheduled", first, "product"),
        ("booking.cancelled", first, "attendee"),
        ("booking.created", second, None),
        ("booking.cancelled", second, "product"),
        ("booking.created", third, None),
        ("booking.cancelled", third, "host"),
        ("booking.created", meeting, None),
        ("booking.moved_in_outlook", meeting, "outlook"),
        ("booking.cancelled", meeting, "outlook"),
    ]
    got = _settle(product, user, len(expected) + 1)  # + connection.connected
    booking_deliveries = [d for d in got if d.event["type"].startswith("booking.")]
    assert Counter(map(_change, booking_deliveries)) == Counter(expected)
    assert len({d.webhook_id for d in booking_deliveries}) == len(expected)

    by_change = {_change(d): d.event["data"] for d in booking_deliveries}
    assert by_change[("booking.rescheduled", first, "host")]["reason"] == "Clash"
    assert by_change[("booking.rescheduled", first, "product")]["previous"] == {
        "startUtc": at(monday, 11),
        "endUtc": at(monday, 12),
    }
    assert by_change[("booking.cancelled", second, "product")]["reason"] == "Refunded"
    assert by_change[("booking.cancelled", third, "host")]["booking"]["cancelReason"] == "Host is ill"
    made = by_change[("booking.created", meeting, None)]["booking"]
    assert made["createdBy"] == "host" and [g["name"] for g in made["guests"]] == ["Alan Turing"]
    assert by_change[("booking.moved_in_outlook", meeting, "outlook")]["booking"]["startUtc"] == at(
        monday, 16
    )
    assert by_change[("booking.cancelled", meeting, "outlook")]["booking"]["status"] == "cancelled_in_outlook"

    # Every delivery verified; no body carries a token, a manage link or the host's own events.
    received = product.received(user)
    assert received and all(d.verified for d in received)
    for delivery in received:
        raw = delivery.body.decode()
        assert "token" not in raw.lower() and "/book/manage" not in raw, raw
        assert not [t for t in tokens if t in raw], raw
        assert not [p for p in PRIVATE if p in raw], raw


def test_the_product_sees_retries_after_its_500s_for_a_booking_event(
    devhost: DevHost, product: ProductWebhook
) -> None:
    user = f"hours-only-{uuid.uuid4().hex[:8]}"
    slug = new_slug()
    put_link(devhost, slug, link_body([(user, "none")]))
    product.fail_next(user, 2)

    r = book(devhost, slug, at(next_monday(), 10))

    assert r.status_code == 201, r.text
    wait_for(lambda: product.accepted(user, "booking.created"), 30, "the third attempt")
    attempts = product.received(user, "booking.created")
    assert [d.status for d in attempts] == [500, 500, 204]
    assert {d.webhook_id for d in attempts} == {f"booking_created.{r.json()['bookingId']}"}
    assert all(d.verified for d in attempts) and len({d.body for d in attempts}) == 1


def test_booking_events_whose_post_was_lost_are_posted_by_housekeeping(
    devhost: DevHost, product: ProductWebhook
) -> None:
    """The outbox table is gone while a booking is made, moved and cancelled (a real storage
    failure: Azurite answers 404): each change stands and is answered as usual, and the next
    housekeeping round posts each event, once."""
    user = f"hours-only-{uuid.uuid4().hex[:8]}"
    slug = new_slug()
    put_link(devhost, slug, link_body([(user, "none")]))
    monday = next_monday()
    account = storage_account()
    outbox_table = account.table_name(OutboxRecord)
    account.table(OutboxRecord).find(user, "none")  # made and known made, so it is not made again
    account.table_service.delete_table(outbox_table)
    try:
        made = book(devhost, slug, body=booking_body(at(monday, 11)))
        assert made.status_code == 201, made.text
        booking_id = made.json()["bookingId"]
        moved = _post(devhost, f"bookings/{booking_id}/reschedule", PRODUCT, {"start": at(monday, 12)})
        gone = _post(devhost, f"bookings/{booking_id}/cancel", PRODUCT, {"reason": "Refunded"})
    finally:
        account.table_service.create_table_if_not_exists(outbox_table)
    assert moved["startUtc"] == at(monday, 12) and gone["status"] == "cancelled"
    time.sleep(1.5)
    assert product.received(user) == []  # lost

    housekeeping.run()

    got = _settle(product, user, 3)
    assert all(d.verified for d in got)
    assert Counter(map(_change, got)) == Counter(
        [
            ("booking.created", booking_id, None),
            ("booking.rescheduled", booking_id, "product"),
            ("booking.cancelled", booking_id, "product"),
        ]
    )
    [rescheduled] = [d.event["data"] for d in got if d.event["type"] == "booking.rescheduled"]
    assert rescheduled["previous"] == {"startUtc": at(monday, 11), "endUtc": at(monday, 12)}
    assert {d.webhook_id for d in got} == {
        f"booking_created.{booking_id}",
        f"booking_rescheduled.{booking_id}.1",
        f"booking_cancelled.{booking_id}",
    }
    housekeeping.run()  # each once: a second round posts nothing
    assert len(_settle(product, user, 3)) == 3
