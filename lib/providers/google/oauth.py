"""Google's OAuth 2.0 for a web server app: the authorization URL (code + PKCE S256,
`access_type=offline` and `prompt=consent`, so every sign-in - a reconnect too - gets a refresh
token), the code exchange, refresh and revocation at the endpoints settings name (the local
stand-in's in tests), plain `requests`.

Why not google-auth / google-auth-oauthlib: they add a JWT/crypto stack and their own transport
for four form posts, and google-auth-oauthlib's Flow keeps the PKCE verifier in a Python object,
while Slotbridge must seal the flow between two requests (connections does) - the code here is
the protocol and nothing more.

The ID token comes straight from the token endpoint over TLS, so its claims are read without
checking its signature (OpenID Connect Core 3.1.3.7: TLS validates the issuer there); its
audience must be this client."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests

from lib.adapters.identity.sign_in_errors import (
    ConsentDeclined,
    InsufficientPermissions,
    InvalidSignInState,
    SignInFailed,
)
from lib.adapters.outbound_http import make_session
from lib.core.errors import FieldError, SlotbridgeError, ValidationFailed
from lib.core.settings import GoogleSettings, Settings, get_settings, settings_cached
from lib.providers.google.errors import GoogleUnavailable

SCOPE_BASE = "https://www.googleapis.com/auth/"
# The least that does the job (README "Google Calendar" explains each):
CALENDAR_LIST_SCOPE = SCOPE_BASE + "calendar.calendarlist.readonly"  # which calendars, and the role on each
EVENTS_SCOPE = SCOPE_BASE + "calendar.events"  # read busy time, write bookings, watch for changes
SCOPES = ("openid", "email", CALENDAR_LIST_SCOPE, EVENTS_SCOPE)
REQUIRED_SCOPES = (CALENDAR_LIST_SCOPE, EVENTS_SCOPE)
TIMEOUT_S = 15.0


@dataclass(frozen=True)
class GoogleTokens:
    """What the token endpoint gave: kept sealed in the vault, never logged."""

    refresh_token: str
    access_token: str
    expires_at: float  # epoch seconds
    scopes: tuple[str, ...]

    def to_json(self) -> str:
        return json.dumps(
            {"r": self.refresh_token, "a": self.access_token, "e": self.expires_at, "s": list(self.scopes)}
        )

    @classmethod
    def from_json(cls, text: str) -> GoogleTokens:
        data = json.loads(text)
        return cls(str(data["r"]), str(data["a"]), float(data["e"]), tuple(str(s) for s in data["s"]))


class GrantRefused(Exception):
    """The token endpoint said `invalid_grant` (revoked, expired, a testing app's 7-day token, too
    many tokens): only a new sign-in helps."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@settings_cached
def http() -> requests.Session:
    return make_session(get_settings().ca_bundle)


def configured(settings: Settings) -> GoogleSettings:
    """Google's settings, refused clearly when this deployment has no Google client."""
    if not settings.google.enabled:
        raise ValidationFailed(
            "Google Calendar is not set up for this deployment.",
            [FieldError("provider", "Google Calendar is not available here")],
        )
    return settings.google


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorization(settings: Settings, state: str) -> tuple[str, dict[str, Any]]:
    """The authorization URL and the flow to keep (the PKCE verifier: secret, sealed by connections)."""
    google = configured(settings)
    verifier = secrets.token_urlsafe(64)
    query = urlencode(
        {
            "client_id": google.client_id,
            "redirect_uri": settings.redirect_uri,
            "response_type": "code",
            "scope": " ".join(SCOPES),
            "state": state,
            "code_challenge": _challenge(verifier),
            "code_challenge_method": "S256",
            "access_type": "offline",
            "prompt": "consent",
        }
    )
    return f"{google.auth_url}?{query}", {"state": state, "code_verifier": verifier}


