"""The storage transport against real sockets: kept-alive connections reused and replaced when the
server closed them, HTTPS verified against the CA it is given, and every network failure turned
into the azure-core error the SDKs' retry policy expects. (Every other storage test runs through
it against Azurite as well.)"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from azure.core.exceptions import (
    ServiceRequestError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.pipeline.transport import HttpRequest as LegacyHttpRequest
from azure.core.rest import HttpRequest

from devstack.http_server import free_loopback_port
from devstack.sandbox import Sandbox
from lib.adapters.storage.transport import StorageTransport
from tests.fixtures.raw_server import RawServer

OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{"ok": true}'


@pytest.fixture
def transport() -> Iterator[StorageTransport]:
    with StorageTransport(connection_timeout=2, read_timeout=0.5) as transport:
        yield transport


def _keep_alive(conn: socket.socket, n: int) -> bool:
    conn.sendall(OK)
    return True


def _one_answer_then_close(conn: socket.socket, n: int) -> bool:
    conn.sendall(OK)
    return False  # as a server does with an idle kept-alive connection


def test_answers_and_reuses_the_connection(transport: StorageTransport) -> None:
    with RawServer(_keep_alive) as server:
        rest = transport.send(HttpRequest("GET", server.url))
        rest.read()
        assert (rest.status_code, rest.json(), rest.headers["content-type"]) == (
            200,
            {"ok": True},
            "application/json",
        )
        again = transport.send(HttpRequest("GET", server.url))
        assert (again.status_code, again.text()) == (200, '{"ok": true}')
        with pytest.raises(TypeError):
            transport.send(LegacyHttpRequest("GET", server.url))  # the storage SDKs never build these
        assert server.connections == 1


def test_a_connection_the_server_closed_is_replaced_before_reuse(transport: StorageTransport) -> None:
    with RawServer(_one_answer_then_close) as server:
        for _ in range(3):
            assert transport.send(HttpRequest("GET", server.url)).status_code == 200
        assert server.connections == 3


class DiesOnReuse:
    """Answers the first request of each connection and keeps it alive; reads the second and closes
    without an answer — a server closing an idle connection just as it is reused."""

    def __init__(self) -> None:
        self.seen: list[bytes] = []

    def __call__(self, conn: socket.socket, n: int) -> bool:
        if n == 0:
            conn.sendall(OK)
            return True
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        return False  # closed with a reset: nothing answered


def test_an_idempotent_request_whose_reused_connection_dies_unanswered_goes_again_once(
    transport: StorageTransport,
) -> None:
    with RawServer(DiesOnReuse()) as server:
        assert transport.send(HttpRequest("GET", server.url)).status_code == 200
        assert transport.send(HttpRequest("GET", server.url)).status_code == 200  # on a new connection
        assert server.connections == 2


def test_a_post_whose_reused_connection_dies_unanswered_is_not_sent_twice(
    transport: StorageTransport,
) -> None:
    with RawServer(DiesOnReuse()) as server:
        assert transport.send(HttpRequest("GET", server.url)).status_code == 200
        with pytest.raises(ServiceResponseError):
            transport.send(HttpRequest("POST", server.url, content=b"{}"))
        assert server.connections == 1  # the batch may have been acted on: the SDK's policy decides


def test_nothing_listening_is_a_request_error(transport: StorageTransport) -> None:
    with pytest.raises(ServiceRequestError):
        transport.send(HttpRequest("GET", f"http://127.0.0.1:{free_loopback_port()}/"))


def test_a_server_that_does_not_answer_is_a_response_timeout(transport: StorageTransport) -> None:
    stop = threading.Event()
    with RawServer(lambda conn, n: stop.wait(5) and False) as server:
        try:
            with pytest.raises(ServiceResponseTimeoutError):
                transport.send(HttpRequest("GET", server.url))
        finally:
            stop.set()


def test_a_connection_closed_mid_answer_is_a_response_error(transport: StorageTransport) -> None:
    def half(conn: socket.socket, n: int) -> bool:
        conn.sendall(OK[:-4])
        return False

    with RawServer(half) as server, pytest.raises(ServiceResponseError):
        transport.send(HttpRequest("GET", server.url))


def test_https_is_verified_against_the_given_ca(sandbox: Sandbox) -> None:
    url = f"{sandbox.url}/common/v2.0/.well-known/openid-configuration"
    with StorageTransport(
        connection_timeout=2, read_timeout=5, ca_bundle=str(sandbox.ca_pem_path)
    ) as trusting:
        answer = trusting.send(HttpRequest("GET", url))
        answer.read()
        assert answer.status_code == 200 and "authorization_endpoint" in answer.json()
    with (
        StorageTransport(connection_timeout=2, read_timeout=5) as default_trust,
        pytest.raises(ServiceRequestError),
    ):
        default_trust.send(HttpRequest("GET", url))


def test_a_configured_proxy_keeps_the_requests_transport_which_applies_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from azure.core.pipeline.transport import RequestsTransport

    from lib.adapters.storage.clients import _client_options

    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(_client_options()["transport"], StorageTransport)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    assert isinstance(_client_options()["transport"], RequestsTransport)
