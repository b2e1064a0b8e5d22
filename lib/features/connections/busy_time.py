"""Live busy time of a host's calendars, each read by the provider of the account that holds it,
so one host's conflict calendars may come from Outlook and Google side by side. The calendars
are grouped by their connection's provider (`host_view`), each group is read by that provider's
`BusySource`, and the groups run concurrently. A calendar of a connection the user no longer has
comes back `not_found` (fail closed, as a provider answers for an unknown connection)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from lib.core.errors import NotFound
from lib.core.parallel import map_concurrently
from lib.engine.busy_source import CalendarBusy, CalendarRef, HostBusy
from lib.features.connections.host_view import HostView, host_view
from lib.providers.registry import provider_for


class AccountsBusySource:
    """`BusySource` dispatching each calendar to its account's provider. `view`: `host_view`
    (availability, memoized) or `read_host_view` (the booking path, read now). `acting_as_view`:
    the view was read live for this read, so its connection rows (status checked) are the accounts
    read as; otherwise each account's connection is read now (a memoized view's status may be old)."""

    def __init__(
        self,
        fallback_time_zone: str,
        view: Callable[[str], HostView] = host_view,
        *,
        acting_as_view: bool = False,
    ) -> None:
        self._zone = fallback_time_zone
        self._view = view
        self._acting_as_view = acting_as_view

    def busy(
        self, user_id: str, calendars: Sequence[CalendarRef], start_utc: datetime, end_utc: datetime
    ) -> HostBusy:
        refs = list(dict.fromkeys(calendars))
        view = self._view(user_id)
        groups: dict[str, list[CalendarRef]] = {}
        found: dict[CalendarRef, CalendarBusy] = {}
        for ref in refs:
            name = view.provider_of(ref.connection_id)
            if name is None:
                found[ref] = CalendarBusy(ref, error=NotFound.code)
            else:
                groups.setdefault(name, []).append(ref)

        def read(group: tuple[str, list[CalendarRef]]) -> HostBusy:
            name, members = group
            accounts = view.account_of if self._acting_as_view else None
            source = provider_for(name).busy_source(self._zone, accounts)
            return source.busy(user_id, members, start_utc, end_utc)

        for answer in map_concurrently(read, list(groups.items()), limit=max(1, len(groups))):
            found.update({c.calendar: c for c in answer.calendars})
        return HostBusy(user_id, tuple(found[ref] for ref in refs))
