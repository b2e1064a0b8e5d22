"""Sandbox configuration: the app registrations it knows, its work tenant, lifetimes and the
knobs that make tests fast (notification retry delays, timeouts)."""

from __future__ import annotations

from dataclasses import dataclass, field

# The tenant id Microsoft uses for every personal (MSA) account.
CONSUMERS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"

DEFAULT_TENANT_ID = "72f988bf-0000-4000-8000-5a0db0c5a1b0"
DEFAULT_TENANT_DOMAIN = "contoso.onmicrosoft.com"
DEFAULT_CLIENT_ID = "3f0c6d8e-5107-4b1d-9e2a-5b0000000001"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"

GRAPH_RESOURCE = "https://graph.microsoft.com"
KEYVAULT_RESOURCE = "https://vault.azure.net"


@dataclass
class AppRegistration:
    """A confidential client. Empty `redirect_uris` accepts any loopback redirect URI (dev hosts pick
    free ports); otherwise the match is exact, as in Entra ID."""

    client_id: str
    client_secret: str
    redirect_uris: list[str] = field(default_factory=list)
    display_name: str = "Slotbridge (sandbox)"


@dataclass
class SandboxConfig:
    tenant_id: str = DEFAULT_TENANT_ID
    tenant_domain: str = DEFAULT_TENANT_DOMAIN
    apps: list[AppRegistration] = field(
        default_factory=lambda: [AppRegistration(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)]
    )
    access_token_lifetime: int = 3600
    auth_code_lifetime: int = 600
    refresh_token_lifetime_days: int = 90
    # Entra ID keeps accepting a refresh token after it has been rotated; set True to be stricter.
    reject_rotated_refresh_tokens: bool = False
    # Graph: 4 concurrent requests per app per mailbox.
    mailbox_concurrency_limit: int = 4
    mailbox_concurrency_enabled: bool = True
    max_subscription_minutes: int = 10080
    validation_timeout: float = 10.0
    notification_timeout: float = 3.0
    # Delays between delivery attempts of one notification; the last one repeats until max age.
    notification_retry_delays: tuple[float, ...] = (10.0, 30.0, 60.0, 300.0, 900.0)
    notification_max_age: float = 4 * 3600.0
    # Trust for HTTPS notification URLs (None: the default trust store).
    notification_ca_bundle: str | None = None
