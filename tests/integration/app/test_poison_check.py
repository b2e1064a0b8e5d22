"""The poison-queue check on the dev host: a message waiting in a `-poison` queue is reported as
`poison_queue_depth queue=<name> depth=<n>` (the line the poison-depth alert watches) within a timer
period, and an empty poison queue is not reported."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterator

import pytest

from devstack.funchost import DevHost
from lib.adapters.storage import storage_account
from lib.adapters.storage.queues import APP_QUEUES, OUTBOX_QUEUE, POISON_SUFFIX

LINE = re.compile(r"^poison_queue_depth queue=([a-z0-9-]+) depth=(\d+)$")


@pytest.fixture(scope="module")
def app_env(app_env: dict[str, str]) -> dict[str, str]:
    return {**app_env, "SLOTBRIDGE_POISON_CHECK_SCHEDULE": "*/2 * * * * *"}


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.lines.append(record.getMessage())


@pytest.fixture()
def lines() -> Iterator[_Lines]:
    handler = _Lines()
    logging.getLogger().addHandler(handler)
    try:
        yield handler
    finally:
        logging.getLogger().removeHandler(handler)


def _reported(lines: _Lines) -> dict[str, int]:
    found = [LINE.match(line) for line in lines.lines]
    return {m.group(1): int(m.group(2)) for m in found if m}


def test_a_message_in_a_poison_queue_is_reported_with_the_queue_depth(
    devhost: DevHost, lines: _Lines
) -> None:
    queues = storage_account().queues
    poison = f"{OUTBOX_QUEUE}{POISON_SUFFIX}"
    # Poison queues are not per test run (their names are the host's): count what is there already.
    before = {f"{name}{POISON_SUFFIX}": queues.depth(f"{name}{POISON_SUFFIX}") for name in APP_QUEUES}
    message_id = queues.send(poison, {"userId": "u", "messageId": f"poisoned-{uuid.uuid4().hex[:6]}"})
    try:
        lines.lines.clear()
        deadline = time.monotonic() + 20
        while poison not in _reported(lines) and time.monotonic() < deadline:
            time.sleep(0.5)

        reported = _reported(lines)
        assert reported.get(poison) == before[poison] + 1, lines.lines
        # Only non-empty poison queues are reported: one line per check for each.
        assert set(reported) == {queue for queue, depth in before.items() if depth} | {poison}
    finally:
        client = storage_account().queues._client(poison)
        for message in client.receive_messages(max_messages=32):
            if message.id == message_id:
                client.delete_message(message)
    fired = {timer.function.name: timer.fired for timer in devhost.timers}
    assert fired["check_poison_queues"] >= 1 and fired["reconcile_sync"] == 0
