"""Webhook signing is Standard Webhooks': the spec's published example (secret, id, timestamp,
body -> signature) comes out of the project's signing path, and the signing-key setting takes the
`whsec_` form and the bare base64 form (the setting's format before) as the same secret."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from lib.core.settings import SETTING_SPECS, Settings, SettingsError, reset_settings_caches
from lib.features.outbox.service import signed_headers

# https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
EXAMPLE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
EXAMPLE_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
EXAMPLE_TIMESTAMP = 1614265330
EXAMPLE_BODY = b'{"test": 2432232314}'
EXAMPLE_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def _settings(monkeypatch: pytest.MonkeyPatch, signing_key: str) -> Settings:
    from lib.core.settings import get_settings

    monkeypatch.setenv("SLOTBRIDGE_WEBHOOK_SIGNING_KEY", signing_key)
    reset_settings_caches()
    try:
        return get_settings()
    finally:
        reset_settings_caches()


@pytest.fixture()
def app_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for spec in SETTING_SPECS:
        monkeypatch.delenv(spec.name, raising=False)
    monkeypatch.setenv("AzureWebJobsStorage", "UseDevelopmentStorage=true")
    monkeypatch.setenv("SLOTBRIDGE_CLIENT_ID", "client")
    monkeypatch.setenv("SLOTBRIDGE_CLIENT_SECRET", "secret")
    monkeypatch.setenv("SLOTBRIDGE_PUBLIC_BASE_URL", "https://slotbridge.example")
    monkeypatch.setenv("SLOTBRIDGE_DATA_KEY", base64.b64encode(b"k" * 32).decode())


def test_the_published_example_signs_the_same_through_the_settings(
    app_environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _settings(monkeypatch, EXAMPLE_SECRET).keys.webhook_signing_key
    assert key is not None
    sent_at = datetime.fromtimestamp(EXAMPLE_TIMESTAMP, UTC)
    headers = signed_headers(key, EXAMPLE_ID, sent_at, EXAMPLE_BODY)
    assert headers == {
        "webhook-id": EXAMPLE_ID,
        "webhook-timestamp": str(EXAMPLE_TIMESTAMP),
        "webhook-signature": EXAMPLE_SIGNATURE,
    }


def test_a_bare_base64_key_is_the_same_secret(app_environment: None, monkeypatch: pytest.MonkeyPatch) -> None:
    prefixed = _settings(
        monkeypatch, "whsec_" + base64.b64encode(b"s" * 32).decode()
    ).keys.webhook_signing_key
    bare = _settings(monkeypatch, base64.b64encode(b"s" * 32).decode()).keys.webhook_signing_key
    assert prefixed == bare == b"s" * 32


@pytest.mark.parametrize("value", ["whsec_not base64!", "whsec_" + base64.b64encode(b"short").decode()])
def test_a_bad_secret_stops_start_up_naming_the_setting(
    app_environment: None, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    with pytest.raises(SettingsError, match="SLOTBRIDGE_WEBHOOK_SIGNING_KEY"):
        _settings(monkeypatch, value)


def test_the_default_retry_schedule_spans_at_least_a_day(
    app_environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    delays = _settings(monkeypatch, EXAMPLE_SECRET).webhook_retry_delays
    assert sum(delays) >= 24 * 3600
    assert list(delays) == sorted(delays)  # growing delays


@pytest.mark.parametrize("value", ["0", "30,abc", " , ", "700000"])
def test_a_bad_retry_schedule_stops_start_up(
    app_environment: None, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SLOTBRIDGE_WEBHOOK_RETRY_DELAYS", value)
    with pytest.raises(SettingsError, match="SLOTBRIDGE_WEBHOOK_RETRY_DELAYS"):
        _settings(monkeypatch, EXAMPLE_SECRET)
