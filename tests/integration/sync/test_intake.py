"""The webhook intake on the dev host with its queue triggers off, so what it enqueued can be
counted: the validation handshake, verified items enqueued one message each, forged ones dropped."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.funchost import DevHost
from lib.adapters.storage.clients import queue_service
from lib.adapters.storage.queues import GRAPH_NOTIFICATIONS_QUEUE
from lib.core.settings import load_storage_settings, reset_settings_caches
from lib.features.sync.client_state import make_client_state
from tests.fixtures.devhost import CLIENT_STATE_KEY


@pytest.fixture(scope="module")
def devhost(app_env: dict[str, str], devhost_port: int) -> Iterator[DevHost]:
    mp = pytest.MonkeyPatch()
    for name, value in app_env.items():
        mp.setenv(name, value)
    reset_settings_caches()
    try:
        with DevHost(port=devhost_port, local_settings=None, run_queues=False, run_timers=False) as host:
            yield host
    finally:
        mp.undo()
        reset_settings_caches()


@pytest.fixture()
def queue(devhost: DevHost) -> Any:
    client = queue_service(load_storage_settings()).get_queue_client(GRAPH_NOTIFICATIONS_QUEUE)
    try:
        client.create_queue()
    except Exception:
        pass
    client.clear_messages()
    return client


def _messages(queue: Any) -> list[dict[str, Any]]:
    found = []
    for message in queue.receive_messages(max_messages=32, visibility_timeout=30):
        found.append(json.loads(base64.b64decode(message.content)))
    return found


def _item(state: str, sub: str = "sub-1", event: str = "ev-1", **extra: Any) -> dict[str, Any]:
    return {
        "subscriptionId": sub,
        "changeType": "updated",
        "clientState": state,
        "resource": f"Users/u/Events/{event}",
        "resourceData": {"id": event, "@odata.type": "#Microsoft.Graph.Event"},
        **extra,
    }


def test_validation_handshake_echoes_the_decoded_token(devhost: DevHost) -> None:
    token = "Validation: Testing client application reachability for subscription Request-Id: 1 <&>"
    for path in ("graph/notifications", "graph/lifecycle"):
        r = requests.post(f"{devhost.api_url}/{path}", params={"validationToken": token}, timeout=5)
        assert r.status_code == 200
        assert r.headers["Content-Type"].startswith("text/plain")
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.text == token


def test_an_empty_validation_token_is_a_bad_request(devhost: DevHost) -> None:
    r = requests.post(f"{devhost.api_url}/graph/notifications?validationToken=", timeout=5)
    assert r.status_code == 400
    assert r.headers["Content-Type"] == "application/problem+json"


def test_each_verified_item_is_enqueued_and_forged_ones_are_dropped(devhost: DevHost, queue: Any) -> None:
    good = make_client_state("conn-1", "cal-1", CLIENT_STATE_KEY)
    forged = make_client_state("conn-1", "cal-1", b"another-key-that-is-32-bytes-long!!!")
    tampered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    body = {
        "value": [
            _item(good, event="ev-1"),
            _item(forged, event="ev-2"),
            _item(tampered, event="ev-3"),
            _item(good.replace("conn-1", "conn-2"), event="ev-4"),
            {"subscriptionId": "sub-1", "changeType": "created"},  # no clientState at all
            _item(good, event="ev-5"),
        ]
    }
    r = requests.post(f"{devhost.api_url}/graph/notifications", json=body, timeout=5)
    assert r.status_code == 202
    messages = _messages(queue)
    assert sorted(m["event_id"] for m in messages) == ["ev-1", "ev-5"]
    assert all(m["connection_id"] == "conn-1" and m["kind"] == "change" for m in messages)
    assert all("clientState" not in json.dumps(m) and good not in json.dumps(m) for m in messages)


def test_a_forged_notification_is_acknowledged_and_nothing_is_enqueued(devhost: DevHost, queue: Any) -> None:
    forged = make_client_state("conn-1", "cal-1", b"another-key-that-is-32-bytes-long!!!")
    r = requests.post(f"{devhost.api_url}/graph/notifications", json={"value": [_item(forged)]}, timeout=5)
    assert r.status_code == 202
    r = requests.post(
        f"{devhost.api_url}/graph/lifecycle",
        json={"value": [{"subscriptionId": "s", "clientState": "v1.x.y.z", "lifecycleEvent": "missed"}]},
        timeout=5,
    )
    assert r.status_code == 202
    assert _messages(queue) == []


def test_lifecycle_items_are_enqueued_as_lifecycle_notices(devhost: DevHost, queue: Any) -> None:
    good = make_client_state("conn-1", "cal-1", CLIENT_STATE_KEY)
    item = {"subscriptionId": "sub-9", "clientState": good, "lifecycleEvent": "missed", "tenantId": "t"}
    r = requests.post(f"{devhost.api_url}/graph/lifecycle", json={"value": [item]}, timeout=5)
    assert r.status_code == 202
    [message] = _messages(queue)
    assert message == {
        "kind": "lifecycle",
        "subscription_id": "sub-9",
        "connection_id": "conn-1",
        "calendar_digest": message["calendar_digest"],
        "lifecycle_event": "missed",
    }


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"value": 3}', b"{}"])
def test_bodies_that_are_not_notification_collections_are_rejected(devhost: DevHost, body: bytes) -> None:
    r = requests.post(f"{devhost.api_url}/graph/notifications", data=body, timeout=5)
    assert r.status_code == 400


def test_an_oversized_body_is_rejected_without_parsing(devhost: DevHost, queue: Any) -> None:
    r = requests.post(
        f"{devhost.api_url}/graph/notifications",
        data=b'{"value": [' + b" " * (1024 * 1024) + b"]}",
        timeout=10,
    )
    assert r.status_code == 400
    assert _messages(queue) == []
