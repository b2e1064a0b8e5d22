"""Connections, calendars and calendar settings through the dev host, with management auth; and
what is stored and logged: no plaintext token, code or verifier anywhere."""

from __future__ import annotations

import json
import logging
import uuid

import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import dt
from lib.adapters.storage import storage_account
from lib.core.auth import issue_user_token
from lib.features.connections.graph_access import token_vault
from lib.features.connections.records import ConnectionRecord
from tests.fixtures.devhost import USER_TOKEN_KEY
from tests.fixtures.sandbox import sign_in, unique_email

from .helpers import BACKEND, connect, connections, post_back, start


def _user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


def _as_user(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_user_token(USER_TOKEN_KEY, user)}"}


def test_management_routes_need_a_key_or_the_users_own_token(devhost: DevHost, admin, sandbox_http) -> None:
    alice, bob = _user(), _user()
    connect(devhost, sandbox_http, alice, admin.add_account(unique_email())["id"])
    url = f"{devhost.api_url}/users/{alice}/connections"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, headers={"X-Api-Key": "wrong"}, timeout=10).status_code == 401
    assert requests.get(url, headers=_as_user(alice), timeout=10).status_code == 200
    for method, path in [
        ("GET", f"users/{alice}/connections"),
        ("GET", f"users/{alice}/calendars"),
        ("POST", f"users/{alice}/connections"),
        ("PUT", f"users/{alice}/calendar-settings"),
        ("DELETE", f"users/{alice}/connections/{connections(devhost, alice)[0]['connectionId']}"),
    ]:
        r = requests.request(method, f"{devhost.api_url}/{path}", headers=_as_user(bob), json={}, timeout=10)
        assert r.status_code == 403, (method, path)
        assert r.headers["Content-Type"] == "application/problem+json" and r.json()["code"] == "unauthorized"
    assert len(connections(devhost, alice)) == 1  # bob's DELETE did nothing
    expired = issue_user_token(USER_TOKEN_KEY, alice, ttl_s=60, now=0)
    assert requests.get(url, headers={"Authorization": f"Bearer {expired}"}, timeout=10).status_code == 401
    forged = issue_user_token(b"not-the-key-not-the-key-not-the-key", alice)
    assert requests.get(url, headers={"Authorization": f"Bearer {forged}"}, timeout=10).status_code == 401


def test_calendars_list_default_secondary_and_shared(devhost: DevHost, admin, sandbox_http) -> None:
    email = unique_email()
    account = admin.add_account(email)["id"]
    admin.add_calendar(account, "Side projects")
    admin.add_calendar(
        account, "Team (shared)", can_edit=False, owner_name="Lead", owner_address="lead@contoso.com"
    )
    user = _user()
    connect(devhost, sandbox_http, user, account)
    r = requests.get(f"{devhost.api_url}/users/{user}/calendars", headers=_as_user(user), timeout=30)
    assert r.status_code == 200
    cals = {c["name"]: c for c in r.json()["calendars"]}
    assert set(cals) >= {"Side projects", "Team (shared)"}
    default = next(c for c in cals.values() if c["isDefault"])
    # The first connection's primary calendar is both checked for conflicts and written to.
    assert default["checkForConflicts"] and default["addBookings"]
    shared = cals["Team (shared)"]
    assert (shared["canEdit"], shared["owner"]["address"], shared["checkForConflicts"]) == (
        False,
        "lead@contoso.com",
        False,
    )


