"""Google stand-in configuration: the OAuth clients it knows, lifetimes, paging and the knobs that
make tests fast (push retry delays)."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_CLIENT_ID = "123456789012-standin0slotbridge0local.apps.googleusercontent.com"
DEFAULT_CLIENT_SECRET = "GOCSPX-standin-client-secret"
# Google's Cloud project number appears in channel errors ("... not found for project ...").
PROJECT_NUMBER = "123456789012"

SCOPE_PREFIX = "https://www.googleapis.com/auth/"


@dataclass
class OAuthClient:
    """A web-application OAuth client. Empty `redirect_uris` accepts any loopback redirect URI (dev
    hosts pick free ports); otherwise the match is exact, as Google's is."""

    client_id: str
    client_secret: str
    redirect_uris: list[str] = field(default_factory=list)
    name: str = "Slotbridge (Google stand-in)"


@dataclass
class GoogleConfig:
    clients: list[OAuthClient] = field(
        default_factory=lambda: [OAuthClient(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)]
    )
    access_token_lifetime: int = 3599
    auth_code_lifetime: int = 600
    # Google keeps 100 refresh tokens per account per client; the 101st invalidates the oldest.
    refresh_token_limit: int = 100
    # events.list: default and largest maxResults; `max_page_size` caps pages below what was asked
    # (short pages), `empty_pages` puts that many empty pages (with nextPageToken) before the items.
    events_default_page_size: int = 250
    events_max_page_size: int = 2500
    max_page_size: int = 2500
    empty_pages: int = 0
    # conferenceData createRequest: reads after the insert that still see `pending`; `failure`
    # makes the request end as statusCode failure instead of success.
    conference_pending_reads: int = 0
    conference_failure: bool = False
    # Recurring series without an end are expanded up to this many days after now (singleEvents).
    recurrence_horizon_days: int = 400
    # events.watch: expiration when none is asked, and the longest allowed (longer is shortened).
    channel_default_ttl: int = 7 * 24 * 3600
    channel_max_ttl: int = 30 * 24 * 3600
    # Push delivery, through the Microsoft sandbox's notifier (retries with these delays).
    notification_timeout: float = 10.0
    notification_retry_delays: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
    notification_max_age: float = 3600.0
    notification_ca_bundle: str | None = None
