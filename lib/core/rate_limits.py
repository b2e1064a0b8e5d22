"""Rate limits of the anonymous routes (availability, booking writes), per client address and per link
(or booking), with the `limits` package: a moving window in this instance's memory. Each instance
counts on its own, so N instances allow up to N times the rate; Front Door / WAF rate limits in front
are the fleet-wide guard (docs/operations.md).

The client address is the first hop of `X-Forwarded-For`, as App Service / Front Door set it (the dev
host sets it from the socket peer). A client can put its own first hop in front of the real one, so
this limit trusts the edge: where that matters, a WAF rule keyed on the socket address stands before
the app. Without the header the address is unknown and all such callers share one key.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from lib.core.errors import RateLimited
from lib.core.settings import settings_cached

UNKNOWN_ADDRESS = "unknown"


def client_address(headers: Mapping[str, str]) -> str:
    """The caller's address from `X-Forwarded-For`'s first hop, without its port."""
    forwarded = headers.get("x-forwarded-for") or headers.get("X-Forwarded-For") or ""
    hop = forwarded.split(",", 1)[0].strip()
    if hop.startswith("["):  # [IPv6]:port
        hop = hop[1:].split("]", 1)[0]
    elif hop.count(":") == 1:  # IPv4:port (a bare IPv6 address has several colons)
        hop = hop.split(":", 1)[0]
    return hop[:64] or UNKNOWN_ADDRESS


class RateLimiter:
    def __init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, rate: str, *key: str) -> None:
        """Count one request against `rate` for `key`; `RateLimited` (nothing counted) when spent."""
        item: RateLimitItem = parse(rate)
        if self._limiter.hit(item, *key):
            return
        reset_at = self._limiter.get_window_stats(item, *key).reset_time
        raise RateLimited(
            "Too many requests; try again later.", retryAfter=max(1, math.ceil(reset_at - time.time()))
        )


@settings_cached
def limiter() -> RateLimiter:
    """This instance's counters (a settings reset, as tests do, starts them afresh)."""
    return RateLimiter()


def limit(scope: str, address: str, resource: str, per_address: str, per_resource: str) -> None:
    """One request of `scope` from `address` on `resource` (a link slug, a booking id)."""
    counters = limiter()
    counters.hit(per_address, scope, "address", address)
    counters.hit(per_resource, scope, "resource", resource)
