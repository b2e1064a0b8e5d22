"""The Table Storage layer against Azurite: keys, typed records, ETags, batches and queries."""

from __future__ import annotations

import dataclasses
import enum
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib.adapters.storage import StorageAccount
from lib.adapters.storage.keys import KeyTooLong
from lib.adapters.storage.records import RecordTooLarge, TableRecord
from lib.adapters.storage.tables import (
    AlreadyExists,
    BatchTooLarge,
    ConcurrentUpdate,
    KindQuery,
    RecordNotFound,
    _PartitionMemo,
    read_together,
)


class Colour(enum.StrEnum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass(kw_only=True)
class Note(TableRecord):
    table_kind: ClassVar[str] = "notes"
    partition_fields: ClassVar[tuple[str, ...]] = ("owner",)
    row_fields: ClassVar[tuple[str, ...]] = ("note_id",)

    owner: str
    note_id: str
    text: str = ""
    count: int = 0
    big: int = 0
    when: datetime | None = None
    colour: Colour = Colour.RED
    tags: list[str] = dataclasses.field(default_factory=list)
    blob: bytes | None = None


@pytest.fixture
def notes(storage: StorageAccount):
    return storage.table(Note)


def test_typed_record_round_trips(notes) -> None:
    when = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=UTC)
    stored = notes.create(
        Note(
            owner="u1",
            note_id="n1",
            text="hello",
            count=3,
            big=2**40,
            when=when,
            colour=Colour.BLUE,
            tags=["a", "b"],
            blob=b"\x00\x01",
        )
    )
    assert stored.etag
    loaded = notes.get("u1", "n1")
    assert loaded == stored
    assert loaded.when == when and loaded.when.tzinfo is not None
    assert loaded.colour is Colour.BLUE and loaded.big == 2**40 and loaded.tags == ["a", "b"]


# Characters Table Storage forbids in keys, the escape and separator, quotes and non-BMP text.
HOSTILE = [
    "a/b",
    "a\\b",
    "#tag",
    "what?",
    "100%",
    "x|y",
    "tab\there",
    "nul\x00",
    "del\x7f",
    "c1\x85",
    "o'brien",
    'say "hi"',
    "AAMkAGI2TG93AAA=",
    "user@example.com",
    "日本語",
    "🙂",
    "\ud800lone",
    " ",
    "",
]


@pytest.mark.parametrize("raw", HOSTILE)
def test_hostile_keys_round_trip(notes, raw: str) -> None:
    notes.create(Note(owner=raw, note_id=raw, text=raw))
    assert notes.get(raw, raw).text == raw
    assert [n.note_id for n in notes.query(partition=raw)] == [raw]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(owner=st.text(max_size=40), note_id=st.text(max_size=40))
def test_any_text_round_trips_as_keys(notes, owner: str, note_id: str) -> None:
    try:
        notes.create(Note(owner=owner, note_id=note_id, text="x"))
    except AlreadyExists:
        pass
    loaded = notes.get(owner, note_id)
    assert (loaded.owner, loaded.note_id) == (owner, note_id)


def test_overlong_key_is_refused_before_any_write(notes) -> None:
    with pytest.raises(KeyTooLong) as err:
        notes.create(Note(owner="u" * 600, note_id="n"))
    assert "too long" in str(err.value)
    assert err.value.code == "validation_error"


def test_oversize_property_is_refused(notes) -> None:
    with pytest.raises(RecordTooLarge):
        notes.create(Note(owner="u", note_id="n", text="x" * 40_000))
    assert notes.find("u", "n") is None


def test_twenty_concurrent_creates_of_one_key_exactly_one_wins(notes) -> None:
    barrier = threading.Barrier(20)

    def attempt(i: int) -> str:
        barrier.wait()
        try:
            notes.create(Note(owner="race", note_id="only", text=f"writer {i}"))
            return "won"
        except AlreadyExists:
            return "lost"

    with ThreadPoolExecutor(20) as pool:
        outcomes = list(pool.map(attempt, range(20)))
    assert outcomes.count("won") == 1
    assert outcomes.count("lost") == 19
    winner = outcomes.index("won")
    assert notes.get("race", "only").text == f"writer {winner}"


