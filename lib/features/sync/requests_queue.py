"""Putting a sync request on the `sync-requests` queue (its trigger runs `sync_requests.process`).
A module of its own so that what enqueues — the calendar worker, the timers, the connection
listeners — need not import what processes."""

from __future__ import annotations

from lib.adapters.storage import storage_account
from lib.adapters.storage.queues import SYNC_REQUESTS_QUEUE
from lib.features.sync.messages import SyncRequest


def enqueue(request: SyncRequest, *, delay_s: int | None = None) -> None:
    storage_account().queues.send(SYNC_REQUESTS_QUEUE, request.to_json(), visibility_timeout_s=delay_s)
