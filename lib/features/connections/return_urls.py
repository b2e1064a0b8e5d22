"""Which return URLs and opener origins a connect may use: only those on the allowlist of origins
in settings, compared as exact origins after strict parsing (no scheme-relative `//host`, no
backslashes, no userinfo, no `javascript:`)."""

from __future__ import annotations

from urllib.parse import urlsplit

from lib.core.input_rules import text_fault

_MAX_URL = 2048


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an absolute http(s) URL, or None if it is not one we trust to parse."""
    if not url or len(url) > _MAX_URL or "\\" in url or " " in url or text_fault(url) is not None:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("https", "http") or not parts.hostname or "@" in parts.netloc:
        return None
    host = parts.hostname.lower()
    default = 443 if parts.scheme == "https" else 80
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def allowed_return_url(url: str | None, allowed_origins: tuple[str, ...]) -> str | None:
    """`url` if its origin is allowed, else None."""
    if not url:
        return None
    origin = origin_of(url)
    allowed = {origin_of(o) for o in allowed_origins}
    return url if origin is not None and origin in allowed else None


def allowed_origin(origin: str | None, allowed_origins: tuple[str, ...]) -> str | None:
    """The canonical form of `origin` if it is on the allowlist (a bare origin, no path)."""
    if not origin:
        return None
    canonical = origin_of(origin)
    if canonical is None or urlsplit(origin).path not in ("", "/"):
        return None
    return canonical if canonical in {origin_of(o) for o in allowed_origins} else None
