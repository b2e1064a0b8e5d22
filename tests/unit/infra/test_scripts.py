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

from tests.unit.infra.bicep_tree import INFRA_DIR, module_path, parse

SCRIPTS_DIR = INFRA_DIR / "scripts"
SCRIPTS = [
    "create-data-key.sh",
    "rotate-data-key.sh",
    "register-app.sh",
    "create-app-keys.sh",
    "postprovision.sh",
]
CLIENT_SECRET = "fake8Q~Cl13ntS3cr3tValue.ForTests_0123456789"

# A stand-in for the Azure CLI: logs every call's arguments, answers from a small table, and copies
# what `az keyvault secret set --file` reads (a file or /dev/stdin) so tests can look at what would be
# stored. A secret exists if FAKE_AZ_EXISTING_SECRETS names it or it was stored; its value is the
# last one stored, else FAKE_AZ_VALUES[name]. Service principals and the function app's settings are
# kept in the state folder too, so a second run sees what the first one made.
FAKE_AZ = r"""
import glob, json, os, shutil, sys
state_dir = os.environ["FAKE_AZ_STATE"]
args = sys.argv[1:]
with open(os.path.join(state_dir, "calls.jsonl"), "a") as log:
    log.write(json.dumps(args) + "\n")
def opt(name):
    return args[args.index(name) + 1] if name in args else None
def has(*words):
    return args[: len(words)] == list(words)
existing = set(os.environ.get("FAKE_AZ_EXISTING_SECRETS", "").split(","))
def stored(name):
    files = sorted(glob.glob(os.path.join(state_dir, f"stored-{name}-*")))
    return [open(f, encoding="utf-8").read() for f in files]
if has("account", "show"):
    if os.environ.get("FAKE_AZ_LOGGED_OUT"):
        sys.exit(1)
    print("00000000-0000-0000-0000-0000000000aa" if opt("--query") == "tenantId" else "{}")
elif has("keyvault", "secret", "show"):
    name = opt("--name")
    if name not in existing and not stored(name):
        sys.exit(3)
    if opt("--query") == "value":
        if os.environ.get("FAKE_AZ_VALUE_FAILS"):
            sys.exit(1)
        values = stored(name) or [json.loads(os.environ.get("FAKE_AZ_VALUES", "{}"))[name]]
        print(values[-1])
elif has("keyvault", "secret", "set"):
    n = len(os.listdir(state_dir))
    with open(opt("--file"), "rb") as source:
        value = source.read()
    with open(os.path.join(state_dir, f"stored-{opt('--name')}-{n:03d}"), "wb") as target:
        target.write(value)
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
    if not os.path.exists(os.path.join(state_dir, f"sp-{opt('--id')}")):
        sys.exit(3)
elif has("ad", "sp", "create"):
    open(os.path.join(state_dir, f"sp-{opt('--id')}"), "w").close()
elif has("functionapp", "config", "appsettings"):
    path = os.path.join(state_dir, "appsettings.json")
    settings = json.load(open(path)) if os.path.exists(path) else {}
    if args[3] == "set":
        for pair in args[args.index("--settings") + 1 :]:
            if pair.startswith("--"):
                break
            key, _, value = pair.partition("=")
            settings[key] = value
        json.dump(settings, open(path, "w"))
    else:  # list --query "[?name=='NAME'].value | [0]"
        print(settings.get(opt("--query").split("'")[1], ""))
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
        "87f447af-9fa4-4c32-9dfa-4a57a73d18ce",  # MailboxSettings.Read (the mailbox time zone)
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


# --- create-app-keys.sh -------------------------------------------------------------------------

APP_KEYS = ["api-keys", "user-token-key", "webhook-signing-key", "client-state-key"]
API_KEY_RE = re.compile(r"[A-Za-z0-9_-]{43}")  # URL-safe base64 of 32 bytes, never a comma
OLD_API_KEY = "old-product-api-key-0123456789abcdefghijklmnop"


def _set_calls(env: dict[str, str]) -> list[list[str]]:
    return [c for c in _calls(env) if c[:3] == ["keyvault", "secret", "set"]]


def _assert_never_shown(result: subprocess.CompletedProcess[str], env: dict[str, str], *values: str) -> None:
    for value in values:
        assert value not in result.stdout + result.stderr
        assert all(value not in arg for call in _calls(env) for arg in call)


def test_create_app_keys_creates_every_missing_key_without_showing_it(fake_az: dict[str, str]) -> None:
    env = {**fake_az, "AZURE_FUNCTION_APP_NAME": "func-slotbridge-abc", "AZURE_RESOURCE_GROUP": "rg-test"}
    result = _run("create-app-keys.sh", env)
    assert result.returncode == 0, result.stderr
    values = {name: _stored(env, name) for name in APP_KEYS}
    assert all(len(v) == 1 for v in values.values()), values.keys()
    [api_key] = values["api-keys"]
    assert API_KEY_RE.fullmatch(api_key)
    for name in ("user-token-key", "webhook-signing-key", "client-state-key"):
        _assert_data_key(values[name][0])  # base64, >= 32 bytes: what lib/core/settings.py accepts
    assert len({v[0] for v in values.values()}) == 4
    _assert_never_shown(result, env, *(v[0] for v in values.values()))
    for call in _set_calls(env):
        assert call[call.index("--file") + 1] == "/dev/stdin" and "--value" not in call
    # The app re-reads its Key Vault references (it refused to start while they were unresolved).
    settings = next(c for c in _calls(env) if c[:4] == ["functionapp", "config", "appsettings", "set"])
    assert any(arg.startswith("KEYVAULT_REFERENCES_REFRESHED_AT=") for arg in settings)


def test_create_app_keys_is_idempotent(fake_az: dict[str, str]) -> None:
    first = _run("create-app-keys.sh", fake_az)
    assert first.returncode == 0, first.stderr
    second = _run("create-app-keys.sh", fake_az)
    assert second.returncode == 0, second.stderr
    assert len(_set_calls(fake_az)) == 4
    assert second.stdout.count("Kept the existing") == 4


def test_create_app_keys_rotates_only_the_named_key(fake_az: dict[str, str]) -> None:
    env = {**fake_az, "FAKE_AZ_EXISTING_SECRETS": ",".join(APP_KEYS)}
    result = _run("create-app-keys.sh", env, "--rotate", "client-state-key")
    assert result.returncode == 0, result.stderr
    assert [c[c.index("--name") + 1] for c in _set_calls(env)] == ["client-state-key"]
    [key] = _stored(env, "client-state-key")
    _assert_data_key(key)
    _assert_never_shown(result, env, key)


def test_rotating_api_keys_keeps_the_current_ones_until_pruned(fake_az: dict[str, str]) -> None:
    env = {
        **fake_az,
        "FAKE_AZ_EXISTING_SECRETS": ",".join(APP_KEYS),
        "FAKE_AZ_VALUES": json.dumps({"api-keys": OLD_API_KEY}),
    }
    rotated = _run("create-app-keys.sh", env, "--rotate", "api-keys")
    assert rotated.returncode == 0, rotated.stderr
    [listed] = _stored(env, "api-keys")
    new_key, old_key = listed.split(",")
    assert API_KEY_RE.fullmatch(new_key) and old_key == OLD_API_KEY  # newest first, old still valid

    pruned = _run("create-app-keys.sh", env, "--prune-api-keys")
    assert pruned.returncode == 0, pruned.stderr
    assert _stored(env, "api-keys")[-1] == new_key
    _assert_never_shown(rotated, env, new_key, OLD_API_KEY)
    _assert_never_shown(pruned, env, new_key, OLD_API_KEY)


def test_api_key_rotation_stores_nothing_when_the_current_list_is_unreadable(fake_az: dict[str, str]) -> None:
    env = {**fake_az, "FAKE_AZ_EXISTING_SECRETS": ",".join(APP_KEYS), "FAKE_AZ_VALUE_FAILS": "1"}
    for args in (["--rotate", "api-keys"], ["--prune-api-keys"]):
        result = _run("create-app-keys.sh", env, *args)
        assert result.returncode != 0, args
    assert _set_calls(env) == []


def test_create_app_keys_rejects_unknown_secret_names(fake_az: dict[str, str]) -> None:
    result = _run("create-app-keys.sh", fake_az, "--rotate", "token-data-key")
    assert result.returncode != 0 and "unknown secret" in result.stderr
    assert not (Path(fake_az["FAKE_AZ_STATE"]) / "calls.jsonl").exists()


def test_create_app_keys_writes_the_secrets_the_template_references() -> None:
    params = parse(module_path("functionapp"))["parameters"]
    referenced = {
        params[name]["default"]
        for name in (
            "apiKeysSecretName",
            "userTokenKeySecretName",
            "webhookSigningKeySecretName",
            "clientStateKeySecretName",
        )
    }
    script = (SCRIPTS_DIR / "create-app-keys.sh").read_text(encoding="utf-8")
    [declared] = re.findall(r"^readonly -a SECRET_NAMES=\((.*)\)$", script, re.MULTILINE)
    assert set(declared.split()) == referenced == set(APP_KEYS)


# --- the azd postprovision hook -----------------------------------------------------------------

# A stand-in for azd's environment commands, kept in the state folder like the fake az's data.
FAKE_AZD = r"""
import json, os, sys
state_dir = os.environ["FAKE_AZ_STATE"]
path = os.path.join(state_dir, "azd-env.json")
values = json.load(open(path)) if os.path.exists(path) else {}
args = sys.argv[1:]
with open(os.path.join(state_dir, "azd-calls.jsonl"), "a") as log:
    log.write(json.dumps(args) + "\n")
