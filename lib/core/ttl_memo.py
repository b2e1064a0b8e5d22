"""A small in-process memo with a time-to-live, for reads on hot public paths (availability)
where a few seconds of staleness is harmless: the booking path re-reads everything live.

`ttl_memo(ttl_s)` is `cachetools.cached` over a bounded, thread-safe `TTLCache` (least recently
used entries go first when it is full); `forget(memoized, *args)` drops one entry at once, for
writers that must not wait out the TTL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import cachetools

_P = ParamSpec("_P")
_R = TypeVar("_R")

CAPACITY = 5000


def ttl_memo(
    ttl_s: float, capacity: int = CAPACITY, clock: Callable[[], float] = time.monotonic
) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Remember a function's answer per arguments for `ttl_s` seconds (at most `capacity` answers).
    The lock guards the cache only: a miss loads outside it, as concurrent readers of one key may."""
    cache: cachetools.TTLCache[Any, Any] = cachetools.TTLCache(maxsize=capacity, ttl=ttl_s, timer=clock)
    return cachetools.cached(cache, lock=threading.Lock())


def forget(memoized: Callable[..., Any], *args: Any) -> None:
    """Drop the answer `memoized(*args)` remembers, if any."""
    wrapper: Any = memoized  # the attributes `cachetools.cached` puts on its wrapper
    with wrapper.cache_lock:
        wrapper.cache.pop(wrapper.cache_key(*args), None)
