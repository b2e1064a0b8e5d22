"""Service clients for Table and Queue Storage, built from settings: a connection string (Azurite,
or a key-based account) or identity-based endpoints with `DefaultAzureCredential` (Azure).

The SDKs are imported here lazily so that a cold start which never touches storage stays fast.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import TYPE_CHECKING, Any

from lib.core.settings import StorageSettings

if TYPE_CHECKING:
    from azure.data.tables import TableServiceClient
    from azure.storage.queue import QueueServiceClient

# Storage calls fail fast rather than hang a function invocation; the SDK retries on top of these.
CONNECTION_TIMEOUT_S = 5
READ_TIMEOUT_S = 20


# The SDKs log every request's headers at INFO; keep that out of the app's logs.
logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)


def _client_options() -> dict[str, Any]:
    """Timeouts, and the storage transport (`lib.adapters.storage.transport`) — or, when a proxy is
    configured, the `requests` transport that applies it (`_requests_transport`)."""
    import urllib.request

    from lib.adapters.storage.transport import StorageTransport

    if urllib.request.getproxies():
        return _requests_transport()
    options: dict[str, Any] = {"connection_timeout": CONNECTION_TIMEOUT_S, "read_timeout": READ_TIMEOUT_S}
    ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    return {**options, "transport": StorageTransport(**options, ca_bundle=ca_bundle)}


def _requests_transport() -> dict[str, Any]:
    """Timeouts, and the SDKs' default `requests` transport over a session that keeps
    `CONNECTIONS_PER_HOST` connections alive and applies the configured proxy (and `no_proxy`)."""
    import requests
    from azure.core.pipeline.transport import RequestsTransport
    from urllib3.util.retry import Retry

    from lib.adapters.outbound_http import pooled_adapter

    options: dict[str, Any] = {"connection_timeout": CONNECTION_TIMEOUT_S, "read_timeout": READ_TIMEOUT_S}
    session = requests.Session()
    # The SDK's pipeline retries; urllib3 must not retry underneath it (as azure-core sets up).
    adapter = pooled_adapter(max_retries=Retry(total=False, redirect=False, raise_on_status=False))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    transport = RequestsTransport(session=session, session_owner=False, **options)
    return {**options, "transport": transport}


@functools.cache
def _credential(client_id: str | None) -> Any:
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(managed_identity_client_id=client_id)


def table_service(settings: StorageSettings) -> TableServiceClient:
    from azure.data.tables import TableServiceClient

    options = _client_options()
    if settings.connection_string:
        return TableServiceClient.from_connection_string(settings.connection_string, **options)
    assert settings.table_service_uri  # guaranteed by lib.core.settings
    return TableServiceClient(
        settings.table_service_uri, credential=_credential(settings.managed_identity_client_id), **options
    )


def queue_service(settings: StorageSettings) -> QueueServiceClient:
    from azure.storage.queue import QueueServiceClient

    options = _client_options()
    if settings.connection_string:
        return QueueServiceClient.from_connection_string(settings.connection_string, **options)
    assert settings.queue_service_uri  # guaranteed by lib.core.settings
    return QueueServiceClient(
        settings.queue_service_uri, credential=_credential(settings.managed_identity_client_id), **options
    )
