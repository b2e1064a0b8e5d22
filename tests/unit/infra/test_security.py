"""Security properties of the templates, checked on the parsed Bicep tree (not by grepping text)."""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path
from typing import Any, cast

import pytest
from pycep import BicepParser

from tests.unit.infra.bicep_tree import (
    INFRA_DIR,
    MAIN_BICEP,
    Tree,
    accessor_path,
    bicep_files,
    is_literal,
    is_reference,
    module_path,
    parse,
    resource_body,
    resources_of_type,
    single_resource,
    unquote_key,
    walk,
)

# Built-in role definition ids (the same GUIDs in every tenant).
STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
STORAGE_QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
STORAGE_TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
KEY_VAULT_SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"

STORAGE_ACCOUNT = "Microsoft.Storage/storageAccounts"
KEY_VAULT = "Microsoft.KeyVault/vaults"
APP_INSIGHTS = "Microsoft.Insights/components"

# (role, type of the resource it is scoped to, principal parameter) for every assignment we expect.
EXPECTED_ASSIGNMENTS = {
    (STORAGE_BLOB_DATA_OWNER, STORAGE_ACCOUNT, "appPrincipalId"),
    (STORAGE_QUEUE_DATA_CONTRIBUTOR, STORAGE_ACCOUNT, "appPrincipalId"),
    (STORAGE_TABLE_DATA_CONTRIBUTOR, STORAGE_ACCOUNT, "appPrincipalId"),
    (KEY_VAULT_SECRETS_USER, KEY_VAULT, "appPrincipalId"),
    (MONITORING_METRICS_PUBLISHER, APP_INSIGHTS, "appPrincipalId"),
    (KEY_VAULT_SECRETS_OFFICER, KEY_VAULT, "operatorPrincipalId"),
}

GUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _variable(tree: Tree, name: str) -> Any:
    return tree["variables"][name]["value"]


def _resolve(tree: Tree, value: object) -> object:
    """Follow a reference to a variable of the same file (once); other values come back as they are."""
    if is_reference(value) and str(value) in tree.get("variables", {}):
        return _variable(tree, str(value))
    return value


# --- storage ------------------------------------------------------------------------------------


def test_storage_account_is_identity_only_and_tls12_https() -> None:
    tree = parse(module_path("storage"))
    props = resource_body(single_resource(tree, STORAGE_ACCOUNT))["properties"]
    assert props["allowSharedKeyAccess"] is False
    assert props["minimumTlsVersion"] == "TLS1_2"
    assert props["supportsHttpsTrafficOnly"] is True
    assert props["allowBlobPublicAccess"] is False
    assert props["defaultToOAuthAuthentication"] is True


def test_blob_containers_are_private() -> None:
    tree = parse(module_path("storage"))
    containers = resources_of_type(tree, f"{STORAGE_ACCOUNT}/blobServices/containers")
    assert containers
    for container in containers.values():
        assert resource_body(container)["properties"]["publicAccess"] == "None"


# --- key vault ----------------------------------------------------------------------------------


def test_key_vault_uses_rbac_soft_delete_and_purge_protection() -> None:
    props = resource_body(single_resource(parse(module_path("keyvault")), KEY_VAULT))["properties"]
    assert props["enableRbacAuthorization"] is True
    assert props["enableSoftDelete"] is True
    assert props["softDeleteRetentionInDays"] == 90
    assert props["enablePurgeProtection"] is True
    assert "accessPolicies" not in props


def test_no_template_declares_a_secret_value() -> None:
    for path in bicep_files():
        secrets = resources_of_type(parse(path), f"{KEY_VAULT}/secrets")
        assert not secrets, f"{path.name} writes Key Vault secrets: {sorted(secrets)}"


# --- role assignments ---------------------------------------------------------------------------


def _assignments() -> list[tuple[Path, str, Tree, Tree]]:
    found = []
    for path in bicep_files():
        tree = parse(path)
        for name, resource in resources_of_type(tree, "Microsoft.Authorization/roleAssignments").items():
            found.append((path, name, tree, resource))
    return found


def _role_guid(tree: Tree, role_definition_id: object) -> str:
    function = role_definition_id["function"] if isinstance(role_definition_id, dict) else None
    assert function and function["type"] == "subscription_resource_id", role_definition_id
    params = function["parameters"]
    assert params["resource_type"] == "Microsoft.Authorization/roleDefinitions"
    ref = accessor_path(params["resource_name_1"])
    assert ref is not None, params["resource_name_1"]
    if "." in ref:
        variable, key = ref.split(".", 1)
        guid = _variable(tree, variable)[key]
    else:
        guid = _resolve(tree, params["resource_name_1"])
    assert isinstance(guid, str) and GUID_RE.match(guid), guid
    return guid


