"""azd wiring: azure.yaml names the function service and the Bicep entry point, and every value in
main.parameters.json is an azd substitution for a parameter that main.bicep declares."""

from __future__ import annotations

import json
import os
import re

from tests.unit.infra.bicep_tree import INFRA_DIR, MAIN_BICEP, REPO_ROOT, parse

AZURE_YAML = REPO_ROOT / "azure.yaml"
SUBSTITUTION = re.compile(r"^\$\{([A-Z][A-Z0-9_]*)(=[^}]*)?\}$")


def _yaml_lines() -> list[str]:
    return [line.rstrip() for line in AZURE_YAML.read_text(encoding="utf-8").splitlines()]


def _block(lines: list[str], header: str) -> list[str]:
    """The indented lines under `header` (a tiny reader for this flat file; no YAML dependency)."""
    start = lines.index(header)
    indent = len(header) - len(header.lstrip())
    block = []
    for line in lines[start + 1 :]:
        if line and not line.startswith("#") and len(line) - len(line.lstrip()) <= indent:
            break
        if line.strip():
            block.append(line.strip())
    return block


def test_azure_yaml_deploys_the_repo_root_as_a_python_function_app() -> None:
    lines = _yaml_lines()
    assert "name: slotbridge" in lines
    api = _block(lines, "  api:")
    assert {"project: .", "language: python", "host: function"} <= set(api)
    infra = _block(lines, "infra:")
    assert {"provider: bicep", "path: infra", "module: main"} <= set(infra)


def test_azure_yaml_needs_a_recent_azd_and_runs_the_setup_hook_after_provisioning() -> None:
    lines = _yaml_lines()
    [minimum] = _block(lines, "requiredVersions:")
    match = re.fullmatch(r'azd: ">= (\d+)\.(\d+)\.(\d+)"', minimum)
    assert match and tuple(map(int, match.groups())) >= (1, 18, 0), minimum
    hook = _block(lines, "  postprovision:")
    assert {"shell: sh", "run: infra/scripts/postprovision.sh", "continueOnError: false"} <= set(hook)
    script = INFRA_DIR / "scripts" / "postprovision.sh"
    assert script.is_file() and os.access(script, os.X_OK)
    steps = re.findall(
        r'^bash "\$\{scripts_dir\}/([a-z-]+\.sh)"(.*)$', script.read_text(encoding="utf-8"), re.MULTILINE
    )
    assert steps == [
        ("register-app.sh", ""),
        ("create-data-key.sh", " --if-missing"),
        ("create-app-keys.sh", ""),
    ]


def test_scale_settings_are_parameters_an_operator_sets_through_azd() -> None:
    values = json.loads((INFRA_DIR / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    declared = parse(MAIN_BICEP)["parameters"]
    for param, azd_name in (
        ("maximumInstanceCount", "SLOTBRIDGE_MAXIMUM_INSTANCE_COUNT"),
        ("instanceMemoryMB", "SLOTBRIDGE_INSTANCE_MEMORY_MB"),
        ("alwaysReadyHttpInstances", "SLOTBRIDGE_ALWAYS_READY_HTTP_INSTANCES"),
    ):
        assert values[param]["value"] == f"${{{azd_name}={declared[param]['default']}}}", param
    app = parse(MAIN_BICEP)["modules"]["functionApp"]["config"]["params"]
    assert {"maximumInstanceCount", "instanceMemoryMB", "alwaysReady"} <= set(app)


def test_the_function_app_carries_the_azd_service_tag() -> None:
    site = parse(INFRA_DIR / "modules" / "functionapp.bicep")["resources"]["site"]["config"]
    tags = site["tags"]["function"]["parameters"]["arg_2"]
    assert tags == {"'azd-service-name'": "api"}


def test_parameters_file_substitutes_declared_parameters() -> None:
    values = json.loads((INFRA_DIR / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    declared = parse(MAIN_BICEP)["parameters"]
    assert set(values) <= set(declared), sorted(set(values) - set(declared))
    for name, entry in values.items():
        assert SUBSTITUTION.match(entry["value"]), f"{name}: {entry['value']!r} is not an azd substitution"
    assert values["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    assert values["location"]["value"] == "${AZURE_LOCATION}"
    assert values["principalId"]["value"] == "${AZURE_PRINCIPAL_ID}"
    # Parameters without a default in main.bicep must come from the parameters file.
    required = {name for name, param in declared.items() if param["default"] is None}
    assert required <= set(values)


def test_readme_deploy_section_walks_through_azd_and_every_setup_script() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## Deploy to Azure\n(.*?)(?=^## )", readme, re.MULTILINE | re.DOTALL)
    assert match, "README.md has no 'Deploy to Azure' section"
    section = match.group(1)
    for step in ("azd auth login", "azd env new", "azd env set AZURE_LOCATION", "azd up", "/api/health"):
        assert step in section, step
    scripts = re.findall(r"infra/scripts/([a-z-]+\.sh)", section)
    assert scripts == ["postprovision.sh", "register-app.sh", "create-data-key.sh", "create-app-keys.sh"]
    for script in scripts:
        assert (INFRA_DIR / "scripts" / script).is_file(), script
    assert "docs/operations.md" in section and "adminconsent" in section