if args[:2] == ["env", "get-value"]:
    if args[2] not in values:
        sys.exit(f"ERROR: key '{args[2]}' not found in the environment values")
    print(values[args[2]])
elif args[:2] == ["env", "set"]:
    values[args[2]] = args[3]
    json.dump(values, open(path, "w"))
else:
    sys.exit(2)
"""
# What `azd provision` leaves in a fresh environment: the Bicep outputs the scripts read.
AZD_OUTPUTS = {
    "AZURE_ENV_NAME": "slotbridge-test",
    "AZURE_KEY_VAULT_NAME": "kv-test",
    "AZURE_FUNCTION_APP_NAME": "func-slotbridge-abc",
    "AZURE_RESOURCE_GROUP": "rg-slotbridge-test",
    "SLOTBRIDGE_REDIRECT_URI": "https://func-slotbridge-abc.azurewebsites.net/api/auth/callback",
}
HOOK_WRITES = (
    ["ad", "app", "create"],
    ["ad", "app", "credential", "reset"],
    ["ad", "sp", "create"],
    ["keyvault", "secret", "set"],
    ["functionapp", "config", "appsettings", "set"],
)


@pytest.fixture
def azd_env(fake_az: dict[str, str]) -> dict[str, str]:
    azd = Path(fake_az["PATH"].split(os.pathsep)[0]) / "azd"
    azd.write_text(f"#!{sys.executable}\n{FAKE_AZD}", encoding="utf-8")
    azd.chmod(0o755)
    state = Path(fake_az["FAKE_AZ_STATE"])
    (state / "azd-env.json").write_text(json.dumps(AZD_OUTPUTS), encoding="utf-8")
    return {k: v for k, v in fake_az.items() if k != "AZURE_KEY_VAULT_NAME"}


def _run_hook(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The hook as azd runs it: with the environment's current values exported."""
    values = json.loads((Path(env["FAKE_AZ_STATE"]) / "azd-env.json").read_text(encoding="utf-8"))
    return _run("postprovision.sh", {**env, **values})


