"""The template and the app agree: the app settings Bicep sets are the ones lib/settings.py declares,
every setting the app declares is either set by the template or documented in docs/operations.md as
left unset in Azure, and the queue names and public-cloud defaults are the same strings."""

from __future__ import annotations

import json
import re

import pytest

from lib import settings as app_settings
from lib.storage import queues
from tests.unit.infra.bicep_tree import (
    INFRA_DIR,
    MAIN_BICEP,
    REPO_ROOT,
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
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
}


def _template_settings() -> set[str]:
    tree = parse(module_path("functionapp"))
    for config in resources_of_type(tree, "Microsoft.Web/sites/config").values():
        body = resource_body(config)
        if body["name"] == "appsettings":
            return set(body["properties"])
    raise AssertionError("functionapp.bicep sets no app settings")


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


# The template sets these by the names the Deploy issue gave; lib/settings.py does not declare them yet.
# The marker applies only while one of them is missing; once lib/settings.py declares them all the
# test runs normally (then delete this block).
_PENDING_IN_SETTINGS = {
    "SLOTBRIDGE_CLIENT_ID",
    "SLOTBRIDGE_CLIENT_SECRET",
    "SLOTBRIDGE_KEY_VAULT_URL",
    "SLOTBRIDGE_DATA_KEY_SECRET_NAME",
    "SLOTBRIDGE_PUBLIC_BASE_URL",
}


@pytest.mark.xfail(
    not _PENDING_IN_SETTINGS.issubset(spec.name for spec in app_settings.SETTING_SPECS),
    reason=f"lib/settings.py does not declare {sorted(_PENDING_IN_SETTINGS)} yet",
    strict=True,
)
def test_every_template_setting_is_one_the_app_or_the_platform_reads() -> None:
    declared = {spec.name for spec in app_settings.SETTING_SPECS}
    unknown = _template_settings() - declared - PLATFORM_SETTINGS
    assert not unknown, f"the template sets settings lib/settings.py does not declare: {sorted(unknown)}"


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
