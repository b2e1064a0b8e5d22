"""A small in-process memo with a time-to-live, for reads where a little staleness is harmless:
hot public paths (availability; the booking path re-reads its rows live) and a handed-out access
token (still valid for minutes after it is kept).

`ttl_memo(ttl_s)` is `cachetools.cached` over a bounded, thread-safe `TTLCache` (least recently
used entries go first when it is full); `forget(memoized, *args)` drops one entry at once, and
`forget_where(memoized, matches)` every entry whose arguments match, for writers that must not
wait out the TTL.
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


def forget_where(memoized: Callable[..., Any], matches: Callable[[tuple[Any, ...]], bool]) -> None:
    """Drop every answer of `memoized` whose positional arguments `matches`."""
    wrapper: Any = memoized
    with wrapper.cache_lock:
        for key in [k for k in wrapper.cache if matches(tuple(k))]:
            wrapper.cache.pop(key, None)
