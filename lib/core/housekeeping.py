"""Running housekeeping steps: each on its own, so that one failing skips only itself (the next
round tries it again), and what each did logged as `housekeeping: <step>=<count>`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

Step = tuple[str, Callable[[], int]]


def run_steps(log: logging.Logger, steps: Sequence[Step]) -> None:
    for name, step in steps:
        try:
            done = step()
        except Exception:
            log.exception("Housekeeping step failed (%s); the next round tries again", name)
            continue
        if done:
            log.info("housekeeping: %s=%d", name.replace(" ", "_"), done)
