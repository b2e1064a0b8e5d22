"""The HTTP side of the dev host: a WSGI app that routes requests to HTTP-triggered functions with
the host's rules — `routePrefix` and route templates matched in any case, methods (a method the route
does not list is a bare 404, as the real host answers: its routing layer finds no route, so no 405 and
no `Allow`), function keys for non-anonymous routes (`x-functions-key` header or `code` query), 404
for unknown routes,
a bare 500 when a function raises (the host never shows a stack trace), and the platform's CORS.

CORS, as App Service's platform CORS does it (`siteConfig.cors.allowedOrigins`, no credentials): a
preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is answered by the host, never
the function; a response to an allowed origin carries `Access-Control-Allow-Origin` with that origin.
Stricter than Azure in one way, so that tests catch a page relying on more: a preflight is granted only
for a method the route accepts and for the request headers a page needs (`CORS_REQUEST_HEADERS`);
anything else is answered 403 without a grant, which the browser reports as a CORS failure."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import azure.functions as func
from werkzeug.datastructures import Headers
from werkzeug.wrappers import Request, Response

from devstack.funchost.invoke import LoadedFunction, invoke
from devstack.funchost.routes import Route, compile_route

log = logging.getLogger("devstack.funchost")

MAX_REQUEST_BYTES = 100 * 1024 * 1024  # the host's own limit; apps set tighter ones per route
# What a product page sends: a user or manage token, a JSON body, a booking's idempotency key.
CORS_REQUEST_HEADERS = frozenset({"authorization", "content-type", "idempotency-key"})
CORS_MAX_AGE_S = 600


@dataclass(frozen=True)
class HttpEndpoint:
    function: LoadedFunction
    route: Route
    methods: frozenset[str]  # empty means every method
    anonymous: bool


def endpoint_for(function: LoadedFunction) -> HttpEndpoint:
    trigger = function.trigger
    template = trigger.get("route") or function.name
    methods = frozenset(str(m).upper() for m in (trigger.get("methods") or []))
    auth = str(trigger.get("authLevel", "FUNCTION")).upper()
    return HttpEndpoint(function, compile_route(template), methods, anonymous=auth == "ANONYMOUS")


class HttpGateway:
    def __init__(
        self,
        functions: Iterable[LoadedFunction],
        route_prefix: str,
        function_keys: Iterable[str],
        cors_origins: Iterable[str] = (),
        function_timeout: timedelta | None = None,
    ) -> None:
        self.prefix = "/" + route_prefix.strip("/").lower() if route_prefix.strip("/") else ""
        self.endpoints = sorted((endpoint_for(f) for f in functions), key=lambda e: e.route.precedence)
        self._keys = [k for k in function_keys if k]
        self._cors_origins = frozenset(o.strip().rstrip("/") for o in cors_origins if o.strip())
        self._timeout = function_timeout

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        request.max_content_length = MAX_REQUEST_BYTES
        origin = request.headers.get("Origin")
        preflight = "Access-Control-Request-Method" in request.headers
        if request.method.upper() == "OPTIONS" and origin and preflight:
            response = self._preflight(request, origin)
        else:
            response = self._dispatch(request)
            if origin in self._cors_origins:
                response.headers["Access-Control-Allow-Origin"] = origin
        if self._cors_origins:
            response.vary.add("Origin")
        return response(environ, start_response)

    def _route_path(self, request: Request) -> str | None:
        path = request.path
        if self.prefix:
            # The prefix, like the templates, matches in any case.
            head, path = path[: len(self.prefix)], path[len(self.prefix) :]
            if head.lower() != self.prefix or path[:1] not in ("", "/"):
                return None
        return path

    def _preflight(self, request: Request, origin: str) -> Response:
        method = request.headers["Access-Control-Request-Method"].strip().upper()
        asked = request.headers.get("Access-Control-Request-Headers", "")
        headers = {h.strip().lower() for h in asked.split(",") if h.strip()}
        path = self._route_path(request)
        methods: set[str] = set()
        for endpoint in self.endpoints:
            if path is not None and endpoint.route.match(path) is not None:
                methods |= endpoint.methods or {method}
        if origin not in self._cors_origins or method not in methods or not headers <= CORS_REQUEST_HEADERS:
            return Response(status=403)
        grant = {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": method,
            "Access-Control-Max-Age": str(CORS_MAX_AGE_S),
        }
        if headers:
            grant["Access-Control-Allow-Headers"] = ", ".join(sorted(headers))
        return Response(status=204, headers=grant)

    def _dispatch(self, request: Request) -> Response:
        path = self._route_path(request)
        if path is None:
            return Response(status=404)
        for endpoint in self.endpoints:
            params = endpoint.route.match(path)
            if params is None:
                continue
            if endpoint.methods and request.method.upper() not in endpoint.methods:
                continue
            if not endpoint.anonymous and not self._has_key(request):
                return Response(status=401)
            return self._invoke(endpoint, request, params)
        return Response(status=404)

    def _has_key(self, request: Request) -> bool:
        presented = request.headers.get("x-functions-key") or request.args.get("code") or ""
        return any(hmac.compare_digest(presented.encode(), key.encode()) for key in self._keys)

    def _invoke(self, endpoint: HttpEndpoint, request: Request, params: dict[str, str]) -> Response:
        headers = dict(request.headers.items())
        # As App Service's front ends do: the socket peer appended to X-Forwarded-For.
        peer = request.remote_addr or ""
        forwarded = headers.pop("X-Forwarded-For", "")
        headers["X-Forwarded-For"] = f"{forwarded}, {peer}" if forwarded else peer
        http_request = func.HttpRequest(
            method=request.method.upper(),
            url=request.url,
            headers=headers,
            params=dict(request.args.items()),
            route_params=params,
            body=request.get_data(cache=False),
        )
        try:
            result = invoke(endpoint.function, http_request, self._timeout)
        except Exception:
            log.exception("Function '%s' raised", endpoint.function.name)
            return Response(status=500)
        return _to_wsgi(result)


def _to_wsgi(result: Any) -> Response:
    if result is None:
        return Response(status=204)
    if isinstance(result, str | bytes):
        return Response(result, status=200, content_type="text/plain; charset=utf-8")
    if not isinstance(result, func.HttpResponse):
        log.error("HTTP function returned %s, not an HttpResponse", type(result).__name__)
        return Response(status=500)
    headers = Headers()
    for name, value in result.headers.items():
        headers.add(name, value)
    if "content-type" not in {k.lower() for k in headers.keys()}:  # noqa: SIM118 - Headers is multi-valued
        mimetype = result.mimetype or "text/plain"
        headers["Content-Type"] = f"{mimetype}; charset={result.charset or 'utf-8'}"
    return Response(result.get_body(), status=result.status_code, headers=headers)
