"""Request context, route registry and the response shapes shared by the handlers."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from werkzeug.wrappers import Request, Response

from .state import AccessToken, Account

if TYPE_CHECKING:
    from .app import SandboxApp

AuthKind = Literal["none", "graph", "keyvault"]
Handler = Callable[..., Response]


@dataclass(frozen=True)
class RouteSpec:
    path: str
    methods: tuple[str, ...]
    handler: Handler
    auth: AuthKind
    # Graph: the token needs at least one of these delegated scopes.
    scopes: tuple[str, ...] = ()
    # Routes that act on a mailbox count against its concurrency limit.
    mailbox: bool = True


ROUTES: list[RouteSpec] = []


def route(
    path: str,
    methods: Sequence[str],
    *,
    auth: AuthKind = "none",
    scopes: Sequence[str] = (),
    mailbox: bool = True,
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        ROUTES.append(RouteSpec(path, tuple(methods), fn, auth, tuple(scopes), mailbox))
        return fn

    return register


@dataclass
class Ctx:
    app: SandboxApp
    request: Request
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    account: Account | None = None
    token: AccessToken | None = None
    in_batch: bool = False
    preference_applied: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return self.app.base_url

    def json_body(self) -> dict[str, Any]:
        try:
            data = json.loads(self.request.get_data(as_text=True) or "null")
        except ValueError:
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload.") from None
        if not isinstance(data, dict):
            raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
        return data

    def require_account(self) -> Account:
        if self.account is None:
            raise GraphError(
                400, "BadRequest", "/me request is only valid with delegated authentication flow."
            )
        return self.account


class GraphError(Exception):
    """Becomes Graph's error body: {"error": {"code", "message", "innerError"}}."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    resp = Response(json.dumps(body), status=status, content_type="application/json")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def graph_error_body(code: str, message: str, request_id: str) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": request_id,
            },
        }
    }


def graph_error_response(err: GraphError, request_id: str) -> Response:
    return json_response(graph_error_body(err.code, err.message, request_id), err.status, err.headers)


def no_content(status: int = 204) -> Response:
    return Response(status=status)
