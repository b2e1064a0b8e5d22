"""The token vault and the needs_reconnect path: concurrent refreshes lose nothing; a revoked grant
yields exactly one "action required" message, delivered signed to the product's webhook."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from werkzeug.wrappers import Request, Response

from devstack.funchost import DevHost
from devstack.http_server import ServerThread
from lib.adapters.storage import storage_account
from lib.core.crypto import hmac_sha256
from lib.features.connections.graph_access import token_vault
from lib.features.connections.records import ConnectionRecord
from lib.features.outbox import service as outbox
from lib.features.outbox.records import OutboxRecord
from tests.fixtures.devhost import WEBHOOK_KEY
from tests.fixtures.sandbox import unique_email

from .helpers import BACKEND, connect, connections


class Webhook:
    """The product's webhook: records deliveries, answers with scripted statuses (then 200)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.deliveries: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.server = ServerThread(self, name="webhook")
        self.url = self.server.url + "/hooks/slotbridge"

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self.lock:
            self.deliveries.append({"body": request.get_data(), "headers": dict(request.headers)})
            status = self.statuses.pop(0) if self.statuses else 200
        return Response(status=status)(environ, start_response)


@pytest.fixture(scope="module")
def webhook() -> Iterator[Webhook]:
    hook = Webhook(statuses=[500])  # the first delivery fails, so the queue has to retry it
    hook.server.start()
    yield hook
    hook.server.stop()


@pytest.fixture(scope="module")
def app_env(app_env: dict[str, str], webhook: Webhook) -> dict[str, str]:
    return {**app_env, "SLOTBRIDGE_PRODUCT_WEBHOOK_URL": webhook.url}


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
    devhost: DevHost, admin, sandbox_http, webhook: Webhook
) -> None:
    account, user, conn = _connected(devhost, admin, sandbox_http)
    admin.revoke_grant(account, reason="expired")
    admin.expire_access_tokens(account)

    def read_calendars(_: int) -> int:
        return requests.get(
            f"{devhost.api_url}/users/{user}/calendars", headers=BACKEND, timeout=30
        ).status_code

    with ThreadPoolExecutor(6) as pool:
        assert set(pool.map(read_calendars, range(6))) == {200}
    assert connections(devhost, user)[0]["status"] == "needs_reconnect"
    messages = list(storage_account().table(OutboxRecord).query(partition=user))
    assert len(messages) == 1
    assert messages[0].type == "connection.needs_reconnect"
    assert messages[0].data["connectionId"] == conn.connection_id and messages[0].data["aadsts"] == "700082"

    # Delivered through the outbox queue: first attempt answered 500, the retry succeeds.
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and not outbox_delivered(user):
        time.sleep(0.2)
    assert outbox_delivered(user)
    mine = [d for d in webhook.deliveries if conn.connection_id.encode() in d["body"]]
    assert len(mine) == 2  # one failure, one success
    for delivery in mine:
        timestamp, signature = (
            part.split("=", 1)[1] for part in delivery["headers"]["Slotbridge-Signature"].split(",")
        )
        assert hmac_sha256(WEBHOOK_KEY, timestamp.encode() + b"." + delivery["body"]).hex() == signature
    # More failing requests of the same breakage add nothing.
    read_calendars(0)
    assert len(list(storage_account().table(OutboxRecord).query(partition=user))) == 1


def outbox_delivered(user: str) -> bool:
    return not outbox.pending(user) and bool(
        list(storage_account().table(OutboxRecord).query(partition=user))
    )


def test_reconnect_after_a_breakage_then_a_new_breakage_gives_a_second_message(
    devhost: DevHost, admin, sandbox_http
) -> None:
    account, user, _ = _connected(devhost, admin, sandbox_http)
    for round_ in (1, 2):
        admin.revoke_grant(account, reason="revoked")
        admin.expire_access_tokens(account)
        requests.get(f"{devhost.api_url}/users/{user}/calendars", headers=BACKEND, timeout=30)
        assert len(list(storage_account().table(OutboxRecord).query(partition=user))) == round_
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
