"""What a connection's life tells the features above connections (sync subscribes and imports a
connected account's calendars, follows settings, and cleans up before a disconnect), and what
connections and sync ask of the features above (which calendars links name). They listen through
`functions/wiring.py`; connections never imports them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lib.core.hooks import Hook


@dataclass(frozen=True)
class ConnectionRef:
    user_id: str
    connection_id: str


# A connect (or reconnect) succeeded. Listeners must not raise: the account is connected either way.
connected: Hook[ConnectionRef, None] = Hook("connected")
# A user's calendar settings were stored (conflict calendars may have changed). Must not raise.
calendar_settings_saved: Hook[str, None] = Hook("calendar settings saved")
# A connection is about to be disconnected; its tokens still work (listeners may use them).
disconnecting: Hook[ConnectionRef, None] = Hook("disconnecting")


@dataclass(frozen=True)
class LinkCalendar:
    """A calendar of the user's that a link's host entry names: for its conflicts, its bookings or
    both (`slug` says which link)."""

    slug: str
    connection_id: str
    calendar_id: str
    conflicts: bool
    bookings: bool


# Asked, not told: the calendars the user's links name for them (links answers). Calendar health
# and sync track the user's settings and these together. Listeners may raise (storage errors).
link_calendars: Hook[str, Sequence[LinkCalendar]] = Hook("link calendars")
