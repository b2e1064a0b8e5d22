"""TtlMemo: remembers for its TTL, forgets on request, stays bounded."""

from __future__ import annotations

from lib.core.ttl_memo import TtlMemo


def test_remembers_within_the_ttl_and_reloads_after() -> None:
    now = [0.0]
    loads: list[int] = []
    memo: TtlMemo[str, int] = TtlMemo(5.0, clock=lambda: now[0])

    def load() -> int:
        loads.append(1)
        return len(loads)

    assert memo.get("a", load) == 1
    now[0] = 4.9
    assert memo.get("a", load) == 1
    now[0] = 5.0
    assert memo.get("a", load) == 2
    memo.discard("a")
    assert memo.get("a", load) == 3


def test_capacity_evicts_the_least_recent() -> None:
    memo: TtlMemo[int, int] = TtlMemo(60.0, capacity=2)
    for key in (1, 2, 3):
        memo.get(key, lambda key=key: key * 10)
    assert memo.get(1, lambda: -1) == -1  # evicted, so loaded again
    assert memo.get(3, lambda: -1) == 30
