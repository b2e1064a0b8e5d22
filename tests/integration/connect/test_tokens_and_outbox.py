"""The token vault and the needs_reconnect path: concurrent refreshes lose nothing; a revoked grant
yields exactly one "action required" message, delivered to the product's webhook signed the
Standard Webhooks way (verified by the `standardwebhooks` package's own verifier)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import requests

from devstack.funchost import DevHost
from lib.adapters.storage import storage_account
from lib.features.connections.graph_access import token_vault
from lib.features.connections.records import ConnectionRecord
from lib.features.outbox import service as outbox
from lib.features.outbox.records import OutboxRecord
from tests.fixtures.product_webhook import SECRET, ProductWebhook
from tests.fixtures.sandbox import unique_email
from tests.integration.sync.helpers import wait_for

from .helpers import BACKEND, connect, connections


@pytest.fixture(scope="module")
def webhook() -> Iterator[ProductWebhook]:
    hook = ProductWebhook()
    hook.server.start()
    yield hook
    hook.server.stop()


@pytest.fixture(scope="module")
def app_env(app_env: dict[str, str], webhook: ProductWebhook) -> dict[str, str]:
    return {
        **app_env,
        "SLOTBRIDGE_PRODUCT_WEBHOOK_URL": webhook.url,
        "SLOTBRIDGE_WEBHOOK_SIGNING_KEY": SECRET,
    }


def _needs_reconnect(user: str) -> list[OutboxRecord]:
    rows = storage_account().table(OutboxRecord).query(partition=user)
    return [r for r in rows if r.type == "connection.needs_reconnect"]


def _connected(devhost: DevHost, admin, sandbox_http) -> tuple[str, str, ConnectionRecord]:  # type: ignore[no-untyped-def]
    account = admin.add_account(unique_email())["id"]
    user = f"user-{uuid.uuid4().hex[:8]}"
    connect(devhost, sandbox_http, user, account)
    [conn] = connections(devhost, user)
    record = storage_account().table(ConnectionRecord).get(user, conn["connectionId"])
    return account, user, record


def test_two_concurrent_refreshes_lose_nothing(devhost: DevHost, admin, sandbox_http) -> None:
    account, user, conn = _connected(devhost, admin, sandbox_http)
    vault = token_vault()
    for _ in range(3):
        admin.expire_access_tokens(account)
        barrier = threading.Barrier(2)

        def refresh(_: int, barrier: threading.Barrier = barrier) -> str:
            barrier.wait()
            return vault.access_token(conn.connection_id, conn.account_id, force_refresh=True)

        with ThreadPoolExecutor(2) as pool:
            tokens = list(pool.map(refresh, range(2)))
        assert all(tokens)
    # The stored cache still refreshes, and the connection was never declared broken.
    assert vault.access_token(conn.connection_id, conn.account_id, force_refresh=True)
    assert connections(devhost, user)[0]["status"] == "connected"
    r = requests.get(f"{devhost.api_url}/users/{user}/calendars", headers=BACKEND, timeout=30)
    assert r.status_code == 200 and r.json()["unavailable"] == []


def test_revoked_grant_gives_exactly_one_signed_outbox_message(
    devhost: DevHost, admin, sandbox_http, webhook: ProductWebhook
) -> None:
    account, user, conn = _connected(devhost, admin, sandbox_http)
    wait_for(lambda: webhook.accepted(user, "connection.connected"), 30, "the connected event")
    webhook.fail_next(user, 1)  # the first delivery of needs_reconnect fails, so it is retried
    admin.revoke_grant(account, reason="expired")
    admin.expire_access_tokens(account)

    def read_calendars(_: int) -> int:
        return requests.get(
            f"{devhost.api_url}/users/{user}/calendars", headers=BACKEND, timeout=30
        ).status_code

    with ThreadPoolExecutor(6) as pool:
        assert set(pool.map(read_calendars, range(6))) == {200}
    assert connections(devhost, user)[0]["status"] == "needs_reconnect"
    messages = _needs_reconnect(user)
    assert len(messages) == 1
    assert messages[0].data["connectionId"] == conn.connection_id and messages[0].data["aadsts"] == "700082"

    # Delivered through the outbox queue: the first attempt answered 500, the retry (30 s later by
    # default) is made due here rather than waited for.
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and outbox.pending(user):
        for row in outbox.pending(user):
            if row.attempts:
                _due_now(user, row.message_id)
        time.sleep(0.5)
    assert not outbox.pending(user)
    mine = webhook.received(user, "connection.needs_reconnect")
    assert [d.status for d in mine] == [500, 204]  # one failure, one success
    assert all(d.verified for d in mine) and mine[0].webhook_id == mine[1].webhook_id
    assert mine[0].event["data"]["connectionId"] == conn.connection_id
    # More failing requests of the same breakage add nothing.
    read_calendars(0)
    assert len(_needs_reconnect(user)) == 1


def _due_now(user: str, message_id: str) -> None:
    """Time travel: the retry's queue message is invisible for 30 s; make it due and deliver it."""

    def due(row: OutboxRecord) -> OutboxRecord:
        row.next_attempt_at = datetime.now(UTC)
        return row

    storage_account().table(OutboxRecord).mutate(user, message_id, due)
    outbox.deliver(user, message_id)


def test_reconnect_after_a_breakage_then_a_new_breakage_gives_a_second_message(
    devhost: DevHost, admin, sandbox_http
) -> None:
    account, user, _ = _connected(devhost, admin, sandbox_http)
    for round_ in (1, 2):
        admin.revoke_grant(account, reason="revoked")
        admin.expire_access_tokens(account)
        requests.get(f"{devhost.api_url}/users/{user}/calendars", headers=BACKEND, timeout=30)
        assert len(_needs_reconnect(user)) == round_
        connect(devhost, sandbox_http, user, account)
        assert connections(devhost, user)[0]["status"] == "connected"


def test_stored_token_caches_name_their_key_version_and_open_only_for_their_connection(
    devhost: DevHost, admin, sandbox_http
) -> None:
    from lib.adapters.identity.token_vault import TokenCacheRecord
    from lib.adapters.keyvault import LOCAL_KEY_VERSION, data_keys
    from lib.core.crypto import SealedValueInvalid, unseal

    _, _, conn = _connected(devhost, admin, sandbox_http)
    record = storage_account().table(TokenCacheRecord).get(conn.connection_id, "msal")
    assert record.key_version == LOCAL_KEY_VERSION and record.sealed_cache.startswith("sb1.local.")
    with pytest.raises(SealedValueInvalid):
        unseal(record.sealed_cache, data_keys(), b"another-connection")
