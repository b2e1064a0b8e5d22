"""Connecting Google Calendar through the app and the Google stand-in (real HTTPS, real requests):
code + PKCE with offline access, a grant missing a scope refused as insufficient_permissions,
tokens sealed like Microsoft's, one Google account for one user, the account limit shared with
Microsoft accounts, calendars by accessRole, and a revoked grant -> needs_reconnect once."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from devstack.funchost import DevHost
from devstack.google import GoogleStandIn
from devstack.google.admin_client import GoogleAdmin
from devstack.sandbox.admin_client import SandboxAdmin
from lib.adapters.identity.token_vault import TokenCacheRecord
from lib.adapters.storage import storage_account
from lib.core.crypto import sealed_key_version
from lib.features.outbox.records import OutboxRecord
from tests.fixtures.google import google_sign_in, unique_gmail
from tests.fixtures.sandbox import unique_email
from tests.integration.connect.helpers import (
    BACKEND,
    answer_callback,
    connect,
    connections,
    popup_message,
    start,
)
from tests.integration.google.helpers import EVENTS_SCOPE, GoogleHost, connect_google

pytestmark = pytest.mark.usefixtures("devhost")


def test_connect_start_asks_google_for_offline_access_with_pkce_and_the_least_scopes(
    devhost: DevHost,
) -> None:
    started = start(devhost, "u-start", provider="google")
    assert started.status_code == 201, started.text
    # An administrator's approval is Microsoft's (Entra ID tenants): a Google start offers none.
    assert "adminConsentUrl" not in started.json()
    query = parse_qs(urlsplit(started.json()["authorizationUrl"]).query)
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert "code_verifier" not in query  # the verifier stays sealed server-side
    assert set(query["scope"][0].split()) == {
        "openid",
        "email",
        "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
        EVENTS_SCOPE,
    }


def test_an_unknown_provider_is_a_validation_error(devhost: DevHost) -> None:
    r = start(devhost, "u-bad", provider="exchange")
    assert r.status_code == 400 and r.json()["code"] == "validation_error"
    assert r.json()["errors"][0]["field"] == "provider"


def test_connecting_google_stores_a_google_connection_with_sealed_tokens(
    devhost: DevHost, gadmin: GoogleAdmin, ghttp: requests.Session, app_env: dict[str, str]
) -> None:
    host = GoogleHost(devhost, gadmin, ghttp)
    assert host.connection["provider"] == "google"
    assert host.connection["email"] == host.email and host.connection["status"] == "connected"
    assert host.connection["accountType"] == "personal"
    assert EVENTS_SCOPE in host.connection["scopes"]
    row = storage_account().table(TokenCacheRecord).get(host.connection_id, "google")
    # Sealed like Microsoft's token caches (the same format and key, the connection id bound in).
    assert sealed_key_version(row.sealed_cache) == row.key_version
    assert "ya29" not in row.sealed_cache and "1//" not in row.sealed_cache


def test_a_grant_missing_the_events_scope_is_insufficient_permissions_and_nothing_is_stored(
    devhost: DevHost, gadmin: GoogleAdmin, ghttp: requests.Session
) -> None:
    user = gadmin.add_user(unique_gmail("partial"))
    page = connect_google(devhost, ghttp, "u-partial", str(user["sub"]), untick=(EVENTS_SCOPE,))
    assert page.status_code == 403
    message, _ = popup_message(page) or ({}, "")
    assert message.get("code") == "insufficient_permissions", page.text
    assert "calendar.events" in str(message.get("message"))
    assert connections(devhost, "u-partial") == []


def test_one_google_account_belongs_to_one_user(
    devhost: DevHost, gadmin: GoogleAdmin, ghttp: requests.Session
) -> None:
    host = GoogleHost(devhost, gadmin, ghttp)
    page = connect_google(devhost, ghttp, "u-someone-else", host.sub)
    message, _ = popup_message(page) or ({}, "")
    assert message.get("code") == "account_already_linked", page.text
    # The same user connecting again heals the one connection instead of adding one.
    again = connect_google(devhost, ghttp, host.user_id, host.sub)
    assert again.status_code == 200, again.text
    assert [c["connectionId"] for c in connections(devhost, host.user_id)] == [host.connection_id]


def test_the_account_limit_counts_microsoft_and_google_accounts_together(
    devhost: DevHost,
    gadmin: GoogleAdmin,
    ghttp: requests.Session,
    admin: SandboxAdmin,
    sandbox_http: requests.Session,
) -> None:
    user_id = "u-limit-mixed"
    r = requests.put(
        f"{devhost.api_url}/users/{user_id}/account-limit",
        json={"maxAccounts": 1},
        headers=BACKEND,
        timeout=30,
    )
    assert r.status_code == 200, r.text
    account = admin.add_account(unique_email("ms"))
    assert connect(devhost, sandbox_http, user_id, account["id"]).status_code == 200
    user = gadmin.add_user(unique_gmail("over"))
    page = connect_google(devhost, ghttp, user_id, str(user["sub"]))
    message, _ = popup_message(page) or ({}, "")
    assert message.get("code") == "account_limit_reached", page.text


def test_calendars_by_access_role_primary_is_the_default(
    devhost: DevHost, gadmin: GoogleAdmin, ghttp: requests.Session, gstandin: GoogleStandIn
) -> None:
    host = GoogleHost(devhost, gadmin, ghttp)
    other = unique_gmail("colleague")
    gadmin.add_user(other)
    for role in ("freeBusyReader", "reader", "writer"):
        gadmin.add_calendar(host.email, f"Shared {role}", access_role=role, owner_email=other)
    listed = {c["name"]: c for c in host.calendars() if c["connectionId"] == host.connection_id}
    primary = next(c for c in listed.values() if c["isDefault"])
    assert primary["calendarId"] == host.calendar_id and primary["canEdit"] is True
    assert primary["checkForConflicts"] is True and primary["addBookings"] is True
    assert listed["Shared freeBusyReader"]["canEdit"] is False
    assert listed["Shared reader"]["canEdit"] is False
    assert listed["Shared writer"]["canEdit"] is True
    # A read-only calendar cannot take bookings.
    body = {
        "conflictCalendars": [host.ref()],
        "writeCalendar": host.ref(listed["Shared reader"]["calendarId"]),
    }
    r = requests.put(
        f"{devhost.api_url}/users/{host.user_id}/calendar-settings", json=body, headers=BACKEND, timeout=30
    )
    assert r.status_code in (400, 409), r.text
    assert r.json()["code"] in ("calendar_not_writable", "validation_error")


def test_a_revoked_grant_marks_the_connection_needs_reconnect_with_one_notice(
    devhost: DevHost, gadmin: GoogleAdmin, ghttp: requests.Session
) -> None:
    host = GoogleHost(devhost, gadmin, ghttp)
    gadmin.revoke_grant(host.email)
    for _ in range(3):  # each read finds the grant broken; one notice for the one breakage
        r = requests.get(f"{devhost.api_url}/users/{host.user_id}/calendars", headers=BACKEND, timeout=30)
        assert r.status_code in (200, 409), r.text
    (connection,) = connections(devhost, host.user_id)
    assert connection["status"] == "needs_reconnect"
    notices = [
        row.data
        for row in storage_account().table(OutboxRecord).query(partition=host.user_id)
        if row.type == "connection.needs_reconnect"
    ]
    assert len(notices) == 1 and notices[0]["reason"] == "invalid_grant"
    # Connecting again heals it.
    assert connect_google(devhost, ghttp, host.user_id, host.sub).status_code == 200
    assert connections(devhost, host.user_id)[0]["status"] == "connected"


def test_disconnecting_revokes_the_grant_at_google_and_wipes_the_tokens(
    devhost: DevHost, gadmin: GoogleAdmin, ghttp: requests.Session
) -> None:
    host = GoogleHost(devhost, gadmin, ghttp)
    assert storage_account().table(TokenCacheRecord).find(host.connection_id, "google") is not None
    r = requests.delete(
        f"{devhost.api_url}/users/{host.user_id}/connections/{host.connection_id}",
        headers=BACKEND,
        timeout=30,
    )
    assert r.status_code == 204, r.text
    assert storage_account().table(TokenCacheRecord).find(host.connection_id, "google") is None
    grants = [g for g in gadmin.grants() if g.get("sub") == host.sub]
    assert grants and {g["status"] for g in grants} == {"revoked"}, grants
    # The account is free again: another user may connect it.
    assert connect_google(devhost, ghttp, "u-next-owner", host.sub).status_code == 200


def test_cancelling_googles_consent_is_consent_declined(
    devhost: DevHost, gadmin: GoogleAdmin, ghttp: requests.Session
) -> None:
    user = gadmin.add_user(unique_gmail("cancels"))
    started = start(devhost, "u-cancels", provider="google")
    back = google_sign_in(ghttp, started.json()["authorizationUrl"], str(user["sub"]), action="cancel")
    page = answer_callback(devhost, **back)
    message, _ = popup_message(page) or ({}, "")
    assert message.get("code") == "consent_declined", page.text
    assert connections(devhost, "u-cancels") == []
