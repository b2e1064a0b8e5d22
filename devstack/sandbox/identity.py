"""The Microsoft identity platform (v2.0 endpoints): OpenID configuration, keys, the authorize page,
the admin-consent page and the token endpoint (authorization_code with PKCE, refresh_token with
rotation, client_credentials for Key Vault)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.wrappers import Response

from .config import CONSUMERS_TENANT_ID, GRAPH_RESOURCE, AppRegistration
from .identity_pages import admin_consent_page, error_page, form_post_page, sign_in_page
from .state import AccessToken, Account, AuthCode, Grant, PendingAuthorization, RefreshToken, new_token
from .web import Ctx, json_response, route

OIDC_SCOPES = {"openid", "profile", "email", "offline_access"}
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


@dataclass(frozen=True)
class SignInFailure:
    """How Entra ID answers one AADSTS code: the `error` of the authorize redirect, the `error` and
    `suberror` of a refresh at the token endpoint, and the message (with {email} {tenant} {app}
    {client_id} filled in)."""

    authorize_error: str
    token_error: str
    suberror: str | None
    message: str


_MFA = (
    "Due to a configuration change made by your administrator, or because you moved to a new location, "
    "you must {what} to access '00000003-0000-0000-c000-000000000000'."
)
_NOT_CONSENTED = (
    "The user or administrator has not consented to use the application with ID '{client_id}' named "
    "'{app}'. Send an interactive authorization request for this user and resource."
)
# What an account's `sign_in_failure` switch can make the sign-in page and refreshes answer.
SIGN_IN_FAILURES: dict[int, SignInFailure] = {
    50020: SignInFailure(
        "access_denied",
        "invalid_grant",
        None,
        "User account '{email}' from identity provider 'live.com' does not exist in tenant '{tenant}' and "
        "cannot access the application '{client_id}'({app}) in that tenant. The account needs to be added "
        "as an external user in the tenant first.",
    ),
    50034: SignInFailure(
        "access_denied",
        "invalid_grant",
        None,
        "The user account {email} does not exist in the {tenant} directory. To sign into this application, "
        "the account must be added to the directory.",
    ),
    50076: SignInFailure(
        "interaction_required",
        "interaction_required",
        "basic_action",
        _MFA.format(what="use multi-factor authentication"),
    ),
    50079: SignInFailure(
        "interaction_required",
        "interaction_required",
        "basic_action",
        _MFA.format(what="enroll in multi-factor authentication"),
    ),
    50105: SignInFailure(
        "access_denied",
        "invalid_grant",
        None,
        "Your administrator has configured the application {app} ('{client_id}') to block users unless "
        "they are specifically granted ('assigned') access to the application. The signed in user "
        "'{email}' is blocked because they are not a direct member of a group with access, nor had access "
        "directly assigned by an administrator. Please contact your administrator to assign access to "
        "this application.",
    ),
    50158: SignInFailure(
        "interaction_required",
        "interaction_required",
        "basic_action",
        "External security challenge not satisfied. User will be redirected to another page or "
        "authentication provider to satisfy additional authentication challenges.",
    ),
    53000: SignInFailure(
        "access_denied",
        "invalid_grant",
        "message_only",
        "Device is not in required device state: compliant. Conditional Access policy requires a "
        "compliant device, and the device is not compliant. The user must enroll their device with an "
        "approved MDM provider like Intune.",
    ),
    53001: SignInFailure(
        "access_denied",
        "invalid_grant",
        "message_only",
        "Device is not in required device state: domain_joined. Conditional Access policy requires a "
        "domain joined device, and the device is not domain joined.",
    ),
    53003: SignInFailure(
        "access_denied",
        "invalid_grant",
        "message_only",
        "Access has been blocked by Conditional Access policies. The access policy does not allow token "
        "issuance.",
    ),
    530003: SignInFailure(
        "access_denied",
        "invalid_grant",
        "message_only",
        "Your device is required to be managed to access this resource.",
    ),
    65001: SignInFailure("consent_required", "invalid_grant", "consent_required", _NOT_CONSENTED),
    90094: SignInFailure("access_denied", "invalid_grant", None, "The grant requires admin permission."),
}
# Failures that tenant-wide (admin) consent for the app takes away.
CONSENT_FAILURES = {65001, 90094}


class Signer:
    """RS256 keys for id_tokens; MSAL does not check the signature, but other clients may."""

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})

    def jwks(self) -> dict[str, Any]:
        numbers = self._key.public_key().public_numbers()

        def b64(n: int) -> str:
            raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        return {
            "keys": [{"kty": "RSA", "use": "sig", "kid": self.kid, "n": b64(numbers.n), "e": b64(numbers.e)}]
        }


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class OAuthError(Exception):
    def __init__(
        self, status: int, error: str, aadsts: int, message: str, suberror: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.error, self.aadsts, self.message, self.suberror = (
            status,
            error,
            aadsts,
            message,
            suberror,
        )


def oauth_error_response(ctx: Ctx, err: OAuthError) -> Response:
    now = datetime.now(UTC)
    ts = now.strftime("%Y-%m-%d %H:%M:%SZ")
    trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
    body: dict[str, Any] = {
        "error": err.error,
        "error_description": (
            f"AADSTS{err.aadsts}: {err.message} Trace ID: {trace} Correlation ID: {corr} Timestamp: {ts}"
        ),
        "error_codes": [err.aadsts],
        "timestamp": ts,
        "trace_id": trace,
        "correlation_id": corr,
        "error_uri": f"{ctx.base_url}/error?code={err.aadsts}",
    }
    if err.suberror:
        body["suberror"] = err.suberror
    return json_response(body, err.status, {"Cache-Control": "no-store"})


# --- tenants and scopes ----------------------------------------------------------------------


def tenant_id_for(ctx: Ctx, tenant: str) -> str | None:
    """The tenant GUID for a path segment; the aliases map to themselves."""
    t = tenant.lower()
    cfg = ctx.app.config
    if t in ("common", "organizations", "consumers"):
        return t
    if t in (cfg.tenant_id.lower(), cfg.tenant_domain.lower()):
        return cfg.tenant_id
    if t == CONSUMERS_TENANT_ID:
        return CONSUMERS_TENANT_ID
    return None


def accounts_for_tenant(ctx: Ctx, tid: str) -> list[Account]:
    accounts = list(ctx.app.state.accounts.values())
    if tid == "common":
        return accounts
    if tid == "organizations":
        return [a for a in accounts if a.kind == "work"]
    if tid in ("consumers", CONSUMERS_TENANT_ID):
        return [a for a in accounts if a.kind == "personal"]
    return [a for a in accounts if a.tenant_id == tid]


def short_scope(scope: str) -> str:
    for prefix in (GRAPH_RESOURCE + "/", "https://graph.microsoft.com/"):
        if scope.lower().startswith(prefix.lower()):
            return scope[len(prefix) :]
    return scope


def split_scopes(raw: str | None) -> list[str]:
    out: list[str] = []
    for s in (raw or "").split():
        s = short_scope(s)
        if s.lower() in OIDC_SCOPES:
            s = s.lower()
        if s not in out:
            out.append(s)
    return out


def resource_scopes(scopes: list[str]) -> list[str]:
    return [s for s in scopes if s not in OIDC_SCOPES]


def is_loopback_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and (parts.hostname or "") in LOOPBACK_HOSTS


def redirect_allowed(app: AppRegistration, uri: str) -> bool:
    if app.redirect_uris:
        return uri in app.redirect_uris
    return is_loopback_url(uri)


def with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def redirect(url: str) -> Response:
    resp = Response(status=302)
    resp.headers["Location"] = url
    resp.headers["Cache-Control"] = "no-store"
    return resp


def account_failure(ctx: Ctx, account: Account, client_id: str, *, interactive: bool) -> int | None:
    """The AADSTS code this account's sign-ins (`interactive`) or refreshes fail with for
    `client_id`, if any. `admin_approval_required` stops sign-ins only, as the consent page does."""
    code = 53003 if account.conditional_access_blocked else account.sign_in_failure
    if code is None and interactive and account.admin_approval_required:
        code = 90094
    if code in CONSENT_FAILURES and (account.tenant_id, client_id) in ctx.app.state.admin_consents:
        return None  # an administrator approved the app for the whole tenant
    return code


def failure_message(ctx: Ctx, code: int, account: Account, client_id: str) -> str:
    app = ctx.app.state.apps.get(client_id)
    return SIGN_IN_FAILURES[code].message.format(
        email=account.email,
        tenant=account.tenant_id,
        client_id=client_id,
        app=app.display_name if app else client_id,
    )


# --- discovery ---------------------------------------------------------------------------------


@route("/<tenant>/v2.0/.well-known/openid-configuration", ["GET"])
def openid_configuration(ctx: Ctx, tenant: str) -> Response:
    tid = tenant_id_for(ctx, tenant)
    if tid is None:
        return oauth_error_response(
            ctx,
            OAuthError(
                400,
                "invalid_tenant",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
                "signing into the correct cloud.",
            ),
        )
    base = ctx.base_url
    issuer_tid = {
        "common": "{tenantid}",
        "organizations": "{tenantid}",
        "consumers": CONSUMERS_TENANT_ID,
    }.get(tid, tid)
    return json_response(
        {
            "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/{issuer_tid}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/{tenant}/oauth2/v2.0/logout",
            "claims_supported": [
                "sub",
                "iss",
                "cloud_instance_name",
                "cloud_instance_host_name",
                "cloud_graph_host_name",
                "msgraph_host",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "acr",
                "nonce",
                "preferred_username",
                "name",
                "tid",
                "ver",
                "at_hash",
                "c_hash",
                "email",
            ],
            "kerberos_endpoint": f"{base}/{tenant}/kerberos",
            "tenant_region_scope": None,
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }
    )


@route("/<tenant>/discovery/v2.0/keys", ["GET"])
def keys(ctx: Ctx, tenant: str) -> Response:
    return json_response(ctx.app.signer.jwks())


# --- authorize -----------------------------------------------------------------------------------


def _checked_client(ctx: Ctx, tenant: str, p: dict[str, str]) -> tuple[AppRegistration, str] | Response:
    """The app and redirect URI of an authorize or admin-consent request, or the error page Entra ID
    shows instead of redirecting (unknown tenant, app or redirect URI)."""
    if tenant_id_for(ctx, tenant) is None:
        return error_page(90002, f"Tenant '{tenant}' not found.")
    app = ctx.app.state.apps.get(p.get("client_id", ""))
    if app is None:
        return error_page(
            700016,
            f"Application with identifier '{p.get('client_id', '')}' was not found in the directory "
            f"'{tenant}'.",
        )
    uri = p.get("redirect_uri", "")
    if not uri:
        return error_page(900144, "The request body must contain the following parameter: 'redirect_uri'.")
    if not redirect_allowed(app, uri):
        return error_page(
            50011,
            f"The redirect URI '{uri}' specified in the request does not match the redirect URIs "
            f"configured for the application '{app.client_id}'.",
        )
    return app, uri


@route("/<tenant>/oauth2/v2.0/authorize", ["GET"])
def authorize(ctx: Ctx, tenant: str) -> Response:
    p = {k: v for k, v in ctx.request.args.items()}
    checked = _checked_client(ctx, tenant, p)
    if isinstance(checked, Response):
        return checked
    app, uri = checked
    tid = tenant_id_for(ctx, tenant) or ""
    state = p.get("state")

    def fail(error: str, code: int, msg: str) -> Response:
        params = {"error": error, "error_description": f"AADSTS{code}: {msg}"}
        if state is not None:
            params["state"] = state
        return redirect(with_query(uri, params))

    if p.get("response_type") != "code":
        return fail(
            "unsupported_response_type", 70005, "The provided value for 'response_type' is not supported."
        )
    if p.get("response_mode", "query") not in ("query", "form_post"):
        return fail("invalid_request", 900144, "The sandbox supports response_mode query and form_post.")
    if not split_scopes(p.get("scope")):
        return fail(
            "invalid_request", 900144, "The request body must contain the following parameter: 'scope'."
        )
    method = p.get("code_challenge_method")
    if p.get("code_challenge") and method not in (None, "S256", "plain"):
        return fail("invalid_request", 50148, "The code_challenge_method is not supported.")
    flow = PendingAuthorization(new_token("flow_"), tenant, p, time.time() + 900)
    with ctx.app.state.lock:
        ctx.app.state.pending[flow.id] = flow
        accounts = accounts_for_tenant(ctx, tid)
    return sign_in_page(flow.id, app.display_name, split_scopes(p.get("scope")), accounts)


@route("/<tenant>/oauth2/v2.0/authorize", ["POST"])
def authorize_submit(ctx: Ctx, tenant: str) -> Response:
    form = ctx.request.form
    state = ctx.app.state
    with state.lock:
        flow = state.pending.pop(form.get("flow", ""), None)
    if flow is None or flow.expires_at < time.time():
        return error_page(90014, "The sign-in session is missing or has expired. Start again from the app.")
    p = flow.params
    uri = p["redirect_uri"]
    base_params: dict[str, str] = {}
    if "state" in p:
        base_params["state"] = p["state"]

    def back(params: dict[str, str]) -> Response:
        if p.get("response_mode") == "form_post":
            return form_post_page(uri, params)
        return redirect(with_query(uri, params))

    def fail(error: str, code: int, msg: str, subcode: str | None = None) -> Response:
        params = {"error": error, "error_description": f"AADSTS{code}: {msg}"}
        if subcode:
            params["error_subcode"] = subcode
        return back({**params, **base_params})

    if form.get("action") != "accept":
        return fail("access_denied", 65004, "User declined to consent to access the app.", "cancel")
    account = state.accounts.get(form.get("account", ""))
    tid = tenant_id_for(ctx, flow.tenant) or ""
    if account is None or account not in accounts_for_tenant(ctx, tid):
        return error_page(50034, "The user account does not exist in this directory.")
    failure = account_failure(ctx, account, p["client_id"], interactive=True)
    if failure is not None:
        return fail(
            SIGN_IN_FAILURES[failure].authorize_error,
            failure,
            failure_message(ctx, failure, account, p["client_id"]),
        )
    if account.declines_consent:
        return fail("access_denied", 65004, "User declined to consent to access the app.", "cancel")
    requested = split_scopes(p.get("scope"))
    granted = [s for s in requested if s in OIDC_SCOPES]
    for s in resource_scopes(requested):
        if account.grantable_scopes is None or s.lower() in {g.lower() for g in account.grantable_scopes}:
            granted.append(s)
    code = AuthCode(
        code=new_token("code_"),
        client_id=p["client_id"],
        redirect_uri=uri,
        account_id=account.id,
        scopes=granted,
        nonce=p.get("nonce"),
        code_challenge=p.get("code_challenge"),
        code_challenge_method=p.get("code_challenge_method")
        or ("plain" if p.get("code_challenge") else None),
        expires_at=time.time() + ctx.app.config.auth_code_lifetime,
    )
    with state.lock:
        state.codes[code.code] = code
    return back({"code": code.code, **base_params, "session_state": str(uuid.uuid4())})


# --- admin consent -------------------------------------------------------------------------------


@route("/<tenant>/v2.0/adminconsent", ["GET"])
def admin_consent(ctx: Ctx, tenant: str) -> Response:
    """The v2 admin-consent page: an administrator approves the app's permissions for the whole
    tenant, then goes back to redirect_uri with `admin_consent=True&tenant&scope&state`, or with
    `error&error_description&state`."""
    p = {k: v for k, v in ctx.request.args.items()}
    checked = _checked_client(ctx, tenant, p)
    if isinstance(checked, Response):
        return checked
    app, uri = checked
    if not resource_scopes(split_scopes(p.get("scope"))):
        back = {
            "error": "invalid_request",
            "error_description": "AADSTS900144: The request body must contain "
            "the following parameter: 'scope'.",
        }
        return redirect(with_query(uri, {**back, **({"state": p["state"]} if "state" in p else {})}))
    tid = tenant_id_for(ctx, tenant) or ""
    flow = PendingAuthorization(new_token("adminconsent_"), tenant, p, time.time() + 900)
    with ctx.app.state.lock:
        ctx.app.state.pending[flow.id] = flow
        admins = [a for a in accounts_for_tenant(ctx, tid) if a.kind == "work"]
    return admin_consent_page(flow.id, app.display_name, resource_scopes(split_scopes(p["scope"])), admins)


@route("/<tenant>/v2.0/adminconsent", ["POST"])
def admin_consent_submit(ctx: Ctx, tenant: str) -> Response:
    form = ctx.request.form
    state = ctx.app.state
    flow_id = form.get("flow", "")
    with state.lock:
        flow = state.pending.pop(flow_id, None) if flow_id.startswith("adminconsent_") else None
    if flow is None or flow.expires_at < time.time():
        return error_page(
            90014, "The consent session is missing or has expired. Open the approval link again."
        )
    p = flow.params
    passed_state = {"state": p["state"]} if "state" in p else {}
    if form.get("action") != "accept":
        # As Microsoft documents it: error=permission_denied, "The admin canceled the request".
        params = {"error": "permission_denied", "error_description": "The admin canceled the request"}
        return redirect(with_query(p["redirect_uri"], {**params, **passed_state}))
    account = state.accounts.get(form.get("account", ""))
    tid = tenant_id_for(ctx, flow.tenant) or ""
    if account is None or account.kind != "work" or account not in accounts_for_tenant(ctx, tid):
        return error_page(50034, "The user account does not exist in this directory.")
    scopes = resource_scopes(split_scopes(p["scope"]))
    with state.lock:
        state.admin_consents[(account.tenant_id, p["client_id"])] = scopes
    granted = " ".join(f"{GRAPH_RESOURCE}/{s}" for s in scopes)
    params = {"admin_consent": "True", "tenant": account.tenant_id, "scope": granted}
    return redirect(with_query(p["redirect_uri"], {**params, **passed_state}))


# --- token ---------------------------------------------------------------------------------------


def _client(ctx: Ctx) -> AppRegistration:
    form = ctx.request.form
    client_id, secret = form.get("client_id"), form.get("client_secret")
    auth = ctx.request.authorization
    if auth is not None and auth.type == "basic":
        client_id, secret = auth.username, auth.password
    app = ctx.app.state.apps.get(client_id or "")
    if app is None:
        raise OAuthError(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory.",
        )
    if form.get("client_assertion"):
        raise OAuthError(401, "invalid_client", 7000215, "The sandbox accepts client secrets only.")
    if not secret:
        raise OAuthError(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )
    if not secrets.compare_digest(secret, app.client_secret):
        raise OAuthError(
            401,
            "invalid_client",
            7000215,
            f"Invalid client secret provided. Ensure the secret being sent in the request is the client "
            f"secret value, not the client secret ID, for a secret added to app '{app.client_id}'.",
        )
    return app


def _id_token(ctx: Ctx, account: Account, client_id: str, nonce: str | None, scopes: list[str]) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "aud": client_id,
        "iss": f"{ctx.base_url}/{account.tenant_id}/v2.0",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "name": account.display_name,
        "oid": account.id,
        "preferred_username": account.email,
        "rh": "0.sandbox.",
        "sub": b64url(hashlib.sha256(f"{account.id}:{client_id}".encode()).digest()),
        "tid": account.tenant_id,
        "uti": secrets.token_urlsafe(16),
        "ver": "2.0",
    }
    if "email" in scopes:
        claims["email"] = account.email
    if nonce:
        claims["nonce"] = nonce
    return ctx.app.signer.sign(claims)


def _issue(ctx: Ctx, grant: Grant, account: Account, scopes: list[str], nonce: str | None) -> Response:
    cfg = ctx.app.config
    state = ctx.app.state
    at = AccessToken(
        token=new_token("sbx_at_"),
        client_id=grant.client_id,
        audience=GRAPH_RESOURCE,
        scopes=resource_scopes(scopes),
        expires_at=time.time() + cfg.access_token_lifetime,
        account_id=account.id,
        tenant_id=account.tenant_id,
    )
    with state.lock:
        state.access_tokens[at.token] = at
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": " ".join([s for s in scopes if s != "offline_access"]),
            "expires_in": cfg.access_token_lifetime,
            "ext_expires_in": cfg.access_token_lifetime,
            "access_token": at.token,
        }
        if "offline_access" in scopes:
            rt = RefreshToken(new_token("sbx_rt_"), grant.id)
            state.refresh_tokens[rt.token] = rt
            body["refresh_token"] = rt.token
    if "openid" in scopes:
        body["id_token"] = _id_token(ctx, account, grant.client_id, nonce, scopes)
    body["client_info"] = b64url(json.dumps({"uid": account.id, "utid": account.tenant_id}).encode())
    return json_response(body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def _redeem_code(ctx: Ctx, app: AppRegistration) -> Response:
    form = ctx.request.form
    state = ctx.app.state
    with state.lock:
        code = state.codes.get(form.get("code", ""))
        if code is None:
            raise OAuthError(
                400, "invalid_grant", 70000, "The provided value for the 'code' parameter is not valid."
            )
        if code.redeemed:
            raise OAuthError(
                400,
                "invalid_grant",
                54005,
                "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use "
                "an existing refresh token.",
            )
        if code.expires_at < time.time():
            raise OAuthError(
                400,
                "invalid_grant",
                70008,
                "The provided authorization code or refresh token has expired due to inactivity. Send a new "
                "interactive authorization request for this user and resource.",
            )
        if code.client_id != app.client_id:
            raise OAuthError(
                400,
                "invalid_grant",
                70000,
                "The provided value for the 'code' parameter is not valid. The code was issued to a "
                "different client.",
            )
        if form.get("redirect_uri", "") != code.redirect_uri:
            raise OAuthError(
                400,
                "invalid_grant",
                50011,
                f"The redirect URI '{form.get('redirect_uri', '')}' specified in the request does not match "
                "the redirect URI used to obtain the authorization code.",
            )
        if code.code_challenge:
            verifier = form.get("code_verifier", "")
            if code.code_challenge_method == "S256":
                computed = b64url(hashlib.sha256(verifier.encode()).digest())
            else:
                computed = verifier
            if not verifier or not secrets.compare_digest(computed, code.code_challenge):
                raise OAuthError(
                    400,
                    "invalid_grant",
                    501481,
                    "The Code_Verifier does not match the code_challenge supplied in the authorization "
                    "request.",
                )
        code.redeemed = True
        account = state.accounts[code.account_id]
        grant = Grant(
            new_token("grant_"), account.id, app.client_id, list(code.scopes), issued_at=time.time()
        )
        state.grants[grant.id] = grant
    return _issue(ctx, grant, account, code.scopes, code.nonce)


def _refresh(ctx: Ctx, app: AppRegistration) -> Response:
    form = ctx.request.form
    state = ctx.app.state
    with state.lock:
        rt = state.refresh_tokens.get(form.get("refresh_token", ""))
        if rt is None or (rt.rotated and ctx.app.config.reject_rotated_refresh_tokens):
            raise OAuthError(
                400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid."
            )
        grant = state.grants[rt.grant_id]
        if grant.client_id != app.client_id:
            raise OAuthError(
                400,
                "invalid_grant",
                70000,
                "The provided value for the input parameter 'refresh_token' or 'assertion' is not valid. "
                "The refresh token was issued to a different client.",
            )
        issued = datetime.fromtimestamp(grant.issued_at, UTC).strftime("%m/%d/%Y %H:%M:%S")
        if grant.status == "revoked":
            raise OAuthError(
                400,
                "invalid_grant",
                50173,
                f"The provided grant has expired due to it being revoked, a fresh auth token is needed. The "
                f"user might have changed or reset their password. The grant was issued on '{issued}'.",
            )
        if grant.status == "expired":
            raise OAuthError(
                400,
                "invalid_grant",
                700082,
                f"The refresh token has expired due to inactivity. The token was issued on {issued} and was "
                f"inactive for {ctx.app.config.refresh_token_lifetime_days}.00:00:00.",
            )
        if grant.status == "invalid":
            raise OAuthError(
                400,
                "invalid_grant",
                70000,
                "The request was denied because one or more scopes requested are unauthorized or "
                "expired. The "
                "user must first sign in and grant the client application access to the requested scope.",
            )
        account = state.accounts[grant.account_id]
        failure = account_failure(ctx, account, app.client_id, interactive=False)
        if failure is not None:
            how = SIGN_IN_FAILURES[failure]
            raise OAuthError(
                400,
                how.token_error,
                failure,
                failure_message(ctx, failure, account, app.client_id),
                suberror=how.suberror,
            )
        requested = split_scopes(form.get("scope")) or list(grant.scopes)
        granted_lower = {s.lower() for s in grant.scopes}
        missing = [s for s in resource_scopes(requested) if s.lower() not in granted_lower]
        if missing:
            raise OAuthError(
                400,
                "invalid_grant",
                65001,
                f"The user or administrator has not consented to use the application with ID "
                f"'{app.client_id}' named '{app.display_name}'. Send an interactive authorization request "
                "for this user and resource.",
                suberror="consent_required",
            )
        rt.rotated = True
        scopes = [s for s in requested if s in OIDC_SCOPES] + [
            s for s in grant.scopes if s not in OIDC_SCOPES and s in resource_scopes(requested)
        ]
        if "offline_access" not in scopes:
            scopes.append("offline_access")
    return _issue(ctx, grant, account, scopes, None)


def _client_credentials(ctx: Ctx, app: AppRegistration, tenant: str) -> Response:
    tid = tenant_id_for(ctx, tenant)
    if tid in ("common", "organizations", "consumers", None, CONSUMERS_TENANT_ID):
        raise OAuthError(
            400,
            "invalid_request",
            50059,
            "No tenant-identifying information found in either the request or implied by any provided "
            "credentials.",
        )
    scope = ctx.request.form.get("scope", "")
    if not scope.endswith("/.default") or len(scope.split()) != 1:
        raise OAuthError(
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {scope} is not valid. Client credential flows must have a scope "
            "value with /.default suffixed to the resource identifier (application ID URI).",
        )
    resource = scope[: -len("/.default")].rstrip("/")
    at = AccessToken(
        token=new_token("sbx_app_"),
        client_id=app.client_id,
        audience=resource,
        scopes=[],
        expires_at=time.time() + ctx.app.config.access_token_lifetime,
        account_id=None,
        tenant_id=tid,
    )
    with ctx.app.state.lock:
        ctx.app.state.access_tokens[at.token] = at
    return json_response(
        {
            "token_type": "Bearer",
            "expires_in": ctx.app.config.access_token_lifetime,
            "ext_expires_in": ctx.app.config.access_token_lifetime,
            "access_token": at.token,
        },
        200,
        {"Cache-Control": "no-store"},
    )


@route("/<tenant>/oauth2/v2.0/token", ["POST"])
def token(ctx: Ctx, tenant: str) -> Response:
    try:
        if tenant_id_for(ctx, tenant) is None:
            raise OAuthError(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found.")
        app = _client(ctx)
        grant_type = ctx.request.form.get("grant_type", "")
        if grant_type == "authorization_code":
            return _redeem_code(ctx, app)
        if grant_type == "refresh_token":
            return _refresh(ctx, app)
        if grant_type == "client_credentials":
            return _client_credentials(ctx, app, tenant)
        raise OAuthError(
            400,
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant_type}'.",
        )
    except OAuthError as err:
        return oauth_error_response(ctx, err)
