"""calendarList and events as the Calendar API v3 reference documents them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from devstack.google.admin_client import GoogleAdmin

from .conftest import GUser

pytestmark = pytest.mark.integration

LA = "America/Los_Angeles"
WINDOW = {"timeMin": "2026-12-01T00:00:00Z", "timeMax": "2026-12-22T00:00:00Z"}


def _at(day: str, hm: str) -> dict[str, str]:
    return {"dateTime": f"2026-12-{day}T{hm}:00", "timeZone": LA}


def _all_pages(user: GUser, path: str, **params: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every page of a list, and the pages themselves."""
    pages = []
    token = None
    while True:
        resp = user.call("GET", path, params={**params, **({"pageToken": token} if token else {})})
        assert resp.status_code == 200, resp.text
        pages.append(resp.json())
        token = pages[-1].get("nextPageToken")
        if not token:
            return [i for p in pages for i in p["items"]], pages


def test_calendar_list_shows_access_roles_and_the_primary(guser: GUser, google_admin: GoogleAdmin) -> None:
    team = google_admin.add_calendar(
        guser.email, "Team", access_role="writer", owner_email="lead@example.com"
    )
    boss = google_admin.add_calendar(guser.email, "Boss", access_role="freeBusyReader")
    items = guser.call("GET", "/users/me/calendarList").json()["items"]
    roles = {i["id"]: i["accessRole"] for i in items}
    assert roles == {guser.email: "owner", team["id"]: "writer", boss["id"]: "freeBusyReader"}
    assert [i["id"] for i in items if i.get("primary")] == [guser.email]
    writable = guser.call("GET", "/users/me/calendarList", params={"minAccessRole": "writer"}).json()["items"]
    assert {i["id"] for i in writable} == {guser.email, team["id"]}


def test_single_events_expands_series_and_keeps_all_day_transparent_and_declined(
    guser: GUser, google_admin: GoogleAdmin
) -> None:
    g = google_admin
    standup = g.add_event(
        guser.email,
        summary="Standup",
        start=_at("07", "09:00"),
        end=_at("07", "09:15"),
        recurrence=["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=10"],
    )
    g.add_event(guser.email, summary="Offsite", start={"date": "2026-12-09"}, end={"date": "2026-12-11"})
    g.add_event(
        guser.email,
        summary="Focus",
        start=_at("08", "13:00"),
        end=_at("08", "14:00"),
        transparency="transparent",
    )
    g.add_event(
        guser.email,
        summary="Declined",
        start=_at("08", "15:00"),
        end=_at("08", "16:00"),
        attendees=[{"email": "org@example.com"}, {"email": guser.email, "responseStatus": "declined"}],
    )
    items, _ = _all_pages(
        guser, "/calendars/primary/events", singleEvents="true", orderBy="startTime", **WINDOW
    )
    standups = [i for i in items if i.get("recurringEventId") == standup["id"]]
    assert [i["start"]["dateTime"] for i in standups] == [
        "2026-12-07T09:00:00-08:00",
        "2026-12-14T09:00:00-08:00",
        "2026-12-21T09:00:00-08:00",
    ]
    assert standups[0]["id"] == f"{standup['id']}_20261207T170000Z"
    offsite = next(i for i in items if i["summary"] == "Offsite")
    assert offsite["start"] == {"date": "2026-12-09"} and offsite["end"] == {"date": "2026-12-11"}
    assert next(i for i in items if i["summary"] == "Focus")["transparency"] == "transparent"
    declined = next(i for i in items if i["summary"] == "Declined")
    me = next(a for a in declined["attendees"] if a.get("self"))
    assert me["responseStatus"] == "declined"
    # Without singleEvents the series comes once, with its recurrence.
    series, _ = _all_pages(guser, "/calendars/primary/events", **WINDOW)
    assert [i["recurrence"] for i in series if i["id"] == standup["id"]] == [
        ["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=10"]
    ]


def test_short_and_empty_pages_carry_next_page_token_and_only_the_last_a_sync_token(
    guser: GUser, google_admin: GoogleAdmin
) -> None:
    for day in range(1, 8):
        google_admin.add_event(
            guser.email, summary=f"E{day}", start=_at(f"{day:02d}", "10:00"), end=_at(f"{day:02d}", "11:00")
        )
    google_admin.settings(max_page_size=3, empty_pages=2)
    items, pages = _all_pages(guser, "/calendars/primary/events", singleEvents="true", maxResults="50")
    assert len(items) == 7
    assert [len(p["items"]) for p in pages] == [0, 0, 3, 3, 1]
    assert all("nextPageToken" in p and "nextSyncToken" not in p for p in pages[:-1])
    assert "nextSyncToken" in pages[-1] and "nextPageToken" not in pages[-1]


