"""Typed records: dataclasses that map to and from Table Storage entities.

A record kind subclasses `TableRecord`, names its table (`table_kind`) and says which of its fields
make its PartitionKey and RowKey. Every field is stored as a property of its own (so an entity reads
back without decoding keys), with the types Table Storage has: str, int, float, bool, datetime and
bytes; enums are stored by value, and lists/dicts/tuples as JSON text. Sizes are checked before a
write, so an oversize value fails with a clear error instead of a service 400.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from lib.adapters.storage.keys import compose_key
from lib.core.errors import FieldError, ValidationFailed

MAX_PROPERTY_BYTES = 64 * 1024  # per string / binary property (UTF-16 for strings)
MAX_ENTITY_BYTES = 1024 * 1024
_RESERVED = {"PartitionKey", "RowKey", "Timestamp", "etag"}

# The one table two kinds share, partitioned by host user id: a host's slot-lock cells
# (`lib.features.bookings.records.SlotLockRecord`) and its calendars' sync state
# (`lib.features.sync.sync_state.CalendarSyncRecord`), so that availability reads a host's bookings and the
# freshness of its calendars in one request. Named for the kind whose rows cannot be rebuilt.
HOST_TABLE_KIND = "slotlocks"


class RecordTooLarge(ValidationFailed):
    """A record that Table Storage would refuse for its size."""


@dataclasses.dataclass(kw_only=True)
class TableRecord:
    """Base of every stored record. `etag` is set by reads and writes and used by conditional ones."""

    table_kind: ClassVar[str]
    # Names of the fields whose values, composed, form the keys.
    partition_fields: ClassVar[tuple[str, ...]]
    row_fields: ClassVar[tuple[str, ...]]
    # A projection is a read-only view of another kind's rows (same `table_kind`, a subset of its
    # fields): queries fetch only its fields (`$select`), and its table refuses writes, which
    # would drop the fields it leaves out.
    projection: ClassVar[bool] = False
    # Kinds that share a table (the same `table_kind`, and one partition key) keep to disjoint
    # RowKey ranges, so that each kind's queries meet only its own rows: `row_prefix` starts this
    # kind's RowKeys with "<prefix>|"; a kind without one declares its range in `row_range`.
    row_prefix: ClassVar[str] = ""
    row_range: ClassVar[tuple[str, str] | None] = None

    etag: str | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def partition_key(self) -> str:
        return compose_key(
            *(str(getattr(self, f)) for f in self.partition_fields), what=self.partition_fields[0]
        )

    @property
    def row_key(self) -> str:
        return self.compose_row_key(*(str(getattr(self, f)) for f in self.row_fields))

    @classmethod
    def compose_row_key(cls, *parts: str) -> str:
        """The RowKey of this kind's row whose `row_fields` have these values."""
        prefix = (cls.row_prefix,) if cls.row_prefix else ()
        return compose_key(*prefix, *parts, what=cls.row_fields[-1])

    @classmethod
    def rows(cls) -> tuple[str, str] | None:
        """[first, last) of this kind's RowKeys in a shared table; None when it has the table alone."""
        if cls.row_prefix:
            # "}" follows the separator "|": the range holds exactly the keys under "<prefix>|".
            return f"{cls.row_prefix}|", f"{cls.row_prefix}}}"
        return cls.row_range

    def to_entity(self) -> dict[str, Any]:
        entity: dict[str, Any] = {"PartitionKey": self.partition_key, "RowKey": self.row_key}
        total = 0
        for f in _fields(type(self)):
            value = _to_property(getattr(self, f.name))
            if value is None:
                continue
            size = _size(value)
            if size > MAX_PROPERTY_BYTES:
                raise RecordTooLarge(
                    f"{f.name} is too large to store ({size} bytes; the limit is {MAX_PROPERTY_BYTES}).",
                    [FieldError(f.name, f"at most {MAX_PROPERTY_BYTES} bytes")],
                )
            total += size
            entity[f.name] = value
        if total > MAX_ENTITY_BYTES:
            raise RecordTooLarge(f"The {self.table_kind} record is larger than {MAX_ENTITY_BYTES} bytes.")
        return entity

    @classmethod
    def from_entity(cls, entity: typing.Mapping[str, Any], etag: str | None = None) -> Self:
        hints = _hints(cls)
        values: dict[str, Any] = {}
        for f in _fields(cls):
            if f.name in entity:
                values[f.name] = _from_property(entity[f.name], hints[f.name])
        record = cls(**values)
        record.etag = etag
        return record


# Per-class caches of dataclass introspection (record classes are few and live for the process).
_FIELDS: dict[type[Any], tuple[dataclasses.Field[Any], ...]] = {}
_HINTS: dict[type[Any], dict[str, Any]] = {}


def _fields(cls: type[Any]) -> tuple[dataclasses.Field[Any], ...]:
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = tuple(f for f in dataclasses.fields(cls) if f.name != "etag")
        clash = {f.name for f in fields} & _RESERVED
        if clash:
            raise TypeError(f"{cls.__name__} uses reserved property names {clash}")
        _FIELDS[cls] = fields
    return fields


def record_fields(cls: type[TableRecord]) -> tuple[dataclasses.Field[Any], ...]:
    """The stored fields of a record kind (every dataclass field but `etag`)."""
    return _fields(cls)


def _hints(cls: type[Any]) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _size(value: Any) -> int:
    value = getattr(value, "value", value)  # EntityProperty
    if isinstance(value, str):
        return len(value.encode("utf-16-le", errors="surrogatepass"))
    if isinstance(value, bytes):
        return len(value)
    return 8


def _to_property(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**31) <= value < 2**31:
        from azure.data.tables import EdmType, EntityProperty

        return EntityProperty(value, EdmType.INT64)
    if value is None or isinstance(value, str | bool | int | float | bytes):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use UTC-aware ones")
        return value.astimezone(UTC)
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    raise TypeError(f"cannot store {type(value).__name__}")


def _from_property(value: Any, hint: Any) -> Any:
    target = _unwrap_optional(hint)
    value = getattr(value, "value", value) if hasattr(value, "edm_type") else value
    if value is None:
        return None
    origin = typing.get_origin(target) or target
    if origin in (list, tuple, dict):
        decoded = json.loads(value)
        return tuple(decoded) if origin is tuple else decoded
    if isinstance(origin, type) and issubclass(origin, enum.Enum):
        return origin(value)
    if origin is datetime:
        # The SDK returns its own datetime subclass; normalise to a plain aware datetime.
        if isinstance(value, datetime):
            utc = value.astimezone(UTC)
            return datetime(*utc.timetuple()[:6], utc.microsecond, tzinfo=UTC)
        return datetime.fromisoformat(value)
    if origin is int:
        return int(value)
    if origin is float:
        return float(value)
    if origin is bytes and isinstance(value, str):
        return value.encode()
    return value


def _unwrap_optional(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint
