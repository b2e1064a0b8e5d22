"""The README's routes are the app's routes: every route it names is one the app serves, written the
way a client calls it (with the `/api` routePrefix), and its HTTP API table lists every route."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DOCS = [ROOT / "README.md", ROOT / "docs" / "operations.md"]
# `METHOD /path` inside backticks; the path ends at a space, a query, a fragment or the backtick.
ROUTE_MENTION = re.compile(r"`(GET|POST|PUT|DELETE|PATCH) +(/[^`\s?#]*)[^`]*`")
API_TABLE_ROW = re.compile(r"^\| `(GET|POST|PUT|DELETE|PATCH) (/api/[^`]*)` \|", re.MULTILINE)
ROUTE_PREFIX = "/api"


def _shape(path: str) -> str:
    """A route with its parameter names dropped: `/bookings/{id}`, `/bookings/{bookingId}` and a
    rule's pattern `/bookings/*` agree."""
    return re.sub(r"\{[^}]*\}|(?<=/)\*(?=/|$)", "{}", path.rstrip("/"))


def _served(app_routes: set[tuple[str, str]]) -> set[tuple[str, str]]:
    return {(method.upper(), ROUTE_PREFIX + _shape(path)) for path, method in app_routes}


def test_every_route_the_docs_name_is_served_and_written_with_the_prefix(
    app_routes: set[tuple[str, str]],
) -> None:
    served = _served(app_routes)
    mentions = [
        (doc.name, method, path) for doc in DOCS for method, path in ROUTE_MENTION.findall(doc.read_text())
    ]
    assert len(mentions) > 20, "the pattern no longer finds the docs' routes"
    without_prefix = [m for m in mentions if not m[2].startswith(ROUTE_PREFIX + "/")]
    assert without_prefix == [], f"routes written without {ROUTE_PREFIX}"
    unknown = [m for m in mentions if (m[1], _shape(m[2])) not in served]
    assert unknown == [], "routes the docs name that the app does not serve"


def test_the_readme_api_table_lists_every_route(app_routes: set[tuple[str, str]]) -> None:
    readme = (ROOT / "README.md").read_text()
    listed = {(method, _shape(path)) for method, path in API_TABLE_ROW.findall(readme)}
    assert _served(app_routes) - listed == set(), "served but missing from the README's HTTP API table"
    assert listed - _served(app_routes) == set(), "in the README's HTTP API table but not served"
