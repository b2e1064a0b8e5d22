"""Contract fuzzing: schemathesis generates requests for every operation of `openapi.yaml` and sends
them to the real app on the dev host (Azurite + the Microsoft sandbox behind it). Every answer must
be a documented status with a body valid against the spec, never a 5xx, and every error must be
`application/problem+json` with a documented `code`.

Each operation runs in four ways:
- `backend/random`: the product backend's API key, every path parameter generated (mostly unknown
  ids: the not-found and validation paths);
- `backend/known`, `user/known`: path parameters replaced by real state seeded first — a connected
  host (calendars, settings and sync read Graph), a link and a confirmed booking with its manage
  token — so generated bodies reach the deep code; `user` sends the host's own user token;
- `anonymous/known`: no credentials at all; management routes must answer 401 problem+json.

Bounded for `make test` (`SLOTBRIDGE_FUZZ_EXAMPLES`, default 12 per operation and way, derandomized
so CI is repeatable); `make fuzz` runs many more examples with fresh randomness.

Not checked on purpose: schemathesis's `positive_data_acceptance` / `negative_data_rejection`. The
spec cannot express semantic rules (an IANA time zone, a calendar the user owns, a slot the link
offers), so a 400 for a schema-valid request is correct here, and routes that ignore what they do
not read (the Graph handshake ignores the body) accept "invalid" input correctly. Where those checks
found the spec too loose (empty strings), the spec was tightened instead.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
import yaml
from schemathesis import Case
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin
from lib.core.auth import issue_user_token
from tests.fixtures.devhost import API_KEY, USER_TOKEN_KEY
from tests.fixtures.sandbox import unique_email
from tests.integration.availability.helpers import Host, link_body, new_slug, next_monday, put_link
from tests.integration.bookings.helpers import at, book
from tests.integration.connect.helpers import connect, connections

pytestmark = pytest.mark.integration

SPEC_PATH = Path(__file__).resolve().parents[3] / "openapi.yaml"
SPEC = yaml.safe_load(SPEC_PATH.read_text())
DOCUMENTED_CODES = set(SPEC["components"]["schemas"]["Problem"]["properties"]["code"]["enum"])
EXAMPLES = int(os.environ.get("SLOTBRIDGE_FUZZ_EXAMPLES", "12"))
LONG_RUN = "SLOTBRIDGE_FUZZ_EXAMPLES" in os.environ

# The sign-in redirect answers a browser: its errors are HTML pages (the problem code travels in the
# page's postMessage or the redirect's query), as documented under CallbackPage. Fuzzed all the same:
# no 5xx, and each answer must match the spec's statuses and content types.
HTML_ERROR_PATHS = {"/auth/callback"}
MANAGE_TOKEN_PATHS = {
    "/bookings/{bookingId}",
    "/bookings/{bookingId}/reschedule",
    "/bookings/{bookingId}/cancel",
}

schema = schemathesis.openapi.from_path(
    SPEC_PATH,
    config=SchemathesisConfig.from_dict(
        {
            "generation": {
                "max-examples": EXAMPLES,
                "deterministic": not LONG_RUN,
                "database": "none",
            },
            "suppress-health-check": ["all"],
            "request-timeout": 60,
        }
    ),
)


def problem_json(ctx: CheckContext, response: Any, case: Case[Any]) -> bool | None:
    """Every error is `application/problem+json` with a documented code and the response's status."""
    if response.status_code < 400 or case.operation.path in HTML_ERROR_PATHS:
        return None
    if case.method.upper() != case.operation.method.upper():
        # schemathesis probes methods the route does not have (TRACE...): the Functions host's routing
        # finds no route for them and answers a bare 404 before the app is involved.
        assert response.status_code == 404 and not response.content, "an unknown method is not a bare 404"
        return True
    if case.operation.path == "/health":  # its 503 is the Health document, as documented
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/problem+json"), (
        f"{response.status_code} answered as {content_type!r}, not problem+json"
    )
    problem = json.loads(response.content)
    assert problem.get("code") in DOCUMENTED_CODES, f"undocumented problem code {problem.get('code')!r}"
    assert problem.get("status") == response.status_code, "problem status differs from the HTTP status"
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    problem_json,
]


@dataclass(frozen=True)
class KnownState:
    user_id: str
    connection_id: str
    spare_connection_id: str  # a second account of the user: the one DELETE may disconnect
    slug: str
    booking_id: str
    manage_token: str
    spare_slug: str = ""  # a second link: the one DELETE may delete


