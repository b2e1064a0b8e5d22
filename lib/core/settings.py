"""App settings: the one module that reads Slotbridge's configuration from the environment.

Every setting is declared once, as a field of a pydantic model: its environment name (the alias),
type, default, validation and description (`setting()`). The models group them as the code uses
them (`settings.microsoft.tenant`, `settings.keys.api_keys`); `Settings` is a pydantic-settings
model whose one source is the process environment (or a mapping given to `load_settings()`).
`load_settings()` reads and validates them all at start-up and raises one `SettingsError` naming
every missing, invalid or unresolved setting (not just the first: one restart fixes them all);
`get_settings()` caches the result for the process. `SETTING_SPECS` lists them for the checks: the
README's settings table, `local.settings.example.json` and the
Bicep template are tested against it.

Microsoft cloud endpoints are settings whose defaults are the public cloud, so national clouds and
the local sandbox go through the same code.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PUBLIC_AUTHORITY_HOST = "https://login.microsoftonline.com"
PUBLIC_GRAPH_BASE_URL = "https://graph.microsoft.com/v1.0"
PUBLIC_GOOGLE_AUTH_URL = "https://accounts.google.com/o/oauth2/v2/auth"
PUBLIC_GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
PUBLIC_GOOGLE_REVOKE_URL = "https://oauth2.googleapis.com/revoke"
PUBLIC_GOOGLE_CALENDAR_BASE_URL = "https://www.googleapis.com/calendar/v3"

# The Functions host reads the storage connection from this name (or its `__` identity variants).
STORAGE_CONNECTION = "AzureWebJobsStorage"


class SettingsError(ValueError):
    """Settings are missing or invalid; the message names each. `setting` is the one a rule across
    settings names (an error about one field is named from where pydantic found it)."""

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


# --- Value rules: each raises ValueError with what is wrong; the setting's name is added by
# `_settings_error()` from where pydantic found the error.


def _https_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc:
        raise ValueError(f"must be an https:// URL, got {value!r}.")
    return value.rstrip("/")


def _https_or_loopback_url(value: str) -> str:
    """https, or http on a loopback host (local development only)."""
    parts = urlsplit(value)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if not parts.netloc or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        raise ValueError(f"must be an https:// URL (http:// only on loopback), got {value!r}.")
    return value


def _public_url(value: str) -> str:
    """A bare origin: https, or http on a loopback host (local development only)."""
    _https_or_loopback_url(value)
    parts = urlsplit(value)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"must be a bare origin without a path, got {value!r}.")
    return value.rstrip("/")


def _comma_list(value: object) -> object:
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


def _base64_key(value: str | None, min_bytes: int = 32) -> bytes | None:
    if not value:
        return None
    try:
        key = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("must be base64.") from None
    if len(key) < min_bytes:
        raise ValueError(f"must decode to at least {min_bytes} bytes.")
    return key


def _webhook_secret(value: str | None) -> bytes | None:
    """A Standard Webhooks secret, `whsec_<base64>`; the bare base64 of the key (this setting's
    format before Standard Webhooks) is the same key, so existing deployments keep working. At
    least 24 bytes, the spec's lower bound (create-app-keys.sh makes 32)."""
    return _base64_key(value.removeprefix("whsec_") if value else value, min_bytes=24)


# A queue message can stay invisible for at most 7 days: no retry delay may be longer.
MAX_RETRY_DELAY_S = 7 * 24 * 3600


def _digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() also takes "²" (which int() refuses) and other scripts' digits."""
    return text.isascii() and text.isdigit()


def _retry_delays(value: object) -> object:
    if isinstance(value, str):
        items = [item.strip() for item in value.split(",") if item.strip()]
        if not items or not all(_digits(i) and 1 <= int(i) <= MAX_RETRY_DELAY_S for i in items):
            raise ValueError(
                f"must be comma-separated whole seconds between 1 and {MAX_RETRY_DELAY_S}, got {value!r}."
            )
        return tuple(int(i) for i in items)
    return value


