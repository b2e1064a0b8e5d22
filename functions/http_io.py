"""HTTP in and out for every handler: JSON bodies with a size limit, JSON responses, and typed
errors turned into `application/problem+json` (RFC 9457). Nothing here talks to a service."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import azure.functions as func

from lib.core import telemetry
from lib.core.errors import Problem, SlotbridgeError
from lib.core.json_body import parse_json_object

log = logging.getLogger("slotbridge.http")
telemetry.install()

DEFAULT_MAX_BODY_BYTES = 16 * 1024
PROBLEM_JSON = "application/problem+json"
_SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}

Handler = Callable[[func.HttpRequest], func.HttpResponse]


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        headers={**_SECURITY_HEADERS, "Content-Type": "application/json", **(headers or {})},
    )


def problem_response(error: SlotbridgeError) -> func.HttpResponse:
    problem = Problem.from_error(error)
    # A problem that says when to retry (`retryAfter`, seconds) says it in the header too.
    after = error.extensions.get("retryAfter")
    retry = {"Retry-After": str(after)} if isinstance(after, int) and not isinstance(after, bool) else {}
    return func.HttpResponse(
        json.dumps(problem.to_dict(), separators=(",", ":")),
        status_code=problem.status,
        headers={**_SECURITY_HEADERS, "Content-Type": PROBLEM_JSON, **retry},
    )


def rate_limit(req: func.HttpRequest, scope: str, resource: str) -> None:
    """Count this anonymous request per client address and per `resource` (`RateLimited` when spent)."""
    from lib.core.rate_limits import client_address, limit  # the `limits` package, on first use
    from lib.core.settings import get_settings

    settings = get_settings()
    per_address, per_resource = {
        "availability": (settings.availability_rate_per_address, settings.availability_rate_per_link),
        "booking": (settings.booking_rate_per_address, settings.booking_rate_per_link),
    }[scope]
    limit(scope, client_address(req.headers), resource, per_address, per_resource)


def read_json(req: func.HttpRequest, *, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> dict[str, Any]:
    """The request's JSON object body, or `ValidationFailed` saying why not."""
    return parse_json_object(req.get_body() or b"", max_bytes)


def traced(handler: Handler) -> Handler:
    """One trace span per request when telemetry is on (`lib.core.telemetry.invocation`): the
    correlation id, the route's ids, method, path and status. `api_handler` applies it; the HTML
    pages and the sign-in callback, which answer no problem+json, apply it alone."""

    @functools.wraps(handler)
    def wrapper(req: func.HttpRequest) -> func.HttpResponse:
        telemetry.begin_request(req.headers)
        with telemetry.invocation(handler.__name__, "http", req.headers, req.route_params):
            response = handler(req)
            telemetry.set_http_outcome(urlsplit(req.url).path, req.method, response.status_code)
        return response

    return wrapper


def api_handler(handler: Handler) -> Handler:
    """Map typed errors to problem+json; anything unexpected to a 500 problem with no details."""

    @functools.wraps(handler)
    def wrapper(req: func.HttpRequest) -> func.HttpResponse:
        correlation = telemetry.correlation_id()
        try:
            response = handler(req)
        except SlotbridgeError as error:
            if error.status >= 500:
                log.warning("%s answered %s: %s", handler.__name__, error.status, error.code)
            response = problem_response(error)
        except Exception:
            log.exception("Unhandled error in %s (correlation %s)", handler.__name__, correlation)
            response = problem_response(
                SlotbridgeError(f"An unexpected error occurred. It has been logged as {correlation}.")
            )
        response.headers["X-Correlation-Id"] = correlation
        # Answers differ by Origin (the platform's CORS grant, the API key refused from a browser):
        # a shared cache must not hand one origin's answer to another.
        response.headers["Vary"] = "Origin"
        return response

    return traced(wrapper)
