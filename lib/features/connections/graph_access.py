"""Graph for a connection: the one place where a `GraphClient` is built for a connected account,
with its token from the vault and the needs_reconnect path wired in."""

from __future__ import annotations

from lib.adapters.graph import GraphClient
from lib.adapters.identity.msal_client import http_session
from lib.adapters.identity.token_vault import GrantBroken, TokenCacheRecord, TokenVault
from lib.adapters.keyvault import data_keys
from lib.adapters.storage import storage_account
from lib.core.settings import get_settings, settings_cached
from lib.features.connections.reconnect import mark_needs_reconnect
from lib.features.connections.records import ConnectionRecord
from lib.providers.accounts import AccountRef


@settings_cached
def token_vault() -> TokenVault:
    return TokenVault(storage_account().table(TokenCacheRecord), data_keys(), get_settings().microsoft)


def graph_for(connection: ConnectionRecord) -> GraphClient:
    return graph_for_account(connection.account())


def graph_for_account(account: AccountRef) -> GraphClient:
    """A Graph client acting as the connection's account. A broken grant marks the connection
    `needs_reconnect` (one outbox message) and surfaces as `NeedsReconnect`."""
    settings = get_settings()

    def token(force_refresh: bool) -> str:
        try:
            return token_vault().access_token(
                account.connection_id, account.account_id, force_refresh=force_refresh
            )
        except GrantBroken as broken:
            mark_needs_reconnect(account.user_id, account.connection_id, broken.failure)
            raise

    return GraphClient(
        settings.graph_base_url,
        http_session(settings.ca_bundle),
        token,
        mailbox_key=account.connection_id,
        deadline_s=settings.microsoft.graph_timeout_seconds,
    )
