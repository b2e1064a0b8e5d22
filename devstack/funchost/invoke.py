"""Calls a user function the way the Python worker does — trigger payload bound to the trigger's
parameter name, `context` if asked for, coroutines awaited — and logs every invocation with its
duration and outcome, like the host's "Executed 'Functions.x' (Succeeded, Duration=…)" line.

host.json's `functionTimeout` is enforced as the host does: past it the invocation fails (an HTTP
caller gets a bare 500, a queue message counts a failed try, a timer run is logged as failed) with
the host's "Timeout value of … exceeded" line. The real host then restarts the language worker, which
ends the runaway code; a thread cannot be killed, so here it runs on unseen and its result is
dropped (devstack/funchost/README.md)."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
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


class FunctionTimeout(Exception):
    """The invocation ran past host.json's `functionTimeout`."""


def invoke(function: LoadedFunction, payload: Any, timeout: timedelta | None = None) -> Any:
    """Run the function with `payload` bound to its trigger parameter; re-raise its exception, or
    raise `FunctionTimeout` when it runs longer than `timeout`."""
    invocation_id = str(uuid.uuid4())
    kwargs: dict[str, Any] = {function.trigger_arg: payload}
    if "context" in inspect.signature(function.user_function).parameters:
        kwargs["context"] = InvocationContext(invocation_id, function.name)
    started = time.perf_counter()
    outcome = "Failed"
    try:
        if timeout is None:
            result = _call(function, kwargs)
        else:
            result = _call_within(function, kwargs, timeout, invocation_id)
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


def _call(function: LoadedFunction, kwargs: dict[str, Any]) -> Any:
    result = function.user_function(**kwargs)
    if inspect.isawaitable(result):
        result = asyncio.run(_await(result))
    return result


def _call_within(
    function: LoadedFunction, kwargs: dict[str, Any], timeout: timedelta, invocation_id: str
) -> Any:
    """Run the call on its own thread (with the caller's context variables) and wait at most
    `timeout`; past it, give up on the thread and fail the invocation."""
    done = threading.Event()
    outcome: dict[str, Any] = {}
    context = contextvars.copy_context()

    def run() -> None:
        try:
            outcome["result"] = context.run(_call, function, kwargs)
        except BaseException as exc:  # handed to the waiting caller, as an inline call would raise it
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name=f"invocation-{function.name}", daemon=True).start()
    if not done.wait(timeout.total_seconds()):
        log.error(
            "Timeout value of %s exceeded by function 'Functions.%s' (Id: '%s'). Initiating cancellation.",
            format_timespan(timeout),
            function.name,
            invocation_id,
        )
        raise FunctionTimeout(
            f"Functions.{function.name} exceeded functionTimeout {format_timespan(timeout)}"
        )
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")


def format_timespan(value: timedelta) -> str:
    """`hh:mm:ss`, as host.json and the host's log lines write a TimeSpan."""
    seconds = int(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


async def _await(awaitable: Any) -> Any:
    return await awaitable