def test_role_assignments_live_in_the_roles_module_only() -> None:
    assert {path.name for path, *_ in _assignments()} == {"roles.bicep"}


def _assignment_facts(tree: Tree, name: str, resource: Tree) -> tuple[str, str, str]:
    """(role GUID, scoped resource type, principal symbol) of one assignment; AssertionError if the
    assignment is not scoped to a single resource of its file or its role is not a well-known GUID."""
    body = resource_body(resource)
    scope = body.get("scope")
    assert is_reference(scope), f"{name} has no resource scope (it would apply to the whole resource group)"
    target = tree.get("resources", {}).get(str(scope))
    assert target is not None, f"{name}: scope {scope} is not a resource of the file"
    assert target["type"] != "Microsoft.Resources/resourceGroups", f"{name} is scoped to a resource group"
    props = body["properties"]
    guid = _role_guid(tree, props["roleDefinitionId"])
    assert is_reference(props["principalId"]), f"{name}: principalId must be a parameter"

    # A deterministic name over scope, principal and role: re-deploys update, never duplicate.
    guid_call = body["name"]["function"]
    assert guid_call["type"] == "guid"
    parts = [accessor_path(v) for v in guid_call["parameters"].values()]
    assert f"{scope}.id" in parts and str(props["principalId"]) in parts, f"{name}: name is {parts}"
    return guid, target["type"], str(props["principalId"])


def test_every_role_assignment_is_scoped_to_one_resource_with_the_expected_role() -> None:
    seen = {_assignment_facts(tree, name, resource) for _, name, tree, resource in _assignments()}
    assert seen == EXPECTED_ASSIGNMENTS


def test_the_scope_check_rejects_resource_group_wide_assignments() -> None:
    tree = cast(
        Tree,
        BicepParser().parse(
            text="""
param appPrincipalId string
var roles = {
  owner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
}
resource wide 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, appPrincipalId, roles.owner)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.owner)
    principalId: appPrincipalId
  }
}
"""
        ),
    )
    with pytest.raises(AssertionError, match="no resource scope"):
        _assignment_facts(tree, "wide", tree["resources"]["wide"])


def test_app_identity_cannot_write_secrets() -> None:
    for _, _, tree, resource in _assignments():
        props = resource_body(resource)["properties"]
        if str(props["principalId"]) == "appPrincipalId":
            assert _role_guid(tree, props["roleDefinitionId"]) != KEY_VAULT_SECRETS_OFFICER


def test_app_role_assignments_name_a_service_principal() -> None:
    for _, name, _, resource in _assignments():
        props = resource_body(resource)["properties"]
        if str(props["principalId"]) == "appPrincipalId":
            assert props["principalType"] == "ServicePrincipal", name


# --- function app -------------------------------------------------------------------------------


def _functionapp() -> Tree:
    return parse(module_path("functionapp"))


def _site() -> Tree:
    return resource_body(single_resource(_functionapp(), "Microsoft.Web/sites"))


def _app_settings() -> dict[str, object]:
    tree = _functionapp()
    configs = resources_of_type(tree, "Microsoft.Web/sites/config")
    settings = [resource_body(c) for c in configs.values() if resource_body(c)["name"] == "appsettings"]
    assert len(settings) == 1
    properties: dict[str, object] = settings[0]["properties"]
    return properties


def test_plan_is_flex_consumption() -> None:
    plan = resource_body(single_resource(_functionapp(), "Microsoft.Web/serverfarms"))
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["properties"]["reserved"] is True  # Linux


def test_site_runs_python_311_on_the_flex_plan() -> None:
    tree = _functionapp()
    site = _site()
    assert site["kind"] == "functionapp,linux"
    assert accessor_path(site["properties"]["serverFarmId"]) == "plan.id"
    runtime = site["properties"]["functionAppConfig"]["runtime"]
    assert _resolve(tree, runtime["name"]) == "python"
    assert _resolve(tree, runtime["version"]) == "3.11"
    # The v2 programming model on Flex: no FUNCTIONS_WORKER_RUNTIME / package settings (Flex rejects them).
    for banned in ("FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE"):
        assert banned not in _app_settings()


