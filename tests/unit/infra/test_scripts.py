"""infra/scripts run against a fake `az` on PATH (no Azure, no network): they create the right
things, and no secret ever reaches a command line, the output or the error stream."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.infra.bicep_tree import INFRA_DIR

SCRIPTS_DIR = INFRA_DIR / "scripts"
SCRIPTS = ["create-data-key.sh", "rotate-data-key.sh", "register-app.sh"]
CLIENT_SECRET = "fake8Q~Cl13ntS3cr3tValue.ForTests_0123456789"

# A stand-in for the Azure CLI: logs every call's arguments, answers from a small table, and copies
# the file given to `az keyvault secret set --file` so tests can look at what would be stored.
FAKE_AZ = r"""
import json, os, shutil, sys
state_dir = os.environ["FAKE_AZ_STATE"]
args = sys.argv[1:]
with open(os.path.join(state_dir, "calls.jsonl"), "a") as log:
    log.write(json.dumps(args) + "\n")
def opt(name):
    return args[args.index(name) + 1] if name in args else None
def has(*words):
    return args[: len(words)] == list(words)
existing = set(os.environ.get("FAKE_AZ_EXISTING_SECRETS", "").split(","))
if has("account", "show"):
    print("00000000-0000-0000-0000-0000000000aa" if opt("--query") == "tenantId" else "{}")
elif has("keyvault", "secret", "show"):
    sys.exit(0 if opt("--name") in existing else 3)
elif has("keyvault", "secret", "set"):
    n = len(os.listdir(state_dir))
    shutil.copy(opt("--file"), os.path.join(state_dir, f"stored-{opt('--name')}-{n}"))
    print(f"https://kv.vault.azure.net/secrets/{opt('--name')}/version{n}")
elif has("keyvault", "secret", "list-versions"):
    print("Version  Enabled  Created")
elif has("ad", "app", "list"):
    print("0")
elif has("ad", "app", "create"):
    print("11111111-2222-3333-4444-555555555555")
elif has("ad", "app", "show"):
    print("99999999-8888-7777-6666-555555555555")
elif has("cloud", "show"):
    q = opt("--query")
    print("https://graph.microsoft.com/" if "Graph" in q else "https://login.microsoftonline.com")
elif has("rest"):
    shutil.copy(opt("--body").lstrip("@"), os.path.join(state_dir, "patch.json"))
elif has("ad", "sp", "show"):
    sys.exit(3)
elif has("ad", "app", "credential", "reset"):
    print(os.environ["FAKE_CLIENT_SECRET"])
