"""Settings: read once, validated, errors that name the setting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lib.core.settings import (
    PUBLIC_AUTHORITY_HOST,
    PUBLIC_GRAPH_BASE_URL,
    SETTING_SPECS,
    SettingsError,
    SettingSpec,
    load_settings,
)

ROOT = Path(__file__).resolve().parents[3]
AZURITE = {
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
    "SLOTBRIDGE_CLIENT_ID": "client",
    "SLOTBRIDGE_CLIENT_SECRET": "secret",
    "SLOTBRIDGE_PUBLIC_BASE_URL": "https://slotbridge.example",
    "SLOTBRIDGE_KEY_VAULT_URL": "https://vault.example",
}


def test_public_cloud_is_the_default() -> None:
    s = load_settings(AZURITE)
    assert s.authority_host == PUBLIC_AUTHORITY_HOST
    assert s.graph_base_url == PUBLIC_GRAPH_BASE_URL
    assert s.storage.connection_string == "UseDevelopmentStorage=true"


@pytest.mark.parametrize(
    "name",
    [
        "AzureWebJobsStorage",
        "SLOTBRIDGE_CLIENT_ID",
        "SLOTBRIDGE_CLIENT_SECRET",
        "SLOTBRIDGE_PUBLIC_BASE_URL",
        "SLOTBRIDGE_KEY_VAULT_URL",
    ],
)
def test_missing_required_setting_is_named(name: str) -> None:
    env = {k: v for k, v in AZURITE.items() if k != name}
    with pytest.raises(SettingsError, match=name):
        load_settings(env)


def test_unresolved_key_vault_reference_is_refused() -> None:
    env = {
        **AZURITE,
        "SLOTBRIDGE_CLIENT_SECRET": "@Microsoft.KeyVault(SecretUri=https://v.example/secrets/s)",
    }
    with pytest.raises(SettingsError, match="SLOTBRIDGE_CLIENT_SECRET is an unresolved Key Vault reference"):
        load_settings(env)


def test_identity_based_storage_derives_service_uris() -> None:
    env = {k: v for k, v in AZURITE.items() if k != "AzureWebJobsStorage"}
    s = load_settings(
        {**env, "AzureWebJobsStorage__accountName": "acct", "AzureWebJobsStorage__clientId": "cid"}
    )
    assert s.storage.connection_string is None
    assert s.storage.table_service_uri == "https://acct.table.core.windows.net"
    assert s.storage.queue_service_uri == "https://acct.queue.core.windows.net"
    assert s.storage.managed_identity_client_id == "cid"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SLOTBRIDGE_AUTHORITY_HOST", "http://login.example"),
        ("SLOTBRIDGE_GRAPH_BASE_URL", "graph.microsoft.com"),
        ("SLOTBRIDGE_TABLE_PREFIX", "bad-prefix"),
        ("SLOTBRIDGE_CA_BUNDLE", "/no/such/file.pem"),
        ("SLOTBRIDGE_PUBLIC_BASE_URL", "http://slotbridge.example"),
        ("SLOTBRIDGE_PUBLIC_BASE_URL", "https://slotbridge.example/api"),
        ("SLOTBRIDGE_ALLOWED_ORIGINS", "https://ok.example,javascript:alert(1)"),
        ("SLOTBRIDGE_USER_TOKEN_KEY", "short"),
        ("SLOTBRIDGE_MAX_ACCOUNTS_PER_USER", "0"),
        ("SLOTBRIDGE_TENANT", "../evil"),
    ],
)
def test_invalid_values_name_the_setting(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({**AZURITE, name: value})


@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("SLOTBRIDGE_MAX_ACCOUNTS_PER_USER", "\u00b2", "must be a whole number of at least 1"),
        ("SLOTBRIDGE_WEBHOOK_RETRY_DELAYS", "1,\u00b2", "must be comma-separated whole seconds"),
        ("SLOTBRIDGE_AVAILABILITY_RATE_PER_ADDRESS", "\u00b2/minute", "must be a rate such as 60/minute"),
        ("SLOTBRIDGE_MAX_ACCOUNTS_PER_USER", "\u0663", "must be a whole number of at least 1"),
    ],
)
def test_a_non_ascii_digit_is_told_by_the_settings_rule(name: str, value: str, rule: str) -> None:
    """str.isdigit() takes a superscript two ("2" raised), which int() refuses: the operator is told
    the setting's rule, not int()'s "invalid literal"."""
    with pytest.raises(SettingsError) as raised:
        load_settings({**AZURITE, name: value})
    assert name in str(raised.value) and rule in str(raised.value)
    assert "invalid literal" not in str(raised.value)


def test_national_cloud_endpoints_are_taken() -> None:
    s = load_settings(
        {
            **AZURITE,
            "SLOTBRIDGE_AUTHORITY_HOST": "https://login.microsoftonline.us/",
            "SLOTBRIDGE_GRAPH_BASE_URL": "https://graph.microsoft.us/v1.0",
        }
    )
    assert s.authority_host == "https://login.microsoftonline.us"
    assert s.graph_base_url == "https://graph.microsoft.us/v1.0"


def test_start_up_fails_naming_the_missing_setting() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AzureWebJobs", "SLOTBRIDGE_"))}
    result = subprocess.run(
        [sys.executable, "-c", "import function_app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "Setting AzureWebJobsStorage is missing" in result.stderr


KV_REFERENCE = "@Microsoft.KeyVault(SecretUri=https://v.example/secrets/s)"
# A fresh deployment before its secrets exist, plus a few typos: every one must be named at once.
SEVERAL_BAD = {
    **{k: v for k, v in AZURITE.items() if k not in ("SLOTBRIDGE_KEY_VAULT_URL", "SLOTBRIDGE_CLIENT_SECRET")},
    "SLOTBRIDGE_CLIENT_SECRET": KV_REFERENCE,
    "SLOTBRIDGE_API_KEYS": KV_REFERENCE,
    "SLOTBRIDGE_USER_TOKEN_KEY": "short",
    "SLOTBRIDGE_TABLE_PREFIX": "bad-prefix",
    "SLOTBRIDGE_SYNC_RECONCILE_SCHEDULE": "*/5 * * * *",
    "SLOTBRIDGE_SYNC_RECONCILE_SPREAD_MINUTES": "10081",  # past a queue message's 7-day invisibility
    "SLOTBRIDGE_PUBLIC_BASE_URL": "http://slotbridge.example",
}
NAMED_AT_ONCE = [
    "Setting SLOTBRIDGE_CLIENT_SECRET is an unresolved Key Vault reference",
    "Setting SLOTBRIDGE_API_KEYS is an unresolved Key Vault reference",
    "Setting SLOTBRIDGE_USER_TOKEN_KEY must be base64",
    # a rule across settings (a data key from somewhere) still runs beside a failing key setting
    "Setting SLOTBRIDGE_KEY_VAULT_URL is missing",
    "Setting SLOTBRIDGE_TABLE_PREFIX must be",
    "Setting SLOTBRIDGE_SYNC_RECONCILE_SCHEDULE must be an NCRONTAB expression",
    "Setting SLOTBRIDGE_SYNC_RECONCILE_SPREAD_MINUTES must be a whole number of minutes from 0 to 10080",
    "Setting SLOTBRIDGE_PUBLIC_BASE_URL must be an https:// URL",
]


def test_several_bad_settings_are_named_in_one_message() -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(SEVERAL_BAD)
    message = str(raised.value)
    assert message.startswith(f"{len(NAMED_AT_ONCE)} settings are missing or invalid: ")
    for problem in NAMED_AT_ONCE:
        assert message.count(problem) == 1, problem
    # An unresolved reference is one problem, not also "missing"; no value is ever echoed from a reference.
    assert "SLOTBRIDGE_CLIENT_SECRET is missing" not in message and "v.example" not in message


def test_storage_rule_and_a_bad_storage_setting_are_named_together() -> None:
    env = {k: v for k, v in AZURITE.items() if k != "AzureWebJobsStorage"}
    with pytest.raises(SettingsError) as raised:
        load_settings({**env, "AzureWebJobsStorage__tableServiceUri": "http://table.example"})
    assert "Setting AzureWebJobsStorage is missing" in str(raised.value)
    assert "Setting AzureWebJobsStorage__tableServiceUri must be an https:// URL" in str(raised.value)


def test_start_up_names_every_bad_setting_in_one_error() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AzureWebJobs", "SLOTBRIDGE_"))}
    result = subprocess.run(
        [sys.executable, "-c", "import function_app"],
        cwd=ROOT,
        env={**env, **SEVERAL_BAD},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    [error_line] = [
        line for line in result.stderr.splitlines() if line.startswith("lib.core.settings.SettingsError")
    ]
    for problem in NAMED_AT_ONCE:
        assert problem in error_line, problem


def test_local_settings_example_lists_every_setting() -> None:
    values = json.loads((ROOT / "local.settings.example.json").read_text())["Values"]
    host_only = {"FUNCTIONS_WORKER_RUNTIME", "DEVHOST_FUNCTION_KEYS"}
    assert set(values) - host_only == {spec.name for spec in SETTING_SPECS}
    # The example's values are valid as they stand (the CA file exists once `make run` started the sandbox).
    load_settings({**values, "SLOTBRIDGE_CA_BUNDLE": ""})


def _readme_row(spec: SettingSpec) -> str:
    default = spec.shown_default or (f"`{spec.default}`" if spec.default else "—")
    return f"| `{spec.name}` | {'required' if spec.required else default} | {spec.description} |"


def readme_settings_rows() -> list[str]:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index("| Setting | Default | Purpose |") + 2
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    return lines[start:end]


def test_readme_settings_table_is_the_model() -> None:
    """The README's table is the model's settings, in its order, with its defaults and descriptions
    (a setting added to the model, a default or a description changed, fails here until the README
    row says the same)."""
    assert readme_settings_rows() == [_readme_row(spec) for spec in SETTING_SPECS]
