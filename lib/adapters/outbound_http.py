"""The one way Slotbridge makes outbound HTTPS calls with `requests` (Graph, identity platform,
product webhooks): a session that always sends its own `verify` value.

Why: `requests` lets `REQUESTS_CA_BUNDLE` / `CURL_CA_BUNDLE` from the environment override a
session's `verify` attribute, so a session told to trust the Microsoft sandbox's local CA would
silently fall back to the system bundle. Passing `verify` on every request wins over the
environment. With no CA bundle configured, the default trust store is used, as in Azure.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
import requests.adapters

# urllib3 logs each request line with its query string at DEBUG; queries can carry codes or tokens.
logging.getLogger("urllib3.connectionpool").setLevel(logging.INFO)


# Connections kept alive per host. The app makes up to this many outbound calls to one service at
# once (the Functions worker's threads plus `lib.core.parallel`'s pool); past requests' default of 10,
# urllib3 opens extra connections and throws them away after one request ("Connection pool is full").
CONNECTIONS_PER_HOST = 48


def pooled_adapter(**options: Any) -> requests.adapters.HTTPAdapter:
    """The one HTTP adapter outbound sessions mount: `CONNECTIONS_PER_HOST` kept-alive connections."""
    return requests.adapters.HTTPAdapter(pool_connections=8, pool_maxsize=CONNECTIONS_PER_HOST, **options)


class VerifyingSession(requests.Session):
    """A `requests.Session` whose TLS trust is fixed at construction and not taken from env."""

    def __init__(self, ca_bundle: str | None = None) -> None:
        super().__init__()
        self._verify: bool | str = ca_bundle if ca_bundle else True
        self.verify = self._verify
        adapter = pooled_adapter()
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["verify"] = self._verify
        return super().request(method, url, *args, **kwargs)


def make_session(ca_bundle: str | None = None) -> VerifyingSession:
    """A session trusting `ca_bundle` (a PEM file) if given, else the default trust store."""
    return VerifyingSession(ca_bundle)
