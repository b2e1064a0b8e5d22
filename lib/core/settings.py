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
from typing import TypeVar
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
        "SLOTBRIDGE_GRAPH_TIMEOUT_SECONDS",
        "How long one Microsoft Graph call may take, its retries included; past it the call fails "
        "(an event write whose answer did not come in time has an unknown outcome).",
        default="20",
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
    SettingSpec(
        "SLOTBRIDGE_CLIENT_ID",
        "Application (client) id of the Entra app registration.",
        required=True,
        local_value="3f0c6d8e-5107-4b1d-9e2a-5b0000000001",
    ),
    SettingSpec(
        "SLOTBRIDGE_CLIENT_SECRET",
        "Client secret of the app registration (in Azure: a Key Vault reference).",
        required=True,
        secret=True,
        local_value="sandbox-client-secret",
    ),
    SettingSpec(
        "SLOTBRIDGE_TENANT",
        "Authority tenant: `common` for work and personal accounts, or a tenant id to restrict.",
        default="common",
    ),
    SettingSpec(
        "SLOTBRIDGE_PUBLIC_BASE_URL",
        "Public base URL of the function app (redirect URI and notification URLs are built on it).",
        required=True,
        local_value="http://127.0.0.1:7071",
    ),
    SettingSpec(
        "SLOTBRIDGE_ALLOWED_ORIGINS",
        "Comma-separated origins of the product's pages: CORS, popup postMessage target and return URLs.",
        local_value="http://127.0.0.1:7071",
    ),
    SettingSpec(
        "SLOTBRIDGE_DEFAULT_RETURN_URL",
        "Where a redirect-mode connect returns when no (or a disallowed) returnUrl is given.",
    ),
    SettingSpec(
        "SLOTBRIDGE_KEY_VAULT_URL",
        "Key Vault holding the token-encryption data key (Azure). Empty: SLOTBRIDGE_DATA_KEY is used.",
    ),
    SettingSpec(
        "SLOTBRIDGE_DATA_KEY_SECRET_NAME",
        "Name of the Key Vault secret holding the data key (base64 of 32 bytes; versions rotate).",
        default="token-data-key",
    ),
    SettingSpec(
        "SLOTBRIDGE_DATA_KEY",
        "Local development only: the data key itself (base64 of 32 bytes) when there is no Key Vault.",
        secret=True,
        local_value="bG9jYWwtZGV2LWRhdGEta2V5LW5vdC1hLXNlY3JldCE=",
    ),
    SettingSpec(
        "SLOTBRIDGE_API_KEYS",
        "Comma-separated API keys the product backend sends as `X-Api-Key` on management routes.",
        secret=True,
        local_value="local-dev-api-key",
    ),
    SettingSpec(
        "SLOTBRIDGE_USER_TOKEN_KEY",
        "HMAC key (base64) shared with the product backend, which signs short-lived user tokens.",
        secret=True,
        local_value="bG9jYWwtZGV2LXVzZXItdG9rZW4ta2V5LW5vdC1zZWNyZXQ=",
    ),
    SettingSpec(
        "SLOTBRIDGE_MAX_ACCOUNTS_PER_USER",
        "How many Microsoft accounts one user may connect.",
        default="2",
    ),
    SettingSpec(
        "SLOTBRIDGE_PRODUCT_WEBHOOK_URL",
        'The product\'s webhook for "action required" messages (outbox). Empty: messages are kept, not sent.',
    ),
    SettingSpec(
        "SLOTBRIDGE_WEBHOOK_SIGNING_KEY",
        "HMAC key (base64) signing outbox deliveries (`Slotbridge-Signature` header).",
        secret=True,
        local_value="bG9jYWwtZGV2LXdlYmhvb2sta2V5LW5vdC1zZWNyZXQ=",
    ),
    SettingSpec(
        "SLOTBRIDGE_CLIENT_STATE_KEY",
        "HMAC key (base64, at least 32 bytes) of the clientState of Graph subscriptions; rotating it "
        "drops notifications until the subscriptions are recreated (the reconciliation timer does that).",
        secret=True,
        local_value="bG9jYWwtZGV2LWNsaWVudC1zdGF0ZS1rZXktbm90LXNlY3JldCE=",
    ),
    SettingSpec(
        "SLOTBRIDGE_SYNC_HORIZON_DAYS",
        "How many days ahead the busy cache covers (it also keeps 30 days back); availability asked "
        "beyond it reads Graph live.",
        default="90",
    ),
    SettingSpec(
        "SLOTBRIDGE_AVAILABILITY_SOURCE",
        "Where availability reads busy time: `cached` (the busy cache for calendars it can vouch for, "
        "Graph live for the rest) or `live` (always Graph; an operational kill switch for the cache).",
        default="cached",
    ),
    SettingSpec(
        "SLOTBRIDGE_SUBSCRIPTION_RENEWAL_WINDOW_MINUTES",
        "Subscriptions expiring within this many minutes are renewed by the renewal timer.",
        default="2880",
    ),
    SettingSpec(
        "SLOTBRIDGE_SUBSCRIPTION_RENEWAL_SCHEDULE",
        "NCRONTAB schedule (six fields, seconds first) of the subscription renewal timer.",
        default="0 */30 * * * *",
    ),
    SettingSpec(
        "SLOTBRIDGE_SYNC_RECONCILE_SCHEDULE",
        "NCRONTAB schedule of the reconciliation timer (delta-syncs every active calendar, recreates "
        "missing subscriptions).",
        default="0 15 */4 * * *",
    ),
    SettingSpec(
        "SLOTBRIDGE_BOOKING_HOUSEKEEPING_SCHEDULE",
        "NCRONTAB schedule of the booking housekeeping timer (resolves bookings left pending past "
        "their 10-minute search window, deletes late booking events); a pending booking holds its "
        "slot for at most the window plus one period.",
        default="0 */5 * * * *",
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


@dataclass(frozen=True, repr=False)
class MicrosoftSettings:
    client_id: str
    client_secret: str
    tenant: str
    authority_host: str
    graph_base_url: str
    ca_bundle: str | None
    graph_timeout_seconds: int

    @property
    def authority(self) -> str:
        return f"{self.authority_host}/{self.tenant}"


@dataclass(frozen=True, repr=False)
class KeySettings:
    key_vault_url: str | None
    data_key_secret_name: str
    local_data_key: str | None
    api_keys: tuple[str, ...]
    user_token_key: bytes | None
    webhook_signing_key: bytes | None


@dataclass(frozen=True, repr=False)
class SyncSettings:
    """Change notifications, the busy cache and the timers."""

    client_state_key: bytes | None
    horizon_days: int
    availability_source: str
    renewal_window_minutes: int
    renewal_schedule: str
    reconcile_schedule: str
    booking_housekeeping_schedule: str


@dataclass(frozen=True)
class Settings:
    storage: StorageSettings
    microsoft: MicrosoftSettings
    keys: KeySettings
    table_prefix: str
    public_base_url: str
    allowed_origins: tuple[str, ...]
    default_return_url: str | None
    max_accounts_per_user: int
    product_webhook_url: str | None
    sync: SyncSettings

    # Shortcuts kept for the endpoints every module needs.
    @property
    def authority_host(self) -> str:
        return self.microsoft.authority_host

    @property
    def graph_base_url(self) -> str:
        return self.microsoft.graph_base_url

    @property
    def ca_bundle(self) -> str | None:
        return self.microsoft.ca_bundle

    @property
    def redirect_uri(self) -> str:
        return f"{self.public_base_url}/api/auth/callback"

    @property
    def notification_url(self) -> str:
        return f"{self.public_base_url}/api/graph/notifications"

    @property
    def lifecycle_notification_url(self) -> str:
        return f"{self.public_base_url}/api/graph/lifecycle"


def _https_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc:
        raise SettingsError(f"Setting {name} must be an https:// URL, got {value!r}.")
    return value.rstrip("/")


def _public_url(name: str, value: str) -> str:
    """A bare origin: https, or http on a loopback host (local development only)."""
    _https_or_loopback_url(name, value)
    parts = urlsplit(value)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise SettingsError(f"Setting {name} must be a bare origin without a path, got {value!r}.")
    return value.rstrip("/")


def _https_or_loopback_url(name: str, value: str) -> str:
    """https, or http on a loopback host (local development only)."""
    parts = urlsplit(value)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if not parts.netloc or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        raise SettingsError(
            f"Setting {name} must be an https:// URL (http:// only on loopback), got {value!r}."
        )
    return value


def _origins(name: str, value: str | None) -> tuple[str, ...]:
    return tuple(_public_url(name, item.strip()) for item in (value or "").split(",") if item.strip())


def _base64_key(name: str, value: str | None) -> bytes | None:
    if not value:
        return None
    import base64
    import binascii

    try:
        key = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise SettingsError(f"Setting {name} must be base64.") from None
    if len(key) < 32:
        raise SettingsError(f"Setting {name} must decode to at least 32 bytes.")
    return key


def _positive_int(name: str, value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise SettingsError(f"Setting {name} must be a whole number of at least 1, got {value!r}.")
    return int(value)


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise SettingsError(f"Setting {name} must be one of {', '.join(allowed)}, got {value!r}.")
    return value


def _ncrontab(name: str, value: str) -> str:
    # The host parses the schedule itself; catch the common mistake (five-field cron) at start-up.
    if len(value.split()) != 6:
        raise SettingsError(
            f"Setting {name} must be an NCRONTAB expression with six fields (seconds first), got {value!r}."
        )
    return value


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
        if value.startswith("@Microsoft.KeyVault("):
            # The platform leaves a reference it could not resolve as the literal text.
            raise SettingsError(
                f"Setting {name} is an unresolved Key Vault reference; check the app's access."
            )
        if value:
            return value
        return _SPECS_BY_NAME[name].default

    def required(name: str) -> str:
        value = raw(name)
        if not value:
            raise SettingsError(f"Setting {name} is missing: {_SPECS_BY_NAME[name].description}")
        return value

    storage = _storage(raw)
    ca_bundle = raw("SLOTBRIDGE_CA_BUNDLE")
    if ca_bundle and not os.path.isfile(ca_bundle):
        raise SettingsError(f"Setting SLOTBRIDGE_CA_BUNDLE names {ca_bundle!r}, which is not a file.")
    key_vault_url = raw("SLOTBRIDGE_KEY_VAULT_URL")
    local_data_key = raw("SLOTBRIDGE_DATA_KEY")
    if not key_vault_url and not local_data_key:
        raise SettingsError(
            "Setting SLOTBRIDGE_KEY_VAULT_URL is missing: the token-encryption data key comes from Key Vault "
            "(or, for local development only, from SLOTBRIDGE_DATA_KEY)."
        )
    if local_data_key:
        _base64_key("SLOTBRIDGE_DATA_KEY", local_data_key)
    tenant = required("SLOTBRIDGE_TENANT")
    if not tenant.replace("-", "").replace(".", "").isalnum():
        raise SettingsError(
            "Setting SLOTBRIDGE_TENANT must be common, organizations, consumers or a tenant id."
        )
    default_return = raw("SLOTBRIDGE_DEFAULT_RETURN_URL")
    webhook = raw("SLOTBRIDGE_PRODUCT_WEBHOOK_URL")
    return Settings(
        storage=storage,
        microsoft=MicrosoftSettings(
            client_id=required("SLOTBRIDGE_CLIENT_ID"),
            client_secret=required("SLOTBRIDGE_CLIENT_SECRET"),
            tenant=tenant,
            authority_host=_https_url("SLOTBRIDGE_AUTHORITY_HOST", required("SLOTBRIDGE_AUTHORITY_HOST")),
            graph_base_url=_https_url("SLOTBRIDGE_GRAPH_BASE_URL", required("SLOTBRIDGE_GRAPH_BASE_URL")),
            ca_bundle=ca_bundle,
            graph_timeout_seconds=_positive_int(
                "SLOTBRIDGE_GRAPH_TIMEOUT_SECONDS", required("SLOTBRIDGE_GRAPH_TIMEOUT_SECONDS")
            ),
        ),
        keys=KeySettings(
            key_vault_url=_https_url("SLOTBRIDGE_KEY_VAULT_URL", key_vault_url) if key_vault_url else None,
            data_key_secret_name=required("SLOTBRIDGE_DATA_KEY_SECRET_NAME"),
            local_data_key=local_data_key,
            api_keys=tuple(k.strip() for k in (raw("SLOTBRIDGE_API_KEYS") or "").split(",") if k.strip()),
            user_token_key=_base64_key("SLOTBRIDGE_USER_TOKEN_KEY", raw("SLOTBRIDGE_USER_TOKEN_KEY")),
            webhook_signing_key=_base64_key(
                "SLOTBRIDGE_WEBHOOK_SIGNING_KEY", raw("SLOTBRIDGE_WEBHOOK_SIGNING_KEY")
            ),
        ),
        table_prefix=_table_prefix("SLOTBRIDGE_TABLE_PREFIX", required("SLOTBRIDGE_TABLE_PREFIX")),
        public_base_url=_public_url("SLOTBRIDGE_PUBLIC_BASE_URL", required("SLOTBRIDGE_PUBLIC_BASE_URL")),
        allowed_origins=_origins("SLOTBRIDGE_ALLOWED_ORIGINS", raw("SLOTBRIDGE_ALLOWED_ORIGINS")),
        default_return_url=(
            _https_or_loopback_url("SLOTBRIDGE_DEFAULT_RETURN_URL", default_return)
            if default_return
            else None
        ),
        max_accounts_per_user=_positive_int(
            "SLOTBRIDGE_MAX_ACCOUNTS_PER_USER", required("SLOTBRIDGE_MAX_ACCOUNTS_PER_USER")
        ),
        product_webhook_url=_https_or_loopback_url("SLOTBRIDGE_PRODUCT_WEBHOOK_URL", webhook)
        if webhook
        else None,
        sync=SyncSettings(
            client_state_key=_base64_key("SLOTBRIDGE_CLIENT_STATE_KEY", raw("SLOTBRIDGE_CLIENT_STATE_KEY")),
            horizon_days=_positive_int(
                "SLOTBRIDGE_SYNC_HORIZON_DAYS", required("SLOTBRIDGE_SYNC_HORIZON_DAYS")
            ),
            availability_source=_one_of(
                "SLOTBRIDGE_AVAILABILITY_SOURCE",
                required("SLOTBRIDGE_AVAILABILITY_SOURCE"),
                ("cached", "live"),
            ),
            renewal_window_minutes=_positive_int(
                "SLOTBRIDGE_SUBSCRIPTION_RENEWAL_WINDOW_MINUTES",
                required("SLOTBRIDGE_SUBSCRIPTION_RENEWAL_WINDOW_MINUTES"),
            ),
            renewal_schedule=_ncrontab(
                "SLOTBRIDGE_SUBSCRIPTION_RENEWAL_SCHEDULE",
                required("SLOTBRIDGE_SUBSCRIPTION_RENEWAL_SCHEDULE"),
            ),
            reconcile_schedule=_ncrontab(
                "SLOTBRIDGE_SYNC_RECONCILE_SCHEDULE", required("SLOTBRIDGE_SYNC_RECONCILE_SCHEDULE")
            ),
            booking_housekeeping_schedule=_ncrontab(
                "SLOTBRIDGE_BOOKING_HOUSEKEEPING_SCHEDULE",
                required("SLOTBRIDGE_BOOKING_HOUSEKEEPING_SCHEDULE"),
            ),
        ),
    )


def load_storage_settings(environ: Mapping[str, str] | None = None) -> StorageSettings:
    """Only the storage connection — what the Functions host itself needs (the dev host uses it)."""
    env = os.environ if environ is None else environ
    return _storage(lambda name: env.get(name, "").strip() or None)


@functools.cache
def get_settings() -> Settings:
    """The process's settings, read once (`reset_settings_caches()` forgets them)."""
    return load_settings()


_T = TypeVar("_T")
_resetters: list[Callable[[], None]] = []


def settings_cached(factory: Callable[[], _T]) -> Callable[[], _T]:
    """Cache a process-wide object built from settings (a client, a key provider) so that
    `reset_settings_caches()` forgets it together with the settings."""
    cached = functools.cache(factory)
    _resetters.append(cached.cache_clear)
    return cached


def reset_settings_caches() -> None:
    """Forget the settings and everything built from them (tests that switch environments)."""
    get_settings.cache_clear()
    for reset in _resetters:
        reset()