def _base64_text(value: str | None) -> str | None:
    """A key kept as its base64 text (the key provider decodes it), checked like `_base64_key`."""
    _base64_key(value)
    return value


def _positive_int(value: object) -> object:
    if isinstance(value, str) and not (_digits(value) and int(value) >= 1):
        raise ValueError(f"must be a whole number of at least 1, got {value!r}.")
    return value


def _minutes_in_a_week(value: object) -> object:
    # The longest a queue message may stay invisible is 7 days.
    if isinstance(value, str) and not (_digits(value) and int(value) <= 10_080):
        raise ValueError(f"must be a whole number of minutes from 0 to 10080, got {value!r}.")
    return value


def _one_of(*allowed: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}, got {value!r}.")
        return value

    return check


def _ncrontab(value: str) -> str:
    # The host parses the schedule itself; catch the common mistake (five-field cron) at start-up.
    if len(value.split()) != 6:
        raise ValueError(f"must be an NCRONTAB expression with six fields (seconds first), got {value!r}.")
    return value


def _rate(value: str) -> str:
    # What `limits.parse` reads, narrowed to one amount per one unit; parsed where it is used.
    amount, _, unit = value.replace(" ", "").partition("/")
    if not (_digits(amount) and int(amount) > 0 and unit in ("second", "minute", "hour")):
        raise ValueError(f"must be a rate such as 60/minute (per second, minute or hour), got {value!r}.")
    return f"{int(amount)}/{unit}"


def _table_prefix(value: str) -> str:
    # Table names: alphanumeric, start with a letter; the longest kind suffix leaves room for 20.
    if not (value.isascii() and value.isalnum() and value[:1].isalpha() and len(value) <= 20):
        raise ValueError("must be 1-20 letters/digits starting with a letter.")
    return value


def _tenant(value: str) -> str:
    if not value.replace("-", "").replace(".", "").isalnum():
        raise ValueError("must be common, organizations, consumers or a tenant id.")
    return value


def _existing_file(value: str | None) -> str | None:
    if value and not os.path.isfile(value):
        raise ValueError(f"names {value!r}, which is not a file.")
    return value


HttpsUrl = Annotated[str, AfterValidator(_https_url)]
PublicOrigin = Annotated[str, AfterValidator(_public_url)]
HttpsOrLoopbackUrl = Annotated[str, AfterValidator(_https_or_loopback_url)]
PositiveInt = Annotated[int, BeforeValidator(_positive_int)]
WeekOfMinutes = Annotated[int, BeforeValidator(_minutes_in_a_week)]
Schedule = Annotated[str, AfterValidator(_ncrontab)]
Base64Key = Annotated[bytes | None, BeforeValidator(_base64_key)]
WebhookSecret = Annotated[bytes | None, BeforeValidator(_webhook_secret)]
RetryDelays = Annotated[tuple[int, ...], BeforeValidator(_retry_delays)]
CommaList = Annotated[tuple[str, ...], BeforeValidator(_comma_list)]
Rate = Annotated[str, AfterValidator(_rate)]


def setting(
    name: str,
    description: str,
    default: Any = None,
    *,
    required: bool = False,
    secret: bool = False,
    local_value: str | None = None,
    shown_default: str | None = None,
) -> Any:
    """One setting: its environment name, default and description (what the README shows and a
    "missing" message says). `local_value` is what `local.settings.example.json` uses when it differs
    from the default; `shown_default` is the README's default column when it is not the default."""
    extra: dict[str, Any] = {"secret": secret}
    if local_value is not None:
        extra["local_value"] = local_value
    if shown_default is not None:
        extra["shown_default"] = shown_default
    if required:
        return Field(alias=name, description=description, repr=not secret, json_schema_extra=extra)
    return Field(default, alias=name, description=description, repr=not secret, json_schema_extra=extra)


