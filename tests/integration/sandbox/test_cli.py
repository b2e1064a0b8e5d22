"""`python -m devstack.sandbox` serves, prints its URL and writes its CA."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lib.adapters.outbound_http import make_session

pytestmark = pytest.mark.integration


def test_runs_as_a_process(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack.sandbox", "--port", "0", "--state-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("https://127.0.0.1:")
        info = json.loads((tmp_path / "sandbox.json").read_text())
        assert info["url"] == url and Path(info["ca_pem_path"]).is_file()
        r = make_session(info["ca_pem_path"]).get(
            f"{url}/common/v2.0/.well-known/openid-configuration", timeout=5
        )
        assert r.status_code == 200
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
