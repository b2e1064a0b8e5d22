"""Counting at the wire: an HTTP proxy in front of each of Azurite's ports that passes every
request through unchanged and tallies it as the storage service bills and limits it.

Everything the app and the dev host send to storage (the app's Table and Queue clients, the queue
triggers' polls) goes through here when `AzureWebJobsStorage` names the proxies' ports
(`StorageCounter.connection_string`). Shared Key signatures cover the path, never the host or port,
so the proxy changes nothing Azurite checks.

What one request is (Azure bills and throttles per REST request; an entity group transaction
(`$batch`) is one request that writes several entities, which is what a partition's target counts):

- Table: `query` (GET of a table, `$filter`ed or not), `read` (GET of one entity), `insert`
  (POST), `write` (PUT/MERGE/PATCH of one entity), `delete`, `batch` (with its operations counted
  as entities written), `admin` (create/list tables).
- Queue: `send` (one message put), `receive` (a GET of messages that returned some: the number
  returned is counted), `empty poll` (one that returned none: the trigger's idle polling, a cost of
  time, not of work), `delete`, `update`, `peek`, `admin` (create queue, properties).
- Blob: every request (the timers' schedule monitor; none in this bench).
"""

from __future__ import annotations

import http.client
import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devstack.azurite import ACCOUNT_KEY, ACCOUNT_NAME, Azurite

# Hop-by-hop headers are the proxy's own; the body is passed on whole with its length.
_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "content-length"}
_ENTITY = re.compile(r"^[^/()]+\(.*PartitionKey=.*RowKey=.*\)$")
_QUEUE_MESSAGE = b"<QueueMessage>"
_BATCH_PART = b"Content-Type: application/http"


def classify(
    service: str, method: str, target: str, request_body: bytes, response_body: bytes
) -> dict[str, int]:
    """What one request counts as: `{kind: 1, ...}` plus, where one request carries several,
    `entities` (Table entities written) or `messages` (Queue messages put or received)."""
    parts = urlsplit(target)
    segments = [s for s in parts.path.split("/") if s][1:]  # drop the account
    query = parse_qs(parts.query)
    if service == "table":
        name = segments[0] if segments else ""
        if name == "$batch":
            ops = request_body.count(_BATCH_PART)
            return {"batch": 1, "entities": ops}
        if name.startswith("Tables"):
            return {"admin": 1}
        if _ENTITY.match(name):
            kind = {"GET": "read", "DELETE": "delete"}.get(method, "write")
            return {kind: 1, "entities": 1} if kind != "read" else {"read": 1}
        if method == "POST":
            return {"insert": 1, "entities": 1}
        return {"query": 1}
    if service == "queue":
        if len(segments) >= 2 and segments[1] == "messages":
            if method == "POST":
                return {"send": 1, "messages": 1}
            if method == "GET":
                if query.get("peekonly") == ["true"]:
                    return {"peek": 1}
                received = response_body.count(_QUEUE_MESSAGE)
                return {"receive": 1, "received": received} if received else {"empty poll": 1}
            if method == "DELETE":
                return {"delete": 1}
            return {"update": 1}
        return {"admin": 1}
    return {"blob": 1}


@dataclass
class Tally:
    """Counts per service and kind, and per queue for messages put (thread-safe)."""

    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_work: float = 0.0  # monotonic time of the last request that was not an idle poll

    def add(self, service: str, kinds: dict[str, int], queue: str | None, now: float) -> None:
        with self.lock:
            for kind, n in kinds.items():
                self.counts[f"{service}.{kind}"] += n
            if "send" in kinds and queue:
                self.counts[f"queue.sent.{queue}"] += 1
            if "empty poll" not in kinds:
                self.last_work = now

    def snapshot(self) -> Counter[str]:
        with self.lock:
            return Counter(self.counts)


class _Forwarder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's pooled connections expect
    server: _ProxyServer

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _forward(self) -> None:
        import time

        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        # A fresh connection per request: Azurite closes idle kept-alive ones, and a request must
        # never be sent twice (it would be counted, and applied, twice).
        conn = http.client.HTTPConnection(*self.server.target, timeout=60)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            answer = conn.getresponse()
            payload = answer.read()
        except (OSError, http.client.HTTPException):
            self.send_error(502)
            return
        finally:
            conn.close()
        self.send_response_only(answer.status, answer.reason)
        for key, value in answer.getheaders():
            if key.lower() not in _HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        segments = [s for s in urlsplit(self.path).path.split("/") if s]
        queue = segments[1] if self.server.service == "queue" and len(segments) > 1 else None
        kinds = classify(self.server.service, self.command, self.path, body, payload)
        self.server.tally.add(self.server.service, kinds, queue, time.monotonic())

    do_GET = do_PUT = do_POST = do_DELETE = do_MERGE = do_PATCH = do_HEAD = do_OPTIONS = _forward


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, service: str, target: tuple[str, int], tally: Tally) -> None:
        super().__init__(("127.0.0.1", 0), _Forwarder)
        self.service = service
        self.target = target
        self.tally = tally


class StorageCounter:
    """Three counting proxies (blob, queue, table) in front of one Azurite."""

    def __init__(self, azurite: Azurite) -> None:
        self.tally = Tally()
        ports = azurite.ports
        self._servers = {
            service: _ProxyServer(service, (azurite.host, port), self.tally)
            for service, port in (("blob", ports.blob), ("queue", ports.queue), ("table", ports.table))
        }
        self._threads = [
            threading.Thread(target=s.serve_forever, name=f"count-{name}", daemon=True)
            for name, s in self._servers.items()
        ]

    @property
    def connection_string(self) -> str:
        port = {name: s.server_address[1] for name, s in self._servers.items()}
        base = "http://127.0.0.1"
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={base}:{port['blob']}/{ACCOUNT_NAME};"
            f"QueueEndpoint={base}:{port['queue']}/{ACCOUNT_NAME};"
            f"TableEndpoint={base}:{port['table']}/{ACCOUNT_NAME};"
        )

    def __enter__(self) -> StorageCounter:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self._servers.values():
            server.shutdown()
            server.server_close()


@contextmanager
def counting(azurite: Azurite) -> Iterator[StorageCounter]:
    with StorageCounter(azurite) as counter:
        yield counter
