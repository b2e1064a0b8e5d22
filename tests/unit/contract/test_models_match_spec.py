"""openapi.yaml's body schemas and the edge models (lib/api) are one contract: for every entry of
`lib.api.spec.CONTRACT`, the model's JSON schema and the spec's agree on property names, types,
nullability, required, enums, formats, bounds and closed objects (descriptions and examples live
in the spec only). A field added, renamed, bounded or made required on one side only fails here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from lib.api.spec import CONTRACT, ContractSchema, model_schema, spec_schema

ROOT = Path(__file__).resolve().parents[3]
SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text())

# The routes whose bodies the models of lib/api cover.
COVERED_ROUTES = (
    "/links",
    "/links/{slug}",
    "/links/{slug}/availability",
    "/users/{userId}/connections",
    "/users/{userId}/connections/{connectionId}",
    "/users/{userId}/connections/{connectionId}/sync",
    "/users/{userId}/calendars",
    "/users/{userId}/calendar-settings",
    "/users/{userId}/account-limit",
    "/links/{slug}/bookings",
    "/links/{slug}/meetings",
    "/bookings/{bookingId}",
    "/bookings/{bookingId}/reschedule",
    "/bookings/{bookingId}/cancel",
    "/bookings",
    "/bookings/{bookingId}/no-show",
    "/webhooks/deliveries",
    "/webhooks/deliveries/redeliver",
    "/webhooks/deliveries/{deliveryId}/redeliver",
)


@pytest.mark.parametrize("entry", CONTRACT, ids=lambda e: e.label)
def test_model_matches_the_spec(entry: ContractSchema) -> None:
    assert model_schema(entry) == spec_schema(SPEC, entry)


def _bodies(route: str) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """Every JSON request and answer schema of a route, with where it is in the spec."""
    for method, operation in SPEC["paths"][route].items():
        if not isinstance(operation, dict) or "responses" not in operation:
            continue
        places = [("requestBody", operation.get("requestBody", {}))]
        places += [(("responses", status), answer) for status, answer in operation["responses"].items()]
        for where, place in places:
            schema = place.get("content", {}).get("application/json", {}).get("schema")
            if schema is not None:
                path = where if isinstance(where, tuple) else (where,)
                yield ("paths", route, method, *path, "content", "application/json", "schema"), schema


def test_every_body_of_the_covered_routes_is_in_the_contract() -> None:
    """A request or answer schema of a covered route cannot be left out of the contract unnoticed."""
    wheres = {e.where for e in CONTRACT}
    components = {e.where[-1] for e in CONTRACT if e.where[:2] == ("components", "schemas")}
    left_out = []
    for route in COVERED_ROUTES:
        for where, schema in _bodies(route):
            ref = schema.get("$ref", "")
            if ref.removeprefix("#/components/schemas/") not in components and where not in wheres:
                left_out.append("/".join(where))
    assert left_out == []