def _state(env: dict[str, str]) -> dict[str, str]:
    """Everything the fakes keep: secrets (with versions), app settings, principals, azd values."""
    state = Path(env["FAKE_AZ_STATE"])
    return {
        p.name: p.read_text(encoding="utf-8")
        for p in sorted(state.iterdir())
        if not p.name.endswith("calls.jsonl")
    }


def _template_secret_names() -> set[str]:
    main = parse(INFRA_DIR / "main.bicep")["parameters"]
    app = parse(module_path("functionapp"))["parameters"]
    names = {main["clientSecretName"]["default"], main["dataKeySecretName"]["default"]}
    return names | {
        app[f"{key}SecretName"]["default"]
        for key in ("apiKeys", "userTokenKey", "webhookSigningKey", "clientStateKey")
    }


def test_postprovision_hook_leaves_a_fresh_environment_with_a_starting_app(azd_env: dict[str, str]) -> None:
    result = _run_hook(azd_env)
    assert result.returncode == 0, result.stderr
    # Every secret the app's settings reference or the app reads exists, so it starts.
    stored = {name for name in _template_secret_names() if _stored(azd_env, name)}
    assert stored == _template_secret_names() == {"graph-client-secret", "token-data-key", *APP_KEYS}
    state = _state(azd_env)
    settings = json.loads(state["appsettings.json"])
    assert settings["SLOTBRIDGE_CLIENT_ID"] == "11111111-2222-3333-4444-555555555555"
    assert "KEYVAULT_REFERENCES_REFRESHED_AT" in settings  # the references are resolved again now
    # Later provisions keep the client id (main.parameters.json reads it from the azd environment).
    assert json.loads(state["azd-env.json"])["SLOTBRIDGE_CLIENT_ID"] == settings["SLOTBRIDGE_CLIENT_ID"]
    secrets = [
        CLIENT_SECRET,
        *(value for name in _template_secret_names() for value in _stored(azd_env, name)),
    ]
    _assert_never_shown(result, azd_env, *secrets)


