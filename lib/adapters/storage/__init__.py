"""Table and Queue Storage for Slotbridge: `storage_account()` is the process-wide entry point.

    from lib.adapters.storage import storage_account
    connections = storage_account().table(ConnectionRecord)

Clients and `Table` objects are built once per process and reused (they are thread-safe), so a warm
function invocation pays no set-up cost.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, TypeVar

from lib.adapters.storage.queues import QueueWriter
from lib.adapters.storage.records import TableRecord
from lib.adapters.storage.tables import Table, translated_errors
from lib.core.settings import StorageSettings, get_settings, settings_cached

if TYPE_CHECKING:
    from azure.data.tables import TableServiceClient

R = TypeVar("R", bound=TableRecord)


class StorageAccount:
    """The tables and queues of one storage account, named with the settings' table prefix."""

    def __init__(self, storage: StorageSettings, table_prefix: str) -> None:
        from lib.adapters.storage.clients import queue_service, table_service

        self.table_prefix = table_prefix
        self.table_service: TableServiceClient = table_service(storage)
        self.queues = QueueWriter(queue_service(storage))
        self._tables: dict[type[Any], Table[Any]] = {}
        self._lock = threading.Lock()

    def table_name(self, record_type: type[TableRecord]) -> str:
        return f"{self.table_prefix}{record_type.table_kind}"

    def table(self, record_type: type[R]) -> Table[R]:
        with self._lock:
            table = self._tables.get(record_type)
            if table is None:
                table = Table(self.table_service, record_type, self.table_name(record_type))
                self._tables[record_type] = table
            return table

    def ping(self) -> None:
        """One cheap round trip to Table Storage; raises `StorageUnavailable` if it does not answer."""
        with translated_errors("storage"):
            next(iter(self.table_service.list_tables(results_per_page=1)), None)


@settings_cached
def storage_account() -> StorageAccount:
    settings = get_settings()
    return StorageAccount(settings.storage, settings.table_prefix)