def test_stale_etag_update_is_refused(notes) -> None:
    first = notes.create(Note(owner="u", note_id="n", count=1))
    stale = dataclasses.replace(first)
    stale.etag = first.etag
    first.count = 2
    notes.update(first)
    stale.count = 99
    with pytest.raises(ConcurrentUpdate):
        notes.update(stale)
    assert notes.get("u", "n").count == 2


def test_concurrent_mutations_lose_no_update(notes) -> None:
    notes.create(Note(owner="u", note_id="counter"))

    def bump(_: int) -> None:
        def change(note: Note) -> Note:
            note.count += 1
            return note

        notes.mutate("u", "counter", change, attempts=50)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(bump, range(40)))
    assert notes.get("u", "counter").count == 40


def test_mutate_missing_record_raises_not_found(notes) -> None:
    with pytest.raises(RecordNotFound):
        notes.mutate("u", "absent", lambda n: n)


def test_conditional_delete(notes) -> None:
    note = notes.create(Note(owner="u", note_id="d"))
    stale = dataclasses.replace(note)
    stale.etag = note.etag
    note.text = "changed"
    notes.update(note)
    with pytest.raises(ConcurrentUpdate):
        notes.delete(stale)
    notes.delete(note)
    assert notes.find("u", "d") is None


def test_batch_of_101_is_refused_whole_and_chunked_on_request(notes) -> None:
    ops = [("create", Note(owner="p", note_id=f"{i:03}")) for i in range(101)]
    with pytest.raises(BatchTooLarge):
        notes.transact(ops)
    assert list(notes.query(partition="p")) == []
    assert notes.transact_chunked(ops) == 2
    assert len(list(notes.query(partition="p"))) == 101


def test_batch_is_atomic(notes) -> None:
    notes.create(Note(owner="p", note_id="050"))
    ops = [("create", Note(owner="p", note_id=f"{i:03}")) for i in range(100)]
    with pytest.raises(AlreadyExists):
        notes.transact(ops)
    assert [n.note_id for n in notes.query(partition="p")] == ["050"]


def test_batch_across_partitions_is_refused(notes) -> None:
    with pytest.raises(BatchTooLarge):
        notes.transact([("create", Note(owner="a", note_id="1")), ("create", Note(owner="b", note_id="1"))])


def test_query_binds_parameters_and_pages(notes) -> None:
    notes.transact([("create", Note(owner="q", note_id=f"{i:02}", text=f"t{i % 3}")) for i in range(25)])
    notes.create(Note(owner="q2", note_id="x", text="t0"))
    hits = list(notes.query(partition="q", where="text eq @text", parameters={"text": "t0"}, page_size=4))
    assert sorted(n.note_id for n in hits) == [f"{i:02}" for i in range(25) if i % 3 == 0]
    # A value that would widen a filter built by string formatting matches nothing here.
    assert list(notes.query(where="text eq @text", parameters={"text": "t0' or text ne 'x"})) == []
    page, token = notes.query_page(partition="q", page_size=10)
    assert len(page) == 10 and token is not None
    rest, _ = notes.query_page(partition="q", page_size=100, continuation=token)
    assert len(rest) == 15


@dataclasses.dataclass(kw_only=True)
class NoteHeading(TableRecord):
    """A projection of `Note`: the same rows, two of their fields."""

    table_kind: ClassVar[str] = "notes"
    partition_fields: ClassVar[tuple[str, ...]] = ("owner",)
    row_fields: ClassVar[tuple[str, ...]] = ("note_id",)
    projection: ClassVar[bool] = True

    owner: str
    note_id: str
    count: int = 0


