"""`make run`: the whole local stack in one process — Azurite, the Microsoft sandbox and the Google
stand-in with demo data, and the functions dev host — until Ctrl-C (or SIGTERM), then everything stops.

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
import socket
import threading
from pathlib import Path

import requests

from devstack.azurite import Azurite, AzuriteError
from devstack.demo import DEMO_GOOGLE_HOST_EMAIL, DEMO_HOST_EMAIL, seed_demo, seed_google_demo

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


def with_origin(origins: str, origin: str) -> str:
    """`origins` (comma-separated) with `origin` added if it is not there yet."""
    listed = [o.strip() for o in origins.split(",") if o.strip()]
    return ",".join(listed if origin in listed else [*listed, origin])


def demo_pages(api_url: str, mailbox_url: str) -> list[str]:
    """Create the demo booking link and the mixed pool, and mint settings URLs for the demo hosts;
    the lines to print."""
    from devstack.demo import (
        DEMO_GOOGLE_USER_ID,
        DEMO_USER_ID,
        create_demo_link,
        create_demo_pool,
        settings_url,
    )
    from lib.core.settings import get_settings

    keys = get_settings().keys
    lines = ["", f"Click through the demo (as the host '{DEMO_USER_ID}'):"]
    if keys.user_token_key:
        lines.append(f"  1. Settings page     {settings_url(api_url, keys.user_token_key)}")
        lines.append("                        (the user token in it lasts an hour; restart to get a new one)")
        lines.append(f"     Connect Outlook, sign in as {DEMO_HOST_EMAIL}, Accept, pick calendars, Save.")
    else:
        lines.append("  (no SLOTBRIDGE_USER_TOKEN_KEY in the settings: no settings page link)")
    try:
        booking = create_demo_link(api_url, keys.api_keys[0]) if keys.api_keys else None
        pool = create_demo_pool(api_url, keys.api_keys[0]) if keys.api_keys else None
    except requests.RequestException as exc:
        booking = pool = None
        lines.append(f"  (the demo links could not be created: {exc})")
    if booking:
        lines.append(f"  2. Booking page      {booking}")
    lines.append(f"  3. Sandbox mailbox   {mailbox_url}")
    lines.append("     (the sandbox uses its own CA: trust it, or accept the browser's warning once)")
    if pool:
        lines.append("")
        hosts = f"'{DEMO_USER_ID}' (Outlook), '{DEMO_GOOGLE_USER_ID}' (Google), one without a calendar"
        lines.append(f"A round-robin pool of {hosts}:")
        if keys.user_token_key:
            google_settings = settings_url(api_url, keys.user_token_key, DEMO_GOOGLE_USER_ID)
            lines.append(f"  4. Google settings   {google_settings}")
            lines.append(f"     Connect Google Calendar, pick {DEMO_GOOGLE_HOST_EMAIL}, Continue, Save.")
        lines.append(f"  5. Team booking page {pool}")
    return lines


PORT_HINT = "choose other ports: make run PORT=7072 SANDBOX_PORT=8444 STORAGE_PORTS=free"


def port_taken(port: int) -> bool:
    """Whether something already listens on this loopback port (checked before starting anything,
    so the answer is a sentence saying which port and how to pick another, not a traceback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def taken_ports_message(ports: dict[str, int]) -> str | None:
    """One line per port in use, and how to choose others; None when every port is free."""
    taken = [f"port {port} ({what}) is already in use" for what, port in ports.items() if port_taken(port)]
    if not taken:
        return None
    return "Cannot start the local stack: " + "; ".join(taken) + f".\nStop what uses it, or {PORT_HINT}."


def main() -> int:
    parser = argparse.ArgumentParser(description="Run Slotbridge's local stack")
    parser.add_argument("--port", type=int, default=7071, help="dev host port (make run PORT=...)")
    parser.add_argument(
        "--sandbox-port", type=int, default=8443, help="Microsoft sandbox port (make run SANDBOX_PORT=...)"
    )
    parser.add_argument(
        "--google-port", type=int, default=0, help="Google stand-in port (0: a free one; GOOGLE_PORT=...)"
    )
    parser.add_argument(
        "--storage-ports",
        choices=("default", "free"),
        default="default",
        help="Azurite on its default ports 10000-10002, or on any free ones (make run STORAGE_PORTS=free)",
    )
    parser.add_argument(
        "--settings", type=Path, default=ROOT / "local.settings.json", help="app settings file"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    fixed = args.storage_ports == "default"
    wanted = {"functions dev host": args.port, "Microsoft sandbox": args.sandbox_port}
    if args.google_port:
        wanted["Google stand-in"] = args.google_port
    if fixed:
        wanted |= {"Azurite blobs": 10000, "Azurite queues": 10001, "Azurite tables": 10002}
    message = taken_ports_message(wanted)
    if message:
        print(message)
        return 1

    settings_path = ensure_local_settings(args.settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    azurite = Azurite(blob_port=10000, queue_port=10001, table_port=10002) if fixed else Azurite()
    try:
        azurite.start()
    except AzuriteError as exc:
        print(f"Azurite could not start (are ports 10000-10002 free? else STORAGE_PORTS=free): {exc}")
        return 1
    # The Microsoft sandbox on the port local.settings.example.json names; its CA goes to .devstack/.
    from devstack.google import DEFAULT_CLIENT_ID as GOOGLE_CLIENT_ID
    from devstack.google import DEFAULT_CLIENT_SECRET as GOOGLE_CLIENT_SECRET
    from devstack.google import GoogleStandIn
    from devstack.google.admin_client import GoogleAdmin
    from devstack.sandbox import Sandbox
    from devstack.sandbox.admin_client import SandboxAdmin

    sandbox = Sandbox(port=args.sandbox_port, state_dir=ROOT / ".devstack")
    # Same CA as the sandbox: SLOTBRIDGE_CA_BUNDLE trusts both.
    google = GoogleStandIn(port=args.google_port, state_dir=ROOT / ".devstack", ca=sandbox.ca)
    try:
        sandbox.start()
        google.start()
        os.environ.update(
            {
                "AzureWebJobsStorage": azurite.connection_string,
                "SLOTBRIDGE_AUTHORITY_HOST": sandbox.url,
                "SLOTBRIDGE_GRAPH_BASE_URL": f"{sandbox.url}/v1.0",
                "SLOTBRIDGE_CA_BUNDLE": sandbox.ca_pem_path,
                # Google Calendar: the stand-in's endpoints and its OAuth client.
                "SLOTBRIDGE_GOOGLE_CLIENT_ID": GOOGLE_CLIENT_ID,
                "SLOTBRIDGE_GOOGLE_CLIENT_SECRET": GOOGLE_CLIENT_SECRET,
                "SLOTBRIDGE_GOOGLE_AUTH_URL": f"{google.url}/o/oauth2/v2/auth",
                "SLOTBRIDGE_GOOGLE_TOKEN_URL": f"{google.url}/token",
                "SLOTBRIDGE_GOOGLE_REVOKE_URL": f"{google.url}/revoke",
                "SLOTBRIDGE_GOOGLE_CALENDAR_BASE_URL": f"{google.url}/calendar/v3",
                "SLOTBRIDGE_PUBLIC_BASE_URL": f"http://127.0.0.1:{args.port}",
                # The settings page is served by the app itself: its origin is the popup's
                # postMessage target and the redirect fallback's return URL.
                "SLOTBRIDGE_ALLOWED_ORIGINS": with_origin(
                    os.environ.get("SLOTBRIDGE_ALLOWED_ORIGINS")
                    or json.loads(settings_path.read_text())["Values"].get("SLOTBRIDGE_ALLOWED_ORIGINS", ""),
                    f"http://127.0.0.1:{args.port}",
                ),
            }
        )
        accounts = seed_demo(SandboxAdmin(sandbox.url, sandbox.ca_pem_path))
        google_host = seed_google_demo(GoogleAdmin(google.url, google.ca_pem_path))
        from devstack.funchost import DevHost

        with DevHost(port=args.port, local_settings=settings_path) as host:
            pages = demo_pages(host.api_url, f"{sandbox.url}/_admin/view/{accounts['host']}")
            print()
            print("Slotbridge local stack is up:")
            print(f"  Functions dev host  {host.api_url}    (try {host.api_url}/health)")
            print(f"  Microsoft sandbox   {sandbox.url}  (CA: {sandbox.ca_pem_path})")
            print(f"  Google stand-in     {google.url}  (same CA; demo host {google_host})")
            print(f"  Azurite             tables :{azurite.ports.table}  queues :{azurite.ports.queue}")
            print(f"  Demo accounts       {accounts['host']} (work), {accounts['personal']} (personal)")
            for line in pages:
                print(line)
            print("Press Ctrl-C to stop.", flush=True)
            stop.wait()
            print("Stopping…")
    finally:
        google.stop()
        sandbox.stop()
        azurite.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
