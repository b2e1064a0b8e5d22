"""The poison-queue check (`SLOTBRIDGE_POISON_CHECK_SCHEDULE`, every 5 minutes by default): how many
messages wait in each `-poison` queue the app's triggers feed. Storage has no per-queue length
metric, so a non-empty one is logged as `poison_queue_depth queue=<name> depth=<n>` (a warning),
which the poison-depth alert watches until the messages are replayed or removed."""

from __future__ import annotations

import logging

from lib.adapters.storage import storage_account
from lib.adapters.storage.queues import APP_QUEUES, POISON_SUFFIX

log = logging.getLogger("slotbridge.housekeeping.poison")


def report() -> dict[str, int]:
    queues = storage_account().queues
    depths = {f"{name}{POISON_SUFFIX}": queues.depth(f"{name}{POISON_SUFFIX}") for name in APP_QUEUES}
    for queue, depth in depths.items():
        if depth:
            log.warning("poison_queue_depth queue=%s depth=%d", queue, depth)
    return depths
