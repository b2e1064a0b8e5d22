"""The edge models as the one source of truth for openapi.yaml's body schemas.

`CONTRACT` says where in the spec each model's schema lives (a component, or a route's inline
answer) and in which direction it is read (`validation`: a request body; `serialization`: an
answer). `normalise` reduces a JSON schema to what the contract promises - property names, types,
nullability, required, enums, formats, bounds, patterns, closed objects - with `$ref`s and `allOf`
resolved, so descriptions and examples may live in the spec only. tests/unit/contract/
test_models_match_spec.py fails when a model and the spec drift apart. Another area joins by adding
its models to `REQUESTS` / `ANSWERS` (or an inline request or answer to `CONTRACT`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode

from lib.api import availability, bookings, connections, links, webhooks

# The keys a schema's contract is made of; everything else (title, description, default,
# example...) is documentation.
_BOUNDS = ("format", "pattern", "minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems")

Resolve = Callable[[str], dict[str, Any]]


@dataclass(frozen=True)
class ContractSchema:
    model: type[BaseModel]
    mode: JsonSchemaMode
    where: tuple[str, ...]  # path into openapi.yaml

    @property
    def label(self) -> str:
        return "/".join(self.where)


def component(model: type[BaseModel], mode: JsonSchemaMode) -> ContractSchema:
    """A model that is a component schema of the same name."""
    return ContractSchema(model, mode, ("components", "schemas", model.__name__))


def answer(route: str, method: str, model: type[BaseModel]) -> ContractSchema:
    """A model that is a route's inline 200 answer."""
    where = ("paths", route, method, "responses", "200", "content", "application/json", "schema")
    return ContractSchema(model, "serialization", where)


def request(route: str, method: str, model: type[BaseModel]) -> ContractSchema:
    """A model that is a route's inline request body."""
    where = ("paths", route, method, "requestBody", "content", "application/json", "schema")
    return ContractSchema(model, "validation", where)


# Request bodies (read as input) and answers (as written), by area; another area adds its own.
REQUESTS: list[type[BaseModel]] = [
    *(links.TimeRange, links.LinkHost, links.LinkInput),
    *(connections.ConnectRequest, connections.CalendarRef, connections.CalendarSettings),
    connections.AccountLimitInput,
    *(bookings.BookingInput, bookings.MeetingInput),
]
ANSWERS: list[type[BaseModel]] = [
    *(links.Link, links.PublicLink, availability.Availability),
    *(connections.ConnectStart, connections.Connection, connections.MissingCalendar),
    *(connections.CalendarList, connections.SyncQueued, connections.AccountLimit),
    *(bookings.Booking, bookings.BookingCreated),
    *(bookings.ProductBooking, bookings.BookingAnswer, bookings.BookingPage),
    *(webhooks.WebhookDelivery, webhooks.WebhookDeliveries, webhooks.RedeliveryQueued),
]
CONTRACT: list[ContractSchema] = [
    *(component(model, "validation") for model in REQUESTS),
    *(component(model, "serialization") for model in ANSWERS),
    answer("/links", "get", links.Links),
    answer("/users/{userId}/connections", "get", connections.Connections),
    request("/bookings/{bookingId}/reschedule", "post", bookings.RescheduleBody),
    request("/bookings/{bookingId}/cancel", "post", bookings.CancelBody),
    request("/bookings/{bookingId}/no-show", "post", bookings.NoShowBody),
]


def model_schema(entry: ContractSchema) -> dict[str, Any]:
    """The model's schema, normalised."""
    schema = entry.model.model_json_schema(by_alias=True, mode=entry.mode)
    defs: dict[str, Any] = schema.get("$defs", {})
    return normalise(schema, lambda ref: defs[ref.removeprefix("#/$defs/")])


def spec_schema(spec: dict[str, Any], entry: ContractSchema) -> dict[str, Any]:
    """The spec's schema at `entry.where`, normalised."""
    node: Any = spec
    for key in entry.where:
        node = node[key]
    components: dict[str, Any] = spec["components"]["schemas"]
    return normalise(node, lambda ref: components[ref.removeprefix("#/components/schemas/")])


def normalise(schema: dict[str, Any], resolve: Resolve) -> dict[str, Any]:
    if "$ref" in schema:
        return normalise(resolve(schema["$ref"]), resolve)
    if "allOf" in schema:
        return _merge([normalise(part, resolve) for part in schema["allOf"]])
    for choice in ("anyOf", "oneOf"):
        if choice in schema:
            options = [normalise(option, resolve) for option in schema[choice]]
            others = [o for o in options if o != {"type": "null"}]
            if len(others) == 1 and len(others) < len(options):
                return {**others[0], "nullable": True}
            return {choice: options}
    out: dict[str, Any] = {}
    kind = schema.get("type")
    if isinstance(kind, list):
        if "null" in kind:
            out["nullable"] = True
        kinds = sorted(k for k in kind if k != "null")
        kind = kinds[0] if len(kinds) == 1 else kinds
    if kind is not None:
        out["type"] = kind
    if "const" in schema:
        out["enum"] = [schema["const"]]
    if "enum" in schema:
        out["enum"] = sorted(str(v) for v in schema["enum"])
    out.update({key: schema[key] for key in _BOUNDS if key in schema})
    if "properties" in schema:
        out["properties"] = {name: normalise(s, resolve) for name, s in schema["properties"].items()}
        out["required"] = sorted(schema.get("required", []))
    if "items" in schema:
        out["items"] = normalise(schema["items"], resolve)
    extra = schema.get("additionalProperties")
    if extra is False:
        out["additionalProperties"] = False
    elif isinstance(extra, dict):
        out["additionalProperties"] = normalise(extra, resolve)
    return out


def _merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """`allOf` of objects as one object (what the spec's `Link: allOf [LinkInput, ...]` means)."""
    merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
    for part in parts:
        merged["properties"].update(part.get("properties", {}))
        merged["required"] = sorted({*merged["required"], *part.get("required", [])})
    return merged
