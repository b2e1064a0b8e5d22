"""Google watch channels cannot be renewed: the renewal timer (every 2 seconds here) replaces a
channel about to expire with a new one on the same calendar and stops the old one, and the calendar
keeps syncing by push through the new channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devstack.funchost import DevHost
from devstack.google.admin_client import GoogleAdmin
from lib.adapters.storage import storage_account
from lib.features.sync.subscriptions import SubscriptionRecord
from tests.integration.google.test_google_sync import SyncedHost, _add, ghost, in_days  # noqa: F401
from tests.integration.sync.helpers import wait_for

pytestmark = pytest.mark.usefixtures("devhost")


@pytest.fixture(scope="module")
def app_env(app_env: dict[str, str]) -> dict[str, str]:
    return {
        **app_env,
        "SLOTBRIDGE_SUBSCRIPTION_RENEWAL_SCHEDULE": "*/2 * * * * *",
        "SLOTBRIDGE_SUBSCRIPTION_RENEWAL_WINDOW_MINUTES": "60",
    }


def test_a_channel_about_to_expire_is_replaced_by_a_new_one_and_stopped(
    devhost: DevHost,
    gadmin: GoogleAdmin,
    ghost: SyncedHost,  # noqa: F811
) -> None:
    state = ghost.wait_synced()
    old = storage_account().table(SubscriptionRecord).get(str(state.subscription_id), "subscription")
    old.expires_at = datetime.now(UTC) + timedelta(minutes=5)
    storage_account().table(SubscriptionRecord).update(old)

    renewed = wait_for(
        lambda: (s := ghost.synced()) and s.subscription_id != old.subscription_id and s,
        30.0,
        "a new channel for the calendar",
    )
    channel_id = old.subscription_id.partition("~")[0]
    channels = {c["id"]: c for c in gadmin.channels()}
    assert channels[channel_id]["active"] is False  # the old one was stopped
    assert channels[str(renewed.subscription_id).partition("~")[0]]["active"] is True
    assert renewed.subscription_expires_at is not None
    assert renewed.subscription_expires_at > datetime.now(UTC) + timedelta(days=6)
    event_id = _add(gadmin, ghost, in_days(2))
    wait_for(lambda: event_id in ghost.cached() or None, what="a push through the new channel")
