"""For every test: the calendar providers installed as `function_app.py` installs them, so the
services a test calls in-process (booking housekeeping, availability) find their providers."""

from __future__ import annotations

import pytest

from functions.wiring import install_providers


@pytest.fixture(autouse=True, scope="session")
def _calendar_providers() -> None:
    install_providers()
