"""The "events that changed" hook: after each sync round the worker publishes which event
occurrences of a calendar were added/changed or removed. Availability does not need it (it reads
the cache); two-way booking sync will: a listener that looks up bookings by event id notices a
booking event the host moved or deleted in Outlook.

Listeners run in the processor after the round is stored; they must be quick and idempotent.
A listener that raises is logged and does not fail the round (the reconciliation timer's full
rounds are the backstop, published with `full_resync=True`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("slotbridge.sync.changes")


@dataclass(frozen=True)
class CalendarChanges:
    user_id: str
    connection_id: str
    calendar_id: str
    changed_event_ids: tuple[str, ...]  # added, moved, or otherwise changed in what blocks time
    removed_event_ids: tuple[str, ...]  # deleted, cancelled, or moved out of the synced window
    full_resync: bool  # the whole window was re-read (listeners may re-check everything they track)

    @property
    def empty(self) -> bool:
        return not self.changed_event_ids and not self.removed_event_ids


Listener = Callable[[CalendarChanges], None]

_listeners: list[Listener] = []
_lock = threading.Lock()


def add_listener(listener: Listener) -> None:
    with _lock:
        if listener not in _listeners:
            _listeners.append(listener)


def remove_listener(listener: Listener) -> None:
    with _lock:
        if listener in _listeners:
            _listeners.remove(listener)


def publish(changes: CalendarChanges) -> None:
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(changes)
        except Exception:
            log.exception("A calendar-changes listener failed (connection %s)", changes.connection_id)
