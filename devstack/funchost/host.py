"""The functions dev host: loads `function_app.app` through `get_functions()` — the library's own
metadata, no second registry of routes — and runs its HTTP, timer and queue triggers."""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from devstack.funchost.config import HostConfig, load_local_settings, storage_settings_for
from devstack.funchost.http_gateway import HttpGateway
from devstack.funchost.invoke import LoadedFunction
from devstack.funchost.queues import QueueRunner
from devstack.funchost.timers import ScheduleMonitor, TimerRunner
from devstack.http_server import LOOPBACK, ServerThread

log = logging.getLogger("devstack.funchost")

ROOT = Path(__file__).resolve().parents[2]
# The dev host's own setting: keys accepted for FUNCTION-level routes (comma-separated).
FUNCTION_KEYS_SETTING = "DEVHOST_FUNCTION_KEYS"
# Platform CORS: on Azure the Function App's `siteConfig.cors.allowedOrigins`, which Bicep sets from
# the same setting; here read from it directly.
CORS_ORIGINS_SETTING = "SLOTBRIDGE_ALLOWED_ORIGINS"


_loaded: dict[str, list[LoadedFunction]] = {}


def load_functions(module_name: str = "function_app") -> list[LoadedFunction]:
    """Import the app module and describe each function by its trigger binding.

    Cached per module: `FunctionApp.get_functions()` may only be indexed once per app object, and a
    test run starts several hosts on one app.
    """
    if module_name in _loaded:
        return _loaded[module_name]
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    module = importlib.import_module(module_name)
    loaded = []
    for function in module.app.get_functions():
        trigger = function.get_trigger()
        if trigger is None:
            continue
        # The function.json form (enums as strings), exactly what the real host indexes.
        binding: dict[str, Any] = next(
            b
            for b in map(json.loads, function.get_raw_bindings())
            if b.get("type") == trigger.get_binding_name()
        )
        loaded.append(
            LoadedFunction(
                name=function.get_function_name(),
                trigger_type=str(binding["type"]),
                trigger=binding,
                user_function=function.get_user_function(),
            )
        )
    _loaded[module_name] = loaded
    return loaded


class DevHost:
    def __init__(
        self,
        *,
        port: int = 0,
        host: str = LOOPBACK,
        app_module: str = "function_app",
        host_json: Path = ROOT / "host.json",
        local_settings: Path | None = ROOT / "local.settings.json",
        run_timers: bool = True,
        run_queues: bool = True,
    ) -> None:
        if local_settings is not None:
            load_local_settings(local_settings)
        self.config = HostConfig.load(host_json)
        self.functions = load_functions(app_module)
        keys = os.environ.get(FUNCTION_KEYS_SETTING, "").split(",")
        origins = os.environ.get(CORS_ORIGINS_SETTING, "").split(",")
        self.gateway = HttpGateway(
            [f for f in self.functions if f.trigger_type == "httpTrigger"],
            self.config.route_prefix,
            keys,
            cors_origins=origins,
            function_timeout=self.config.function_timeout,
        )
        timer_functions = (
            [f for f in self.functions if f.trigger_type == "timerTrigger"] if run_timers else []
        )
        monitor = ScheduleMonitor.from_settings() if timer_functions else None
        self.timers = [TimerRunner(f, monitor, self.config.function_timeout) for f in timer_functions]
        self.queue_runners: list[QueueRunner] = []
        if run_queues:
            services: dict[str, Any] = {}
            for function in self.functions:
                if function.trigger_type != "queueTrigger":
                    continue
                # Each trigger reads the account its `connection` setting names, as the host does.
                connection = str(function.trigger.get("connection") or "")
                if connection not in services:
                    services[connection] = _queue_service(connection)
                self.queue_runners.append(
                    QueueRunner(
                        function, services[connection], self.config.queues, self.config.function_timeout
                    )
                )
        self._server = ServerThread(self.gateway, host=host, port=port, name="devhost")
        self.url = self._server.url
        self.api_url = f"{self.url}/{self.config.route_prefix}".rstrip("/")

    def start(self) -> DevHost:
        self._server.start()
        for timer in self.timers:
            timer.start()
        for runner in self.queue_runners:
            runner.start()
        log.info("Dev host listening on %s (%d functions)", self.url, len(self.functions))
        return self

    def stop(self) -> None:
        self._server.stop()
        for timer in self.timers:
            timer.stop()
        for runner in self.queue_runners:
            runner.stop()

    def __enter__(self) -> DevHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _queue_service(connection: str) -> Any:
    from lib.adapters.storage.clients import queue_service

    return queue_service(storage_settings_for(connection))
