"""The Table Storage layer: one `Table[R]` per record kind over azure-data-tables.

- `create` is insert-only: a 409 becomes `AlreadyExists`.
- `update` and `delete` are conditional on the record's ETag: a 412 becomes `ConcurrentUpdate`.
  Unconditional writes (`upsert_entity`, `update_entity` without an ETag) are not offered for shared
  rows; `put` exists only for rows that have a single writer by construction.
- `mutate` is the read-modify-write loop that retries on 412 a bounded number of times.
- `transact` runs at most 100 operations of one partition atomically; `transact_chunked` splits a
  larger set into such transactions (atomic per chunk only) for callers that can accept that.
- `query` pages through results with bound parameters; filters are never built by formatting values.
- Kinds that share a table keep to their own RowKey range (`TableRecord.rows()`), which every query
  of a kind adds; `read_together` reads several such kinds of one partition in one request, and may
  answer from what it read at most `max_age_s` ago (`_PartitionMemo`): every write this process
  makes through a `Table` drops what is remembered of that partition, so only other processes'
  writes can be missed, and for at most `max_age_s`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from lib.adapters.storage.keys import compose_key
from lib.adapters.storage.records import TableRecord, record_fields
from lib.core.errors import Conflict, NotFound, ServiceUnavailable

if TYPE_CHECKING:
    from azure.data.tables import TableClient, TableServiceClient

R = TypeVar("R", bound=TableRecord)

MAX_BATCH_OPERATIONS = 100
# Jitter from a generator of its own: the global one belongs to whoever seeds it (test frameworks do).
_JITTER = random.Random()
DEFAULT_MUTATE_ATTEMPTS = 8

BatchAction = Literal["create", "update", "delete", "put"]
KeyParts = str | Sequence[str]


class AlreadyExists(Conflict):
    code = "conflict"
    title = "Already exists"


class ConcurrentUpdate(Conflict):
    """The record changed since it was read (ETag mismatch), and retrying did not resolve it."""

    title = "Changed concurrently"


class RecordNotFound(NotFound):
    pass


class StorageUnavailable(ServiceUnavailable):
    title = "Storage is unavailable"


class BatchTooLarge(ValueError):
    """More than 100 operations, or several partitions, asked to run as one transaction."""


def _compose(parts: KeyParts, what: str) -> str:
    return compose_key(parts, what=what) if isinstance(parts, str) else compose_key(*parts, what=what)


@contextlib.contextmanager
def translated_errors(kind: str) -> Iterator[None]:
    """Turn SDK errors into the domain's typed errors at the boundary."""
    from azure.core.exceptions import (
        HttpResponseError,
        ResourceExistsError,
        ResourceModifiedError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )

    try:
        yield
    except ResourceExistsError as exc:
        raise AlreadyExists(f"The {kind} record already exists.") from exc
    except ResourceModifiedError as exc:
        raise ConcurrentUpdate(f"The {kind} record was changed by someone else.") from exc
    except ResourceNotFoundError as exc:
        raise RecordNotFound(f"The {kind} record does not exist.") from exc
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise StorageUnavailable(f"Table Storage did not answer ({type(exc).__name__}).") from exc
    except HttpResponseError as exc:
        if exc.status_code == 412:
            raise ConcurrentUpdate(f"The {kind} record was changed by someone else.") from exc
        if exc.status_code in (500, 503):
            raise StorageUnavailable(f"Table Storage answered {exc.status_code}.") from exc
        raise


