"""Typed errors of the connection rules."""

from __future__ import annotations

# Raised by the flow here and by a provider completing a sign-in, so it lives with the sign-in errors.
from lib.adapters.identity.sign_in_errors import InvalidSignInState as InvalidSignInState
from lib.core.errors import SlotbridgeError


class AccountAlreadyLinked(SlotbridgeError):
    code = "account_already_linked"
    status = 409
    title = "This Microsoft account is connected to another user"


class AccountLimitReached(SlotbridgeError):
    code = "account_limit_reached"
    status = 409
    title = "No more Microsoft accounts can be connected"
