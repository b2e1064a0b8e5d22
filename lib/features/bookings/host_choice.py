"""Which host of a link gets a booking.

A single-host link: that host. A round-robin pool: the hosts in order of when this link last
booked them (never first), ties broken by their order in the link; the service tries them in
that order and the first that is free (rules, lock, live calendars) gets the booking - so the
booking goes to the free host booked least recently. `last_booked_at` is one row per link and
host, updated under its ETag.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from lib.adapters.storage import storage_account
from lib.adapters.storage.tables import AlreadyExists, Table
from lib.core.errors import SlotbridgeError
from lib.features.bookings.records import RoundRobinRecord
from lib.features.links.config import LinkConfig, LinkHost

log = logging.getLogger("slotbridge.bookings.hosts")

_NEVER = datetime.min.replace(tzinfo=UTC)


def _table() -> Table[RoundRobinRecord]:
    return storage_account().table(RoundRobinRecord)


def hosts_in_order(link: LinkConfig) -> list[tuple[int, LinkHost]]:
    """(index in the link, host), least recently booked first."""
    indexed = list(enumerate(link.hosts))
    if len(indexed) == 1:
        return indexed
    last = {row.host_user_id: row.last_booked_at for row in _table().query(partition=link.slug)}
    return sorted(indexed, key=lambda item: (last.get(item[1].user_id, _NEVER), item[0]))


def mark_booked(slug: str, host_user_id: str, when: datetime | None = None) -> None:
    """Record that `host_user_id` got a booking of `slug` now (best effort: a lost update only
    skews the rotation, never a booking)."""
    when = when or datetime.now(UTC)
    table = _table()
    try:
        if table.find(slug, host_user_id) is None:
            try:
                table.create(RoundRobinRecord(slug=slug, host_user_id=host_user_id, last_booked_at=when))
                return
            except AlreadyExists:
                pass

        def later(current: RoundRobinRecord) -> RoundRobinRecord | None:
            if current.last_booked_at >= when:
                return None
            current.last_booked_at = when
            return current

        table.mutate(slug, host_user_id, later)
    except SlotbridgeError as error:
        log.warning("round-robin state of link %s not updated (%s)", slug, error.code)