class Table(Generic[R]):
    """Typed access to the table of one record kind. Creates its table on first use."""

    def __init__(self, service: TableServiceClient, record_type: type[R], table_name: str) -> None:
        self.record_type = record_type
        self.name = table_name
        self._service = service
        self._client: TableClient = service.get_table_client(table_name)
        self._ready = False
        self._ready_lock = threading.Lock()
        self._select = [f.name for f in record_fields(record_type)] if record_type.projection else None

    @property
    def _kind(self) -> str:
        return self.record_type.table_kind

    @contextlib.contextmanager
    def _writing(self, partitions: Iterable[str]) -> Iterator[None]:
        """Around a write: what `read_together` remembers of the partitions is dropped before and
        after it (also when it fails: a timed-out write may still have happened)."""
        keys = [(self._client.url, pk) for pk in set(partitions)]
        _MEMO.written(keys)
        try:
            yield
        finally:
            _MEMO.written(keys)

    def _writable(self) -> TableClient:
        if self.record_type.projection:
            raise TypeError(f"{self.record_type.__name__} is a read-only projection")
        return self._table()

    def _table(self) -> TableClient:
        if not self._ready:
            with self._ready_lock, translated_errors(self._kind):
                if not self._ready:
                    self._service.create_table_if_not_exists(self.name)
                    self._ready = True
        return self._client

    # -- single records -------------------------------------------------------------------------

    def create(self, record: R) -> R:
        """Insert-only: `AlreadyExists` if a record with the same keys is stored."""
        entity = record.to_entity()
        with self._writing([record.partition_key]), translated_errors(self._kind):
            meta = self._writable().create_entity(entity)
        record.etag = meta.get("etag")
        return record

    def find(self, partition: KeyParts, row: KeyParts) -> R | None:
        try:
            return self.get(partition, row)
        except RecordNotFound:
            return None

    def get(self, partition: KeyParts, row: KeyParts) -> R:
        pk = _compose(partition, "partition key")
        rk = self.record_type.compose_row_key(*((row,) if isinstance(row, str) else row))
        with translated_errors(self._kind):
            entity = self._table().get_entity(pk, rk, select=self._select)
        return self.record_type.from_entity(entity, entity.metadata.get("etag"))

    def update(self, record: R) -> R:
        """Replace the stored record if it still has `record.etag`; else `ConcurrentUpdate`."""
        from azure.core import MatchConditions
        from azure.data.tables import UpdateMode

        if not record.etag:
            raise ValueError("update needs the ETag of a read; use create for new records")
        entity = record.to_entity()
        with self._writing([record.partition_key]), translated_errors(self._kind):
            meta = self._writable().update_entity(
                entity,
                mode=UpdateMode.REPLACE,
                etag=record.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        record.etag = meta.get("etag")
        return record

    def put(self, record: R) -> R:
        """Last-writer-wins upsert, only for rows with a single writer (e.g. a cache a lock guards)."""
        from azure.data.tables import UpdateMode

        with self._writing([record.partition_key]), translated_errors(self._kind):
            meta = self._writable().upsert_entity(record.to_entity(), mode=UpdateMode.REPLACE)
        record.etag = meta.get("etag")
        return record

    def delete(self, record: R) -> None:
        """Delete if unchanged since read (ETag); a record already gone is not an error."""
        from azure.core import MatchConditions

        if not record.etag:
            raise ValueError("delete needs the ETag of a read")
        with self._writing([record.partition_key]), translated_errors(self._kind):
            self._writable().delete_entity(
                record.partition_key,
                record.row_key,
                etag=record.etag,
                match_condition=MatchConditions.IfNotModified,
            )

    def mutate(
        self,
        partition: KeyParts,
        row: KeyParts,
        change: Callable[[R], R | None],
        *,
        attempts: int = DEFAULT_MUTATE_ATTEMPTS,
    ) -> R:
        """Read, apply `change`, write back under the ETag; on 412 read again and re-apply.

        `change` gets a fresh copy each attempt and returns the new record, or None to leave the
        stored one as it is (then the current record is returned). Raises `RecordNotFound` if there
        is nothing to change and `ConcurrentUpdate` after `attempts` lost races.
        """
        for attempt in range(attempts):
            current = self.get(partition, row)
            changed = change(current)
            if changed is None:
                return current
            changed.etag = current.etag
            try:
                return self.update(changed)
            except ConcurrentUpdate:
                # Jittered backoff spreads out writers that keep colliding on one hot row.
                time.sleep(_JITTER.uniform(0, 0.005 * 2**attempt))
        raise ConcurrentUpdate(f"The {self._kind} record kept changing; gave up after {attempts} attempts.")

    # -- transactions -------------------------------------------------------------------------

    def transact(self, operations: Sequence[tuple[BatchAction, R]]) -> None:
        """Run up to 100 operations on one partition atomically (all or nothing)."""
        if not operations:
            return
        if len(operations) > MAX_BATCH_OPERATIONS:
            raise BatchTooLarge(
                f"{len(operations)} operations do not fit one transaction (at most {MAX_BATCH_OPERATIONS})."
            )
        partitions = {record.partition_key for _, record in operations}
        if len(partitions) != 1:
            raise BatchTooLarge("A transaction may only touch one partition.")
        self._submit(operations)

    def transact_chunked(self, operations: Sequence[tuple[BatchAction, R]]) -> int:
        """Run any number of operations as transactions of at most 100 per partition.

        Each chunk is atomic; the whole set is not. Returns the number of transactions submitted.
        """
        by_partition: dict[str, list[tuple[BatchAction, R]]] = {}
        for op in operations:
            by_partition.setdefault(op[1].partition_key, []).append(op)
        submitted = 0
        for ops in by_partition.values():
            for start in range(0, len(ops), MAX_BATCH_OPERATIONS):
                self._submit(ops[start : start + MAX_BATCH_OPERATIONS])
                submitted += 1
        return submitted

    def _submit(self, operations: Sequence[tuple[BatchAction, R]]) -> None:
        from azure.core import MatchConditions
        from azure.data.tables import TableTransactionError, UpdateMode

        batch: list[Any] = []
        for action, record in operations:
            entity = record.to_entity()
            if action == "create":
                batch.append(("create", entity))
            elif action == "update":
                batch.append(
                    (
                        "update",
                        entity,
                        {
                            "mode": UpdateMode.REPLACE,
                            "etag": record.etag,
                            "match_condition": MatchConditions.IfNotModified,
                        },
                    )
                )
            elif action == "delete":
                batch.append(
                    (
                        "delete",
                        entity,
                        {"etag": record.etag, "match_condition": MatchConditions.IfNotModified},
                    )
                )
            else:
                batch.append(("upsert", entity, {"mode": UpdateMode.REPLACE}))
        try:
            with (
                self._writing(record.partition_key for _, record in operations),
                translated_errors(self._kind),
            ):
                results = self._writable().submit_transaction(batch)
        except TableTransactionError as exc:
            code = str(getattr(exc, "error_code", "") or "")
            if code == "EntityAlreadyExists":
                raise AlreadyExists(f"A {self._kind} record in the transaction already exists.") from exc
            if code == "UpdateConditionNotSatisfied":
                raise ConcurrentUpdate(f"A {self._kind} record in the transaction changed.") from exc
            if code == "ResourceNotFound":
                raise RecordNotFound(f"A {self._kind} record in the transaction does not exist.") from exc
            raise
        for (action, record), meta in zip(operations, results, strict=False):
            record.etag = None if action == "delete" else meta.get("etag")

    # -- queries -------------------------------------------------------------------------

    def query(
        self,
        partition: KeyParts | None = None,
        where: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        *,
        page_size: int = 1000,
    ) -> Iterator[R]:
        """Every record matching; pages are fetched as the iterator advances.

        `where` is a constant OData filter written in code, with `@name` placeholders bound from
        `parameters` by the SDK (which quotes them) — never a string built from input.
        """
        with translated_errors(self._kind):
            for entity in self._pager(partition, where, parameters, page_size):
                yield self.record_type.from_entity(entity, entity.metadata.get("etag"))

    def query_page(
        self,
        partition: KeyParts | None = None,
        where: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        *,
        page_size: int = 100,
        continuation: Any = None,
    ) -> tuple[list[R], Any]:
        """One page of results and the opaque token for the next (None when done)."""
        with translated_errors(self._kind):
            pager = self._pager(partition, where, parameters, page_size).by_page(
                continuation_token=continuation
            )
            page: list[Any] = next(pager, [])
            records = [self.record_type.from_entity(e, e.metadata.get("etag")) for e in page]
            return records, pager.continuation_token

    def _pager(
        self,
        partition: KeyParts | None,
        where: str | None,
        parameters: Mapping[str, Any] | None,
        page_size: int,
    ) -> Any:
        params = dict(parameters or {})
        clauses = []
        if partition is not None:
            params["pk"] = _compose(partition, "partition key")
            clauses.append("PartitionKey eq @pk")
        kind_rows = _kind_rows(self.record_type, params)
        if kind_rows:
            clauses.append(kind_rows)
        if where:
            # Spaces around the clause: the SDK finds @placeholders by splitting on spaces.
            clauses.append(f"( {where} )")
        if not clauses:
            return self._table().list_entities(results_per_page=page_size, select=self._select)
        return self._table().query_entities(
            " and ".join(clauses), parameters=params, results_per_page=page_size, select=self._select
        )


def _kind_rows(record_type: type[TableRecord], params: dict[str, Any], tag: str = "") -> str | None:
    """The filter clause that keeps a query to its kind's rows in a shared table (binding its bounds
    in `params`), or None when the kind has its table alone."""
    rows = record_type.rows()
    if rows is None:
        return None
    params[f"rowsfrom{tag}"], params[f"rowsto{tag}"] = rows
    return f"RowKey ge @rowsfrom{tag} and RowKey lt @rowsto{tag}"


@dataclasses.dataclass(frozen=True)
class KindQuery(Generic[R]):
    """One kind's share of a `read_together`: its table and a constant filter over its rows."""

    table: Table[R]
    where: str | None = None
    parameters: Mapping[str, Any] = dataclasses.field(default_factory=dict)


class _PartitionMemo:
    """What `read_together` read, per (table, partition) and query, for at most the reader's
    `max_age_s`. A write through any `Table` of this process drops its partition's entries and
    bumps the partition's generation, so a read that was under way while the write ran is not
    kept (it may have seen the partition before the write). Bounded: least recently used
    partitions go first."""

    def __init__(self, capacity: int = 5000) -> None:
        self._capacity = capacity
        self._lock = threading.Lock()
        # (table url, partition key) -> [generation, {query: (expires at, rows)}]
        self._partitions: OrderedDict[tuple[str, str], list[Any]] = OrderedDict()

    def look_up(self, key: tuple[str, str], query: Hashable) -> tuple[list[Any], int, Any]:
        """(the partition's entry, its generation now, the rows remembered for `query` or None)."""
        now = time.monotonic()
        with self._lock:
            entry = self._partitions.get(key)
            if entry is None:
                entry = self._partitions[key] = [0, {}]
                while len(self._partitions) > self._capacity:
                    self._partitions.popitem(last=False)
            self._partitions.move_to_end(key)
            found = entry[1].get(query)
            if found is not None and found[0] <= now:
                del entry[1][query]
                found = None
            return entry, entry[0], None if found is None else found[1]

    def keep(
        self, key: tuple[str, str], entry: list[Any], generation: int, query: Hashable, rows: Any, age: float
    ) -> None:
        now = time.monotonic()
        with self._lock:
            # Not if the partition was written (or its entry evicted) since the read began.
            if self._partitions.get(key) is entry and entry[0] == generation:
                entry[1][query] = (now + age, rows)
            # Memory: least recently used first, drop partitions with nothing left to answer (a
            # read still under way for one then keeps nothing, as after a write).
            while self._partitions:
                oldest = next(iter(self._partitions.values()))
                if any(expires > now for expires, _ in oldest[1].values()):
                    break
                self._partitions.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (benches time reads without the memo this way)."""
        with self._lock:
            for entry in self._partitions.values():
                entry[0] += 1
                entry[1].clear()

    def written(self, keys: Iterable[tuple[str, str]]) -> None:
        with self._lock:
            for key in keys:
                entry = self._partitions.get(key)
                if entry is not None:
                    entry[0] += 1
                    entry[1].clear()


_MEMO = _PartitionMemo()


def read_together(
    partition: KeyParts, queries: Sequence[KindQuery[Any]], *, max_age_s: float = 0.0
) -> list[list[Any]]:
    """Rows of several kinds that share one table, from one partition, in one round trip: a list of
    records per query, in the order given. Each kind must declare its RowKey range (`rows()`), which
    routes every row back to its kind; placeholder names must differ between the queries.

    With `max_age_s`, the same read made within that many seconds answers from memory, unless this
    process wrote to the partition since (see `_PartitionMemo`): for readers that tolerate another
    instance's writes arriving that late. The records are shared between such answers: read-only."""
    if not queries:
        return []
    if max_age_s <= 0:
        return _read_together(partition, queries)
    table = queries[0].table
    key = (table._client.url, _compose(partition, "partition key"))
    query_key = tuple(
        (q.table.name, q.table.record_type, q.where, tuple(sorted(q.parameters.items()))) for q in queries
    )
    entry, generation, rows = _MEMO.look_up(key, query_key)
    if rows is not None:
        return [list(found) for found in rows]
    rows = _read_together(partition, queries)
    _MEMO.keep(key, entry, generation, query_key, tuple(tuple(found) for found in rows), max_age_s)
    return rows


def _read_together(partition: KeyParts, queries: Sequence[KindQuery[Any]]) -> list[list[Any]]:
    table = queries[0].table
    params: dict[str, Any] = {"pk": _compose(partition, "partition key")}
    branches: list[str] = []
    for index, query in enumerate(queries):
        if query.table.name != table.name:
            raise ValueError("read_together reads one table: the kinds must share their table_kind")
        clause = _kind_rows(query.table.record_type, params, tag=str(index))
        if clause is None:
            raise ValueError(f"{query.table.record_type.__name__} declares no RowKey range to read it by")
        clashes = set(query.parameters) & set(params)
        if clashes:
            raise ValueError(f"placeholder names used twice in read_together: {sorted(clashes)}")
        params.update(query.parameters)
        branches.append(f"( {clause} and ( {query.where} ) )" if query.where else f"( {clause} )")
    # Every kind's fields (and RowKey, to route by): a projection's rows come without the fields it
    # leaves out even when read beside a whole kind.
    names = {f.name for q in queries for f in record_fields(q.table.record_type)}
    select = ["RowKey", *sorted(names)]
    found: list[list[Any]] = [[] for _ in queries]
    ranges = [q.table.record_type.rows() for q in queries]
    with translated_errors(table._kind):
        pager = table._table().query_entities(
            f"PartitionKey eq @pk and ( {' or '.join(branches)} )", parameters=params, select=select
        )
        for entity in pager:
            row_key = entity["RowKey"]
            for index, bounds in enumerate(ranges):
                assert bounds is not None  # checked above
                if bounds[0] <= row_key < bounds[1]:
                    kind = queries[index].table.record_type
                    found[index].append(kind.from_entity(entity, entity.metadata.get("etag")))
                    break
    return found
