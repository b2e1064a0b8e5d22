"""Sign-in and token failures from the Microsoft identity platform, as the problem codes a UI
switches on. The AADSTS code in `error_description` decides; `error` is the fallback."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from lib.errors import OutlookUnavailable, SlotbridgeError
from lib.settings import Settings

_AADSTS = re.compile(r"AADSTS(\d+)")

# Refresh failures that only the user can fix by signing in again.
RECONNECT_AADSTS = {"70000", "700082", "50173", "65001", "70008", "700084", "50076", "50079"}
ADMIN_APPROVAL_AADSTS = {"90094", "90095", "65001"}


class ConsentDeclined(SlotbridgeError):
    code = "consent_declined"
    status = 403
    title = "Consent was declined"


class AdminApprovalRequired(SlotbridgeError):
    code = "admin_approval_required"
    status = 403
    title = "An administrator must approve Slotbridge"


class ConditionalAccessBlocked(SlotbridgeError):
    code = "conditional_access_blocked"
    status = 403
    title = "Blocked by your organisation's access policies"


class InsufficientPermissions(SlotbridgeError):
    code = "insufficient_permissions"
    status = 403
    title = "Calendar permission was not granted"


class SignInFailed(SlotbridgeError):
    """A sign-in failure with no more specific code (the identity platform refused for its reason)."""

    code = "unauthorized"
    status = 401
    title = "Sign-in failed"


class IdentityUnavailable(OutlookUnavailable):
    title = "Microsoft sign-in is unavailable"


def aadsts_code(description: str | None) -> str | None:
    match = _AADSTS.search(description or "")
    return match.group(1) if match else None


def admin_consent_url(settings: Settings) -> str:
    """The v2 admin-consent page for this app, for organisations whose admin must approve."""
    tenant = (
        settings.microsoft.tenant
        if settings.microsoft.tenant not in ("common", "consumers")
        else "organizations"
    )
    query = urlencode(
        {
            "client_id": settings.microsoft.client_id,
            "scope": "https://graph.microsoft.com/.default",
            "redirect_uri": settings.redirect_uri,
        }
    )
    return f"{settings.microsoft.authority_host}/{tenant}/v2.0/adminconsent?{query}"


def sign_in_error(error: str | None, description: str | None, settings: Settings) -> SlotbridgeError:
    """The typed error for an authorize redirect or token response carrying `error`."""
    code = aadsts_code(description)
    if code == "65004" or (error == "access_denied" and code is None):
        return ConsentDeclined("You declined the permissions Slotbridge asked for, so nothing was connected.")
    if code in ADMIN_APPROVAL_AADSTS or error == "consent_required":
        return AdminApprovalRequired(
            "Your organisation requires an administrator to approve Slotbridge before you can connect. "
            "Send them the admin consent link.",
            adminConsentUrl=admin_consent_url(settings),
        )
    if code == "53003":
        return ConditionalAccessBlocked(
            "Your organisation's Conditional Access policies blocked this sign-in. Ask your IT administrator."
        )
    if error in ("temporarily_unavailable", "server_error"):
        return IdentityUnavailable("Microsoft sign-in is temporarily unavailable. Try again in a moment.")
    return SignInFailed(
        f"Microsoft sign-in failed ({error or 'unknown error'}{f', AADSTS{code}' if code else ''})."
    )


def is_reconnect_error(result: dict[str, Any] | None) -> bool:
    """True for token failures that need the user to sign in again (revoked, expired grants)."""
    if not result:
        return False
    code = aadsts_code(str(result.get("error_description", "")))
    return result.get("error") == "invalid_grant" or code in RECONNECT_AADSTS
