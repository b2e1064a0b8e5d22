"""What a connection's life tells the features above connections (sync subscribes and imports a
connected account's calendars, follows settings, and cleans up before a disconnect). They listen
through `functions/wiring.py`; connections never imports them."""

from __future__ import annotations

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
