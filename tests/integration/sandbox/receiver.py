"""A local notification receiver for tests: answers Graph's validation handshake (or refuses to)
and records change/lifecycle notifications, answering with scripted statuses."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.http_server import ServerThread


class Receiver:
    def __init__(self, *, handshake: str = "echo", statuses: Iterable[int] = (), delay: float = 0.0) -> None:
        self.handshake = handshake  # echo | wrong | error | json
        self.statuses = list(statuses)
        self.delay = delay
        self.validations: list[str] = []
        self.posts: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ServerThread(self, name="receiver")
        self.url = self._server.url

    def start(self) -> Receiver:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        token = request.args.get("validationToken")
        if token is not None:
            with self._lock:
                self.validations.append(token)
            if self.handshake == "echo":
                resp = Response(token, 200, content_type="text/plain")
            elif self.handshake == "wrong":
                resp = Response("not-the-token", 200, content_type="text/plain")
            elif self.handshake == "json":
                resp = Response(json.dumps(token), 200, content_type="application/json")
            else:
                resp = Response("no", 500)
            return resp(environ, start_response)
        body = json.loads(request.get_data(as_text=True) or "{}")
        with self._lock:
            self.posts.append({"path": request.path, "body": body, "time": time.time()})
            status = self.statuses.pop(0) if self.statuses else 202
        if self.delay:
            time.sleep(self.delay)
        return Response(status=status)(environ, start_response)

    def notifications(self) -> list[dict[str, Any]]:
        with self._lock:
            return [item for post in self.posts for item in post["body"].get("value", [])]

    def wait(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.posts) >= count:
                    return list(self.posts)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} posts, got {self.posts}")
