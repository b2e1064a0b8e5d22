"""What availability needs to know of a host on every public request — its calendar settings and
which of its connections are connected — remembered for a few seconds per process.

Booking pages ask for availability far more often than hosts change settings, and the booking path
re-reads everything live, so a short staleness costs nothing. Writes in this process forget the
user's entry at once (`forget`); other instances see the change within `TTL_S`.
"""

from __future__ import annotations

from dataclasses import dataclass

from lib.core.ttl_memo import forget as forget_memo
from lib.core.ttl_memo import ttl_memo
from lib.engine.busy_source import CALENDAR_MISSING
from lib.features.connections.records import (
    CalendarSettingsRecord,
    ConnectionRecord,
    ConnectionStatus,
    connected_account,
)
from lib.features.connections.repository import calendar_settings, user_connections
from lib.providers.accounts import AccountRef

TTL_S = 5.0
# The status (and availability's reason) of a host with no Microsoft account connected.
NOT_CONNECTED = "not_connected"


@dataclass(frozen=True)
class HostView:
    user_id: str
    settings: CalendarSettingsRecord | None
    connected: frozenset[str]  # ids of the user's connections that are connected
    connections: frozenset[str] = frozenset()  # ids of all the user's connections
    # (connection id, provider name) of each: whose calendar service reads which calendars.
    providers: tuple[tuple[str, str], ...] = ()
    # The connection rows themselves, so a booking acts as the accounts it has just read.
    records: tuple[ConnectionRecord, ...] = ()

    def provider_of(self, connection_id: str) -> str | None:
        return dict(self.providers).get(connection_id)

    def record(self, connection_id: str) -> ConnectionRecord | None:
        return next((c for c in self.records if c.connection_id == connection_id), None)

    def account_of(self, user_id: str, connection_id: str) -> AccountRef:
        """The account of the view's connection if it can be acted as (`AccountOf`): a view read
        live for one booking vouches for its status as reading the row again would."""
        return connected_account(self.record(connection_id) if user_id == self.user_id else None)

    @property
    def not_connected(self) -> bool:
        """No Microsoft account connected (never, or every one disconnected): nothing can vouch
        for the host's time. Connecting stores default settings, so no settings means never."""
        return self.settings is None or not self.connections

    @property
    def connected_settings(self) -> CalendarSettingsRecord | None:
        """The settings of a host that is connected; None for one that is not (`not_connected`)."""
        return None if self.not_connected else self.settings

    @property
    def status(self) -> str:
        """The host's calendar status as the management API shows it."""
        if self.not_connected:
            return NOT_CONNECTED
        if self.connections - self.connected:
            return ConnectionStatus.NEEDS_RECONNECT.value
        if self.settings is not None and self.settings.missing_calendars:
            return CALENDAR_MISSING
        return ConnectionStatus.CONNECTED.value


def read_host_view(user_id: str) -> HostView:
    """The host's view read now (the booking path, which never trusts a memo)."""
    connections = user_connections(user_id)
    return HostView(
        user_id,
        calendar_settings(user_id),
        frozenset(c.connection_id for c in connections if c.status is ConnectionStatus.CONNECTED),
        frozenset(c.connection_id for c in connections),
        tuple((c.connection_id, c.provider) for c in connections),
        tuple(connections),
    )


@ttl_memo(TTL_S)
def host_view(user_id: str) -> HostView:
    return read_host_view(user_id)


def forget(user_id: str) -> None:
    """Call after changing a user's calendar settings or connections."""
    forget_memo(host_view, user_id)
