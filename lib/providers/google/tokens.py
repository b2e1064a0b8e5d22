"""Google tokens of a connection, kept exactly like Microsoft's token caches: one row per
connection in the `tokencaches` table (kind `google`), sealed with AES-256-GCM under the current
data key with the connection id as associated data, and written under its ETag.

`access_token()` is the one way to a Google access token: the stored one while it has more than a
minute left, else a refresh. `invalid_grant` is a broken grant (`GrantBroken`, which connections
turns into needs_reconnect once); anything else is `google_unavailable`. Google does not rotate
refresh tokens on refresh, so two concurrent refreshes both work: the second save loses its ETag
race and is dropped."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from lib.adapters.identity.token_vault import GrantBroken, TokenCacheRecord, TokenFailure
from lib.adapters.storage.tables import AlreadyExists, ConcurrentUpdate, RecordNotFound, Table
from lib.core.crypto import DataKeyProvider, seal, unseal
from lib.core.settings import GoogleSettings
from lib.providers.google import oauth
from lib.providers.google.oauth import GoogleTokens, GrantRefused

log = logging.getLogger("slotbridge.tokens")

KIND = "google"
EARLY_REFRESH_S = 60.0


class GoogleTokenVault:
    def __init__(self, table: Table[TokenCacheRecord], keys: DataKeyProvider, google: GoogleSettings) -> None:
        self._table = table
        self._keys = keys
        self._google = google

    def _record(self, connection_id: str, tokens: GoogleTokens) -> TokenCacheRecord:
        key = self._keys.current()
        return TokenCacheRecord(
            connection_id=connection_id,
            kind=KIND,
            sealed_cache=seal(tokens.to_json().encode(), key, connection_id.encode()),
            key_version=key.version,
            updated_at=datetime.now(UTC),
        )

    def store(self, connection_id: str, tokens: GoogleTokens) -> None:
        """Keep a fresh sign-in's tokens (first connect or reconnect), replacing any others."""
        record = self._record(connection_id, tokens)
        try:
            self._table.create(record)
            return
        except AlreadyExists:
            pass

        def replace(current: TokenCacheRecord) -> TokenCacheRecord:
            record.etag = current.etag
            return record

        self._table.mutate(connection_id, KIND, replace)

    def load(self, connection_id: str) -> tuple[TokenCacheRecord, GoogleTokens]:
        try:
            record = self._table.get(connection_id, KIND)
        except RecordNotFound:
            raise GrantBroken(TokenFailure(connection_id, "no_token_cache", None), "Google") from None
        return record, GoogleTokens.from_json(
            unseal(record.sealed_cache, self._keys, connection_id.encode()).decode()
        )

    def access_token(self, connection_id: str, *, force_refresh: bool = False) -> str:
        record, tokens = self.load(connection_id)
        if not force_refresh and tokens.expires_at - EARLY_REFRESH_S > time.time():
            return tokens.access_token
        try:
            fresh = oauth.refresh(self._google, tokens.refresh_token)
        except GrantRefused as refused:
            log.info("Token refresh for %s refused (%s)", connection_id, refused.error)
            raise GrantBroken(TokenFailure(connection_id, refused.error, None), "Google") from None
        updated = self._record(connection_id, fresh)
        updated.etag = record.etag
        try:
            self._table.update(updated)
        except (ConcurrentUpdate, RecordNotFound):
            log.info("Google tokens of %s were saved by a concurrent refresh", connection_id)
        return fresh.access_token

    def forget(self, connection_id: str) -> None:
        """Revoke the grant at Google (best effort) and delete the tokens."""
        record = self._table.find(connection_id, KIND)
        if record is None:
            return
        try:
            tokens = GoogleTokens.from_json(
                unseal(record.sealed_cache, self._keys, connection_id.encode()).decode()
            )
            oauth.revoke(self._google, tokens.refresh_token)
        except Exception as error:  # the tokens go anyway
            log.warning("Google grant of %s not revoked (%s)", connection_id, type(error).__name__)
        self._table.delete(record)
