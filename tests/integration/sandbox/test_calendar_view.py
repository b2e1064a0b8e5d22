"""calendarView: window, expansion of series, time zones, $select, $top paging, delta, getSchedule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from devstack.sandbox.admin_client import SandboxAdmin, dt

from .conftest import GraphUser

pytestmark = pytest.mark.integration
PT = "Pacific Standard Time"
WINDOW = {"startDateTime": "2026-11-01T00:00:00Z", "endDateTime": "2026-12-01T00:00:00Z"}


def weekly(days: list[str], start: str, **rng: Any) -> dict[str, Any]:
    return {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": days, "firstDayOfWeek": "sunday"},
        "range": {"type": "numbered", "startDate": start, "numberOfOccurrences": 4, **rng},
    }


def view(user: GraphUser, path: str = "/me/calendarView", **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    r = user.call("GET", path, params={**WINDOW, **params}).json()
    items += r["value"]
    while "@odata.nextLink" in r:
        r = user.call("GET", r["@odata.nextLink"]).json()
        items += r["value"]
    return items


def test_window_is_required(user: GraphUser) -> None:
    r = user.call("GET", "/me/calendarView")
    assert r.status_code == 400 and r.json()["error"]["code"] == "ErrorInvalidParameter"
    assert user.call("GET", "/me/calendarView?startDateTime=2026-11-01T00:00:00Z").status_code == 400
    assert user.call("GET", "/me/calendarView", params={**WINDOW, "$top": "1001"}).status_code == 400


def test_expands_series_and_honours_time_zone(user: GraphUser, admin: SandboxAdmin) -> None:
    # Mondays 09:00 Pacific across the DST change on 2026-11-01: 17:00 UTC afterwards.
    master = admin.add_event(
        user.email,
        subject="Standup",
        start=dt("2026-10-26T09:00:00", PT),
        end=dt("2026-10-26T09:15:00", PT),
        recurrence=weekly(["monday"], "2026-10-26"),
    )
    admin.add_event(
        user.email,
        subject="Offsite",
        start=dt("2026-11-10T00:00:00", PT),
        end=dt("2026-11-12T00:00:00", PT),
        is_all_day=True,
        show_as="oof",
    )
    admin.add_event(
        user.email,
        subject="Focus",
        start=dt("2026-11-04T15:00:00"),
        end=dt("2026-11-04T16:00:00"),
        show_as="free",
    )
    items = view(user, **{"$top": "2"})
    standups = [i for i in items if i["subject"] == "Standup"]
    assert [s["start"]["dateTime"] for s in standups] == [
        "2026-11-02T17:00:00.0000000",
        "2026-11-09T17:00:00.0000000",
        "2026-11-16T17:00:00.0000000",
    ]
    assert all(s["type"] == "occurrence" and s["seriesMasterId"] == master["id"] for s in standups)
    assert all(s["start"]["timeZone"] == "UTC" for s in standups)
    assert len({s["id"] for s in standups}) == 3
    offsite = next(i for i in items if i["subject"] == "Offsite")
    assert offsite["isAllDay"] and offsite["showAs"] == "oof"
    assert offsite["start"]["dateTime"] == "2026-11-10T00:00:00.0000000"
    assert offsite["end"]["dateTime"] == "2026-11-12T00:00:00.0000000"
    local = user.call(
        "GET",
        "/me/calendarView",
        params={**WINDOW, "$top": "50"},
        headers={"Prefer": f'outlook.timezone="{PT}"'},
    )
    assert local.headers["Preference-Applied"] == f'outlook.timezone="{PT}"'
    first = next(i for i in local.json()["value"] if i["subject"] == "Standup")
    assert first["start"] == {"dateTime": "2026-11-02T09:00:00.0000000", "timeZone": PT}
    occ = user.call("GET", f"/me/events/{standups[0]['id']}").json()
    assert occ["type"] == "occurrence" and occ["seriesMasterId"] == master["id"]
    assert user.call("GET", f"/me/events/{master['id']}").json()["type"] == "seriesMaster"


def test_select_and_paging(user: GraphUser, admin: SandboxAdmin) -> None:
    for day in range(1, 6):
        admin.add_event(
            user.email,
            subject=f"E{day}",
            start=dt(f"2026-11-{day:02d}T10:00:00"),
            end=dt(f"2026-11-{day:02d}T11:00:00"),
        )
    first = user.call(
        "GET", "/me/calendarView", params={**WINDOW, "$top": "2", "$select": "subject,start,end,showAs"}
    )
    body = first.json()
    assert len(body["value"]) == 2 and body["@odata.nextLink"].startswith(
        user.sandbox.url + "/v1.0/me/calendarView?"
    )
    assert set(body["value"][0]) == {"@odata.etag", "id", "subject", "start", "end", "showAs"}
    assert [i["subject"] for i in view(user, **{"$top": "2"})] == ["E1", "E2", "E3", "E4", "E5"]


def test_calendar_specific_view_and_monthly_patterns(user: GraphUser, admin: SandboxAdmin) -> None:
    side = admin.add_calendar(user.email, "Side")
    admin.add_event(
        user.email,
        calendar_id=side["id"],
        subject="Board",
        start=dt("2026-09-08T10:00:00"),
        end=dt("2026-09-08T11:00:00"),
        recurrence={
            "pattern": {
                "type": "relativeMonthly",
                "interval": 1,
                "daysOfWeek": ["tuesday"],
                "index": "second",
            },
            "range": {"type": "noEnd", "startDate": "2026-09-08"},
        },
    )
    admin.add_event(
        user.email,
        calendar_id=side["id"],
        subject="Rent",
        start=dt("2026-01-15T08:00:00"),
        end=dt("2026-01-15T08:30:00"),
        recurrence={
            "pattern": {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 15},
            "range": {"type": "endDate", "startDate": "2026-01-15", "endDate": "2026-12-31"},
        },
    )
    items = view(user, f"/me/calendars/{side['id']}/calendarView", **{"$top": "100"})
    assert [(i["subject"], i["start"]["dateTime"][:10]) for i in items] == [
        ("Board", "2026-11-10"),
        ("Rent", "2026-11-15"),
    ]
    assert view(user) == []  # nothing in the default calendar


def test_delta_rounds_removed_and_sync_state_not_found(user: GraphUser, admin: SandboxAdmin) -> None:
    evs = [
        admin.add_event(
            user.email, subject=f"D{i}", start=dt(f"2026-11-0{i}T10:00:00"), end=dt(f"2026-11-0{i}T11:00:00")
        )
        for i in range(1, 4)
    ]
    headers = {"Prefer": "odata.maxpagesize=2"}
    r = user.call("GET", "/me/calendarView/delta", params=WINDOW, headers=headers)
    assert "odata.maxpagesize=2" in r.headers["Preference-Applied"]
    page = r.json()
    assert len(page["value"]) == 2 and "$skiptoken=" in page["@odata.nextLink"]
    page2 = user.call("GET", page["@odata.nextLink"], headers=headers).json()
    assert [e["subject"] for e in page["value"] + page2["value"]] == ["D1", "D2", "D3"]
    delta_link = page2["@odata.deltaLink"]
    assert "$deltatoken=" in delta_link
    assert user.call("GET", delta_link).json()["value"] == []
    admin.update_event(
        user.email,
        evs[0]["id"],
        subject="D1 moved",
        start=dt("2026-11-20T10:00:00"),
        end=dt("2026-11-20T11:00:00"),
    )
    admin.delete_event(user.email, evs[1]["id"])
    created = user.call(
        "POST",
        "/me/events",
        json={"subject": "D4", "start": dt("2026-11-21T10:00:00"), "end": dt("2026-11-21T11:00:00")},
    ).json()
    changes = user.call("GET", delta_link).json()
    by_id = {c["id"]: c for c in changes["value"]}
    assert by_id[evs[0]["id"]]["subject"] == "D1 moved"
    assert by_id[evs[1]["id"]] == {
        "@odata.type": "#microsoft.graph.event",
        "id": evs[1]["id"],
        "@removed": {"reason": "deleted"},
    }
    assert by_id[created["id"]]["subject"] == "D4"
    assert user.call("GET", changes["@odata.deltaLink"]).json()["value"] == []
    admin.invalidate_delta_tokens(user.email)
    gone = user.call("GET", changes["@odata.deltaLink"])
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "SyncStateNotFound"
    side = admin.add_calendar(user.email, "Side")
    per_cal = user.call("GET", f"/me/calendars/{side['id']}/calendarView/delta", params=WINDOW).json()
    assert per_cal["value"] == [] and "@odata.deltaLink" in per_cal


def test_get_schedule(make_user: Callable[..., GraphUser], admin: SandboxAdmin) -> None:
    u = make_user()
    other = admin.add_account(f"room-{u.email}")
    admin.add_event(
        other["email"], subject="Busy", start=dt("2026-11-02T09:00:00", PT), end=dt("2026-11-02T10:00:00", PT)
    )
    admin.add_event(
        other["email"],
        subject="Tentative",
        start=dt("2026-11-02T10:00:00", PT),
        end=dt("2026-11-02T10:30:00", PT),
        show_as="tentative",
    )
    body = {
        "schedules": [other["email"], "nobody@contoso.com"],
        "startTime": dt("2026-11-02T08:00:00", PT),
        "endTime": dt("2026-11-02T11:00:00", PT),
        "availabilityViewInterval": 60,
    }
    r = u.call("POST", "/me/calendar/getSchedule", json=body)
    assert r.status_code == 200, r.text
    found, missing = r.json()["value"]
    assert found["scheduleId"] == other["email"] and found["availabilityView"] == "021"
    assert [(i["status"], i["start"]) for i in found["scheduleItems"]] == [
        ("busy", {"dateTime": "2026-11-02T09:00:00.0000000", "timeZone": PT}),
        ("tentative", {"dateTime": "2026-11-02T10:00:00.0000000", "timeZone": PT}),
    ]
    assert missing["error"]["responseCode"] and missing["availabilityView"] == ""
    too_many = u.call("POST", "/me/calendar/getSchedule", json={**body, "schedules": ["a@b.c"] * 21})
    assert too_many.status_code == 400
    too_long = u.call(
        "POST", "/me/calendar/getSchedule", json={**body, "endTime": dt("2027-01-05T08:00:00", PT)}
    )
    assert too_long.status_code == 400
    personal = make_user(kind="personal").call("POST", "/me/calendar/getSchedule", json=body)
    assert personal.status_code == 400
