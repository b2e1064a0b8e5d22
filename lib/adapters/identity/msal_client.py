"""The MSAL confidential client of Slotbridge, built from settings.

One `ConfidentialClientApplication` per token cache (MSAL binds a cache to an app), all sharing one
HTTP session (trusting `SLOTBRIDGE_CA_BUNDLE` when set) and one HTTP cache, so the authority's
OpenID metadata is fetched once per process, not once per connection.
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import TYPE_CHECKING, Any

from lib.adapters.outbound_http import VerifyingSession, make_session
from lib.core.settings import MicrosoftSettings

if TYPE_CHECKING:
    import msal

# Delegated Graph permissions. MSAL adds openid, profile and offline_access itself.
# MailboxSettings.Read lets availability read the mailbox time zone (all-day events block whole
# local days there); Calendars.ReadWrite is the one a connection cannot work without.
GRAPH_SCOPES = ["Calendars.ReadWrite", "User.Read", "MailboxSettings.Read"]
REQUIRED_SCOPE = "Calendars.ReadWrite"
CONSUMERS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"

# MSAL logs token requests (authorization code, PKCE verifier, refresh token) at DEBUG. Those must
# never reach a log, whatever level the host runs at.
logging.getLogger("msal").setLevel(logging.INFO)

_http_cache: dict[str, Any] = {}
_http_cache_lock = threading.Lock()


@functools.cache
def http_session(ca_bundle: str | None) -> VerifyingSession:
    return make_session(ca_bundle)


def confidential_app(
    settings: MicrosoftSettings, token_cache: msal.SerializableTokenCache | None = None
) -> msal.ConfidentialClientApplication:
    import msal

    with _http_cache_lock:
        return msal.ConfidentialClientApplication(
            settings.client_id,
            client_credential=settings.client_secret,
            authority=settings.authority,
            # Authority metadata comes from the configured host itself (national clouds, sandbox).
            instance_discovery=False,
            http_client=http_session(settings.ca_bundle),
            http_cache=_http_cache,
            token_cache=token_cache,
        )


def granted_scopes(token_result: dict[str, Any]) -> set[str]:
    """The Graph scopes a token response says were granted, without resource prefixes, lowercased."""
    scopes = str(token_result.get("scope", "")).split()
    return {s.rsplit("/", 1)[-1].lower() for s in scopes}