def test_postprovision_hook_run_again_changes_nothing(azd_env: dict[str, str]) -> None:
    first = _run_hook(azd_env)
    assert first.returncode == 0, first.stderr
    before, calls_before = _state(azd_env), len(_calls(azd_env))
    second = _run_hook(azd_env)
    assert second.returncode == 0, second.stderr
    assert _state(azd_env) == before  # no new secret version, no app-settings write, same azd values
    again = _calls(azd_env)[calls_before:]
    assert not [c for c in again if any(c[: len(write)] == write for write in HOOK_WRITES)]
    azd_calls = (Path(azd_env["FAKE_AZ_STATE"]) / "azd-calls.jsonl").read_text(encoding="utf-8").splitlines()
    assert sum(json.loads(c)[:2] == ["env", "set"] for c in azd_calls) == 1  # the first run's client id
    assert "Kept the existing data key" in second.stdout and second.stdout.count("Kept the existing") == 5


def test_postprovision_hook_stops_before_any_step_when_az_is_not_logged_in(azd_env: dict[str, str]) -> None:
    result = _run_hook({**azd_env, "FAKE_AZ_LOGGED_OUT": "1"})
    assert result.returncode != 0 and "az login" in result.stderr
    assert [c[:2] for c in _calls(azd_env)] == [["account", "show"]]


def test_create_data_key_if_missing_keeps_the_existing_key(fake_az: dict[str, str]) -> None:
    env = {**fake_az, "FAKE_AZ_EXISTING_SECRETS": "token-data-key"}
    result = _run("create-data-key.sh", env, "--if-missing")
    assert result.returncode == 0 and "Kept the existing data key" in result.stdout, result.stderr
    assert _stored(env, "token-data-key") == []