"""


@pytest.fixture
def fake_az(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    state = tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    az = bin_dir / "az"
    az.write_text(f"#!{sys.executable}\n{FAKE_AZ}", encoding="utf-8")
    az.chmod(0o755)
    # Only the fake az, bash's basics and openssl: no real az or azd may be reached.
    path = os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"])
    return {
        "PATH": path,
        "HOME": str(tmp_path),
        "FAKE_AZ_STATE": str(state),
        "FAKE_CLIENT_SECRET": CLIENT_SECRET,
        "AZURE_KEY_VAULT_NAME": "kv-test",
    }


def _run(script: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPTS_DIR / script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _calls(env: dict[str, str]) -> list[list[str]]:
    log = Path(env["FAKE_AZ_STATE"]) / "calls.jsonl"
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def _stored(env: dict[str, str], secret_name: str) -> list[str]:
    state = Path(env["FAKE_AZ_STATE"])
    return [p.read_text(encoding="utf-8") for p in sorted(state.glob(f"stored-{secret_name}-*"))]


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_is_strict_executable_and_has_usage(script: str, fake_az: dict[str, str]) -> None:
    path = SCRIPTS_DIR / script
    assert os.access(path, os.X_OK), f"{script} is not executable"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert "set -euo pipefail" in lines
    subprocess.run(["bash", "-n", str(path)], check=True)
    result = _run(script, fake_az, "--help")
    assert result.returncode == 0 and result.stdout.startswith("Usage:")
    bad = _run(script, fake_az, "--no-such-option")
    assert bad.returncode != 0 and "unknown argument" in bad.stderr


def _assert_data_key(value: str) -> None:
    assert re.fullmatch(r"[A-Za-z0-9+/]{43}=", value), "standard base64 of 32 bytes, no newline"
    assert len(base64.b64decode(value, validate=True)) == 32


def test_create_data_key_stores_a_256_bit_key_without_showing_it(fake_az: dict[str, str]) -> None:
    result = _run("create-data-key.sh", fake_az)
    assert result.returncode == 0, result.stderr
    [key] = _stored(fake_az, "token-data-key")
    _assert_data_key(key)
    assert key not in result.stdout + result.stderr
    assert all(key not in arg for call in _calls(fake_az) for arg in call)
    set_call = next(c for c in _calls(fake_az) if c[:3] == ["keyvault", "secret", "set"])
    assert "--value" not in set_call and "--expires" not in set_call  # a data key must never expire


def test_create_data_key_refuses_to_overwrite(fake_az: dict[str, str]) -> None:
    env = {**fake_az, "FAKE_AZ_EXISTING_SECRETS": "token-data-key"}
    result = _run("create-data-key.sh", env)
    assert result.returncode != 0 and "rotate-data-key.sh" in result.stderr
    assert _stored(env, "token-data-key") == []


def test_rotate_adds_a_new_random_version(fake_az: dict[str, str]) -> None:
    env = {**fake_az, "FAKE_AZ_EXISTING_SECRETS": "token-data-key"}
    first = _run("rotate-data-key.sh", env)
    second = _run("rotate-data-key.sh", env, "--name", "token-data-key")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    keys = _stored(env, "token-data-key")
    assert len(keys) == 2 and keys[0] != keys[1]
    for key in keys:
        _assert_data_key(key)
        assert key not in first.stdout + second.stdout
    assert "ENABLED" in first.stdout  # tells the operator to keep old versions enabled
    assert not any(c[:3] == ["keyvault", "secret", "set-attributes"] for c in _calls(env))


def test_rotate_needs_an_existing_key(fake_az: dict[str, str]) -> None:
    result = _run("rotate-data-key.sh", fake_az)
    assert result.returncode != 0 and "create-data-key.sh" in result.stderr


def test_register_app_configures_the_registration_and_vaults_the_secret(fake_az: dict[str, str]) -> None:
    env = {
        **fake_az,
        "SLOTBRIDGE_REDIRECT_URI": "https://func-slotbridge-abc.azurewebsites.net/api/auth/callback",
        "AZURE_FUNCTION_APP_NAME": "func-slotbridge-abc",
        "AZURE_RESOURCE_GROUP": "rg-test",
    }
    result = _run("register-app.sh", env)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert CLIENT_SECRET not in output
    assert all(CLIENT_SECRET not in arg for call in _calls(env) for arg in call)
    assert _stored(env, "graph-client-secret") == [CLIENT_SECRET]

    patch = json.loads((Path(env["FAKE_AZ_STATE"]) / "patch.json").read_text(encoding="utf-8"))
    assert patch["signInAudience"] == "AzureADandPersonalMicrosoftAccount"
    assert patch["api"]["requestedAccessTokenVersion"] == 2
    assert patch["web"]["redirectUris"] == [env["SLOTBRIDGE_REDIRECT_URI"]]
    [graph] = patch["requiredResourceAccess"]
    assert graph["resourceAppId"] == "00000003-0000-0000-c000-000000000000"
    scopes = {a["id"] for a in graph["resourceAccess"] if a["type"] == "Scope"}
    assert {
        "1ec239c2-d7c9-4623-a91a-a9775856bb36",  # Calendars.ReadWrite
        "e1fe6dd8-ba31-4d61-89e7-88639da4683d",  # User.Read
        "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",  # offline_access
    } <= scopes
    assert len(graph["resourceAccess"]) == len(scopes)  # delegated only, no application roles

    reset = next(c for c in _calls(env) if c[:4] == ["ad", "app", "credential", "reset"])
    assert "--append" in reset  # the current secret keeps working during rotation
    settings = next(c for c in _calls(env) if c[:4] == ["functionapp", "config", "appsettings", "set"])
    assert "SLOTBRIDGE_CLIENT_ID=11111111-2222-3333-4444-555555555555" in settings


def test_register_app_rejects_odd_redirect_uris(fake_az: dict[str, str]) -> None:
    result = _run("register-app.sh", fake_az, "--redirect-uri", 'https://x.example/cb", "evil')
    assert result.returncode != 0 and "redirect URI" in result.stderr
    assert not (Path(fake_az["FAKE_AZ_STATE"]) / "patch.json").exists()
