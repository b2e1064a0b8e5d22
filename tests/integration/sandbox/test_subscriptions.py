"""Subscriptions: handshake, limits, renew/delete, notifications delivered and redelivered,
lifecycle notifications, dropped notifications."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import pytest

from devstack.sandbox.admin_client import SandboxAdmin, dt

from .conftest import GraphUser
from .receiver import Receiver

pytestmark = pytest.mark.integration
SUBSCRIPTION_FIELDS = {
    "id",
    "resource",
    "applicationId",
    "changeType",
    "clientState",
    "notificationUrl",
    "lifecycleNotificationUrl",
    "expirationDateTime",
    "creatorId",
    "latestSupportedTlsVersion",
    "includeResourceData",
}


def expiry(minutes: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def subscribe(user: GraphUser, receiver: Receiver, **extra: Any) -> Any:
    body = {
        "changeType": "created,updated,deleted",
        "notificationUrl": f"{receiver.url}/api/graph/notifications",
        "lifecycleNotificationUrl": f"{receiver.url}/api/graph/lifecycle",
        "resource": f"me/calendars/{user.account['default_calendar_id']}/events",
        "expirationDateTime": expiry(4000),
        "clientState": "secret-client-state",
        **extra,
    }
    return user.call("POST", "/subscriptions", json=body)


def test_create_runs_handshake_and_returns_subscription(
    user: GraphUser, receiver_factory: Callable[..., Receiver]
) -> None:
    rec = receiver_factory()
    r = subscribe(user, rec)
    assert r.status_code == 201, r.text
    sub = r.json()
    assert sub.keys() >= SUBSCRIPTION_FIELDS
    assert sub["changeType"] == "created,updated,deleted" and sub["clientState"] == "secret-client-state"
    assert sub["expirationDateTime"].endswith("Z")
    assert len(rec.validations) == 2  # notification URL and lifecycle URL
    assert unquote(rec.validations[0]).startswith("Validation: Testing client application reachability")
    listed = user.call("GET", "/subscriptions").json()["value"]
    assert [s["id"] for s in listed] == [sub["id"]]
    assert user.call("GET", f"/subscriptions/{sub['id']}").json()["id"] == sub["id"]
    renewed = user.call("PATCH", f"/subscriptions/{sub['id']}", json={"expirationDateTime": expiry(10000)})
    assert renewed.status_code == 200 and renewed.json()["expirationDateTime"] != sub["expirationDateTime"]
    assert user.call("DELETE", f"/subscriptions/{sub['id']}").status_code == 204
    gone = user.call("PATCH", f"/subscriptions/{sub['id']}", json={"expirationDateTime": expiry(100)})
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "ResourceNotFound"


@pytest.mark.parametrize("handshake", ["wrong", "error", "json"])
def test_failed_handshake_refuses(
    user: GraphUser, receiver_factory: Callable[..., Receiver], handshake: str
) -> None:
    r = subscribe(user, receiver_factory(handshake=handshake))
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "ValidationError"
    assert "Notification endpoint must respond with 200 OK" in r.json()["error"]["message"]
    assert user.call("GET", "/subscriptions").json()["value"] == []


def test_limits(user: GraphUser, receiver_factory: Callable[..., Receiver]) -> None:
    rec = receiver_factory()
    too_long = subscribe(user, rec, expirationDateTime=expiry(10081))
    assert too_long.status_code == 400 and "10080 minutes" in too_long.json()["error"]["message"]
    assert subscribe(user, rec, expirationDateTime=expiry(-5)).status_code == 400
    assert subscribe(user, rec, clientState="x" * 129).status_code == 400
    assert subscribe(user, rec, changeType="moved").status_code == 400
    assert subscribe(user, rec, notificationUrl="http://example.com/hook").status_code == 400
    assert subscribe(user, rec, resource="me/messages").status_code == 400
    assert subscribe(user, rec, clientState="x" * 128, expirationDateTime=expiry(10079)).status_code == 201
    assert rec.validations  # only the valid one reached the receiver


def test_notifications_delivered_and_redelivered(
    user: GraphUser, admin: SandboxAdmin, receiver_factory: Callable[..., Receiver]
) -> None:
    rec = receiver_factory(statuses=[500])
    sub = subscribe(user, rec).json()
    ev = user.call(
        "POST",
        "/me/events",
        json={"subject": "booked", "start": dt("2026-11-05T10:00:00"), "end": dt("2026-11-05T11:00:00")},
    ).json()
    posts = rec.wait(2)  # the first answer was 500, so it came again
    assert posts[0]["body"] == posts[1]["body"]
    (item,) = posts[1]["body"]["value"]
    assert item == {
        "subscriptionId": sub["id"],
        "subscriptionExpirationDateTime": sub["expirationDateTime"],
        "changeType": "created",
        "resource": f"Users/{user.account['graph_id']}/Events/{ev['id']}",
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.Event",
            "@odata.id": f"Users/{user.account['graph_id']}/Events/{ev['id']}",
            "@odata.etag": f'W/"{ev["changeKey"]}"',
            "id": ev["id"],
        },
        "clientState": "secret-client-state",
        "tenantId": user.sandbox.app.config.tenant_id,
    }
    admin.update_event(user.email, ev["id"], subject="moved in Outlook")
    admin.delete_event(user.email, ev["id"])
    rec.wait(4)
    assert [n["changeType"] for n in rec.notifications()] == ["created", "created", "updated", "deleted"]
    deliveries = admin.notifications()
    # The sandbox is shared by the session: other tests' deliveries (lifecycle ones carry no
    # resourceData) are in the list too.
    first = next(
        d for d in deliveries if d["payload"]["value"][0].get("resourceData", {}).get("id") == ev["id"]
    )
    assert first["status"] == "delivered" and [a["status"] for a in first["attempts"]] == [500, 202]


def test_slow_receiver_is_retried(
    user: GraphUser, admin: SandboxAdmin, receiver_factory: Callable[..., Receiver]
) -> None:
    rec = receiver_factory(delay=0.6)
    subscribe(user, rec)
    admin.settings(notification_timeout=0.3)
    try:
        admin.add_event(
            user.email, subject="slow", start=dt("2026-11-06T10:00:00"), end=dt("2026-11-06T11:00:00")
        )
        rec.wait(2)
    finally:
        admin.settings(notification_timeout=3.0)


def test_dropped_notifications_and_lifecycle_events(
    user: GraphUser, admin: SandboxAdmin, receiver_factory: Callable[..., Receiver]
) -> None:
    rec = receiver_factory()
    sub = subscribe(user, rec).json()
    admin.drop_notifications(1)
    admin.add_event(
        user.email, subject="dropped", start=dt("2026-11-07T10:00:00"), end=dt("2026-11-07T11:00:00")
    )
    admin.add_event(
        user.email, subject="kept", start=dt("2026-11-07T12:00:00"), end=dt("2026-11-07T13:00:00")
    )
    rec.wait(1)
    admin.send_lifecycle(sub["id"], "missed")
    admin.send_lifecycle(sub["id"], "reauthorizationRequired")
    admin.remove_subscription(sub["id"])
    posts = rec.wait(4)
    lifecycle = [p["body"]["value"][0] for p in posts if p["path"] == "/api/graph/lifecycle"]
    assert sorted(item["lifecycleEvent"] for item in lifecycle) == [
        "missed",
        "reauthorizationRequired",
        "subscriptionRemoved",
    ]
    assert set(lifecycle[0]) == {
        "subscriptionId",
        "subscriptionExpirationDateTime",
        "tenantId",
        "clientState",
        "lifecycleEvent",
    }
    assert len([p for p in posts if p["path"] == "/api/graph/notifications"]) == 1
    assert any(d["status"] == "dropped" for d in admin.notifications())
    assert user.call("GET", f"/subscriptions/{sub['id']}").status_code == 404
