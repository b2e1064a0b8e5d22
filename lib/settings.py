"""App settings: the one module that reads Slotbridge's configuration from the environment.

Every setting is declared once in `SETTING_SPECS` (name, default, whether it is required, whether it
is secret, what it is for). `load_settings()` reads and validates them all at start-up and raises
`SettingsError` naming the missing or invalid setting; `get_settings()` caches the result for the
process. The README's settings table, `local.settings.example.json` and the Bicep template are
checked against `SETTING_SPECS` by tests.

Microsoft cloud endpoints are settings whose defaults are the public cloud, so national clouds and
the local sandbox go through the same code.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

PUBLIC_AUTHORITY_HOST = "https://login.microsoftonline.com"
PUBLIC_GRAPH_BASE_URL = "https://graph.microsoft.com/v1.0"

# The Functions host reads the storage connection from this name (or its `__` identity variants).
STORAGE_CONNECTION = "AzureWebJobsStorage"


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names it."""


@dataclass(frozen=True)
class SettingSpec:
    name: str
    description: str
    default: str | None = None
    required: bool = False
    secret: bool = False
    # A value used by `local.settings.example.json` when it differs from the default.
    local_value: str | None = None


SETTING_SPECS: tuple[SettingSpec, ...] = (
    SettingSpec(
        STORAGE_CONNECTION,
        "Storage connection string (Azurite: UseDevelopmentStorage=true or explicit endpoints). "
        "Leave empty in Azure and set the AzureWebJobsStorage__* identity settings instead.",
        local_value="UseDevelopmentStorage=true",
        secret=True,
    ),
    SettingSpec(
        f"{STORAGE_CONNECTION}__accountName",
        "Storage account name for identity-based access (DefaultAzureCredential).",
    ),
    SettingSpec(
        f"{STORAGE_CONNECTION}__tableServiceUri",
        "Table service URI for identity-based access (overrides the one derived from accountName).",
    ),
    SettingSpec(
        f"{STORAGE_CONNECTION}__queueServiceUri",
        "Queue service URI for identity-based access (overrides the one derived from accountName).",
    ),
    SettingSpec(
        f"{STORAGE_CONNECTION}__clientId",
        "Client id of the user-assigned managed identity used for storage.",
    ),
    SettingSpec(
        "SLOTBRIDGE_AUTHORITY_HOST",
        "Microsoft identity platform host (national clouds and the local sandbox change it).",
        default=PUBLIC_AUTHORITY_HOST,
        local_value="https://127.0.0.1:8443",
    ),
    SettingSpec(
        "SLOTBRIDGE_GRAPH_BASE_URL",
        "Microsoft Graph base URL including the version segment.",
        default=PUBLIC_GRAPH_BASE_URL,
        local_value="https://127.0.0.1:8443/v1.0",
    ),
    SettingSpec(
        "SLOTBRIDGE_CA_BUNDLE",
        "PEM file of extra CAs to trust for Microsoft endpoints (the local sandbox's CA); empty in Azure.",
        local_value=".devstack/sandbox-ca.pem",
    ),
    SettingSpec(
        "SLOTBRIDGE_TABLE_PREFIX",
        "Prefix of every table name, so several deployments or test runs can share one account.",
        default="sb",
    ),
)

_SPECS_BY_NAME = {spec.name: spec for spec in SETTING_SPECS}


@dataclass(frozen=True)
class StorageSettings:
    """How to reach Table and Queue Storage: a connection string, or identity-based endpoints."""

    connection_string: str | None
    table_service_uri: str | None
    queue_service_uri: str | None
    managed_identity_client_id: str | None


@dataclass(frozen=True)
class Settings:
    storage: StorageSettings
    authority_host: str
    graph_base_url: str
    ca_bundle: str | None
    table_prefix: str


def _https_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc:
        raise SettingsError(f"Setting {name} must be an https:// URL, got {value!r}.")
    return value.rstrip("/")


def _table_prefix(name: str, value: str) -> str:
    # Table names: alphanumeric, start with a letter; the longest kind suffix leaves room for 20.
    if not (value.isascii() and value.isalnum() and value[:1].isalpha() and len(value) <= 20):
        raise SettingsError(f"Setting {name} must be 1-20 letters/digits starting with a letter.")
    return value


def _storage(raw: Callable[[str], str | None]) -> StorageSettings:
    conn = raw(STORAGE_CONNECTION)
    account = raw(f"{STORAGE_CONNECTION}__accountName")
    table_uri = raw(f"{STORAGE_CONNECTION}__tableServiceUri")
    queue_uri = raw(f"{STORAGE_CONNECTION}__queueServiceUri")
    client_id = raw(f"{STORAGE_CONNECTION}__clientId")
    if conn:
        return StorageSettings(conn, None, None, None)
    if account:
        table_uri = table_uri or f"https://{account}.table.core.windows.net"
        queue_uri = queue_uri or f"https://{account}.queue.core.windows.net"
    if not (table_uri and queue_uri):
        raise SettingsError(
            f"Setting {STORAGE_CONNECTION} is missing: set a connection string "
            f"(UseDevelopmentStorage=true for Azurite) or {STORAGE_CONNECTION}__accountName "
            "(or both service URIs) for identity-based access."
        )
    return StorageSettings(
        None,
        _https_url(f"{STORAGE_CONNECTION}__tableServiceUri", table_uri),
        _https_url(f"{STORAGE_CONNECTION}__queueServiceUri", queue_uri),
        client_id,
    )


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting; raise `SettingsError` naming the first bad one."""
    env = os.environ if environ is None else environ

    def raw(name: str) -> str | None:
        value = env.get(name, "").strip()
        if value:
            return value
        return _SPECS_BY_NAME[name].default

    def required(name: str) -> str:
        value = raw(name)
        if not value:
            raise SettingsError(f"Setting {name} is missing: {_SPECS_BY_NAME[name].description}")
        return value

    ca_bundle = raw("SLOTBRIDGE_CA_BUNDLE")
    if ca_bundle and not os.path.isfile(ca_bundle):
        raise SettingsError(f"Setting SLOTBRIDGE_CA_BUNDLE names {ca_bundle!r}, which is not a file.")
    return Settings(
        storage=_storage(raw),
        authority_host=_https_url("SLOTBRIDGE_AUTHORITY_HOST", required("SLOTBRIDGE_AUTHORITY_HOST")),
        graph_base_url=_https_url("SLOTBRIDGE_GRAPH_BASE_URL", required("SLOTBRIDGE_GRAPH_BASE_URL")),
        ca_bundle=ca_bundle,
        table_prefix=_table_prefix("SLOTBRIDGE_TABLE_PREFIX", required("SLOTBRIDGE_TABLE_PREFIX")),
    )


@functools.cache
def get_settings() -> Settings:
    """The process's settings, read once. Tests that change the environment call `cache_clear()`."""
    return load_settings()
