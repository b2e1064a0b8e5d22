"""One way to serve a WSGI app on loopback for the local stack: a threaded Werkzeug server in a
background thread, on a free port unless one is asked for, optionally over TLS.

Used by the functions dev host, the Microsoft sandbox and the Google stand-in alike, so all start,
report their URL and stop the same way in `make run` and in test fixtures.

Connections are kept alive (HTTP/1.1 persistent connections), as Graph, Google and the Functions
front end keep them: Werkzeug's own server closes every connection, so each request of a client
paid a new TCP connection and TLS handshake that the real services do not charge, and benches
measured that instead of the app.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import traceback
from collections.abc import Callable, Iterable
from typing import IO, TYPE_CHECKING, Any, cast

from werkzeug.exceptions import InternalServerError
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wsgi import LimitedStream

if TYPE_CHECKING:
    import trustme

LOOPBACK = "127.0.0.1"

WSGIApp = Callable[..., Any]


# An idle kept-alive connection is closed after this long (the server side of the keep-alive).
KEEP_ALIVE_IDLE_S = 60.0
# Request body bytes the app left unread that are read and dropped to keep the connection; past
# this (e.g. a 413 answered before a huge upload) the connection is closed instead.
DRAIN_MAX_BYTES = 1024 * 1024
_NO_BODY_CODES = frozenset({204, 304})


class _KeepAliveHandler(WSGIRequestHandler):
    """Werkzeug's request handler with persistent connections.

    Werkzeug's `run_wsgi` always answers `Connection: close` and then reads whatever else the
    client sent, which on a kept-alive connection would swallow the next request. This one gives
    the app the request body as a stream limited to its Content-Length, reads the rest the app left
    unread, answers the app's whole body with an exact Content-Length (the local apps answer small
    buffered bodies, nothing streamed) and keeps the connection unless the client or the request
    framing (a chunked or malformed body) says otherwise.

    Werkzeug's per-request access line is dropped: it would repeat what the apps log themselves
    (and could carry query strings with codes or tokens).
    """

    protocol_version = "HTTP/1.1"
    timeout = KEEP_ALIVE_IDLE_S

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log_error(self, format: str, *args: Any) -> None:
        # An idle kept-alive connection reaching KEEP_ALIVE_IDLE_S is routine, not an error.
        if not format.startswith("Request timed out"):
            super().log_error(format, *args)

    def setup(self) -> None:
        super().setup()
        _connections(self.server).opened(self.connection)

    def finish(self) -> None:
        _connections(self.server).closed(self.connection)
        super().finish()

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        environ = self.make_environ()
        body: LimitedStream | None = None
        declared = str(environ.get("CONTENT_LENGTH", "0")).strip() or "0"
        if "wsgi.input_terminated" in environ or not declared.isdigit():
            # A chunked or malformed body may be left half read: its end is not known here.
            self.close_connection = True
        else:
            body = LimitedStream(cast("IO[bytes]", self.rfile), int(declared))
            environ["wsgi.input"] = body
        answer: list[Any] = []
        chunks: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer[:] = [status, headers]
            return chunks.append

        try:
            self._call_app(environ, start_response, chunks)
        except (ConnectionError, TimeoutError):
            # A dropped client, or the app dropping the connection on purpose (the sandboxes'
            # "reset" faults): Werkzeug's `handle` takes it from here, as before.
            self.close_connection = True
            raise
        except Exception:
            if self.server.passthrough_errors:
                raise
            self.server.log("error", f"Error on request:\n{traceback.format_exc()}")
            chunks.clear()
            self._call_app(environ, start_response, chunks, InternalServerError())
        status, headers = answer
        code_text, _, reason = str(status).partition(" ")
        code = int(code_text)
        remaining = body.limit - body.tell() if body is not None else 0
        if remaining > DRAIN_MAX_BYTES:
            self.close_connection = True
        data = b"".join(chunks)
        sends_body = environ["REQUEST_METHOD"] != "HEAD" and code >= 200 and code not in _NO_BODY_CODES
        self.send_response(code, reason or None)
        for key, value in headers:
            if not (sends_body and key.lower() == "content-length"):
                self.send_header(key, value)
        if sends_body:
            self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if sends_body:
            self.wfile.write(data)
        self.wfile.flush()
        if body is not None and not self.close_connection:
            body.exhaust()

    def _call_app(
        self, environ: dict[str, Any], start_response: Any, chunks: list[bytes], app: Any = None
    ) -> None:
        result: Iterable[bytes] = (app or self.server.app)(environ, start_response)
        try:
            chunks.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()


class _Connections:
    """A server's client connections: the open ones, closed by `ServerThread.stop` (an idle
    kept-alive one would otherwise go on serving a stopped server's app), and a count of all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.open: set[socket.socket] = set()
        self.accepted = 0

    def opened(self, connection: socket.socket) -> None:
        with self._lock:
            self.open.add(connection)
            self.accepted += 1

    def closed(self, connection: socket.socket) -> None:
        with self._lock:
            self.open.discard(connection)

    def close_all(self) -> None:
        with self._lock:
            connections = list(self.open)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _connections(server: BaseWSGIServer) -> _Connections:
    found: _Connections = server.slotbridge_connections  # type: ignore[attr-defined]
    return found


class ServerThread:
    """A running server. `url` is its base URL; `stop()` shuts it down and joins the thread."""

    def __init__(
        self,
        app: WSGIApp,
        *,
        host: str = LOOPBACK,
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        name: str = "http",
    ) -> None:
        self._server: BaseWSGIServer = make_server(
            host,
            port,
            app,
            threaded=True,
            request_handler=_KeepAliveHandler,
            ssl_context=ssl_context,
        )
        self._server.slotbridge_connections = _Connections()  # type: ignore[attr-defined]
        # Werkzeug logs each request through its own logger as well; keep that at warnings.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.host = host
        self.port: int = self._server.server_port
        scheme = "https" if ssl_context is not None else "http"
        self.url = f"{scheme}://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name=name, daemon=True)

    def start(self) -> ServerThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        _connections(self._server).close_all()
        self._thread.join(timeout=10)

    @property
    def connections_accepted(self) -> int:
        """Client connections accepted so far (kept-alive ones count once, whatever they carry)."""
        return _connections(self._server).accepted

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_loopback_port() -> int:
    """A port free right now on loopback, for a server whose URL must be known before it starts
    (e.g. the dev host, whose public URL is an app setting read at import)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def loopback_tls(ca: trustme.CA, ca_pem_path: str) -> ssl.SSLContext:
    """A server TLS context for 127.0.0.1/localhost issued by `ca`, whose PEM is written to
    `ca_pem_path` for clients to trust. The Microsoft sandbox and the Google stand-in take the same
    path, and may share one CA so the app trusts both with one bundle."""
    ca.cert_pem.write_to_path(ca_pem_path)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    return ctx
