"""The base of every wire model (the edge's answers and bodies, and the documents a feature stores
in their wire form) and the field types whose wire form the spec names."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, PlainSerializer, WithJsonSchema
from pydantic.alias_generators import to_camel
from pydantic_core import SchemaValidator

_DATE_TIME_SCHEMA = WithJsonSchema({"type": "string", "format": "date-time"})

# An instant as `datetime.isoformat()` writes it ("+00:00", not pydantic's "Z"): the wire form the
# answers have always had.
IsoDateTime = Annotated[datetime, PlainSerializer(datetime.isoformat, return_type=str), _DATE_TIME_SCHEMA]
# A date-time that is already text (rendered in a zone, or stored as text).
DateTimeText = Annotated[str, _DATE_TIME_SCHEMA]

# The core-schema keys of a bound (length, range, pattern), which an answer does not re-check.
_BOUND_KEYS = frozenset({"min_length", "max_length", "ge", "gt", "le", "lt", "multiple_of", "pattern"})


class WireModel(BaseModel):
    """camelCase on the wire, snake_case in Python. An answer carries exactly the fields it was
    built with (`exclude_unset`), so an optional field is either absent or as given (null too)."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, validate_by_alias=True)

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    @classmethod
    def answer(cls, values: Mapping[str, Any]) -> Self:
        """The model as an answer: from values (names or aliases) that were valid when stored,
        with types checked but not bounds, so a record kept before a bound tightened still answers.
        The bounds stay in the model's schema, which is the spec's (lib/api/spec.py)."""
        built: Self = _answer_validator(cls).validate_python(dict(values))
        return built

    @classmethod
    def from_attrs(cls, *sources: object, **fields: Any) -> Self:
        """The answer with each field given, or else read from the first source with an attribute
        of its (snake_case) name; a field neither given nor found stays unset (absent)."""
        values = dict(fields)
        for name in cls.model_fields:
            found = [s for s in sources if name not in values and hasattr(s, name)]
            if found:
                values[name] = getattr(found[0], name)
        return cls.answer(values)


@cache
def _answer_validator(model: type[BaseModel]) -> SchemaValidator:
    schema: dict[str, Any] = dict(model.__pydantic_core_schema__)
    config = schema.get("config") or schema.get("schema", {}).get("config")
    return SchemaValidator(_without_bounds(schema), config)


def _without_bounds(schema: Any) -> Any:
    """The core schema with its bounds left out, and each model built from its checked fields
    (pydantic would otherwise reuse the model's own, bounded, validator)."""
    if isinstance(schema, list):
        return [_without_bounds(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _without_bounds(v) for k, v in schema.items() if k not in _BOUND_KEYS}
    if out.get("type") == "model":
        model: type[BaseModel] = out["cls"]

        def construct(value: Any, check: Callable[[Any], tuple[dict[str, Any], Any, set[str]]]) -> Any:
            if isinstance(value, model):
                return value  # built already
            fields, _, fields_set = check(value)
            return model.model_construct(fields_set, **fields)

        function = {"type": "no-info", "function": construct}
        wrapped = {"type": "function-wrap", "function": function, "schema": out["schema"]}
        return wrapped | ({"ref": out["ref"]} if "ref" in out else {})
    return out
