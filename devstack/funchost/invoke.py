"""Calls a user function the way the Python worker does — trigger payload bound to the trigger's
parameter name, `context` if asked for, coroutines awaited — and logs every invocation with its
duration and outcome, like the host's "Executed 'Functions.x' (Succeeded, Duration=…)" line."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("devstack.funchost")


@dataclass
class InvocationContext:
    """The subset of `azure.functions.Context` a function may read."""

    invocation_id: str
    function_name: str
    function_directory: str = "."


@dataclass(frozen=True)
class LoadedFunction:
    name: str
    trigger_type: str
    trigger: dict[str, Any]  # the trigger binding as function.json would hold it
    user_function: Callable[..., Any]

    @property
    def trigger_arg(self) -> str:
        return str(self.trigger["name"])


def invoke(function: LoadedFunction, payload: Any) -> Any:
    """Run the function with `payload` bound to its trigger parameter; re-raise its exception."""
    invocation_id = str(uuid.uuid4())
    kwargs: dict[str, Any] = {function.trigger_arg: payload}
    if "context" in inspect.signature(function.user_function).parameters:
        kwargs["context"] = InvocationContext(invocation_id, function.name)
    started = time.perf_counter()
    outcome = "Failed"
    try:
        result = function.user_function(**kwargs)
        if inspect.isawaitable(result):
            result = asyncio.run(_await(result))
        outcome = "Succeeded"
        return result
    finally:
        duration_ms = (time.perf_counter() - started) * 1000
        log.info(
            "Executed 'Functions.%s' (%s, Id=%s, Duration=%.0fms)",
            function.name,
            outcome,
            invocation_id,
            duration_ms,
        )


async def _await(awaitable: Any) -> Any:
    return await awaitable