def test_incremental_sync_returns_changes_and_deletions_then_410_when_expired(
    guser: GUser, google_admin: GoogleAdmin
) -> None:
    keep = google_admin.add_event(
        guser.email, summary="Keep", start=_at("02", "10:00"), end=_at("02", "11:00")
    )
    gone = google_admin.add_event(
        guser.email, summary="Gone", start=_at("03", "10:00"), end=_at("03", "11:00")
    )
    _, pages = _all_pages(guser, "/calendars/primary/events", singleEvents="true")
    sync = pages[-1]["nextSyncToken"]
    google_admin.update_event(
        guser.email, keep["id"], summary="Kept (moved)", start=_at("02", "12:00"), end=_at("02", "13:00")
    )
    google_admin.delete_event(guser.email, gone["id"])
    changed, pages = _all_pages(guser, "/calendars/primary/events", singleEvents="true", syncToken=sync)
    by_id = {i["id"]: i for i in changed}
    assert set(by_id) == {keep["id"], gone["id"]}
    assert by_id[keep["id"]]["summary"] == "Kept (moved)"
    assert by_id[gone["id"]]["status"] == "cancelled"
    next_sync = pages[-1]["nextSyncToken"]
    assert _all_pages(guser, "/calendars/primary/events", singleEvents="true", syncToken=next_sync)[0] == []
    # A sync token cannot be combined with a time window.
    both = guser.call("GET", "/calendars/primary/events", params={"syncToken": next_sync, **WINDOW})
    assert both.status_code == 400
    google_admin.invalidate_sync_tokens(guser.email)
    expired = guser.call(
        "GET", "/calendars/primary/events", params={"syncToken": next_sync, "singleEvents": "true"}
    )
    assert expired.status_code == 410
    err = expired.json()["error"]
    assert err["code"] == 410 and err["errors"][0]["reason"] == "fullSyncRequired"


def test_insert_with_a_client_id_then_409_on_the_same_id(guser: GUser, google_admin: GoogleAdmin) -> None:
    body = {
        "id": "sb0booking0123456789abcdefuv",
        "summary": "Intro call",
        "start": _at("10", "10:00"),
        "end": _at("10", "10:30"),
        "attendees": [{"email": "guest@example.com", "displayName": "Guest"}],
        "extendedProperties": {"private": {"slotbridge": "b-1"}},
    }
    created = guser.call("POST", "/calendars/primary/events", params={"sendUpdates": "all"}, json=body)
    assert created.status_code == 200, created.text
    ev = created.json()
    assert ev["id"] == body["id"] and ev["status"] == "confirmed" and ev["organizer"]["self"] is True
    assert ev["attendees"][0]["responseStatus"] == "needsAction"
    assert [m["to"] for m in google_admin.mail() if m["eventId"] == ev["id"]] == ["guest@example.com"]
    again = guser.call("POST", "/calendars/primary/events", json=body)
    assert again.status_code == 409 and again.json()["error"]["errors"][0]["reason"] == "duplicate"
    bad = guser.call("POST", "/calendars/primary/events", json={**body, "id": "Has-Upper_and-wxyz"})
    assert bad.status_code == 400 and bad.json()["error"]["errors"][0]["reason"] == "invalid"
    tagged = guser.call(
        "GET", "/calendars/primary/events", params={"privateExtendedProperty": "slotbridge=b-1"}
    )
    assert [i["id"] for i in tagged.json()["items"]] == [body["id"]]
    # Deleted, the id still cannot be reused.
    assert guser.call("DELETE", f"/calendars/primary/events/{body['id']}").status_code == 204
    assert guser.call("POST", "/calendars/primary/events", json=body).status_code == 409


def test_meet_is_pending_on_insert_and_ready_on_the_next_read(guser: GUser) -> None:
    body = {
        "start": _at("11", "10:00"),
        "end": _at("11", "10:30"),
        "conferenceData": {
            "createRequest": {"requestId": "req-1", "conferenceSolutionKey": {"type": "hangoutsMeet"}}
        },
    }
    ev = guser.call(
        "POST", "/calendars/primary/events", params={"conferenceDataVersion": "1"}, json=body
    ).json()
    assert ev["conferenceData"]["createRequest"]["status"]["statusCode"] == "pending"
    again = guser.call("GET", f"/calendars/primary/events/{ev['id']}").json()
    assert again["conferenceData"]["createRequest"]["status"]["statusCode"] == "success"
    assert again["hangoutLink"].startswith("https://meet.google.com/")
    assert again["conferenceData"]["entryPoints"][0]["entryPointType"] == "video"
    # conferenceDataVersion 0 (the default) ignores conferenceData.
    plain = guser.call("POST", "/calendars/primary/events", json=body).json()
    assert "conferenceData" not in plain


