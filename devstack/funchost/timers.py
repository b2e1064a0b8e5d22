"""Timer triggers on their NCRONTAB schedules: six fields with seconds first, `%SETTING%`
placeholders resolved from app settings, `run_on_startup`, and the host's schedule monitor. One
thread per timer; a timer never overlaps itself (the host holds a singleton lock).

The schedule monitor, as the host's timer extension keeps it (`StorageScheduleMonitorV2`): each
monitored timer's status (`Last`, `Next`, `LastUpdated`) is a JSON blob
`azure-webjobs-hosts/timers/<hostId>/Host.Functions.<name>/status` in the `AzureWebJobsStorage`
account, written after every run. At start a timer whose recorded `Next` has passed (the host was
down when it was due) runs at once with `past_due` set; a changed schedule is not past due. Timers
are monitored unless the binding says `useMonitor: false`, or their schedule repeats more often
than once a minute (the host's default). Regular runs never carry `past_due`, as on the host."""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from azure.functions.timer import TimerRequest
from croniter import croniter

from devstack.funchost.config import HostConfigError, resolve_placeholders, storage_settings_for
from devstack.funchost.invoke import LoadedFunction, invoke

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

log = logging.getLogger("devstack.funchost")
# The blob SDK logs every request's headers at INFO, as the others do (lib/adapters/storage/clients.py).
logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)

HOSTS_CONTAINER = "azure-webjobs-hosts"
# The real host's id setting (on Azure: the app's name, lower case, at most 32 characters).
HOST_ID_SETTING = "AzureFunctionsWebHost__hostid"
DEFAULT_HOST_ID = "slotbridge-devhost"
MONITOR_MIN_INTERVAL = timedelta(minutes=1)
# `DateTime.MinValue`: the host's "never" in a status.
NEVER = datetime.min.replace(tzinfo=UTC)


def parse_ncrontab(expression: str) -> str:
    """Validate an NCRONTAB expression (six fields, seconds first) and return it."""
    expression = resolve_placeholders(expression).strip()
    if len(expression.split()) != 6:
        raise HostConfigError(
            f"timer schedule {expression!r} must be NCRONTAB with six fields ({{second}} {{minute}} {{hour}} "
            "{day} {month} {day-of-week})"
        )
    if not croniter.is_valid(expression, second_at_beginning=True):
        raise HostConfigError(f"timer schedule {expression!r} is not a valid NCRONTAB expression")
    return expression


def next_occurrence(expression: str, after: datetime) -> datetime:
    result = croniter(expression, after, second_at_beginning=True).get_next(datetime)
    assert isinstance(result, datetime)
    return result


@dataclass(frozen=True)
class ScheduleStatus:
    last: datetime
    next: datetime
    last_updated: datetime

    def to_json(self) -> dict[str, str]:
        return {
            "Last": self.last.isoformat(),
            "Next": self.next.isoformat(),
            "LastUpdated": self.last_updated.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, str]) -> ScheduleStatus:
        def read(key: str) -> datetime:
            value = data.get(key)
            if not value:
                return NEVER
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

        return cls(read("Last"), read("Next"), read("LastUpdated"))


def check_past_due(
    expression: str, now: datetime, status: ScheduleStatus | None
) -> tuple[timedelta, ScheduleStatus, bool]:
    """The host's `CheckPastDueAsync`: how long past due the timer is (zero if not), the status to
    go on with, and whether that status must be written back (new timer, or changed schedule)."""
    if status is None:
        return timedelta(0), ScheduleStatus(NEVER, next_occurrence(expression, now), now), True
    changed = False
    if status.last != NEVER:
        expected, updated = next_occurrence(expression, status.last), status.last
    elif status.last_updated != NEVER:
        expected, updated = next_occurrence(expression, status.last_updated), status.last_updated
    else:
        expected, updated = next_occurrence(expression, now), now
    if status.next != expected:
        # The schedule changed: a next occurrence already past is not a missed run.
        if now > expected:
            expected, updated = next_occurrence(expression, now), now
        status, changed = ScheduleStatus(NEVER, expected, updated), True
    return (now - status.next if now > status.next else timedelta(0)), status, changed


