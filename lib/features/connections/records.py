"""Stored records of connections: the connection itself (per user), the Microsoft-account index
(one account belongs to one user), pending sign-in flows, the user's calendar settings and the
user's own account limit (set by the product)."""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime
from typing import ClassVar

from lib.adapters.storage.records import TableRecord
from lib.core.errors import NeedsReconnect, NotFound
from lib.providers import microsoft
from lib.providers.accounts import AccountRef

# The provider of accounts stored before connections named one (Microsoft: the only kind there was).
DEFAULT_PROVIDER = microsoft.NAME


class ConnectionStatus(enum.StrEnum):
    CONNECTED = "connected"
    NEEDS_RECONNECT = "needs_reconnect"


@dataclasses.dataclass(kw_only=True)
class ConnectionRecord(TableRecord):
    table_kind: ClassVar[str] = "connections"
    partition_fields: ClassVar[tuple[str, ...]] = ("user_id",)
    row_fields: ClassVar[tuple[str, ...]] = ("connection_id",)

    user_id: str
    connection_id: str
    account_id: str  # the provider's: MSAL home_account_id "<object id>.<tenant id>", "google.<sub>"
    email: str
    display_name: str = ""
    tenant_id: str = ""
    is_personal: bool = False
    provider: str = DEFAULT_PROVIDER  # the account's calendar provider (`lib.providers.registry`)
    status: ConnectionStatus = ConnectionStatus.CONNECTED
    scopes: list[str] = dataclasses.field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    # Counts breakages; the "action required" message of breakage N has an id derived from N, so
    # one breakage yields exactly one message however many requests hit it.
    breakage_count: int = 0
    needs_reconnect_since: datetime | None = None
    last_error_code: str | None = None

    def account(self) -> AccountRef:
        """The account, as its provider is asked about it."""
        return AccountRef(self.user_id, self.connection_id, self.account_id)


def connected_account(connection: ConnectionRecord | None) -> AccountRef:
    """The account of a connection that can be acted as; NotFound or NeedsReconnect otherwise."""
    if connection is None:
        raise NotFound("no such connection")
    if connection.status is ConnectionStatus.NEEDS_RECONNECT:
        raise NeedsReconnect("connection needs reconnect")
    return connection.account()


@dataclasses.dataclass(kw_only=True)
class AccountLinkRecord(TableRecord):
    """Which user an account (of any provider: their ids never collide) belongs to (insert-only:
    the first user to connect it wins)."""

    table_kind: ClassVar[str] = "accountlinks"
    partition_fields: ClassVar[tuple[str, ...]] = ("account_id",)
    row_fields: ClassVar[tuple[str, ...]] = ("kind",)

    account_id: str
    kind: str = "link"
    user_id: str
    connection_id: str
    created_at: datetime


class ConnectMode(enum.StrEnum):
    POPUP = "popup"
    REDIRECT = "redirect"


@dataclasses.dataclass(kw_only=True)
class PendingFlowRecord(TableRecord):
    """A started sign-in: the provider's flow (sealed: it holds the PKCE verifier, and for Microsoft
    MSAL's nonce), single use."""

    table_kind: ClassVar[str] = "pendingflows"
    partition_fields: ClassVar[tuple[str, ...]] = ("flow_id",)
    row_fields: ClassVar[tuple[str, ...]] = ("kind",)

    flow_id: str  # a hash of the OAuth state, so the state itself is not a key anyone can list
    kind: str = "flow"
    user_id: str
    sealed_flow: str
    mode: ConnectMode
    return_url: str | None = None
    opener_origin: str | None = None
    expires_at: datetime
    consumed_at: datetime | None = None
    # Who started the sign-in (flows stored before Google existed are Microsoft's).
    provider: str = DEFAULT_PROVIDER


@dataclasses.dataclass(kw_only=True)
class CalendarSettingsRecord(TableRecord):
    """A user's calendar choices: calendars checked for conflicts, and the one bookings go to.

    Calendars are referenced as {"connectionId": ..., "calendarId": ...}.
    """

    table_kind: ClassVar[str] = "calendarsettings"
    partition_fields: ClassVar[tuple[str, ...]] = ("user_id",)
    row_fields: ClassVar[tuple[str, ...]] = ("kind",)

    user_id: str
    kind: str = "settings"
    conflict_calendars: list[dict[str, str]] = dataclasses.field(default_factory=list)
    write_calendar: dict[str, str] | None = None
    # showAs values that block this user's time; None means the default policy.
    blocking_show_as: list[str] | None = None
    # Names of the chosen calendars as they were when chosen, by "<connectionId>|<calendarId>":
    # a calendar deleted in Outlook can no longer be asked for its name.
    calendar_names: dict[str, str] = dataclasses.field(default_factory=dict)
    # Chosen calendars Outlook answered 404 for ({"connectionId", "calendarId", "since"}); the one
    # place a calendar's health is kept (`lib.features.connections.calendar_health`).
    missing_calendars: list[dict[str, str]] = dataclasses.field(default_factory=list)
    # Counts calendars going missing: the outbox message of episode N has an id derived from N.
    missing_episodes: int = 0
    # Chosen calendars whose reads keep failing ({"connectionId", "calendarId", "since", "episode",
    # "posted"}): an episode starts at the first failed read and ends at the next good one.
    unreadable_calendars: list[dict[str, str]] = dataclasses.field(default_factory=list)
    unreadable_episodes: int = 0
    updated_at: datetime


@dataclasses.dataclass(kw_only=True)
class AccountLimitRecord(TableRecord):
    """How many accounts this user may connect, as the product set it (its plan); a user without
    one has `SLOTBRIDGE_MAX_ACCOUNTS_PER_USER`. Only the API key writes it."""

    table_kind: ClassVar[str] = "accountlimits"
    partition_fields: ClassVar[tuple[str, ...]] = ("user_id",)
    row_fields: ClassVar[tuple[str, ...]] = ("kind",)

    user_id: str
    kind: str = "limit"
    max_accounts: int
    updated_at: datetime
