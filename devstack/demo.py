"""Demo data for `make run`: a host known to the sandbox with a week of ordinary calendar life (and
a Google host known to the Google stand-in), a booking link for the demo user, a round-robin pool
mixing the Microsoft host, the Google host and a host without a calendar, and settings URLs with a
fresh user token, so someone new can connect, pick calendars and book without setting anything up."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests

from devstack.google.admin_client import GoogleAdmin
from devstack.sandbox.admin_client import SandboxAdmin, dt
from lib.core.auth import MAX_TOKEN_LIFETIME_S, issue_user_token

DEMO_HOST_EMAIL = "alex.host@contoso.example"
DEMO_PERSONAL_EMAIL = "sam.personal@outlook.example"
DEMO_TIME_ZONE = "W. Europe Standard Time"
DEMO_GOOGLE_HOST_EMAIL = "bo.host@gmail.example"
DEMO_GOOGLE_TIME_ZONE = "Europe/Berlin"
DEMO_USER_ID = "demo-host"  # the product's id of the demo host (who connects alex.host@contoso.example)
DEMO_GOOGLE_USER_ID = "demo-google-host"  # who connects bo.host@gmail.example
DEMO_NO_CALENDAR_USER_ID = "demo-no-calendar"  # weekly hours only (provider none)
DEMO_SLUG = "demo"
DEMO_POOL_SLUG = "demo-team"
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")


def _next_weekday(start: date, weekday: int) -> date:
    return start + timedelta(days=(weekday - start.weekday()) % 7)


def seed_demo(admin: SandboxAdmin, today: date | None = None) -> dict[str, str]:
    """Seed the demo accounts and their events; returns the account emails by role."""
    today = today or datetime.now(UTC).date()
    admin.add_account(DEMO_HOST_EMAIL, kind="work", display_name="Alex Host", time_zone=DEMO_TIME_ZONE)
    admin.add_account(
        DEMO_PERSONAL_EMAIL, kind="personal", display_name="Sam Personal", time_zone=DEMO_TIME_ZONE
    )
    admin.add_calendar(
        DEMO_HOST_EMAIL,
        "Team offsite",
        can_edit=False,
        owner_name="Team Lead",
        owner_address="lead@contoso.example",
    )
    monday = _next_weekday(today, 0)
    admin.add_event(
        DEMO_HOST_EMAIL,
        subject="Weekly planning",
        show_as="busy",
        start=dt(f"{monday}T09:00:00", DEMO_TIME_ZONE),
        end=dt(f"{monday}T10:00:00", DEMO_TIME_ZONE),
        recurrence={
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
            "range": {"type": "noEnd", "startDate": str(monday)},
        },
    )
    tuesday = monday + timedelta(days=1)
    admin.add_event(
        DEMO_HOST_EMAIL,
        subject="Lunch",
        show_as="free",
        start=dt(f"{tuesday}T12:00:00", DEMO_TIME_ZONE),
        end=dt(f"{tuesday}T13:00:00", DEMO_TIME_ZONE),
    )
    admin.add_event(
        DEMO_HOST_EMAIL,
        subject="Customer call",
        show_as="tentative",
        start=dt(f"{tuesday}T14:00:00", DEMO_TIME_ZONE),
        end=dt(f"{tuesday}T15:00:00", DEMO_TIME_ZONE),
    )
    friday = monday + timedelta(days=4)
    admin.add_event(
        DEMO_HOST_EMAIL,
        subject="Day off",
        show_as="oof",
        is_all_day=True,
        start=dt(f"{friday}T00:00:00", DEMO_TIME_ZONE),
        end=dt(f"{friday + timedelta(days=1)}T00:00:00", DEMO_TIME_ZONE),
    )
    return {"host": DEMO_HOST_EMAIL, "personal": DEMO_PERSONAL_EMAIL}


def seed_google_demo(admin: GoogleAdmin, today: date | None = None) -> str:
    """A Google host beside the Microsoft one: a weekly series, a free (transparent) block, an
    all-day event and a shared calendar it may only see free/busy of. Returns its address."""
    today = today or datetime.now(UTC).date()
    admin.add_user(DEMO_GOOGLE_HOST_EMAIL, name="Bo Host", time_zone=DEMO_GOOGLE_TIME_ZONE)
    team = admin.add_calendar(
        DEMO_GOOGLE_HOST_EMAIL, "Team rota", access_role="freeBusyReader", owner_email="lead@gmail.example"
    )
    monday = _next_weekday(today, 0)

    def at(day: date, hm: str) -> dict[str, str]:
        return {"dateTime": f"{day}T{hm}:00", "timeZone": DEMO_GOOGLE_TIME_ZONE}

    admin.add_event(
        DEMO_GOOGLE_HOST_EMAIL,
        summary="Weekly sync",
        start=at(monday, "10:00"),
        end=at(monday, "11:00"),
        recurrence=["RRULE:FREQ=WEEKLY;BYDAY=MO"],
    )
    wednesday = monday + timedelta(days=2)
    admin.add_event(
        DEMO_GOOGLE_HOST_EMAIL,
        summary="Focus time",
        transparency="transparent",
        start=at(wednesday, "09:00"),
        end=at(wednesday, "12:00"),
    )
    admin.add_event(team["id"], summary="On call", start=at(wednesday, "14:00"), end=at(wednesday, "16:00"))
    thursday = monday + timedelta(days=3)
    admin.add_event(
        DEMO_GOOGLE_HOST_EMAIL,
        summary="Conference",
        start={"date": str(thursday)},
        end={"date": str(thursday + timedelta(days=1))},
    )
    return DEMO_GOOGLE_HOST_EMAIL


def demo_link_body(user_id: str = DEMO_USER_ID) -> dict[str, Any]:
    """A half-hour Teams call with the demo host, weekdays 09:00-17:00 Berlin time."""
    return {
        "title": "Intro call with Alex",
        "assignment": "single",
        "hosts": [{"userId": user_id, "calendarProvider": "microsoft"}],
        "durationMinutes": 30,
        "timeZone": "Europe/Berlin",
        "weeklyHours": {day: [{"start": "09:00", "end": "17:00"}] for day in _WEEKDAYS},
        "teamsMeeting": True,
        "subjectTemplate": "{title} ({attendeeName})",
        "minimumNoticeMinutes": 60,
        "horizonDays": 60,
    }


def demo_pool_body() -> dict[str, Any]:
    """The demo link as a round-robin pool of the three kinds of host: Alex on Outlook, Bo on Google
    and one without a calendar (tried in that order while none has a booking; a video meeting is
    Teams for Alex and Meet for Bo)."""
    return {
        **demo_link_body(),
        "title": "Intro call with the team",
        "assignment": "roundRobin",
        "hosts": [
            {"userId": DEMO_USER_ID, "calendarProvider": "microsoft"},
            {"userId": DEMO_GOOGLE_USER_ID, "calendarProvider": "google"},
            {"userId": DEMO_NO_CALENDAR_USER_ID, "calendarProvider": "none"},
        ],
    }


def _put_link(api_url: str, api_key: str, slug: str, body: dict[str, Any]) -> str:
    """PUT a link through the app's own API (as the product backend); its booking page URL."""
    answer = requests.put(f"{api_url}/links/{slug}", json=body, headers={"X-Api-Key": api_key}, timeout=30)
    answer.raise_for_status()
    return f"{api_url}/book/{slug}"


def create_demo_link(api_url: str, api_key: str, slug: str = DEMO_SLUG, user_id: str = DEMO_USER_ID) -> str:
    """The demo link; its booking page URL."""
    return _put_link(api_url, api_key, slug, demo_link_body(user_id))


def create_demo_pool(api_url: str, api_key: str, slug: str = DEMO_POOL_SLUG) -> str:
    """The mixed demo pool; its booking page URL."""
    return _put_link(api_url, api_key, slug, demo_pool_body())


def settings_url(
    api_url: str, user_token_key: bytes, user_id: str = DEMO_USER_ID, ttl_s: int = MAX_TOKEN_LIFETIME_S
) -> str:
    """The settings page as the product opens it: a fresh user token in the URL fragment."""
    token = issue_user_token(user_token_key, user_id, ttl_s)
    return f"{api_url}/settings#token={quote(token, safe='')}"
