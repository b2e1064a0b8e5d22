"""Demo data for `make run`: a host known to the sandbox with a week of ordinary calendar life, so
someone new can connect, pick calendars and book without setting anything up."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from devstack.sandbox.admin_client import SandboxAdmin, dt

DEMO_HOST_EMAIL = "alex.host@contoso.example"
DEMO_PERSONAL_EMAIL = "sam.personal@outlook.example"
DEMO_TIME_ZONE = "W. Europe Standard Time"


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
