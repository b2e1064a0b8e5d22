"""/me, /me/mailboxSettings, /me/calendars: shapes, paging, shared calendars, token checks."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from devstack.sandbox.admin_client import SandboxAdmin

from .conftest import GraphUser

pytestmark = pytest.mark.integration
CALENDAR_FIELDS = {
    "id",
    "name",
    "color",
    "hexColor",
    "isDefaultCalendar",
    "changeKey",
    "canShare",
    "canViewPrivateItems",
    "canEdit",
    "allowedOnlineMeetingProviders",
    "defaultOnlineMeetingProvider",
    "isTallyingResponses",
    "isRemovable",
    "owner",
}


def test_bearer_token_checks(user: GraphUser) -> None:
    for headers, message in (
        ({}, "Access token is empty."),
        ({"Authorization": "Bearer garbage"}, None),
    ):
        r = user.http.get(f"{user.sandbox.url}/v1.0/me", headers=headers)
        assert r.status_code == 401
        err = r.json()["error"]
        assert err["code"] == "InvalidAuthenticationToken"
        assert set(err) == {"code", "message", "innerError"}
        if message:
            assert err["message"] == message


def test_me_and_mailbox_settings(make_user: Callable[..., GraphUser]) -> None:
    u = make_user(time_zone="W. Europe Standard Time", display_name="Grace Hopper")
    me = u.call("GET", "/me").json()
    assert (
        me["mail"] == u.email and me["userPrincipalName"] == u.email and me["displayName"] == "Grace Hopper"
    )
    assert me["givenName"] == "Grace" and me["surname"] == "Hopper"
    assert u.call("GET", "/me?$select=displayName").json().keys() <= {"@odata.context", "displayName", "id"}
    settings = u.call("GET", "/me/mailboxSettings").json()
    assert settings["timeZone"] == "W. Europe Standard Time"
    assert settings["workingHours"]["timeZone"]["name"] == "W. Europe Standard Time"
    assert u.call("GET", "/me/MAILBOXSETTINGS").status_code == 200  # segments are case-insensitive


def test_mailbox_settings_needs_its_scope(make_user: Callable[..., GraphUser]) -> None:
    u = make_user(scopes=["Calendars.ReadWrite", "User.Read"])
    r = u.call("GET", "/me/mailboxSettings")
    assert r.status_code == 403 and r.json()["error"]["code"] == "ErrorAccessDenied"


def test_calendars_default_secondary_shared_and_paging(user: GraphUser, admin: SandboxAdmin) -> None:
    admin.add_calendar(user.email, "Side projects")
    shared = admin.add_calendar(
        user.email, "Boss", can_edit=False, owner_name="Big Boss", owner_address="boss@contoso.com"
    )
    page1 = user.call("GET", "/me/calendars?$top=2").json()
    assert len(page1["value"]) == 2 and "@odata.nextLink" in page1
    page2 = user.call("GET", page1["@odata.nextLink"]).json()
    assert "@odata.nextLink" not in page2
    cals = page1["value"] + page2["value"]
    assert [c["name"] for c in cals] == ["Calendar", "Side projects", "Boss"]
    for c in cals:
        assert c.keys() >= CALENDAR_FIELDS
        assert set(c["owner"]) == {"name", "address"}
    default, _, boss = cals
    assert default["isDefaultCalendar"] and default["canEdit"] and default["owner"]["address"] == user.email
    assert default["allowedOnlineMeetingProviders"] == ["teamsForBusiness"]
    assert not boss["canEdit"] and boss["owner"] == {"name": "Big Boss", "address": "boss@contoso.com"}
    one = user.call("GET", f"/me/calendars/{shared['id']}").json()
    assert one["id"] == shared["id"] and one["name"] == "Boss"
    assert user.call("GET", "/me/calendar").json()["id"] == default["id"]
    missing = user.call("GET", "/me/calendars/calnope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ErrorItemNotFound"


def test_unknown_segment(user: GraphUser) -> None:
    r = user.call("GET", "/me/nothing")
    assert r.status_code == 400 and re.search("segment 'nothing'", r.json()["error"]["message"])


def test_a_deleted_calendar_answers_404_on_its_routes_as_graph_does(
    user: GraphUser, admin: SandboxAdmin
) -> None:
    from devstack.sandbox.admin_client import AdminError, dt

    side = admin.add_calendar(user.email, "Side projects")
    admin.add_event(
        user.email,
        subject="x",
        start=dt("2026-11-23T09:00:00"),
        end=dt("2026-11-23T10:00:00"),
        calendar_id=side["id"],
    )
    admin.delete_calendar(user.email, side["id"])

    view = "startDateTime=2026-11-23T00:00:00Z&endDateTime=2026-11-24T00:00:00Z"
    for method, path in (
        ("GET", f"/me/calendars/{side['id']}"),
        ("GET", f"/me/calendars/{side['id']}/calendarView?{view}"),
        ("GET", f"/me/calendars/{side['id']}/calendarView/delta?{view}"),
        ("POST", f"/me/calendars/{side['id']}/events"),
    ):
        kwargs = {
            "json": {"subject": "y", "start": dt("2026-11-23T09:00:00"), "end": dt("2026-11-23T10:00:00")}
        }
        r = user.call(method, path, **(kwargs if method == "POST" else {}))
        assert r.status_code == 404, (path, r.text)
        assert r.json()["error"]["code"] == "ErrorItemNotFound"
        assert r.json()["error"]["message"] == "The specified object was not found in the store."
    assert side["id"] not in {c["id"] for c in user.call("GET", "/me/calendars").json()["value"]}
    assert [c["name"] for c in admin.mailbox(user.email)["calendars"]] == ["Calendar"]
    with pytest.raises(AdminError, match="400"):
        admin.delete_calendar(user.email, str(admin.mailbox(user.email)["account"]["default_calendar_id"]))
