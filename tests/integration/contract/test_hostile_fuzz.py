"""Hostile-input fuzzing of every operation of `openapi.yaml` (Hardening II, defects 1-4), beside the
schemathesis contract fuzzing of `test_fuzz.py` and on the same seeded state.

For each operation and each kind of hostile value, hypothesis draws where to put it - a JSON body
field (any leaf of a realistic body for that operation), a query parameter, a path parameter, the
`Idempotency-Key` header, or the user token - and what to send (`tests/hostile.py`): JSON nested
thousands of levels, numbers thousands of digits long or not finite, extreme and impossible dates,
lone surrogates (as the JSON escape `"\\udfff"`: a URL cannot carry one), control characters,
and user tokens that verify but whose payload is not a claims object. Every answer must be a 4xx;
every error `application/problem+json` with a documented code (the sign-in redirect answers HTML by
design); and the tables must hold exactly what they held before the operation's requests.

One exception, by design: Graph's notification routes answer 202 to a well-formed collection whose
items fail verification (Graph retries anything else); such items are dropped, never queued or stored.

`SLOTBRIDGE_FUZZ_EXAMPLES` (as for `test_fuzz.py`) sets the examples per operation and kind; the
default keeps `make test` short and derandomized.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
import requests
from azure.data.tables import TableServiceClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from devstack.azurite import Azurite
from devstack.funchost import DevHost
from tests.fixtures.devhost import API_KEY, PRODUCT_ORIGIN, USER_TOKEN_KEY
from tests.hostile import (
    control_characters,
    deep_nesting,
    extreme_dates,
    huge_numbers,
    lone_surrogates,
    non_object_payloads,
    signed_token,
)
from tests.integration.availability.helpers import link_body, next_monday
from tests.integration.bookings.helpers import at

from .test_fuzz import DOCUMENTED_CODES, HTML_ERROR_PATHS, SPEC, KnownState, known

__all__ = ["known"]  # the seeded state of test_fuzz.py, as a fixture of this module too

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("SLOTBRIDGE_FUZZ_EXAMPLES", "3"))
LONG_RUN = "SLOTBRIDGE_FUZZ_EXAMPLES" in os.environ
METHODS = {"get", "put", "post", "delete", "patch"}
DATE_FIELDS = {"start", "end", "date"}
MAX_URL_VALUE = 3000  # hostile values in a URL are clipped: the point is their content, not a 414

# Query parameters the server never reads: the pages are static and read them in the browser.
UNREAD_QUERY = {("bookingPage", "embed"), ("managePage", "token")}
GRAPH_OPERATIONS = {"graphNotifications", "graphLifecycleNotifications"}

# Tables whose rows change in the background (sync, token refresh, subscriptions, the outbox), not
# through a request's input; and the sync-state rows that share the slot-lock table.
BACKGROUND_TABLES = ("busyintervals", "subscriptions", "tokencaches", "outbox", "connections")


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    path_params: tuple[str, ...]
    query_params: tuple[str, ...]
    json_body: bool
    user_token: bool

    def __str__(self) -> str:
        return self.operation_id


def _param_name(spec_param: dict[str, Any]) -> tuple[str, str]:
    if "$ref" in spec_param:
        spec_param = SPEC["components"]["parameters"][spec_param["$ref"].rsplit("/", 1)[1]]
    return spec_param["name"], spec_param["in"]


def _operations() -> list[Operation]:
    found = []
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            params = [_param_name(p) for p in [*item.get("parameters", []), *op.get("parameters", [])]]
            found.append(
                Operation(
                    op["operationId"],
                    method.upper(),
                    path,
                    tuple(n for n, where in params if where == "path"),
                    tuple(
                        n
                        for n, where in params
                        if where == "query" and (op["operationId"], n) not in UNREAD_QUERY
                    ),
                    "application/json" in op.get("requestBody", {}).get("content", {}),
                    any("userToken" in s for s in op.get("security", [])),
                )
            )
    return found


OPERATIONS = _operations()


def base_bodies(known: KnownState) -> dict[str, Any]:
    """A realistic body per JSON operation: every field a hostile value can replace."""
    calendar = {"connectionId": known.connection_id, "calendarId": "calendar-1"}
    link = link_body(
        [(known.user_id, "microsoft")],
        subjectTemplate="{title} with {attendeeName}",
        bodyTemplate="Prepare: {productUrl}\nChange it: {manageUrl}",
        productUrl="https://product.example/prep/{bookingId}",
        privateEvent=True,
        location="Room 4",
        dateOverrides=[{"date": "2031-12-24", "kind": "add", "ranges": [{"start": "10:00", "end": "12:00"}]}],
        dailyCap=5,
    )
    link["hosts"][0].update(conflictCalendars=[calendar], writeCalendar=calendar)  # the link's own
    return {
        "startConnection": {
            "mode": "popup",
            "returnUrl": f"{PRODUCT_ORIGIN}/settings",
            "openerOrigin": PRODUCT_ORIGIN,
        },
        "graphNotifications": {
            "value": [
                {
                    "subscriptionId": "s-1",
                    "clientState": "c",
                    "changeType": "updated",
                    "resource": "me/events/e-1",
                    "resourceData": {"id": "e-1"},
                }
            ]
        },
        "graphLifecycleNotifications": {
            "value": [{"subscriptionId": "s-1", "clientState": "c", "lifecycleEvent": "missed"}]
        },
        "putCalendarSettings": {
            "conflictCalendars": [calendar],
            "writeCalendar": calendar,
            "blockingShowAs": ["busy"],
        },
        "putLink": link,
        "putAccountLimit": {"maxAccounts": 3},
        "createBooking": {
            "start": at(next_monday(3), 11),
            "attendee": {"name": "Ada Lovelace", "email": "ada@example.com"},
            "timezone": "Europe/Berlin",
            "notes": "Hello",
        },
        "createMeeting": {
            "hostUserId": known.user_id,
            "start": at(next_monday(3), 13),
            "durationMinutes": 45,
            "attendees": [
                {"name": "Ada Lovelace", "email": "ada@example.com"},
                {"name": "Charles Babbage", "email": "charles@example.com"},
            ],
            "teamsMeeting": False,
            "subject": "Quarterly review",
            "body": "Agenda:\n1. Numbers",
            "timezone": "Europe/Berlin",
            "outsideOfferedSlots": False,
            "skipLiveCheck": False,
        },
        "rescheduleBooking": {"start": at(next_monday(3), 12), "token": known.manage_token},
        "cancelBooking": {"token": known.manage_token, "reason": "Plans changed"},
        "markNoShow": {"noShow": True},
    }


def base_query(op: Operation, known: KnownState) -> dict[str, str]:
    monday = next_monday(3).isoformat()
    values = {
        "start": monday,
        "end": monday,
        "timezone": "Europe/Berlin",
        "userId": known.user_id,
        "state": "s",
        "code": "c",
        "validationToken": "token",
        "reuseDeletedSlug": "false",
    }
    # The Graph routes: a validationToken makes the request a handshake, so it is sent only as a target.
    return {} if op.operation_id in GRAPH_OPERATIONS else {n: values.get(n, "x") for n in op.query_params}


def path_values(known: KnownState, op: Operation) -> dict[str, str]:
    return {
        "userId": known.user_id,
        "connectionId": known.spare_connection_id if op.method == "DELETE" else known.connection_id,
        "slug": known.spare_slug if op.method == "DELETE" else known.slug,
        "bookingId": known.booking_id,
        "file": "book.js",
    }


# --- where a hostile value goes -----------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    where: str  # body | query | path | header | token
    name: tuple[str | int, ...] | str


def _leaves(value: Any, at_path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*at_path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*at_path, index))
    else:
        yield at_path, value


def targets(op: Operation, kind: str, body: Any) -> list[Target]:
    if kind == "token":
        return [Target("token", "Authorization")] if op.user_token else []
    found: list[Target] = []
    text_kind = kind in ("surrogate", "control")
    for leaf, value in _leaves(body) if body is not None else ():
        last = leaf[-1] if leaf else ""
        if kind == "date" and last not in DATE_FIELDS:
            continue
        if text_kind and not isinstance(value, str):
            continue
        found.append(Target("body", leaf))
    for name in op.query_params:
        if kind == "date" and name not in DATE_FIELDS:
            continue
        # A URL carries text: nesting and numbers are JSON matters ("1e999" is a fine user id), and
        # a lone surrogate cannot travel in one (invalid UTF-8 reaches the app as U+FFFD).
        if kind in ("control", "date"):
            found.append(Target("query", name))
    if kind == "control":
        found += [Target("path", name) for name in op.path_params]
    if kind == "control" and op.operation_id in ("createBooking", "createMeeting"):
        found.append(Target("header", "Idempotency-Key"))
    return found


STRATEGIES: dict[str, Callable[[], st.SearchStrategy[Any]]] = {
    "nesting": deep_nesting,
    "number": huge_numbers,
    "date": extreme_dates,
    "surrogate": lone_surrogates,
    "control": control_characters,
    "token": non_object_payloads,
}


def _with_raw(body: Any, leaf: tuple[str | int, ...], raw: str) -> bytes:
    """`body` as JSON with the value at `leaf` replaced by the raw JSON text `raw`."""
    sentinel = "\x00hostile-sentinel\x00"
    doc = copy.deepcopy(body)
    holder = doc
    for step in leaf[:-1]:
        holder = holder[step]
    holder[leaf[-1]] = sentinel
    text = json.dumps(doc, ensure_ascii=True)
    return text.replace(json.dumps(sentinel), raw, 1).encode()


def _url_text(raw: str) -> str:
    """A hostile JSON text as it would travel in a URL: the string it denotes (surrogates as the
    invalid UTF-8 they would be), percent-encoded."""
    try:
        value = json.loads(raw) if raw.startswith('"') else raw
    except ValueError:
        value = raw
    return quote(str(value)[:MAX_URL_VALUE].encode("utf-8", "surrogatepass"), safe="")


def _header_text(raw: str) -> str:
    value = json.loads(raw)
    return "".join(ch for ch in value if ch not in "\r\n")  # the client refuses CR/LF itself


# --- the tables before and after -----------------------------------------------------------------------


Snapshot = dict[str, dict[tuple[str, str], str]]


@pytest.fixture(scope="module")
def tables(azurite: Azurite, app_env: dict[str, str]) -> Callable[[], Snapshot]:
    service = TableServiceClient.from_connection_string(azurite.connection_string)
    prefix = app_env["SLOTBRIDGE_TABLE_PREFIX"]

    def snapshot() -> Snapshot:
        seen: Snapshot = {}
        for table in service.list_tables():
            kind = table.name[len(prefix) :]
            if not table.name.startswith(prefix) or kind in BACKGROUND_TABLES:
                continue
            rows = service.get_table_client(table.name).list_entities(select=["PartitionKey", "RowKey"])
            seen[kind] = {
                (row["PartitionKey"], row["RowKey"]): row.metadata["etag"]
                for row in rows
                if not str(row["RowKey"]).startswith("sync|")
            }
        return seen

    return snapshot


@pytest.fixture(scope="module")
def settled(known: KnownState, tables: Callable[[], Snapshot]) -> KnownState:
    """The seeded state once the background work it started (sync, subscriptions) has settled."""
    previous, deadline = tables(), time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(1)
        current = tables()
        if current == previous:
            break
        previous = current
    return known


def _diff(before: Snapshot, after: Snapshot) -> list[str]:
    changes = []
    for kind in sorted(set(before) | set(after)):
        rows_before, rows_after = before.get(kind, {}), after.get(kind, {})
        for key in sorted(set(rows_before) | set(rows_after)):
            if rows_before.get(key) != rows_after.get(key):
                changes.append(f"{kind} {key}: {rows_before.get(key)} -> {rows_after.get(key)}")
    return changes


# --- the test ------------------------------------------------------------------------------------------


def _check(op: Operation, target: Target, kind: str, r: requests.Response) -> None:
    where = f"{op} {target.where} {target.name!r} ({kind})"
    graph_item = (
        op.operation_id in GRAPH_OPERATIONS
        and target.where == "body"
        and kind in ("surrogate", "control", "date")
    )
    if graph_item and r.status_code == 202:
        return
    assert 400 <= r.status_code < 500, f"{where}: {r.status_code} {r.text[:300]}"
    if op.path in HTML_ERROR_PATHS:
        return
    content_type = r.headers.get("Content-Type", "")
    assert content_type.startswith("application/problem+json"), f"{where}: {content_type}"
    problem = r.json()
    assert problem.get("code") in DOCUMENTED_CODES and problem.get("status") == r.status_code, (
        f"{where}: {problem}"
    )


SHAPES = base_bodies(KnownState("user", "connection", "spare", "slug", "booking", "token"))
# Every operation with every kind of value that one of its inputs can carry (health and the settings
# page take none).
CASES = [
    pytest.param(op, kind, id=f"{op}-{kind}")
    for op in OPERATIONS
    for kind in STRATEGIES
    if targets(op, kind, SHAPES.get(op.operation_id) if op.json_body else None)
]


@pytest.mark.parametrize(("op", "kind"), CASES)
def test_hostile_values_get_a_clean_4xx_and_change_nothing(
    op: Operation, kind: str, devhost: DevHost, settled: KnownState, tables: Callable[[], Snapshot]
) -> None:
    known = settled
    body = base_bodies(known).get(op.operation_id) if op.json_body else None
    assert not op.json_body or body is not None, f"{op} takes a JSON body: give it a base body here"
    where_to = targets(op, kind, body)
    before = tables()

    @settings(
        max_examples=EXAMPLES,
        derandomize=not LONG_RUN,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        # No shrinking: a failing value is already small enough to read, and shrinking a 500 that logs
        # a traceback per request would take minutes.
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
    )
    @given(data=st.data())
    def send(data: st.DataObject) -> None:
        target = data.draw(st.sampled_from(where_to), label="target")
        raw = data.draw(STRATEGIES[kind](), label="value")
        params = path_values(known, op)
        query = {n: quote(v, safe="") for n, v in base_query(op, known).items()}
        headers: dict[str, str] = {}
        if op.path.startswith(("/users", "/links")) and op.user_token:
            headers["X-Api-Key"] = API_KEY
        if op.path.startswith("/bookings"):
            headers["Authorization"] = f"Bearer {known.manage_token}"
        payload = json.dumps(body).encode() if body is not None else None
        if target.where == "body":
            assert isinstance(target.name, tuple)
            payload = _with_raw(body, target.name, raw)
        elif target.where == "query":
            query[str(target.name)] = _url_text(raw)
        elif target.where == "path":
            params[str(target.name)] = _url_text(raw)
        elif target.where == "header":
            headers[str(target.name)] = _header_text(raw)
        else:
            headers.pop("X-Api-Key", None)
            headers["Authorization"] = f"Bearer {signed_token(USER_TOKEN_KEY, raw)}"
        path = op.path
        for name in op.path_params:
            path = path.replace(
                "{" + name + "}", params[name] if target.name == name else quote(params[name], safe="")
            )
        url = devhost.api_url + path + ("?" + "&".join(f"{n}={v}" for n, v in query.items()) if query else "")
        if payload is not None:
            headers["Content-Type"] = "application/json"
        r = requests.request(op.method, url, data=payload, headers=headers, timeout=60)
        _check(op, target, kind, r)

    send()
    changes = _diff(before, tables())
    assert not changes, f"{op} ({kind}) changed stored state:\n" + "\n".join(changes[:10])


def test_every_json_operation_has_a_base_body() -> None:
    """A new JSON operation must be added to `base_bodies`, or the hostile fuzzing would miss it."""
    missing = [str(op) for op in OPERATIONS if op.json_body and op.operation_id not in SHAPES]
    assert missing == []
