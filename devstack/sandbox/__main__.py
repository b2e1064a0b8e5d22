"""`python -m devstack.sandbox --port N --state-dir DIR`: serve the sandbox until interrupted.

Prints the base URL on stdout (one line, then flushes) and writes the CA to DIR/sandbox-ca.pem
and the URL and CA path to DIR/sandbox.json for other processes of `make run`."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from . import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, AppRegistration, Sandbox, SandboxConfig


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m devstack.sandbox", description=__doc__)
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    p.add_argument("--state-dir", default=".devstack/sandbox", help="where the CA PEM and sandbox.json go")
    p.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    p.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    p.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        help="registered redirect URI (repeatable; none: any loopback URI)",
    )
    args = p.parse_args(argv)
    config = SandboxConfig(apps=[AppRegistration(args.client_id, args.client_secret, args.redirect_uri)])
    sandbox = Sandbox(config, port=args.port, state_dir=args.state_dir).start()
    info = {
        "url": sandbox.url,
        "ca_pem_path": str(Path(sandbox.ca_pem_path).resolve()),
        "tenant_id": config.tenant_id,
        "client_id": args.client_id,
    }
    (Path(args.state_dir) / "sandbox.json").write_text(json.dumps(info, indent=2))
    print(sandbox.url, flush=True)
    print(f"CA: {info['ca_pem_path']}", file=sys.stderr, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
