"""Which provider object answers for a provider name (a link host's `calendarProvider`, a
connection's `provider`). `functions/wiring.py` installs a factory per name at start-up; each
provider is built on first use, so a cold start loads no provider's SDK."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lib.providers.base import CalendarProvider

_lock = threading.Lock()
_factories: dict[str, Callable[[], CalendarProvider]] = {}
_built: dict[str, CalendarProvider] = {}


class UnknownProvider(LookupError):
    """No provider is installed under this name (a wiring mistake, not a caller's)."""


def install(name: str, factory: Callable[[], CalendarProvider]) -> None:
    """Answer for `name` with what `factory()` builds (replacing what was installed before)."""
    with _lock:
        _factories[name] = factory
        _built.pop(name, None)


def installed() -> frozenset[str]:
    return frozenset(_factories)


def provider_for(name: str) -> CalendarProvider:
    """The provider installed under `name`, built once."""
    found = _built.get(name)
    if found is not None:
        return found
    with _lock:
        if name not in _built:
            factory = _factories.get(name)
            if factory is None:
                raise UnknownProvider(f"no calendar provider is installed for {name!r}")
            _built[name] = factory()
        return _built[name]
