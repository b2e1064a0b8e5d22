"""What availability needs to know of a host on every public request — its calendar settings and
which of its connections are connected — remembered for a few seconds per process.

Booking pages ask for availability far more often than hosts change settings, and the booking path
re-reads everything live, so a short staleness costs nothing. Writes in this process forget the
user's entry at once (`forget`); other instances see the change within `TTL_S`.
"""

from __future__ import annotations

from dataclasses import dataclass

from lib.connections.records import CalendarSettingsRecord, ConnectionStatus
from lib.ttl_memo import TtlMemo

TTL_S = 5.0


@dataclass(frozen=True)
class HostView:
    settings: CalendarSettingsRecord | None
    connected: frozenset[str]  # ids of the user's connections that are connected


_memo: TtlMemo[str, HostView] = TtlMemo(TTL_S)


def _load(user_id: str) -> HostView:
    from lib.connections.calendars import calendar_settings, user_connections

    return HostView(
        calendar_settings(user_id),
        frozenset(
            c.connection_id for c in user_connections(user_id) if c.status is ConnectionStatus.CONNECTED
        ),
    )


def host_view(user_id: str) -> HostView:
    return _memo.get(user_id, lambda: _load(user_id))


def forget(user_id: str) -> None:
    """Call after changing a user's calendar settings or connections."""
    _memo.discard(user_id)
