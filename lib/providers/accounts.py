"""Accounts behind the provider seam: signing an account in to a calendar service and listing its
calendars, in terms that name no service. A provider answers for them through
`CalendarProvider.accounts()`; connections keeps the flow, applies the connection rules and stores
the connection (`lib.features.connections.connect_flow`, `calendars`).

The sign-in is an authorization-code flow: `start_sign_in` gives the authorization URL and an
opaque, JSON-serializable flow that connections stores (sealed, single use) under the state it
chose; `complete_sign_in` takes that flow back with the callback's parameters and answers with the
account, or raises the sign-in's `SlotbridgeError` (its problem code). The account's token
material stays opaque to connections, which only hands it back to `save_tokens` once the
connection has an id.

Calendars are read as an `AccountRef` (the stored connection's user, id and the provider's
account id); a failure to read is a `SlotbridgeError` (for instance `NeedsReconnect`,
`OutlookUnavailable`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class AccountRef:
    """A connected account as connections stores it."""

    user_id: str
    connection_id: str
    account_id: str  # the provider's own id of the account


# The account of (user id, connection id) as its caller has read and checked it; raises `NotFound`
# or `NeedsReconnect` for one that cannot be acted as.
AccountOf = Callable[[str, str], AccountRef]


@dataclass(frozen=True)
class SignInStart:
    authorization_url: str
    flow: dict[str, Any]  # opaque and JSON-serializable: kept by connections, given back on completion
    # Where an administrator approves the app for an organisation, when the service has such a step
    # (Microsoft's admin consent); None for services without one (Google).
    admin_consent_url: str | None = None


@dataclass(frozen=True)
class SignedInAccount:
    """The account a completed sign-in identified, with the scopes granted (sorted)."""

    account_id: str
    email: str
    display_name: str
    tenant_id: str
    is_personal: bool
    scopes: list[str]
    tokens: object = dataclasses.field(repr=False)  # opaque: saved through `Accounts.save_tokens`


@dataclass(frozen=True)
class AccountCalendar:
    calendar_id: str
    name: str
    owner_name: str
    owner_address: str
    can_edit: bool
    is_default: bool


class Accounts(Protocol):
    def start_sign_in(self, state: str) -> SignInStart:
        """The authorization URL (carrying `state`) and the flow to keep until the callback."""
        ...

    def complete_sign_in(self, flow: dict[str, Any], params: dict[str, str]) -> SignedInAccount:
        """Exchange the callback's answer (`params`) within `flow`; raises the sign-in's error."""
        ...

    def save_tokens(self, connection_id: str, account: SignedInAccount) -> None:
        """Keep the signed-in account's token material for the connection."""
        ...

    def forget_tokens(self, connection_id: str) -> None:
        """Delete the connection's token material (a disconnect; the provider may revoke the
        grant too). Nothing kept is fine."""
        ...

    def calendars(self, account: AccountRef) -> list[AccountCalendar]:
        """Every calendar the account can see."""
        ...

    def default_calendar(self, account: AccountRef) -> AccountCalendar:
        """The account's primary calendar."""
        ...
