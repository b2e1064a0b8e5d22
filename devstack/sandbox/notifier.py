"""Delivery of change and lifecycle notifications from background threads, with retries.

A delivery succeeds on a 2xx answered within `notification_timeout` (Graph's 3 seconds); otherwise
it is retried after `notification_retry_delays` (the last delay repeats) until
`notification_max_age` has passed, then given up. Several workers run so one slow receiver does not
hold up the others. The Google stand-in uses it too: its push messages have no body, only headers.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import requests

from lib.adapters.outbound_http import make_session


class NotifierConfig(Protocol):
    """What the notifier reads from its owner's config (SandboxConfig, GoogleConfig)."""

    notification_timeout: float
    notification_retry_delays: tuple[float, ...]
    notification_max_age: float
    notification_ca_bundle: str | None


Status = Literal["pending", "delivered", "dropped", "failed"]


@dataclass
class Delivery:
    id: int
    url: str
    payload: dict[str, Any] | None  # None: an empty body (Google push)
    kind: str  # "change" | "lifecycle" | Google's resource state
    created: float
    next_at: float
    headers: dict[str, str] = field(default_factory=dict)
    status: Status = "pending"
    attempts: list[dict[str, Any]] = field(default_factory=list)
    busy: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "kind": self.kind,
            "payload": self.payload,
            "headers": dict(self.headers),
            "status": self.status,
            "attempts": list(self.attempts),
        }


class Notifier:
    def __init__(self, config: NotifierConfig, workers: int = 4) -> None:
        self.config = config
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self._deliveries: list[Delivery] = []
        self._drop = 0
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._run, name=f"sandbox-notifier-{i}", daemon=True)
            for i in range(workers)
        ]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for t in self._threads:
            if t.is_alive():
                t.join(timeout=self.config.notification_timeout + 2)

    def reset(self) -> None:
        with self._cond:
            self._deliveries.clear()
            self._drop = 0

    def drop_next(self, count: int) -> None:
        with self._cond:
            self._drop += count

    def enqueue(
        self,
        url: str,
        payload: dict[str, Any] | None,
        kind: str,
        headers: dict[str, str] | None = None,
        droppable: bool | None = None,
    ) -> Delivery:
        now = time.time()
        with self._cond:
            d = Delivery(next(self._ids), url, payload, kind, now, now, headers=dict(headers or {}))
            if self._drop > 0 and (kind == "change" if droppable is None else droppable):
                self._drop -= 1
                d.status = "dropped"
            self._deliveries.append(d)
            self._cond.notify_all()
        return d

    def deliveries(self) -> list[dict[str, Any]]:
        with self._cond:
            return [d.to_json() for d in self._deliveries]

    # --- workers --------------------------------------------------------------------------------

    def _next_due(self) -> Delivery | None:
        """Under the condition's lock: claim a due delivery, or wait until one may be due."""
        while not self._stopping:
            now = time.time()
            waiting = [d for d in self._deliveries if d.status == "pending" and not d.busy]
            due = [d for d in waiting if d.next_at <= now]
            if due:
                d = min(due, key=lambda x: x.next_at)
                d.busy = True
                return d
            timeout = min((d.next_at for d in waiting), default=now + 1.0) - now
            self._cond.wait(timeout=max(0.01, min(timeout, 1.0)))
        return None

    def _run(self) -> None:
        session = make_session(self.config.notification_ca_bundle)
        while True:
            with self._cond:
                d = self._next_due()
            if d is None:
                return
            attempt = self._send(session, d)
            with self._cond:
                d.busy = False
                d.attempts.append(attempt)
                if attempt["ok"]:
                    d.status = "delivered"
                elif time.time() - d.created >= self.config.notification_max_age:
                    d.status = "failed"
                else:
                    delays = self.config.notification_retry_delays or (1.0,)
                    d.next_at = time.time() + delays[min(len(d.attempts) - 1, len(delays) - 1)]
                self._cond.notify_all()

    def _send(self, session: requests.Session, d: Delivery) -> dict[str, Any]:
        timeout = self.config.notification_timeout
        started = time.monotonic()
        record: dict[str, Any] = {"time": time.time()}
        try:
            resp = session.post(
                d.url, json=d.payload, headers=d.headers or None, timeout=timeout, allow_redirects=False
            )
            elapsed = time.monotonic() - started
            record.update(status=resp.status_code, ms=round(elapsed * 1000, 1))
            record["ok"] = 200 <= resp.status_code < 300 and elapsed <= timeout
            if elapsed > timeout:
                record["error"] = "slow"
        except requests.RequestException as e:
            record.update(ok=False, error=type(e).__name__, ms=round((time.monotonic() - started) * 1000, 1))
        return record
