"""URL building for Graph: query strings Graph reads correctly, the same-origin check for the
links Graph hands back, and a log-safe path template."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

ParamValue = str | int | float | bool
Params = Mapping[str, ParamValue]

# Kept literal: `$` of OData options, and the punctuation of $select/$filter/$orderby expressions.
# Everything else (space, +, &, =, #, %) is percent-encoded; a space becomes %20, never `+`.
_SAFE_KEY = "$"
_SAFE_VALUE = "$,:'()/@*"
_DEFAULT_PORTS = {"https": 443, "http": 80}


def _format(value: ParamValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def query_string(params: Params | None) -> str:
    if not params:
        return ""
    return "&".join(
        f"{quote(key, safe=_SAFE_KEY)}={quote(_format(value), safe=_SAFE_VALUE)}"
        for key, value in params.items()
    )


def with_query(path: str, params: Params | None) -> str:
    qs = query_string(params)
    if not qs:
        return path
    return f"{path}{'&' if '?' in path else '?'}{qs}"


def join(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)


def is_same_origin(base_url: str, link: str) -> bool:
    """Whether `link` is on base_url's scheme, host and port, and under its path (e.g. `/v1.0/`).
    Graph's nextLink/deltaLink are absolute; following one elsewhere would send the bearer token
    to a foreign host."""
    parts = urlsplit(link)
    if parts.username is not None or parts.password is not None:
        return False
    if _origin(base_url) != _origin(link) or not parts.hostname:
        return False
    base_path = urlsplit(base_url).path.rstrip("/").lower() + "/"
    return (parts.path.lower() + ("/" if not parts.path.endswith("/") else "")).startswith(base_path)


_ID_LIKE = re.compile(r"^(?:[0-9a-f-]{16,}|\d+|.{24,}|.*[=@%+].*)$", re.IGNORECASE)


def path_template(url_or_path: str) -> str:
    """The path without query and with id-like segments replaced by `{id}`, for logs: no ids,
    e-mail addresses, skip/delta tokens or anything else from the query string."""
    path = urlsplit(url_or_path).path if "://" in url_or_path else url_or_path.split("?", 1)[0]
    segments = ["{id}" if seg and _ID_LIKE.match(seg) else seg for seg in path.split("/")]
    return "/".join(segments)
