"""Objects built from settings are forgotten by `reset_settings_caches()`, even when another thread
was still building one from the old environment while the reset happened."""

from __future__ import annotations

import threading

from lib.core.settings import reset_settings_caches, settings_cached


def test_a_build_that_outlives_a_reset_is_not_cached_for_everyone_after_it() -> None:
    environment = {"storage": "live"}
    building = threading.Event()
    finish = threading.Event()

    @settings_cached
    def client() -> str:
        seen = environment["storage"]
        if threading.current_thread().name == "background":
            building.set()
            finish.wait(5)
        return seen

    reset_settings_caches()
    results: list[str] = []
    background = threading.Thread(target=lambda: results.append(client()), name="background")
    background.start()
    assert building.wait(5)
    # The test switches the environment and resets while the background build still holds "live".
    environment["storage"] = "dead"
    reset_settings_caches()
    finish.set()
    background.join(5)

    assert results == ["live"]  # the old build is still its own caller's
    assert client() == "dead"  # but everyone after the reset sees the new environment
    reset_settings_caches()


def test_one_object_per_reset_is_shared_by_every_caller() -> None:
    builds: list[object] = []

    @settings_cached
    def client() -> object:
        builds.append(object())
        return builds[-1]

    reset_settings_caches()
    first = client()
    assert client() is first
    reset_settings_caches()
    second = client()
    assert second is not first and client() is second
    assert len(builds) == 2