def test_a_projection_reads_only_its_fields_of_the_same_rows(notes, storage: StorageAccount) -> None:
    stored = notes.create(Note(owner="u1", note_id="p1", text="x" * 30_000, count=7, tags=["a"]))
    headings = storage.table(NoteHeading)
    assert headings.name == notes.name
    [heading] = list(headings.query(partition="u1", where="RowKey eq @row", parameters={"row": "p1"}))
    assert (heading.owner, heading.note_id, heading.count) == ("u1", "p1", 7)
    assert heading.etag == stored.etag  # so an ETag-validated memo works on projections too
    # `$select` reaches the service: the raw entity carries nothing else.
    [raw] = list(headings._pager("u1", None, None, 10))
    assert set(raw) - {"PartitionKey", "RowKey"} <= {"owner", "note_id", "count"}
    assert headings.get("u1", "p1").count == 7


def test_a_projection_refuses_every_write(notes, storage: StorageAccount) -> None:
    notes.create(Note(owner="u1", note_id="p2", text="kept"))
    headings = storage.table(NoteHeading)
    heading = headings.get("u1", "p2")
    for write in (
        lambda: headings.create(NoteHeading(owner="u1", note_id="p3")),
        lambda: headings.update(heading),
        lambda: headings.put(heading),
        lambda: headings.delete(heading),
        lambda: headings.transact([("put", heading)]),
    ):
        with pytest.raises(TypeError, match="read-only projection"):
            write()
    assert notes.get("u1", "p2").text == "kept"


def test_many_concurrent_reads_reuse_kept_alive_connections(notes, caplog) -> None:
    """More concurrent requests than requests' default pool of 10 must not churn connections."""
    import logging

    notes.create(Note(owner="pool", note_id="n"))
    caplog.set_level(logging.WARNING, logger="urllib3.connectionpool")
    barrier = threading.Barrier(24)

    def read(_: int) -> int:
        barrier.wait(timeout=10)
        return len(list(notes.query(partition="pool")))

    for _ in range(3):
        with ThreadPoolExecutor(max_workers=24) as pool:
            assert list(pool.map(read, range(24))) == [1] * 24
    assert not [r for r in caplog.records if "Connection pool is full" in r.getMessage()]


# -- kinds sharing one table ------------------------------------------------------------------


@dataclasses.dataclass(kw_only=True)
class Cell(TableRecord):
    """Keys are ISO instants, so they start with a digit."""

    table_kind: ClassVar[str] = "shared"
    partition_fields: ClassVar[tuple[str, ...]] = ("owner",)
    row_fields: ClassVar[tuple[str, ...]] = ("at",)
    row_range: ClassVar[tuple[str, str] | None] = ("0", ":")

    owner: str
    at: str
    held_by: str = ""


@dataclasses.dataclass(kw_only=True)
class Marker(TableRecord):
    table_kind: ClassVar[str] = "shared"
    partition_fields: ClassVar[tuple[str, ...]] = ("owner",)
    row_prefix: ClassVar[str] = "mark"
    row_fields: ClassVar[tuple[str, ...]] = ("source", "name")

    owner: str
    source: str
    name: str
    level: int = 0
    detail: str = ""


@dataclasses.dataclass(kw_only=True)
class MarkerLevel(TableRecord):
    """A projection of `Marker`'s rows: everything but the detail."""

    table_kind: ClassVar[str] = "shared"
    partition_fields: ClassVar[tuple[str, ...]] = ("owner",)
    row_prefix: ClassVar[str] = "mark"
    row_fields: ClassVar[tuple[str, ...]] = ("source", "name")
    projection: ClassVar[bool] = True

    owner: str
    source: str
    name: str
    level: int = 0


