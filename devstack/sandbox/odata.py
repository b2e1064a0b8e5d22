"""The slice of OData query options and Prefer headers the sandbox understands."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from .timeutil import resolve_tz
from .web import GraphError

_PREF_TZ = re.compile(r'outlook\.timezone\s*=\s*"([^"]*)"', re.IGNORECASE)
_PREF_PAGE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)", re.IGNORECASE)
_FILTER_TXN = re.compile(r"^\s*transactionId\s+eq\s+'((?:[^']|'')*)'\s*$", re.IGNORECASE)
_FILTER_EP = re.compile(
    r"^\s*singleValueExtendedProperties/any\(\s*(\w+)\s*:\s*\1/id\s+eq\s+'((?:[^']|'')*)'"
    r"\s+and\s+\1/value\s+eq\s+'((?:[^']|'')*)'\s*\)\s*$",
    re.IGNORECASE,
)
_EXPAND_EP = re.compile(
    r"^\s*singleValueExtendedProperties(?:\(\s*\$filter\s*=\s*id\s+eq\s+'((?:[^']|'')*)'\s*\))?\s*$",
    re.IGNORECASE,
)


def query(args: Mapping[str, str], name: str) -> str | None:
    """OData options are case-insensitive and the `$` is optional in Graph v1.0."""
    for key, value in args.items():
        if key.lower() in (f"${name}".lower(), name.lower()):
            return value
    return None


def select_fields(args: Mapping[str, str]) -> list[str] | None:
    raw = query(args, "select")
    if not raw:
        return None
    return [f.strip() for f in raw.split(",") if f.strip()]


def apply_select(item: dict[str, Any], fields: list[str] | None, expanded: bool = False) -> dict[str, Any]:
    """Keep the `$select`ed fields; an `$expand`ed navigation property stays too, as on Graph."""
    if fields is None:
        return item
    wanted = {f.lower() for f in fields} | {"id", "@odata.etag"}
    if expanded:
        wanted.add("singlevalueextendedproperties")
    return {k: v for k, v in item.items() if k.lower() in wanted or k.startswith("@")}


def top(args: Mapping[str, str], default: int, maximum: int) -> int:
    raw = query(args, "top")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise GraphError(400, "BadRequest", f"Invalid value '{raw}' for $top query option.") from None
    if value < 1 or value > maximum:
        raise GraphError(400, "BadRequest", f"The value of $top must be between 1 and {maximum}.")
    return value


def skip(args: Mapping[str, str]) -> int:
    raw = query(args, "skip")
    try:
        return max(0, int(raw)) if raw else 0
    except ValueError:
        raise GraphError(400, "BadRequest", f"Invalid value '{raw}' for $skip query option.") from None


def prefer_timezone(prefer: str | None) -> str | None:
    """The outlook.timezone preference (from a Prefer header) if it names a zone Graph knows."""
    m = _PREF_TZ.search(prefer or "")
    if m and resolve_tz(m.group(1)) is not None:
        return m.group(1)
    return None


def prefer_page_size(prefer: str | None) -> int | None:
    m = _PREF_PAGE.search(prefer or "")
    return int(m.group(1)) if m else None


def _unquote(value: str) -> str:
    return value.replace("''", "'")


def parse_filter(raw: str | None) -> tuple[str, Any] | None:
    """Supported: `transactionId eq '...'` and the extended-property `any` lambda."""
    if not raw:
        return None
    m = _FILTER_TXN.match(raw)
    if m:
        return ("transactionId", _unquote(m.group(1)))
    m = _FILTER_EP.match(raw)
    if m:
        return ("extendedProperty", (_unquote(m.group(2)), _unquote(m.group(3))))
    raise GraphError(400, "BadRequest", f"The sandbox does not support this $filter expression: {raw}")


def parse_expand(raw: str | None) -> tuple[bool, str | None]:
    """(expand extended properties?, only the one with this id)."""
    if not raw:
        return (False, None)
    m = _EXPAND_EP.match(raw)
    if not m:
        raise GraphError(400, "BadRequest", f"The sandbox does not support this $expand expression: {raw}")
    return (True, _unquote(m.group(1)) if m.group(1) else None)


def next_link(base_url: str, path: str, params: Iterable[tuple[str, str]]) -> str:
    # Graph writes its links with a literal `$` ($skip, $skiptoken, $deltatoken).
    return f"{base_url}{path}?{urlencode(list(params), safe='$')}"
