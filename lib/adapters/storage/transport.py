"""The HTTP transport under the storage SDKs: azure-core's transport interface over `http.client`,
with a small pool of kept-alive connections per endpoint.

Why not the default `requests` transport: a Table Storage request is small, and `requests` plus
`urllib3` spent about 40% of its Python CPU (URL parsing and re-encoding twice, settings merging,
cookies) — on 2 cores with the GIL that was most of what a cached availability answer cost per
host (README → Performance). Storage needs none of what they add: no redirects (the SDK turns
them off), no compression, no cookies; proxies are the one exception, so with a proxy configured
`lib.adapters.storage.clients` keeps the `requests` transport.

Errors are azure-core's, as the SDK's retry policy expects: nothing sent (connect, DNS, TLS) ->
`ServiceRequestError`; sent but no complete answer -> `ServiceResponseError` (timeouts: their
`...TimeoutError` kinds). A kept-alive connection the server has closed is noticed before reuse
and replaced, as urllib3 does; one it closes just as it is reused is replaced and the request sent
again when that is safe: it did not go out whole, or its method is idempotent.

Responses are read whole (storage answers are at most a few MB, and the SDKs read them whole)
into an `HttpResponseImpl` (azure-core's own base for transport responses, from a private module:
azure-core is pinned, and every storage test runs through here).
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any, NamedTuple, NoReturn
from urllib.parse import urlsplit

from azure.core.exceptions import (
    AzureError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest
from azure.core.rest._http_response_impl import HttpResponseImpl
from azure.core.utils import case_insensitive_dict

IDLE_CONNECTIONS_PER_ENDPOINT = 16

Origin = tuple[str, str, int]  # scheme, host, port


class _Pool:
    """Idle connections per origin, most recently used first (a warm socket is likelier alive)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._idle: dict[Origin, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def take(self, origin: Origin) -> http.client.HTTPConnection | None:
        while True:
            with self._lock:
                idle = self._idle.get(origin)
                conn = idle.pop() if idle else None
            if conn is None or not _dropped(conn):
                return conn
            conn.close()

    def give_back(self, origin: Origin, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            if len(idle) < self._limit:
                idle.append(conn)
                return
        conn.close()

    def close_all(self) -> None:
        with self._lock:
            conns = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for conn in conns:
            conn.close()


def _fail(
    conn: http.client.HTTPConnection, kind: type[AzureError], message: str, error: BaseException
) -> NoReturn:
    conn.close()
    raise kind(f"{message} ({type(error).__name__})", error=error) from error


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """Whether an idle connection was closed by the server (readable at rest means EOF or junk)."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class _Outgoing(NamedTuple):
    method: str
    target: str  # path and query
    body: bytes | None
    headers: dict[str, str]


# Methods whose repeat does what one does: repeated once when a reused connection dies unanswered.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class _Stale(Exception):
    """A reused connection was found closed by the server; `unsent`: the request did not go out whole."""

    def __init__(self, *, unsent: bool) -> None:
        super().__init__("kept-alive connection closed by the server")
        self.unsent = unsent


class _Download:
    """Streaming is never asked of a whole-read response; `iter_bytes` then yields the body."""

    def __init__(self, pipeline: Any, response: HttpResponseImpl, **_: Any) -> None:
        self._body = response.content

    def __iter__(self) -> Iterator[bytes]:
        yield self._body


class StorageTransport(HttpTransport[Any, Any]):
    """`HttpTransport` over `http.client`; thread-safe (connections are never shared while in use)."""

    def __init__(
        self,
        *,
        connection_timeout: float,
        read_timeout: float,
        ca_bundle: str | None = None,
        idle_per_endpoint: int = IDLE_CONNECTIONS_PER_ENDPOINT,
    ) -> None:
        self._connect_timeout = connection_timeout
        self._read_timeout = read_timeout
        self._tls = ssl.create_default_context(cafile=ca_bundle)
        self._pool = _Pool(idle_per_endpoint)

    def __enter__(self) -> StorageTransport:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    def open(self) -> None:
        pass

    def close(self) -> None:
        self._pool.close_all()

    def send(self, request: Any, **kwargs: Any) -> Any:
        if not isinstance(request, HttpRequest):
            # The table and queue SDKs build `azure.core.rest` requests only.
            raise TypeError(
                f"the storage transport sends azure.core.rest requests, not {type(request).__name__}"
            )
        if getattr(request, "files", None):
            raise ValueError("multipart file uploads are not supported by the storage transport")
        parts = urlsplit(request.url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise ServiceRequestError(f"not an HTTP URL: {scheme}://{parts.hostname}")
        origin: Origin = (scheme, parts.hostname, parts.port or (443 if scheme == "https" else 80))
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        body = request.data if request.data is not None else getattr(request, "content", None)
        if isinstance(body, str):
            body = body.encode("utf-8")
        connect_timeout = kwargs.get("connection_timeout", self._connect_timeout)
        read_timeout = kwargs.get("read_timeout", self._read_timeout)

        outgoing = _Outgoing(request.method, target, body, dict(request.headers))
        conn = self._pool.take(origin)
        try:
            if conn is None:
                raise _Stale(unsent=True)  # nothing pooled: straight to a new connection
            raw, content = self._exchange(conn, True, outgoing, read_timeout)
        except _Stale as stale:
            # A kept-alive connection the server closed as it was reused: the request was not
            # acted on if it was not sent whole; if nothing came back, only idempotent ones repeat.
            if not (stale.unsent or request.method.upper() in IDEMPOTENT_METHODS):
                raise ServiceResponseError("storage closed the connection without an answer") from stale
            conn = self._connect(origin, connect_timeout)
            raw, content = self._exchange(conn, False, outgoing, read_timeout)
        if raw.will_close or conn.sock is None:
            conn.close()
        else:
            self._pool.give_back(origin, conn)

        headers = case_insensitive_dict(raw.getheaders())
        response = HttpResponseImpl(
            request=request,
            internal_response=raw,
            status_code=raw.status,
            reason=raw.reason,
            headers=headers,
            content_type=headers.get("content-type"),
            stream_download_generator=_Download,
        )
        response._content = content  # read whole: `read()` and `content` serve it
        response._is_stream_consumed = True
        return response

    def _exchange(
        self,
        conn: http.client.HTTPConnection,
        reused: bool,
        outgoing: _Outgoing,
        read_timeout: float,
    ) -> tuple[http.client.HTTPResponse, bytes]:
        """One request and its whole answer; `_Stale` when a reused connection turns out closed."""
        try:
            if conn.sock is not None:
                conn.sock.settimeout(read_timeout)
            conn.request(outgoing.method, outgoing.target, body=outgoing.body, headers=outgoing.headers)
        except (OSError, http.client.HTTPException) as error:
            if reused:
                conn.close()
                raise _Stale(unsent=True) from error
            _fail(conn, ServiceRequestError, "storage request not sent", error)
        try:
            raw = conn.getresponse()
        except TimeoutError as error:
            _fail(conn, ServiceResponseTimeoutError, f"storage did not answer in {read_timeout}s", error)
        except (ConnectionResetError, BrokenPipeError) as error:  # RemoteDisconnected included
            if reused:
                conn.close()
                raise _Stale(unsent=False) from error
            _fail(conn, ServiceResponseError, "storage closed the connection without an answer", error)
        except (OSError, http.client.HTTPException) as error:
            _fail(conn, ServiceResponseError, "storage answer broken", error)
        try:
            return raw, raw.read()
        except TimeoutError as error:
            _fail(conn, ServiceResponseTimeoutError, f"storage did not answer in {read_timeout}s", error)
        except (OSError, http.client.HTTPException) as error:
            _fail(conn, ServiceResponseError, "storage answer broken", error)

    def _connect(self, origin: Origin, timeout: float) -> http.client.HTTPConnection:
        scheme, host, port = origin
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=self._tls)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.connect()
        except TimeoutError as error:
            _fail(conn, ServiceRequestTimeoutError, f"no connection to storage in {timeout}s", error)
        except OSError as error:  # refused, DNS, TLS
            _fail(conn, ServiceRequestError, "no connection to storage", error)
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn
