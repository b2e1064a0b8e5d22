"""Fixtures of the booking tests: a connected host whose default calendar is both checked and written."""

from __future__ import annotations

import pytest
import requests

from devstack.funchost import DevHost
from devstack.sandbox.admin_client import SandboxAdmin
from tests.integration.availability.helpers import Host


@pytest.fixture()
def host(devhost: DevHost, admin: SandboxAdmin, sandbox_http: requests.Session) -> Host:
    return Host(devhost, admin, sandbox_http)
