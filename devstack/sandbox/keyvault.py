"""Key Vault secrets (GET/PUT/DELETE, versions, deleted secrets) behind the bearer challenge.

The vault lives at the root of the sandbox URL (vault URL == sandbox URL) because the Azure SDK
parses ids as {vault}/secrets/{name}/{version} and rejects a vault URL with a path."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from werkzeug.wrappers import Response

from .config import KEYVAULT_RESOURCE
from .state import DeletedSecret, SecretVersion
from .web import Ctx, json_response, route

NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
NOT_FOUND_HINT = (
    " was not found in this key vault. If you recently deleted this secret you may be able to recover it "
    "using the correct recovery command. For help resolving this issue, please see "
    "https://go.microsoft.com/fwlink/?linkid=2125182"
)


def _err(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"error": {"code": code, "message": message}}, status, headers)


def authenticate(ctx: Ctx) -> Response | None:
    """None when the bearer token is good; otherwise Key Vault's 401 with its challenge."""
    challenge = {
        "WWW-Authenticate": (
            f'Bearer authorization="{ctx.base_url}/{ctx.app.config.tenant_id}", '
            f'resource="{KEYVAULT_RESOURCE}"'
        )
    }
    header = ctx.request.headers.get("Authorization", "")
    raw = header[7:].strip() if header[:7].lower() == "bearer " else ""
    if not raw:
        return _err(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", challenge)
    with ctx.app.state.lock:
        token = ctx.app.state.access_tokens.get(raw)
    if token is None:
        return _err(401, "Unauthorized", "AKV10022: Invalid token.", challenge)
    if token.audience.rstrip("/") != KEYVAULT_RESOURCE:
        return _err(
            401,
            "Unauthorized",
            f"AKV10022: Invalid audience. Expected {KEYVAULT_RESOURCE}, found: {token.audience}.",
            challenge,
        )
    if token.expires_at <= time.time():
        return _err(401, "Unauthorized", "AKV10013: Token expired.", challenge)
    if token.tenant_id != ctx.app.config.tenant_id:
        return _err(401, "Unauthorized", "AKV10032: Invalid issuer.", challenge)
    if not ctx.request.args.get("api-version"):
        return _err(400, "BadParameter", "The request URI contains an invalid or missing api-version.")
    return None


def _attributes(v: SecretVersion) -> dict[str, Any]:
    return {
        "enabled": v.enabled,
        "created": v.created,
        "updated": v.updated,
        "recoveryLevel": "Recoverable+Purgeable",
        "recoverableDays": 90,
    }


def _bundle(ctx: Ctx, v: SecretVersion, *, with_value: bool = True, versioned: bool = True) -> dict[str, Any]:
    sid = f"{ctx.base_url}/secrets/{v.name}" + (f"/{v.version}" if versioned else "")
    out: dict[str, Any] = {"id": sid, "attributes": _attributes(v)}
    if with_value:
        out = {"value": v.value, **out}
    if v.content_type is not None:
        out["contentType"] = v.content_type
    if v.tags is not None:
        out["tags"] = v.tags
    return out


def _deleted(ctx: Ctx, name: str, d: DeletedSecret) -> dict[str, Any]:
    return {
        "recoveryId": f"{ctx.base_url}/deletedsecrets/{name}",
        "deletedDate": d.deleted_date,
        "scheduledPurgeDate": d.scheduled_purge_date,
        **_bundle(ctx, d.versions[-1], with_value=False),
    }


def _key(name: str) -> str:
    return name.lower()  # secret names are case-insensitive


def _missing(name: str) -> Response:
    return _err(404, "SecretNotFound", f"A secret with (name/id) {name}{NOT_FOUND_HINT}")


@route("/secrets/<name>", ["PUT"], auth="keyvault")
def set_secret(ctx: Ctx, name: str) -> Response:
    if not NAME.match(name):
        return _err(400, "BadParameter", "The request URI contains an invalid name: " + name)
    body = ctx.request.get_json(silent=True) or {}
    if not isinstance(body.get("value"), str):
        return _err(400, "BadParameter", "Property 'value' is required.")
    attrs = body.get("attributes") or {}
    now = int(time.time())
    with ctx.app.state.lock:
        if _key(name) in ctx.app.state.deleted_secrets:
            return _err(
                409,
                "Conflict",
                f"Secret {name} is currently in a deleted but recoverable state, and its "
                "name cannot be reused; in this state, the secret can only be recovered or purged.",
            )
        v = SecretVersion(
            name,
            secrets.token_hex(16),
            body["value"],
            body.get("contentType"),
            body.get("tags"),
            bool(attrs.get("enabled", True)),
            now,
            now,
        )
        ctx.app.state.secrets.setdefault(_key(name), []).append(v)
    return json_response(_bundle(ctx, v))


@route("/secrets/<name>", ["GET"], auth="keyvault")
def get_latest(ctx: Ctx, name: str) -> Response:
    return _get(ctx, name, None)


@route("/secrets/<name>/<version>", ["GET"], auth="keyvault")
def get_version(ctx: Ctx, name: str, version: str) -> Response:
    return _get(ctx, name, version)


def _get(ctx: Ctx, name: str, version: str | None) -> Response:
    with ctx.app.state.lock:
        versions = ctx.app.state.secrets.get(_key(name)) or []
        found = (
            versions[-1]
            if versions and not version
            else next((v for v in versions if v.version == version), None)
        )
    if found is None:
        return _missing(f"{name}/{version}" if version else name)
    if not found.enabled:
        return _err(403, "Forbidden", "Operation get is not allowed on a disabled secret.")
    return json_response(_bundle(ctx, found))


@route("/secrets/<name>/versions", ["GET"], auth="keyvault")
def list_versions(ctx: Ctx, name: str) -> Response:
    with ctx.app.state.lock:
        versions = list(ctx.app.state.secrets.get(_key(name)) or [])
    if not versions:
        return _missing(name)
    return json_response({"value": [_bundle(ctx, v, with_value=False) for v in versions], "nextLink": None})


@route("/secrets", ["GET"], auth="keyvault")
def list_secrets(ctx: Ctx) -> Response:
    with ctx.app.state.lock:
        latest = [vs[-1] for vs in ctx.app.state.secrets.values() if vs]
    return json_response(
        {"value": [_bundle(ctx, v, with_value=False, versioned=False) for v in latest], "nextLink": None}
    )


@route("/secrets/<name>", ["DELETE"], auth="keyvault")
def delete_secret(ctx: Ctx, name: str) -> Response:
    now = int(time.time())
    with ctx.app.state.lock:
        versions = ctx.app.state.secrets.pop(_key(name), None)
        if not versions:
            return _missing(name)
        d = DeletedSecret(versions, now, now + 90 * 86400)
        ctx.app.state.deleted_secrets[_key(name)] = d
    return json_response(_deleted(ctx, versions[-1].name, d))


@route("/deletedsecrets/<name>", ["GET"], auth="keyvault")
def get_deleted(ctx: Ctx, name: str) -> Response:
    with ctx.app.state.lock:
        d = ctx.app.state.deleted_secrets.get(_key(name))
    if d is None:
        return _err(404, "SecretNotFound", f"Deleted Secret not found: {name}")
    return json_response(_deleted(ctx, d.versions[-1].name, d))


@route("/deletedsecrets/<name>", ["DELETE"], auth="keyvault")
def purge(ctx: Ctx, name: str) -> Response:
    with ctx.app.state.lock:
        d = ctx.app.state.deleted_secrets.pop(_key(name), None)
    if d is None:
        return _err(404, "SecretNotFound", f"Deleted Secret not found: {name}")
    return Response(status=204)


@route("/deletedsecrets/<name>/recover", ["POST"], auth="keyvault")
def recover(ctx: Ctx, name: str) -> Response:
    with ctx.app.state.lock:
        d = ctx.app.state.deleted_secrets.pop(_key(name), None)
        if d is None:
            return _err(404, "SecretNotFound", f"Deleted Secret not found: {name}")
        ctx.app.state.secrets[_key(name)] = d.versions
    return json_response(_bundle(ctx, d.versions[-1]))
