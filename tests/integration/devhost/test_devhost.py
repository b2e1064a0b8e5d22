"""The functions dev host: routing, keys, timers and queues with the host's semantics."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from azure.storage.queue import QueueServiceClient, TextBase64EncodePolicy

from devstack.azurite import Azurite
from devstack.funchost import DevHost
from devstack.funchost.config import HostConfigError
from devstack.funchost.timers import next_occurrence, parse_ncrontab
from tests.integration.devhost import sample_app

KEY = "test-function-key"


@pytest.fixture(scope="module")
def queue_name() -> str:
    return "sample-" + uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def host(azurite: Azurite, queue_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHost]:
    mp = pytest.MonkeyPatch()
    mp.setenv("AzureWebJobsStorage", azurite.connection_string)
    mp.setenv("DEVHOST_FUNCTION_KEYS", f"other,{KEY}")
    mp.setenv("SAMPLE_SCHEDULE", "*/1 * * * * *")
    mp.setenv("SAMPLE_QUEUE", queue_name)
    host_json = tmp_path_factory.mktemp("host") / "host.json"
    host_json.write_text(
        json.dumps(
            {
                "version": "2.0",
                "extensions": {
                    "http": {"routePrefix": "api"},
                    "queues": {
                        "maxPollingInterval": "00:00:00.500",
                        "visibilityTimeout": "00:00:00",
                        "batchSize": 4,
                        "maxDequeueCount": 3,
                    },
                },
            }
        )
    )
    with DevHost(
        app_module="tests.integration.devhost.sample_app", host_json=host_json, local_settings=None
    ) as h:
        yield h
    mp.undo()


def test_path_parameters_with_constraint(host: DevHost) -> None:
    r = requests.get(f"{host.api_url}/items/42", headers={"x-functions-key": KEY}, timeout=5)
    assert r.status_code == 200
    assert r.json() == {"id": "42", "method": "GET"}
    assert r.headers["Content-Type"].startswith("application/json")


def test_literal_route_wins_over_parameter(host: DevHost) -> None:
    r = requests.get(f"{host.api_url}/items/latest", timeout=5)
    assert (r.status_code, r.text) == (200, "latest")


def test_unknown_route_and_constraint_mismatch_are_404(host: DevHost) -> None:
    assert requests.get(f"{host.api_url}/nothing-here", timeout=5).status_code == 404
    assert (
        requests.get(f"{host.api_url}/items/abc", headers={"x-functions-key": KEY}, timeout=5).status_code
        == 404
    )
    # Without the route prefix nothing is served.
    assert requests.get(f"{host.url}/items/latest", timeout=5).status_code == 404


def test_wrong_method_is_405_with_allow(host: DevHost) -> None:
    r = requests.delete(f"{host.api_url}/items/1", headers={"x-functions-key": KEY}, timeout=5)
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET, PUT"


def test_function_key_is_required_for_function_level_routes(host: DevHost) -> None:
    url = f"{host.api_url}/items/7"
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, headers={"x-functions-key": "wrong"}, timeout=5).status_code == 401
    assert requests.get(url, params={"code": KEY}, timeout=5).status_code == 200
    assert requests.put(url, headers={"x-functions-key": "other"}, timeout=5).json()["method"] == "PUT"


def test_request_parts_reach_the_function(host: DevHost) -> None:
    r = requests.post(
        f"{host.api_url}/echo/a%20b", params={"q": "1"}, headers={"x-sample": "h"}, data="payload", timeout=5
    )
    assert r.status_code == 201
    assert r.headers["X-Echo"] == "yes"
    body = r.json()
    assert body["name"] == "a b" and body["query"] == {"q": "1"}
    assert body["header"] == "h" and body["body"] == "payload"
    assert body["url"].startswith(f"{host.api_url}/echo/")


def test_a_raising_function_is_a_bare_500(host: DevHost) -> None:
    r = requests.get(f"{host.api_url}/boom", timeout=5)
    assert r.status_code == 500
    assert "secret" not in r.text and "Traceback" not in r.text


def test_timer_fires_on_its_schedule(host: DevHost) -> None:
    before = len(sample_app.timer_ticks)
    time.sleep(2.6)
    fired = len(sample_app.timer_ticks) - before
    assert 2 <= fired <= 4
    assert sample_app.timer_ticks[-1].schedule_status["Next"]


def test_ncrontab_has_seconds_first_and_resolves_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    monkeypatch.setenv("RENEW_SCHEDULE", "0 */5 * * * *")
    expr = parse_ncrontab("%RENEW_SCHEDULE%")
    assert next_occurrence(expr, datetime(2026, 1, 1, 10, 2, 3, tzinfo=UTC)) == datetime(
        2026, 1, 1, 10, 5, tzinfo=UTC
    )
    with pytest.raises(HostConfigError, match="six fields"):
        parse_ncrontab("*/5 * * * *")
    with pytest.raises(HostConfigError, match="NOT_SET"):
        parse_ncrontab("%NOT_SET%")


def _queue(azurite: Azurite, name: str):  # type: ignore[no-untyped-def]
    return QueueServiceClient.from_connection_string(azurite.connection_string).get_queue_client(
        name, message_encode_policy=TextBase64EncodePolicy()
    )


def _wait_for(predicate, timeout: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    with sample_app.queue_event:
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            sample_app.queue_event.wait(remaining)
    return True


def test_queue_message_is_processed_once(host: DevHost, azurite: Azurite, queue_name: str) -> None:
    _queue(azurite, queue_name).send_message(json.dumps({"hello": "world"}))
    assert _wait_for(lambda: any('"hello"' in body for body, _ in sample_app.queue_seen))
    seen = [(b, n) for b, n in sample_app.queue_seen if '"hello"' in b]
    assert seen == [('{"hello": "world"}', 1)]


def test_failing_message_lands_in_poison_after_max_dequeue_count(
    host: DevHost, azurite: Azurite, queue_name: str
) -> None:
    _queue(azurite, queue_name).send_message("please fail")
    assert _wait_for(lambda: [n for b, n in sample_app.queue_seen if b == "please fail"] == [1, 2, 3])
    poison = QueueServiceClient.from_connection_string(azurite.connection_string).get_queue_client(
        f"{queue_name}-poison"
    )
    deadline = time.monotonic() + 10
    messages: list = []
    while not messages and time.monotonic() < deadline:
        messages = list(poison.peek_messages(max_messages=5))
        time.sleep(0.1)
    assert [base64.b64decode(m.content).decode() for m in messages] == ["please fail"]
    time.sleep(1.0)  # no fourth attempt after poisoning
    assert [n for b, n in sample_app.queue_seen if b == "please fail"] == [1, 2, 3]


def test_host_json_is_the_source_of_the_prefix(tmp_path: Path, azurite: Azurite, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)
    host_json = tmp_path / "host.json"
    host_json.write_text(json.dumps({"version": "2.0", "extensions": {"http": {"routePrefix": ""}}}))
    with DevHost(
        app_module="tests.integration.devhost.sample_app",
        host_json=host_json,
        local_settings=None,
        run_timers=False,
        run_queues=False,
    ) as h:
        assert requests.get(f"{h.url}/items/latest", timeout=5).text == "latest"
