"""`make run`'s stack as a user starts it: the process comes up, answers /api/health within seconds,
has the demo links (the mixed pool too), and stops cleanly on Ctrl-C (SIGINT)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from devstack.demo import DEMO_POOL_SLUG
from devstack.http_server import free_loopback_port

ROOT = Path(__file__).resolve().parents[2]


def test_the_local_stack_answers_health_within_seconds_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port, sandbox_port = free_loopback_port(), free_loopback_port()
    settings = tmp_path / "local.settings.json"
    started = time.monotonic()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devstack.run",
            "--port",
            str(port),
            "--sandbox-port",
            str(sandbox_port),
            "--storage-ports",
            "free",
            "--settings",
            str(settings),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        answer = None
        while time.monotonic() - started < 60 and proc.poll() is None:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        elapsed = time.monotonic() - started
        assert answer is not None, "the dev host never answered"
        assert answer.status_code == 200 and answer.json()["status"] == "ok"
        assert elapsed < 30, f"health answered only after {elapsed:.1f}s"
        # The settings file was created from the example, with every setting in it.
        example = json.loads((ROOT / "local.settings.example.json").read_text())["Values"]
        assert set(json.loads(settings.read_text())["Values"]) == set(example)
        # The demo pool mixes a Microsoft host, a Google host and one without a calendar. Before
        # anyone connects, the two calendar hosts offer nothing (fail closed) and the third its hours.
        pool = _wait_for_link(f"http://127.0.0.1:{port}/api", DEMO_POOL_SLUG)
        assert pool["assignment"] == "roundRobin"
        assert [h["calendarProvider"] for h in pool["hosts"]] == ["microsoft", "google", "none"]
        today = datetime.now(UTC).date()
        free = requests.get(
            f"http://127.0.0.1:{port}/api/links/{DEMO_POOL_SLUG}/availability",
            params={"start": str(today), "end": str(today + timedelta(days=13)), "timezone": "Europe/Berlin"},
            timeout=30,
        )
        assert free.status_code == 200, free.text
        assert free.json()["slots"] and free.json()["complete"] is False
        assert free.json()["degradedHosts"] == [
            {"hostIndex": 0, "reason": "unavailable"},
            {"hostIndex": 1, "reason": "unavailable"},
        ]
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output[-2000:]
    assert "Slotbridge local stack is up" in output and "Stopping" in output


def _wait_for_link(api_url: str, slug: str) -> dict[str, object]:
    """The link as the product sees it, once `make run` has created it (after the host is up)."""
    deadline = time.monotonic() + 30
    while True:
        r = requests.get(f"{api_url}/links", headers={"X-Api-Key": "local-dev-api-key"}, timeout=10)
        found = [link for link in r.json().get("links", []) if link["slug"] == slug] if r.ok else []
        if found or time.monotonic() > deadline:
            assert found, f"no link {slug}: {r.status_code} {r.text[:500]}"
            return dict(found[0])
        time.sleep(0.3)


def test_a_port_in_use_is_named_with_how_to_choose_another(tmp_path: Path) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "devstack.run",
                "--port",
                str(taken),
                "--sandbox-port",
                str(free_loopback_port()),
                "--storage-ports",
                "free",
                "--settings",
                str(tmp_path / "local.settings.json"),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 1
    assert f"port {taken} (functions dev host) is already in use" in proc.stdout
    assert "make run PORT=" in proc.stdout
    # Nothing was started or written before the check.
    assert not (tmp_path / "local.settings.json").exists()
