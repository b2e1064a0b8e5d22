"""Reading a user's connections and calendar settings: what other features (sync, availability,
bookings) and this one's own modules read of connections' records."""

from __future__ import annotations

from lib.adapters.storage import storage_account
from lib.features.connections.records import CalendarSettingsRecord, ConnectionRecord


def user_connections(user_id: str) -> list[ConnectionRecord]:
    """The user's connections, oldest first."""
    return sorted(
        storage_account().table(ConnectionRecord).query(partition=user_id), key=lambda c: c.created_at
    )


def all_connections() -> list[ConnectionRecord]:
    """Every connection of every user (the timers' sweeps)."""
    return list(storage_account().table(ConnectionRecord).query())


def find_connection(user_id: str, connection_id: str) -> ConnectionRecord | None:
    return storage_account().table(ConnectionRecord).find(user_id, connection_id)


def calendar_settings(user_id: str) -> CalendarSettingsRecord | None:
    return storage_account().table(CalendarSettingsRecord).find(user_id, "settings")
