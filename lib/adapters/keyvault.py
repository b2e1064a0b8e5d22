"""Where the token-encryption data key comes from: Key Vault in Azure (a secret whose versions are
the rotations), or — for local development only — a key given in settings. Both sit behind
`lib.core.crypto.DataKeyProvider`, whose base caches the current key and every version it has read."""

from __future__ import annotations

from typing import Any

from lib.core.crypto import (
    DataKey,
    DataKeyProvider,
    DataKeyUnavailable,
    StaticDataKeyProvider,
    decode_key_material,
)
from lib.core.settings import get_settings, settings_cached

LOCAL_KEY_VERSION = "local"


class KeyVaultDataKeyProvider(DataKeyProvider):
    """Reads the data key from a Key Vault secret through a `SecretClient`."""

    def __init__(self, secret_client: Any, secret_name: str) -> None:
        super().__init__()
        self._client = secret_client
        self._name = secret_name

    def _read(self, version: str | None) -> DataKey:
        from azure.core.exceptions import AzureError

        try:
            secret = self._client.get_secret(self._name, version=version)
        except AzureError as exc:
            raise DataKeyUnavailable(
                f"The data key could not be read from Key Vault ({type(exc).__name__})."
            ) from exc
        try:
            return DataKey(secret.properties.version, decode_key_material(secret.value or ""))
        except ValueError as exc:
            raise DataKeyUnavailable(
                f"The Key Vault secret {self._name} is not a valid data key: {exc}"
            ) from None

    def _fetch_current(self) -> DataKey:
        return self._read(None)

    def _fetch_version(self, version: str) -> DataKey:
        return self._read(version)


@settings_cached
def data_keys() -> DataKeyProvider:
    """The process's data key provider, chosen by settings."""
    settings = get_settings()
    if settings.keys.key_vault_url:
        from azure.identity import DefaultAzureCredential
        from azure.keyvault.secrets import SecretClient

        # In Azure: the app's managed identity (AZURE_CLIENT_ID names the user-assigned one).
        client = SecretClient(settings.keys.key_vault_url, DefaultAzureCredential())
        return KeyVaultDataKeyProvider(client, settings.keys.data_key_secret_name)
    assert settings.keys.local_data_key  # guaranteed by lib.core.settings
    return StaticDataKeyProvider(
        DataKey(LOCAL_KEY_VERSION, decode_key_material(settings.keys.local_data_key))
    )
