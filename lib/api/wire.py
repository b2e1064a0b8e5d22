"""The base of every edge model and the field types whose wire form the spec names."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, PlainSerializer, WithJsonSchema
from pydantic.alias_generators import to_camel

_DATE_TIME_SCHEMA = WithJsonSchema({"type": "string", "format": "date-time"})

# An instant as `datetime.isoformat()` writes it ("+00:00", not pydantic's "Z"): the wire form the
# answers have always had.
IsoDateTime = Annotated[datetime, PlainSerializer(datetime.isoformat, return_type=str), _DATE_TIME_SCHEMA]
# A date-time that is already text (rendered in a zone, or stored as text).
DateTimeText = Annotated[str, _DATE_TIME_SCHEMA]


class WireModel(BaseModel):
    """camelCase on the wire, snake_case in Python. An answer carries exactly the fields it was
    built with (`exclude_unset`), so an optional field is either absent or as given (null too)."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, validate_by_alias=True)

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    @classmethod
    def from_attrs(cls, *sources: object, **fields: Any) -> Self:
        """The model with each field given, or else read from the first source with an attribute
        of its (snake_case) name; a field neither given nor found stays unset (absent)."""
        values = dict(fields)
        for name in cls.model_fields:
            found = [s for s in sources if name not in values and hasattr(s, name)]
            if found:
                values[name] = getattr(found[0], name)
        return cls.model_validate(values)
