"""Request context, route registry and Google's response shapes."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from werkzeug.wrappers import Request, Response

from .state import AccessToken, User

if TYPE_CHECKING:
    from .app import GoogleApp

AuthKind = Literal["none", "bearer"]
Handler = Callable[..., Response]


@dataclass(frozen=True)
class RouteSpec:
    path: str
    methods: tuple[str, ...]
    handler: Handler
    auth: AuthKind
    # bearer: the token needs at least one of these scopes (full URLs, or openid/email/profile).
    scopes: tuple[str, ...] = ()


ROUTES: list[RouteSpec] = []


def route(
    path: str, methods: Sequence[str], *, auth: AuthKind = "none", scopes: Sequence[str] = ()
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        ROUTES.append(RouteSpec(path, tuple(methods), fn, auth, tuple(scopes)))
        return fn

    return register


@dataclass
class Ctx:
    app: GoogleApp
    request: Request
    user: User | None = None
    token: AccessToken | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.app.base_url

    def json_body(self) -> dict[str, Any]:
        raw = self.request.get_data(as_text=True)
        try:
            data = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise GoogleError(400, "parseError", "Parse Error") from None
        if not isinstance(data, dict):
            raise GoogleError(400, "parseError", "Parse Error")
        return data

    def require_user(self) -> User:
        if self.user is None:
            raise GoogleError(401, "authError", "Invalid Credentials")
        return self.user


# The `status` Google's newer error bodies carry next to the HTTP code.
_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    410: "FAILED_PRECONDITION",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_USAGE_LIMITS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "dailyLimitExceeded"}


class GoogleError(Exception):
    """Becomes Google's JSON error: {"error": {"errors": [{domain, reason, message}], "code",
    "message", "status"}}. `message` is the top-level message; `item_message` the one inside
    errors[] when Google's differ (401: "Invalid Credentials" inside, a sentence outside)."""

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        item_message: str | None = None,
        location: tuple[str, str] | None = None,
        headers: dict[str, str] | None = None,
        domain: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message
        self.item_message = item_message or message
        self.location = location
        self.headers = headers or {}
        self.domain = domain or ("usageLimits" if reason in _USAGE_LIMITS else "global")

    def body(self) -> dict[str, Any]:
        item: dict[str, Any] = {"domain": self.domain, "reason": self.reason, "message": self.item_message}
        if self.location:
            item["locationType"], item["location"] = self.location
        err: dict[str, Any] = {"errors": [item], "code": self.status, "message": self.message}
        if self.status in _STATUS:
            err["status"] = _STATUS[self.status]
        return {"error": err}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    resp = Response(json.dumps(body), status=status, content_type="application/json; charset=UTF-8")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def error_response(err: GoogleError) -> Response:
    return json_response(err.body(), err.status, err.headers)


def no_content() -> Response:
    return Response(status=204)
