"""The template and the app agree: the app settings Bicep sets are the ones lib/core/settings.py declares,
every setting the app declares is either set by the template or documented in docs/operations.md as
left unset in Azure, and the queue names and public-cloud defaults are the same strings."""

from __future__ import annotations

import json
import re

from lib.adapters.storage import queues
from lib.core import settings as app_settings
from tests.unit.infra.bicep_tree import (
    INFRA_DIR,
    MAIN_BICEP,
    REPO_ROOT,
    is_reference,
    module_path,
    parse,
    resource_body,
    resources_of_type,
)

OPERATIONS_DOC = REPO_ROOT / "docs" / "operations.md"
UNSET_SECTION = "Settings the template leaves unset"

# Settings of the Functions host / Azure SDKs / platform, not of Slotbridge's settings module.
PLATFORM_SETTINGS = {
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__blobServiceUri",
    "AZURE_CLIENT_ID",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
}


def _template_setting_values() -> dict[str, object]:
    tree = parse(module_path("functionapp"))
    for config in resources_of_type(tree, "Microsoft.Web/sites/config").values():
        body = resource_body(config)
        if body["name"] == "appsettings":
            properties: dict[str, object] = body["properties"]
            return properties
    raise AssertionError("functionapp.bicep sets no app settings")


def _template_settings() -> set[str]:
    return set(_template_setting_values())


