"""One way to serve a WSGI app on loopback for the local stack: a threaded Werkzeug server in a
background thread, on a free port unless one is asked for, optionally over TLS.

Used by the functions dev host and the Microsoft sandbox alike, so both start, report their URL and
stop the same way in `make run` and in test fixtures.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

if TYPE_CHECKING:
    import trustme

LOOPBACK = "127.0.0.1"

WSGIApp = Callable[..., Any]


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's per-request access line would repeat what the apps log themselves (and could
    carry query strings with codes or tokens), so it is dropped."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


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
            request_handler=_QuietHandler,
            ssl_context=ssl_context,
        )
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
        self._thread.join(timeout=10)

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
