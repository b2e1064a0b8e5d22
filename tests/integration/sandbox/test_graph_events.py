"""Events: create (transactionId, extended properties, Teams), get/patch/delete, cancel, read-only."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from devstack.sandbox.admin_client import SandboxAdmin

from .conftest import GraphUser

pytestmark = pytest.mark.integration
TAG = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name SlotbridgeBooking"
GRAPH_DT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}$")
EVENT_FIELDS = {
    "id",
    "subject",
    "body",
    "start",
    "end",
    "isAllDay",
    "showAs",
    "isCancelled",
    "type",
    "seriesMasterId",
    "recurrence",
    "attendees",
    "organizer",
    "location",
    "transactionId",
    "iCalUId",
    "onlineMeeting",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "isOnlineMeeting",
    "onlineMeetingProvider",
    "@odata.etag",
}


def booking(**extra: Any) -> dict[str, Any]:
    return {
        "subject": "Intro call",
        "body": {"contentType": "html", "content": "<p>Manage: https://example.test/m/1</p>"},
        "start": {"dateTime": "2026-12-01T09:00:00", "timeZone": "Pacific Standard Time"},
        "end": {"dateTime": "2026-12-01T09:30:00", "timeZone": "Pacific Standard Time"},
        "attendees": [
            {"emailAddress": {"address": "guest@example.org", "name": "Guest"}, "type": "required"}
        ],
        "transactionId": "txn-" + extra.pop("txn", "1"),
        "singleValueExtendedProperties": [{"id": TAG, "value": "booking-1"}],
        **extra,
    }


def test_create_get_patch_delete(user: GraphUser) -> None:
    created = user.call("POST", "/me/events", json=booking())
    assert created.status_code == 201
    ev = created.json()
    assert ev.keys() >= EVENT_FIELDS
    assert ev["type"] == "singleInstance" and ev["seriesMasterId"] is None
    assert ev["start"] == {"dateTime": "2026-12-01T17:00:00.0000000", "timeZone": "UTC"}
    assert GRAPH_DT.match(ev["end"]["dateTime"])
    assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$", ev["createdDateTime"])
    assert ev["organizer"] == {"emailAddress": {"name": user.account["display_name"], "address": user.email}}
    assert ev["attendees"][0]["emailAddress"]["address"] == "guest@example.org"
    assert ev["attendees"][0]["status"] == {"response": "none", "time": "0001-01-01T00:00:00Z"}
    assert ev["showAs"] == "busy" and ev["transactionId"] == "txn-1"
    got = user.call(
        "GET", f"/me/events/{ev['id']}", headers={"Prefer": 'outlook.timezone="Pacific Standard Time"'}
    )
    assert got.json()["start"] == {
        "dateTime": "2026-12-01T09:00:00.0000000",
        "timeZone": "Pacific Standard Time",
    }
    assert got.headers["Preference-Applied"] == 'outlook.timezone="Pacific Standard Time"'
    patched = user.call(
        "PATCH",
        f"/me/events/{ev['id']}",
        json={
            "start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "Pacific Standard Time"},
            "end": {"dateTime": "2026-12-01T10:30:00", "timeZone": "Pacific Standard Time"},
            "showAs": "tentative",
        },
    )
    assert patched.status_code == 200
    assert patched.json()["start"]["dateTime"] == "2026-12-01T18:00:00.0000000"
    assert patched.json()["changeKey"] != ev["changeKey"] and patched.json()["showAs"] == "tentative"
    cal_id = user.account["default_calendar_id"]
    assert user.call("GET", f"/me/calendars/{cal_id}/events/{ev['id']}").status_code == 200
    assert user.call("DELETE", f"/me/events/{ev['id']}").status_code == 204
    gone = user.call("GET", f"/me/events/{ev['id']}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "ErrorItemNotFound"


def test_transaction_id_deduplicates(user: GraphUser) -> None:
    first = user.call("POST", "/me/events", json=booking(txn="dedupe")).json()
    second = user.call("POST", "/me/events", json=booking(txn="dedupe"))
    assert second.status_code == 201 and second.json()["id"] == first["id"]
    found = user.call("GET", "/me/events?$filter=transactionId eq 'txn-dedupe'").json()["value"]
    assert [e["id"] for e in found] == [first["id"]]


def test_extended_properties_expand_and_filter(user: GraphUser) -> None:
    ev = user.call("POST", "/me/events", json=booking(txn="ep")).json()
    user.call("POST", "/me/events", json={**booking(txn="other"), "singleValueExtendedProperties": []})
    plain = user.call("GET", f"/me/events/{ev['id']}").json()
    assert "singleValueExtendedProperties" not in plain
    expanded = user.call(
        "GET", f"/me/events/{ev['id']}?$expand=singleValueExtendedProperties($filter=id eq '{TAG}')"
    )
    assert expanded.json()["singleValueExtendedProperties"] == [{"id": TAG, "value": "booking-1"}]
    # $select does not drop an $expand-ed property, as on Graph.
    expand = f"singleValueExtendedProperties($filter=id eq '{TAG}')"
    selected = user.call("GET", f"/me/events/{ev['id']}?$select=start,end&$expand={expand}").json()
    assert selected["singleValueExtendedProperties"] == [{"id": TAG, "value": "booking-1"}]
    assert "subject" not in selected
    flt = f"singleValueExtendedProperties/Any(ep: ep/id eq '{TAG}' and ep/value eq 'booking-1')"
    found = user.call("GET", "/me/events", params={"$filter": flt}).json()["value"]
    assert [e["id"] for e in found] == [ev["id"]]


def test_teams_link_for_work_accounts_only(make_user: Callable[..., GraphUser]) -> None:
    teams = {"isOnlineMeeting": True, "onlineMeetingProvider": "teamsForBusiness"}
    work = make_user().call("POST", "/me/events", json=booking(**teams)).json()
    assert work["isOnlineMeeting"] and work["onlineMeeting"]["joinUrl"].startswith(
        "https://teams.microsoft.com/"
    )
    personal = make_user(kind="personal").call("POST", "/me/events", json=booking(**teams)).json()
    assert personal["isOnlineMeeting"] is False and personal["onlineMeeting"] is None


def test_read_only_calendar_refuses_writes(user: GraphUser, admin: SandboxAdmin) -> None:
    shared = admin.add_calendar(user.email, "Team", can_edit=False, owner_address="lead@contoso.com")
    r = user.call("POST", f"/me/calendars/{shared['id']}/events", json=booking(txn="ro"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "ErrorAccessDenied"
    seeded = admin.add_event(
        user.email,
        calendar_id=shared["id"],
        subject="Lead's 1:1",
        start={"dateTime": "2026-12-02T09:00:00", "timeZone": "UTC"},
        end={"dateTime": "2026-12-02T10:00:00", "timeZone": "UTC"},
    )
    assert user.call("PATCH", f"/me/events/{seeded['id']}", json={"subject": "x"}).status_code == 403
    assert user.call("DELETE", f"/me/events/{seeded['id']}").status_code == 403
    listed = user.call("GET", f"/me/calendars/{shared['id']}/events").json()["value"]
    assert [e["subject"] for e in listed] == ["Lead's 1:1"]


def test_post_into_secondary_calendar_and_cancel(user: GraphUser, admin: SandboxAdmin) -> None:
    side = admin.add_calendar(user.email, "Bookings")
    ev = user.call("POST", f"/me/calendars/{side['id']}/events", json=booking(txn="side")).json()
    assert user.call("GET", f"/me/calendars/{side['id']}/events/{ev['id']}").status_code == 200
    assert (
        user.call("GET", f"/me/calendars/{user.account['default_calendar_id']}/events/{ev['id']}").status_code
        == 404
    )
    r = user.call("POST", f"/me/events/{ev['id']}/cancel", json={"Comment": "Cancelled by the guest"})
    assert r.status_code == 202
    assert user.call("GET", f"/me/events/{ev['id']}").status_code == 404
    box = admin.mailbox(user.email)
    assert all(not c["events"] for c in box["calendars"])


def test_invalid_event_payloads(user: GraphUser) -> None:
    assert user.call("POST", "/me/events", json={"subject": "no times"}).status_code == 400
    bad_tz = user.call(
        "POST",
        "/me/events",
        json=booking(txn="tz", start={"dateTime": "2026-12-01T09:00:00", "timeZone": "Mars/Olympus"}),
    )
    assert bad_tz.status_code == 400 and bad_tz.json()["error"]["code"] == "TimeZoneNotSupportedException"
    assert user.call("POST", "/me/events", json=booking(txn="sa", showAs="away")).status_code == 400
    allday = booking(txn="ad", isAllDay=True)
    assert user.call("POST", "/me/events", json=allday).status_code == 400
    no_token = user.http.post(f"{user.sandbox.url}/v1.0/me/events", json=booking(txn="nt"))
    assert no_token.status_code == 401
