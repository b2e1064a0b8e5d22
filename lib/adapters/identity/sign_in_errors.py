"""Sign-in and token failures from the Microsoft identity platform, as the problem codes a UI
switches on, and the admin-consent link with the answer it comes back with.

The AADSTS code in `error_description` decides (Microsoft's list: learn.microsoft.com/entra/
identity-platform/reference-error-codes); the OAuth `error` is the fallback. Each class of failure
has its own code, so the user reads what to do — never a generic "session expired"."""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlencode

from lib.core.errors import OutlookUnavailable, SlotbridgeError
from lib.core.settings import Settings

_AADSTS = re.compile(r"AADSTS(\d+)")

ADMIN_APPROVAL_AADSTS = {"90094", "90095"}  # AdminConsentRequired, ...RequestAccess (consent workflow)
CONSENT_REQUIRED_AADSTS = {"65001"}  # DelegationDoesNotExist: never consented, or consent removed
USER_NOT_ASSIGNED_AADSTS = {"50105"}  # EntitlementGrantsNotFound: the app requires assignment
# The account is not one this tenant or app lets in: from another identity provider or tenant
# (50020), not in the directory (50034, 51004), the wrong account type (500208), cross-tenant
# access policies (500212, 500213).
ACCOUNT_NOT_ALLOWED_AADSTS = {"50020", "50034", "51004", "500208", "500212", "500213"}
# Device and policy checks besides the 53xxx / 53xxxx family (all Conditional Access): a platform
# the policy does not support, device authentication, workplace join, ConditionalAccessFailed.
CONDITIONAL_ACCESS_AADSTS = {"50005", "50097", "50129", "50131"}
# An interactive step is due: MFA (enrolment, challenge, expiry, external), a password change or
# reset registration, no usable session, sign-in frequency. Signing in again interactively works.
INTERACTION_AADSTS = {
    "50055", "50058", "50072", "50074", "50076", "50078", "50079", "50125", "50132", "50133", "50158",
    "70043",
}  # fmt: skip
# Grants that expired or were revoked (refresh only): a new sign-in fixes them.
EXPIRED_GRANT_AADSTS = {"70000", "700082", "50173", "70008", "700084"}
# OAuth errors of a refresh that only a new interactive sign-in can fix.
RECONNECT_ERRORS = {"invalid_grant", "interaction_required", "consent_required", "login_required"}

ADMIN_CONSENT_STATE_PREFIX = "adminconsent."


class ConsentDeclined(SlotbridgeError):
    code = "consent_declined"
    status = 403
    title = "Consent was declined"


class AdminApprovalRequired(SlotbridgeError):
    code = "admin_approval_required"
    status = 403
    title = "An administrator must approve Slotbridge"


class ConsentRequired(SlotbridgeError):
    """Slotbridge has no consent for this account: never given, or removed since."""

    code = "consent_required"
    status = 403
    title = "Permission for Slotbridge is missing"


class ConditionalAccessBlocked(SlotbridgeError):
    code = "conditional_access_blocked"
    status = 403
    title = "Blocked by your organisation's access policies"


class UserNotAssigned(SlotbridgeError):
    code = "user_not_assigned"
    status = 403
    title = "You are not assigned to Slotbridge in your organisation"


class AccountNotAllowed(SlotbridgeError):
    code = "account_not_allowed"
    status = 403
    title = "This Microsoft account cannot sign in here"


class InteractionRequired(SlotbridgeError):
    code = "interaction_required"
    status = 401
    title = "Microsoft needs another sign-in step"


class InsufficientPermissions(SlotbridgeError):
    code = "insufficient_permissions"
    status = 403
    title = "Calendar permission was not granted"


class SignInFailed(SlotbridgeError):
    """A sign-in failure with no more specific code (the identity platform refused for its reason)."""

    code = "sign_in_failed"
    status = 401
    title = "Sign-in failed"


class InvalidSignInState(SlotbridgeError):
    """Missing, unknown, expired, tampered or replayed OAuth state: nothing is exchanged."""

    code = "validation_error"
    status = 400
    title = "This sign-in link is not valid"


class IdentityUnavailable(OutlookUnavailable):
    title = "Microsoft sign-in is unavailable"


def aadsts_code(description: str | None) -> str | None:
    match = _AADSTS.search(description or "")
    return match.group(1) if match else None


def _is_conditional_access(code: str | None) -> bool:
    # 53000-53999 and 530000-539999 are all Conditional Access or device-state blocks.
    return code is not None and (
        code in CONDITIONAL_ACCESS_AADSTS or (code[:2] == "53" and len(code) in (5, 6))
    )


