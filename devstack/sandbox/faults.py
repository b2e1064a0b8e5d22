"""Injected faults: each matches by method, path glob and/or account, and fires `count` times."""

from __future__ import annotations

import fnmatch
import itertools
import threading
from dataclasses import asdict, dataclass
from typing import Any, Literal

FaultKind = Literal["latency", "throttle", "unavailable", "reset", "reset_after_write", "error"]
FAULT_KINDS = ("latency", "throttle", "unavailable", "reset", "reset_after_write", "error")


@dataclass
class Fault:
    id: int
    kind: FaultKind
    count: int
    method: str | None = None
    path: str | None = None  # glob against the request path, e.g. "/v1.0/me/calendars/*/calendarview"
    account: str | None = None  # e-mail or id
    retry_after: int = 1
    latency_ms: int = 0
    # kind "error": the Graph error answered instead of handling the request.
    status: int = 0
    code: str = ""
    message: str = ""

    def matches(self, method: str, path: str, account_keys: set[str], in_batch: bool) -> bool:
        if in_batch and self.kind in ("reset", "reset_after_write"):
            return False  # a batch member has no connection of its own to drop
        if self.method and self.method.upper() != method.upper():
            return False
        if self.path and not fnmatch.fnmatchcase(path.lower(), self.path.lower()):
            return False
        return not (self.account and self.account.lower() not in account_keys)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._faults: list[Fault] = []

    def add(self, **spec: Any) -> Fault:
        kind = spec.get("kind")
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {FAULT_KINDS}")
        fault = Fault(
            id=next(self._ids),
            kind=kind,
            count=int(spec.get("count", 1)),
            method=spec.get("method"),
            path=spec.get("path"),
            account=spec.get("account"),
            retry_after=int(spec.get("retry_after", 1)),
            latency_ms=int(spec.get("latency_ms", 0)),
            status=int(spec.get("status") or 0),
            code=str(spec.get("code") or ""),
            message=str(spec.get("message") or ""),
        )
        if kind == "error" and not (400 <= fault.status <= 599 and fault.code):
            raise ValueError("an error fault needs a status 400-599 and a Graph error code")
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str, account_keys: set[str], in_batch: bool) -> Fault | None:
        """The first matching fault, with its count spent; exhausted faults disappear."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path, account_keys, in_batch):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_json() for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
