"""Service clients for Table and Queue Storage, built from settings: a connection string (Azurite,
or a key-based account) or identity-based endpoints with `DefaultAzureCredential` (Azure).

The SDKs are imported here lazily so that a cold start which never touches storage stays fast.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import TYPE_CHECKING, Any

from lib.settings import StorageSettings

if TYPE_CHECKING:
    from azure.data.tables import TableServiceClient
    from azure.storage.queue import QueueServiceClient

# Storage calls fail fast rather than hang a function invocation; the SDK retries on top of these.
CONNECTION_TIMEOUT_S = 5
READ_TIMEOUT_S = 20


# The SDKs log every request's headers at INFO; keep that out of the app's logs.
logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)


def _client_options() -> dict[str, Any]:
    """Timeouts, and a transport over a session that keeps `CONNECTIONS_PER_HOST` connections
    alive and does not consult the environment on every request.

    `requests` re-reads proxy variables (scanning the whole environment, twice) and the CA-bundle
    variables on every call when a session trusts the environment: about a millisecond of CPU per
    storage request, a quarter of a small query. Storage endpoints are reached directly, so when
    no proxy is configured the environment is read once, here; a CA bundle named there still
    applies. With a proxy configured, requests keeps applying it (and `no_proxy`) per call."""
    import urllib.request

    import requests
    from azure.core.pipeline.transport import RequestsTransport
    from urllib3.util.retry import Retry

    from lib.outbound_http import pooled_adapter

    options: dict[str, Any] = {"connection_timeout": CONNECTION_TIMEOUT_S, "read_timeout": READ_TIMEOUT_S}
    session = requests.Session()
    session.trust_env = bool(urllib.request.getproxies())
    # The SDK's pipeline retries; urllib3 must not retry underneath it (as azure-core sets up).
    adapter = pooled_adapter(max_retries=Retry(total=False, redirect=False, raise_on_status=False))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    transport_options = {**options, "connection_verify": ca_bundle} if ca_bundle else options
    transport = RequestsTransport(session=session, session_owner=False, **transport_options)
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
    assert settings.table_service_uri  # guaranteed by lib.settings
    return TableServiceClient(
        settings.table_service_uri, credential=_credential(settings.managed_identity_client_id), **options
    )


def queue_service(settings: StorageSettings) -> QueueServiceClient:
    from azure.storage.queue import QueueServiceClient

    options = _client_options()
    if settings.connection_string:
        return QueueServiceClient.from_connection_string(settings.connection_string, **options)
    assert settings.queue_service_uri  # guaranteed by lib.settings
    return QueueServiceClient(
        settings.queue_service_uri, credential=_credential(settings.managed_identity_client_id), **options
    )
