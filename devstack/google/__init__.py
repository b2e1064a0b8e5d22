"""The Google stand-in: Google's OAuth 2.0 / OpenID Connect endpoints and the Calendar API v3
surface Slotbridge uses, over HTTPS on loopback, with an admin API. See README.md in this folder."""

from __future__ import annotations

import tempfile
from pathlib import Path

import trustme

from devstack.http_server import ServerThread, loopback_tls

from .app import GoogleApp
from .config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, GoogleConfig, OAuthClient

__all__ = ["DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET", "GoogleConfig", "GoogleStandIn", "OAuthClient"]


class GoogleStandIn:
    """Start with `start()` or `with GoogleStandIn() as g:`; then `g.url` is the one base URL of
    accounts.google.com, oauth2.googleapis.com, openidconnect.googleapis.com and
    www.googleapis.com (Calendar at `{url}/calendar/v3`), and `g.ca_pem_path` the CA to trust.
    Pass `ca` (e.g. a running Microsoft sandbox's `.ca`) to be trusted through the same bundle."""

    def __init__(
        self,
        config: GoogleConfig | None = None,
        *,
        port: int = 0,
        state_dir: str | Path | None = None,
        ca: trustme.CA | None = None,
    ) -> None:
        self.config = config or GoogleConfig()
        self.app = GoogleApp(self.config)
        self._port = port
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="google-standin-")
            state_dir = self._tmp.name
        self.state_dir = Path(state_dir)
        self.ca = ca or trustme.CA(organization_name="Slotbridge local CA")
        self.ca_pem_path = str(self.state_dir / "google-ca.pem")
        self._server: ServerThread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the Google stand-in is not started")
        return self._server.url

    def start(self) -> GoogleStandIn:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        ctx = loopback_tls(self.ca, self.ca_pem_path)
        self._server = ServerThread(self.app, port=self._port, ssl_context=ctx, name="google-standin")
        self.app.base_url = self._server.url
        self.app.notifier.start()
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.app.notifier.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> GoogleStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
