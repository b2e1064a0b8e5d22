"""`SLOTBRIDGE_SYNC_RECONCILE_SPREAD_MINUTES`: a reconciliation run spreads its one `sync-requests`
message per connection over the window instead of queueing them all at once (docs/capacity.md:
the burst at 100k hosts), each connection at a fixed offset; without it they arrive at once, as
before."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient

from devstack.azurite import Azurite
from lib.adapters.storage.queues import SYNC_REQUESTS_QUEUE
from lib.core.settings import reset_settings_caches
from tests.fixtures.azurite import unique_prefix

CONNECTIONS = ("conn-a", "conn-b", "conn-c")


@pytest.fixture
def sync_requests(azurite: Azurite) -> QueueClient:
    queue = QueueClient.from_connection_string(azurite.connection_string, SYNC_REQUESTS_QUEUE)
    try:
        queue.create_queue()  # the app creates it on first use
    except ResourceExistsError:
        pass
    queue.clear_messages()  # no dev host reads it in this module
    return queue


@pytest.fixture
def three_connections(app_env: dict[str, str]) -> Iterator[None]:
    from lib.adapters.storage import storage_account
    from lib.features.connections.records import ConnectionRecord

    mp = pytest.MonkeyPatch()
    for name, value in app_env.items():
        mp.setenv(name, value)
    mp.setenv("SLOTBRIDGE_TABLE_PREFIX", unique_prefix())  # these three connections only
    reset_settings_caches()
    now = datetime.now(UTC)
    table = storage_account().table(ConnectionRecord)
    for n, connection_id in enumerate(CONNECTIONS):
        table.create(
            ConnectionRecord(
                user_id=f"user-{n}",
                connection_id=connection_id,
                account_id=f"account-{n}",
                email=f"host{n}@contoso.com",
                created_at=now,
                updated_at=now,
            )
        )
    yield
    mp.undo()
    reset_settings_caches()


def _run(spread_minutes: str) -> int:
    import os

    from lib.features.housekeeping.reconcile import enqueue_all

    os.environ["SLOTBRIDGE_SYNC_RECONCILE_SPREAD_MINUTES"] = spread_minutes
    reset_settings_caches()
    try:
        return enqueue_all()
    finally:
        del os.environ["SLOTBRIDGE_SYNC_RECONCILE_SPREAD_MINUTES"]
        reset_settings_caches()


def test_with_a_spread_no_connection_is_queued_for_now(
    three_connections: None, sync_requests: QueueClient
) -> None:
    from lib.features.housekeeping.reconcile import spread_offset_s

    assert all(spread_offset_s(c, 240 * 60) for c in CONNECTIONS)  # none of these ids lands at 0
    assert _run("240") == 3
    assert sync_requests.get_queue_properties().approximate_message_count == 3  # all queued...
    assert list(sync_requests.peek_messages(max_messages=32)) == []  # ...none visible yet


def test_without_a_spread_every_connection_is_queued_at_once(
    three_connections: None, sync_requests: QueueClient
) -> None:
    assert _run("0") == 3
    assert len(list(sync_requests.peek_messages(max_messages=32))) == 3


def test_each_connection_keeps_its_place_within_the_spread() -> None:
    from lib.features.housekeeping.reconcile import spread_offset_s

    spread = 180 * 60
    offsets = [spread_offset_s(f"connection-{n}", spread) for n in range(2000)]
    assert offsets == [spread_offset_s(f"connection-{n}", spread) for n in range(2000)]  # every run alike
    assert all(o is not None and 0 <= o < spread for o in offsets)
    thirds = [
        sum(1 for o in offsets if o is not None and k * spread / 3 <= o < (k + 1) * spread / 3)
        for k in range(3)
    ]
    assert all(600 <= n <= 733 for n in thirds), thirds  # spread evenly, not bunched
    assert spread_offset_s("connection-0", 0) is None
