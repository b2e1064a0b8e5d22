"""The functions dev host: routing, keys, timers and queues with the host's semantics."""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from azure.storage.queue import QueueServiceClient, TextBase64EncodePolicy

from devstack.azurite import Azurite
from devstack.funchost import DevHost
from devstack.funchost.config import HostConfigError, storage_settings_for
from devstack.funchost.timers import (
    NEVER,
    ScheduleMonitor,
    ScheduleStatus,
    check_past_due,
    next_occurrence,
    parse_ncrontab,
)
from tests.integration.devhost import sample_app

KEY = "test-function-key"
DAILY = "0 0 3 * * *"


@pytest.fixture(scope="module")
def queue_name() -> str:
    return "sample-" + uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def host(azurite: Azurite, queue_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHost]:
    mp = pytest.MonkeyPatch()
    mp.setenv("AzureWebJobsStorage", azurite.connection_string)
    mp.setenv("SampleStorage", azurite.connection_string)
    mp.setenv("DEVHOST_FUNCTION_KEYS", f"other,{KEY}")
    mp.setenv("SAMPLE_SCHEDULE", "*/1 * * * * *")
    mp.setenv("SAMPLE_DAILY", DAILY)
    mp.setenv("SAMPLE_QUEUE", queue_name)
    host_json = tmp_path_factory.mktemp("host") / "host.json"
    host_json.write_text(
        json.dumps(
            {
                "version": "2.0",
                "functionTimeout": "00:00:01",
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


def test_wrong_method_is_a_bare_404_as_on_the_real_host(host: DevHost) -> None:
    # The Functions host's routing finds no route for a method the function does not list, so it
    # answers 404 without `Allow` (Azure/azure-functions-host#10098), not 405.
    r = requests.delete(f"{host.api_url}/items/1", headers={"x-functions-key": KEY}, timeout=5)
    assert r.status_code == 404
    assert "Allow" not in r.headers
    assert requests.get(f"{host.api_url}/echo/x", timeout=5).status_code == 404


def test_routes_match_in_any_case_and_parameters_keep_theirs(host: DevHost) -> None:
    assert requests.get(f"{host.url}/API/Items/LATEST", timeout=5).text == "latest"
    r = requests.get(f"{host.url}/Api/ITEMS/42", headers={"x-functions-key": KEY}, timeout=5)
    assert r.json() == {"id": "42", "method": "GET"}
    assert requests.post(f"{host.api_url}/ECHO/MiXeD", timeout=5).json()["name"] == "MiXeD"
    assert requests.get(f"{host.url}/apix/items/latest", timeout=5).status_code == 404


def test_function_timeout_fails_an_http_invocation_with_a_bare_500(
    host: DevHost, caplog: pytest.LogCaptureFixture
) -> None:
    assert requests.get(f"{host.api_url}/slow", params={"s": "0"}, timeout=5).text == "done"
    started = time.monotonic()
    with caplog.at_level(logging.INFO, logger="devstack.funchost"):
        r = requests.get(f"{host.api_url}/slow", params={"s": "4"}, timeout=10)
    assert r.status_code == 500 and r.text == ""
    assert time.monotonic() - started < 3  # answered at the timeout, not when the code finished
    assert "Timeout value of 00:00:01 exceeded by function 'Functions.slow'" in caplog.text


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


def _poisoned(azurite: Azurite, queue_name: str, body: str, timeout: float = 15.0) -> bool:
    poison = QueueServiceClient.from_connection_string(azurite.connection_string).get_queue_client(
        f"{queue_name}-poison"
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if body in [base64.b64decode(m.content).decode() for m in poison.peek_messages(max_messages=32)]:
            return True
        time.sleep(0.2)
    return False


def test_function_timeout_fails_a_queue_try_until_poison(
    host: DevHost, azurite: Azurite, queue_name: str
) -> None:
    # Each try runs past functionTimeout (1 s): a failed try, retried, then poisoned — not processed.
    _queue(azurite, queue_name).send_message("slow message")
    assert _poisoned(azurite, queue_name, "slow message")
    assert [n for b, n in sample_app.queue_seen if b == "slow message"] == [1, 2, 3]


def test_queue_trigger_reads_the_account_its_connection_names(
    azurite: Azurite, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Only `SampleStorage` (the trigger's `connection`) is set: no AzureWebJobsStorage at all.
    queue = "conn-" + uuid.uuid4().hex[:8]
    monkeypatch.delenv("AzureWebJobsStorage", raising=False)
    monkeypatch.setenv("SampleStorage", azurite.connection_string)
    monkeypatch.setenv("SAMPLE_QUEUE", queue)
    host_json = tmp_path / "host.json"
    host_json.write_text(
        json.dumps({"version": "2.0", "extensions": {"queues": {"maxPollingInterval": "00:00:00.200"}}})
    )
    with DevHost(
        app_module="tests.integration.devhost.sample_app",
        host_json=host_json,
        local_settings=None,
        run_timers=False,
    ):
        _queue(azurite, queue).send_message("via SampleStorage")
        assert _wait_for(lambda: any(b == "via SampleStorage" for b, _ in sample_app.queue_seen))

    monkeypatch.delenv("SampleStorage")
    with pytest.raises(HostConfigError, match="SampleStorage"):
        DevHost(
            app_module="tests.integration.devhost.sample_app",
            host_json=host_json,
            local_settings=None,
            run_timers=False,
        )


def test_connection_names_resolve_as_on_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AzureWebJobsStorage", raising=False)
    monkeypatch.setenv("Jobs__accountName", "jobsaccount")
    assert storage_settings_for("Jobs").queue_service_uri == "https://jobsaccount.queue.core.windows.net"
    # `AzureWebJobs<name>` is looked up first, then `<name>`; no connection means AzureWebJobsStorage.
    monkeypatch.setenv("AzureWebJobsJobs", "UseDevelopmentStorage=true")
    assert storage_settings_for("Jobs").connection_string == "UseDevelopmentStorage=true"
    monkeypatch.setenv("AzureWebJobsStorage", "UseDevelopmentStorage=true")
    assert storage_settings_for("").connection_string == "UseDevelopmentStorage=true"


def test_past_due_follows_the_hosts_schedule_monitor() -> None:
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    # Never recorded: not past due, and the first status is written.
    due, status, write = check_past_due(DAILY, now, None)
    assert (due, status.next, write) == (timedelta(0), datetime(2026, 3, 11, 3, 0, tzinfo=UTC), True)
    # Last ran two days ago, so the run due yesterday at 03:00 was missed.
    last = datetime(2026, 3, 8, 3, 0, tzinfo=UTC)
    ran = ScheduleStatus(last, datetime(2026, 3, 9, 3, 0, tzinfo=UTC), last)
    due, status, write = check_past_due(DAILY, now, ran)
    assert due == timedelta(hours=33) and status == ran and not write
    # A schedule changed since (the recorded Next is not the schedule's): not a missed run.
    other = ScheduleStatus(last, datetime(2026, 3, 8, 4, 0, tzinfo=UTC), last)
    due, status, write = check_past_due(DAILY, now, other)
    assert due == timedelta(0) and write
    assert (status.last, status.next) == (NEVER, datetime(2026, 3, 11, 3, 0, tzinfo=UTC))


def _wait_until(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_a_timer_missed_while_the_host_was_down_runs_past_due_at_start(
    azurite: Azurite, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)
    monkeypatch.setenv("AzureFunctionsWebHost__hostid", "host-" + uuid.uuid4().hex[:8])
    monkeypatch.setenv("SAMPLE_SCHEDULE", "*/1 * * * * *")
    monkeypatch.setenv("SAMPLE_DAILY", DAILY)
    host_json = tmp_path / "host.json"
    host_json.write_text(json.dumps({"version": "2.0"}))

    def start() -> DevHost:
        return DevHost(
            app_module="tests.integration.devhost.sample_app",
            host_json=host_json,
            local_settings=None,
            run_queues=False,
        )

    # The host last ran the timer two days ago (at 03:00) and was down since.
    monitor = ScheduleMonitor.from_settings()
    assert monitor is not None
    now = datetime.now(UTC)
    last = next_occurrence(DAILY, now - timedelta(days=3))
    monitor.update("daily", ScheduleStatus(last, next_occurrence(DAILY, last), last))
    before = len(sample_app.daily_ticks)
    with start():
        assert _wait_until(lambda: len(sample_app.daily_ticks) > before)
        tick = sample_app.daily_ticks[-1]
        assert tick.past_due is True
        assert tick.schedule_status["Next"] == next_occurrence(DAILY, last).isoformat()
        assert _wait_until(lambda: (monitor.get("daily") or ScheduleStatus(NEVER, NEVER, NEVER)).last > now)
    remembered = monitor.get("daily")
    assert remembered is not None and remembered.next == next_occurrence(DAILY, remembered.last)
    assert remembered.next > datetime.now(UTC)
    # Started again: the run is remembered, so nothing is past due and nothing runs.
    with start():
        time.sleep(1.5)
    assert len(sample_app.daily_ticks) == before + 1
    # A timer repeating more often than once a minute is not monitored (the host's default).
    assert monitor.get("tick") is None


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
