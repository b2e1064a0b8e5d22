"""events.watch / channels.stop with real push messages, and injected faults in Google's shapes."""

from __future__ import annotations

import time

import pytest
import requests

from devstack.google import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, GoogleStandIn
from devstack.google.admin_client import GoogleAdmin

from .conftest import GUser, PushReceiver

pytestmark = pytest.mark.integration

SLOT = {"start": {"dateTime": "2026-12-18T10:00:00Z"}, "end": {"dateTime": "2026-12-18T11:00:00Z"}}


def _watch(user: GUser, receiver: PushReceiver, channel_id: str, calendar: str = "primary") -> dict[str, str]:
    resp = user.call(
        "POST",
        f"/calendars/{calendar}/events/watch",
        json={"id": channel_id, "type": "web_hook", "address": receiver.url, "token": "tok-" + channel_id},
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def test_watch_sends_sync_then_exists_on_each_change_and_stop_ends_it(
    guser: GUser, google_admin: GoogleAdmin, push_receiver: PushReceiver
) -> None:
    channel = _watch(guser, push_receiver, "chan-1")
    assert channel["kind"] == "api#channel" and channel["id"] == "chan-1" and int(channel["expiration"]) > 0
    first = push_receiver.wait(1)[0]
    assert first["method"] == "POST" and first["body"] == b""
    h = first["headers"]
    assert h["X-Goog-Resource-State"] == "sync" and h["X-Goog-Message-Number"] == "1"
    assert h["X-Goog-Channel-Id"] == "chan-1" and h["X-Goog-Channel-Token"] == "tok-chan-1"
    assert h["X-Goog-Resource-Id"] == channel["resourceId"]

    created = guser.call("POST", "/calendars/primary/events", json=SLOT).json()  # through the API
    google_admin.update_event(guser.email, created["id"], summary="Moved in Google Calendar")  # by the user
    posts = push_receiver.wait(3)
    assert [p["headers"]["X-Goog-Resource-State"] for p in posts] == ["sync", "exists", "exists"]
    assert [p["headers"]["X-Goog-Message-Number"] for p in posts] == ["1", "2", "3"]

    dup = guser.call(
        "POST",
        "/calendars/primary/events/watch",
        json={"id": "chan-1", "type": "web_hook", "address": push_receiver.url},
    )
    assert dup.status_code == 400
    stopped = guser.call("POST", "/channels/stop", json={"id": "chan-1", "resourceId": channel["resourceId"]})
    assert stopped.status_code == 204
    google_admin.delete_event(guser.email, created["id"])
    time.sleep(0.5)
    assert len(push_receiver.posts) == 3
    assert (
        guser.call(
            "POST", "/channels/stop", json={"id": "chan-1", "resourceId": channel["resourceId"]}
        ).status_code
        == 404
    )


def test_deleted_calendar_sends_not_exists_and_expired_channels_stay_quiet(
    guser: GUser, google_admin: GoogleAdmin, push_receiver: PushReceiver
) -> None:
    team = google_admin.add_calendar(guser.email, "Team")
    _watch(guser, push_receiver, "chan-team", team["id"])
    _watch(guser, push_receiver, "chan-primary")
    push_receiver.wait(2)
    google_admin.expire_channel("chan-primary")
    google_admin.add_event(guser.email, summary="Nobody hears", **SLOT)
    google_admin.delete_calendar(team["id"])
    posts = push_receiver.wait(3)
    time.sleep(0.3)
    assert [p["headers"]["X-Goog-Resource-State"] for p in push_receiver.posts[2:]] == ["not_exists"]
    assert posts[2]["headers"]["X-Goog-Channel-Id"] == "chan-team"
    assert guser.call("GET", f"/calendars/{team['id']}/events").status_code == 404


def test_watch_refuses_plain_http_off_loopback(guser: GUser) -> None:
    resp = guser.call(
        "POST",
        "/calendars/primary/events/watch",
        json={"id": "c-http", "type": "web_hook", "address": "http://example.com/hook"},
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["errors"][0]["reason"] == "push.webhookUrlNotHttps"


def test_faults_answer_in_googles_error_shapes(
    guser: GUser, google: GoogleStandIn, google_admin: GoogleAdmin, google_http: requests.Session
) -> None:
    google_admin.clear_request_log()
    google_admin.add_fault(
        "error", path="/calendar/v3/calendars/*/events", status=403, code="rateLimitExceeded"
    )
    limited = guser.call("GET", "/calendars/primary/events")
    assert limited.status_code == 403
    assert limited.json()["error"]["errors"][0] == {
        "domain": "usageLimits",
        "reason": "rateLimitExceeded",
        "message": "Rate Limit Exceeded",
    }
    google_admin.add_fault("throttle", path="/calendar/v3/freeBusy", retry_after=2)
    throttled = guser.call(
        "POST", "/freeBusy", json={"timeMin": "2026-12-01T00:00:00Z", "timeMax": "2026-12-02T00:00:00Z"}
    )
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "2"
    assert throttled.json()["error"]["code"] == 429
    google_admin.add_fault(
        "error", path="/token", status=400, code="invalid_grant", message="Token has been expired or revoked."
    )
    token = google_http.post(
        f"{google.url}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": guser.token["refresh_token"],
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
        },
        timeout=10,
    )
    assert token.json() == {
        "error": "invalid_grant",
        "error_description": "Token has been expired or revoked.",
    }
    assert guser.call("GET", "/calendars/primary/events").status_code == 200  # faults are spent
    counts = google_admin.request_log()["counts"]
    assert counts["GET /calendar/v3/calendars/<calendar_id>/events"] == 2
    assert counts["POST /token"] == 1
