"""Identity platform through MSAL: auth-code flow with PKCE, refresh with rotation, the AADSTS
errors of the sign-in page and of the token endpoint."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest
import requests

from devstack.sandbox import CONSUMERS_TENANT_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox
from devstack.sandbox.admin_client import AdminError, SandboxAdmin
from tests.fixtures.sandbox import GRAPH_SCOPES, connect, msal_app, sign_in, unique_email

pytestmark = pytest.mark.integration
REDIRECT = "http://127.0.0.1:7071/api/auth/callback"


def b64json(part: str) -> dict[str, Any]:
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def test_openid_configuration_shape(sandbox: Sandbox, sandbox_http: requests.Session) -> None:
    for tenant in ("common", "organizations", "consumers", sandbox.app.config.tenant_id):
        r = sandbox_http.get(f"{sandbox.url}/{tenant}/v2.0/.well-known/openid-configuration")
        assert r.status_code == 200
        doc = r.json()
        assert doc["authorization_endpoint"] == f"{sandbox.url}/{tenant}/oauth2/v2.0/authorize"
        assert doc["token_endpoint"] == f"{sandbox.url}/{tenant}/oauth2/v2.0/token"
        assert "S256" not in doc["response_types_supported"]
        assert doc["issuer"].endswith("/v2.0")
    assert sandbox_http.get(f"{sandbox.url}/common/v2.0/.well-known/openid-configuration").json()[
        "issuer"
    ] == (f"{sandbox.url}/{{tenantid}}/v2.0")
    bad = sandbox_http.get(f"{sandbox.url}/nope/v2.0/.well-known/openid-configuration")
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_tenant"
    assert bad.json()["error_codes"] == [90002]


def test_auth_code_flow_work_account(
    sandbox: Sandbox, admin: SandboxAdmin, sandbox_http: requests.Session
) -> None:
    account = admin.add_account(unique_email(), display_name="Ada Lovelace")
    app, result = connect(sandbox, sandbox_http, account["id"])
    assert result["token_type"] == "Bearer"
    assert set(result["scope"].split()) >= {"Calendars.ReadWrite", "User.Read", "MailboxSettings.Read"}
    assert result["expires_in"] == 3600 and "refresh_token" in result
    claims = result["id_token_claims"]
    assert claims["tid"] == sandbox.app.config.tenant_id
    assert claims["oid"] == account["id"] and claims["aud"] == DEFAULT_CLIENT_ID
    assert claims["preferred_username"] == account["email"] and claims["name"] == "Ada Lovelace"
    assert claims["nonce"]  # MSAL compared it with the flow's nonce already
    assert b64json(result["client_info"]) == {"uid": account["id"], "utid": sandbox.app.config.tenant_id}
    # The id_token is really signed with the published key.
    jwks = sandbox_http.get(f"{sandbox.url}/common/discovery/v2.0/keys").json()
    key = jwt.PyJWK(jwks["keys"][0]).key
    jwt.decode(result["id_token"], key, algorithms=["RS256"], audience=DEFAULT_CLIENT_ID)
    (msal_account,) = app.get_accounts()
    assert msal_account["home_account_id"] == f"{account['id']}.{sandbox.app.config.tenant_id}"


def test_auth_code_flow_personal_account(
    sandbox: Sandbox, admin: SandboxAdmin, sandbox_http: requests.Session
) -> None:
    account = admin.add_account(unique_email("msa", "outlook.com"), kind="personal")
    _, result = connect(sandbox, sandbox_http, account["id"])
    claims = result["id_token_claims"]
    assert claims["tid"] == CONSUMERS_TENANT_ID
    assert claims["oid"].startswith("00000000-0000-0000-")
    assert b64json(result["client_info"])["utid"] == CONSUMERS_TENANT_ID
    me = sandbox_http.get(
        f"{sandbox.url}/v1.0/me", headers={"Authorization": f"Bearer {result['access_token']}"}
    )
    assert me.json()["id"] == account["graph_id"] and len(me.json()["id"]) == 16


def test_consumers_authority_offers_personal_accounts_only(
    sandbox: Sandbox, admin: SandboxAdmin, sandbox_http: requests.Session
) -> None:
    work = admin.add_account(unique_email())
    app = msal_app(sandbox, tenant="consumers")
    flow = app.initiate_auth_code_flow(GRAPH_SCOPES, redirect_uri=REDIRECT)
    with pytest.raises(AssertionError, match="not offered"):
        sign_in(sandbox_http, flow["auth_uri"], work["id"])


def test_code_is_single_use_and_pkce_checked(
    sandbox: Sandbox, admin: SandboxAdmin, sandbox_http: requests.Session
) -> None:
    account = admin.add_account(unique_email())
    app = msal_app(sandbox)
    flow = app.initiate_auth_code_flow(GRAPH_SCOPES, redirect_uri=REDIRECT)
    params = sign_in(sandbox_http, flow["auth_uri"], account["id"])
    token_url = f"{sandbox.url}/common/oauth2/v2.0/token"
    form = {
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "grant_type": "authorization_code",
        "code": params["code"],
        "redirect_uri": REDIRECT,
        "scope": " ".join(GRAPH_SCOPES),
    }
    wrong_verifier = sandbox_http.post(token_url, data={**form, "code_verifier": "x" * 43})
    assert wrong_verifier.status_code == 400
    assert wrong_verifier.json()["error"] == "invalid_grant" and wrong_verifier.json()["error_codes"] == [
        501481
    ]
    wrong_redirect = sandbox_http.post(
        token_url,
        data={**form, "code_verifier": flow["code_verifier"], "redirect_uri": "http://127.0.0.1:9/cb"},
    )
    assert wrong_redirect.json()["error"] == "invalid_grant"
    bad_secret = sandbox_http.post(token_url, data={**form, "client_secret": "nope"})
    assert bad_secret.status_code == 401 and bad_secret.json()["error"] == "invalid_client"
    assert bad_secret.json()["error_description"].startswith("AADSTS7000215:")
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert "access_token" in result
    reuse = sandbox_http.post(token_url, data={**form, "code_verifier": flow["code_verifier"]})
    assert reuse.status_code == 400
    body = reuse.json()
    assert body["error"] == "invalid_grant" and body["error_codes"] == [54005]
    assert {"error_description", "timestamp", "trace_id", "correlation_id"} <= body.keys()


def test_unregistered_client_and_redirect_show_error_page(
    sandbox: Sandbox, sandbox_http: requests.Session
) -> None:
    r = sandbox_http.get(
        f"{sandbox.url}/common/oauth2/v2.0/authorize",
        params={"client_id": "nope", "response_type": "code", "redirect_uri": REDIRECT, "scope": "openid"},
    )
    assert r.status_code == 400 and "AADSTS700016" in r.text
    r = sandbox_http.get(
        f"{sandbox.url}/common/oauth2/v2.0/authorize",
        params={
            "client_id": DEFAULT_CLIENT_ID,
            "response_type": "code",
            "redirect_uri": "https://evil.example/cb",
            "scope": "openid",
        },
    )
    assert r.status_code == 400 and "AADSTS50011" in r.text


@pytest.mark.parametrize(
    ("switch", "action", "error", "code"),
    [
        ({}, "cancel", "access_denied", "AADSTS65004"),
        ({"declines_consent": True}, "accept", "access_denied", "AADSTS65004"),
        ({"admin_approval_required": True}, "accept", "access_denied", "AADSTS90094"),
        ({"conditional_access_blocked": True}, "accept", "access_denied", "AADSTS53003"),
    ],
)
def test_sign_in_failures_redirect_with_aadsts(
    sandbox: Sandbox,
    admin: SandboxAdmin,
    sandbox_http: requests.Session,
    switch: dict[str, Any],
    action: str,
    error: str,
    code: str,
) -> None:
    account = admin.add_account(unique_email(), **switch)
    app = msal_app(sandbox)
    flow = app.initiate_auth_code_flow(GRAPH_SCOPES, redirect_uri=REDIRECT)
    params = sign_in(sandbox_http, flow["auth_uri"], account["id"], action=action)
    assert params["error"] == error and params["error_description"].startswith(code + ":")
    assert params["state"] == flow["state"]
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert result["error"] == error


def test_partial_consent_grants_some_scopes(
    sandbox: Sandbox, admin: SandboxAdmin, sandbox_http: requests.Session
) -> None:
    account = admin.add_account(unique_email(), grantable_scopes=["User.Read"])
    _, result = connect(sandbox, sandbox_http, account["id"])
    assert "Calendars.ReadWrite" not in result["scope"].split() and "User.Read" in result["scope"].split()
    auth = {"Authorization": f"Bearer {result['access_token']}"}
    assert sandbox_http.get(f"{sandbox.url}/v1.0/me", headers=auth).status_code == 200
    denied = sandbox_http.get(f"{sandbox.url}/v1.0/me/calendars", headers=auth)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "ErrorAccessDenied"


def test_form_post_response_mode(
    sandbox: Sandbox, admin: SandboxAdmin, sandbox_http: requests.Session
) -> None:
    account = admin.add_account(unique_email())
    app = msal_app(sandbox)
    flow = app.initiate_auth_code_flow(GRAPH_SCOPES, redirect_uri=REDIRECT, response_mode="form_post")
    params = sign_in(sandbox_http, flow["auth_uri"], account["id"])
    assert "access_token" in app.acquire_token_by_auth_code_flow(flow, params)


def test_silent_refresh_rotates_refresh_token(
    sandbox: Sandbox, admin: SandboxAdmin, sandbox_http: requests.Session
) -> None:
    account = admin.add_account(unique_email())
    app, first = connect(sandbox, sandbox_http, account["id"])
    (acct,) = app.get_accounts()
    cached = app.acquire_token_silent(GRAPH_SCOPES, acct)
    assert cached["access_token"] == first["access_token"] and cached["token_source"] == "cache"
    refreshed = app.acquire_token_silent(GRAPH_SCOPES, acct, force_refresh=True)
    assert refreshed["token_source"] == "identity_provider"
    assert refreshed["access_token"] != first["access_token"]
    assert refreshed["refresh_token"] != first["refresh_token"]
    # The old access token is expired by the admin switch; Graph says so; a refresh heals it.
    admin.expire_access_tokens(account["email"])
    r = sandbox_http.get(
        f"{sandbox.url}/v1.0/me", headers={"Authorization": f"Bearer {refreshed['access_token']}"}
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "InvalidAuthenticationToken"
    again = app.acquire_token_silent(GRAPH_SCOPES, acct, force_refresh=True)
    ok = sandbox_http.get(
        f"{sandbox.url}/v1.0/me", headers={"Authorization": f"Bearer {again['access_token']}"}
    )
    assert ok.status_code == 200


def test_rotated_refresh_token_can_be_rejected(
    sandbox: Sandbox, admin: SandboxAdmin, sandbox_http: requests.Session
) -> None:
    account = admin.add_account(unique_email())
    _, first = connect(sandbox, sandbox_http, account["id"])
    token_url = f"{sandbox.url}/common/oauth2/v2.0/token"
    form = {
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
        "scope": "User.Read offline_access",
    }
    assert sandbox_http.post(token_url, data=form).status_code == 200
    admin.settings(reject_rotated_refresh_tokens=True)
    try:
        r = sandbox_http.post(token_url, data=form)
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    finally:
        admin.settings(reject_rotated_refresh_tokens=False)


@pytest.mark.parametrize(("reason", "code"), [("revoked", 50173), ("expired", 700082), ("invalid", 70000)])
def test_revoked_grant_gives_invalid_grant(
    sandbox: Sandbox, admin: SandboxAdmin, sandbox_http: requests.Session, reason: str, code: int
) -> None:
    account = admin.add_account(unique_email())
    app, _ = connect(sandbox, sandbox_http, account["id"])
    (acct,) = app.get_accounts()
    assert admin.revoke_grant(account["email"], reason) == 1
    result = app.acquire_token_silent_with_error(GRAPH_SCOPES, acct, force_refresh=True)
    assert result["error"] == "invalid_grant"
    assert result["error_codes"] == [code]
    assert result["error_description"].startswith(f"AADSTS{code}:")
    # Signing in again heals the connection.
    app2, healed = connect(sandbox, sandbox_http, account["id"])
    assert "access_token" in healed
    (acct2,) = app2.get_accounts()
    assert "access_token" in app2.acquire_token_silent(GRAPH_SCOPES, acct2, force_refresh=True)


def test_refresh_with_more_scopes_than_granted_needs_consent(
    sandbox: Sandbox, admin: SandboxAdmin, sandbox_http: requests.Session
) -> None:
    account = admin.add_account(unique_email())
    app, _ = connect(sandbox, sandbox_http, account["id"], scopes=["User.Read"])
    (acct,) = app.get_accounts()
    result = app.acquire_token_silent_with_error(["Calendars.ReadWrite"], acct, force_refresh=True)
    assert result["error"] == "invalid_grant" and result["error_codes"] == [65001]


@pytest.mark.parametrize(
    ("aadsts", "authorize_error", "token_error"),
    [
        (53000, "access_denied", "invalid_grant"),
        (530003, "access_denied", "invalid_grant"),
        (50105, "access_denied", "invalid_grant"),
        (50020, "access_denied", "invalid_grant"),
        (50076, "interaction_required", "interaction_required"),
        (50158, "interaction_required", "interaction_required"),
        (65001, "consent_required", "invalid_grant"),
    ],
)
def test_sign_in_failure_switch_fails_sign_ins_and_refreshes_with_that_code(
    sandbox: Sandbox,
    admin: SandboxAdmin,
    sandbox_http: requests.Session,
    aadsts: int,
    authorize_error: str,
    token_error: str,
) -> None:
    account = admin.add_account(unique_email(), sign_in_failure=aadsts)
    app = msal_app(sandbox)
    flow = app.initiate_auth_code_flow(GRAPH_SCOPES, redirect_uri=REDIRECT)
    params = sign_in(sandbox_http, flow["auth_uri"], account["id"])
    assert params["error"] == authorize_error
    assert params["error_description"].startswith(f"AADSTS{aadsts}:")
    assert params["state"] == flow["state"]
    # Connected before the switch: the refresh fails the same way, with the token endpoint's error.
    admin.update_account(account["id"], sign_in_failure=None)
    app, _ = connect(sandbox, sandbox_http, account["id"])
    (acct,) = app.get_accounts()
    admin.update_account(account["id"], sign_in_failure=aadsts)
    result = app.acquire_token_silent_with_error(GRAPH_SCOPES, acct, force_refresh=True)
    assert result["error"] == token_error and result["error_codes"] == [aadsts]


def test_unknown_sign_in_failure_code_is_refused(admin: SandboxAdmin) -> None:
    with pytest.raises(AdminError, match="sign_in_failure must be one of"):
        admin.add_account(unique_email(), sign_in_failure=12345)


def _admin_consent_url(sandbox: Sandbox, **overrides: str) -> str:
    query = {
        "client_id": DEFAULT_CLIENT_ID,
        "scope": "https://graph.microsoft.com/.default",
        "redirect_uri": REDIRECT,
        "state": "st-123",
        **overrides,
    }
    return f"{sandbox.url}/organizations/v2.0/adminconsent?{urlencode(query)}"


def test_admin_consent_is_recorded_for_the_tenant_and_lifts_admin_approval(
    sandbox: Sandbox, admin: SandboxAdmin, sandbox_http: requests.Session
) -> None:
    tenant = str(uuid.uuid4())
    needs_admin = admin.add_account(unique_email(), tenant_id=tenant, admin_approval_required=True)
    not_consented = admin.add_account(unique_email(), tenant_id=tenant, sign_in_failure=65001)
    elsewhere = admin.add_account(unique_email(), admin_approval_required=True)  # another tenant
    it_admin = admin.add_account(unique_email("admin"), tenant_id=tenant)

    page = sandbox_http.get(_admin_consent_url(sandbox), timeout=10)
    assert page.status_code == 200 and "for the whole organisation" in page.text
    assert page.headers["X-Frame-Options"] == "DENY"
    answer = sign_in(sandbox_http, _admin_consent_url(sandbox), it_admin["id"])
    assert answer == {
        "admin_consent": "True",
        "tenant": tenant,
        "scope": "https://graph.microsoft.com/.default",
        "state": "st-123",
    }
    assert {"tenant_id": tenant, "client_id": DEFAULT_CLIENT_ID, "scopes": [".default"]} in (
        admin.admin_consents()
    )
    # The tenant's users sign in now; a user of another tenant still needs their own admin.
    for account in (needs_admin, not_consented):
        _, result = connect(sandbox, sandbox_http, account["id"])
        assert "access_token" in result
    app = msal_app(sandbox)
    flow = app.initiate_auth_code_flow(GRAPH_SCOPES, redirect_uri=REDIRECT)
    assert sign_in(sandbox_http, flow["auth_uri"], elsewhere["id"])["error_description"].startswith(
        "AADSTS90094:"
    )


def test_admin_consent_declined_and_bad_requests(
    sandbox: Sandbox, admin: SandboxAdmin, sandbox_http: requests.Session
) -> None:
    it_admin = admin.add_account(unique_email("admin"), tenant_id=str(uuid.uuid4()))
    declined = sign_in(sandbox_http, _admin_consent_url(sandbox), it_admin["id"], action="cancel")
    assert declined == {
        "error": "permission_denied",
        "error_description": "The admin canceled the request",
        "state": "st-123",
    }
    assert it_admin["tenant_id"] not in [c["tenant_id"] for c in admin.admin_consents()]
    bad_redirect = sandbox_http.get(_admin_consent_url(sandbox, redirect_uri="https://evil.example/cb"))
    assert bad_redirect.status_code == 400 and "AADSTS50011" in bad_redirect.text
    unknown_app = sandbox_http.get(_admin_consent_url(sandbox, client_id=str(uuid.uuid4())))
    assert unknown_app.status_code == 400 and "AADSTS700016" in unknown_app.text
    no_scope = sandbox_http.get(_admin_consent_url(sandbox, scope=""), allow_redirects=False)
    assert no_scope.status_code == 302 and "error=invalid_request" in no_scope.headers["Location"]