class ScheduleMonitor:
    """Timer statuses as blobs in `azure-webjobs-hosts`, one per timer and host id."""

    def __init__(self, container: ContainerClient, host_id: str) -> None:
        self._container = container
        self.host_id = host_id

    @classmethod
    def from_settings(cls) -> ScheduleMonitor | None:
        """The monitor on `AzureWebJobsStorage`, or None (statuses kept in memory) when it is not a
        connection string: the dev host has no blob endpoint for identity-based settings."""
        from azure.core.exceptions import ResourceExistsError
        from azure.storage.blob import BlobServiceClient

        settings = storage_settings_for(None)
        if not settings.connection_string:
            log.warning("Timer statuses are kept in memory: AzureWebJobsStorage is not a connection string")
            return None
        container = BlobServiceClient.from_connection_string(settings.connection_string).get_container_client(
            HOSTS_CONTAINER
        )
        try:
            container.create_container()
        except ResourceExistsError:
            pass
        host_id = os.environ.get(HOST_ID_SETTING, "").strip().lower() or DEFAULT_HOST_ID
        return cls(container, host_id)

    def blob_name(self, function_name: str) -> str:
        return f"timers/{self.host_id}/Host.Functions.{function_name}/status"

    def get(self, function_name: str) -> ScheduleStatus | None:
        """The recorded status, or None: never recorded, or unreadable (as the host's
        `GetSafeStatusAsync`, which starts the timer afresh rather than not at all)."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            raw = self._container.download_blob(self.blob_name(function_name)).readall()
            return ScheduleStatus.from_json(json.loads(raw))
        except ResourceNotFoundError:
            return None
        except Exception:
            log.exception("Function '%s': the timer trigger status could not be read.", function_name)
            return None

    def update(self, function_name: str, status: ScheduleStatus) -> None:
        try:
            self._container.upload_blob(
                self.blob_name(function_name), json.dumps(status.to_json()), overwrite=True
            )
        except Exception:  # best effort, as on the host: the run itself happened
            log.exception("Function '%s' failed to update the timer trigger status.", function_name)


class TimerRunner:
    def __init__(
        self,
        function: LoadedFunction,
        monitor: ScheduleMonitor | None = None,
        function_timeout: timedelta | None = None,
    ) -> None:
        self.function = function
        self.schedule = parse_ncrontab(str(function.trigger["schedule"]))
        self.run_on_startup = bool(function.trigger.get("runOnStartup", False))
        use_monitor = function.trigger.get("useMonitor")
        self.monitor = (
            monitor if (self._monitored_by_default() if use_monitor is None else use_monitor) else None
        )
        self.function_timeout = function_timeout
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"timer-{function.name}", daemon=True)
        self.fired = 0

    def _monitored_by_default(self) -> bool:
        first = next_occurrence(self.schedule, datetime.now(UTC))
        return next_occurrence(self.schedule, first) - first >= MONITOR_MIN_INTERVAL

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _fire(
        self, status: ScheduleStatus, *, past_due: bool = False, on_startup: bool = False
    ) -> ScheduleStatus:
        """Run the function once; return the status after the run (written to the monitor)."""
        invoked_at = datetime.now(UTC)
        if past_due:
            log.info("Timer '%s' is past due (it was due at %s)", self.function.name, status.next.isoformat())
        request = TimerRequest(
            past_due=past_due, schedule_status=status.to_json(), schedule={"AdjustForDST": True}
        )
        try:
            invoke(self.function, request, self.function_timeout)
        except Exception:
            log.exception("Timer function '%s' raised", self.function.name)
        self.fired += 1
        # A run that starts a moment early counts as the scheduled one, so `Next` moves on.
        if not past_due and not on_startup and status.next > invoked_at:
            invoked_at = status.next
        after = ScheduleStatus(invoked_at, next_occurrence(self.schedule, invoked_at), invoked_at)
        if self.monitor is not None:
            self.monitor.update(self.function.name, after)
        return after

    def _loop(self) -> None:
        now = datetime.now(UTC)
        status: ScheduleStatus | None = None
        past_due = False
        if self.monitor is not None:
            recorded = self.monitor.get(self.function.name)
            overdue, status, changed = check_past_due(self.schedule, now, recorded)
            if changed:
                self.monitor.update(self.function.name, status)
            past_due = overdue > timedelta(0)
        if status is None:
            status = ScheduleStatus(NEVER, next_occurrence(self.schedule, now), NEVER)
        if past_due:
            status = self._fire(status, past_due=True)
        elif self.run_on_startup:
            status = self._fire(status, on_startup=True)
        while not self._stop.is_set():
            wait = (status.next - datetime.now(UTC)).total_seconds()
            if wait > 0 and self._stop.wait(wait):
                return
            status = self._fire(status)
