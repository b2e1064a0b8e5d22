"""The "events that changed" hook: after each sync round the worker publishes which event
occurrences of a calendar were added/changed or removed. Availability does not need it (it reads
the cache); two-way booking sync does: a listener that looks up bookings by event id notices a
booking event the host moved or deleted in Outlook.

Listeners run in the processor after the round is stored, and must be idempotent. No later round
reports a change again (the cache already holds it), so a listener that cannot apply one now
returns its event id, and the worker queues a recheck of those events (`SyncRequest` with
`recheck_event_ids`): retried by the queue, poisoned only after `maxDequeueCount` failures. A
listener that raises is taken to have failed on every event of the change.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from lib.core.hooks import Hook

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


# Listeners answer the event ids they could not handle yet (to be tried again later).
calendar_changed: Hook[CalendarChanges, Sequence[str]] = Hook("calendar changes")


def publish(changes: CalendarChanges) -> tuple[str, ...]:
    """Tell every listener; the event ids some listener could not handle yet. A listener that
    raises does not keep the others from hearing."""
    retry: dict[str, None] = {}
    for listener in calendar_changed.listeners:
        try:
            retry.update(dict.fromkeys(listener(changes)))
        except Exception:
            log.exception("A calendar-changes listener failed (connection %s)", changes.connection_id)
            retry.update(dict.fromkeys([*changes.changed_event_ids, *changes.removed_event_ids]))
    return tuple(retry)
