"""OAuth 2.0 for web server apps as Google documents it: PKCE, offline access, granular consent,
refresh, revoke, Google's error shapes."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
import requests

from devstack.google import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, GoogleStandIn
from devstack.google.admin_client import GoogleAdmin
from tests.fixtures.google import (
    GOOGLE_SCOPES,
    REDIRECT_URI,
    S,
    auth_url,
    google_connect,
    google_sign_in,
    pkce_pair,
    unique_gmail,
)

pytestmark = pytest.mark.integration


def _token(google: GoogleStandIn, http: requests.Session, **form: str) -> requests.Response:
    body = {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET, **form}
    return http.post(f"{google.url}/token", data=body, timeout=10)


def test_code_flow_with_pkce_gives_offline_tokens_and_an_id_token_with_the_email(
    google: GoogleStandIn, google_admin: GoogleAdmin, google_http: requests.Session
) -> None:
    user = google_admin.add_user(unique_gmail("hana"), name="Hana Host")
    token = google_connect(google, google_http, user["sub"])
    assert token["token_type"] == "Bearer" and token["expires_in"] > 0
    assert token["refresh_token"].startswith("1//")
    # Google answers full scope URLs, `email` included.
    granted = token["scope"].split()
    assert f"{S}userinfo.email" in granted and "openid" in granted
    assert {s for s in GOOGLE_SCOPES if s.startswith("https://")} <= set(granted)
    claims = jwt.decode(token["id_token"], options={"verify_signature": False})
    assert (
        claims["email"] == user["email"]
        and claims["aud"] == DEFAULT_CLIENT_ID
        and claims["sub"] == user["sub"]
    )
    info = google_http.get(
        f"{google.url}/v1/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10
    )
    assert info.json()["email"] == user["email"]

    refreshed = _token(google, google_http, grant_type="refresh_token", refresh_token=token["refresh_token"])
    assert refreshed.status_code == 200
    assert "refresh_token" not in refreshed.json()  # Google does not rotate refresh tokens
    assert refreshed.json()["scope"] == token["scope"]


def test_the_user_can_grant_only_some_scopes_on_the_consent_page(
    google: GoogleStandIn, google_admin: GoogleAdmin, google_http: requests.Session
) -> None:
    user = google_admin.add_user(unique_gmail())
    token = google_connect(google, google_http, user["sub"], untick=(S + "calendar.events.owned",))
    assert S + "calendar.events.owned" not in token["scope"].split()
    # Writing then fails with Google's insufficient-scope answer.
    resp = google_http.post(
        f"{google.url}/calendar/v3/calendars/primary/events",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        json={"start": {"date": "2026-12-01"}, "end": {"date": "2026-12-02"}},
        timeout=10,
    )
    assert resp.status_code == 403
    err = resp.json()["error"]
    assert err["errors"][0]["reason"] == "insufficientPermissions"
    assert err["message"] == "Request had insufficient authentication scopes."


def test_admin_limits_what_a_user_can_grant(
    google: GoogleStandIn, google_admin: GoogleAdmin, google_http: requests.Session
) -> None:
    user = google_admin.add_user(unique_gmail(), grantable_scopes=[S + "calendar.readonly"])
    token = google_connect(google, google_http, user["sub"])
    assert set(token["scope"].split()) == {"openid", S + "userinfo.email", S + "calendar.readonly"}


def test_refresh_token_only_on_first_consent_unless_prompt_consent(
    google: GoogleStandIn, google_admin: GoogleAdmin, google_http: requests.Session
) -> None:
    user = google_admin.add_user(unique_gmail())
    assert "refresh_token" in google_connect(google, google_http, user["sub"], prompt="select_account")
    again = google_connect(google, google_http, user["sub"], prompt="select_account")
    assert "refresh_token" not in again
    assert "refresh_token" in google_connect(google, google_http, user["sub"], prompt="consent")


def test_pkce_and_single_use_codes(
    google: GoogleStandIn, google_admin: GoogleAdmin, google_http: requests.Session
) -> None:
    user = google_admin.add_user(unique_gmail())
    verifier, challenge = pkce_pair()
    back = google_sign_in(google_http, auth_url(google, GOOGLE_SCOPES, challenge, "s1"), user["sub"])
    wrong = _token(
        google,
        google_http,
        grant_type="authorization_code",
        code=back["code"],
        redirect_uri=REDIRECT_URI,
        code_verifier="not-the-verifier-" + "x" * 40,
    )
    assert wrong.status_code == 400
    assert wrong.json() == {"error": "invalid_grant", "error_description": "Invalid code verifier."}
    # The code was spent by the failed attempt too: a code is single-use.
    again = _token(
        google,
        google_http,
        grant_type="authorization_code",
        code=back["code"],
        redirect_uri=REDIRECT_URI,
        code_verifier=verifier,
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_cancel_and_bad_requests(
    google: GoogleStandIn, google_admin: GoogleAdmin, google_http: requests.Session
) -> None:
    user = google_admin.add_user(unique_gmail())
    _, challenge = pkce_pair()
    back = google_sign_in(
        google_http, auth_url(google, GOOGLE_SCOPES, challenge, "st"), user["sub"], action="cancel"
    )
    assert back == {"error": "access_denied", "state": "st"}
    page = google_http.get(
        auth_url(google, GOOGLE_SCOPES, challenge, "st", redirect_uri="https://evil.example/cb"), timeout=10
    )
    assert page.status_code == 400 and "redirect_uri_mismatch" in page.text
    bad_secret = google_http.post(
        f"{google.url}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": "x",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": "no",
        },
        timeout=10,
    )
    assert bad_secret.status_code == 401 and bad_secret.json()["error"] == "invalid_client"


def test_revoked_grant_answers_invalid_grant_on_refresh_and_401_on_the_api(
    google: GoogleStandIn, google_admin: GoogleAdmin, google_http: requests.Session
) -> None:
    for how in ("endpoint", "revoked", "expired"):
        user = google_admin.add_user(unique_gmail())
        token = google_connect(google, google_http, user["sub"])
        if how == "endpoint":
            r = google_http.post(f"{google.url}/revoke", data={"token": token["access_token"]}, timeout=10)
            assert r.status_code == 200
        else:
            assert google_admin.revoke_grant(user["email"], how) == 1
        refresh = _token(
            google, google_http, grant_type="refresh_token", refresh_token=token["refresh_token"]
        )
        assert refresh.status_code == 400
        assert refresh.json() == {
            "error": "invalid_grant",
            "error_description": "Token has been expired or revoked.",
        }
        api = google_http.get(
            f"{google.url}/calendar/v3/users/me/calendarList",
            headers={"Authorization": f"Bearer {token['access_token']}"},
            timeout=10,
        )
        assert api.status_code == 401
        assert api.json()["error"]["errors"][0]["reason"] == "authError"


def test_too_many_refresh_tokens_invalidates_the_oldest(
    google: GoogleStandIn, google_admin: GoogleAdmin, google_http: requests.Session
) -> None:
    google_admin.settings(refresh_token_limit=2)
    user = google_admin.add_user(unique_gmail())
    first, second, third = (google_connect(google, google_http, user["sub"]) for _ in range(3))
    assert (
        _token(google, google_http, grant_type="refresh_token", refresh_token=first["refresh_token"]).json()[
            "error"
        ]
        == "invalid_grant"
    )
    for t in (second, third):
        assert _token(google, google_http, grant_type="refresh_token", refresh_token=t["refresh_token"]).ok


def test_prompt_none_without_consent_redirects_with_consent_required(
    google: GoogleStandIn, google_admin: GoogleAdmin, google_http: requests.Session
) -> None:
    user = google_admin.add_user(unique_gmail())
    _, challenge = pkce_pair()
    url = auth_url(google, GOOGLE_SCOPES, challenge, "p", prompt="none", login_hint=user["email"])
    resp = google_http.get(url, allow_redirects=False, timeout=10)
    assert resp.status_code == 302
    assert dict(parse_qsl(urlsplit(resp.headers["Location"]).query)) == {
        "error": "consent_required",
        "state": "p",
    }


def test_expired_access_token_is_401_until_refreshed(
    google: GoogleStandIn, google_admin: GoogleAdmin, google_http: requests.Session
) -> None:
    user = google_admin.add_user(unique_gmail())
    token = google_connect(google, google_http, user["sub"])
    assert google_admin.expire_access_tokens(user["email"]) >= 1
    url = f"{google.url}/calendar/v3/users/me/calendarList"
    expired = google_http.get(url, headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10)
    assert expired.status_code == 401 and "WWW-Authenticate" in expired.headers
    fresh = _token(
        google, google_http, grant_type="refresh_token", refresh_token=token["refresh_token"]
    ).json()
    ok = google_http.get(url, headers={"Authorization": f"Bearer {fresh['access_token']}"}, timeout=10)
    assert ok.status_code == 200
