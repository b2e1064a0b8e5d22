"""Starts the pinned Azurite from `node_modules` in memory on loopback, waits until it answers, stops
it cleanly. Used by `make run` (fixed default ports) and the test fixtures (free ports, one instance
per test run).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AZURITE_BIN = ROOT / "node_modules" / ".bin" / "azurite"

# Azurite's well-known development account (public, documented by Microsoft; not a secret).
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

_LISTENING = re.compile(r"Azurite (Blob|Queue|Table) service is successfully listening at http://[^:]+:(\d+)")


class AzuriteError(RuntimeError):
    pass


@dataclass(frozen=True)
class AzuritePorts:
    blob: int
    queue: int
    table: int


class Azurite:
    """One Azurite process. Ports of 0 mean "any free port"; the real ones are read from its output."""

    def __init__(
        self, *, blob_port: int = 0, queue_port: int = 0, table_port: int = 0, host: str = "127.0.0.1"
    ):
        self.host = host
        self._requested = AzuritePorts(blob_port, queue_port, table_port)
        self._proc: subprocess.Popen[str] | None = None
        self._workdir: str | None = None
        self._ports: dict[str, int] = {}
        self._ready = threading.Event()
        self._output: list[str] = []

    @property
    def ports(self) -> AzuritePorts:
        return AzuritePorts(self._ports["Blob"], self._ports["Queue"], self._ports["Table"])

    @property
    def connection_string(self) -> str:
        base = f"http://{self.host}"
        p = self.ports
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={base}:{p.blob}/{ACCOUNT_NAME};"
            f"QueueEndpoint={base}:{p.queue}/{ACCOUNT_NAME};"
            f"TableEndpoint={base}:{p.table}/{ACCOUNT_NAME};"
        )

    def start(self, timeout_s: float = 30) -> Azurite:
        if not AZURITE_BIN.exists():
            raise AzuriteError(f"Azurite is not installed at {AZURITE_BIN}; run `npm ci` in {ROOT}.")
        self._workdir = tempfile.mkdtemp(prefix="azurite-")
        args = [
            str(AZURITE_BIN),
            "--inMemoryPersistence",
            "--extentMemoryLimit",
            "512",
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--silent",
            "--blobHost",
            self.host,
            "--blobPort",
            str(self._requested.blob),
            "--queueHost",
            self.host,
            "--queuePort",
            str(self._requested.queue),
            "--tableHost",
            self.host,
            "--tablePort",
            str(self._requested.table),
        ]
        self._proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            args,
            cwd=self._workdir,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # so stop() can signal Azurite and its node children together
        )
        threading.Thread(target=self._read_output, name="azurite-output", daemon=True).start()
        if not self._ready.wait(timeout_s):
            output = "".join(self._output[-20:])
            self.stop()
            raise AzuriteError(f"Azurite did not start within {timeout_s}s:\n{output}")
        self._wait_answering(timeout_s)
        return self

    def _read_output(self) -> None:
        assert self._proc and self._proc.stdout
        for line in self._proc.stdout:
            self._output.append(line)
            match = _LISTENING.search(line)
            if match:
                self._ports[match.group(1)] = int(match.group(2))
                if len(self._ports) == 3:
                    self._ready.set()

    def _wait_answering(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        for port in (self.ports.table, self.ports.queue):
            while True:
                try:
                    socket.create_connection((self.host, port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise AzuriteError(f"Azurite is not answering on port {port}") from None
                    time.sleep(0.05)

    def stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait(timeout=5)
        self._proc = None
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> Azurite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
