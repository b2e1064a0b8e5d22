"""Key Vault secrets through the real SecretClient and ClientSecretCredential."""

from __future__ import annotations

import pytest
import requests
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.keyvault.secrets import SecretClient

from devstack.sandbox import Sandbox

pytestmark = pytest.mark.integration


def test_unauthenticated_request_gets_challenge(sandbox: Sandbox, sandbox_http: requests.Session) -> None:
    r = sandbox_http.get(f"{sandbox.url}/secrets/data-key?api-version=7.6")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == (
        f'Bearer authorization="{sandbox.url}/{sandbox.app.config.tenant_id}", resource="https://vault.azure.net"'
    )
    assert r.json()["error"]["code"] == "Unauthorized"


def test_set_get_versions_delete(keyvault_client: SecretClient, sandbox: Sandbox) -> None:
    first = keyvault_client.set_secret(
        "data-key-test", "v1", content_type="application/octet-stream", tags={"k": "1"}
    )
    second = keyvault_client.set_secret("data-key-test", "v2")
    assert first.properties.version != second.properties.version
    assert first.id == f"{sandbox.url}/secrets/data-key-test/{first.properties.version}"
    assert first.properties.content_type == "application/octet-stream" and first.properties.tags == {"k": "1"}
    assert keyvault_client.get_secret("data-key-test").value == "v2"
    assert keyvault_client.get_secret("data-key-test", first.properties.version).value == "v1"
    versions = {p.version for p in keyvault_client.list_properties_of_secret_versions("data-key-test")}
    assert versions == {first.properties.version, second.properties.version}
    assert "data-key-test" in {p.name for p in keyvault_client.list_properties_of_secrets()}
    with pytest.raises(ResourceNotFoundError):
        keyvault_client.get_secret("never-set")
    with pytest.raises(ResourceNotFoundError):
        keyvault_client.get_secret("data-key-test", "0" * 32)
    deleted = keyvault_client.begin_delete_secret("data-key-test").result()
    assert deleted.name == "data-key-test" and deleted.recovery_id
    with pytest.raises(ResourceNotFoundError):
        keyvault_client.get_secret("data-key-test")
    with pytest.raises(ResourceExistsError):
        keyvault_client.set_secret("data-key-test", "v3")
    keyvault_client.begin_recover_deleted_secret("data-key-test").result()
    assert keyvault_client.get_secret("data-key-test").value == "v2"
