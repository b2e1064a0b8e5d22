"""The one crypto helper: AES-256-GCM sealing under versioned data keys, and HMAC signatures.

Sealed values look like `sb1.<key version>.<base64url(nonce | ciphertext+tag)>`: the key version
travels with the ciphertext so data keys can rotate (new writes use the current key, old values open
with the version they name). Associated data (e.g. the connection id) binds a ciphertext to the row
it belongs to, so a sealed token cache copied onto another connection does not open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

from lib.core.errors import ServiceUnavailable

FORMAT = "sb1"
NONCE_BYTES = 12
KEY_BYTES = 32


class SealedValueInvalid(ValueError):
    """A sealed value that is malformed, was tampered with, or belongs to other associated data."""


class DataKeyUnavailable(ServiceUnavailable):
    title = "The key store is unavailable"


@dataclass(frozen=True, repr=False)
class DataKey:
    version: str
    material: bytes

    def __post_init__(self) -> None:
        if len(self.material) != KEY_BYTES:
            raise ValueError(f"a data key is {KEY_BYTES} bytes, got {len(self.material)}")
        if not self.version or "." in self.version:
            raise ValueError("a data key version is non-empty and has no '.'")

    def __repr__(self) -> str:  # never print key material
        return f"DataKey(version={self.version!r})"


def decode_key_material(text: str) -> bytes:
    """Key material as stored (standard or URL-safe base64 of 32 bytes)."""
    try:
        material = base64.urlsafe_b64decode(text.strip().replace("+", "-").replace("/", "_") + "==")
    except (ValueError, TypeError) as exc:
        raise ValueError("data key is not base64") from exc
    if len(material) != KEY_BYTES:
        raise ValueError(f"data key must decode to {KEY_BYTES} bytes, got {len(material)}")
    return material


class DataKeyProvider(ABC):
    """Where data keys come from. The base caches: the current key for `current_ttl_s` (so a
    rotation is picked up without a restart), and every version for the life of the process
    (a version's material never changes)."""

    current_ttl_s: float = 600.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: DataKey | None = None
        self._current_at = 0.0
        self._versions: dict[str, DataKey] = {}

    def current(self) -> DataKey:
        with self._lock:
            if self._current is None or time.monotonic() - self._current_at > self.current_ttl_s:
                key = self._fetch_current()
                self._current, self._current_at = key, time.monotonic()
                self._versions[key.version] = key
            return self._current

    def by_version(self, version: str) -> DataKey:
        with self._lock:
            key = self._versions.get(version)
            if key is None:
                key = self._versions[version] = self._fetch_version(version)
            return key

    @abstractmethod
    def _fetch_current(self) -> DataKey: ...

    @abstractmethod
    def _fetch_version(self, version: str) -> DataKey: ...


class StaticDataKeyProvider(DataKeyProvider):
    """Keys given directly (local development from settings, and tests). The first is current."""

    def __init__(self, *keys: DataKey) -> None:
        super().__init__()
        if not keys:
            raise ValueError("at least one data key")
        self._keys = {k.version: k for k in keys}
        self._first = keys[0]

    def _fetch_current(self) -> DataKey:
        return self._first

    def _fetch_version(self, version: str) -> DataKey:
        try:
            return self._keys[version]
        except KeyError:
            raise SealedValueInvalid(f"no data key with version {version!r}") from None


def seal(plaintext: bytes, key: DataKey, associated_data: bytes) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(key.material).encrypt(nonce, plaintext, associated_data)
    body = base64.urlsafe_b64encode(nonce + ciphertext).decode().rstrip("=")
    return f"{FORMAT}.{key.version}.{body}"


def sealed_key_version(sealed: str) -> str:
    parts = sealed.split(".")
    if len(parts) != 3 or parts[0] != FORMAT:
        raise SealedValueInvalid("not a sealed value")
    return parts[1]


def unseal(sealed: str, keys: DataKeyProvider, associated_data: bytes) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    version = sealed_key_version(sealed)
    try:
        raw = base64.urlsafe_b64decode(sealed.split(".")[2] + "==")
    except ValueError as exc:
        raise SealedValueInvalid("sealed value is not base64") from exc
    if len(raw) < NONCE_BYTES + 16:
        raise SealedValueInvalid("sealed value is truncated")
    try:
        return AESGCM(keys.by_version(version).material).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated_data
        )
    except InvalidTag:
        raise SealedValueInvalid("sealed value does not open with its key and associated data") from None


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def hmac_matches(key: bytes, message: bytes, signature: bytes) -> bool:
    """Constant-time comparison of a presented signature with the expected one."""
    return hmac.compare_digest(hmac_sha256(key, message), signature)


def calendar_digest(calendar_id: str) -> str:
    """A short, fixed-length, non-secret name of a calendar id (Graph ids run to hundreds of
    characters): in clientState, queue messages, sync state and message ids."""
    return b64url(hashlib.sha256(calendar_id.encode("utf-8")).digest()[:16])


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