def admin_consent_state() -> str:
    """A `state` for the admin-consent link: a marker the callback recognises, not a secret.

    Nothing is sealed or stored: the link is forwarded to an administrator who may open it days later,
    and more than once, and the answer changes nothing in Slotbridge (Microsoft records the approval),
    so there is nothing to prove — and an anonymous route hands these out. The random part only keeps
    each link distinct."""
    return ADMIN_CONSENT_STATE_PREFIX + secrets.token_urlsafe(16)


def admin_consent_url(settings: Settings) -> str:
    """The v2 admin-consent page for this app, for organisations whose admin must approve. It
    returns to the callback with `admin_consent=True&tenant&state` (or `error`)."""
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
            "state": admin_consent_state(),
        }
    )
    return f"{settings.microsoft.authority_host}/{tenant}/v2.0/adminconsent?{query}"


def sign_in_error(error: str | None, description: str | None, settings: Settings) -> SlotbridgeError:
    """The typed error for an authorize redirect or token response carrying `error`."""
    code = aadsts_code(description)
    if code == "65004" or (error == "access_denied" and code is None):
        return ConsentDeclined("You declined the permissions Slotbridge asked for, so nothing was connected.")
    if code in ADMIN_APPROVAL_AADSTS:
        return AdminApprovalRequired(
            "Your organisation requires an administrator to approve Slotbridge before you can connect. "
            "Send them the admin consent link.",
            adminConsentUrl=admin_consent_url(settings),
        )
    if code in CONSENT_REQUIRED_AADSTS or error == "consent_required":
        return ConsentRequired(
            "Slotbridge does not have your permission to use your calendar: it was never given or has been "
            "removed. Connect again and accept the permissions; if your organisation does not let you, "
            "send your administrator the admin consent link.",
            adminConsentUrl=admin_consent_url(settings),
        )
    if _is_conditional_access(code):
        return ConditionalAccessBlocked(
            "Your organisation's Conditional Access policies blocked this sign-in (for example, the device "
            "is not managed or compliant). Ask your IT administrator."
        )
    if code in USER_NOT_ASSIGNED_AADSTS:
        return UserNotAssigned(
            "Your organisation lets only assigned people use Slotbridge, and your account is not assigned. "
            "Ask your IT administrator to assign you to Slotbridge, then connect again."
        )
    if code in ACCOUNT_NOT_ALLOWED_AADSTS:
        return AccountNotAllowed(
            "This Microsoft account cannot sign in to Slotbridge: it is not part of an organisation that "
            "allows it (for example a personal or guest account). Connect again with your work account."
        )
    if code in INTERACTION_AADSTS or error in ("interaction_required", "login_required"):
        return InteractionRequired(
            "Microsoft needs you to complete another sign-in step, such as multi-factor authentication. "
            "Connect again and finish every step."
        )
    if error in ("temporarily_unavailable", "server_error"):
        return IdentityUnavailable("Microsoft sign-in is temporarily unavailable. Try again in a moment.")
    return SignInFailed(
        f"Microsoft sign-in failed ({error or 'unknown error'}{f', AADSTS{code}' if code else ''}). "
        "Connect again; if it keeps failing, ask your IT administrator."
    )


def admin_consent_error(error: str, description: str | None, settings: Settings) -> SlotbridgeError:
    """The typed error for an answer of the admin-consent endpoint, in words for the administrator."""
    code = aadsts_code(description)
    if error in ("permission_denied", "access_denied") and code in (None, "65004"):
        return ConsentDeclined(
            "The permissions were not approved, so nothing changed. To approve Slotbridge for your "
            "organisation, open the approval link again and accept."
        )
    if code in ADMIN_APPROVAL_AADSTS:
        return AdminApprovalRequired(
            "Only an administrator of your organisation can approve Slotbridge for everyone. Sign in with "
            "an administrator account, or send the approval link to one.",
            adminConsentUrl=admin_consent_url(settings),
        )
    return sign_in_error(error, description, settings)


def is_reconnect_error(result: dict[str, Any] | None) -> bool:
    """True for token failures that need the user to sign in again: revoked or expired grants,
    and everything the user (or their administrator) must act on — MFA, consent removed,
    Conditional Access, assignment. Retrying the refresh would fail the same way."""
    if not result:
        return False
    code = aadsts_code(str(result.get("error_description", "")))
    return (
        result.get("error") in RECONNECT_ERRORS
        or code in EXPIRED_GRANT_AADSTS
        or _is_conditional_access(code)
        or any(
            code in group
            for group in (
                ADMIN_APPROVAL_AADSTS,
                CONSENT_REQUIRED_AADSTS,
                USER_NOT_ASSIGNED_AADSTS,
                ACCOUNT_NOT_ALLOWED_AADSTS,
                INTERACTION_AADSTS,
            )
        )
    )
