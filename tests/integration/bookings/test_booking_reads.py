"""What one booking costs in Table Storage reads of its host: the host's connections and
calendar settings are read live, but not more often than the booking needs them."""

from __future__ import annotations

import logging

import pytest

from devstack.funchost import DevHost
from tests.integration.availability.helpers import Host, next_monday

from .helpers import at, book, new_link

# The booking's invocation and the shared pool its reads fan out to (not the queue triggers'
# threads, which sync the new host's calendars meanwhile).
BOOKING_THREADS = ("invocation-create_booking", "slotbridge-parallel")


def _table_reads(caplog: pytest.LogCaptureFixture, table_kind: str) -> int:
    """GET requests the booking sent to tables of `table_kind` (any prefix)."""
    return sum(
        1
        for r in caplog.records
        if r.threadName.startswith(BOOKING_THREADS)
        and (m := r.getMessage()).startswith("Request URL")
        and "/devstoreaccount1/" in m
        and f"{table_kind}(" in m.lower()
        and "Request method: 'GET'" in m
    )


def test_a_booking_reads_its_hosts_connections_once(
    devhost: DevHost, host: Host, caplog: pytest.LogCaptureFixture
) -> None:
    slug = new_link(devhost, (host.user_id, "microsoft"))
    monday = next_monday()
    # A first booking fills the process's short-lived caches (the link; the host view that
    # calendar health consults), as on a warm instance.
    assert book(devhost, slug, at(monday, 9)).status_code == 201
    caplog.set_level(logging.INFO, logger="azure.core.pipeline.policies.http_logging_policy")
    caplog.clear()

    r = book(devhost, slug, at(monday, 10))

    assert r.status_code == 201, r.text
    # The booking reads the host's view (its connections, its settings) live once: the write
    # target, the live check and both Graph requests (the busy read, the event write) act as the
    # connection rows it read, status checked, instead of reading them again.
    assert _table_reads(caplog, "connections") == 1
    assert _table_reads(caplog, "calendarsettings") == 1
    # Its Graph token is the one handed out for the first booking a moment ago (kept for a
    # minute, as MSAL keeps tokens in memory): the token cache is not read and unsealed again,
    # neither for the busy read nor for the event write.
    assert _table_reads(caplog, "tokencaches") == 0
