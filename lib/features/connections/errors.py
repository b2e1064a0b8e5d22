"""Typed errors of the connection rules."""

from __future__ import annotations

from lib.core.errors import SlotbridgeError


class AccountAlreadyLinked(SlotbridgeError):
    code = "account_already_linked"
    status = 409
    title = "This Microsoft account is connected to another user"


class AccountLimitReached(SlotbridgeError):
    code = "account_limit_reached"
    status = 409
    title = "No more Microsoft accounts can be connected"


class InvalidSignInState(SlotbridgeError):
    """Missing, unknown, expired, tampered or replayed OAuth state: nothing is exchanged."""

    code = "validation_error"
    status = 400
    title = "This sign-in link is not valid"