def _token_call(google: GoogleSettings, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
    data = {"client_id": google.client_id or "", "client_secret": google.client_secret or "", **form}
    try:
        answer = http().post(google.token_url, data=data, timeout=TIMEOUT_S)
    except requests.RequestException as error:
        raise GoogleUnavailable(f"Google's token endpoint did not answer ({type(error).__name__}).") from None
    try:
        body = answer.json()
    except ValueError:
        body = None
    return answer.status_code, body if isinstance(body, dict) else {}


def _tokens(body: dict[str, Any], refresh_token: str | None) -> GoogleTokens:
    access = body.get("access_token")
    refresh = body.get("refresh_token") or refresh_token
    if not isinstance(access, str) or not isinstance(refresh, str) or not refresh:
        raise SignInFailed("Google's answer carried no usable tokens. Connect again.")
    lifetime = body.get("expires_in")
    expires = time.time() + (float(lifetime) if isinstance(lifetime, int | float) else 0.0)
    scope = body.get("scope")
    return GoogleTokens(refresh, access, expires, tuple(sorted(str(scope or "").split())))


def sign_in_error(error: str) -> SlotbridgeError:
    """The typed error of an authorization redirect carrying `error`."""
    if error == "access_denied":
        return ConsentDeclined("You declined the permissions Slotbridge asked for, so nothing was connected.")
    if error in ("temporarily_unavailable", "server_error"):
        return GoogleUnavailable("Google sign-in is temporarily unavailable. Try again in a moment.")
    return SignInFailed(f"Google sign-in failed ({error[:64]}). Connect again.")


def exchange(
    settings: Settings, flow: dict[str, Any], params: dict[str, str]
) -> tuple[GoogleTokens, dict[str, Any]]:
    """The callback's code exchanged (with the PKCE verifier): the tokens and the ID token's claims.
    Raises the sign-in's error; a grant without the calendar scopes is `insufficient_permissions`."""
    google = configured(settings)
    if params.get("error"):
        raise sign_in_error(params["error"])
    if params.get("state") != flow.get("state") or not params.get("code"):
        raise InvalidSignInState("The sign-in response does not match this sign-in. Start again.")
    status, body = _token_call(
        google,
        {
            "grant_type": "authorization_code",
            "code": params["code"],
            "code_verifier": str(flow.get("code_verifier", "")),
            "redirect_uri": settings.redirect_uri,
        },
    )
    if status >= 500:
        raise GoogleUnavailable("Google sign-in is temporarily unavailable. Try again in a moment.")
    if status != 200:
        if body.get("error") == "invalid_grant":
            raise InvalidSignInState("This sign-in has expired or was already used. Start connecting again.")
        raise SignInFailed(f"Google sign-in failed ({str(body.get('error', status))[:64]}). Connect again.")
    tokens = _tokens(body, None)
    missing = [scope for scope in REQUIRED_SCOPES if scope not in tokens.scopes]
    if missing:
        raise InsufficientPermissions(
            "Slotbridge needs to see your calendar list and to read and write events in Google Calendar, "
            "and not every permission was granted (missing: "
            + ", ".join(scope.removeprefix(SCOPE_BASE) for scope in missing)
            + "). Connect again and tick every box."
        )
    return tokens, _claims(body.get("id_token"), google)


def _claims(id_token: Any, google: GoogleSettings) -> dict[str, Any]:
    try:
        payload = str(id_token).split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        raise SignInFailed("Google's answer did not identify an account. Connect again.") from None
    audience = claims.get("aud") if isinstance(claims, dict) else None
    if (
        not isinstance(claims, dict)
        or not claims.get("sub")
        or google.client_id not in (audience if isinstance(audience, list) else [audience])
    ):
        raise SignInFailed("Google's answer did not identify an account for Slotbridge. Connect again.")
    return claims


def refresh(google: GoogleSettings, refresh_token: str) -> GoogleTokens:
    """A new access token. Raises `GrantRefused` (invalid_grant) or `GoogleUnavailable`."""
    status, body = _token_call(google, {"grant_type": "refresh_token", "refresh_token": refresh_token})
    if status == 200:
        return _tokens(body, refresh_token)
    error = str(body.get("error", ""))
    if status == 400 and error == "invalid_grant":
        raise GrantRefused(error)
    raise GoogleUnavailable(f"Google did not issue a token ({error or status}); try again shortly.")


def revoke(google: GoogleSettings, token: str) -> None:
    """Revoke the grant (best effort: a disconnect goes on whatever Google answers)."""
    try:
        http().post(google.revoke_url, data={"token": token}, timeout=TIMEOUT_S)
    except requests.RequestException:
        pass