def test_calendar_settings_rules(devhost: DevHost, admin, sandbox_http) -> None:
    account = admin.add_account(unique_email())["id"]
    admin.add_calendar(
        account, "Team (shared)", can_edit=False, owner_name="Lead", owner_address="lead@contoso.com"
    )
    admin.add_calendar(account, "Side projects")
    user = _user()
    connect(devhost, sandbox_http, user, account)
    cals = {
        c["name"]: c
        for c in requests.get(
            f"{devhost.api_url}/users/{user}/calendars", headers=BACKEND, timeout=30
        ).json()["calendars"]
    }
    ref = lambda c: {"connectionId": c["connectionId"], "calendarId": c["calendarId"]}  # noqa: E731
    url = f"{devhost.api_url}/users/{user}/calendar-settings"

    r = requests.put(
        url,
        headers=BACKEND,
        json={"conflictCalendars": [ref(cals["Team (shared)"])], "writeCalendar": ref(cals["Team (shared)"])},
        timeout=30,
    )
    assert r.status_code == 409 and r.json()["code"] == "calendar_not_writable"

    bogus = {"connectionId": cals["Side projects"]["connectionId"], "calendarId": "AAMk-not-mine"}
    r = requests.put(
        url, headers=BACKEND, json={"conflictCalendars": [bogus], "writeCalendar": None}, timeout=30
    )
    assert r.status_code == 400 and r.json()["code"] == "validation_error"
    assert r.json()["errors"][0]["field"] == "conflictCalendars[0]"

    r = requests.put(url, headers=BACKEND, json={"conflictCalendars": "nope"}, timeout=30)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "conflictCalendars"
    r = requests.put(
        url, headers=BACKEND, json={"conflictCalendars": [], "blockingShowAs": ["busy", "nap"]}, timeout=30
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "blockingShowAs"
    r = requests.put(url, headers=BACKEND, data="{not json", timeout=30)
    assert r.status_code == 400 and r.json()["code"] == "validation_error"

    body = {
        "conflictCalendars": [ref(cals["Team (shared)"]), ref(cals["Side projects"])],
        "writeCalendar": ref(cals["Side projects"]),
    }
    r = requests.put(url, headers=_as_user(user), json=body, timeout=30)
    assert r.status_code == 200
    listed = {
        c["name"]: c
        for c in requests.get(
            f"{devhost.api_url}/users/{user}/calendars", headers=BACKEND, timeout=30
        ).json()["calendars"]
    }
    assert listed["Team (shared)"]["checkForConflicts"] and not listed["Team (shared)"]["addBookings"]
    assert listed["Side projects"]["checkForConflicts"] and listed["Side projects"]["addBookings"]
    assert not next(c for c in listed.values() if c["isDefault"])["checkForConflicts"]


def test_disconnect_wipes_tokens_and_settings_but_leaves_outlook_events(
    devhost: DevHost, admin, sandbox_http
) -> None:
    account = admin.add_account(unique_email())["id"]
    user = _user()
    connect(devhost, sandbox_http, user, account)
    [conn] = connections(devhost, user)
    event = admin.add_event(
        account, subject="Dentist", start=dt("2030-01-07T09:00:00"), end=dt("2030-01-07T10:00:00")
    )
    r = requests.delete(
        f"{devhost.api_url}/users/{user}/connections/{conn['connectionId']}", headers=BACKEND, timeout=30
    )
    assert r.status_code == 204
    assert connections(devhost, user) == []
    assert token_vault().key_version(conn["connectionId"]) is None
    cals = requests.get(f"{devhost.api_url}/users/{user}/calendars", headers=BACKEND, timeout=30).json()
    assert (cals["calendars"], cals["unavailable"]) == ([], [])
    mailbox = admin.mailbox(account)
    assert any(e["id"] == event["id"] for cal in mailbox["calendars"] for e in cal["events"])
    again = requests.delete(
        f"{devhost.api_url}/users/{user}/connections/{conn['connectionId']}", headers=BACKEND, timeout=30
    )
    assert again.status_code == 404 and again.json()["code"] == "not_found"
    # The account is free again: another user may connect it now.
    other = _user()
    connect(devhost, sandbox_http, other, account)
    assert len(connections(devhost, other)) == 1


def test_no_plaintext_secret_is_stored_or_logged(devhost: DevHost, admin, sandbox_http, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    account = admin.add_account(unique_email())["id"]
    user = _user()
    started = start(devhost, user)
    fields = sign_in(sandbox_http, started.json()["authorizationUrl"], account)
    # What a pending flow would leak if stored in clear: the PKCE verifier and nonce.
    from lib.features.connections.records import PendingFlowRecord

    [pending] = [p for p in storage_account().table(PendingFlowRecord).query() if p.user_id == user]
    assert pending.sealed_flow.startswith("sb1.")
    assert "code_verifier" not in json.dumps(pending.to_entity(), default=str)
    assert post_back(devhost, fields).status_code == 200
    [conn] = connections(devhost, user)
    record = storage_account().table(ConnectionRecord).get(user, conn["connectionId"])
    access_token = token_vault().access_token(record.connection_id, record.account_id)
    admin.expire_access_tokens(account)
    refreshed = token_vault().access_token(record.connection_id, record.account_id, force_refresh=True)

    secrets = [access_token, refreshed, fields["code"], fields["state"]]
    account_prefix = storage_account().table_prefix
    dump = []
    for table in storage_account().table_service.list_tables():
        if table.name.startswith(account_prefix):
            client = storage_account().table_service.get_table_client(table.name)
            dump += [json.dumps(dict(e), default=str) for e in client.list_entities()]
    stored = "\n".join(dump)
    for secret in secrets:
        assert secret not in stored
    for marker in ("refresh_token", "access_token", "code_verifier", "RefreshToken", "AccessToken"):
        assert marker not in stored
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in secrets:
        assert secret not in logged
