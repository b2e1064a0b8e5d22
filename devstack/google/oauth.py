"""Google's OAuth 2.0 for web server apps and OpenID Connect: discovery, keys, the consent page
(with per-scope checkboxes: granular consent), the token endpoint (authorization_code with PKCE,
refresh_token), revoke and userinfo."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from html import escape
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.wrappers import Response

from devstack.sandbox.identity import is_loopback_url
from devstack.sandbox.identity_pages import _page

from .config import SCOPE_PREFIX, OAuthClient
from .state import AccessToken, AuthCode, Grant, PendingConsent, RefreshToken, User, new_token
from .web import Ctx, GoogleError, json_response, route

EMAIL = SCOPE_PREFIX + "userinfo.email"
PROFILE = SCOPE_PREFIX + "userinfo.profile"
# Always granted with the sign-in itself; everything else is a checkbox the user may untick.
BASIC_SCOPES = ("openid", EMAIL, PROFILE)
CALENDAR_SCOPES = tuple(
    SCOPE_PREFIX + s
    for s in (
        "calendar",
        "calendar.readonly",
        "calendar.events",
        "calendar.events.readonly",
        "calendar.events.owned",
        "calendar.events.owned.readonly",
        "calendar.events.freebusy",
        "calendar.events.public.readonly",
        "calendar.freebusy",
        "calendar.calendarlist",
        "calendar.calendarlist.readonly",
        "calendar.calendars",
        "calendar.calendars.readonly",
        "calendar.settings.readonly",
        "calendar.acls",
        "calendar.acls.readonly",
        "calendar.app.created",
    )
)
KNOWN_SCOPES = frozenset(BASIC_SCOPES + CALENDAR_SCOPES)
# The short forms Google accepts in `scope`; answers always use the full URLs (as Google does).
_ALIASES = {"email": EMAIL, "profile": PROFILE}
INVALID_GRANT = "Token has been expired or revoked."


class OAuthError(GoogleError):
    """The token and revoke endpoints' flat error: {"error", "error_description"}."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(status, error, description)

    def body(self) -> dict[str, Any]:
        return {"error": self.reason, "error_description": self.message}


def normalize_scopes(raw: str | None) -> list[str]:
    out: list[str] = []
    for s in (raw or "").split():
        s = _ALIASES.get(s, s if s.startswith(("http", "openid")) else SCOPE_PREFIX + s)
        if s not in out:
            out.append(s)
    return out


def with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _redirect(url: str) -> Response:
    resp = Response(status=302)
    resp.headers["Location"] = url
    resp.headers["Cache-Control"] = "no-store"
    return resp


def error_page(error: str, message: str, status: int = 400) -> Response:
    """What Google shows instead of redirecting when the client or redirect URI is wrong."""
    body = (
        "<h1>Access blocked: Authorization Error</h1>"
        f'<p class="err">Error {status}: {escape(error)}</p><p>{escape(message)}</p>'
    )
    return _page("Error", body, status)


def _consent_page(flow_id: str, client: OAuthClient, scopes: list[str], users: list[User]) -> Response:
    accounts = (
        "".join(
            f'<label><input type="radio" name="account" value="{escape(u.sub)}"'
            f"{' checked' if i == 0 else ''}> {escape(u.name)} &lt;{escape(u.email)}&gt;</label>"
            for i, u in enumerate(users)
        )
        or '<p class="err">No Google account is seeded.</p>'
    )
    boxes = "".join(
        f"<li>{escape(s)}</li>"
        if s in BASIC_SCOPES
        else f'<li><label><input type="checkbox" name="scope" value="{escape(s)}" checked> '
        f"{escape(s)}</label></li>"
        for s in scopes
    )
    body = (
        f"<h1>Sign in with Google (stand-in)</h1><p><strong>{escape(client.name)}</strong> wants to access "
        "your Google Account:</p>"
        f'<form method="post"><input type="hidden" name="flow" value="{escape(flow_id)}">'
        f"<fieldset><legend>Choose an account</legend>{accounts}</fieldset><ul>{boxes}</ul>"
        '<p><button type="submit" name="action" value="accept">Continue</button>'
        '<button type="submit" name="action" value="cancel">Cancel</button></p></form>'
    )
    return _page("Sign in - Google Accounts", body)


