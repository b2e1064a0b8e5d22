"""WSGI dispatch: routing, authentication (Graph bearer, Key Vault challenge), injected faults,
the per-mailbox concurrency limit and the request log. `handle()` is also what `$batch` calls
for each member, so members see the same checks as top-level requests."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

# Imported for their @route registrations.
from . import (  # noqa: F401
    admin,
    batch,
    calendar_view,
    delta,
    graph_calendars,
    graph_events,
    graph_me,
    identity,
    keyvault,
    mailbox_view,
    schedule,
    subscriptions,
)
from .config import GRAPH_RESOURCE, SandboxConfig
from .faults import Fault, Faults
from .identity import Signer, short_scope
from .notifier import Notifier
from .state import State
from .web import ROUTES, Ctx, GraphError, RouteSpec, graph_error_response, json_response

log = logging.getLogger(__name__)


class _Abort(Exception):
    """Drop the client connection without an answer (an injected connection reset)."""


class RequestLog:
    def __init__(self, size: int = 5000) -> None:
        self._lock = threading.Lock()
        self.entries: deque[dict[str, Any]] = deque(maxlen=size)
        self.counts: Counter[str] = Counter()

    def add(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.entries.append(entry)
            self.counts[entry["route"]] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"entries": list(self.entries), "counts": dict(self.counts)}

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()
            self.counts.clear()


class SandboxApp:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.state = State(config)
        self.signer = Signer()
        self.faults = Faults()
        self.log = RequestLog()
        self.notifier = Notifier(config)
        self.base_url = ""
        self._inflight: Counter[str] = Counter()
        self._inflight_lock = threading.Lock()
        self.url_map = Map(
            [Rule(s.path, methods=list(s.methods), endpoint=s) for s in ROUTES],
            strict_slashes=False,
        )

    # --- WSGI ------------------------------------------------------------------------------------

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
            # Werkzeug treats this as a dropped connection and writes nothing more.
            raise ConnectionResetError("sandbox: injected connection reset") from None
        return response(environ, start_response)

    def reset(self) -> None:
        self.state.reset()
        self.faults.clear()
        self.log.clear()
        self.notifier.reset()

    # --- dispatch ------------------------------------------------------------------------------

    def handle(self, request: Request, *, in_batch: bool = False) -> Response:
        path = request.path
        # Graph matches path segments case-insensitively; sandbox ids are lowercase so this is safe.
        match_path = path.lower() if path.lower().startswith("/v1.0/") else path
        adapter = self.url_map.bind("sandbox", url_scheme="https")
        ctx = Ctx(self, request, in_batch=in_batch)
        try:
            spec, values = adapter.match(match_path, method=request.method)
        except NotFound:
            return self._not_found(ctx, path)
        except MethodNotAllowed:
            return json_response({"error": {"code": "BadRequest", "message": "Method not allowed."}}, 405)
        assert isinstance(spec, RouteSpec)
        started = time.monotonic()
        response = self._run(ctx, spec, dict(values))
        if not spec.path.startswith("/_admin"):
            self.log.add(
                {
                    "time": time.time(),
                    "method": request.method,
                    "path": path,
                    "route": f"{request.method} {spec.path}",
                    "status": response.status_code,
                    "account": ctx.account.email if ctx.account else None,
                    "batch": in_batch,
                    "ms": round((time.monotonic() - started) * 1000, 1),
                }
            )
        return response

    def _not_found(self, ctx: Ctx, path: str) -> Response:
        if path.lower().startswith("/v1.0/"):
            segment = path.rstrip("/").rsplit("/", 1)[-1]
            return graph_error_response(
                GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'."),
                ctx.request_id,
            )
        return json_response({"error": {"code": "NotFound", "message": f"No route for {path}"}}, 404)

    def _run(self, ctx: Ctx, spec: RouteSpec, values: dict[str, Any]) -> Response:
        try:
            if spec.auth == "graph":
                self._authenticate_graph(ctx, spec)
            elif spec.auth == "keyvault":
                challenge = keyvault.authenticate(ctx)
                if challenge is not None:
                    return challenge
            slot = ctx.account.id if (spec.auth == "graph" and spec.mailbox and ctx.account) else None
            if slot is not None and not self._acquire(slot):
                raise GraphError(
                    429,
                    "ApplicationThrottled",
                    "Application is over its MailboxConcurrency limit.",
                    {"Retry-After": "1"},
                )
            try:
                fault = self._fault(ctx)
                if fault is not None and fault.kind == "reset":
                    raise _Abort()
                response = spec.handler(ctx, **values)
                if fault is not None and fault.kind == "reset_after_write":
                    raise _Abort()
            finally:
                if slot is not None:
                    self._release(slot)
        except GraphError as err:
            response = graph_error_response(err, ctx.request_id)
        except (_Abort, ConnectionError):
            raise
        except Exception:
            # A sandbox bug must still answer in Graph's shape (and be visible in the log).
            log.exception("sandbox: unhandled error on %s %s", ctx.request.method, ctx.request.path)
            response = graph_error_response(
                GraphError(500, "InternalServerError", "The sandbox failed to handle this request."),
                ctx.request_id,
            )
        if spec.auth == "graph":
            response.headers["request-id"] = ctx.request_id
            response.headers["client-request-id"] = ctx.request.headers.get(
                "client-request-id", ctx.request_id
            )
            if ctx.preference_applied:
                response.headers["Preference-Applied"] = ", ".join(ctx.preference_applied)
        return response

    def _authenticate_graph(self, ctx: Ctx, spec: RouteSpec) -> None:
        header = ctx.request.headers.get("Authorization", "")
        challenge = {
            "WWW-Authenticate": (
                f'Bearer realm="", authorization_uri="{self.base_url}/common/oauth2/authorize", '
                'client_id="00000003-0000-0000-c000-000000000000"'
            )
        }
        raw = header[7:].strip() if header[:7].lower() == "bearer " else ""
        if not raw:
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.", challenge)
        with self.state.lock:
            token = self.state.access_tokens.get(raw)
            if token is None:
                raise GraphError(
                    401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed.", challenge
                )
            if token.audience.rstrip("/") != GRAPH_RESOURCE:
                raise GraphError(
                    401,
                    "InvalidAuthenticationToken",
                    "Access token validation failure. Invalid audience.",
                    challenge,
                )
            if token.expires_at <= time.time():
                raise GraphError(
                    401,
                    "InvalidAuthenticationToken",
                    "Lifetime validation failed, the token is expired.",
                    challenge,
                )
            ctx.token = token
            ctx.account = self.state.accounts.get(token.account_id) if token.account_id else None
        if spec.scopes:
            have = {short_scope(s).lower() for s in token.scopes}
            if not have.intersection(s.lower() for s in spec.scopes):
                raise GraphError(
                    403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
                )

    def _fault(self, ctx: Ctx) -> Fault | None:
        keys = {ctx.account.email.lower(), ctx.account.id} if ctx.account else set()
        fault = self.faults.take(ctx.request.method, ctx.request.path, keys, ctx.in_batch)
        if fault is None:
            return None
        if fault.kind == "latency":
            time.sleep(fault.latency_ms / 1000)
        elif fault.kind == "throttle":
            raise GraphError(
                429,
                "TooManyRequests",
                "Too many requests. Please retry after the time in Retry-After.",
                {"Retry-After": str(fault.retry_after)},
            )
        elif fault.kind == "error":
            raise GraphError(fault.status, fault.code, fault.message or f"{fault.code} (injected).")
        elif fault.kind == "unavailable":
            raise GraphError(
                503,
                "ServiceUnavailable",
                "The service is temporarily unavailable.",
                {"Retry-After": str(fault.retry_after)},
            )
        return fault

    def _acquire(self, account_id: str) -> bool:
        with self._inflight_lock:
            if (
                self.config.mailbox_concurrency_enabled
                and self._inflight[account_id] >= self.config.mailbox_concurrency_limit
            ):
                return False
            self._inflight[account_id] += 1
            return True

    def _release(self, account_id: str) -> None:
        with self._inflight_lock:
            self._inflight[account_id] -= 1
