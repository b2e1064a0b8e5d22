"""`make run`: the whole local stack in one process — Azurite, the Microsoft sandbox with demo
data, and the functions dev host — until Ctrl-C (or SIGTERM), then everything stops.

The endpoints of the services it starts are set in the environment for the app (they win over
local.settings.json), so the app always talks to this stack, on whatever ports it got.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import threading
from pathlib import Path

from devstack.azurite import Azurite, AzuriteError
from devstack.demo import seed_demo

ROOT = Path(__file__).resolve().parent.parent


def ensure_local_settings(path: Path = ROOT / "local.settings.json") -> Path:
    """Core Tools' convention: local.settings.json holds the app settings; start from the example,
    and add settings the example gained since (never overwriting a value someone set)."""
    example = ROOT / "local.settings.example.json"
    if not path.exists():
        shutil.copy(example, path)
        print(f"Created {path.name} from {example.name}")
        return path
    current = json.loads(path.read_text())
    values = current.setdefault("Values", {})
    defaults = json.loads(example.read_text())["Values"]
    added = [k for k in defaults if k not in values]
    if added:
        for key in added:
            values[key] = defaults[key]
        path.write_text(json.dumps(current, indent=2) + "\n")
        print(f"Added new settings to {path.name}: {', '.join(added)}")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description="Run Slotbridge's local stack")
    parser.add_argument("--port", type=int, default=7071, help="dev host port")
    parser.add_argument("--sandbox-port", type=int, default=8443, help="Microsoft sandbox port")
    parser.add_argument(
        "--storage-ports",
        choices=("default", "free"),
        default="default",
        help="Azurite on its default ports 10000-10002, or on any free ones",
    )
    parser.add_argument(
        "--settings", type=Path, default=ROOT / "local.settings.json", help="app settings file"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    settings_path = ensure_local_settings(args.settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    fixed = args.storage_ports == "default"
    azurite = Azurite(blob_port=10000, queue_port=10001, table_port=10002) if fixed else Azurite()
    try:
        azurite.start()
    except AzuriteError as exc:
        print(f"Azurite could not start (are ports 10000-10002 free?): {exc}")
        return 1
    # The Microsoft sandbox on the port local.settings.example.json names; its CA goes to .devstack/.
    from devstack.sandbox import Sandbox
    from devstack.sandbox.admin_client import SandboxAdmin

    sandbox = Sandbox(port=args.sandbox_port, state_dir=ROOT / ".devstack")
    try:
        sandbox.start()
        os.environ.update(
            {
                "AzureWebJobsStorage": azurite.connection_string,
                "SLOTBRIDGE_AUTHORITY_HOST": sandbox.url,
                "SLOTBRIDGE_GRAPH_BASE_URL": f"{sandbox.url}/v1.0",
                "SLOTBRIDGE_CA_BUNDLE": sandbox.ca_pem_path,
                "SLOTBRIDGE_PUBLIC_BASE_URL": f"http://127.0.0.1:{args.port}",
            }
        )
        accounts = seed_demo(SandboxAdmin(sandbox.url, sandbox.ca_pem_path))
        from devstack.funchost import DevHost

        with DevHost(port=args.port, local_settings=settings_path) as host:
            print()
            print("Slotbridge local stack is up:")
            print(f"  Functions dev host  {host.api_url}    (try {host.api_url}/health)")
            print(f"  Microsoft sandbox   {sandbox.url}  (CA: {sandbox.ca_pem_path})")
            print(f"  Azurite             tables :{azurite.ports.table}  queues :{azurite.ports.queue}")
            print(f"  Demo accounts       {accounts['host']} (work), {accounts['personal']} (personal)")
            print("Press Ctrl-C to stop.", flush=True)
            stop.wait()
            print("Stopping…")
    finally:
        sandbox.stop()
        azurite.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