def _redirect_allowed(client: OAuthClient, uri: str) -> bool:
    return uri in client.redirect_uris if client.redirect_uris else is_loopback_url(uri)


# --- discovery -----------------------------------------------------------------------------------


@route("/.well-known/openid-configuration", ["GET"])
def discovery(ctx: Ctx) -> Response:
    base = ctx.base_url
    return json_response(
        {
            "issuer": base,
            "authorization_endpoint": f"{base}/o/oauth2/v2/auth",
            "token_endpoint": f"{base}/token",
            "userinfo_endpoint": f"{base}/v1/userinfo",
            "revocation_endpoint": f"{base}/revoke",
            "jwks_uri": f"{base}/oauth2/v3/certs",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": ["aud", "email", "email_verified", "exp", "iat", "iss", "name", "sub"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
        }
    )


@route("/oauth2/v3/certs", ["GET"])
def certs(ctx: Ctx) -> Response:
    return json_response(ctx.app.signer.jwks())


# --- authorize -----------------------------------------------------------------------------------


@route("/o/oauth2/v2/auth", ["GET"])
def authorize(ctx: Ctx) -> Response:
    p = dict(ctx.request.args.items())
    state = ctx.app.state
    client = state.clients.get(p.get("client_id", ""))
    if client is None:
        return error_page("invalid_client", "The OAuth client was not found.", 401)
    uri = p.get("redirect_uri", "")
    if not uri:
        return error_page("invalid_request", "Missing required parameter: redirect_uri")
    if not _redirect_allowed(client, uri):
        return error_page(
            "redirect_uri_mismatch",
            "You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 policy. "
            f"Request details: redirect_uri={uri}",
        )

    def back(params: dict[str, str]) -> Response:
        if "state" in p:
            params = {**params, "state": p["state"]}
        return _redirect(with_query(uri, params))

    if p.get("response_type") != "code":
        return error_page("unsupported_response_type", f"Invalid response_type: {p.get('response_type', '')}")
    scopes = normalize_scopes(p.get("scope"))
    if not scopes:
        return error_page("invalid_request", "Missing required parameter: scope")
    unknown = [s for s in scopes if s not in KNOWN_SCOPES]
    if unknown:
        return error_page("invalid_scope", f"Some requested scopes were invalid. {{invalid={unknown}}}")
    if p.get("code_challenge") and p.get("code_challenge_method", "plain") not in ("plain", "S256"):
        return error_page("invalid_request", "Invalid code_challenge_method value.")
    if p.get("access_type", "online") not in ("online", "offline"):
        return error_page("invalid_request", f"Invalid access_type: {p['access_type']}")
    prompts = set(p.get("prompt", "").split())
    if "none" in prompts:
        # No page may be shown: only a user who already granted everything asked gets a code.
        hint = state.user_by_email(p.get("login_hint", "")) if p.get("login_hint") else None
        with state.lock:
            grant = state.grant_for(hint.sub, client.client_id) if hint else None
        if hint is None:
            return back({"error": "login_required"})
        if grant is None or not set(scopes) <= set(grant.scopes) | set(BASIC_SCOPES):
            return back({"error": "consent_required"})
        return back(_issue_code(ctx, p, client, hint, scopes))
    flow = PendingConsent(new_token("flow_"), p, time.time() + 900)
    with state.lock:
        state.pending[flow.id] = flow
        users = list(state.users.values())
        hint_user = state.user_by_email(p.get("login_hint", "")) if p.get("login_hint") else None
    if hint_user is not None:
        users = [hint_user, *[u for u in users if u is not hint_user]]
    return _consent_page(flow.id, client, scopes, users)