@pytest.fixture
def shared(storage: StorageAccount):
    cells, markers = storage.table(Cell), storage.table(Marker)
    assert cells.name == markers.name
    for at in ("2026-06-15T10:00:00Z", "2026-06-15T10:05:00Z", "2026-06-16T09:00:00Z"):
        cells.create(Cell(owner="h1", at=at, held_by="b1"))
    cells.create(Cell(owner="h2", at="2026-06-15T10:00:00Z", held_by="b2"))
    markers.create(Marker(owner="h1", source="c1", name="cal/a", level=1, detail="x" * 1000))
    markers.create(Marker(owner="h1", source="c2", name="cal#b", level=2))
    markers.create(Marker(owner="h2", source="c1", name="cal/a", level=3, detail="kept"))
    return cells, markers


def test_kinds_sharing_a_table_keep_to_their_own_rows(shared, storage: StorageAccount) -> None:
    cells, markers = shared
    marker = markers.get("h1", ("c1", "cal/a"))
    assert marker.row_key == "mark|c1|cal%2Fa" and marker.level == 1
    # Partition-wide and table-wide queries of one kind never meet the other kind's rows.
    assert [c.at for c in cells.query(partition="h1")] == [
        "2026-06-15T10:00:00Z",
        "2026-06-15T10:05:00Z",
        "2026-06-16T09:00:00Z",
    ]
    assert sorted((m.owner, m.source) for m in markers.query()) == [("h1", "c1"), ("h1", "c2"), ("h2", "c1")]
    assert len(list(cells.query())) == 4
    # Keyed writes go to the prefixed rows.
    markers.mutate("h1", ("c2", "cal#b"), lambda m: dataclasses.replace(m, level=5))
    assert markers.get("h1", ("c2", "cal#b")).level == 5
    markers.delete(markers.get("h2", ("c1", "cal/a")))
    assert markers.find("h2", ("c1", "cal/a")) is None
    assert cells.find("h2", "2026-06-15T10:00:00Z") is not None


def test_read_together_reads_both_kinds_of_one_partition_in_one_request(
    shared, storage: StorageAccount, caplog: pytest.LogCaptureFixture
) -> None:
    cells, markers = shared
    in_range = KindQuery(
        cells, "RowKey ge @first and RowKey lt @last", {"first": "2026-06-15", "last": "2026-06-16"}
    )
    caplog.set_level(logging.INFO, logger="azure.core.pipeline.policies.http_logging_policy")
    caplog.clear()
    found_markers, found_cells = read_together("h1", [KindQuery(markers), in_range])
    requests_sent = [r for r in caplog.records if "Request URL" in r.getMessage()]
    assert len(requests_sent) == 1
    assert sorted((m.source, m.name, m.level) for m in found_markers) == [
        ("c1", "cal/a", 1),
        ("c2", "cal#b", 2),
    ]
    assert all(isinstance(m, Marker) for m in found_markers)
    assert [(c.at, c.held_by) for c in found_cells] == [
        ("2026-06-15T10:00:00Z", "b1"),
        ("2026-06-15T10:05:00Z", "b1"),
    ]
    # `$select` keeps RowKey (to route rows by) and every kind's fields.
    levels, h2_cells = read_together("h2", [KindQuery(storage.table(MarkerLevel)), KindQuery(cells)])
    assert [(m.source, m.level) for m in levels] == [("c1", 3)]
    assert [(c.at, c.held_by) for c in h2_cells] == [("2026-06-15T10:00:00Z", "b2")]


def _requests(caplog: pytest.LogCaptureFixture) -> int:
    return sum(1 for r in caplog.records if "Request URL" in r.getMessage())


