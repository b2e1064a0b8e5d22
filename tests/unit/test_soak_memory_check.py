"""The soak's `memory flat` invariant: warm-up is allowed, a climb after it is not."""

from __future__ import annotations

from bench.soak.soak import check_memory, rss_by_tenth


def test_growth_that_levels_off_after_warm_up_passes() -> None:
    warming = [80 + i for i in range(30)]  # +30 MiB while pools and arenas fill
    flat = [110.0] * 60
    check, middle, last = check_memory(warming + flat, bound_mib=5)
    assert check.ok and middle == last == 110


def test_a_steady_climb_fails_however_it_started() -> None:
    climbing = [80 + 0.2 * i for i in range(90)]  # 0.2 MiB per sample, never levelling off
    check, middle, last = check_memory(climbing, bound_mib=5)
    assert not check.ok and last - middle > 5


def test_too_few_samples_fail() -> None:
    assert not check_memory([100.0] * 5, bound_mib=5)[0].ok


def test_rss_by_tenth_shows_where_growth_stops() -> None:
    samples = [80.0] * 10 + [120.0] * 90
    assert rss_by_tenth(samples) == [80.0] + [120.0] * 9
    assert rss_by_tenth([1.0] * 9) == []
