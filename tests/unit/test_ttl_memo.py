"""ttl_memo (cachetools): remembers for its TTL, forgets on request, stays bounded."""

from __future__ import annotations

from lib.core.ttl_memo import forget, forget_where, ttl_memo


def test_remembers_within_the_ttl_and_reloads_after() -> None:
    now = [0.0]
    loads: list[str] = []

    @ttl_memo(5.0, clock=lambda: now[0])
    def load(key: str) -> int:
        loads.append(key)
        return len(loads)

    assert load("a") == 1
    now[0] = 4.9
    assert load("a") == 1
    now[0] = 5.0
    assert load("a") == 2
    forget(load, "a")
    assert load("a") == 3


def test_capacity_evicts_the_least_recent() -> None:
    answers = {1: 10, 2: 20, 3: 30}

    @ttl_memo(60.0, capacity=2)
    def load(key: int) -> int:
        return answers[key]

    for key in (1, 2, 3):
        load(key)
    answers.update({1: -1, 3: -1})
    assert load(1) == -1  # evicted, so loaded again
    assert load(3) == 30


def test_forget_where_drops_every_answer_whose_arguments_match() -> None:
    loads: list[tuple[str, str]] = []

    @ttl_memo(60.0)
    def load(connection: str, account: str) -> int:
        loads.append((connection, account))
        return len(loads)

    load("c1", "a1"), load("c1", "a2"), load("c2", "a1")
    forget_where(load, lambda args: args[0] == "c1")
    assert load("c2", "a1") == 3  # kept
    assert load("c1", "a1") == 4 and load("c1", "a2") == 5  # both loaded again
