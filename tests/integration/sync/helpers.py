"""Shared steps of the sync integration tests: connect a mailbox through the app, wait for the
background work, and look at the busy cache and sync state as stored."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin, dt
from lib.adapters.storage import storage_account
from lib.features.sync.busy_cache import BusyIntervalRecord
from lib.features.sync.subscriptions import SubscriptionRecord
from lib.features.sync.sync_state import CalendarKey, CalendarSyncRecord, find_state
from tests.fixtures.sandbox import unique_email
from tests.integration.connect.helpers import BACKEND, connect, connections

T = TypeVar("T")


def wait_for(check: Callable[[], T | None], timeout: float = 20.0, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class Host:
    """A connected host: sandbox account, app user, connection and its default calendar."""

    def __init__(self, devhost: DevHost, admin: SandboxAdmin, http: requests.Session) -> None:
        self.email = unique_email("host")
        account = admin.add_account(self.email, time_zone="UTC")
        self.calendar_id = str(account["default_calendar_id"])
        self.account_id = str(account["id"])
        self.user_id = f"user-{uuid.uuid4().hex[:8]}"
        page = connect(devhost, http, self.user_id, account["id"])
        assert page.status_code == 200, page.text
        [conn] = connections(devhost, self.user_id)
        self.connection_id = str(conn["connectionId"])
        self.devhost = devhost
        self.admin = admin

    # --- stored state -----------------------------------------------------------------------------

    def state(self, calendar_id: str | None = None) -> CalendarSyncRecord | None:
        return find_state(CalendarKey(self.user_id, self.connection_id, calendar_id or self.calendar_id))

    def cached(self, calendar_id: str | None = None) -> dict[str, BusyIntervalRecord]:
        rows = (
            storage_account()
            .table(BusyIntervalRecord)
            .query(partition=(self.connection_id, calendar_id or self.calendar_id))
        )
        return {r.event_id: r for r in rows}

    def subscription(self, calendar_id: str | None = None) -> SubscriptionRecord | None:
        state = self.state(calendar_id)
        if state is None or state.subscription_id is None:
            return None
        return storage_account().table(SubscriptionRecord).find(state.subscription_id, "subscription")

    def synced(self, calendar_id: str | None = None) -> CalendarSyncRecord | None:
        """The state once a subscription exists and nothing is outstanding."""
        state = self.state(calendar_id)
        ok = (
            state is not None
            and state.subscription_id is not None
            and state.last_synced_at is not None
            and not state.outstanding
            and state.lease_owner is None
        )
        return state if ok else None

    def wait_synced(self, calendar_id: str | None = None, timeout: float = 30.0) -> CalendarSyncRecord:
        return wait_for(lambda: self.synced(calendar_id), timeout, "the calendar to be synced")

    # --- the mailbox, as Outlook would change it ------------------------------------------------------

    def add_event(self, start: datetime, minutes: int = 30, **fields: Any) -> str:
        event = self.admin.add_event(
            self.email,
            subject=fields.pop("subject", "Private subject"),
            start=dt(start.strftime("%Y-%m-%dT%H:%M:%S"), "UTC"),
            end=dt((start + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S"), "UTC"),
            **fields,
        )
        return str(event["id"])

    def move_event(self, event_id: str, start: datetime, minutes: int = 30) -> None:
        self.admin.update_event(
            self.email,
            event_id,
            start=dt(start.strftime("%Y-%m-%dT%H:%M:%S"), "UTC"),
            end=dt((start + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S"), "UTC"),
        )

    def graph_requests(self, fragment: str, method: str = "GET") -> list[dict[str, Any]]:
        """This mailbox's Graph requests whose path contains `fragment` (case-insensitive)."""
        return [
            e
            for e in self.admin.request_log()["entries"]
            if e.get("account") in (self.account_id, self.email)
            and e["method"] == method
            and fragment.lower() in e["path"].lower()
        ]

    def sandbox_subscriptions(self) -> list[dict[str, Any]]:
        return [
            s
            for s in self.admin.subscriptions()
            if s.get("account") == self.email and s.get("notificationUrl", "").startswith(self.devhost.url)
        ]


def in_days(days: int, hour: int = 10) -> datetime:
    base = datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    return base + timedelta(days=days)


def sync_now(devhost: DevHost, host: Host) -> requests.Response:
    return requests.post(
        f"{devhost.api_url}/users/{host.user_id}/connections/{host.connection_id}/sync",
        headers=BACKEND,
        timeout=10,
    )