@route("/o/oauth2/v2/auth", ["POST"])
def authorize_submit(ctx: Ctx) -> Response:
    form = ctx.request.form
    state = ctx.app.state
    with state.lock:
        flow = state.pending.pop(form.get("flow", ""), None)
    if flow is None or flow.expires_at < time.time():
        return error_page("invalid_request", "The sign-in session is missing or has expired. Start again.")
    p = flow.params
    client = state.clients[p["client_id"]]
    passed = {"state": p["state"]} if "state" in p else {}
    if form.get("action") != "accept":
        return _redirect(with_query(p["redirect_uri"], {"error": "access_denied", **passed}))
    user = state.users.get(form.get("account", ""))
    if user is None:
        return error_page("invalid_request", "Choose an account.")
    if user.declines_consent:
        return _redirect(with_query(p["redirect_uri"], {"error": "access_denied", **passed}))
    requested = normalize_scopes(p.get("scope"))
    ticked = set(form.getlist("scope"))
    granted = [s for s in requested if s in BASIC_SCOPES or s in ticked]
    if user.grantable_scopes is not None:
        allowed = set(normalize_scopes(" ".join(user.grantable_scopes)))
        granted = [s for s in granted if s in BASIC_SCOPES or s in allowed]
    return _redirect(with_query(p["redirect_uri"], {**_issue_code(ctx, p, client, user, granted), **passed}))


def _issue_code(
    ctx: Ctx, p: dict[str, str], client: OAuthClient, user: User, granted: list[str]
) -> dict[str, str]:
    state = ctx.app.state
    offline = p.get("access_type") == "offline"
    with state.lock:
        grant = state.grant_for(user.sub, client.client_id)
        had_refresh = grant is not None and any(
            r.valid and r.grant_id == grant.id for r in state.refresh_tokens.values()
        )
        if grant is None:
            grant = Grant(new_token("grant_", 12), user.sub, client.client_id, [])
            state.grants[grant.id] = grant
        scopes = list(granted)
        if p.get("include_granted_scopes") == "true":
            scopes += [s for s in grant.scopes if s not in scopes]
        grant.scopes += [s for s in granted if s not in grant.scopes]
        code = AuthCode(
            code="4/0A" + secrets.token_urlsafe(40),
            client_id=client.client_id,
            redirect_uri=p["redirect_uri"],
            grant_id=grant.id,
            scopes=scopes,
            nonce=p.get("nonce"),
            code_challenge=p.get("code_challenge"),
            code_challenge_method=p.get("code_challenge_method")
            or ("plain" if p.get("code_challenge") else None),
            offline=offline,
            # Google sends a refresh token on the first offline consent, and again only with
            # prompt=consent: an app that lost it must ask for consent again.
            issue_refresh=offline and (not had_refresh or "consent" in p.get("prompt", "").split()),
            expires_at=time.time() + ctx.app.config.auth_code_lifetime,
        )
        state.codes[code.code] = code
    return {
        "code": code.code,
        "scope": " ".join(scopes),
        "authuser": "0",
        "prompt": "consent",
        "iss": ctx.base_url,
    }


# --- token -----------------------------------------------------------------------------------------


def _client(ctx: Ctx) -> OAuthClient:
    form = ctx.request.form
    client_id, secret = form.get("client_id"), form.get("client_secret")
    auth = ctx.request.authorization
    if auth is not None and auth.type == "basic":
        client_id, secret = auth.username, auth.password
    client = ctx.app.state.clients.get(client_id or "")
    if client is None:
        raise OAuthError(401, "invalid_client", "The OAuth client was not found.")
    if not secret or not secrets.compare_digest(secret, client.client_secret):
        raise OAuthError(401, "invalid_client", "Unauthorized")
    return client


def _verify_pkce(code: AuthCode, verifier: str | None) -> None:
    if code.code_challenge is None:
        return
    if not verifier:
        raise OAuthError(400, "invalid_grant", "Missing code verifier.")
    if code.code_challenge_method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    else:
        computed = verifier
    if not secrets.compare_digest(computed, code.code_challenge):
        raise OAuthError(400, "invalid_grant", "Invalid code verifier.")


