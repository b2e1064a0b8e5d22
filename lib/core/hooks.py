"""Hooks: how a lower layer tells a higher one that something happened, without importing it.

A feature that has news declares a `Hook` next to its records (`connections.hooks`, `sync.changes`)
and publishes to it; the features above that care are installed as listeners by
`functions/wiring.py`, once, at start-up — never by an import's side effect, so who listens to whom
is written in one place. The publisher decides what a failing listener means for it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

E = TypeVar("E")
R = TypeVar("R")


class Hook(Generic[E, R]):
    def __init__(self, name: str) -> None:
        self.name = name
        self._listeners: tuple[Callable[[E], R], ...] = ()
        self._lock = threading.Lock()

    def listen(self, listener: Callable[[E], R]) -> None:
        """Add a listener (installing the same one twice keeps one)."""
        with self._lock:
            if listener not in self._listeners:
                self._listeners = (*self._listeners, listener)

    def forget(self, listener: Callable[[E], R]) -> None:
        with self._lock:
            self._listeners = tuple(x for x in self._listeners if x != listener)

    @property
    def listeners(self) -> tuple[Callable[[E], R], ...]:
        return self._listeners

    def publish(self, event: E) -> list[R]:
        """Every listener in the order installed; an exception stops here and reaches the publisher."""
        return [listener(event) for listener in self._listeners]
