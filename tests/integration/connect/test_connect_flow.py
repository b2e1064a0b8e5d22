"""The connect flow end to end: the dev host's routes, the sandbox's sign-in page, MSAL, storage."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin
from lib.adapters.storage import storage_account
from lib.core.auth import issue_user_token
from lib.features.connections.records import PendingFlowRecord
from tests.fixtures.devhost import PRODUCT_ORIGIN, USER_TOKEN_KEY
from tests.fixtures.sandbox import sign_in, unique_email

from .helpers import BACKEND, connect, connections, popup_message, post_back, start


def _user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


def _token_calls(admin: SandboxAdmin) -> int:
    return sum(1 for e in admin.request_log()["entries"] if e["path"].endswith("/oauth2/v2.0/token"))


def test_popup_connect_reports_connected_to_the_allowed_origin(devhost: DevHost, admin, sandbox_http) -> None:
    email = unique_email()
    account = admin.add_account(email, display_name="Pat Host")["id"]
    user = _user()
    page = connect(devhost, sandbox_http, user, account)
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    message, origin = popup_message(page)  # type: ignore[misc]
    assert origin == PRODUCT_ORIGIN
    assert message["type"] == "slotbridge:connect" and message["status"] == "connected"
    assert "src=" not in page.text  # no external resources
    [conn] = connections(devhost, user)
    assert conn["connectionId"] == message["connectionId"]
    assert (conn["status"], conn["email"], conn["accountType"]) == ("connected", email, "work")
    assert "calendars.readwrite" in conn["scopes"]


def test_redirect_mode_returns_to_the_allowed_return_url(devhost: DevHost, admin, sandbox_http) -> None:
    email = unique_email()
    account = admin.add_account(email)["id"]
    user = _user()
    page = connect(
        devhost, sandbox_http, user, account, mode="redirect", returnUrl=f"{PRODUCT_ORIGIN}/settings?tab=2"
    )
    assert page.status_code == 303
    target = urlsplit(page.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{PRODUCT_ORIGIN}/settings"
    query = parse_qs(target.query)
    assert query["tab"] == ["2"] and query["slotbridge_connect"] == ["connected"]
    assert query["connectionId"] == [connections(devhost, user)[0]["connectionId"]]


@pytest.mark.parametrize(
    "evil",
    [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "https://product.example@evil.example",
        "https://evil.example/https://product.example",
    ],
)
def test_return_urls_off_the_allowlist_fall_back_to_the_default(
    devhost: DevHost, admin, sandbox_http, evil
) -> None:
    email = unique_email()
    account = admin.add_account(email)["id"]
    page = connect(devhost, sandbox_http, _user(), account, mode="redirect", returnUrl=evil)
    assert page.status_code == 303
    assert page.headers["Location"].startswith(f"{PRODUCT_ORIGIN}/settings?")


def test_an_opener_origin_off_the_allowlist_is_never_a_message_target(
    devhost: DevHost, admin, sandbox_http
) -> None:
    email = unique_email()
    account = admin.add_account(email)["id"]
    page = connect(devhost, sandbox_http, _user(), account, openerOrigin="https://evil.example")
    assert page.status_code == 200
    _, target = popup_message(page)  # type: ignore[misc]
    assert target == PRODUCT_ORIGIN  # the allowed origin of the default return URL, never the evil one
    assert "evil.example" not in page.text


def test_replayed_state_is_refused_without_a_token_exchange(devhost: DevHost, admin, sandbox_http) -> None:
    email = unique_email()
    account = admin.add_account(email)["id"]
    user = _user()
    started = start(devhost, user)
    fields = sign_in(sandbox_http, started.json()["authorizationUrl"], account)
    assert post_back(devhost, fields).status_code == 200
    admin.clear_request_log()
    replay = post_back(devhost, fields)
    assert replay.status_code == 400
    assert "already used" in replay.text or "unknown" in replay.text
    assert _token_calls(admin) == 0
    assert len(connections(devhost, user)) == 1


def test_tampered_missing_and_unknown_state_are_refused(devhost: DevHost, admin, sandbox_http) -> None:
    email = unique_email()
    account = admin.add_account(email)["id"]
    user = _user()
    started = start(devhost, user)
    fields = sign_in(sandbox_http, started.json()["authorizationUrl"], account)
    admin.clear_request_log()
    tampered = dict(fields, state=fields["state"][:-2] + "xx")
    assert post_back(devhost, tampered).status_code == 400
    assert post_back(devhost, {k: v for k, v in fields.items() if k != "state"}).status_code == 400
    page = post_back(devhost, dict(fields, state="<script>alert(1)</script>"))
    assert page.status_code == 400 and "<script>alert" not in page.text
    assert _token_calls(admin) == 0
    assert connections(devhost, user) == []


def test_expired_state_is_refused(devhost: DevHost, admin, sandbox_http) -> None:
    email = unique_email()
    account = admin.add_account(email)["id"]
    user = _user()
    started = start(devhost, user)
    fields = sign_in(sandbox_http, started.json()["authorizationUrl"], account)
    table = storage_account().table(PendingFlowRecord)
    [flow] = [f for f in table.query() if f.user_id == user]
    flow.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    table.update(flow)
    page = post_back(devhost, fields)
    assert page.status_code == 400 and "expired" in page.text
    assert connections(devhost, user) == []


@pytest.mark.parametrize(
    ("switches", "action", "code"),
    [
        ({}, "cancel", "consent_declined"),
        ({"declines_consent": True}, "accept", "consent_declined"),
        ({"admin_approval_required": True}, "accept", "admin_approval_required"),
        ({"conditional_access_blocked": True}, "accept", "conditional_access_blocked"),
        ({"grantable_scopes": ["User.Read", "MailboxSettings.Read"]}, "accept", "insufficient_permissions"),
    ],
)
def test_sign_in_failures_become_problem_codes(
    devhost: DevHost, admin, sandbox_http, switches, action, code
) -> None:
    email = unique_email()
    account = admin.add_account(email, **switches)["id"]
    user = _user()
    page = connect(devhost, sandbox_http, user, account, action=action)
    message, _ = popup_message(page)  # type: ignore[misc]
    assert (message["status"], message["code"]) == ("error", code)
    if code == "admin_approval_required":
        assert "/adminconsent?" in message["adminConsentUrl"]
        assert "adminconsent" in page.text
    assert connections(devhost, user) == []


def test_personal_accounts_are_marked(devhost: DevHost, admin, sandbox_http) -> None:
    email = unique_email(domain="outlook.com")
    account = admin.add_account(email, kind="personal")["id"]
    user = _user()
    connect(devhost, sandbox_http, user, account)
    assert connections(devhost, user)[0]["accountType"] == "personal"


def test_one_account_belongs_to_one_user(devhost: DevHost, admin, sandbox_http) -> None:
    email = unique_email()
    account = admin.add_account(email)["id"]
    first, second = _user(), _user()
    connect(devhost, sandbox_http, first, account)
    page = connect(devhost, sandbox_http, second, account)
    message, _ = popup_message(page)  # type: ignore[misc]
    assert message["code"] == "account_already_linked"
    assert "share" in message["message"]
    assert connections(devhost, second) == []
    assert len(connections(devhost, first)) == 1


def test_per_user_account_limit(devhost: DevHost, admin, sandbox_http) -> None:
    user = _user()
    accounts = [admin.add_account(unique_email())["id"] for _ in range(3)]
    for account in accounts[:2]:
        connect(devhost, sandbox_http, user, account)
    message, _ = popup_message(connect(devhost, sandbox_http, user, accounts[2]))  # type: ignore[misc]
    assert message["code"] == "account_limit_reached"
    assert len(connections(devhost, user)) == 2


def _limit_url(devhost: DevHost, user: str) -> str:
    return f"{devhost.api_url}/users/{user}/account-limit"


def test_the_product_sets_a_users_account_limit_and_the_connect_flow_keeps_it(
    devhost: DevHost, admin, sandbox_http
) -> None:
    """Plan limits (issue 16): 2 on Free refuses a third account; 4 on Pro takes it (and a fourth),
    and refuses a fifth; a user cannot raise their own; bad values are clear 400s."""
    user = _user()
    url = _limit_url(devhost, user)
    default = requests.get(url, headers=BACKEND, timeout=10)
    assert default.status_code == 200, default.text
    assert default.json() == {"maxAccounts": 2, "isDefault": True, "connectedAccounts": 0}

    mine = {"Authorization": f"Bearer {issue_user_token(USER_TOKEN_KEY, user)}"}
    raised = requests.put(url, json={"maxAccounts": 20}, headers=mine, timeout=10)
    assert raised.status_code == 403 and raised.json()["code"] == "unauthorized", raised.text
    # Refused for who is asking before what is asked: a user token with a bad body is 403 too.
    for body in ({"maxAccounts": "lots"}, {}):
        refused = requests.put(url, json=body, headers=mine, timeout=10)
        assert refused.status_code == 403 and refused.json()["code"] == "unauthorized", refused.text
    assert requests.get(url, headers=mine, timeout=10).json()["maxAccounts"] == 2
    for bad in (
        {},
        {"maxAccounts": 0},
        {"maxAccounts": 21},
        {"maxAccounts": "4"},
        {"maxAccounts": True},
        {"maxAccounts": 4.5},
        {"maxAccounts": 4, "plan": "pro"},
    ):
        r = requests.put(url, json=bad, headers=BACKEND, timeout=10)
        assert r.status_code == 400 and r.json()["code"] == "validation_error", (bad, r.text)
    assert requests.get(url, headers=BACKEND, timeout=10).json()["isDefault"] is True

    accounts = [admin.add_account(unique_email())["id"] for _ in range(5)]
    free = requests.put(url, json={"maxAccounts": 2}, headers=BACKEND, timeout=10)
    assert free.status_code == 200 and free.json()["isDefault"] is False, free.text
    for account in accounts[:2]:
        connect(devhost, sandbox_http, user, account)
    message, _ = popup_message(connect(devhost, sandbox_http, user, accounts[2]))  # type: ignore[misc]
    assert message["code"] == "account_limit_reached" and "at most 2 " in message["message"]
    assert len(connections(devhost, user)) == 2

    pro = requests.put(url, json={"maxAccounts": 4}, headers=BACKEND, timeout=10)
    assert pro.json() == {"maxAccounts": 4, "isDefault": False, "connectedAccounts": 2}, pro.text
    for account in accounts[2:4]:
        message, _ = popup_message(connect(devhost, sandbox_http, user, account))  # type: ignore[misc]
        assert message["status"] == "connected", message
    message, _ = popup_message(connect(devhost, sandbox_http, user, accounts[4]))  # type: ignore[misc]
    assert message["code"] == "account_limit_reached" and "at most 4 " in message["message"]
    assert requests.get(url, headers=mine, timeout=10).json()["connectedAccounts"] == 4


def test_reconnecting_the_same_account_heals_it(devhost: DevHost, admin, sandbox_http) -> None:
    email = unique_email()
    account = admin.add_account(email)["id"]
    user = _user()
    connect(devhost, sandbox_http, user, account)
    [before] = connections(devhost, user)
    admin.revoke_grant(account, reason="revoked")
    admin.expire_access_tokens(account)
    r = requests.get(f"{devhost.api_url}/users/{user}/calendars", headers=BACKEND, timeout=30)
    assert r.json()["unavailable"] == [{"connectionId": before["connectionId"], "code": "needs_reconnect"}]
    assert connections(devhost, user)[0]["status"] == "needs_reconnect"
    connect(devhost, sandbox_http, user, account)
    [after] = connections(devhost, user)
    assert (after["connectionId"], after["status"]) == (before["connectionId"], "connected")
    r = requests.get(f"{devhost.api_url}/users/{user}/calendars", headers=BACKEND, timeout=30)
    assert r.json()["unavailable"] == [] and r.json()["calendars"]


def test_a_flow_is_single_use_even_when_two_callbacks_race(devhost: DevHost, admin, sandbox_http) -> None:
    from concurrent.futures import ThreadPoolExecutor

    email = unique_email()
    account = admin.add_account(email)["id"]
    user = _user()
    started = start(devhost, user)
    fields = sign_in(sandbox_http, started.json()["authorizationUrl"], account)
    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(r.status_code for r in pool.map(lambda _: post_back(devhost, fields), range(4)))
    assert statuses == [200, 400, 400, 400]
    time.sleep(0.1)
    assert len(connections(devhost, user)) == 1


def test_housekeeping_removes_abandoned_sign_ins_and_keeps_live_ones(devhost: DevHost) -> None:
    from lib.features.connections.connect_flow import sweep_expired_flows

    abandoned, live = _user(), _user()
    start(devhost, abandoned)  # the user closed the pop-up: nobody ever calls back
    start(devhost, live)
    table = storage_account().table(PendingFlowRecord)
    [flow] = [f for f in table.query() if f.user_id == abandoned]
    flow.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    table.update(flow)

    assert sweep_expired_flows() >= 1
    remaining = {f.user_id for f in table.query()}
    assert abandoned not in remaining and live in remaining
