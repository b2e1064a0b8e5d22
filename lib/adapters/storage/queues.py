"""Storage Queues: messages written exactly as the Functions host's queue trigger reads them.

The host (extension bundle v4+, `messageEncoding` base64 by default) expects base64 text, so messages
are JSON documents sent through `TextBase64EncodePolicy`. Queues are created on first use.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from lib.adapters.storage.tables import StorageUnavailable

if TYPE_CHECKING:
    from azure.storage.queue import QueueClient, QueueServiceClient

# Queue names used by the app; the dev host and Bicep read the same names.
GRAPH_NOTIFICATIONS_QUEUE = "graph-notifications"
SYNC_REQUESTS_QUEUE = "sync-requests"
OUTBOX_QUEUE = "outbox"
# Every queue a trigger reads; each has its `<queue>-poison` (lib/adapters/storage/poison.py).
APP_QUEUES = (GRAPH_NOTIFICATIONS_QUEUE, SYNC_REQUESTS_QUEUE, OUTBOX_QUEUE)
# The host moves a message that failed maxDequeueCount times to `<queue>-poison`.
POISON_SUFFIX = "-poison"


class QueueWriter:
    """Sends JSON messages to named queues, creating each queue the first time it is used."""

    def __init__(self, service: QueueServiceClient) -> None:
        self._service = service
        self._clients: dict[str, QueueClient] = {}
        self._lock = threading.Lock()

    def _client(self, queue_name: str) -> QueueClient:
        from azure.core.exceptions import ResourceExistsError
        from azure.storage.queue import TextBase64EncodePolicy

        with self._lock:
            client = self._clients.get(queue_name)
            if client is None:
                client = self._service.get_queue_client(
                    queue_name, message_encode_policy=TextBase64EncodePolicy()
                )
                try:
                    client.create_queue()
                except ResourceExistsError:
                    pass
                self._clients[queue_name] = client
            return client

    def send(
        self,
        queue_name: str,
        message: dict[str, Any],
        *,
        visibility_timeout_s: int | None = None,
        time_to_live_s: int | None = None,
    ) -> str:
        """Enqueue one JSON message; returns its message id. Raises `StorageUnavailable` on I/O failure."""
        from azure.core.exceptions import AzureError

        text = json.dumps(message, separators=(",", ":"))
        try:
            sent = self._client(queue_name).send_message(
                text, visibility_timeout=visibility_timeout_s, time_to_live=time_to_live_s
            )
        except AzureError as exc:
            raise StorageUnavailable(
                f"Could not write to queue {queue_name} ({type(exc).__name__})."
            ) from exc
        return str(sent.id)

    def depth(self, queue_name: str) -> int:
        """About how many messages wait in a queue (Storage's approximate count); 0 if it does not
        exist. Raises `StorageUnavailable` on I/O failure."""
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        try:
            properties = self._service.get_queue_client(queue_name).get_queue_properties()
        except ResourceNotFoundError:
            return 0
        except AzureError as exc:
            raise StorageUnavailable(f"Could not read queue {queue_name} ({type(exc).__name__}).") from exc
        return int(properties.approximate_message_count or 0)