def test_site_uses_only_the_user_assigned_identity() -> None:
    site = _site()
    identity = site["identity"]
    assert identity["type"] == "UserAssigned"
    assert [unquote_key(k) for k in identity["userAssignedIdentities"]] == ["${identityId}"]
    props = site["properties"]
    assert props["keyVaultReferenceIdentity"] == "identityId" and is_reference(
        props["keyVaultReferenceIdentity"]
    )
    auth = props["functionAppConfig"]["deployment"]["storage"]["authentication"]
    assert auth["type"] == "UserAssignedIdentity"
    assert (
        is_reference(auth["userAssignedIdentityResourceId"])
        and auth["userAssignedIdentityResourceId"] == "identityId"
    )


def test_site_is_https_only_with_tls12_and_no_basic_auth_publishing() -> None:
    tree = _functionapp()
    props = _site()["properties"]
    assert props["httpsOnly"] is True
    assert props["siteConfig"]["minTlsVersion"] == "1.2"
    assert props["siteConfig"]["ftpsState"] == "Disabled"
    policies = resources_of_type(tree, "Microsoft.Web/sites/basicPublishingCredentialsPolicies")
    assert {resource_body(p)["name"] for p in policies.values()} == {"scm", "ftp"}
    assert all(resource_body(p)["properties"]["allow"] is False for p in policies.values())


def test_storage_settings_are_identity_based() -> None:
    settings = _app_settings()
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    for name in ("AzureWebJobsStorage__accountName", "AzureWebJobsStorage__clientId", "AZURE_CLIENT_ID"):
        assert is_reference(settings[name]), name
    assert settings["AzureWebJobsStorage__clientId"] == "identityClientId"
    assert settings["AZURE_CLIENT_ID"] == "identityClientId"
    for service in ("blob", "queue", "table"):
        assert is_reference(settings[f"AzureWebJobsStorage__{service}ServiceUri"])
    # No connection string at all (shared keys are off anyway).
    assert "AzureWebJobsStorage" not in settings


# Every secret the app reads from a setting reaches it as a Key Vault reference.
KEY_VAULT_SECRETS = {
    "SLOTBRIDGE_CLIENT_SECRET": "clientSecretName",
    "SLOTBRIDGE_GOOGLE_CLIENT_SECRET": "googleClientSecretName",
    "SLOTBRIDGE_API_KEYS": "apiKeysSecretName",
    "SLOTBRIDGE_USER_TOKEN_KEY": "userTokenKeySecretName",
    "SLOTBRIDGE_WEBHOOK_SIGNING_KEY": "webhookSigningKeySecretName",
    "SLOTBRIDGE_CLIENT_STATE_KEY": "clientStateKeySecretName",
}


# The secret of a service that is off while a parameter is empty: empty then (an unresolved
# reference would stop the app from starting), else the reference.
OPTIONAL_SECRETS = {"SLOTBRIDGE_GOOGLE_CLIENT_SECRET": "googleClientId"}


def _unless_off(value: Any, switch: str) -> object:
    """`empty(<switch>) ? '' : <reference>` -> the reference."""
    operands = value["operator"]["operands"]
    assert value["operator"]["type"] == "conditional"
    assert operands["condition"] == {"function": {"type": "empty", "parameters": {"item_to_test": switch}}}
    assert operands["true_value"] == ""
    return operands["false_value"]


@pytest.mark.parametrize(("setting", "secret_name_param"), sorted(KEY_VAULT_SECRETS.items()))
def test_secrets_are_key_vault_references(setting: str, secret_name_param: str) -> None:
    tree = _functionapp()
    value = _app_settings()[setting]
    if setting in OPTIONAL_SECRETS:
        value = _unless_off(value, OPTIONAL_SECRETS[setting])
    value = _resolve(tree, value)
    assert is_literal(value)
    expected = rf"@Microsoft\.KeyVault\(SecretUri=\$\{{keyVaultUri\}}secrets/\$\{{{secret_name_param}\}}\)"
    assert re.fullmatch(expected, str(value))


def test_application_insights_uses_entra_auth() -> None:
    settings = _app_settings()
    assert (
        settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]
        == "ClientId=${identityClientId};Authorization=AAD"
    )
    component = resource_body(single_resource(parse(module_path("monitoring")), APP_INSIGHTS))
    assert component["properties"]["WorkspaceResourceId"] is not None
    assert accessor_path(component["properties"]["WorkspaceResourceId"]) == "workspace.id"


# --- no secrets anywhere ------------------------------------------------------------------------

SECRET_PATTERNS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"AccountKey=",
        r"SharedAccessSignature=",
        r"SharedAccessKey=",
        r"[?&]sig=",
        r"InstrumentationKey=[0-9a-f-]{36}",
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
        r"password\s*[=:]",
        r"client_secret=",
    )
]


