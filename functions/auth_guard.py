"""Management routes: who is calling, and may they act for this user."""

from __future__ import annotations

import azure.functions as func

from lib.adapters.storage.keys import require_user_id
from lib.core.auth import Principal, authenticate
from lib.core.settings import get_settings


def principal_for_user(req: func.HttpRequest, user_id: str) -> Principal:
    """The authenticated caller, allowed to act for `user_id` (raises Unauthorized / Forbidden)."""
    principal = authenticate(req.headers, get_settings().keys)
    principal.require_user(user_id)
    require_user_id(user_id)  # an unusable user id is a validation error, not a 500
    return principal


def booking_principal(req: func.HttpRequest) -> Principal | None:
    """Who acts on a booking, in this order: an `X-Api-Key` is the product; a Bearer token shaped
    as a user token (`v1.<payload>.<signature>`; a manage token has no dot) is that user, the
    booking's host - either must verify, else `Unauthorized`. None: the caller presents the
    booking's manage token (or nothing), as its attendee."""
    headers = req.headers
    authorization = headers.get("authorization") or headers.get("Authorization") or ""
    bearer = authorization[7:].strip() if authorization[:7].lower() == "bearer " else ""
    if headers.get("x-api-key") or headers.get("X-Api-Key") or "." in bearer:
        return authenticate(headers, get_settings().keys)
    return None
