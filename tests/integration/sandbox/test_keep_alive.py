"""The local servers (sandbox, Google stand-in, dev host: `devstack/http_server.py`) keep
connections alive as Graph does, so a client's requests do not each pay a new TLS handshake."""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import trustme

from devstack.http_server import ServerThread, loopback_tls
from devstack.sandbox import Sandbox
from lib.adapters.outbound_http import make_session


def _tls_connection(url: str, ca_pem_path: str) -> http.client.HTTPSConnection:
    host, port = url.removeprefix("https://").split(":")
    return http.client.HTTPSConnection(
        host, int(port), context=ssl.create_default_context(cafile=ca_pem_path), timeout=10
    )


def _echo(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """Answers the request body's length; reads the body only when the path says so."""
    read = environ["PATH_INFO"] == "/read"
    size = len(environ["wsgi.input"].read()) if read else -1
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"read": size}).encode()]


@pytest.fixture()
def echo(tmp_path: Path) -> Iterator[tuple[ServerThread, str]]:
    ca_path = str(tmp_path / "ca.pem")
    with ServerThread(_echo, ssl_context=loopback_tls(trustme.CA(), ca_path)) as server:
        yield server, ca_path


def test_one_connection_carries_many_sandbox_requests(sandbox: Sandbox) -> None:
    conn = _tls_connection(sandbox.url, sandbox.ca_pem_path)
    conn.connect()
    first = conn.sock
    calls = [
        ("GET", "/common/v2.0/.well-known/openid-configuration", None, 200),
        ("GET", "/v1.0/me", None, 401),  # an error answer keeps the connection too
        ("POST", "/common/oauth2/v2.0/token", b"grant_type=nonsense", 400),
        ("GET", "/v1.0/me", b"x" * 5000, 401),  # a body the sandbox never reads is skipped
        ("GET", "/common/v2.0/.well-known/openid-configuration", None, 200),
    ]
    for method, path, body, status in calls:
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        assert resp.status == status, (path, data)
        assert resp.getheader("Connection", "").lower() != "close"
        assert int(resp.getheader("Content-Length", "-1")) == len(data)
        assert json.loads(data)
        assert conn.sock is first, f"the sandbox closed the connection after {method} {path}"
    conn.close()


def test_the_apps_outbound_session_reuses_its_connections(echo: tuple[ServerThread, str]) -> None:
    server, ca_path = echo
    session = make_session(ca_path)

    def call(index: int) -> int:
        r = session.post(f"{server.url}/read", data=b"y" * index, timeout=10)
        return int(r.json()["read"])

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(call, range(40))) == list(range(40))
    # 40 requests from 4 threads at a time: at most one connection per thread.
    assert server.connections_accepted <= 4


def test_a_chunked_request_body_is_read_and_the_connection_then_closed(
    echo: tuple[ServerThread, str],
) -> None:
    server, ca_path = echo
    conn = _tls_connection(server.url, ca_path)
    conn.request("POST", "/read", body=iter([b"ab", b"cde"]), encode_chunked=True)
    resp = conn.getresponse()
    assert json.loads(resp.read()) == {"read": 5}
    # Its end is not known to the server once the app stops reading, so it is not reused.
    assert resp.getheader("Connection") == "close"


def test_stopping_a_server_closes_its_idle_kept_alive_connections(tmp_path: Path) -> None:
    ca_path = str(tmp_path / "ca.pem")
    server = ServerThread(_echo, ssl_context=loopback_tls(trustme.CA(), ca_path)).start()
    conn = _tls_connection(server.url, ca_path)
    conn.request("GET", "/")
    conn.getresponse().read()
    assert conn.sock is not None
    server.stop()
    # The stopped server's app no longer answers on the old connection: it is closed at once.
    conn.sock.settimeout(5)
    assert conn.sock.recv(1) == b""
