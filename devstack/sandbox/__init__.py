"""The Microsoft sandbox: identity platform, Graph calendar surface and Key Vault secrets over
HTTPS on loopback, with a CA made at start-up. See README.md in this folder."""

from __future__ import annotations

import tempfile
from pathlib import Path

import trustme

from devstack.http_server import ServerThread, loopback_tls

from .app import SandboxApp
from .config import (
    CONSUMERS_TENANT_ID,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TENANT_ID,
    AppRegistration,
    SandboxConfig,
)

__all__ = [
    "CONSUMERS_TENANT_ID",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_TENANT_ID",
    "AppRegistration",
    "Sandbox",
    "SandboxConfig",
]


class Sandbox:
    """Start with `start()` or `with Sandbox() as sb:`; then `sb.url` is the one base URL for the
    authority host, Graph (`{url}/v1.0`) and the vault (`{url}`), and `sb.ca_pem_path` the CA to
    trust."""

    def __init__(
        self, config: SandboxConfig | None = None, *, port: int = 0, state_dir: str | Path | None = None
    ) -> None:
        self.config = config or SandboxConfig()
        self.app = SandboxApp(self.config)
        self._port = port
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="sandbox-")
            state_dir = self._tmp.name
        self.state_dir = Path(state_dir)
        self.ca_pem_path = str(self.state_dir / "sandbox-ca.pem")
        self._server: ServerThread | None = None
        # Public so the Google stand-in can issue its certificate from the same CA (one bundle).
        self.ca = trustme.CA(organization_name="Slotbridge local CA")

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not started")
        return self._server.url

    def start(self) -> Sandbox:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        ctx = loopback_tls(self.ca, self.ca_pem_path)
        self._server = ServerThread(self.app, port=self._port, ssl_context=ctx, name="ms-sandbox")
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

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
