"""The token vault: one MSAL `SerializableTokenCache` per connection, sealed with AES-256-GCM under
the current data key (the connection id as associated data), stored in Table Storage, written only
when MSAL changed it, and always under its ETag.

`access_token()` is the one way to get a Graph token for a connection. Two concurrent refreshes of
one connection lose nothing: the second writer's ETag check fails and it keeps the stored cache,
and a refresh that fails because the other one rotated the refresh token first reads the newer
cache and tries again before anything is declared broken.

An access token is kept in the process for `RECENT_TOKEN_S` after it was handed out, as MSAL keeps
tokens in memory: a booking's two Graph requests, and a sync's several, then read and unseal the
token cache once, not per request. MSAL hands out a token only while it has at least 5 minutes
left, so a kept one is always still good; a caller whose token Graph refused asks with
`force_refresh`, which drops the kept one. A disconnected connection's kept token is never asked
for: every caller reads the connection row (its status) first.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from lib.adapters.identity.msal_client import GRAPH_SCOPES, confidential_app
from lib.adapters.identity.sign_in_errors import IdentityUnavailable, aadsts_code, is_reconnect_error
from lib.adapters.storage.records import TableRecord
from lib.adapters.storage.tables import AlreadyExists, ConcurrentUpdate, RecordNotFound, Table
from lib.core.crypto import DataKeyProvider, seal, sealed_key_version, unseal
from lib.core.errors import NeedsReconnect
from lib.core.settings import MicrosoftSettings
from lib.core.ttl_memo import forget, forget_where, ttl_memo

if TYPE_CHECKING:
    import msal

log = logging.getLogger("slotbridge.tokens")

MAX_REFRESH_ROUNDS = 3
# How long a handed-out access token is kept in the process (well under MSAL's 5-minute margin).
RECENT_TOKEN_S = 60.0


@dataclasses.dataclass(kw_only=True)
class TokenCacheRecord(TableRecord):
    table_kind: ClassVar[str] = "tokencaches"
    partition_fields: ClassVar[tuple[str, ...]] = ("connection_id",)
    row_fields: ClassVar[tuple[str, ...]] = ("kind",)

    connection_id: str
    kind: str = "msal"
    sealed_cache: str
    key_version: str
    updated_at: datetime


@dataclasses.dataclass(frozen=True)
class TokenFailure:
    """Why a connection's grant no longer works (for the needs_reconnect path)."""

    connection_id: str
    error: str
    aadsts: str | None


class GrantBroken(NeedsReconnect):
    """A connection's grant broke (any provider's): the needs_reconnect path takes `failure`."""

    def __init__(self, failure: TokenFailure, account_kind: str = "Microsoft") -> None:
        super().__init__(
            f"The {account_kind} account's sign-in has expired or was revoked; connect it again."
        )
        self.failure = failure


