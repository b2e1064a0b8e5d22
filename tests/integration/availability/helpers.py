"""Hosts connected through the app, booking links through its API, availability as a page asks."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin, dt
from tests.fixtures.sandbox import unique_email
from tests.integration.connect.helpers import BACKEND, connect, connections

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def new_user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


def new_slug() -> str:
    return f"link-{uuid.uuid4().hex[:10]}"


def next_monday(weeks_ahead: int = 1) -> date:
    """A Monday at least a week away (clear of minimum notice and "today")."""
    today = datetime.now(UTC).date()
    return today + timedelta(days=(7 - today.weekday()) % 7 + 7 * weeks_ahead)


class Host:
    """A user with a connected Microsoft account in the sandbox."""

    def __init__(
        self, devhost: DevHost, admin: SandboxAdmin, http: requests.Session, time_zone: str = "UTC"
    ) -> None:
        self.user_id = new_user()
        self.email = unique_email("host")
        account = admin.add_account(self.email, time_zone=time_zone)
        self.default_calendar_id = str(account["default_calendar_id"])
        page = connect(devhost, http, self.user_id, account["id"])
        assert page.status_code == 200, page.text
        self.connection_id = str(connections(devhost, self.user_id)[0]["connectionId"])
        self._devhost = devhost

    def ref(self, calendar_id: str | None = None) -> dict[str, str]:
        return {"connectionId": self.connection_id, "calendarId": calendar_id or self.default_calendar_id}

    def set_conflict_calendars(self, *calendar_ids: str, blocking_show_as: list[str] | None = None) -> None:
        body = {
            "conflictCalendars": [self.ref(c) for c in calendar_ids],
            "writeCalendar": self.ref(),
            "blockingShowAs": blocking_show_as,
        }
        r = requests.put(
            f"{self._devhost.api_url}/users/{self.user_id}/calendar-settings",
            json=body,
            headers=BACKEND,
            timeout=30,
        )
        assert r.status_code == 200, r.text


def link_body(
    hosts: list[tuple[str, str]],
    *,
    time_zone: str = "UTC",
    hours: tuple[str, str] = ("09:00", "17:00"),
    days: tuple[str, ...] = WEEKDAYS[:5],
    duration: int = 60,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "title": "Intro call",
        "assignment": "roundRobin" if len(hosts) > 1 else "single",
        "hosts": [{"userId": user, "calendarProvider": provider} for user, provider in hosts],
        "durationMinutes": duration,
        "timeZone": time_zone,
        "weeklyHours": {day: [{"start": hours[0], "end": hours[1]}] for day in days},
        **extra,
    }


def put_link(devhost: DevHost, slug: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    r = requests.put(f"{devhost.api_url}/links/{slug}", json=body, headers=headers or BACKEND, timeout=30)
    assert r.status_code in (200, 201), r.text
    return r.json()


def availability(
    devhost: DevHost, slug: str, start: date, end: date | None = None, time_zone: str = "UTC"
) -> requests.Response:
    return requests.get(
        f"{devhost.api_url}/links/{slug}/availability",
        params={"start": start.isoformat(), "end": (end or start).isoformat(), "timezone": time_zone},
        timeout=60,
    )


def slot_starts(
    devhost: DevHost, slug: str, start: date, end: date | None = None, time_zone: str = "UTC"
) -> Any:
    """(answer JSON, set of UTC starts like "2026-06-15T10:00")."""
    r = availability(devhost, slug, start, end, time_zone)
    assert r.status_code == 200, r.text
    body = r.json()
    return body, {s["startUtc"][:16] for s in body["slots"]}


def add_daily_series(admin: SandboxAdmin, email: str, first: date, count: int, minutes: int = 10) -> None:
    """`count` daily series of `minutes`-long events from `first` on, before working hours
    (00:00, 00:15, 00:30, ...): busy time on every day that takes no offered slot away."""
    for i in range(count):
        start = datetime.combine(first, datetime.min.time()) + timedelta(minutes=15 * i)
        admin.add_event(
            email,
            subject=f"early {i}",
            start=dt(start.isoformat(timespec="seconds")),
            end=dt((start + timedelta(minutes=minutes)).isoformat(timespec="seconds")),
            recurrence={
                "pattern": {"type": "daily", "interval": 1},
                "range": {"type": "noEnd", "startDate": str(first)},
            },
        )
