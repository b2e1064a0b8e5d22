"""host.json is tuned on purpose: the route prefix the redirect URI depends on, the queue semantics
the poison-queue alerts and the tests rely on, a timeout with room for the timers, and telemetry
sampling that never drops requests, exceptions or the log lines the alerts count."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from devstack.funchost.config import HostConfig, parse_timespan
from lib.adapters.storage import queues

HOST_JSON = Path(__file__).resolve().parents[2] / "host.json"
LEVELS = ["Trace", "Debug", "Information", "Warning", "Error", "Critical", "None"]


def _host() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(HOST_JSON.read_text(encoding="utf-8"))
    return data


def test_functions_v4_with_the_v4_extension_bundle() -> None:
    host = _host()
    assert host["version"] == "2.0"
    assert host["extensionBundle"]["id"] == "Microsoft.Azure.Functions.ExtensionBundle"
    assert host["extensionBundle"]["version"] == "[4.*, 5.0.0)"


def test_route_prefix_is_api() -> None:
    # The registered redirect URI is {public base}/api/auth/callback; Graph posts to /api/graph/*.
    assert _host()["extensions"]["http"]["routePrefix"] == "api"


def test_queue_semantics() -> None:
    q = _host()["extensions"]["queues"]
    # Five tries, then <queue>-poison (the alert and the operations guide say five).
    assert q["maxDequeueCount"] == 5
    # The retry delay after a failure: short, because the work is idempotent and the outbox-retry
    # integration test waits for it (keep it at most ~10 s).
    assert timedelta(seconds=1) <= parse_timespan(q["visibilityTimeout"]) <= timedelta(seconds=10)
    # Per instance at most batchSize + newBatchThreshold messages of one queue run at once.
    assert 1 <= q["batchSize"] <= 32  # the platform's maximum is 32
    assert 0 <= q["newBatchThreshold"] < q["batchSize"]
    # Notifications are picked up within seconds of an idle period.
    assert parse_timespan(q["maxPollingInterval"]) <= timedelta(seconds=10)
    assert q["messageEncoding"] == "base64"


def test_function_timeout_leaves_room_for_the_timers_but_is_bounded() -> None:
    timeout = parse_timespan(_host()["functionTimeout"])
    assert timedelta(minutes=5) <= timeout <= timedelta(minutes=30)


def test_sampling_keeps_requests_exceptions_and_traces() -> None:
    sampling = _host()["logging"]["applicationInsights"]["samplingSettings"]
    excluded = {t.strip() for t in sampling.get("excludedTypes", "").split(";") if t.strip()}
    if sampling.get("isEnabled", True):
        # Requests and failures are never sampled; neither are traces, because the alerts count
        # log lines (poison moves, subscription_renewal_failed, connection_needs_reconnect).
        assert {"Request", "Exception", "Trace"} <= excluded
        assert "includedTypes" not in sampling  # it would override the exclusions


def test_log_levels_keep_requests_and_every_alerted_line() -> None:
    levels: dict[str, str] = _host()["logging"]["logLevel"]
    assert set(levels.values()) <= set(LEVELS)

    def at_most(category: str, level: str) -> bool:
        configured = levels.get(category, levels["default"])
        return LEVELS.index(configured) <= LEVELS.index(level)

    # Host.Results produces the `requests` telemetry.
    assert at_most("Host.Results", "Information")
    # The app's alerted lines are warnings or errors (Function.<name>.User); the poison-queue move
    # is a host warning.
    assert at_most("Function", "Warning")
    assert at_most("default", "Warning")


def test_the_dev_host_reads_the_same_values() -> None:
    config = HostConfig.load(HOST_JSON)
    q = _host()["extensions"]["queues"]
    assert config.route_prefix == "api"
    assert config.queues.max_dequeue_count == q["maxDequeueCount"]
    assert config.queues.batch_size == q["batchSize"]
    assert config.queues.visibility_timeout == parse_timespan(q["visibilityTimeout"])
    assert config.function_timeout == parse_timespan(_host()["functionTimeout"])
    assert queues.POISON_SUFFIX == "-poison"
