"""The change feed of a connection's account, from the connection's provider
(`lib.providers.change_feed`): sync never talks to a calendar service itself."""

from __future__ import annotations

from lib.features.connections.records import ConnectionRecord
from lib.providers.change_feed import ChangeFeed
from lib.providers.registry import provider_for


def feed_for(connection: ConnectionRecord, *, deadline_s: float | None = None) -> ChangeFeed:
    """Raises `NotFound` or `NeedsReconnect` when the account cannot be acted as."""
    provider = provider_for(connection.provider)
    return provider.change_feed(connection.user_id, connection.connection_id, deadline_s=deadline_s)