def test_patch_with_a_stale_etag_is_412_and_delete_twice_is_410(guser: GUser) -> None:
    ev = guser.call(
        "POST", "/calendars/primary/events", json={"start": _at("12", "09:00"), "end": _at("12", "10:00")}
    ).json()
    moved = guser.call(
        "PATCH",
        f"/calendars/primary/events/{ev['id']}",
        headers={"If-Match": ev["etag"]},
        json={"start": _at("12", "11:00"), "end": _at("12", "12:00")},
    )
    assert moved.status_code == 200 and moved.json()["etag"] != ev["etag"]
    stale = guser.call(
        "PATCH",
        f"/calendars/primary/events/{ev['id']}",
        headers={"If-Match": ev["etag"]},
        json={"summary": "x"},
    )
    assert stale.status_code == 412 and stale.json()["error"]["errors"][0]["reason"] == "conditionNotMet"
    assert guser.call("DELETE", f"/calendars/primary/events/{ev['id']}").status_code == 204
    twice = guser.call("DELETE", f"/calendars/primary/events/{ev['id']}")
    assert twice.status_code == 410 and twice.json()["error"]["errors"][0]["reason"] == "deleted"
    assert guser.call("GET", f"/calendars/primary/events/{ev['id']}").json()["status"] == "cancelled"
    assert guser.call("DELETE", "/calendars/primary/events/nosuchevent1").status_code == 404


def test_readers_cannot_write_and_free_busy_readers_see_only_busy_time(
    make_guser: Callable[..., GUser], google_admin: GoogleAdmin
) -> None:
    owner = make_guser()
    viewer = make_guser()
    google_admin.add_event(
        owner.email, summary="Secret", start=_at("14", "10:00"), end=_at("14", "11:00"), description="d"
    )
    google_admin.add_event(
        owner.email,
        summary="Free",
        start=_at("14", "12:00"),
        end=_at("14", "13:00"),
        transparency="transparent",
    )
    google_admin.share_calendar(owner.email, viewer.email, "freeBusyReader")
    items = viewer.call("GET", f"/calendars/{owner.email}/events", params={"singleEvents": "true"}).json()[
        "items"
    ]
    assert len(items) == 1 and "summary" not in items[0] and "description" not in items[0]
    assert items[0]["start"]["dateTime"] == "2026-12-14T10:00:00-08:00"
    google_admin.share_calendar(owner.email, viewer.email, "reader")
    write = viewer.call(
        "POST",
        f"/calendars/{owner.email}/events",
        json={"start": _at("15", "09:00"), "end": _at("15", "10:00")},
    )
    assert write.status_code == 403 and write.json()["error"]["errors"][0]["reason"] == "requiredAccessLevel"
    google_admin.share_calendar(owner.email, viewer.email, None)
    assert viewer.call("GET", f"/calendars/{owner.email}/events").status_code == 404


def test_free_busy_has_per_calendar_errors_inside_a_200(guser: GUser, google_admin: GoogleAdmin) -> None:
    broken = google_admin.add_calendar(guser.email, "Broken", access_role="reader")
    google_admin.update_calendar(broken["id"], freebusy_error="backendError")
    google_admin.add_event(guser.email, summary="A", start=_at("16", "09:00"), end=_at("16", "10:00"))
    google_admin.add_event(guser.email, summary="B", start=_at("16", "09:30"), end=_at("16", "10:30"))
    google_admin.add_event(
        guser.email,
        summary="Free",
        start=_at("16", "11:00"),
        end=_at("16", "12:00"),
        transparency="transparent",
    )
    google_admin.add_event(
        guser.email,
        summary="No",
        start=_at("16", "13:00"),
        end=_at("16", "14:00"),
        attendees=[{"email": guser.email, "responseStatus": "declined"}],
    )
    resp = guser.call(
        "POST",
        "/freeBusy",
        json={**WINDOW, "items": [{"id": guser.email}, {"id": broken["id"]}, {"id": "nobody@example.com"}]},
    )
    assert resp.status_code == 200
    cals = resp.json()["calendars"]
    assert cals[guser.email]["busy"] == [{"start": "2026-12-16T17:00:00Z", "end": "2026-12-16T18:30:00Z"}]
    assert cals[broken["id"]]["errors"] == [{"domain": "global", "reason": "backendError"}]
    assert cals["nobody@example.com"]["errors"] == [{"domain": "global", "reason": "notFound"}]


def test_a_refused_write_stores_nothing(guser: GUser, google_admin: GoogleAdmin) -> None:
    body = {"id": "refused0event1", "start": _at("17", "09:00"), "end": _at("17", "10:00")}
    bad_mode = guser.call("POST", "/calendars/primary/events", params={"sendUpdates": "sometimes"}, json=body)
    assert bad_mode.status_code == 400
    backwards = guser.call("POST", "/calendars/primary/events", json={**body, "end": _at("17", "08:00")})
    assert (
        backwards.status_code == 400 and backwards.json()["error"]["errors"][0]["reason"] == "timeRangeEmpty"
    )
    assert google_admin.events(guser.email) == []
