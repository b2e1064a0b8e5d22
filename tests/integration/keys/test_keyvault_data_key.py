"""The Key Vault data key provider against the sandbox's Key Vault, through the real SecretClient:
current key, versioned reads, and a rotation that old ciphertexts survive."""

from __future__ import annotations

import base64
import os
import uuid
from urllib.parse import urlsplit

import pytest
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient

from devstack.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox
from lib.crypto import DataKeyUnavailable, seal, sealed_key_version, unseal
from lib.keystore import KeyVaultDataKeyProvider


@pytest.fixture()
def secret_client(sandbox: Sandbox) -> SecretClient:
    credential = ClientSecretCredential(
        sandbox.app.config.tenant_id,
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        authority=urlsplit(sandbox.url).netloc,
        disable_instance_discovery=True,
        connection_verify=sandbox.ca_pem_path,
    )
    # The sandbox's challenge names https://vault.azure.net, not its loopback host.
    return SecretClient(
        sandbox.url, credential, verify_challenge_resource=False, connection_verify=sandbox.ca_pem_path
    )


def _new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def test_rotation_keeps_old_ciphertexts_readable(secret_client: SecretClient) -> None:
    name = f"token-data-key-{uuid.uuid4().hex[:6]}"
    first = secret_client.set_secret(name, _new_key())
    provider = KeyVaultDataKeyProvider(secret_client, name)
    provider.current_ttl_s = 0  # pick up the rotation at once
    old = seal(b"cache", provider.current(), b"conn")
    assert sealed_key_version(old) == first.properties.version

    second = secret_client.set_secret(name, _new_key())  # what infra/scripts/rotate-data-key.sh does
    new = seal(b"cache", provider.current(), b"conn")
    assert sealed_key_version(new) == second.properties.version != first.properties.version
    fresh = KeyVaultDataKeyProvider(secret_client, name)  # e.g. another instance after a restart
    assert unseal(old, fresh, b"conn") == b"cache"
    assert unseal(new, fresh, b"conn") == b"cache"


def test_missing_or_malformed_key_is_a_clear_unavailability(secret_client: SecretClient) -> None:
    with pytest.raises(DataKeyUnavailable):
        KeyVaultDataKeyProvider(secret_client, f"absent-{uuid.uuid4().hex[:6]}").current()
    name = f"bad-key-{uuid.uuid4().hex[:6]}"
    secret_client.set_secret(name, "not-a-32-byte-key")
    with pytest.raises(DataKeyUnavailable, match="not a valid data key"):
        KeyVaultDataKeyProvider(secret_client, name).current()
