"""The alerts and probes of infra/modules/alerts.bicep, read offline: an availability test on
`/api/health` with an alert on it, log alerts on zero executions, on indexing failures and on
poison-queue depth, every rule notifying the e-mail group and/or a given action group, and every
count reading the host's telemetry only (the app's OpenTelemetry copies carry its role name)."""

from __future__ import annotations

import re
from typing import Any

from lib.adapters.storage.queues import APP_QUEUES, POISON_SUFFIX
from lib.core import tracing
from tests.unit.infra.bicep_tree import (
    INFRA_DIR,
    MAIN_BICEP,
    accessor_path,
    module_path,
    parse,
    resource_body,
    resources_of_type,
)

ALERTS = parse(module_path("alerts"))


def _query(rule: dict[str, Any]) -> str:
    [criterion] = resource_body(rule)["properties"]["criteria"]["allOf"]
    return str(ALERTS["variables"][str(criterion["query"])]["value"])


def _rules() -> dict[str, dict[str, Any]]:
    return resources_of_type(ALERTS, "Microsoft.Insights/scheduledQueryRules")


def _param_default(name: str) -> Any:
    return ALERTS["parameters"][name]["default"]


def test_health_is_probed_from_several_locations_and_alerts_when_two_fail() -> None:
    [test] = resources_of_type(ALERTS, "Microsoft.Insights/webtests").values()
    body = resource_body(test)
    props = body["properties"]
    assert body["kind"] == props["Kind"] == "standard"
    assert props["Request"]["RequestUrl"] == "healthUrl" and props["Request"]["HttpVerb"] == "GET"
    assert props["ValidationRules"]["ExpectedHttpStatusCode"] == 200 and props["ValidationRules"]["SSLCheck"]
    assert props["Enabled"] and props["Frequency"] <= 300 and len(_param_default("webTestLocations")) >= 3
    # A standard test belongs to its component through this tag, or the portal cannot show it.
    assert body["tags"]["function"]["parameters"]["arg_2"] == {
        "'hidden-link:${applicationInsightsId}'": "Resource"
    }
    main = parse(MAIN_BICEP)["modules"]["alerts"]["config"]["params"]
    assert main["healthUrl"] == "${functionApp.outputs.url}/api/health"

    [alert] = resources_of_type(ALERTS, "Microsoft.Insights/metricAlerts").values()
    props = resource_body(alert)["properties"]
    criteria = props["criteria"]
    assert criteria["'odata.type'"] == "Microsoft.Azure.Monitor.WebtestLocationAvailabilityCriteria"
    assert accessor_path(criteria["webTestId"]) == "healthTest.id"
    assert criteria["componentId"] == "applicationInsightsId" and criteria["failedLocationCount"] == 2
    assert [accessor_path(s) for s in props["scopes"]] == ["healthTest.id", "applicationInsightsId"]
    assert props["actions"] == "metricActions"


def test_no_executions_and_indexing_failures_raise_alerts() -> None:
    queries = {name: _query(rule) for name, rule in _rules().items()}
    silent = resource_body(_rules()["noExecutionsAlert"])["properties"]
    [criterion] = silent["criteria"]["allOf"]
    assert queries["noExecutionsAlert"].startswith("requests |") and "count()" in queries["noExecutionsAlert"]
    assert criterion["operator"] == "LessThan" and criterion["threshold"] == 1
    assert silent["windowSize"] == "PT${noExecutionMinutes}M" and silent["severity"] == 1
    indexing = queries["indexingErrorsAlert"]
    assert (
        indexing.startswith("traces |") and "has_any (dynamic(${string(indexingErrorMessages)}))" in indexing
    )
    messages = _param_default("indexingErrorMessages")
    assert "No job functions found" in messages and "Worker failed to index functions" in messages


def test_poison_depth_is_alerted_per_queue_from_the_line_the_app_logs() -> None:
    query = _query(_rules()["poisonDepthAlert"])
    assert '"${poisonDepthEvent} "' in query and "by queue" in query
    [criterion] = resource_body(_rules()["poisonDepthAlert"])["properties"]["criteria"]["allOf"]
    assert criterion["metricMeasureColumn"] == "depth" and criterion["timeAggregation"] == "Maximum"
    assert criterion["dimensions"][0]["name"] == "queue"
    # The query's extracts read every poison queue the app uses out of the app's own line.
    queue_pattern = re.search(r'extract\("queue=\(([^)]*)\)"', query)
    depth_pattern = re.search(r'extract\("depth=\(([^)]*)\)"', query)
    assert queue_pattern and depth_pattern
    for name in APP_QUEUES:
        line = f"{_param_default('poisonDepthEvent')} queue={name}{POISON_SUFFIX} depth=12"
        assert re.search(f"queue=({queue_pattern.group(1)})", line).group(1) == f"{name}{POISON_SUFFIX}"  # type: ignore[union-attr]
        assert re.search(f"depth=({depth_pattern.group(1)})", line).group(1) == "12"  # type: ignore[union-attr]


def test_every_rule_notifies_the_mail_group_and_the_given_action_group() -> None:
    ids = ALERTS["variables"]["actionGroupIds"]["value"]["function"]
    assert ids["type"] == "concat"
    branches = [arg["operator"]["operands"]["false_value"] for arg in ids["parameters"].values()]
    assert [accessor_path(branches[0][0]), branches[1][0]] == ["actionGroup.id", "actionGroupId"]
    assert ALERTS["variables"]["actions"]["value"] == {"actionGroups": "actionGroupIds"}
    for rule in _rules().values():
        assert resource_body(rule)["properties"]["actions"] == "actions"
    assert parse(MAIN_BICEP)["modules"]["alerts"]["config"]["params"]["actionGroupId"] == "alertActionGroupId"
    azd = (INFRA_DIR / "main.parameters.json").read_text(encoding="utf-8")
    assert '"${SLOTBRIDGE_ALERT_ACTION_GROUP_ID=}"' in azd


def test_every_count_reads_the_host_telemetry_only() -> None:
    assert _param_default("otelRoleName") == tracing.SERVICE_NAME
    assert ALERTS["variables"]["hostOnly"]["value"] == 'cloud_RoleName != "${otelRoleName}"'
    for name, rule in _rules().items():
        assert "| where ${hostOnly} |" in _query(rule), name
