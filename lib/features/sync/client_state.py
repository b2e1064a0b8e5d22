"""The clientState of a Graph subscription: an HMAC that the intake verifies without reading a table.

    v1.<connection id>.<calendar digest>.<mac>

- calendar digest: base64url of the first 16 bytes of SHA-256 over the calendar id (Graph calendar
  ids are ~150 characters, too long for the 128 that clientState allows);
- mac: base64url of HMAC-SHA256(key, "v1|<connection id>|<calendar digest>"), key from
  `SLOTBRIDGE_CLIENT_STATE_KEY`.

A verified clientState proves the notification belongs to a subscription this app created for that
connection and calendar; it is a secret shared with Graph, so it is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from lib.core.crypto import b64url, calendar_digest, hmac_sha256
from lib.core.settings import SettingsError, get_settings

VERSION = "v1"
MAX_CLIENT_STATE = 128
MAX_CONNECTION_ID = 48
_DIGEST_CHARS = 22  # base64url of 16 bytes
_MAC_CHARS = 43  # base64url of 32 bytes


@dataclass(frozen=True)
class ClientStateClaims:
    connection_id: str
    calendar_digest: str


def key_fingerprint(key: bytes) -> str:
    """A short, non-secret name of the key (stored with subscriptions so a rotation is noticed)."""
    return hashlib.sha256(b"slotbridge-client-state|" + key).hexdigest()[:12]


def _mac(key: bytes, connection_id: str, digest: str) -> str:
    return b64url(hmac_sha256(key, f"{VERSION}|{connection_id}|{digest}".encode()))


def current_key() -> bytes:
    key = get_settings().sync.client_state_key
    if key is None:
        raise SettingsError(
            "Setting SLOTBRIDGE_CLIENT_STATE_KEY is missing: change notifications need it "
            "(base64 of at least 32 bytes)."
        )
    return key


def make_client_state(connection_id: str, calendar_id: str, key: bytes | None = None) -> str:
    if not connection_id or len(connection_id) > MAX_CONNECTION_ID or "." in connection_id:
        raise ValueError("a connection id for a clientState is 1-48 characters without '.'")
    key = key if key is not None else current_key()
    digest = calendar_digest(calendar_id)
    value = f"{VERSION}.{connection_id}.{digest}.{_mac(key, connection_id, digest)}"
    assert len(value) <= MAX_CLIENT_STATE
    return value


def verify_client_state(value: object, key: bytes | None) -> ClientStateClaims | None:
    """The claims of a genuine clientState; None for anything else (compared in constant time)."""
    if key is None or not isinstance(value, str) or len(value) > MAX_CLIENT_STATE:
        return None
    parts = value.split(".")
    if len(parts) != 4 or parts[0] != VERSION:
        return None
    _, connection_id, digest, mac = parts
    if not connection_id or len(digest) != _DIGEST_CHARS or len(mac) != _MAC_CHARS:
        return None
    if not hmac.compare_digest(mac.encode(), _mac(key, connection_id, digest).encode()):
        return None
    return ClientStateClaims(connection_id, digest)