class TokenVault:
    def __init__(
        self, table: Table[TokenCacheRecord], keys: DataKeyProvider, microsoft: MicrosoftSettings
    ) -> None:
        self._table = table
        self._keys = keys
        self._microsoft = microsoft

    # --- storing ---------------------------------------------------------------------------

    def _sealed(self, connection_id: str, cache: msal.SerializableTokenCache) -> tuple[str, str]:
        key = self._keys.current()
        return seal(cache.serialize().encode(), key, connection_id.encode()), key.version

    def store(self, connection_id: str, cache: msal.SerializableTokenCache) -> None:
        """Store a fresh cache for a connection (first connect or reconnect), replacing any other."""
        self._forget_kept(connection_id)
        sealed, version = self._sealed(connection_id, cache)
        now = datetime.now(UTC)
        record = TokenCacheRecord(
            connection_id=connection_id, sealed_cache=sealed, key_version=version, updated_at=now
        )
        existing = self._table.find(connection_id, "msal")
        if existing is None:
            try:
                self._table.create(record)
                return
            except AlreadyExists:
                pass  # lost a race with another store: replace it below

        def replace(current: TokenCacheRecord) -> TokenCacheRecord:
            record.etag = current.etag
            return record

        self._table.mutate(connection_id, "msal", replace)

    def wipe(self, connection_id: str) -> None:
        self._forget_kept(connection_id)
        record = self._table.find(connection_id, "msal")
        if record is not None:
            self._table.delete(record)

    def _forget_kept(self, connection_id: str) -> None:
        """A reconnect (new grant, maybe new scopes) or disconnect: no kept token of the old one."""
        forget_where(_recent_token, lambda args: args[:2] == (self, connection_id))

    def _load(self, connection_id: str) -> tuple[TokenCacheRecord, msal.SerializableTokenCache]:
        import msal

        try:
            record = self._table.get(connection_id, "msal")
        except RecordNotFound:
            raise GrantBroken(TokenFailure(connection_id, "no_token_cache", None)) from None
        cache = msal.SerializableTokenCache()
        cache.deserialize(unseal(record.sealed_cache, self._keys, connection_id.encode()).decode())
        return record, cache

    # --- using ----------------------------------------------------------------------------

    def access_token(
        self,
        connection_id: str,
        account_id: str,
        scopes: list[str] | None = None,
        *,
        force_refresh: bool = False,
    ) -> str:
        """A valid access token for the connection, refreshing silently (and saving the rotated
        cache) when needed — or always, with `force_refresh`, after Graph refused a cached token.
        Raises `GrantBroken` when only a new sign-in can help."""
        if scopes is not None:
            return self._acquire(connection_id, account_id, scopes, force_refresh=force_refresh)
        if not force_refresh:
            return _recent_token(self, connection_id, account_id)
        forget(_recent_token, self, connection_id, account_id)
        token = self._acquire(connection_id, account_id, None, force_refresh=True)
        # Again: a kept-token miss that began before the refused token was dropped may have put it back.
        forget(_recent_token, self, connection_id, account_id)
        return token

    def _acquire(
        self, connection_id: str, account_id: str, scopes: list[str] | None, *, force_refresh: bool
    ) -> str:
        last_etag: str | None = None
        failure = TokenFailure(connection_id, "refresh_failed", None)
        for _ in range(MAX_REFRESH_ROUNDS):
            record, cache = self._load(connection_id)
            if record.etag == last_etag:
                break  # nobody stored a newer cache since our failed attempt
            last_etag = record.etag
            app = confidential_app(self._microsoft, cache)
            accounts = [a for a in app.get_accounts() if a.get("home_account_id") == account_id]
            if not accounts:
                raise GrantBroken(TokenFailure(connection_id, "account_not_in_cache", None))
            result = app.acquire_token_silent_with_error(
                scopes or GRAPH_SCOPES, account=accounts[0], force_refresh=force_refresh
            )
            if result and "access_token" in result:
                if cache.has_state_changed:
                    self._save_rotated(record, cache)
                return str(result["access_token"])
            if result is None or not is_reconnect_error(result):
                error = (result or {}).get("error", "no_token")
                raise IdentityUnavailable(f"Microsoft did not issue a token ({error}); try again shortly.")
            failure = TokenFailure(
                connection_id, str(result.get("error")), aadsts_code(result.get("error_description"))
            )
            log.info(
                "Token refresh for %s refused (%s AADSTS%s)", connection_id, failure.error, failure.aadsts
            )
            # Loop: if another refresh stored a newer cache meanwhile, that one may still work.
        raise GrantBroken(failure)

    def _save_rotated(self, record: TokenCacheRecord, cache: msal.SerializableTokenCache) -> None:
        record.sealed_cache, record.key_version = self._sealed(record.connection_id, cache)
        record.updated_at = datetime.now(UTC)
        try:
            self._table.update(record)
        except ConcurrentUpdate:
            # A concurrent refresh saved its cache first; its refresh token is as good as ours.
            log.info("Token cache of %s was saved by a concurrent refresh", record.connection_id)

    def key_version(self, connection_id: str) -> str | None:
        record = self._table.find(connection_id, "msal")
        return sealed_key_version(record.sealed_cache) if record else None


@ttl_memo(RECENT_TOKEN_S)
def _recent_token(vault: TokenVault, connection_id: str, account_id: str) -> str:
    """The Graph token `vault` handed out for the connection within the last `RECENT_TOKEN_S`."""
    return vault._acquire(connection_id, account_id, None, force_refresh=False)
