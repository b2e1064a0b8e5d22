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
