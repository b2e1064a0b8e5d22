"""Google watch channels cannot be renewed: the renewal timer (every 2 seconds here) opens a new
channel on the same calendar for one about to expire, and only then stops the old one. The
calendar's syncToken belongs to the calendar, not the channel, so sync carries on incrementally (no
full resync), pushes through the new channel are processed and the old channel's are not."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from devstack.funchost import DevHost
from devstack.google.admin_client import GoogleAdmin
from lib.adapters.storage import storage_account
from lib.features.sync.subscriptions import SubscriptionRecord
from tests.integration.google.test_google_sync import SyncedHost, _add, ghost, in_days  # noqa: F401
from tests.integration.sync.helpers import wait_for

pytestmark = pytest.mark.usefixtures("devhost")

WATCH = "POST /calendar/v3/calendars/<calendar_id>/events/watch"
STOP = "POST /calendar/v3/channels/stop"


@pytest.fixture(scope="module")
def app_env(app_env: dict[str, str]) -> dict[str, str]:
    return {
        **app_env,
        "SLOTBRIDGE_SUBSCRIPTION_RENEWAL_SCHEDULE": "*/2 * * * * *",
        "SLOTBRIDGE_SUBSCRIPTION_RENEWAL_WINDOW_MINUTES": "60",
    }


def _push(devhost: DevHost, channel: dict[str, Any]) -> None:
    """What Google would send on `channel` when the calendar changes (its real token)."""
    r = requests.post(
        f"{devhost.api_url}/google/notifications",
        headers={
            "X-Goog-Channel-ID": channel["id"],
            "X-Goog-Channel-Token": channel["token"],
            "X-Goog-Resource-ID": channel["resource_id"],
            "X-Goog-Resource-State": "exists",
            "X-Goog-Message-Number": "99",
        },
        timeout=10,
    )
    assert r.status_code == 200, r.text


def test_a_channel_about_to_expire_is_replaced_new_before_old_without_a_full_resync(
    devhost: DevHost,
    gadmin: GoogleAdmin,
    ghost: SyncedHost,  # noqa: F811
) -> None:
    state = ghost.wait_synced()
    old = storage_account().table(SubscriptionRecord).get(str(state.subscription_id), "subscription")
    gadmin.clear_request_log()
    old.expires_at = datetime.now(UTC) + timedelta(minutes=5)
    storage_account().table(SubscriptionRecord).update(old)

    renewed = wait_for(
        lambda: (s := ghost.synced()) and s.subscription_id != old.subscription_id and s,
        30.0,
        "a new channel for the calendar",
    )
    channel_id = old.subscription_id.partition("~")[0]
    new_id = str(renewed.subscription_id).partition("~")[0]
    wait_for(
        lambda: any(e["route"] == STOP for e in gadmin.request_log()["entries"]) or None,
        what="the old channel to be stopped",
    )
    channels = {c["id"]: c for c in gadmin.channels()}
    assert channels[channel_id]["active"] is False  # the old one was stopped
    assert channels[new_id]["active"] is True
    assert renewed.subscription_expires_at is not None
    assert renewed.subscription_expires_at > datetime.now(UTC) + timedelta(days=6)
    routes = [e["route"] for e in gadmin.request_log()["entries"] if e["account"] == ghost.email]
    # New before old: no moment without a live channel on the calendar.
    assert WATCH in routes and routes.index(WATCH) < routes.index(STOP), routes

    event_id = _add(gadmin, ghost, in_days(2))
    wait_for(lambda: event_id in ghost.cached() or None, what="a push through the new channel")
    settled = wait_for(ghost.synced, what="nothing outstanding")

    # The old channel's push, even with its real token, starts no sync round; the new one's does.
    _push(devhost, channels[channel_id])
    _push(devhost, channels[new_id])
    after = wait_for(
        lambda: (s := ghost.synced()) and s.pending_seq > settled.pending_seq and s,
        what="the new channel's push to be processed",
    )
    time.sleep(2.0)  # room for the old channel's push to be (wrongly) processed too
    assert ghost.state().pending_seq == after.pending_seq == settled.pending_seq + 1  # type: ignore[union-attr]

    # No full resync: every read of the calendar since the renewal went on from its syncToken.
    lists = [
        e
        for e in gadmin.request_log()["entries"]
        if e["method"] == "GET" and e["route"].endswith("/events") and e["account"] == ghost.email
    ]
    assert lists and all("syncToken" in e["params"] for e in lists), [e["params"] for e in lists]
    assert after.full_seq == state.full_seq
