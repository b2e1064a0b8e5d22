"""Pool bookings under way at once on one instance go to different hosts: each attempt chooses and
claims its host under one lock (reading the counts first and claiming later let two attendees
released together both pick the host neither had claimed yet)."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

from lib.features.bookings.host_choice import claimed_in_turn
from lib.features.links.config import CalendarProvider, LinkHost

HOSTS = [(i, LinkHost(f"host-{i}", CalendarProvider.MICROSOFT)) for i in range(8)]


def test_attempts_started_together_each_claim_a_different_host() -> None:
    together = threading.Barrier(len(HOSTS))
    all_chosen = threading.Barrier(len(HOSTS))

    def first_choice(_: int) -> str:
        together.wait()
        with contextlib.closing(claimed_in_turn("pool-together", list(HOSTS))) as attempts:
            _, host = next(attempts)
            all_chosen.wait(5)  # hold the claim until every attempt has chosen
            return host.user_id

    with ThreadPoolExecutor(len(HOSTS)) as pool:
        users = list(pool.map(first_choice, range(len(HOSTS))))
    assert sorted(users) == sorted(h.user_id for _, h in HOSTS)


def test_a_host_that_fails_is_given_back_and_the_next_least_busy_is_tried() -> None:
    held = contextlib.closing(claimed_in_turn("pool-order", list(HOSTS[:3])))
    with held as first:
        assert next(first)[1].user_id == "host-0"
        with contextlib.closing(claimed_in_turn("pool-order", list(HOSTS[:3]))) as second:
            # host-0 is under way: the second attempt starts with host-1, then host-2, then host-0.
            assert [h.user_id for _, h in second] == ["host-1", "host-2", "host-0"]
    with contextlib.closing(claimed_in_turn("pool-order", list(HOSTS[:3]))) as after:
        assert next(after)[1].user_id == "host-0"  # every claim was given back on close
