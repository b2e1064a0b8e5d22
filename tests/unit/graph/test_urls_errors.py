"""Same-origin check for Graph links, query encoding, log-safe paths, typed errors."""

from __future__ import annotations

from typing import Any

import pytest

from lib.adapters.graph.errors import (
    GraphAccessDenied,
    GraphAuthError,
    GraphBadRequest,
    GraphConflict,
    GraphError,
    GraphGone,
    GraphNotFound,
    GraphThrottled,
    GraphUnavailable,
    error_for,
)
from lib.adapters.graph.urls import is_same_origin, path_template, query_string
from lib.core.errors import NotFound, OutlookUnavailable, Problem

BASE = "https://graph.microsoft.com/v1.0"


@pytest.mark.parametrize(
    ("link", "ok"),
    [
        ("https://graph.microsoft.com/v1.0/me/calendarView?$skip=10", True),
        ("https://GRAPH.microsoft.com:443/v1.0/me/events", True),
        ("https://graph.microsoft.com/V1.0/me/events", True),
        ("http://graph.microsoft.com/v1.0/me/events", False),  # scheme
        ("https://graph.microsoft.com:8443/v1.0/me/events", False),  # port
        ("https://evil.example/v1.0/me/events", False),  # host
        ("https://graph.microsoft.com.evil.example/v1.0/me", False),
        ("https://user@graph.microsoft.com/v1.0/me", False),  # userinfo
        ("https://graph.microsoft.com/beta/me/events", False),  # outside the version root
        ("https://graph.microsoft.com/v1.0evil/me", False),
        ("/v1.0/me/events", False),  # not absolute
    ],
)
def test_same_origin(link: str, ok: bool) -> None:
    assert is_same_origin(BASE, link) is ok


def test_query_string_keeps_odata_dollars_and_encodes_the_rest() -> None:
    qs = query_string(
        {
            "startDateTime": "2026-11-20T00:00:00+01:00",
            "$select": "subject,start,end",
            "$filter": "transactionId eq 'a&b'",
            "$top": 1000,
            "flag": True,
        }
    )
    assert qs == (
        "startDateTime=2026-11-20T00:00:00%2B01:00&$select=subject,start,end"
        "&$filter=transactionId%20eq%20'a%26b'&$top=1000&flag=true"
    )


def test_path_template_hides_ids_and_query() -> None:
    url = f"{BASE}/me/calendars/AAMkAGI2TG93AAA=/calendarView?$deltatoken=secret"
    assert path_template(url) == "/v1.0/me/calendars/{id}/calendarView"
    assert path_template("/users/hana@contoso.com/events") == "/users/{id}/events"
    assert path_template("/me/calendar/calendarView/delta") == "/me/calendar/calendarView/delta"


def _body(code: str, message: str = "m") -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "innerError": {"request-id": "rid-1"}}}


@pytest.mark.parametrize(
    ("status", "code", "cls", "problem"),
    [
        (400, "BadRequest", GraphBadRequest, "internal_error"),
        (401, "InvalidAuthenticationToken", GraphAuthError, "needs_reconnect"),
        (403, "ErrorAccessDenied", GraphAccessDenied, "insufficient_permissions"),
        (404, "ErrorItemNotFound", GraphNotFound, "not_found"),
        (409, "ErrorIrresolvableConflict", GraphConflict, "conflict"),
        (410, "SyncStateNotFound", GraphGone, "internal_error"),
        (400, "resyncRequired", GraphGone, "internal_error"),
        (429, "TooManyRequests", GraphThrottled, "outlook_unavailable"),
        (503, "ServiceUnavailable", GraphUnavailable, "outlook_unavailable"),
        (500, "InternalServerError", GraphError, "outlook_unavailable"),
    ],
)
def test_error_for_maps_status_and_code(status: int, code: str, cls: type, problem: str) -> None:
    err = error_for(status, _body(code, "details"), {})
    assert type(err) is cls
    assert (err.http_status, err.graph_code, err.graph_message, err.request_id) == (
        status,
        code,
        "details",
        "rid-1",
    )
    assert err.code == problem


def test_errors_are_project_problems() -> None:
    assert isinstance(error_for(404, _body("ErrorItemNotFound"), {}), NotFound)
    throttled = error_for(429, _body("TooManyRequests"), {"request-id": "h"}, retry_after=2.5)
    assert isinstance(throttled, OutlookUnavailable) and isinstance(throttled, GraphUnavailable)
    assert throttled.request_id == "h"
    doc = Problem.from_error(throttled).to_dict()
    assert doc["code"] == "outlook_unavailable" and doc["status"] == 503 and doc["retryAfter"] == 3


def test_error_without_a_graph_body() -> None:
    err = error_for(502, "<html>bad gateway</html>", {})
    assert type(err) is GraphError and err.graph_code == "" and err.http_status == 502
