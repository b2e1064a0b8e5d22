"""WSGI dispatch of the Google stand-in: routing, bearer authentication with scope checks,
injected faults, the request log. Faults, the request log, the push notifier and the id_token
signer are the Microsoft sandbox's own classes, reused."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterable
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from devstack.sandbox.app import RequestLog
from devstack.sandbox.faults import Fault, Faults
from devstack.sandbox.identity import Signer
from devstack.sandbox.notifier import Notifier

# Imported for their @route registrations.
from . import admin, calendar_list, channels, events, freebusy, oauth  # noqa: F401
from .config import GoogleConfig
from .oauth import OAuthError
from .state import State
from .web import ROUTES, Ctx, GoogleError, RouteSpec, error_response, json_response

log = logging.getLogger(__name__)

_UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
    "other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)


class _Abort(Exception):
    """Drop the client connection without an answer (an injected connection reset)."""


class GoogleApp:
    def __init__(self, config: GoogleConfig) -> None:
        self.config = config
        self.state = State(config)
        self.signer = Signer()
        self.faults = Faults()
        self.log = RequestLog()
        self.notifier = Notifier(config)
        self.base_url = ""
        self.url_map = Map(
            [Rule(s.path, methods=list(s.methods), endpoint=s) for s in ROUTES], strict_slashes=False
        )

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self.handle(request)
        except _Abort:
            sock = environ.get("werkzeug.socket")
            if isinstance(sock, socket.socket):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            raise ConnectionResetError("google stand-in: injected connection reset") from None
        return response(environ, start_response)

    def reset(self) -> None:
        self.state.reset()
        self.faults.clear()
        self.log.clear()
        self.notifier.reset()

    def handle(self, request: Request) -> Response:
        adapter = self.url_map.bind("google", url_scheme="https")
        ctx = Ctx(self, request)
        try:
            spec, values = adapter.match(request.path, method=request.method)
        except NotFound:
            return error_response(GoogleError(404, "notFound", "Not Found"))
        except MethodNotAllowed:
            return error_response(GoogleError(405, "httpMethodNotAllowed", "Method Not Allowed"))
        assert isinstance(spec, RouteSpec)
        started = time.monotonic()
        response = self._run(ctx, spec, dict(values))
        if not spec.path.startswith("/_admin"):
            self.log.add(
                {
                    "time": time.time(),
                    "method": request.method,
                    "path": request.path,
                    # Names only: a test can tell an incremental list (syncToken) from a full one.
                    "params": sorted(request.args),
                    "route": f"{request.method} {spec.path}",
                    "status": response.status_code,
                    "account": ctx.user.email if ctx.user else None,
                    "batch": False,
                    "ms": round((time.monotonic() - started) * 1000, 1),
                }
            )
        return response

    def _run(self, ctx: Ctx, spec: RouteSpec, values: dict[str, Any]) -> Response:
        try:
            if spec.auth == "bearer":
                self._authenticate(ctx, spec)
            fault = None if spec.path.startswith("/_admin") else self._fault(ctx, spec)
            if fault is not None and fault.kind == "reset":
                raise _Abort()
            response = spec.handler(ctx, **values)
            if fault is not None and fault.kind == "reset_after_write":
                raise _Abort()
        except GoogleError as err:
            response = error_response(err)
        except (_Abort, ConnectionError):
            raise
        except Exception:
            # A stand-in bug still answers in Google's shape (and shows in the log).
            log.exception("google stand-in: unhandled error on %s %s", ctx.request.method, ctx.request.path)
            response = error_response(GoogleError(500, "backendError", "Backend Error"))
        return response

    def _authenticate(self, ctx: Ctx, spec: RouteSpec) -> None:
        header = ctx.request.headers.get("Authorization", "")
        raw = header[7:].strip() if header[:7].lower() == "bearer " else ""
        challenge = {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'}
        unauthenticated = GoogleError(
            401,
            "authError",
            _UNAUTHENTICATED,
            item_message="Invalid Credentials",
            location=("header", "Authorization"),
            headers=challenge if raw else {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
        )
        with self.state.lock:
            token = self.state.access_tokens.get(raw) if raw else None
            grant = self.state.grants.get(token.grant_id) if token else None
            if token is None or token.expires_at <= time.time() or grant is None or grant.status != "active":
                raise unauthenticated
            ctx.token = token
            ctx.user = self.state.users.get(token.sub)
        if spec.scopes and not set(spec.scopes).intersection(token.scopes):
            raise GoogleError(
                403,
                "insufficientPermissions",
                "Request had insufficient authentication scopes.",
                item_message="Insufficient Permission",
            )

    def _fault(self, ctx: Ctx, spec: RouteSpec) -> Fault | None:
        keys = {ctx.user.email.lower(), ctx.user.sub} if ctx.user else set()
        fault = self.faults.take(ctx.request.method, ctx.request.path, keys, False)
        if fault is None:
            return None
        if fault.kind == "latency":
            time.sleep(fault.latency_ms / 1000)
        elif fault.kind == "throttle":
            raise GoogleError(
                429,
                "rateLimitExceeded",
                "Rate Limit Exceeded",
                headers={"Retry-After": str(fault.retry_after)},
            )
        elif fault.kind == "unavailable":
            raise GoogleError(
                503, "backendError", "Backend Error", headers={"Retry-After": str(fault.retry_after)}
            )
        elif fault.kind == "error":
            if spec.path in ("/token", "/revoke"):
                # The token endpoint's errors are OAuth's flat shape (e.g. invalid_grant), not the API's.
                raise OAuthError(fault.status, fault.code, fault.message or "Bad Request")
            raise GoogleError(fault.status, fault.code, fault.message or _default_message(fault.code))
        return fault


def _default_message(reason: str) -> str:
    return {
        "rateLimitExceeded": "Rate Limit Exceeded",
        "userRateLimitExceeded": "User Rate Limit Exceeded",
        "quotaExceeded": "Calendar usage limits exceeded.",
        "backendError": "Backend Error",
        "notFound": "Not Found",
        "forbidden": "Forbidden",
        "fullSyncRequired": "Sync token is no longer valid, a full sync is required.",
    }.get(reason, reason)


__all__ = ["GoogleApp", "json_response"]
