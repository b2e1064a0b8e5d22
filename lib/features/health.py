"""The health report behind `GET /health`: whether each dependency answers (Table Storage, and the
key store holding the token-encryption key). Never a secret, a connection string or an exception
message — only names and states."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from lib.adapters.keyvault import data_keys
from lib.adapters.storage import storage_account
from lib.core.errors import SlotbridgeError

log = logging.getLogger("slotbridge.health")


@dataclass(frozen=True)
class HealthReport:
    checks: dict[str, str]

    @property
    def healthy(self) -> bool:
        return all(state == "ok" for state in self.checks.values())

    def to_dict(self) -> dict[str, object]:
        return {"status": "ok" if self.healthy else "degraded", "checks": self.checks}


def check_health() -> HealthReport:
    checks: dict[str, str] = {}
    try:
        storage_account().ping()
        checks["storage"] = "ok"
    except SlotbridgeError as error:
        log.warning("Health: storage is unavailable (%s)", error.code)
        checks["storage"] = "unavailable"
    try:
        data_keys().current()
        checks["keys"] = "ok"
    except SlotbridgeError as error:
        log.warning("Health: the data key is unavailable (%s)", error.code)
        checks["keys"] = "unavailable"
    return HealthReport(checks)