@pytest.fixture(scope="module")
def known(devhost: DevHost, sandbox: Any, sandbox_http: requests.Session) -> KnownState:
    """A connected host, a link of theirs (with a provider-`none` co-link so bookings need no Graph
    write to exist) and a confirmed booking."""
    admin = SandboxAdmin(sandbox.url, sandbox.ca_pem_path)
    host = Host(devhost, admin, sandbox_http)
    host.set_conflict_calendars(host.default_calendar_id)
    spare = admin.add_account(unique_email("spare"), time_zone="UTC")
    assert connect(devhost, sandbox_http, host.user_id, spare["id"]).status_code == 200
    listed = connections(devhost, host.user_id)
    spare_id = next(c["connectionId"] for c in listed if c["connectionId"] != host.connection_id)
    slug, spare_slug = new_slug(), new_slug()
    for each in (slug, spare_slug):
        put_link(devhost, each, link_body([(host.user_id, "microsoft")]))
    booked = book(devhost, slug, at(next_monday(2), 10))
    assert booked.status_code == 201, booked.text
    answer = booked.json()
    return KnownState(
        host.user_id,
        host.connection_id,
        spare_id,
        slug,
        answer["bookingId"],
        answer["manageToken"],
        spare_slug,
    )


ANSWERS: Counter[tuple[str, str, int]] = Counter()


@pytest.fixture(scope="module", autouse=True)
def answers_summary(request: pytest.FixtureRequest) -> Iterator[None]:
    """After the module: how each operation answered, per way (shown with -rA or `make fuzz`), so a
    run that never got past 404/401 is visible."""
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or not ANSWERS:
        return
    reporter.write_line("")
    reporter.write_line("contract fuzzing - answers per operation and way:")
    rows: dict[tuple[str, str], list[str]] = {}
    for (operation, way, status), count in sorted(ANSWERS.items()):
        rows.setdefault((operation, way), []).append(f"{status}x{count}")
    for (operation, way), cells in rows.items():
        reporter.write_line(f"  {operation:<48} {way:<16} {' '.join(cells)}")


WAYS = ["backend/random", "backend/known", "user/known", "anonymous/known"]


def _prepare(case: Case[Any], way: str, known: KnownState) -> dict[str, str]:
    who, state = way.split("/")
    path = case.operation.path
    if state == "known" and case.path_parameters is not None:
        # Disconnecting the seeded connection (or deleting the seeded link) would starve every route
        # fuzzed after it.
        disconnect = case.method.upper() == "DELETE"
        replacements = {
            "userId": known.user_id,
            "connectionId": known.spare_connection_id if disconnect else known.connection_id,
            "slug": known.spare_slug if disconnect else known.slug,
            "bookingId": known.booking_id,
        }
        for name in case.path_parameters:
            if name in replacements:
                case.path_parameters[name] = replacements[name]
    headers: dict[str, str] = {}
    # Credentials the generator may have put in (it fills security schemes) are replaced.
    if case.headers:
        for name in ("X-Api-Key", "Authorization"):
            case.headers.pop(name, None)
    if who == "backend":
        headers["X-Api-Key"] = API_KEY
    elif who == "user":
        headers["Authorization"] = f"Bearer {issue_user_token(USER_TOKEN_KEY, known.user_id)}"
    if state == "known" and who != "anonymous" and path in MANAGE_TOKEN_PATHS:
        headers["Authorization"] = f"Bearer {known.manage_token}"
    return headers


@pytest.mark.parametrize("way", WAYS)
@schema.parametrize()
def test_every_operation_keeps_the_contract(
    case: Case[Any], way: str, devhost: DevHost, known: KnownState
) -> None:
    headers = _prepare(case, way, known)
    response = case.call(base_url=devhost.api_url, headers=headers)
    ANSWERS[(f"{case.operation.method.upper()} {case.operation.path}", way, response.status_code)] += 1
    case.validate_response(response, checks=CHECKS, headers=headers)


def test_management_routes_refuse_anonymous_callers_with_a_problem(
    devhost: DevHost, known: KnownState
) -> None:
    """The `anonymous/known` way above only proves that answers are documented; this proves what an
    anonymous caller gets on each management route: 401 `unauthorized`."""
    base = devhost.api_url
    calls = [
        ("GET", f"{base}/users/{known.user_id}/connections"),
        ("POST", f"{base}/users/{known.user_id}/connections"),
        ("DELETE", f"{base}/users/{known.user_id}/connections/{known.connection_id}"),
        ("POST", f"{base}/users/{known.user_id}/connections/{known.connection_id}/sync"),
        ("GET", f"{base}/users/{known.user_id}/calendars"),
        ("PUT", f"{base}/users/{known.user_id}/calendar-settings"),
        ("GET", f"{base}/links"),
        ("PUT", f"{base}/links/{known.slug}"),
        ("DELETE", f"{base}/links/{known.slug}"),
        ("GET", f"{base}/users/{known.user_id}/account-limit"),
        ("PUT", f"{base}/users/{known.user_id}/account-limit"),
        ("GET", f"{base}/bookings/{known.booking_id}"),
        ("POST", f"{base}/bookings/{known.booking_id}/cancel"),
    ]
    for method, url in calls:
        r = requests.request(method, url, json={}, timeout=30)
        assert r.status_code == 401, (method, url, r.status_code, r.text)
        assert r.headers["Content-Type"].startswith("application/problem+json")
        assert r.json()["code"] == "unauthorized"
