"""`make run`'s stack as a user starts it: the process comes up, answers /api/health within seconds,
and stops cleanly on Ctrl-C (SIGINT)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

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
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output[-2000:]
    assert "Slotbridge local stack is up" in output and "Stopping" in output


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
