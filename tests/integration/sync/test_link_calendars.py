"""A calendar only a link names (a host entry's `conflictCalendars`, not the user's calendar
settings) is synced like the settings' calendars: subscribed and kept in the busy cache, so cached
availability reads nothing from Graph for it; and it is dropped when no link names it any more."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin
from tests.integration.availability.helpers import link_body, new_slug, next_monday, put_link, slot_starts
from tests.integration.connect.helpers import BACKEND

from .helpers import Host, wait_for


@pytest.fixture(scope="module")
def app_env(app_env: dict[str, str]) -> dict[str, str]:
    return {**app_env, "SLOTBRIDGE_AVAILABILITY_SOURCE": "cached"}


def _own_calendars(host: Host, *calendar_ids: str) -> dict[str, Any]:
    body = link_body([(host.user_id, "microsoft")])
    body["hosts"][0]["conflictCalendars"] = [
        {"connectionId": host.connection_id, "calendarId": c} for c in calendar_ids
    ]
    return body


def _sandbox_subscription_ids(host: Host) -> set[str]:
    return {str(s["id"]) for s in host.sandbox_subscriptions()}


def test_a_link_only_calendar_is_synced_blocks_its_link_from_the_cache_and_is_dropped_with_it(
    devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session
) -> None:
    host = Host(devhost, admin, sandbox_http)
    host.wait_synced()  # the user's settings: the default calendar
    side = admin.add_calendar(host.email, "Side projects")["id"]
    monday = next_monday()
    noon = datetime(monday.year, monday.month, monday.day, 12, tzinfo=UTC)
    event_id = host.add_event(noon, minutes=60, calendar_id=side)
    own, other = new_slug(), new_slug()
    put_link(devhost, own, _own_calendars(host, side))
    put_link(devhost, other, _own_calendars(host, side))  # two links name it

    # Saving the link subscribed and imported its calendar, which the settings do not name.
    state = host.wait_synced(side)
    assert state.subscription_id in _sandbox_subscription_ids(host)
    assert set(host.cached(side)) == {event_id}

    # Cached availability answers for it with no Graph read: busy there blocks that link.
    wait_for(lambda: host.synced() and host.synced(side), what="nothing outstanding")
    admin.clear_request_log()
    body, starts = slot_starts(devhost, own, monday)
    assert body["complete"] is True
    assert noon.strftime("%Y-%m-%dT%H:%M") not in starts
    assert (noon - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M") in starts
    assert host.graph_requests("/") == []

    # One of the two links deleted: the other still names it, so it stays synced (a change in
    # Outlook still reaches the cache).
    r = requests.delete(f"{devhost.api_url}/links/{other}", headers=BACKEND, timeout=30)
    assert r.status_code == 204, r.text
    later = host.add_event(noon + timedelta(hours=2), minutes=60, calendar_id=side)
    wait_for(lambda: later in host.cached(side), what="the change in the cache")
    time.sleep(2)  # the delete's sync request has long run by now
    assert host.synced(side) is not None and state.subscription_id in _sandbox_subscription_ids(host)

    # Nothing names it now: its subscription, sync state and cached rows go; the settings' stay.
    put_link(devhost, own, link_body([(host.user_id, "microsoft")]))  # back to the user's settings
    wait_for(lambda: host.state(side) is None, what="the link calendar's sync state to go")
    wait_for(
        lambda: state.subscription_id not in _sandbox_subscription_ids(host), what="its subscription to go"
    )
    assert host.cached(side) == {}
    host.wait_synced()  # the settings' calendar is still followed
    assert host.subscription() is not None
