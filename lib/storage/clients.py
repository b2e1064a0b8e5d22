"""Service clients for Table and Queue Storage, built from settings: a connection string (Azurite,
or a key-based account) or identity-based endpoints with `DefaultAzureCredential` (Azure).

The SDKs are imported here lazily so that a cold start which never touches storage stays fast.
"""

from __future__ import annotations

import functools
import logging
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


@functools.cache
def _credential(client_id: str | None) -> Any:
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(managed_identity_client_id=client_id)


def table_service(settings: StorageSettings) -> TableServiceClient:
    from azure.data.tables import TableServiceClient

    timeouts: dict[str, Any] = {"connection_timeout": CONNECTION_TIMEOUT_S, "read_timeout": READ_TIMEOUT_S}
    if settings.connection_string:
        return TableServiceClient.from_connection_string(settings.connection_string, **timeouts)
    assert settings.table_service_uri  # guaranteed by lib.settings
    return TableServiceClient(
        settings.table_service_uri, credential=_credential(settings.managed_identity_client_id), **timeouts
    )


def queue_service(settings: StorageSettings) -> QueueServiceClient:
    from azure.storage.queue import QueueServiceClient

    timeouts: dict[str, Any] = {"connection_timeout": CONNECTION_TIMEOUT_S, "read_timeout": READ_TIMEOUT_S}
    if settings.connection_string:
        return QueueServiceClient.from_connection_string(settings.connection_string, **timeouts)
    assert settings.queue_service_uri  # guaranteed by lib.settings
    return QueueServiceClient(
        settings.queue_service_uri, credential=_credential(settings.managed_identity_client_id), **timeouts
    )
