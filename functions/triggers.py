"""The queue and timer triggers' edge: one trace span per message or timer run when telemetry is on
(`lib.core.telemetry.invocation`), under a fresh correlation id that the run's log lines carry.
HTTP handlers get theirs from `functions.http_io`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Literal, ParamSpec

from lib.core import telemetry

P = ParamSpec("P")


def traced_trigger(kind: Literal["queue", "timer"]) -> Callable[[Callable[P, None]], Callable[P, None]]:
    def decorate(handler: Callable[P, None]) -> Callable[P, None]:
        @functools.wraps(handler)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
            telemetry.begin_request({})
            with telemetry.invocation(handler.__name__, kind):
                handler(*args, **kwargs)

        return wrapper

    return decorate
