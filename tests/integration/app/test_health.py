"""`GET /api/health` through the dev host: reports storage, never a secret."""

from __future__ import annotations

import json

import requests

from devstack.funchost import DevHost, load_functions
from lib.core.settings import reset_settings_caches


def test_health_is_ok_with_storage_answering(devhost: DevHost, app_env: dict[str, str]) -> None:
    r = requests.get(f"{devhost.api_url}/health", timeout=10)
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "checks": {"storage": "ok", "keys": "ok"}}
    assert "AccountKey" not in r.text and app_env["AzureWebJobsStorage"] not in r.text


def test_health_is_503_when_storage_does_not_answer(monkeypatch, app_env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    for name, value in app_env.items():
        monkeypatch.setenv(name, value)
    dead = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;"
    )
    monkeypatch.setenv("AzureWebJobsStorage", dead)
    reset_settings_caches()
    try:
        with DevHost(local_settings=None, run_timers=False, run_queues=False) as host:
            r = requests.get(f"{host.api_url}/health", timeout=60)
        assert r.status_code == 503
        body = r.json()
        assert body == {"status": "degraded", "checks": {"storage": "unavailable", "keys": "ok"}}
        assert "a2V5" not in json.dumps(body)
    finally:
        reset_settings_caches()


def test_app_declares_health_as_anonymous_get() -> None:
    health = next(f for f in load_functions() if f.name == "health")
    assert health.trigger["route"] == "health"
    assert [m.upper() for m in health.trigger["methods"]] == ["GET"]
    assert str(health.trigger["authLevel"]).upper() == "ANONYMOUS"
