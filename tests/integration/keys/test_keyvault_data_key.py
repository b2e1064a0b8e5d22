"""The Key Vault data key provider against the sandbox's Key Vault, through the real SecretClient:
current key, versioned reads, and a rotation that old ciphertexts survive."""

from __future__ import annotations

import base64
import os
import uuid

import pytest
from azure.keyvault.secrets import SecretClient

from lib.adapters.keyvault import KeyVaultDataKeyProvider
from lib.core.crypto import DataKeyUnavailable, seal, sealed_key_version, unseal


def _new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def test_rotation_keeps_old_ciphertexts_readable(keyvault_client: SecretClient) -> None:
    name = f"token-data-key-{uuid.uuid4().hex[:6]}"
    first = keyvault_client.set_secret(name, _new_key())
    provider = KeyVaultDataKeyProvider(keyvault_client, name)
    provider.current_ttl_s = 0  # pick up the rotation at once
    old = seal(b"cache", provider.current(), b"conn")
    assert sealed_key_version(old) == first.properties.version

    second = keyvault_client.set_secret(name, _new_key())  # what infra/scripts/rotate-data-key.sh does
    new = seal(b"cache", provider.current(), b"conn")
    assert sealed_key_version(new) == second.properties.version != first.properties.version
    fresh = KeyVaultDataKeyProvider(keyvault_client, name)  # e.g. another instance after a restart
    assert unseal(old, fresh, b"conn") == b"cache"
    assert unseal(new, fresh, b"conn") == b"cache"


def test_missing_or_malformed_key_is_a_clear_unavailability(keyvault_client: SecretClient) -> None:
    with pytest.raises(DataKeyUnavailable):
        KeyVaultDataKeyProvider(keyvault_client, f"absent-{uuid.uuid4().hex[:6]}").current()
    name = f"bad-key-{uuid.uuid4().hex[:6]}"
    keyvault_client.set_secret(name, "not-a-32-byte-key")
    with pytest.raises(DataKeyUnavailable, match="not a valid data key"):
        KeyVaultDataKeyProvider(keyvault_client, name).current()