class _Group(BaseModel):
    """A group of settings, validated from the whole environment (each takes its own names)."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    @classmethod
    def _rule_across_settings(cls, values: Mapping[str, Any]) -> SettingsError | None:
        """A rule that spans this group's settings, checked on the raw values (none by default)."""
        return None

    @model_validator(mode="wrap")
    @classmethod
    def _every_problem_at_once(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        # pydantic skips "after" model validators when a field fails and stops at a failing
        # "before" one; checking the rule on the raw values beside the fields reports both at once.
        problem = cls._rule_across_settings(data) if isinstance(data, Mapping) else None
        try:
            validated = handler(data)
        except ValidationError as error:
            if problem is None:
                raise
            details: list[Any] = [*error.errors(include_url=False)]
            details.append({"type": "value_error", "loc": (), "input": data, "ctx": {"error": problem}})
            raise ValidationError.from_exception_data(error.title, details) from None
        if problem is not None:
            raise problem
        return validated


class StorageSettings(_Group):
    """How to reach Table and Queue Storage: a connection string, or identity-based endpoints."""

    connection_string: str | None = setting(
        STORAGE_CONNECTION,
        "Storage connection string (`UseDevelopmentStorage=true` for Azurite on its default ports). "
        "Empty in Azure, where the identity settings below are used.",
        secret=True,
        local_value="UseDevelopmentStorage=true",
    )
    account_name: str | None = setting(
        f"{STORAGE_CONNECTION}__accountName",
        "Storage account for identity-based access (`DefaultAzureCredential`); the table and queue "
        "URIs are derived from it.",
    )
    table_service_uri: HttpsUrl | None = setting(
        f"{STORAGE_CONNECTION}__tableServiceUri",
        "Table endpoint for identity-based access (overrides the derived one).",
        shown_default="derived",
    )
    queue_service_uri: HttpsUrl | None = setting(
        f"{STORAGE_CONNECTION}__queueServiceUri",
        "Queue endpoint for identity-based access (overrides the derived one).",
        shown_default="derived",
    )
    managed_identity_client_id: str | None = setting(
        f"{STORAGE_CONNECTION}__clientId", "Client id of the user-assigned managed identity."
    )

    @model_validator(mode="before")
    @classmethod
    def _connection_or_identity(cls, data: Any) -> Any:
        """A connection string wins; otherwise the service URIs, derived from the account name."""
        if not isinstance(data, Mapping):
            return data
        if data.get(STORAGE_CONNECTION):
            return {STORAGE_CONNECTION: data[STORAGE_CONNECTION]}
        values = dict(data)
        account = values.get(f"{STORAGE_CONNECTION}__accountName")
        for kind in ("table", "queue"):
            name = f"{STORAGE_CONNECTION}__{kind}ServiceUri"
            if account and not values.get(name):
                values[name] = f"https://{account}.{kind}.core.windows.net"
        return values

    @classmethod
    def _rule_across_settings(cls, values: Mapping[str, Any]) -> SettingsError | None:
        uris = (f"{STORAGE_CONNECTION}__{kind}ServiceUri" for kind in ("table", "queue"))
        if (
            values.get(STORAGE_CONNECTION)
            or values.get(f"{STORAGE_CONNECTION}__accountName")
            or all(values.get(name) for name in uris)
        ):
            return None
        return SettingsError(
            f"Setting {STORAGE_CONNECTION} is missing: set a connection string "
            f"(UseDevelopmentStorage=true for Azurite) or {STORAGE_CONNECTION}__accountName "
            "(or both service URIs) for identity-based access.",
            setting=STORAGE_CONNECTION,
        )


class MicrosoftSettings(_Group):
    authority_host: HttpsUrl = setting(
        "SLOTBRIDGE_AUTHORITY_HOST",
        "Microsoft identity platform host (national clouds, the local sandbox).",
        PUBLIC_AUTHORITY_HOST,
        local_value="https://127.0.0.1:8443",
    )
    graph_base_url: HttpsUrl = setting(
        "SLOTBRIDGE_GRAPH_BASE_URL",
        "Microsoft Graph base URL with the version.",
        PUBLIC_GRAPH_BASE_URL,
        local_value="https://127.0.0.1:8443/v1.0",
    )
    graph_timeout_seconds: PositiveInt = setting(
        "SLOTBRIDGE_GRAPH_TIMEOUT_SECONDS",
        "How long one Graph call may take, retries included (an event write unanswered by then has "
        "an unknown outcome: see Bookings).",
        20,
    )
    ca_bundle: Annotated[str | None, AfterValidator(_existing_file)] = setting(
        "SLOTBRIDGE_CA_BUNDLE",
        "PEM file of extra CAs to trust for Microsoft and Google endpoints (the sandbox's and the Google "
        "stand-in's CA locally); empty in Azure.",
        local_value=".devstack/sandbox-ca.pem",
    )
    client_id: str = setting(
        "SLOTBRIDGE_CLIENT_ID",
        "Application (client) id of the Entra app registration.",
        required=True,
        local_value="3f0c6d8e-5107-4b1d-9e2a-5b0000000001",
    )
    client_secret: str = setting(
        "SLOTBRIDGE_CLIENT_SECRET",
        "Its client secret (in Azure a Key Vault reference; an unresolved reference stops start-up).",
        required=True,
        secret=True,
        local_value="sandbox-client-secret",
    )
    tenant: Annotated[str, AfterValidator(_tenant)] = setting(
        "SLOTBRIDGE_TENANT",
        "Authority tenant: `common` (work and personal accounts), `organizations` (work and school "
        "only), `consumers` (personal only), or a tenant id.",
        "common",
    )

    @property
    def authority(self) -> str:
        return f"{self.authority_host}/{self.tenant}"


class GoogleSettings(_Group):
    """Google Calendar: the OAuth client and Google's endpoints (the local stand-in's in tests).
    Without a client id, connecting Google is refused and only Microsoft accounts connect."""

    client_id: str | None = setting(
        "SLOTBRIDGE_GOOGLE_CLIENT_ID",
        "OAuth client id of the Google Cloud project (a Web application client); empty turns Google "
        "Calendar off.",
        local_value="123456789012-standin0slotbridge0local.apps.googleusercontent.com",
    )
    client_secret: str | None = setting(
        "SLOTBRIDGE_GOOGLE_CLIENT_SECRET",
        "Its client secret (in Azure a Key Vault reference).",
        secret=True,
        local_value="GOCSPX-standin-client-secret",
    )
    auth_url: HttpsUrl = setting(
        "SLOTBRIDGE_GOOGLE_AUTH_URL",
        "Google's authorization endpoint.",
        PUBLIC_GOOGLE_AUTH_URL,
        local_value="https://127.0.0.1:8444/o/oauth2/v2/auth",
    )
    token_url: HttpsUrl = setting(
        "SLOTBRIDGE_GOOGLE_TOKEN_URL",
        "Google's token endpoint.",
        PUBLIC_GOOGLE_TOKEN_URL,
        local_value="https://127.0.0.1:8444/token",
    )
    revoke_url: HttpsUrl = setting(
        "SLOTBRIDGE_GOOGLE_REVOKE_URL",
        "Google's token revocation endpoint (a disconnected account's grant is revoked).",
        PUBLIC_GOOGLE_REVOKE_URL,
        local_value="https://127.0.0.1:8444/revoke",
    )
    calendar_base_url: HttpsUrl = setting(
        "SLOTBRIDGE_GOOGLE_CALENDAR_BASE_URL",
        "Google Calendar API base URL with the version.",
        PUBLIC_GOOGLE_CALENDAR_BASE_URL,
        local_value="https://127.0.0.1:8444/calendar/v3",
    )

    @property
    def enabled(self) -> bool:
        return bool(self.client_id and self.client_secret)


class KeySettings(_Group):
    key_vault_url: HttpsUrl | None = setting(
        "SLOTBRIDGE_KEY_VAULT_URL",
        "Key Vault with the token-encryption data key. Required unless `SLOTBRIDGE_DATA_KEY` is set.",
    )
    data_key_secret_name: str = setting(
        "SLOTBRIDGE_DATA_KEY_SECRET_NAME",
        "Key Vault secret holding the data key (base64 of 32 bytes); each version is a rotation.",
        "token-data-key",
    )
    local_data_key: Annotated[str | None, AfterValidator(_base64_text)] = setting(
        "SLOTBRIDGE_DATA_KEY",
        "Local development only: the data key itself (base64 of 32 bytes).",
        secret=True,
        local_value="bG9jYWwtZGV2LWRhdGEta2V5LW5vdC1hLXNlY3JldCE=",
    )
    api_keys: CommaList = setting(
        "SLOTBRIDGE_API_KEYS",
        "Comma-separated API keys the product backend sends as `X-Api-Key` on management routes.",
        (),
        secret=True,
        local_value="local-dev-api-key",
    )
    user_token_key: Base64Key = setting(
        "SLOTBRIDGE_USER_TOKEN_KEY",
        "HMAC key (base64, ≥ 32 bytes) shared with the product backend, which signs short-lived user tokens.",
        secret=True,
        local_value="bG9jYWwtZGV2LXVzZXItdG9rZW4ta2V5LW5vdC1zZWNyZXQ=",
    )
    webhook_signing_key: WebhookSecret = setting(
        "SLOTBRIDGE_WEBHOOK_SIGNING_KEY",
        "Standard Webhooks secret `whsec_<base64 of ≥ 24 bytes>` signing webhook deliveries (a bare "
        "base64 key is the same secret without its prefix).",
        secret=True,
        local_value="whsec_bG9jYWwtZGV2LXdlYmhvb2sta2V5LW5vdC1zZWNyZXQ=",
    )

    @classmethod
    def _rule_across_settings(cls, values: Mapping[str, Any]) -> SettingsError | None:
        if values.get("SLOTBRIDGE_KEY_VAULT_URL") or values.get("SLOTBRIDGE_DATA_KEY"):
            return None
        return SettingsError(
            "Setting SLOTBRIDGE_KEY_VAULT_URL is missing: the token-encryption data key comes from "
            "Key Vault (or, for local development only, from SLOTBRIDGE_DATA_KEY).",
            setting="SLOTBRIDGE_KEY_VAULT_URL",
        )


class SyncSettings(_Group):
    """Change notifications, the busy cache and the timers."""

    client_state_key: Base64Key = setting(
        "SLOTBRIDGE_CLIENT_STATE_KEY",
        "HMAC key (base64, ≥ 32 bytes) of Graph subscriptions' clientState, which the notification "
        "intake verifies without reading a table. Needed for change notifications.",
        secret=True,
        local_value="bG9jYWwtZGV2LWNsaWVudC1zdGF0ZS1rZXktbm90LXNlY3JldCE=",
    )
    horizon_days: PositiveInt = setting(
        "SLOTBRIDGE_SYNC_HORIZON_DAYS",
        "Days ahead the busy cache covers (plus 30 days back); availability beyond it reads Graph live.",
        90,
    )
    availability_source: Annotated[str, AfterValidator(_one_of("cached", "live"))] = setting(
        "SLOTBRIDGE_AVAILABILITY_SOURCE",
        "`cached`: availability reads the busy cache for calendars it can vouch for and Graph live "
        "for the rest; `live`: always Graph (a kill switch for the cache).",
        "cached",
    )
    renewal_window_minutes: PositiveInt = setting(
        "SLOTBRIDGE_SUBSCRIPTION_RENEWAL_WINDOW_MINUTES",
        "The renewal timer renews subscriptions expiring within this many minutes.",
        2880,
    )
    renewal_schedule: Schedule = setting(
        "SLOTBRIDGE_SUBSCRIPTION_RENEWAL_SCHEDULE",
        "NCRONTAB schedule of the subscription renewal timer.",
        "0 */30 * * * *",
    )
    reconcile_schedule: Schedule = setting(
        "SLOTBRIDGE_SYNC_RECONCILE_SCHEDULE",
        "NCRONTAB schedule of the reconciliation timer (delta-syncs every calendar, recreates "
        "missing subscriptions).",
        "0 15 */4 * * *",
    )
    reconcile_spread_minutes: WeekOfMinutes = setting(
        "SLOTBRIDGE_SYNC_RECONCILE_SPREAD_MINUTES",
        "Spread each reconciliation run's sync requests over this many minutes, each connection at "
        "its own fixed offset, instead of queueing them all at once; `0` queues them at once. Keep "
        "it below the reconciliation timer's period.",
        0,
    )
    booking_housekeeping_schedule: Schedule = setting(
        "SLOTBRIDGE_BOOKING_HOUSEKEEPING_SCHEDULE",
        "NCRONTAB schedule of the booking housekeeping timer (resolves bookings left `pending` past "
        "their search window, deletes late booking events: see Bookings).",
        "0 */5 * * * *",
    )
    poison_check_schedule: Schedule = setting(
        "SLOTBRIDGE_POISON_CHECK_SCHEDULE",
        "NCRONTAB schedule of the poison-queue check (logs each `-poison` queue's depth for the "
        "poison-depth alert).",
        "0 */5 * * * *",
    )


_GROUPS: dict[str, type[_Group]] = {
    "storage": StorageSettings,
    "microsoft": MicrosoftSettings,
    "google": GoogleSettings,
    "keys": KeySettings,
    "sync": SyncSettings,
}


class _Environment(PydanticBaseSettingsSource):
    """The one source of settings: environment variables (or a mapping standing in for them).
    A blank value counts as unset (its default applies); an unresolved Key Vault reference is left
    out and named in `unresolved` (start-up then fails, naming it beside every other problem)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self._environ = environ
        self.unresolved: list[str] = []

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # `__call__` reads every declared name at once

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        self.unresolved = []
        for name in _declared_names():
            value = self._environ.get(name, "").strip()
            if value.startswith("@Microsoft.KeyVault("):
                # The platform leaves a reference it could not resolve as the literal text.
                self.unresolved.append(name)
            elif value:
                values[name] = value
        return values


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    storage: StorageSettings
    microsoft: MicrosoftSettings
    google: GoogleSettings
    keys: KeySettings
    sync: SyncSettings
    table_prefix: Annotated[str, AfterValidator(_table_prefix)] = setting(
        "SLOTBRIDGE_TABLE_PREFIX",
        "Prefix of every table name, so deployments or test runs can share an account.",
        "sb",
    )
    public_base_url: PublicOrigin = setting(
        "SLOTBRIDGE_PUBLIC_BASE_URL",
        "Public origin of the function app; the OAuth redirect URI is `{this}/api/auth/callback`.",
        required=True,
        local_value="http://127.0.0.1:7071",
    )
    allowed_origins: Annotated[tuple[PublicOrigin, ...], BeforeValidator(_comma_list)] = setting(
        "SLOTBRIDGE_ALLOWED_ORIGINS",
        "Comma-separated origins of the product's pages: CORS, the popup's `postMessage` target, "
        "allowed return URLs, who may embed the booking pages (`embedOrigin`).",
        (),
        local_value="http://127.0.0.1:7071",
    )
    default_return_url: HttpsOrLoopbackUrl | None = setting(
        "SLOTBRIDGE_DEFAULT_RETURN_URL",
        "Where a redirect-mode connect returns when the given `returnUrl` is missing or not allowed; "
        "also the `reconnectUrl` of `connection.needs_reconnect` events (the product's settings page).",
    )
    max_accounts_per_user: PositiveInt = setting(
        "SLOTBRIDGE_MAX_ACCOUNTS_PER_USER",
        "How many calendar accounts (Outlook and Google together) one user may connect.",
        2,
    )
    product_webhook_url: HttpsOrLoopbackUrl | None = setting(
        "SLOTBRIDGE_PRODUCT_WEBHOOK_URL",
        "The product's webhook receiving events (Standard Webhooks); empty keeps them in the outbox unsent.",
    )
    webhook_retry_delays: RetryDelays = setting(
        "SLOTBRIDGE_WEBHOOK_RETRY_DELAYS",
        "Seconds to wait before each retry of a failed webhook delivery (comma-separated); after the "
        "last one the delivery is kept as `failed`.",
        (30, 120, 600, 3600, 10800, 21600, 43200, 43200),
    )
    calendar_unreadable_after_minutes: PositiveInt = setting(
        "SLOTBRIDGE_CALENDAR_UNREADABLE_AFTER_MINUTES",
        "A chosen calendar whose reads keep failing this long (e.g. 403 after its sharing was "
        "removed) posts one `calendar.unavailable` (`calendar_unreadable`) per episode.",
        60,
    )
    availability_rate_per_address: Rate = setting(
        "SLOTBRIDGE_AVAILABILITY_RATE_PER_ADDRESS",
        "Availability reads one client address may make (per instance, moving window); more get 429.",
        "120/minute",
    )
    availability_rate_per_link: Rate = setting(
        "SLOTBRIDGE_AVAILABILITY_RATE_PER_LINK",
        "Availability reads of one link, from every address (per instance, moving window).",
        "600/minute",
    )
    booking_rate_per_address: Rate = setting(
        "SLOTBRIDGE_BOOKING_RATE_PER_ADDRESS",
        "Booking writes (book, reschedule, cancel) one client address may make (per instance).",
        "10/minute",
    )
    booking_rate_per_link: Rate = setting(
        "SLOTBRIDGE_BOOKING_RATE_PER_LINK",
        "Booking writes on one link (bookings) or one booking (reschedule, cancel), from every address.",
        "30/minute",
    )
    telemetry_exporter: Annotated[str, AfterValidator(_one_of("auto", "off", "console", "otlp"))] = setting(
        "SLOTBRIDGE_TELEMETRY_EXPORTER",
        "Where OpenTelemetry traces go: `auto` (Azure Monitor when `APPLICATIONINSIGHTS_CONNECTION_STRING` "
        "is set, else nowhere), `off`, `console` (standard output) or `otlp` (`OTEL_EXPORTER_OTLP_ENDPOINT`, "
        "default `http://localhost:4318`).",
        "auto",
    )
    app_insights_connection_string: str | None = setting(
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "Application Insights connection string (set by the template); with `auto` it turns on the Azure "
        "Monitor OpenTelemetry distro.",
    )

    @model_validator(mode="before")
    @classmethod
    def _groups_from_the_environment(cls, data: Any) -> Any:
        # Every group reads its own names from the one flat environment.
        if isinstance(data, Mapping):
            return {**data, **{group: data for group in _GROUPS if group not in data}}
        return data

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (_Environment(settings_cls, os.environ),)

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
    def google_notification_url(self) -> str:
        return f"{self.public_base_url}/api/google/notifications"

    @property
    def lifecycle_notification_url(self) -> str:
        return f"{self.public_base_url}/api/graph/lifecycle"


@dataclass(frozen=True)
class SettingSpec:
    """One declared setting, as the documentation and deployment checks see it."""

    name: str
    description: str
    default: str | None = None
    required: bool = False
    secret: bool = False
    local_value: str | None = None
    shown_default: str | None = None


def _fields() -> Iterator[tuple[type[BaseModel], FieldInfo]]:
    models: tuple[type[BaseModel], ...] = (*_GROUPS.values(), Settings)
    for model in models:
        for field in model.model_fields.values():
            if field.alias:
                yield model, field


def _spec(field: FieldInfo) -> SettingSpec:
    assert field.alias and field.description
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    default = field.default
    shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
    return SettingSpec(
        name=field.alias,
        description=field.description,
        default=None if field.is_required() or shown in (None, "") else str(shown),
        required=field.is_required(),
        secret=bool(extra.get("secret")),
        local_value=_optional_str(extra.get("local_value")),
        shown_default=_optional_str(extra.get("shown_default")),
    )


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


@functools.cache
def _declared_names() -> tuple[str, ...]:
    return tuple(field.alias for _, field in _fields() if field.alias)


# The model's settings in declaration order, for the README, example and Bicep checks.
SETTING_SPECS: tuple[SettingSpec, ...] = tuple(_spec(field) for _, field in _fields())
_SPECS_BY_NAME = {spec.name: spec for spec in SETTING_SPECS}


def _settings_error(error: ValidationError | None, unresolved: Sequence[str] = ()) -> SettingsError:
    """One message naming every missing, invalid or unresolved setting, each once."""
    problems: dict[str, str] = {}  # setting name (or the message itself) -> message
    for unresolved_name in unresolved:
        problems[unresolved_name] = (
            f"Setting {unresolved_name} is an unresolved Key Vault reference; check the app's access."
        )
    for item in error.errors(include_url=False) if error else ():
        cause = (item.get("ctx") or {}).get("error")
        name = next((str(part) for part in reversed(item["loc"]) if str(part) in _SPECS_BY_NAME), None)
        if isinstance(cause, SettingsError):
            name, message = cause.setting, str(cause)
        elif name is None:
            message = f"Settings are invalid: {item['msg']}"
        elif item["type"] == "missing":
            message = f"Setting {name} is missing: {_SPECS_BY_NAME[name].description}"
        else:
            reason = str(cause) if isinstance(cause, ValueError) else item["msg"]
            message = f"Setting {name} {reason}"
        # An unresolved reference was left out: its "missing" is the same problem, said once.
        problems.setdefault(name or message, message)
    messages = list(problems.values())
    if len(messages) == 1:
        return SettingsError(messages[0])
    return SettingsError(f"{len(messages)} settings are missing or invalid: " + " ".join(messages))


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting; raise `SettingsError` naming each bad one."""
    source = _Environment(Settings, os.environ if environ is None else environ)
    try:
        # pydantic-settings' documented hook for pre-built sources (its mypy plugin does not know it).
        settings = Settings(_build_sources=((source,), {}))  # type: ignore[call-arg]
    except ValidationError as error:
        raise _settings_error(error, source.unresolved) from None
    if source.unresolved:
        raise _settings_error(None, source.unresolved)
    return settings


def load_storage_settings(environ: Mapping[str, str] | None = None) -> StorageSettings:
    """Only the storage connection — what the Functions host itself needs (the dev host uses it)."""
    env = os.environ if environ is None else environ
    try:
        return StorageSettings.model_validate({name: value for name, value in env.items() if value.strip()})
    except ValidationError as error:
        raise _settings_error(error) from None


_T = TypeVar("_T")
_generation_lock = threading.Lock()
_generation = 0  # bumped by every reset; a value built under an older one is never cached


def settings_cached(factory: Callable[[], _T]) -> Callable[[], _T]:
    """Cache a process-wide object built from settings (a client, a key provider) so that
    `reset_settings_caches()` forgets it together with the settings.

    A build that began before a reset and ends after it is returned to its caller but not
    cached: otherwise a thread still working with the old environment would plant it in the
    cache for everyone after the reset (functools.cache stores whatever finishes last)."""
    built: list[tuple[int, _T]] = []  # at most one (generation, value)

    def cached() -> _T:
        generation = _generation
        entry = built[0] if built else None
        if entry is not None and entry[0] == generation:
            return entry[1]
        value = factory()
        with _generation_lock:
            if _generation != generation:
                return value  # the environment was reset while building: the caller's own, uncached
            if not built or built[0][0] != generation:
                built[:] = [(generation, value)]
            return built[0][1]

    functools.update_wrapper(cached, factory)
    return cached


@settings_cached
def get_settings() -> Settings:
    """The process's settings, read once (`reset_settings_caches()` forgets them)."""
    return load_settings()


def reset_settings_caches() -> None:
    """Forget the settings and everything built from them (tests that switch environments)."""
    global _generation
    with _generation_lock:
        _generation += 1