def _looks_like_key_material(text: str) -> bool:
    """A long high-entropy token (a pasted key, SAS signature or client secret): 30+ characters from
    the base64 / URL-safe / Entra-secret alphabets, mixing digits, upper and lower case letters."""
    for token in re.findall(r"[A-Za-z0-9+/=_~.-]{30,}", text):
        if not (re.search(r"[0-9]", token) and re.search(r"[A-Z]", token) and re.search(r"[a-z]", token)):
            continue
        counts = Counter(token)
        entropy = -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())
        if entropy >= 4.2:
            return True
    return False


def _nodes(value: object) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        found.append(value)
        for child in value.values():
            found.extend(_nodes(child))
    elif isinstance(value, list):
        for child in value:
            found.extend(_nodes(child))
    return found


def _secret_findings(tree: Tree) -> list[str]:
    findings: list[str] = []
    for where, value in walk(tree):
        if not is_literal(value) or "/decorators/" in where:
            continue
        text = str(value)
        findings.extend(f"{where}: {p.pattern}" for p in SECRET_PATTERNS if p.search(text))
        if _looks_like_key_material(text):
            findings.append(f"{where}: looks like key material")
    return findings


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: str(p.relative_to(INFRA_DIR)))
def test_no_secret_literal_in_template(path: Path) -> None:
    assert _secret_findings(parse(path)) == []


def test_the_secret_check_finds_planted_secrets() -> None:
    planted = BicepParser().parse(
        text="""
param conn string = 'DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abc'
var dataKey = 'q3Vb8mZ1xR4tY7uI0oP2aS5dF9gH6jK3lL8zX1cV4bN='
resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: 'x'
  properties: {
    siteConfig: {
      appSettings: [
        {
          name: 'SLOTBRIDGE_CLIENT_SECRET'
          value: 'abc8Q~Xy7Zk2.Lp0_QmWv3rT9sUe1nB4cD6fG8hJ'
        }
      ]
    }
  }
}
"""
    )
    findings = _secret_findings(cast(Tree, planted))
    assert any("/parameters/conn" in f for f in findings)
    assert any("/variables/dataKey" in f for f in findings)
    assert any("appSettings" in f for f in findings)


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: str(p.relative_to(INFRA_DIR)))
def test_no_template_reads_keys(path: Path) -> None:
    for node in _nodes(parse(path)):
        function = node.get("function")
        if isinstance(function, dict):
            assert function.get("type") != "list_func", f"{path.name}: {function}"
        operator = node.get("operator")
        if isinstance(operator, dict) and operator.get("type") == "function_accessor":
            name = str(operator["operands"]["func_name"])
            assert not name.lower().startswith("list"), f"{path.name}: .{name}()"


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: str(p.relative_to(INFRA_DIR)))
def test_secret_looking_parameters_are_names_or_secure(path: Path) -> None:
    for name, param in parse(path).get("parameters", {}).items():
        if re.search(r"secret|password|key(?!vault)", name, re.IGNORECASE):
            secure = any(d["type"] == "secure" for d in param["decorators"])
            assert secure or name.endswith(("Name", "Uri", "Id")), f"{path.name}: parameter {name}"


def test_outputs_expose_no_secret() -> None:
    for path in bicep_files():
        for name, output in parse(path).get("outputs", {}).items():
            assert "secret" not in name.lower() or name.endswith("_NAME"), f"{path.name}: output {name}"
            for _, value in walk(output["value"]):
                assert "listKeys" not in str(value)


def test_main_has_no_role_assignments_at_subscription_scope() -> None:
    assert not resources_of_type(parse(MAIN_BICEP), "Microsoft.Authorization/roleAssignments")


def test_platform_cors_allows_exactly_the_allowed_origins_without_credentials() -> None:
    # The Function App answers the product pages' preflights itself (siteConfig.cors); its origins are
    # the same parameter as SLOTBRIDGE_ALLOWED_ORIGINS, split on commas, and no cookies are ever granted.
    tree = _functionapp()
    cors = _site()["properties"]["siteConfig"]["cors"]
    assert cors["supportCredentials"] is False
    assert is_reference(cors["allowedOrigins"])
    derived = tree["variables"][cors["allowedOrigins"]]["value"]
    leaves = dict(walk(derived))
    split = next(path for path, value in leaves.items() if value == "split").rsplit("/", 1)[0]
    assert leaves[f"{split}/parameters/input_string"] == "allowedOrigins"
    assert leaves[f"{split}/parameters/delimiter"] == ","
    assert _app_settings()["SLOTBRIDGE_ALLOWED_ORIGINS"] == "allowedOrigins"