def test_read_together_remembers_a_partition_until_this_process_writes_to_it(
    shared, storage: StorageAccount, caplog: pytest.LogCaptureFixture
) -> None:
    """Within `max_age_s` the same read answers from memory; any write through a `Table` of this
    process to the partition (either kind, any write) is seen by the very next read."""
    cells, markers = shared
    queries = [KindQuery(markers), KindQuery(cells)]
    caplog.set_level(logging.INFO, logger="azure.core.pipeline.policies.http_logging_policy")

    def read(partition: str = "h1") -> tuple[list[str], list[str]]:
        found_markers, found_cells = read_together(partition, queries, max_age_s=60)
        return sorted(m.source for m in found_markers), sorted(c.at for c in found_cells)

    caplog.clear()
    first = read()
    assert _requests(caplog) == 1
    caplog.clear()
    assert read() == first and _requests(caplog) == 0
    # Another partition is read on its own; a write there leaves h1's read remembered.
    read("h2")
    cells.create(Cell(owner="h2", at="2026-06-17T09:00:00Z"))
    caplog.clear()
    assert read() == first and _requests(caplog) == 0

    writes = [
        lambda: cells.create(Cell(owner="h1", at="2026-06-17T09:00:00Z")),
        lambda: markers.mutate("h1", ("c1", "cal/a"), lambda m: dataclasses.replace(m, level=9)),
        lambda: cells.transact([("delete", cells.get("h1", "2026-06-15T10:00:00Z"))]),
        lambda: markers.delete(markers.get("h1", ("c2", "cal#b"))),
    ]
    for write in writes:
        before = read()
        write()
        caplog.clear()
        after = read()
        assert _requests(caplog) == 1
        assert after == (
            sorted(m.source for m in markers.query(partition="h1")),
            sorted(c.at for c in cells.query(partition="h1")),
        )
        assert after != before or write is writes[1]  # the level changed, not the sources
    assert read_together("h1", [KindQuery(markers)], max_age_s=60)[0][0].level == 9


def test_read_together_misses_another_process_s_write_for_at_most_max_age(
    shared, storage: StorageAccount
) -> None:
    cells, markers = shared
    queries = [KindQuery(markers), KindQuery(cells)]

    def cell_times() -> list[str]:
        return sorted(c.at for c in read_together("h1", queries, max_age_s=0.5)[1])

    before = cell_times()
    # Another instance writes with its own client: this process cannot know of it.
    cells._client.create_entity(Cell(owner="h1", at="2026-06-18T09:00:00Z").to_entity())
    assert cell_times() == before
    time.sleep(0.6)
    assert cell_times() == sorted([*before, "2026-06-18T09:00:00Z"])
    # Without max_age_s, every read goes to the table.
    assert len(read_together("h1", queries)[1]) == len(before) + 1


def test_a_read_under_way_while_this_process_writes_is_not_remembered() -> None:
    """A read that began before a write to its partition may have missed it: it is not kept."""
    memo = _PartitionMemo()
    key, query = ("https://account/table", "h1"), ("q",)
    entry, generation, rows = memo.look_up(key, query)
    assert rows is None
    memo.written([key])  # the write lands while the read is on the wire
    memo.keep(key, entry, generation, query, ("stale",), 60)
    assert memo.look_up(key, query)[2] is None
    entry, generation, _ = memo.look_up(key, query)
    memo.keep(key, entry, generation, query, ("fresh",), 60)
    assert memo.look_up(key, query)[2] == ("fresh",)
    memo.keep(key, entry, generation, query, ("fresh",), -1)  # expired
    assert memo.look_up(key, query)[2] is None
    # Partitions with nothing left to answer do not stay in memory.
    other = ("https://account/table", "h2")
    entry, generation, _ = memo.look_up(other, query)
    memo.keep(other, entry, generation, query, ("kept",), 60)
    assert list(memo._partitions) == [other]


def test_read_together_refuses_what_it_cannot_route(shared, storage: StorageAccount) -> None:
    cells, markers = shared
    with pytest.raises(ValueError, match="placeholder"):
        read_together(
            "h1",
            [
                KindQuery(cells, "RowKey ge @first", {"first": "2"}),
                KindQuery(markers, "level ge @first", {"first": 1}),
            ],
        )
    with pytest.raises(ValueError, match="one table"):
        read_together("h1", [KindQuery(cells), KindQuery(storage.table(Note))])
    with pytest.raises(ValueError, match="RowKey range"):
        read_together("h1", [KindQuery(storage.table(Note))])
