"""Timer triggers on their NCRONTAB schedules: six fields with seconds first, `%SETTING%`
placeholders resolved from app settings, `run_on_startup`, and `past_due` when the dev host fell
behind. One thread per timer; a timer never overlaps itself (the host holds a singleton lock)."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from azure.functions.timer import TimerRequest
from croniter import croniter

from devstack.funchost.config import HostConfigError, resolve_placeholders
from devstack.funchost.invoke import LoadedFunction, invoke

log = logging.getLogger("devstack.funchost")

PAST_DUE_AFTER = timedelta(seconds=1)


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


class TimerRunner:
    def __init__(self, function: LoadedFunction) -> None:
        self.function = function
        self.schedule = parse_ncrontab(str(function.trigger["schedule"]))
        self.run_on_startup = bool(function.trigger.get("runOnStartup", False))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"timer-{function.name}", daemon=True)
        self.fired = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _fire(self, due: datetime | None, last: datetime | None, upcoming: datetime) -> None:
        now = datetime.now(UTC)
        request = TimerRequest(
            past_due=due is not None and now - due > PAST_DUE_AFTER,
            schedule_status={
                "Last": last.isoformat() if last else None,
                "Next": upcoming.isoformat(),
                "LastUpdated": now.isoformat(),
            },
            schedule={"AdjustForDST": True},
        )
        try:
            invoke(self.function, request)
        except Exception:
            log.exception("Timer function '%s' raised", self.function.name)
        self.fired += 1

    def _loop(self) -> None:
        last: datetime | None = None
        due = next_occurrence(self.schedule, datetime.now(UTC))
        if self.run_on_startup:
            self._fire(None, None, due)
            last = datetime.now(UTC)
        while not self._stop.is_set():
            wait = (due - datetime.now(UTC)).total_seconds()
            if wait > 0 and self._stop.wait(wait):
                return
            upcoming = next_occurrence(self.schedule, max(due, datetime.now(UTC)))
            self._fire(due, last, upcoming)
            last, due = due, upcoming
