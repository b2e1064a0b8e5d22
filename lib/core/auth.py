"""Management-route authorisation.

Two kinds of caller:
- the product backend, with an API key from `SLOTBRIDGE_API_KEYS` in `X-Api-Key` (or the Functions
  key, for routes whose auth level is `function`): it acts for any user. Never from a browser: a
  request with an `Origin` header is a browser's (servers do not send one), and an API key there has
  leaked into a page, so it is refused whatever its value;
- a browser, with a short-lived user token in `Authorization: Bearer`, signed by the product
  backend with `SLOTBRIDGE_USER_TOKEN_KEY`: it acts for exactly the user the token names.

User token: `v1.<base64url(JSON {"sub": userId, "exp": unix seconds, "iat": ...})>.<base64url(HMAC-SHA256
over "v1.<payload>")>`, at most one hour long.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass

from lib.core.crypto import b64url, b64url_decode, hmac_matches, hmac_sha256
from lib.core.errors import SlotbridgeError, Unauthorized, ValidationFailed
from lib.core.input_rules import check_user_id
from lib.core.json_body import loads_bounded
from lib.core.settings import KeySettings

TOKEN_VERSION = "v1"
MAX_TOKEN_LIFETIME_S = 3600
CLOCK_SKEW_S = 60


class Forbidden(SlotbridgeError):
    code = "unauthorized"
    status = 403
    title = "Not allowed"


@dataclass(frozen=True)
class Principal:
    """A backend principal acts for every user; a user principal for `user_id` only."""

    user_id: str | None

    @property
    def is_backend(self) -> bool:
        return self.user_id is None

    def require_user(self, user_id: str) -> None:
        if not self.is_backend and self.user_id != user_id:
            raise Forbidden("This token is for another user.")


BACKEND = Principal(None)


def issue_user_token(key: bytes, user_id: str, ttl_s: int = 900, now: float | None = None) -> str:
    """What the product backend does to let a browser act for `user_id` (also used by tests)."""
    issued = int(now if now is not None else time.time())
    payload = b64url(json.dumps({"sub": user_id, "iat": issued, "exp": issued + ttl_s}).encode())
    signature = b64url(hmac_sha256(key, f"{TOKEN_VERSION}.{payload}".encode()))
    return f"{TOKEN_VERSION}.{payload}.{signature}"


def verify_user_token(key: bytes, token: str, now: float | None = None) -> str:
    """The user id a valid token names; `Unauthorized` otherwise."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_VERSION or len(token) > 2048:
        raise Unauthorized("The user token is malformed.")
    try:
        signature = b64url_decode(parts[2])
        payload = b64url_decode(parts[1])
    except ValueError:
        raise Unauthorized("The user token is malformed.") from None
    if not hmac_matches(key, f"{parts[0]}.{parts[1]}".encode(), signature):
        raise Unauthorized("The user token's signature is not valid.")
    # Signed is not well-formed: the payload is parsed and checked as untrusted data all the same.
    try:
        claims = loads_bounded(payload, "user token")
    except ValidationFailed:
        raise Unauthorized("The user token is malformed.") from None
    if not isinstance(claims, dict):
        raise Unauthorized("The user token lacks its claims.")
    current = now if now is not None else time.time()
    sub = check_user_id(claims.get("sub"), "sub")
    exp, iat = claims.get("exp"), claims.get("iat")
    if sub is None or not isinstance(exp, int) or not isinstance(iat, int) or bool in (type(exp), type(iat)):
        raise Unauthorized("The user token lacks its claims.")
    if exp < current - CLOCK_SKEW_S:
        raise Unauthorized("The user token has expired.")
    if exp - iat > MAX_TOKEN_LIFETIME_S or iat > current + CLOCK_SKEW_S:
        raise Unauthorized("The user token's lifetime is not allowed.")
    return sub


def authenticate(headers: Mapping[str, str], keys: KeySettings) -> Principal:
    """The caller behind a request's headers, or `Unauthorized`."""
    api_key = headers.get("x-api-key") or headers.get("X-Api-Key")
    if api_key:
        if headers.get("origin") or headers.get("Origin"):
            raise Unauthorized("An API key is not accepted from a browser; a page sends a user token.")
        if any(hmac.compare_digest(api_key.encode(), k.encode()) for k in keys.api_keys):
            return BACKEND
        raise Unauthorized("The API key is not valid.")
    authorization = headers.get("authorization") or headers.get("Authorization") or ""
    if authorization[:7].lower() == "bearer " and keys.user_token_key:
        return Principal(verify_user_token(keys.user_token_key, authorization[7:].strip()))
    raise Unauthorized("Send an API key (X-Api-Key) or a user token (Authorization: Bearer).")