def _documented_unset() -> set[str]:
    text = OPERATIONS_DOC.read_text(encoding="utf-8")
    match = re.search(rf"^#+ {UNSET_SECTION}\n(.*?)(?=^#+ |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"docs/operations.md has no '{UNSET_SECTION}' section"
    return set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", match.group(1)))


def test_every_declared_setting_is_set_by_the_template_or_documented_as_unset() -> None:
    template = _template_settings()
    documented = _documented_unset()
    for spec in app_settings.SETTING_SPECS:
        if spec.name in template:
            continue
        assert spec.name in documented, f"{spec.name} is neither set by the template nor documented as unset"
        assert not spec.required or spec.default, f"{spec.name} is required but the template does not set it"


def test_documented_unset_settings_are_really_unset() -> None:
    declared = {spec.name for spec in app_settings.SETTING_SPECS}
    for name in _documented_unset() & declared:
        assert name not in _template_settings(), f"{name} is documented as unset but the template sets it"


def test_every_template_setting_is_one_the_app_or_the_platform_reads() -> None:
    declared = {spec.name for spec in app_settings.SETTING_SPECS}
    unknown = _template_settings() - declared - PLATFORM_SETTINGS
    assert not unknown, f"the template sets settings lib/core/settings.py does not declare: {sorted(unknown)}"


def test_secret_settings_are_key_vault_references_or_identity() -> None:
    template = _template_settings()
    for spec in app_settings.SETTING_SPECS:
        if spec.secret and spec.name in template:
            # A secret in the template can only be a Key Vault reference (checked in test_security).
            from tests.unit.infra.test_security import KEY_VAULT_SECRETS

            assert spec.name in KEY_VAULT_SECRETS, f"secret setting {spec.name} set in the template"


def test_cloud_endpoint_defaults_are_the_public_cloud() -> None:
    params = parse(MAIN_BICEP)["parameters"]
    assert params["authorityHost"]["default"] == app_settings.PUBLIC_AUTHORITY_HOST
    assert params["graphBaseUrl"]["default"] == app_settings.PUBLIC_GRAPH_BASE_URL
    azd = json.loads((INFRA_DIR / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert azd["authorityHost"]["value"].endswith(f"={app_settings.PUBLIC_AUTHORITY_HOST}}}")
    assert azd["graphBaseUrl"]["value"].endswith(f"={app_settings.PUBLIC_GRAPH_BASE_URL}}}")


def test_table_prefix_default_matches() -> None:
    params = parse(MAIN_BICEP)["parameters"]
    spec = next(s for s in app_settings.SETTING_SPECS if s.name == "SLOTBRIDGE_TABLE_PREFIX")
    assert params["tablePrefix"]["default"] == spec.default


def test_queue_names_match_the_app() -> None:
    declared = parse(MAIN_BICEP)["variables"]["queueNames"]["value"]
    assert declared == [queues.GRAPH_NOTIFICATIONS_QUEUE, queues.SYNC_REQUESTS_QUEUE, queues.OUTBOX_QUEUE]
    storage = parse(module_path("storage"))
    poison = resource_body(storage["resources"]["poisonQueues"])
    assert poison["name"] == "${queueName}" + queues.POISON_SUFFIX


def test_template_defaults_are_the_app_defaults() -> None:
    """A setting the template fills from a parameter gets the app's own default: in the module, in
    main.bicep when it passes the parameter through, and in main.parameters.json's azd fallback."""
    module_params = parse(module_path("functionapp"))["parameters"]
    main_params = parse(MAIN_BICEP)["parameters"]
    azd = json.loads((INFRA_DIR / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    values = _template_setting_values()
    checked = []
    for spec in app_settings.SETTING_SPECS:
        value = values.get(spec.name)
        if spec.default is None or not is_reference(value) or str(value) not in module_params:
            continue
        param = str(value)
        for where, params in (("functionapp.bicep", module_params), ("main.bicep", main_params)):
            if param in params and params[param]["default"] is not None:
                assert str(params[param]["default"]) == spec.default, f"{where}: {param} vs {spec.name}"
        if param in azd:
            assert azd[param]["value"] == f"${{{spec.name}={spec.default}}}", param
        checked.append(spec.name)
    assert {
        "SLOTBRIDGE_TENANT",
        "SLOTBRIDGE_MAX_ACCOUNTS_PER_USER",
        "SLOTBRIDGE_SYNC_HORIZON_DAYS",
        "SLOTBRIDGE_AVAILABILITY_SOURCE",
        "SLOTBRIDGE_SUBSCRIPTION_RENEWAL_WINDOW_MINUTES",
        "SLOTBRIDGE_SUBSCRIPTION_RENEWAL_SCHEDULE",
        "SLOTBRIDGE_SYNC_RECONCILE_SCHEDULE",
        "SLOTBRIDGE_BOOKING_HOUSEKEEPING_SCHEDULE",
        "SLOTBRIDGE_POISON_CHECK_SCHEDULE",
    } <= set(checked)


def test_google_calendar_is_wired_like_microsoft_and_off_while_its_client_id_is_empty() -> None:
    """The Google OAuth client comes in as the Entra app does: the client id an app setting from a
    parameter azd fills from SLOTBRIDGE_GOOGLE_CLIENT_ID, empty by default (Google Calendar off),
    and the secret a Key Vault reference (its form is checked in test_security)."""
    values = _template_setting_values()
    assert is_reference(values["SLOTBRIDGE_GOOGLE_CLIENT_ID"])
    param = str(values["SLOTBRIDGE_GOOGLE_CLIENT_ID"])
    assert param in parse(module_path("functionapp"))["parameters"]
    main_params = parse(MAIN_BICEP)["parameters"]
    assert main_params[param]["default"] == ""
    azd = json.loads((INFRA_DIR / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert azd[param]["value"] == "${SLOTBRIDGE_GOOGLE_CLIENT_ID=}"
    assert "SLOTBRIDGE_GOOGLE_CLIENT_SECRET" in values
    assert {"SLOTBRIDGE_GOOGLE_CLIENT_ID", "SLOTBRIDGE_GOOGLE_CLIENT_SECRET"}.isdisjoint(_documented_unset())


def test_every_setting_a_binding_names_is_set_by_the_template_and_every_local_run() -> None:
    """The host resolves `%NAME%` in a binding from the app settings and refuses the function when
    one is missing: the template sets each (a default in lib/core/settings.py does not reach the
    host), and so does local.settings.example.json; tests and benches set every timer's through
    `bench.stack_env.quiet_timers`, which reads the same bindings."""
    from bench.stack_env import quiet_timers

    named = {
        name
        for source in (REPO_ROOT / "functions").glob("*.py")
        for name in re.findall(r"%([A-Za-z0-9_]+)%", source.read_text(encoding="utf-8"))
    }
    assert named, "no binding names a setting: the scan is broken"
    assert named <= _template_settings(), named - _template_settings()
    example = json.loads((REPO_ROOT / "local.settings.example.json").read_text(encoding="utf-8"))["Values"]
    assert named <= set(example), named - set(example)
    assert {name for name in named if name.endswith("_SCHEDULE")} == set(quiet_timers())
