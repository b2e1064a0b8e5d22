"""What the dev host reads besides the app: host.json (route prefix, queue semantics, timeout),
local.settings.json (`Values` become environment variables, as Core Tools does), `%SETTING%`
placeholders in binding values and the storage account a binding's `connection` names."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from lib.core.settings import STORAGE_CONNECTION, SettingsError, StorageSettings, load_storage_settings

_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?$")
_PLACEHOLDER = re.compile(r"%([^%]+)%")


class HostConfigError(ValueError):
    pass


def parse_timespan(value: str) -> timedelta:
    """A .NET TimeSpan as host.json writes it: `[d.]hh:mm:ss[.fff]`."""
    match = _TIMESPAN.match(value.strip())
    if not match:
        raise HostConfigError(f"not a TimeSpan: {value!r}")
    days, hours, minutes, seconds, fraction = match.groups()
    return timedelta(
        days=int(days or 0),
        hours=int(hours),
        minutes=int(minutes),
        seconds=int(seconds),
        microseconds=int((fraction or "0")[:6].ljust(6, "0")),
    )


@dataclass(frozen=True)
class QueueConfig:
    batch_size: int = 16
    new_batch_threshold: int = 8
    max_dequeue_count: int = 5
    visibility_timeout: timedelta = timedelta(0)
    max_polling_interval: timedelta = timedelta(minutes=1)


@dataclass(frozen=True)
class HostConfig:
    route_prefix: str = "api"
    function_timeout: timedelta | None = None
    queues: QueueConfig = QueueConfig()

    @classmethod
    def load(cls, path: Path) -> HostConfig:
        data = json.loads(path.read_text()) if path.exists() else {}
        ext = data.get("extensions", {})
        q = ext.get("queues", {})
        batch_size = int(q.get("batchSize", 16))
        queues = QueueConfig(
            batch_size=batch_size,
            new_batch_threshold=int(q.get("newBatchThreshold", batch_size // 2)),
            max_dequeue_count=int(q.get("maxDequeueCount", 5)),
            visibility_timeout=parse_timespan(q.get("visibilityTimeout", "00:00:00")),
            max_polling_interval=parse_timespan(q.get("maxPollingInterval", "00:01:00")),
        )
        timeout = data.get("functionTimeout")
        return cls(
            route_prefix=str(ext.get("http", {}).get("routePrefix", "api")).strip("/"),
            function_timeout=parse_timespan(timeout) if timeout else None,
            queues=queues,
        )


def load_local_settings(path: Path) -> dict[str, str]:
    """Put local.settings.json's `Values` into the environment unless already set; return them."""
    if not path.exists():
        return {}
    values = {k: str(v) for k, v in json.loads(path.read_text()).get("Values", {}).items()}
    for key, value in values.items():
        os.environ.setdefault(key, value)
    return values


def resolve_placeholders(value: str) -> str:
    """Replace `%NAME%` with the app setting NAME, as the host does for binding expressions."""

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise HostConfigError(f"binding refers to app setting {name!r}, which is not set")
        return os.environ[name]

    return _PLACEHOLDER.sub(lookup, value)


def storage_settings_for(connection: str | None) -> StorageSettings:
    """The storage account a binding's `connection` names, looked up as the host does: the settings
    `AzureWebJobs<name>`, then `<name>` — a connection string, or identity-based `<name>__accountName`
    / `<name>__queueServiceUri` (+ `__clientId`); no connection means `AzureWebJobsStorage`."""
    name = (connection or "").strip() or STORAGE_CONNECTION
    for prefix in (f"AzureWebJobs{name}", name):
        found = {
            STORAGE_CONNECTION + key[len(prefix) :]: value
            for key, value in os.environ.items()
            if (key == prefix or key.startswith(prefix + "__")) and value.strip()
        }
        if found:
            try:
                return load_storage_settings(found)
            except SettingsError as error:
                raise HostConfigError(f"storage connection {name!r}: {error}") from None
    raise HostConfigError(
        f"storage connection {name!r} is not set: no app setting {name!r} (a connection string) "
        f"or {name}__accountName / {name}__queueServiceUri"
    )
