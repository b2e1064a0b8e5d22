"""Queue triggers fed from Azurite (or Azure) with the host's semantics: base64 messages, up to
`batchSize` in flight per queue (a new batch when at most `newBatchThreshold` are running), a
visibility timeout before a failed message is seen again, the dequeue count visible to the
function, and after `maxDequeueCount` failed tries the message moved to `<queue>-poison`.
Polling backs off up to `maxPollingInterval` while a queue is empty."""

from __future__ import annotations

import base64
import binascii
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from azure.functions.queue import QueueMessage as FunctionsQueueMessage

from devstack.funchost.config import QueueConfig, resolve_placeholders
from devstack.funchost.invoke import LoadedFunction, invoke

if TYPE_CHECKING:
    from azure.storage.queue import QueueClient, QueueMessage, QueueServiceClient

log = logging.getLogger("devstack.funchost")

# While a message is being processed it stays invisible this long (the host renews its lease).
PROCESSING_LEASE_S = 600
MIN_POLL_S = 0.1


class QueueRunner:
    def __init__(
        self,
        function: LoadedFunction,
        service: QueueServiceClient,
        config: QueueConfig,
        function_timeout: timedelta | None = None,
    ) -> None:
        self.function = function
        self.function_timeout = function_timeout
        self.queue_name = resolve_placeholders(str(function.trigger["queueName"]))
        self.config = config
        self._queue: QueueClient = service.get_queue_client(self.queue_name)
        self._poison: QueueClient = service.get_queue_client(f"{self.queue_name}-poison")
        self._pool = ThreadPoolExecutor(config.batch_size, thread_name_prefix=f"queue-{self.queue_name}")
        self._inflight = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"poll-{self.queue_name}", daemon=True)
        self.processed = 0
        self.failed = 0
        self.poisoned = 0

    def start(self) -> None:
        from azure.core.exceptions import ResourceExistsError

        for client in (self._queue, self._poison):
            try:
                client.create_queue()
            except ResourceExistsError:
                pass
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._pool.shutdown(wait=True, cancel_futures=False)

    def _loop(self) -> None:
        max_poll = max(self.config.max_polling_interval.total_seconds(), MIN_POLL_S)
        delay = MIN_POLL_S
        while not self._stop.is_set():
            with self._lock:
                room = self.config.batch_size - self._inflight
                ready = self._inflight <= self.config.new_batch_threshold
            received: list[QueueMessage] = []
            if room > 0 and ready:
                try:
                    received = list(
                        self._queue.receive_messages(
                            max_messages=min(room, 32), visibility_timeout=PROCESSING_LEASE_S
                        )
                    )
                except Exception:
                    log.exception("Polling queue %s failed", self.queue_name)
            for message in received:
                with self._lock:
                    self._inflight += 1
                future = self._pool.submit(self._process, message)
                future.add_done_callback(self._done)
            # Back off while idle, as the host does; poll again at once after a full batch.
            delay = MIN_POLL_S if received else min(delay * 2, max_poll)
            self._stop.wait(0 if len(received) == room and received else delay)

    def _done(self, _: Future[Any]) -> None:
        with self._lock:
            self._inflight -= 1

    def _process(self, message: QueueMessage) -> None:
        try:
            body = base64.b64decode(message.content, validate=True)
        except (binascii.Error, ValueError, TypeError):
            body = None
        try:
            if body is None:
                raise ValueError("message is not base64 (host.json messageEncoding is base64)")
            payload = FunctionsQueueMessage(
                id=message.id,
                body=body,
                dequeue_count=message.dequeue_count,
                expiration_time=message.expires_on,
                insertion_time=message.inserted_on,
                time_next_visible=message.next_visible_on,
                pop_receipt=message.pop_receipt,
            )
            invoke(self.function, payload, self.function_timeout)
        except Exception:
            self.failed += 1
            log.exception(
                "Queue function '%s' failed on message %s (dequeue count %s)",
                self.function.name,
                message.id,
                message.dequeue_count,
            )
            self._after_failure(message)
            return
        self._queue.delete_message(message.id, message.pop_receipt)
        self.processed += 1

    def _after_failure(self, message: QueueMessage) -> None:
        if (message.dequeue_count or 0) >= self.config.max_dequeue_count:
            self._poison.send_message(message.content)
            self._queue.delete_message(message.id, message.pop_receipt)
            self.poisoned += 1
            log.warning("Message %s moved to %s-poison", message.id, self.queue_name)
        else:
            self._queue.update_message(
                message.id,
                message.pop_receipt,
                visibility_timeout=int(self.config.visibility_timeout.total_seconds()),
            )
