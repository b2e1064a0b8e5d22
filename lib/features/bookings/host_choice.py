"""Which host of a link gets a booking.

A single-host link: that host. A round-robin pool: the hosts in order of when this link last
booked them (never first), ties broken by their order in the link; the service tries them in
that order and the first that is free (rules, lock, live calendars) gets the booking - so the
booking goes to the free host booked least recently. `last_booked_at` is one row per link and
host, updated under its ETag.

Bookings under way on this instance go first to the host with the fewest under way here
(`claimed_in_turn`): attendees booking at once all read the same rotation, and without this every
one of them would try the same host first - its mailbox takes 4 Graph requests at a time, so a
pool would book no faster than one host. Other instances' bookings count once they are marked.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Generator
from datetime import UTC, datetime

from lib.adapters.storage import storage_account
from lib.adapters.storage.tables import AlreadyExists, Table
from lib.core.errors import SlotbridgeError
from lib.features.bookings.records import RoundRobinRecord
from lib.features.links.config import LinkConfig, LinkHost

log = logging.getLogger("slotbridge.bookings.hosts")

_NEVER = datetime.min.replace(tzinfo=UTC)

_in_flight: Counter[tuple[str, str]] = Counter()  # (slug, host user id) -> bookings under way here
_in_flight_lock = threading.Lock()


def _table() -> Table[RoundRobinRecord]:
    return storage_account().table(RoundRobinRecord)


def hosts_in_order(link: LinkConfig) -> list[tuple[int, LinkHost]]:
    """(index in the link, host): least recently booked first, then in the link's order."""
    indexed = list(enumerate(link.hosts))
    if len(indexed) == 1:
        return indexed
    last = {row.host_user_id: row.last_booked_at for row in _table().query(partition=link.slug)}

    def order(item: tuple[int, LinkHost]) -> tuple[datetime, int]:
        return last.get(item[1].user_id, _NEVER), item[0]

    return sorted(indexed, key=order)


def claimed_in_turn(
    slug: str, candidates: list[tuple[int, LinkHost]]
) -> Generator[tuple[int, LinkHost], None, None]:
    """The candidates to try, each counted as under way on this instance while the caller tries
    it: next the one with the fewest bookings under way here, `candidates`' order breaking ties.

    Choosing and counting happen under one lock: attendees booking at once would otherwise all
    read the counts before any of them counted itself, and go to the same host. Close the
    iterator (`contextlib.closing`) so the last claim is given back when the caller stops."""
    remaining = list(candidates)
    while remaining:
        with _in_flight_lock:
            chosen = min(remaining, key=lambda item: _in_flight[(slug, item[1].user_id)])
            key = (slug, chosen[1].user_id)
            _in_flight[key] += 1
        remaining.remove(chosen)
        try:
            yield chosen
        finally:
            with _in_flight_lock:
                _in_flight[key] -= 1
                if not _in_flight[key]:
                    del _in_flight[key]


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
