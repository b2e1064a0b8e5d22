"""Who listens to whom: the one place where a feature is told of another's news (the hooks of
`lib.core.hooks`), and which calendar provider answers for which provider name
(`lib.providers.registry`). `function_app.py` calls `install()` once at start-up.

Each listener imports its feature when it first runs, not here: a cold start that only answers
Graph's validation handshake must not load the sync or bookings services (the cold-start test
names these imports). Likewise each provider is built when first asked for, not here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lib.features.connections import hooks as connection_hooks
from lib.features.sync import changes
from lib.providers import google, microsoft, registry
from lib.providers import none as no_calendar

if TYPE_CHECKING:
    from lib.providers.base import CalendarProvider
    from lib.providers.google.provider import GoogleProvider
    from lib.providers.microsoft.provider import MicrosoftProvider


def _sync_on_connected(ref: connection_hooks.ConnectionRef) -> None:
    """A connected account: subscribe its conflict calendars and import them (queued)."""
    from lib.features.sync import connection_events

    connection_events.on_connected(ref.user_id, ref.connection_id)


def _sync_on_settings_saved(user_id: str) -> None:
    """Subscriptions follow the conflict calendars (queued)."""
    from lib.features.sync import connection_events

    connection_events.on_conflict_calendars_changed(user_id)


def _sync_on_disconnecting(ref: connection_hooks.ConnectionRef) -> None:
    """Subscriptions deleted (best effort, while the tokens work), sync state and busy cache wiped."""
    from lib.features.sync import connection_events

    connection_events.on_disconnecting(ref.user_id, ref.connection_id)


def _link_calendars(user_id: str) -> Sequence[connection_hooks.LinkCalendar]:
    """Calendar health and sync track the calendars the user's links name, as well as the settings."""
    from lib.features.links import service

    return service.calendars_for(user_id)


def _bookings_follow_outlook(calendar_changes: changes.CalendarChanges) -> Sequence[str]:
    """Two-way sync: bookings notice their events moved or deleted in Outlook."""
    from lib.features.bookings import outlook_sync

    return outlook_sync.on_calendar_changes(calendar_changes)


def _microsoft_provider() -> MicrosoftProvider:
    """Graph, acting as connections' stored accounts."""
    from lib.features.connections.mailboxes import microsoft_provider

    return microsoft_provider()


def _google_provider() -> GoogleProvider:
    """Google Calendar, acting as connections' stored accounts."""
    from lib.features.connections.mailboxes import google_provider

    return google_provider()


def _no_calendar_provider() -> CalendarProvider:
    """Weekly hours only."""
    from lib.providers.none.provider import NoCalendarProvider

    return NoCalendarProvider()


def install_providers() -> None:
    registry.install(microsoft.NAME, _microsoft_provider)
    registry.install(google.NAME, _google_provider)
    registry.install(no_calendar.NAME, _no_calendar_provider)


def install() -> None:
    install_providers()
    connection_hooks.connected.listen(_sync_on_connected)
    connection_hooks.calendar_settings_saved.listen(_sync_on_settings_saved)
    connection_hooks.disconnecting.listen(_sync_on_disconnecting)
    connection_hooks.link_calendars.listen(_link_calendars)
    changes.calendar_changed.listen(_bookings_follow_outlook)
