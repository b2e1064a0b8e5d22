"""Every Bicep file parses, and main.bicep wires its modules consistently: each module file exists,
gets every parameter it requires and no parameter it does not declare, and every
`<module>.outputs.<name>` that main.bicep reads is an output of that module. This is the part of
`bicep build` that can be checked offline without the Bicep CLI."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.unit.infra.bicep_tree import (
    INFRA_DIR,
    MAIN_BICEP,
    REPO_ROOT,
    accessor_path,
    bicep_files,
    parse,
    walk,
)

EXPECTED_MODULES = {"identity", "monitoring", "storage", "keyvault", "roles", "functionapp", "alerts"}


def test_the_expected_templates_exist() -> None:
    names = {path.stem for path in (INFRA_DIR / "modules").glob("*.bicep")}
    assert names == EXPECTED_MODULES
    assert MAIN_BICEP.is_file()


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: str(p.relative_to(INFRA_DIR)))
def test_bicep_file_parses(path: Path) -> None:
    tree = parse(path)
    assert tree.get("resources") or tree.get("modules"), f"{path.name} declares nothing"


def test_main_targets_the_subscription_and_creates_the_resource_group() -> None:
    tree = parse(MAIN_BICEP)
    assert tree["globals"]["scope"]["value"] == "subscription"
    groups = [r for r in tree["resources"].values() if r["type"] == "Microsoft.Resources/resourceGroups"]
    assert len(groups) == 1


def test_no_registry_modules_or_template_specs() -> None:
    for path in bicep_files():
        for name, module in parse(path).get("modules", {}).items():
            assert module["type"] == "local", f"{path.name}: module {name} is {module['type']}"


def _main_modules() -> dict[str, Any]:
    modules: dict[str, Any] = parse(MAIN_BICEP)["modules"]
    return modules


@pytest.mark.parametrize("symbol", sorted(_main_modules()))
def test_module_parameters_match(symbol: str) -> None:
    module = _main_modules()[symbol]
    module_file = (MAIN_BICEP.parent / module["detail"]["path"]).resolve()
    assert module_file.is_file(), f"module {symbol}: {module_file} does not exist"
    assert module["config"]["scope"] == "rg", f"module {symbol} must deploy into the resource group"

    declared = parse(module_file).get("parameters", {})
    passed = set(module["config"]["params"])
    required = {name for name, param in declared.items() if param["default"] is None}
    assert not passed - set(declared), f"{symbol}: unknown parameters {sorted(passed - set(declared))}"
    assert not required - passed, f"{symbol}: missing parameters {sorted(required - passed)}"


def test_module_outputs_read_by_main_exist() -> None:
    modules = _main_modules()
    used: set[tuple[str, str]] = set()
    for _, value in walk(parse(MAIN_BICEP)):
        if isinstance(value, str):
            # `${functionApp.outputs.url}` inside interpolated strings.
            used.update(re.findall(r"\b(\w+)\.outputs\.(\w+)", value))
    for _, value in _accessors(parse(MAIN_BICEP)):
        parts = value.split(".")
        if len(parts) == 3 and parts[1] == "outputs":
            used.add((parts[0], parts[2]))
    assert used, "main.bicep reads no module outputs?"
    for symbol, output in sorted(used):
        assert symbol in modules, f"{symbol}.outputs.{output}: no module {symbol}"
        module_file = (MAIN_BICEP.parent / modules[symbol]["detail"]["path"]).resolve()
        outputs = parse(module_file).get("outputs", {})
        assert output in outputs, f"{symbol}.outputs.{output}: {module_file.name} has no such output"


def _accessors(value: object, path: str = "") -> list[tuple[str, str]]:
    """Every property-accessor chain in the tree, as (path, 'a.b.c')."""
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        chain = accessor_path(value) if "operator" in value else None
        if chain is not None:
            found.append((path, chain))
        else:
            for key, child in value.items():
                found.extend(_accessors(child, f"{path}/{key}"))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(_accessors(child, f"{path}/{index}"))
    return found


def test_azd_outputs() -> None:
    outputs = parse(MAIN_BICEP)["outputs"]
    for name in (
        "AZURE_LOCATION",
        "AZURE_TENANT_ID",
        "AZURE_RESOURCE_GROUP",
        "AZURE_FUNCTION_APP_NAME",
        "AZURE_FUNCTION_APP_URL",
        "AZURE_KEY_VAULT_NAME",
        "AZURE_KEY_VAULT_URL",
        "AZURE_STORAGE_ACCOUNT_NAME",
        "SLOTBRIDGE_REDIRECT_URI",
        "SLOTBRIDGE_CLIENT_SECRET_NAME",
        "SLOTBRIDGE_GOOGLE_CLIENT_SECRET_NAME",
        "SLOTBRIDGE_DATA_KEY_SECRET_NAME",
    ):
        assert name in outputs, f"main.bicep has no output {name}"
    # The redirect URI registered by register-app.sh is the app's auth callback route.
    assert str(outputs["SLOTBRIDGE_REDIRECT_URI"]["value"]).endswith("/api/auth/callback")


def test_poison_messages_raise_an_alert_on_application_insights() -> None:
    tree = parse(INFRA_DIR / "modules" / "alerts.bicep")
    rules = [r for r in tree["resources"].values() if r["type"] == "Microsoft.Insights/scheduledQueryRules"]
    queries = []
    for rule in rules:
        props = rule["config"]["properties"]
        assert props["scopes"] == ["applicationInsightsId"]
        [criterion] = props["criteria"]["allOf"]
        queries.append(str(tree["variables"][str(criterion["query"])]["value"]))
    assert any("MaxDequeueCount" in q for q in queries), "no alert on messages moved to poison queues"
    assert any("renewalFailedEvent" in q for q in queries)
    assert any("needsReconnectEvent" in q for q in queries)


def test_alerted_events_are_what_the_app_logs() -> None:
    params = parse(INFRA_DIR / "modules" / "alerts.bicep")["parameters"]
    source = "\n".join(p.read_text(encoding="utf-8") for p in (REPO_ROOT / "lib").rglob("*.py"))
    for name in ("renewalFailedEvent", "needsReconnectEvent", "poisonDepthEvent"):
        event = params[name]["default"]
        assert re.search(rf'log\.(warning|error|exception)\(\s*"{event} ', source), f"lib never logs {event}"