def _tokens(
    ctx: Ctx, grant: Grant, scopes: list[str], nonce: str | None, with_refresh: bool
) -> dict[str, Any]:
    state, cfg = ctx.app.state, ctx.app.config
    now = time.time()
    access = AccessToken(
        new_token("ya29.a0"),
        grant.id,
        grant.sub,
        grant.client_id,
        list(scopes),
        now + cfg.access_token_lifetime,
    )
    state.access_tokens[access.token] = access
    body: dict[str, Any] = {
        "access_token": access.token,
        "expires_in": cfg.access_token_lifetime,
        "scope": " ".join(scopes),
        "token_type": "Bearer",
    }
    if with_refresh:
        refresh = RefreshToken(new_token("1//0g"), grant.id, now)
        state.refresh_tokens[refresh.token] = refresh
        body["refresh_token"] = refresh.token
        mine = sorted(
            (
                r
                for r in state.refresh_tokens.values()
                if r.valid
                and (g := state.grants.get(r.grant_id))
                and g.sub == grant.sub
                and g.client_id == grant.client_id
            ),
            key=lambda r: r.created,
        )
        for old in mine[: max(0, len(mine) - cfg.refresh_token_limit)]:
            old.valid = False  # over the per-account limit: the oldest stops working
    if "openid" in scopes:
        user = state.users[grant.sub]
        claims: dict[str, Any] = {
            "iss": ctx.base_url,
            "azp": grant.client_id,
            "aud": grant.client_id,
            "sub": user.sub,
            "iat": int(now),
            "exp": int(now) + 3600,
        }
        if EMAIL in scopes:
            claims |= {"email": user.email, "email_verified": True}
        if PROFILE in scopes:
            claims["name"] = user.name
        if nonce:
            claims["nonce"] = nonce
        body["id_token"] = ctx.app.signer.sign(claims)
    return body


@route("/token", ["POST"])
def token(ctx: Ctx) -> Response:
    form = ctx.request.form
    client = _client(ctx)
    grant_type = form.get("grant_type", "")
    state = ctx.app.state
    headers = {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate", "Pragma": "no-cache"}
    if grant_type == "authorization_code":
        if not form.get("code"):
            raise OAuthError(400, "invalid_request", "Missing required parameter: code")
        with state.lock:
            code = state.codes.pop(form["code"], None)  # single use
            if code is None or code.expires_at < time.time() or code.client_id != client.client_id:
                raise OAuthError(400, "invalid_grant", "Bad Request")
            if form.get("redirect_uri") != code.redirect_uri:
                raise OAuthError(400, "redirect_uri_mismatch", "Bad Request")
            _verify_pkce(code, form.get("code_verifier"))
            grant = state.grants.get(code.grant_id)
            if grant is None or grant.status != "active":
                raise OAuthError(400, "invalid_grant", "Bad Request")
            return json_response(
                _tokens(ctx, grant, code.scopes, code.nonce, code.issue_refresh), 200, headers
            )
    if grant_type == "refresh_token":
        if not form.get("refresh_token"):
            raise OAuthError(400, "invalid_request", "Missing required parameter: refresh_token")
        with state.lock:
            refresh = state.refresh_tokens.get(form["refresh_token"])
            grant = state.grants.get(refresh.grant_id) if refresh else None
            if refresh is None or grant is None or not refresh.valid or grant.status != "active":
                raise OAuthError(400, "invalid_grant", INVALID_GRANT)
            if grant.client_id != client.client_id:
                raise OAuthError(401, "unauthorized_client", "Unauthorized")
            return json_response(_tokens(ctx, grant, list(grant.scopes), None, False), 200, headers)
    raise OAuthError(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")


@route("/revoke", ["POST"])
def revoke(ctx: Ctx) -> Response:
    """Revoking an access token or a refresh token removes the whole grant: every token of it."""
    value = ctx.request.form.get("token") or ctx.request.args.get("token", "")
    state = ctx.app.state
    with state.lock:
        found = state.access_tokens.get(value) or state.refresh_tokens.get(value)
        grant = state.grants.get(found.grant_id) if found else None
        if grant is None or grant.status != "active":
            raise OAuthError(400, "invalid_token", "Token expired or revoked")
        grant.status = "revoked"
    return json_response({})


@route("/v1/userinfo", ["GET"], auth="bearer", scopes=("openid", EMAIL, PROFILE))
@route("/oauth2/v3/userinfo", ["GET"], auth="bearer", scopes=("openid", EMAIL, PROFILE))
def userinfo(ctx: Ctx) -> Response:
    user = ctx.require_user()
    scopes = ctx.token.scopes if ctx.token else []
    body: dict[str, Any] = {"sub": user.sub}
    if EMAIL in scopes:
        body |= {"email": user.email, "email_verified": True}
    if PROFILE in scopes:
        body |= {"name": user.name, "given_name": user.name.split()[0]}
    return json_response(body)
